"""The class view counts graded submissions only; blank and unreadable ones are shown apart."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.render import classview, html

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
