"""What reaches the disk, and when: atomic always, flushed per file or in groups (grader.files).

The promises: every write is all-or-nothing for a reader; a batch flushes its students' files to
disk in groups instead of one disk flush per file (which cost more than grading a student); and
what a power cut could leave behind (a record whose result.json or report lost its data) is never
taken for a finished student: that student is graded again.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from grader import batch, files

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"


def _count_fsyncs(monkeypatch) -> list[str]:
    """The files fsynced from now on (their names: what the descriptor is open on)."""
    calls: list[str] = []
    real = os.fsync

    def counting(fd):
        calls.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") else str(fd))
        return real(fd)

    monkeypatch.setattr(files.os, "fsync", counting)
    return calls


def test_a_durable_write_is_flushed_and_a_grouped_one_is_not(tmp_path: Path, monkeypatch):
    calls = _count_fsyncs(monkeypatch)
    files.write_atomic(tmp_path / "a.txt", "one")
    assert len(calls) == 1
    files.write_atomic(tmp_path / "b.txt", "two", durable=False)
    files.write_chunks_atomic(tmp_path / "c.txt", iter(["th", "ree"]), durable=False)
    assert len(calls) == 1
    assert [(tmp_path / n).read_text() for n in ("a.txt", "b.txt", "c.txt")] == ["one", "two", "three"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_flush_to_disk_takes_a_folder_or_falls_back(tmp_path: Path):
    files.flush_to_disk(tmp_path)
    files.flush_to_disk(tmp_path / "not-there")      # falls back to a sync of everything; no error


def _class(folder: Path) -> Path:
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "alice.ipynb")
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    shutil.copy(SUBMISSIONS / "carol_module.py", folder / "carol.py")
    return folder


def test_a_batch_does_not_flush_each_students_files_one_by_one(tmp_path: Path, session, monkeypatch):
    folder = _class(tmp_path / "in")
    calls = _count_fsyncs(monkeypatch)
    batch.run_batch(folder, tmp_path / "out", session.config, session=session, progress=False)
    written = [p for p in (tmp_path / "out" / batch.STUDENTS).rglob("*") if p.is_file()]
    assert len(written) >= 3 * 4
    # only the class files (summary, grades, results, ...) are fsynced one by one
    assert calls and not [c for c in calls if f"/{batch.STUDENTS}/" in c]


@pytest.mark.parametrize("damaged", [batch.RESULT, batch.REPORT])
def test_a_student_whose_files_a_power_cut_emptied_is_graded_again(tmp_path: Path, session, damaged):
    """After a power cut, a record can outlive the data of the files it vouches for (a renamed
    file whose blocks never reached the disk reads as empty): that student is not "unchanged"."""
    folder, out = _class(tmp_path / "in"), tmp_path / "out"
    first = batch.run_batch(folder, out, session.config, session=session, progress=False)
    assert first.graded == 3
    bob = next(s for s in batch.discover(folder, exclude=[out]) if s.name == "bob")
    (batch.student_dir(out, bob) / damaged).write_bytes(b"")
    again = batch.run_batch(folder, out, session.config, session=session, progress=False)
    assert (again.graded, again.reused) == (1, 2)
    assert (batch.student_dir(out, bob) / batch.RESULT).stat().st_size > 0
    assert "bob" in (batch.student_dir(out, bob) / batch.REPORT).read_text(encoding="utf-8")
