"""The HTML reports and the CSV gradebook: real graded submissions, and hand-built hostile results.

Hostile strings are checked the way a browser would see them: the page is parsed with html.parser,
and the test asserts that no <script> element, no event-handler attribute and no external URL came
out, while the hostile text itself is still shown (as text).
"""
from __future__ import annotations

import csv
import io
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import cli
from grader.render import classview, gradebook, html
from grader.results import (CaseResult, CellReport, Diagnosis, Problem, QuestionResult, Result,
                            WrittenAnswer)

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '" onmouseover="alert(1)" x="'
IMG = '<img src=x onerror="alert(1)">'
HOSTILE = f"{SCRIPT}{BREAKOUT}{IMG}\x1b[31mred\x1b[0m\x00nul"


VOID = {"meta", "br", "img", "input", "hr", "link", "rect", "line", "source", "wbr", "col", "area", "base"}


class Page(HTMLParser):
    """Everything a browser would act on: elements, attributes, and the visible text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.inside: list[tuple[str, str]] = []     # (innermost open element, text)
        self.open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.chunks.append(data)
        self.inside.append((self.open[-1] if self.open else "", data))

    def texts(self, tag: str) -> list[str]:
        """The text placed directly inside each `tag` element."""
        return [data.strip() for name, data in self.inside if name == tag and data.strip()]

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def elements(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == name]

    def event_handlers(self) -> list[tuple[str, str]]:
        return [(tag, a) for tag, attrs in self.tags for a in attrs if a.lower().startswith("on")]

    def urls(self) -> list[str]:
        return [v or "" for _, attrs in self.tags for k, v in attrs.items() if k in ("src", "href", "action")]


def total_score(markup: str) -> str:
    match = re.search(r'id="total-score">([^<]*)<', markup)
    assert match, "the report has no total score"
    return match.group(1)


def assert_inert(markup: str) -> Page:
    """The page runs nothing and loads nothing from outside; returns the parsed page."""
    page = Page(markup)
    # Only our own static scripts (templates/*.js, e.g. the class table's sorting), each allowed by
    # hash in the page's Content-Security-Policy, which runs nothing else.
    own = {path.read_text(encoding="utf-8").strip() for path in (ROOT / "templates").glob("*.js")}
    assert all(text in own for text in page.texts("script"))
    assert len(page.elements("script")) == len(page.texts("script"))
    policy = [m["content"] for m in page.elements("meta") if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(policy) == 1 and "default-src 'none'" in policy[0] and "unsafe-eval" not in policy[0]
    assert re.search(r"script-src ('none'|('sha256-[A-Za-z0-9+/=]+' ?)+);", policy[0])
    assert page.elements("iframe") == [] and page.elements("object") == [] and page.elements("link") == []
    assert page.event_handlers() == []
    for url in page.urls():
        assert not url.lower().startswith(("http://", "https://", "//", "javascript:", "data:")), url
    assert "http://" not in markup and "https://" not in markup
    assert "\x00" not in markup and "\x1b" not in markup
    return page


# ---------------------------------------------------------------------------------------------
# Results from really grading the example submissions


@pytest.fixture(scope="module")
def graded(session) -> dict[str, Result]:
    names = ("alice_correct.ipynb", "bob_seed_mistakes.ipynb", "dave_broken.ipynb")
    return {name.split("_")[0]: session.grade(SUBMISSIONS / name) for name in names}


@pytest.fixture(scope="module")
def self_checked(public_session) -> Result:
    return public_session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")


def test_report_of_a_correct_submission_shows_full_marks(graded):
    result = graded["alice"]
    markup = html.report(result)
    page = assert_inert(markup)
    assert result.score == 100
    assert total_score(markup) == "100"
    assert result.submission in page.text
    for text in (result.case_set, result.isolation, result.grader_version, result.assignment,
                 "public and hidden cases (hidden cases: pass or fail only)"):
        assert text and text in page.text
    for q in result.questions:
        assert q.id in page.text and q.title in page.text
    assert "ran without errors" in page.text


def test_report_of_seeded_mistakes_names_each_diagnosis_and_hint(graded):
    result = graded["bob"]
    markup = html.report(result)
    page = assert_inert(markup)
    # 71.07 before the fourth round: the regime question's new cases (a complex pair of modulus 1,
    # non-normal; ρ = 1 with a negative eigenvalue) are more that the signed eigenvalue gets wrong
    assert total_score(markup) == html.points(result.score) == "70.69"
    hints = [h for q in result.questions for h in q.hints]
    assert {h.id for h in hints} >= {"sigma-prime-not-per-step", "zero-instead-of-small", "forget-gate-only"}
    for hint in hints:
        assert hint.id in page.text and hint.hint in page.text
    q2a = next(q for q in result.questions if q.id == "2a")
    assert f"{html.points(q2a.score)} / 10" in page.text
    failing = next(c for c in q2a.public if c.status != "passed")
    assert failing.message.splitlines()[0] in page.text
    assert failing.expected in page.text and failing.got in page.text
    for name, value in failing.inputs.items():
        assert value in page.text
    assert failing.tolerance in page.text
    for part in result.written:
        assert part.title in page.text and part.text.splitlines()[0] in page.text


def test_hidden_cases_show_status_but_never_inputs_or_values(graded):
    """Even a result that (wrongly) carried hidden values must not show them."""
    result = Result.from_dict(graded["bob"].to_dict())
    planted = 0
    for q in result.questions:
        for c in q.hidden:
            c.inputs = {"W": "SECRET-HIDDEN-INPUT"}
            c.expected, c.got = "SECRET-HIDDEN-EXPECTED", "SECRET-HIDDEN-GOT"
            c.message = "SECRET-HIDDEN-MESSAGE"
            planted += 1
    assert planted > 50
    markup = html.report(result)
    assert "SECRET-HIDDEN" not in markup
    page = Page(markup)
    hidden_total = sum(len(q.hidden) for q in result.questions)
    hidden_passed = sum(c.passed for q in result.questions for c in q.hidden)
    assert len([a for a in page.elements("li") if "chip" in (a.get("class") or "")]) == hidden_total
    assert f"{hidden_passed}" in page.text
    # One Expected/Got pair per public case that has an expected value, none for hidden ones.
    public_with_values = sum(1 for q in result.questions for c in q.public if c.expected is not None)
    assert page.texts("h5").count("Expected") == public_with_values
    assert page.texts("h5").count("Got") == public_with_values


def test_report_of_an_unreadable_submission_says_why(graded):
    result = graded["dave"]
    markup = html.report(result)
    page = assert_inert(markup)
    assert result.status == "unreadable"
    assert "could not be graded" in page.text
    problem = next(p for p in result.problems if p.code != "demo-secret")
    assert problem.message in page.text
    assert total_score(markup) == "0"


def test_self_check_report_says_public_cases_only(self_checked):
    page = assert_inert(html.report(self_checked))
    assert "public cases only" in page.text
    assert not [h for h in page.texts("h4") if h.startswith("Hidden cases")]
    assert not [c for _, c in page.tags if "chip" in (c.get("class") or "")]
    counts = [h.split("·")[1].split(" pass")[0].split(" of ") for h in page.texts("h4") if h.startswith("Public cases")]
    assert any(a.strip() == b.strip() for a, b in counts), counts


def test_cli_grade_writes_the_html_report(tmp_path, capsys):
    target = tmp_path / "nested" / "alice.html"
    code = cli.main(["grade", str(SUBMISSIONS / "alice_correct.ipynb"), "--html", str(target)])
    assert code == cli.EXIT_OK
    page = assert_inert(target.read_text(encoding="utf-8"))
    assert "alice_correct.ipynb" in page.text and "100" in page.text
    assert "alice_correct.ipynb" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# Hostile results built by hand (renderers also receive JSON-loaded or hand-made results)


def hostile_result(name: str = HOSTILE) -> Result:
    public = CaseResult("q/public/0", "public", HOSTILE, "failed", message=HOSTILE, tolerance="exact",
                        inputs={HOSTILE: HOSTILE}, expected="[1, 2]", got=HOSTILE, diagnosis=[HOSTILE])
    hidden = CaseResult("q/hidden/0", "hidden", HOSTILE, "error", message="raised an exception")
    written = WrittenAnswer("w1", HOSTILE, 5.0, HOSTILE + "\nsecond line", rubric=HOSTILE, score=2.5)
    written.comment = HOSTILE       # the TA's comment (grader.manual) is shown too
    question = QuestionResult("q<1>", HOSTILE, HOSTILE, 1.0, 4.0, "partial", [public, hidden], [HOSTILE],
                              [Diagnosis(HOSTILE, HOSTILE, 1)])
    return Result(
        submission=name, status="graded", score=1.0, max_score=4.0, questions=[question],
        problems=[Problem(HOSTILE, HOSTILE)],
        cells=[CellReport(3, "error", HOSTILE, HOSTILE)], output=HOSTILE * 3,
        written=[written],
        assignment=HOSTILE, grader_version=HOSTILE, case_set=HOSTILE, isolation=HOSTILE,
        source_sha256=HOSTILE,
    )


def test_hostile_strings_are_shown_as_text_never_as_markup():
    markup = html.report(hostile_result())
    page = assert_inert(markup)
    # The payload is visible as text (escaped), with its ANSI escapes and NUL removed.
    assert SCRIPT in page.text and IMG in page.text
    assert "redN" not in page.text and "rednul" in page.text
    assert "second line" in page.text
    assert "&lt;script&gt;" in markup
    assert "<script" not in markup.lower()


def test_hostile_summary_is_inert_and_links_cannot_run_script():
    results = [hostile_result(), hostile_result("=cmd|' /C calc'!A0"), hostile_result("javascript:alert(1)")]
    links = {results[0].submission: "reports/" + HOSTILE + ".html",
             results[1].submission: "reports/=cmd.html",
             results[2].submission: "javascript:alert(1)"}
    page = assert_inert(html.summary(results, links))
    hrefs = [a["href"] for a in page.elements("a") if a.get("href")]
    assert len(hrefs) == 3
    assert "./javascript%3Aalert%281%29" in hrefs
    assert all(not h.lower().startswith("javascript:") for h in hrefs)
    assert SCRIPT in page.text


@pytest.mark.parametrize("href, expected", [
    ("reports/alice.html", "reports/alice.html"),
    ("reports/a b.html", "reports/a%20b.html"),
    ("JavaScript:alert(1)", "./JavaScript%3Aalert%281%29"),
    ("//evil.example/x", ".///evil.example/x"),
    ("\\\\evil.example\\x", "%5C%5Cevil.example%5Cx"),
    ("a#b?c=1/50%.ipynb/report.html", "a%23b%3Fc%3D1/50%25.ipynb/report.html"),
])
def test_safe_link_keeps_relative_links_and_defuses_schemes(href, expected):
    assert html.safe_link(href) == expected


# ---------------------------------------------------------------------------------------------
# The class summary


def test_summary_shows_class_statistics_and_every_student(graded):
    results = list(graded.values())
    links = {r.submission: f"reports/{r.submission}.html" for r in results}
    markup = html.summary(results, links)
    page = assert_inert(markup)
    # the statistics are over graded submissions only: dave's unreadable file is shown apart (issue 12)
    scores = sorted(r.score for r in results if r.status == "graded")
    view = classview.build(results)
    assert view.count == 2 and view.total == 3 and view.unreadable == 1
    assert view.median == pytest.approx(sum(scores) / 2) and abs(view.mean - sum(scores) / 2) < 1e-9
    for number in (html.points(view.mean), html.points(view.median)):
        assert number in page.text
    anchors = {a["href"] for a in page.elements("a")}
    for r in results:
        assert r.submission in page.text
        assert f"reports/{r.submission}.html" in anchors
    assert len(page.elements("svg")) == 2
    assert len(page.elements("rect")) >= classview.HISTOGRAM_BINS
    # Bob's diagnosed mistakes are counted once per student, with their hint.
    for q in graded["bob"].questions:
        for hint in q.hints:
            assert hint.id in page.text and hint.hint in page.text


def test_class_numbers_count_students_not_cases(graded):
    results = list(graded.values())
    view = classview.build(results)
    by_id = {q.id: q for q in view.questions}
    assert by_id["1a"].passed == 2 and by_id["1a"].failed == 0      # alice, bob full; dave not counted
    assert dict(by_id["2a"].mistakes) == {"sigma-prime-not-per-step": 1}
    assert ("2a", "sigma-prime-not-per-step", 1) in {(m.question, m.id, m.students) for m in view.mistakes}
    assert sum(int(b.value) for b in view.histogram) == 2
    assert view.unreadable == 1
    # the most failed cases of a question, by label, with the share of students and the mistake
    failing = by_id["2a"].failing_cases
    assert failing and failing[0].students == 1 and failing[0].share == pytest.approx(0.5)
    assert failing[0].mistake == "sigma-prime-not-per-step" and failing[0].label


def test_a_failing_case_without_a_diagnosis_says_what_happened_in_words():
    """The class view's "typical mistake" of a failing case fell back to the raw status code when no
    mistake was diagnosed: staff read "not-run" or "missing" as if it were a mistake's name. It is
    now the diagnosis, or what happened in words (the words a hidden case's failure gets)."""
    from grader.results import HIDDEN_MESSAGES, MISSING, NOT_RUN

    def student(name: str, status: str, diagnosis: list[str]) -> Result:
        case = CaseResult("q/public/0", "public", "T=3", status, diagnosis=diagnosis)
        question = QuestionResult("q", "Q", "f", 0.0, 4.0, "failed", [case], diagnosis)
        return Result(submission=name, status="graded", score=0.0, max_score=4.0, questions=[question])

    for status in (NOT_RUN, MISSING):
        view = classview.build([student("a", status, []), student("b", status, []), student("c", "failed", ["t"])])
        assert view.questions[0].failing_cases[0].mistake == HIDDEN_MESSAGES[status]
    view = classview.build([student("a", "failed", ["transposed"]), student("b", "failed", ["transposed"])])
    assert view.questions[0].failing_cases[0].mistake == "transposed"


def test_histogram_puts_full_and_zero_scores_in_the_end_bins():
    bars = classview.histogram([0.0, 100.0, 100.0, 55.0], 100.0)
    assert [b.value for b in bars] == ["1", "0", "0", "0", "0", "1", "0", "0", "0", "2"]
    assert max(b.height for b in bars) == pytest.approx(classview.HIST_HEIGHT - classview.HIST_TOP
                                                        - classview.HIST_BOTTOM)


def test_summary_of_no_results_still_renders():
    page = assert_inert(html.summary([]))
    assert "No submissions" in page.text and "0 submissions" in page.text


# ---------------------------------------------------------------------------------------------
# Templates and the gradebook


def test_templates_load_from_the_installed_package_too(tmp_path, monkeypatch, graded):
    """Installed, there is no checkout: the same files are read as package data."""
    package = tmp_path / "probe_templates_pkg"
    shutil.copytree(ROOT / "templates", package)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    env = html.make_environment(html.loader(None, "probe_templates_pkg"))
    page = assert_inert(html.report(graded["alice"], env=env))
    assert "alice_correct.ipynb" in page.text
    assert html.template_dir() == ROOT / "templates"
    sys.modules.pop("probe_templates_pkg", None)


def test_templates_never_mark_data_safe():
    for path in (ROOT / "templates").glob("*.html"):
        assert "|safe" not in path.read_text().replace(" ", ""), path


def test_gradebook_guards_against_formula_injection_and_lists_every_score(graded):
    qids = [q.id for q in graded["alice"].questions]
    evil = [Result.from_dict({**graded["bob"].to_dict(), "submission": name})
            for name in ("=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)")]
    text = gradebook.csv_text([graded["alice"], *evil], qids)
    rows = list(csv.reader(io.StringIO(text)))
    written = ["written"] if graded["alice"].written else []      # the written parts, once collected
    written_max = sum(w.max_score for w in graded["alice"].written)
    assert rows[0] == ["student", *qids, *written, "total", "max", "status"]
    assert rows[1][0] == "alice_correct.ipynb"
    assert rows[1][-3:] == ["100", gradebook.number(100 + written_max), "graded"]
    assert [r[0] for r in rows[2:]] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)"]
    bob = {q.id: q.score for q in graded["bob"].questions}
    assert [float(x) for x in rows[2][1:1 + len(qids)]] == [bob[q] for q in qids]
    assert float(rows[2][-3]) == graded["bob"].score


