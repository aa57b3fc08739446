"""Writing each graded student's files in a second trusted process, beside the grading.

The batch's own process judges the answers as they arrive from the sandboxed workers, and it
used to render and write every student's files as well (report, result, instructor pages, work
view, resume record: ~20 ms a student). On two cores that made it the bottleneck: one core busy
in one interpreter while the workers waited for their next submission. The writer is a second
interpreter for that part: a fork of the batch's process, made before any sandboxed worker or
thread exists (so it holds no worker's pipe and no lock), which runs `batch.write_student` for
each student sent to it and returns the outcome.

It is the grader's own code in the grader's own process: a full Result (its staff-only data
included) goes to it by pickling between two trusted processes, and an Outcome comes back.
Nothing a student's process produced is ever unpickled; their answers reached the batch as JSON
lines, judged there (grader.runner, grader.pipeline).

Only where it pays and is safe: a class of at least `MIN_CLASS` submissions, on a system with
`fork`. If the writer dies, the batch writes in its own process from then on, starting with the
students whose files were in flight; nothing is lost.
"""
from __future__ import annotations

import functools
import multiprocessing
import signal
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

MIN_CLASS = 24            # below this the fork and its start-up (~20 ms) are not worth it
IN_FLIGHT = 6             # students handed over and not yet written, at most (each holds a full Result)


def start(submissions: int) -> "Writer | None":
    """A writer for a batch of `submissions`, or None (small class, no `fork` here, or a thread
    running: a fork copies no thread, and a lock one of them held would stay held in the copy).

    Call it before the session's workers exist: the fork must not inherit their pipes."""
    if submissions < MIN_CLASS or not usable() or threading.active_count() > 1:
        return None
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                               initializer=_ignore_interrupts)
    try:
        pool.submit(_ready).result(timeout=30)        # fork now, while this process has no other thread
    except Exception:  # noqa: BLE001 - no writer: the batch writes in its own process, as before
        pool.shutdown(wait=False, cancel_futures=True)
        return None
    return Writer(pool)


def usable() -> bool:
    """Whether this system can have a writer: Linux, with `fork` (elsewhere the batch writes itself)."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


class Writer:
    """Hands students to the writer process; `submit` returns the future of their Outcome."""

    def __init__(self, pool: ProcessPoolExecutor):
        self._pool = pool

    def submit(self, out: Path, submission, result, stamp, pages: bool) -> Future:
        """`batch.write_student(out, submission, result, stamp, pages=pages)` in the writer.
        Raises BrokenProcessPool if the writer is gone."""
        return self._pool.submit(_write, out, submission, result, stamp, pages)

    def close(self, wait: bool = True) -> None:
        """Let the writes handed over finish (`wait`), then end the process."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def broken(exc: BaseException) -> bool:
    """Whether `exc` says the writer process is gone (its work is then done in the batch's process)."""
    return isinstance(exc, BrokenProcessPool)


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the batch decides what stops, the writer finishes
    the students it was given (their files are then whole and kept for the resume)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .sandbox import keep_to_itself     # forked before any job: its /proc files the grader's alone too

    keep_to_itself()


def _ready() -> bool:
    return True


def _write(out: Path, submission, result, stamp, pages: bool):
    from . import batch

    return batch.write_student(out, submission, result, stamp, env=_environment(), pages=pages)


@functools.lru_cache(maxsize=1)
def _environment():
    """The templates' environment of the writer process, parsed once for all its students."""
    from .render import html

    return html.environment()
