"""The self-check's runner: a student's own code, on public cases, in a separate plain process.

`grader check` runs where students are (macOS, Windows without WSL, Linux, Colab, JupyterHub),
so this module uses only what every platform has: `subprocess` starting a fresh interpreter (the
"spawn" way: nothing is forked) on `grader/portable_child.py`, pipes read by a thread, and
`Popen.kill`. It imports nothing Linux-only (no fcntl, resource, the sandbox or the sandboxed
worker); `tests/test_portable.py` imports it with those modules blocked.

It is *not* a sandbox and never grades: the instructor's `grade`, `batch` and `gradescope` run
the sandboxed `grader.runner` only. The self-check needs no isolation (the student's own code,
on their own machine, on public cases), only the same answers: the child speaks the sandboxed
worker's event protocol, and the events become `RawAnswer`s through the same `protocol` code, so
`pipeline.grade` judges them with the same cases, tolerances and messages.

Like the sandboxed runner, it survives what the code does: a cell that hangs or kills the process
is skipped in a fresh process; a call that hangs is a time-out (after `timeouts_per_question` of
them the question's other cases are not run) and the run resumes at the next case in a fresh process.
"""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import jobwire
from .jobwire import Ev, RunStatus
from .protocol import (CELL_STATUSES, CallSpec, CellRun, Limits, RawAnswer, RunReport, _int, _line_number, _raw_answer,
                       _text)

if TYPE_CHECKING:
    from .load import Program

CHILD = Path(__file__).with_name("portable_child.py")
ISOLATION = "none (self-check on your own machine)"
START_SECONDS = 120.0      # a cold interpreter importing numpy and IPython (slow laptops, Colab)
MAX_FRUITLESS = 3
KILL_GRACE = 1.0           # past its own watchdog, how long the child has before it is killed
READER_GRACE = 1.0         # after the child is gone, how long its reader has to reach the pipe's end


