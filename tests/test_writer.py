"""The writer process (grader.writer): students' files written beside the grading, never lost.

The promises: a batch that writes through the writer leaves exactly the files, results and class
files it leaves writing in its own process; a writer that dies mid-batch costs nothing (its
students are written by the batch itself); a class too small to pay for it never starts one.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from batch_input import round_robin_class
from grader import batch, writer
from grader.results import Result

EXAMPLES = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py", "dave_broken.ipynb"]


def _class(folder: Path, students: int) -> Path:
    return round_robin_class(folder, students, EXAMPLES)


def _scores(out: Path) -> dict[str, tuple]:
    found = {}
    for path in (out / batch.STUDENTS).glob("*/result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        folder = path.parent
        found[data["submission"]] = (data["score"], data["status"],
                                     sorted(p.name for p in folder.iterdir() if p.is_file()))
    return found


def _untimed(value):
    """`value` without what differs between two runs of the same grading: how long things took
    (and the output, where a notebook prints its own timings: `%time`)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if "second" not in k and k != "output"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _grade(folder: Path, out: Path, session, monkeypatch, smallest: int, on_result=None):
    """A batch with its own session (a writer is only ever started then), the writer's threshold set."""
    monkeypatch.setattr(writer, "MIN_CLASS", smallest)
    return batch.run_batch(folder, out, session.config, workers=1, progress=False, on_result=on_result)


@pytest.mark.skipif(not writer.usable(), reason="no fork on this system: the batch writes in its own process")
def test_the_writer_leaves_the_same_files_as_writing_here(tmp_path: Path, session, monkeypatch):
    folder = _class(tmp_path / "in", 5)
    started = []
    real_start = writer.start
    monkeypatch.setattr(writer, "start", lambda n: started.append(real_start(n)) or started[-1])
    with_writer = _grade(folder, tmp_path / "a", session, monkeypatch, smallest=2)
    assert started and started[0] is not None
    without = _grade(folder, tmp_path / "b", session, monkeypatch, smallest=10_000)
    assert started[1] is None
    assert with_writer.graded == without.graded == 5
    assert _scores(tmp_path / "a") == _scores(tmp_path / "b") and len(_scores(tmp_path / "a")) == 5
    assert (tmp_path / "a" / "grades.csv").read_text(encoding="utf-8") == \
        (tmp_path / "b" / "grades.csv").read_text(encoding="utf-8")
    assert _untimed(json.loads((tmp_path / "a" / "results.json").read_text(encoding="utf-8"))) == \
        _untimed(json.loads((tmp_path / "b" / "results.json").read_text(encoding="utf-8")))
    assert [o.identity for o in with_writer.outcomes] == [o.identity for o in without.outcomes]
    assert all(isinstance(o.result, Result) for o in with_writer.outcomes)
    assert not multiprocessing.active_children()          # the writer is gone when the batch is


@pytest.mark.skipif(not writer.usable(), reason="no fork on this system: the batch writes in its own process")
def test_a_writer_that_dies_mid_batch_loses_no_student(tmp_path: Path, session, monkeypatch):
    folder = _class(tmp_path / "in", 6)
    killed = []

    def kill_the_writer(submission, result):
        if not killed:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    report = _grade(folder, tmp_path / "out", session, monkeypatch, smallest=2, on_result=kill_the_writer)
    assert killed
    assert report.graded == 6 and len(report.outcomes) == 6
    scores = _scores(tmp_path / "out")
    assert len(scores) == 6 and all("report.html" in files and "batch.json" in files
                                    for _, status, files in scores.values() if status == "graded")
    again = _grade(folder, tmp_path / "out", session, monkeypatch, smallest=2)
    assert (again.graded, again.reused) == (0, 6)


def test_a_small_class_starts_no_writer():
    assert writer.start(writer.MIN_CLASS - 1) is None
