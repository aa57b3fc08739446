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

The two processes talk over two pipes, each end held by one process only: the students go one
way as length-prefixed pickles, each student's written files come back the same way. So the
writer's death is always seen, whatever it was doing: an end of file where the batch reads (a
reply cut in the middle included), a broken pipe where it writes. (It used to be a
`ProcessPoolExecutor`, whose batch-side process holds both ends of both queues: a writer killed
while sending a reply, or with the pipe of students full, left the batch waiting forever.)
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import select
import signal
import sys
import threading
import traceback
from collections import deque
from pathlib import Path

MIN_CLASS = 24            # below this the fork and its start-up (~20 ms) are not worth it
IN_FLIGHT = 6             # students handed over and not yet written, at most (each holds a full Result)
LENGTH_BYTES = 8          # each message: its length (big-endian), then a pickle
WROTE, RAISED = "wrote", "raised"     # the writer's replies: (WROTE, (sha256, files)) or (RAISED, exception)


class WriterGone(Exception):
    """The writer process is gone (killed, crashed, its pipe broken): the batch writes itself."""


def start(submissions: int) -> "Writer | None":
    """A writer for a batch of `submissions`, or None (small class, no `fork` here, or a thread
    running: a fork copies no thread, and a lock one of them held would stay held in the copy).

    Call it before the session's workers exist: the fork must not inherit their pipes."""
    if submissions < MIN_CLASS or not usable() or threading.active_count() > 1:
        return None
    try:
        return Writer()
    except OSError:      # no writer: the batch writes in its own process, as before
        return None


def usable() -> bool:
    """Whether this system can have a writer: Linux, with `fork` (elsewhere the batch writes itself)."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def broken(exc: BaseException) -> bool:
    """Whether `exc` says the writer process is gone (its work is then done in the batch's process)."""
    return isinstance(exc, WriterGone)


class Writer:
    """Hands students to the writer process; `submit` returns their pending write (`done`, `result`),
    whose results come back in the order the students were given."""

    def __init__(self) -> None:
        jobs_read, self._jobs = os.pipe()
        self._replies, replies_write = os.pipe()
        try:
            self._process = multiprocessing.get_context("fork").Process(
                target=_serve, args=(jobs_read, replies_write, (self._jobs, self._replies)),
                name="grader-writer", daemon=True)
            self._process.start()
        except BaseException:
            for fd in (self._jobs, self._replies):
                os.close(fd)
            raise
        finally:
            os.close(jobs_read)         # the writer's ends are the writer's alone
            os.close(replies_write)
        self._buffer = bytearray()
        self._waiting: deque[_Write] = deque()
        self._gone: str | None = None
        self._closed = False

    def submit(self, out: Path, submission, result, stamp, pages: bool) -> "_Write":
        """`batch.write_student(out, submission, result, stamp, pages=pages)` in the writer; waits
        while the writer is still reading the students before. Raises WriterGone if it is gone."""
        if self._gone is not None:
            raise WriterGone(self._gone)
        payload = pickle.dumps((out, submission, result, stamp, pages), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _send(self._jobs, payload)
        except OSError as exc:          # a broken pipe: no one reads any more
            self._gone = f"the writer process is gone ({type(exc).__name__})"
            raise WriterGone(self._gone) from exc
        pending = _Write(self)
        self._waiting.append(pending)
        return pending

    def close(self, wait: bool = True) -> None:
        """Let the students handed over be written (`wait`), then end the process."""
        if self._closed:
            return
        self._closed = True
        os.close(self._jobs)            # the writer's end of file: it ends after the students it has
        if not wait:
            self._process.kill()
        self._process.join()
        os.close(self._replies)

    def _receive(self, block: bool) -> None:
        """Read what the writer sent (waiting for at least one byte if `block`), and hand each whole
        reply to the oldest write waiting. Raises WriterGone at its end of file."""
        if self._gone is not None:
            raise WriterGone(self._gone)
        if not block and not select.select([self._replies], [], [], 0)[0]:
            return
        chunk = os.read(self._replies, 1 << 16)
        if not chunk:
            self._gone = "the writer process ended"
            raise WriterGone(self._gone)
        self._buffer += chunk
        while len(self._buffer) >= LENGTH_BYTES:
            size = int.from_bytes(self._buffer[:LENGTH_BYTES], "big")
            if len(self._buffer) < LENGTH_BYTES + size:
                break
            reply = pickle.loads(bytes(self._buffer[LENGTH_BYTES:LENGTH_BYTES + size]))
            del self._buffer[:LENGTH_BYTES + size]
            self._waiting.popleft().reply = reply


class _Write:
    """One student handed to the writer: its reply, once the writer has sent it."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self.reply: tuple | None = None

    def done(self) -> bool:
        """Whether `result` would return (or raise) without waiting."""
        if self.reply is None:
            try:
                self._writer._receive(block=False)
            except WriterGone:
                return True
        return self.reply is not None

    def result(self) -> tuple[str, tuple[str, ...]]:
        """(the sha256 of the result.json written, the files written); raises what writing raised,
        or WriterGone if the writer is gone before it said."""
        while self.reply is None:
            self._writer._receive(block=True)
        kind, value = self.reply
        if kind == RAISED:
            raise value
        return value


def _send(fd: int, payload: bytes) -> None:
    view = memoryview(len(payload).to_bytes(LENGTH_BYTES, "big") + payload)
    while view:
        view = view[os.write(fd, view):]


def _receive_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _serve(jobs: int, replies: int, batch_ends: tuple[int, int]) -> None:
    """The writer process: write each student received, reply with what was written, until the
    batch closes its end."""
    for fd in batch_ends:
        os.close(fd)                    # the batch's ends: held here, its own death would go unseen
    _ignore_interrupts()
    while True:
        header = _receive_exactly(jobs, LENGTH_BYTES)
        if header is None:
            return
        payload = _receive_exactly(jobs, int.from_bytes(header, "big"))
        if payload is None:
            return
        try:
            outcome = _write(*pickle.loads(payload))
            reply = pickle.dumps((WROTE, (outcome.result_sha256, outcome.files)))
        except Exception as exc:  # noqa: BLE001 - the batch raises it, as writing there would have
            try:
                reply = pickle.dumps((RAISED, exc))
            except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
                reply = pickle.dumps((RAISED, RuntimeError(traceback.format_exc())))
        _send(replies, reply)


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the batch decides what stops, the writer finishes
    the students it was given (their files are then whole and kept for the resume)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .sandbox import keep_to_itself     # forked before any job: its /proc files the grader's alone too

    keep_to_itself()


def _write(out: Path, submission, result, stamp, pages: bool):
    from . import batch

    return batch.write_student(out, submission, result, stamp, env=_environment(), pages=pages)


@functools.lru_cache(maxsize=1)
def _environment():
    """The templates' environment of the writer process, parsed once for all its students."""
    from .render import html

    return html.environment()
