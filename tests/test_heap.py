"""The grader's own process and its memory (grader.heap): what its garbage collections walk.

A batch and a single grade freeze the objects that existed before them (gc.freeze), so that the
collections made while they run walk only what they make: in a long-lived process (a notebook
running the self-check, a service, this test session) a full collection otherwise walks
everything it ever kept. The batch's own promises are in tests/test_batch.py.
"""
from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

from grader import heap, pipeline

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"


def test_objects_from_before_are_left_out_and_given_back_however_the_block_ends(collector_unfrozen):
    kept_before = type("KeptBefore", (), {})()
    assert gc.is_tracked(kept_before) and gc.get_freeze_count() == 0
    with heap.collecting_only_new_objects():
        assert gc.get_freeze_count() > 0
        made_inside = type("MadeInside", (), {})()
        gc.collect()                                   # walks what was made inside, not the rest
        assert gc.is_tracked(made_inside)
        with heap.collecting_only_new_objects():       # entered again inside itself: no change
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0               # the inner block did not unfreeze
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), heap.collecting_only_new_objects():
        raise RuntimeError("a grade that fails")
    assert gc.get_freeze_count() == 0                  # given back when the block raises, too


def test_a_process_that_froze_its_objects_keeps_its_policy(collector_unfrozen):
    gc.freeze()
    try:
        with heap.collecting_only_new_objects():
            pass
        assert gc.get_freeze_count() > 0               # not unfrozen by the block
    finally:
        gc.unfreeze()


def test_a_grade_leaves_out_what_existed_before_it(session, monkeypatch, tmp_path, collector_unfrozen):
    """Session.grade (the Gradescope harness, the kit, a notebook's self-check, a service) runs
    the real pipeline with what existed before it frozen, and gives it back afterwards."""
    seen = []
    real = pipeline.grade

    def grade(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "grade", grade)
    shutil.copy(SUBMISSIONS / "carol_module.py", tmp_path / "hw3.py")
    result = session.grade(tmp_path / "hw3.py")
    assert result.score == pytest.approx(100)
    assert len(seen) == 1 and seen[0] > 0
    assert gc.get_freeze_count() == 0


def test_a_block_inside_another_asks_the_collector_nothing(monkeypatch, collector_unfrozen):
    """gc.get_freeze_count walks every frozen object: a grade inside a batch (the whole process
    frozen) must not ask it, or each grade costs a walk of the process (26 s of the suite's CPU)."""
    asked = []
    real = gc.get_freeze_count
    monkeypatch.setattr(gc, "get_freeze_count", lambda: asked.append(1) or real())
    with heap.collecting_only_new_objects():
        assert len(asked) == 1                         # the outermost block: is the process frozen already?
        for _ in range(100):
            with heap.collecting_only_new_objects():
                pass
        assert len(asked) == 1
    assert real() == 0


def test_overlapping_blocks_in_two_threads_unfreeze_when_the_last_ends(collector_unfrozen):
    import threading

    inside, leave = threading.Event(), threading.Event()

    def other():
        with heap.collecting_only_new_objects():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    with heap.collecting_only_new_objects():
        thread.start()
        assert inside.wait(10)
    assert gc.get_freeze_count() > 0                   # the other thread's block still runs
    leave.set()
    thread.join(10)
    assert gc.get_freeze_count() == 0
