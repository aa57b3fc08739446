"""Two audiences: hidden cases in full for the instructor, and in no file a student may see.

The canary: every hidden case's input and expected-value texts (lines of numbers that only the
secret case draw produces) are searched for in every student-visible file of a batch, of the
student kit and of `grader gradescope`'s results.json. They must be found in instructor.html/.json.
"""
from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from grader import batch, gradescope, kit
from grader.render import instructor
from grader.results import Result
from batch_output import student_folder

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"


def canaries(data: dict) -> set[str]:
    """Distinctive lines of the hidden cases' inputs and expected values: three numbers or more, not
    all zero, and not also a line of a public case (which students are shown on purpose)."""
    lines: dict[str, set[str]] = {"hidden": set(), "public": set()}
    for q in data["questions"]:
        for case in q["cases"]:
            texts = list((case["inputs"] or {}).values()) + [case["expected"] or "", case["got"] or ""]
            for text in texts:
                for line in text.splitlines():
                    line = line.strip(" []")
                    numbers = re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", line)
                    if len(numbers) >= 3 and any(float(n) != 0 for n in numbers):
                        lines[case["visibility"]].add(line)
    return lines["hidden"] - lines["public"]


def readable_text(path: Path) -> str:
    """What a file says, whatever its encoding of the text: raw, HTML-unescaped, JSON strings."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    parts = [raw, html.unescape(raw)]
    if path.suffix == ".json":
        try:
            parts.append("\n".join(_strings(json.loads(raw))))
        except ValueError:
            pass
    # A view that says nothing new (most files have no HTML entity to unescape) is left out: no
    # canary holds a line break, so none can span two views, and a copy finds nothing the first
    # one did not (it doubled the text to index: the kit's 1.8 MB of public cases, ~4 s of CPU).
    return "\n".join(dict.fromkeys(parts))


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


PREFIX = 12     # characters of a canary looked up first (every canary is longer: three numbers or more)


def leaks(files: list[Path], secrets: set[str]) -> list[tuple[str, str]]:
    """Every (file, canary) where the canary occurs in the file's readable text.

    A canary can occur only where its first PREFIX characters do, so only canaries whose prefix is
    among the text's PREFIX-character pieces are searched for: the same answer as searching every
    canary everywhere (~2,000 canaries in ~90 files of up to 1.8 MB, 7 s of the suite's CPU), for
    a fraction of the cost. And those pieces lie wholly inside a maximal run of the characters the
    prefixes are made of (digits, signs, points, spaces), so only the pieces of such runs are
    indexed, not one per character of the text (8.7 s of CPU for the student kit alone)."""
    alphabet = "".join(sorted({c for s in secrets for c in s[:PREFIX]}))
    runs = re.compile(f"[{re.escape(alphabet)}]{{{PREFIX},}}") if alphabet else None
    found = []
    for path in files:
        text = readable_text(path)
        pieces = set() if runs is None else \
            {run[i:i + PREFIX] for run in runs.findall(text) for i in range(len(run) - PREFIX + 1)}
        found += [(str(path), s) for s in secrets if (s[:PREFIX] in pieces or len(s) < PREFIX) and s in text]
    return found


def test_leaks_finds_what_a_plain_search_finds(tmp_path: Path):
    """The indexed search above against `canary in text`, with canaries anywhere: glued to letters
    and markup, HTML-escaped, in a JSON string, short, and absent."""
    secrets = {"0.125 -1.5e-07 3.75", "-2.5 0.5 0.25 1.0", "1.1 2.2 3.3 4.4 5.5", "0.1 0.2 0.3", "9.75 8.5 7.25 6.0"}
    files = {"glued.html": "<td>x0.125 -1.5e-07 3.75y</td>", "escaped.html": "&#45;2.5 0.5 0.25 1.0&lt;",
             "strings.json": '{"a": ["1.1 2.2 3.3 \\u0034.4 5.5"]}',
             "short.txt": "[0.1 0.2 0.3]", "none.md": "9.75 8.5 7.25 6.1"}
    paths = []
    for name, text in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_text(text, encoding="utf-8")
    plain = sorted((str(p), s) for p in paths for s in secrets if s in readable_text(p))
    assert sorted(leaks(paths, secrets)) == plain
    assert {Path(p).name for p, _ in plain} == {"glued.html", "escaped.html", "strings.json", "short.txt"}


@pytest.fixture(scope="module")
def graded_batch(tmp_path_factory, session, config) -> Path:
    folder = tmp_path_factory.mktemp("in")
    for name in ("alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py"):
        shutil.copy(SUBMISSIONS / name, folder / name)
    out = tmp_path_factory.mktemp("out")
    batch.run_batch(folder, out, config, session=session, progress=False)
    return out


def test_instructor_files_hold_every_hidden_case_in_full(graded_batch: Path):
    data = json.loads((student_folder(graded_batch, "bob_seed_mistakes") / "instructor.json").read_text(encoding="utf-8"))
    hidden = [c for q in data["questions"] for c in q["cases"] if c["visibility"] == "hidden"]
    assert hidden and all(c["expected"] for c in hidden)
    assert any(c["inputs"] for c in hidden)
    failing = [c for c in hidden if c["status"] == "failed"]
    assert failing and all(c["got"] and c["message"] and c["message"] != "wrong answer" for c in failing)
    assert any(c["diagnosis"] for c in failing)
    page = html.unescape((student_folder(graded_batch, "bob_seed_mistakes") / "instructor.html").read_text(encoding="utf-8"))
    secrets = canaries(data)
    assert secrets and all(s in page for s in secrets)
    assert "Instructor only" in page


def test_result_json_keeps_hidden_cases_empty(graded_batch: Path):
    data = json.loads((student_folder(graded_batch, "bob_seed_mistakes") / "result.json").read_text(encoding="utf-8"))
    hidden = [c for q in data["questions"] for c in q["cases"] if c["visibility"] == "hidden"]
    assert hidden and all(c["inputs"] is None and c["expected"] is None and c["got"] is None for c in hidden)
    assert "staff" not in data


def test_no_student_visible_file_of_a_batch_holds_a_hidden_value(graded_batch: Path):
    secrets = set()
    for path in graded_batch.rglob(instructor.INSTRUCTOR_JSON):
        secrets |= canaries(json.loads(path.read_text(encoding="utf-8")))
    assert len(secrets) > 20
    visible = [p for p in graded_batch.rglob("*") if p.is_file() and p.name not in instructor.STAFF_FILES]
    assert any(p.name == "report.html" for p in visible) and any(p.name == "result.json" for p in visible)
    assert leaks(visible, secrets) == []


def test_the_canary_search_finds_a_leak(graded_batch: Path, tmp_path: Path):
    """The search above can fail: a copy of the instructor page is caught."""
    data = json.loads((student_folder(graded_batch, "alice_correct") / "instructor.json").read_text(encoding="utf-8"))
    copy = tmp_path / "report.html"
    shutil.copy(student_folder(graded_batch, "alice_correct") / "instructor.html", copy)
    assert leaks([copy], canaries(data))


def test_gradescope_and_kit_hold_no_hidden_value(graded_batch: Path, tmp_path: Path, config, shared_builds,
                                                 borrowed_sessions):
    secrets = set()
    for path in graded_batch.rglob(instructor.INSTRUCTOR_JSON):
        secrets |= canaries(json.loads(path.read_text(encoding="utf-8")))
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", root / "submission" / "hw3.ipynb")
    gradescope.run(root)
    written = [p for p in (root / "results").rglob("*") if p.is_file()]
    assert written and leaks(written, secrets) == []
    kit.build_kit(tmp_path / "kit", config)
    files = [p for p in (tmp_path / "kit").rglob("*") if p.is_file() and p.suffix in {".json", ".html", ".py", ".md", ".txt", ".ipynb", ".toml", ".csv"}]
    assert files and leaks(files, secrets) == []
    assert not [p for p in (tmp_path / "kit").rglob("*") if p.name in instructor.STAFF_FILES]


def test_student_report_renderer_never_sees_staff_data(session):
    result = session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")
    assert result.staff
    data = instructor.instructor_data(result)
    from grader.render import html as report_html

    page = html.unescape(report_html.report(result))
    assert not [s for s in canaries(data) if s in page]
    assert "staff" not in result.to_dict()
    assert Result.from_dict(result.to_dict()).staff == []


def test_instructor_view_shows_hostile_values_as_text():
    from grader.results import CaseResult, QuestionResult, StaffCase

    evil = "<script>alert(1)</script><img src=x onerror=alert(1)>\x1b[31m"
    case = CaseResult("q/hidden/0", "hidden", "n=1", "failed", message="wrong answer")
    result = Result(f"{evil}.ipynb", "graded", 0.0, 10.0,
                    questions=[QuestionResult("q", "Q", "f", 0.0, 10.0, "failed", [case])],
                    staff=[StaffCase("q/hidden/0", "q", "n=1", "failed", {"x": evil}, "1.0", evil, evil, [evil])])
    page = instructor.instructor_html(result)
    assert "<script>" not in page and "<img" not in page and "\x1b" not in page
    assert html.escape("<script>alert(1)</script>") in page
    data = json.loads(instructor.instructor_json(result))
    assert data["questions"][0]["cases"][0]["got"].startswith("<script>")     # JSON keeps the text, cleaned
    assert "\x1b" not in instructor.instructor_json(result)


def test_grade_writes_the_instructor_view_on_request(tmp_path, session, borrowed_sessions):
    from grader import cli

    target = tmp_path / "staff.html"
    status = cli.main(["grade", str(SUBMISSIONS / "bob_seed_mistakes.ipynb"), "--html", str(tmp_path / "r.html"),
                       "--instructor-html", str(target)])
    assert status == 0
    page = html.unescape(target.read_text(encoding="utf-8"))
    assert "Instructor only" in page and "Mismatch" in page
    report = html.unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    secrets = canaries(instructor.instructor_data(session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")))
    assert secrets and all(s in page for s in secrets)                 # same secret, same hidden cases
    assert not [s for s in secrets if s in report]


def test_summary_links_each_student_to_their_staff_view(graded_batch: Path):
    summary = (graded_batch / "summary.html").read_text(encoding="utf-8")
    for name in ("alice_correct", "bob_seed_mistakes", "carol_module"):
        folder = f"students/{student_folder(graded_batch, name).name}"
        assert f'href="{folder}/instructor.html"' in summary and f'href="{folder}/report.html"' in summary


def test_a_passed_case_is_shown_as_the_expected_value_not_described_again(graded_batch: Path):
    """A passed case's value equals the expected one within the tolerance: the instructor files say
    so rather than hold a second rendering of ~100 arrays per student."""
    folder = student_folder(graded_batch, "alice_correct")
    data = json.loads((folder / "instructor.json").read_text(encoding="utf-8"))
    hidden = [c for q in data["questions"] for c in q["cases"] if c["visibility"] == "hidden"]
    passed = [c for c in hidden if c["status"] == "passed"]
    assert passed and all(c["got"] is None and c["expected"] for c in passed)
    page = (folder / "instructor.html").read_text(encoding="utf-8")
    assert page.count("the expected value, within the tolerance") >= len(passed)
    assert "(no value returned)" not in page
