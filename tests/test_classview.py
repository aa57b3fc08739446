"""The class view counts graded submissions only; blank and unreadable ones are shown apart."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.render import classview, html
from grader.results import CaseStatus

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"


@pytest.fixture(scope="module")
def results(session):
    return {name: session.grade(SUBMISSIONS / name) for name in
            ("alice_correct.ipynb", "bob_seed_mistakes.ipynb", "template.ipynb", "dave_broken.ipynb",
             "seed_written.md")}


def test_blank_and_unreadable_are_apart(results):
    standings = {name: classview.standing(r) for name, r in results.items()}
    assert standings == {"alice_correct.ipynb": "graded", "bob_seed_mistakes.ipynb": "graded",
                         "template.ipynb": "blank", "dave_broken.ipynb": "unreadable",
                         "seed_written.md": "graded"}


def test_an_unreadable_submission_is_out_of_the_same_maximum(results):
    page = html.summary(list(results.values()))
    maxima = set(re.findall(r'<span class="muted">/ ([0-9.]+)</span>', page))
    assert len(maxima) == 1


def test_the_most_failed_cases_are_named_with_their_mistake(results):
    page = html.summary(list(results.values()))
    bob = results["bob_seed_mistakes.ipynb"]
    failing = [c for q in bob.questions if q.id == "2a" for c in q.cases if c.status != "passed"]
    assert failing and any(f"<span class=\"case-label\">{c.label}</span>" in page for c in failing)
    assert '<span class="tag">sigma-prime-not-per-step</span>' in page


def test_the_mean_is_over_graded_submissions_only(results):
    page = html.summary(list(results.values()))
    counted = [r.score for name, r in results.items() if name not in ("template.ipynb", "dave_broken.ipynb")]
    everyone = [r.score for r in results.values()]
    mean = sum(counted) / len(counted)
    assert f'id="mean">{html.points(mean)}<' in page
    assert html.points(sum(everyone) / len(everyone)) != html.points(mean)
    assert 'id="count">3<' in page and 'id="apart">1 · 1<' in page
    assert "not in the statistics" in page


def test_status_is_text_and_icon_and_the_table_is_sortable(results):
    page = html.summary(list(results.values()))
    assert '<span aria-hidden="true">○</span> blank</span>' in page
    assert '<span aria-hidden="true">✗</span> unreadable</span>' in page
    assert "○ blank (nothing attempted)" in page                       # the legend says what the marks mean
    assert 'id="count">3<' in page
    assert 'id="students"' in page and 'id="student-filters" hidden' in page     # controls appear with the script
    assert "data-value=" in page and '<span class="qmark"' in page
    assert "@media print" in page


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("passed, partial, failed", [(5, 0, 0), (3, 2, 0), (3, 1, 1), (0, 0, 4), (1, 3, 0), (0, 4, 0), (0, 0, 0)])
def test_the_full_share_is_readable_on_the_bar_it_is_written_on(passed, partial, failed):
    """The "NN% full" text of the per-question chart is 11 px: it needs 4.5:1 against the segment
    under it (WCAG 1.4.3). It was always white, 3.2:1 on the green of a question everyone passed
    ("100% full") and 2.2:1 on the yellow of one ending in partial marks."""
    stats = classview.QuestionStats("q", "Q", 10.0, students=passed + partial + failed,
                                    passed=passed, partial=partial, failed=failed)
    stats.segments = classview._segments(stats)
    g = classview.GEOMETRY
    row = g.rate_row_at(0, stats)
    under = next((s.colour for s in stats.segments if s.x <= g.rate_share_x - 1 <= s.x + s.width), "#eff2f5")
    assert contrast(row.text_colour, under) >= 4.5, (row.text_colour, under)


def test_every_failing_case_is_counted_with_its_mistakes_and_who_fails_only_it(results):
    """Deciding whether a hidden case is unfair: the class view named the 3 most failed cases of a
    question with one mistake each, so a case outside those 3 could not be looked up, and nothing
    told a case that fails students whose code is otherwise right. Every failing case is now listed
    (the 3 most failed first, the others folded), with each way it failed and how many students
    fail that case alone."""
    import copy

    bob = results["bob_seed_mistakes.ipynb"]
    alice = results["alice_correct.ipynb"]
    twins = []
    for n in range(3):                 # three students right everywhere but on one hidden case of 1(a)
        twin = copy.deepcopy(alice)
        twin.submission = f"twin{n}"
        case = next(c for q in twin.questions if q.id == "1a" for c in q.cases if c.visibility == "hidden")
        case.status = CaseStatus.FAILED
        case.diagnosis = ["transposed"] if n == 0 else []
        twins.append(twin)
    view = classview.build([alice, bob, *twins])
    one_a = next(q for q in view.questions if q.id == "1a")
    suspect = next(f for f in one_a.failing_cases if f.students == 3)
    assert suspect.alone == 3 and dict(suspect.mistakes) == {"transposed": 1, "wrong answer": 2}
    two_a = next(q for q in view.questions if q.id == "2a")
    failed_2a = [c for q in bob.questions if q.id == "2a" for c in q.cases if c.status != "passed"]
    assert len(two_a.failing_cases) == len(failed_2a) > 3
    page = html.summary([alice, bob, *twins])
    from markupsafe import escape

    for case in failed_2a:
        assert f'<span class="case-label">{escape(case.label)}</span>' in page
    assert "<strong>3 fail only this case</strong>" in page
    assert '<span class="tag">transposed</span> × 1' in page and '<span class="tag">wrong answer</span> × 2' in page


def test_what_needs_a_ta_is_said_in_one_place(results):
    """A TA looked for who needs a written-part score (a tooltip on the written column), who is late
    (nowhere in the class view) and whose score changed when graded again (only in that student's
    report): the summary now counts each above the table, flags each row in words, and filters by it."""
    import dataclasses

    from grader.results import Late, Regrade, RegradeItem

    alice = results["alice_correct.ipynb"]
    alice = dataclasses.replace(alice, written=[dataclasses.replace(w, score=w.max_score) for w in alice.written])
    bob = dataclasses.replace(results["bob_seed_mistakes.ipynb"],
                              late=Late(due="2026-11-20T23:59:00+00:00", submitted_at="2026-11-21T10:00:00+00:00",
                                        days=1, percent=10.0, points=7.07),
                              regrade=Regrade("2026-11-30 04:00 UTC", [RegradeItem("2a", 2.5, 5.0)]))
    written = results["seed_written.md"]
    page = html.summary([alice, bob, results["template.ipynb"], results["dave_broken.ipynb"], written])
    waiting = sum(1 for w in written.written if w.found and w.score is None)
    attention = re.search(r'<p id="attention"[^>]*>(.*?)</p>', page, re.S)
    assert attention, "no line says what needs a TA"
    said = re.sub(r"<[^>]+>", "", attention.group(1))
    assert "2 with written answers to score" in said           # bob and the write-up; alice is scored
    assert "1 late" in said and "1 not graded" in said and "1 with a changed score" in said, said
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr data-student="([^"]+)".*?</tr>', page, re.S)}
    assert f"{waiting} written to score" in rows[written.submission]
    assert "late −10%" in rows[bob.submission] and "score changed" in rows[bob.submission]
    assert "to score" not in rows[alice.submission] and "late" not in rows[alice.submission]
    assert "to score" not in rows["template.ipynb"]             # blank: nothing was answered
    for tag in ("to-score", "late", "changed"):
        assert re.search(rf'data-tags="[^"]*\b{tag}\b', rows[bob.submission]), tag
        assert f'<option value="{tag}">' in page