class _Child:
    """One child process and a thread that turns its event lines into a queue (pipes cannot be
    polled with select on Windows)."""

    def __init__(self, job: str, cwd: str | None):
        # The student's own environment (their PATH, their site-packages), minus the grader's own
        # settings: an instructor's GRADER_SECRET has no business in code being checked.
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GRADER_")}
        env["PYTHONIOENCODING"] = "utf-8"
        # The hash seed of the graded workers (`sandbox._worker_env`): a set the code prints or
        # iterates into an answer comes out in the same order as when graded.
        env["PYTHONHASHSEED"] = "0"
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0
        self.stderr = tempfile.TemporaryFile()      # the child's own failures (its student output goes elsewhere)
        self.proc = subprocess.Popen([sys.executable, "-u", str(CHILD)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, cwd=cwd, env=env,
                                     creationflags=flags, start_new_session=sys.platform != "win32")
        self.events: "queue.Queue[dict | None]" = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.send_text(job)

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                event = jobwire.parse_event(line)
                if event is not None:
                    self.events.put(event)
        except (ValueError, OSError):
            pass        # closed by `stop` while a process the child left behind still held the pipe
        finally:
            self.events.put(None)                   # the process is gone

    def send_text(self, line: str) -> None:
        """Send one message, as `jobwire` built it."""
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            pass                                    # it died: its reader reports the end

    def event(self, deadline: float) -> dict | None:
        """The next event, or None when the deadline passed or the process is gone."""
        try:
            return self.events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        # The reader ends at the pipe's end; closing the pipe under it first makes its read fail
        # in the middle (a process the student started may still hold the pipe: then it does).
        self.reader.join(timeout=READER_GRACE)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def error_tail(self, limit: int = 600) -> str:
        """The last lines the child wrote to its stderr before it took over its output (a start-up failure)."""
        try:
            self.stderr.seek(0)
            text = self.stderr.read()[-4 * limit:].decode("utf-8", "replace").strip()
            self.stderr.close()
        except (OSError, ValueError):
            return ""
        return text[-limit:]


def run_portable(program: "Program", calls: list[CallSpec], limits: Limits = Limits(),
                 imports: list[str] | None = None) -> RunReport:
    """Execute `program` in a fresh process and call it on every case, surviving whatever it does.

    The code runs in an empty temporary folder, as in grading (where only the submission's code is
    sent to the sandbox): a notebook that reads a data file or imports a module lying beside it
    fails here as it will when graded, which is what a self-check is for.
    """
    with tempfile.TemporaryDirectory(prefix="grader-check-") as scratch:
        return _PortableRun(program, calls, limits, scratch, imports).run()


class _PortableRun:
    """One submission's run: what is answered, which cells to skip, where we are."""

    def __init__(self, program: "Program", calls: list[CallSpec], limits: Limits, cwd: str | None,
                 imports: list[str] | None = None):
        self.program, self.limits, self.cwd, self.imports = program, limits, cwd, imports
        self.started = time.monotonic()
        self.budget_end = self.started + limits.submission_seconds
        self.report = RunReport(isolation=ISOLATION)
        self.pending = {c.uid: c for c in sorted(calls, key=lambda c: c.hidden)}
        self.by_uid = {c.uid: c for c in calls}
        self.skip: set[int] = set()
        self.timeouts: dict[str, int] = {}
        self.loaded_once = False

    def run(self) -> RunReport:
        fruitless = 0
        while self.pending and fruitless < MAX_FRUITLESS and time.monotonic() < self.budget_end:
            before = (len(self.report.answers), len(self.skip), self.loaded_once)
            child = _Child(jobwire.run_message(0, self.program.to_worker(), sorted(self.skip), self.imports,
                                               self.limits.for_worker(False)), self.cwd)
            try:
                if self._load(child):
                    self._call(child)
            finally:
                child.stop()
            failure = child.error_tail()
            if failure and not self.loaded_once and failure not in self.report.notes:
                self.report.notes.append(f"the self-check's process failed: {failure}")
            progressed = (len(self.report.answers), len(self.skip), self.loaded_once) != before
            fruitless = 0 if progressed else fruitless + 1
            if self.pending:
                self.report.restarts += 1
        self._settle_rest(fruitless >= MAX_FRUITLESS)
        self.report.seconds = time.monotonic() - self.started
        return self.report

    def _deadline(self, seconds: float) -> float:
        return min(self.budget_end, time.monotonic() + seconds + KILL_GRACE)

    def _load(self, child: _Child) -> bool:
        """Run the cells. True when loaded; False when a cell hung or killed the process (it is skipped)."""
        deadline = min(self.budget_end, time.monotonic() + START_SECONDS)
        current: int | None = None
        units = {u.index for u in self.program.units}
        while True:
            event = child.event(deadline)
            if event is None:
                if current is not None:
                    timed_out = time.monotonic() >= deadline
                    why = (f"the cell ran longer than {self.limits.cell_seconds:g} s and was stopped"
                           if timed_out else "the process died in this cell")
                    self._skip_cell(current, RunStatus.TIMEOUT if timed_out else RunStatus.CRASHED, why + "; the cell was skipped")
                return False
            kind = event.get("ev")
            index = _int(event.get("index"))
            if kind == Ev.CELL and event.get("phase") == jobwire.START and index in units:
                current, deadline = index, self._deadline(self.limits.cell_seconds)
            elif kind == Ev.CELL and index in units:
                if not self.loaded_once or index not in self.report.cells:
                    status = RunStatus(event["status"]) if event.get("status") in CELL_STATUSES else RunStatus.ERROR
                    missing = _text(event.get("missing_module"), 100)
                    self.report.cells[index] = CellRun(index, status, _text(event.get("error")),
                                                       missing if missing.isidentifier() else "",
                                                       ipython_line=_line_number(event.get("ipython_line")))
                current = None
            elif kind == Ev.LOADED:
                if not self.loaded_once:
                    self.report.output = _text(event.get("output"), self.limits.output_bytes)
                    escapes = event.get("shell")
                    self.report.shell_escapes = [_text(e, 200) for e in escapes[:20]] if isinstance(escapes, list) else []
                self.loaded_once = True
                return True

    def _skip_cell(self, index: int, status: str, message: str) -> None:
        self.skip.add(index)
        self.report.cells[index] = CellRun(index, status, message)

    def _call(self, child: _Child) -> None:
        """Call the pending cases in order until all are answered or one hangs or kills the process."""
        seconds = self.limits.case_seconds
        child.send_text(jobwire.cases_message(0, "public", seconds, [c.wire for c in self.pending.values()]))
        current: str | None = None
        deadline = self._deadline(seconds)
        while self.pending:
            event = child.event(deadline)
            if event is None:
                if current is not None and current in self.pending:
                    if time.monotonic() >= deadline:
                        self._settle(RawAnswer(current, RunStatus.TIMEOUT, message=f"took longer than {seconds:g} s "
                                                                           "and was stopped"))
                        self._count_timeout(current)
                    else:
                        self._settle(RawAnswer(current, RunStatus.CRASHED,
                                               message="the process died during this call"))
                return
            uid = event.get("uid") if isinstance(event.get("uid"), str) else None
            if event.get("ev") != Ev.CASE or uid not in self.pending:
                continue
            if event.get("phase") == jobwire.START:
                current, deadline = uid, self._deadline(seconds)
                continue
            answer = _raw_answer(self.pending[uid], event)
            self._settle(answer)
            current = None
            if answer.status == RunStatus.TIMEOUT and self._count_timeout(uid):
                return          # the child would still call the cases just given up on: a fresh one resumes

    def _settle(self, answer: RawAnswer) -> None:
        self.report.answers[answer.uid] = answer
        self.pending.pop(answer.uid, None)

    def _count_timeout(self, uid: str) -> list[str]:
        """After repeated time-outs in one question, its other cases are not run (as in grading)."""
        qid = self.by_uid[uid].question_id
        calls = [c for c in self.pending.values() if c.question_id == qid]
        self.timeouts[qid] = self.timeouts.get(qid, 0) + 1
        if self.timeouts[qid] < self.limits.timeouts_per_question:
            return []
        for call in calls:
            self._settle(RawAnswer(call.uid, RunStatus.NOT_RUN,
                                   message=f"not run: {self.timeouts[qid]} earlier cases of this question timed out"))
        return [c.uid for c in calls]

    def _settle_rest(self, kept_dying: bool) -> None:
        if kept_dying:
            status, message = RunStatus.CRASHED, "not run: the submission's process kept dying before it could be called"
        else:
            status, message = RunStatus.NOT_RUN, f"not run: the submission used up its time budget of {self.limits.submission_seconds:g} s"
        for uid in list(self.pending):
            self._settle(RawAnswer(uid, status, message=message))
