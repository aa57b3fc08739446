"""Case blocks drawn once per distinct case (grader.render.html.CaseBlocks): pages are the same with
or without the table, and two cases share a block only when every value it shows is the same."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from grader.render import html, instructor
from grader.render.instructor import CaseView
from grader.results import CaseResult, CaseStatus

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "erin_partial.ipynb", "template.ipynb"]


@pytest.fixture(scope="module")
def results(session):
    return [session.grade(ROOT / "submissions" / name) for name in SUBMISSIONS]


def _pages(result, env) -> tuple[str, str]:
    return (html.report(result, env, work_href="work.html"),
            instructor.instructor_html(result, env=env, work_href="work.html"))


def test_pages_are_the_same_with_the_table_as_drawn_afresh(results):
    shared = html.environment()
    for _ in range(2):                   # the second round is drawn from the table
        for result in results:
            assert _pages(result, shared) == _pages(result, html.environment())
    assert len(shared.globals["case_blocks"]) > 0


PUBLIC = CaseResult("1a/public/0", "public", "W 2×3, x 3", CaseStatus.FAILED, message="max abs error 0.5",
                    tolerance="rtol 1e-6", inputs={"W": "[[1. 2.]]", "x": "[3.]"}, expected="[[1.]]", got="[[2.]]",
                    diagnosis=["transposed"])
PUBLIC_CHANGES = {"status": CaseStatus.ERROR, "label": "W 3×3", "message": "max abs error 0.6", "tolerance": "rtol 1e-5",
                  "inputs": {"W": "[[1. 2.]]", "x": "[4.]"}, "expected": "[[1.5]]", "got": "[[2.5]]",
                  "diagnosis": ["sign"]}
STAFF = CaseView("1a/hidden/3", "hidden", "W 4×4", CaseStatus.FAILED, {"W": "[[0.]]"}, "[[1.]]", "[[2.]]",
                 "max abs error 1", ["transposed"])
STAFF_CHANGES = {"uid": "1a/hidden/4", "visibility": "public", "label": "W 5×5", "status": CaseStatus.PASSED,
                 "inputs": {"W": "[[9.]]"}, "expected": "[[1.25]]", "got": "[[2.25]]", "message": "max abs error 2",
                 "diagnosis": ["sign"]}


@pytest.mark.parametrize("kind, case, changes", [("public", PUBLIC, PUBLIC_CHANGES), ("staff", STAFF, STAFF_CHANGES)])
def test_a_case_differing_in_any_value_it_shows_gets_its_own_block(kind, case, changes):
    shared = html.environment().globals["case_blocks"]
    first = getattr(shared, kind)(case)
    for name, value in changes.items():
        changed = dataclasses.replace(case, **{name: value})
        block = getattr(shared, kind)(changed)
        assert block == getattr(html.environment().globals["case_blocks"], kind)(changed), name
        assert block != first, f"a case with another {name} was given the first case's block"
    assert getattr(shared, kind)(dataclasses.replace(case)) is first       # an equal case: the same block


def test_the_table_is_bounded():
    blocks = html.environment().globals["case_blocks"]
    blocks.LIMIT = 5
    drawn = [blocks.public(dataclasses.replace(PUBLIC, label=f"case {i}")) for i in range(23)]
    assert len(blocks) <= 5
    assert all(f"case {i}" in block for i, block in enumerate(drawn))


def test_hidden_chips_differing_in_a_status_or_a_label_are_drawn_apart():
    shared = html.environment().globals["case_blocks"]
    hidden = [dataclasses.replace(PUBLIC, uid=f"1a/hidden/{i}", visibility="hidden", label=f"n={i}",
                                  status=CaseStatus.PASSED) for i in range(3)]
    first = shared.hidden(hidden)
    for changed in ([*hidden[:2], dataclasses.replace(hidden[2], status=CaseStatus.TIMEOUT)],
                    [*hidden[:2], dataclasses.replace(hidden[2], label="n=9")], hidden[:2]):
        block = shared.hidden(changed)
        assert block == html.environment().globals["case_blocks"].hidden(changed)
        assert block != first
    assert shared.hidden(list(hidden)) is first


def test_huge_answers_all_different_keep_the_table_small():
    """A class whose answers are each tens of thousands of characters, all different: the table
    holds at most CHARS characters of blocks, whatever the count."""
    blocks = html.environment().globals["case_blocks"]
    huge = "9" * 20000
    for i in range(40):
        block = blocks.public(dataclasses.replace(PUBLIC, got=f"{i} {huge}", expected=huge, message=huge))
        assert f"{i} 999" in block
        assert blocks.chars <= blocks.CHARS
    assert 0 < len(blocks) < 40


def test_a_value_that_cannot_be_a_key_is_drawn_all_the_same():
    """A result read from a hand-made file may hold a list where a text belongs: its block is drawn
    (not kept), as the page drew it before there was a table."""
    blocks = html.environment().globals["case_blocks"]
    odd = dataclasses.replace(PUBLIC, inputs={"W": [1, 2]}, diagnosis=[["nested"]])
    block = blocks.public(odd)
    assert "[1, 2]" in block and len(blocks) == 0