def test_gradebook_adds_written_points_when_there_are_written_parts():
    result = hostile_result("carol.py")
    other = hostile_result("dan.py")
    other.written[0].score = None
    rows = list(csv.reader(io.StringIO(gradebook.csv_text([result, other], ["q<1>", "absent"]))))
    assert rows[0] == ["student", "q<1>", "absent", "written", "total", "max", "status"]
    assert rows[1] == ["carol.py", "1", "", "2.5", "3.5", "9", "graded"]
    assert rows[2] == ["dan.py", "1", "", "", "1", "9", "graded"]


def test_compiled_templates_are_cached_only_in_a_private_directory(tmp_path, monkeypatch):
    """The bytecode cache is Jinja2's, in this user's private directory under the temporary one; a
    directory planted there by someone else (or left open to others) is refused, never read."""
    import os
    import tempfile

    from grader.render import html

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    planted = tmp_path / f"_jinja2-cache-{os.getuid()}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    planted.symlink_to(elsewhere)                    # a link to a directory: not the cache
    assert html.bytecode_cache() is None
    planted.unlink()
    if os.geteuid() == 0:                            # a directory of another user's: not the cache
        planted.mkdir(mode=0o777)
        os.chown(planted, 65534, 65534)
        assert html.bytecode_cache() is None
        planted.rmdir()
    cache = html.bytecode_cache()
    assert cache is not None and cache.directory == str(planted) and planted.is_dir()
    assert oct(planted.stat().st_mode & 0o777) == oct(0o700)

    fresh = html.make_environment(html.loader(html.template_dir()))
    result = Result.from_dict({"submission": "x", "status": "graded", "score": 1.0, "max_score": 2.0})
    pages = [html.report(result, fresh)]
    for _ in range(2):                               # the first compiles and stores, the second loads
        pages.append(html.report(result, html.make_environment(html.loader(html.template_dir()), cache)))
        assert any(planted.iterdir())
    assert pages[0] == pages[1] == pages[2]
