"""The only module that starts untrusted code: it runs a submission in a sandboxed worker.

A `Worker` owns one sandboxed zygote process (see `worker.py` for the protocol and `sandbox.py`
for the isolation). `run_program` hands it one submission and its case inputs and collects what
came back, as plain data: per cell whether it ran, per case the raw answer or why there is none.
No expected value ever passes through here.

Failures are contained per case. If the process dies or hangs in a case, the case is marked
crashed or timed out, the job is killed (every process it started included), and a fresh child
re-executes the program and resumes at the next case. A cell that hangs or kills the process
while the program is being executed is skipped in the next attempt.
"""
from __future__ import annotations

import base64
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from . import sandbox
from .load import Program

MAX_EVENT_BYTES = 64 * 2**20   # one event line larger than this is dropped as garbage
KILL_GRACE = 3.0               # seconds a zygote has to report a job's clean-up before it is replaced


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission. Defaults suit a homework of small numerical functions."""

    case_seconds: float = 5.0          # wall time for one call
    cell_seconds: float = 20.0         # wall time for one notebook cell (or the whole module)
    submission_seconds: float = 180.0  # wall time for everything one submission does
    memory_mb: int = 1536              # address space on top of the warm interpreter
    cpu_seconds: int = 300
    nproc: int = 64
    fsize_mb: int = 16
    nofile: int = 128
    tmpfs_mb: int = 64
    output_bytes: int = 65536
    timeouts_per_question: int = 2     # after this many time-outs the question's other cases are not run

    def for_worker(self) -> dict[str, Any]:
        return {"cell_seconds": self.cell_seconds, "memory_mb": self.memory_mb,
                "cpu_seconds": self.cpu_seconds, "nproc": self.nproc, "fsize_mb": self.fsize_mb,
                "nofile": self.nofile, "output_bytes": self.output_bytes}


@dataclass(frozen=True)
class CallSpec:
    """What the worker needs to call one case: no expected value, ever."""

    uid: str
    question_id: str
    name: str
    call: bool
    kind: str
    keys: tuple[str, ...]
    args: tuple[Any, ...]


@dataclass
class RawAnswer:
    """What one case produced, before anyone has judged it."""

    uid: str
    status: str            # ok | error | unconvertible | missing | timeout | crashed | not-run
    value: Any = None
    message: str = ""
    seconds: float = 0.0


@dataclass
class CellRun:
    index: int
    status: str            # ok | error | timeout | crashed | skipped
    error: str = ""


@dataclass
class RunReport:
    answers: dict[str, RawAnswer] = field(default_factory=dict)
    cells: dict[int, CellRun] = field(default_factory=dict)
    output: str = ""
    shell_escapes: list[str] = field(default_factory=list)
    isolation: str = ""
    notes: list[str] = field(default_factory=list)
    restarts: int = 0
    seconds: float = 0.0


class WorkerDied(Exception):
    """The zygote itself is gone or stopped answering; it has to be replaced."""


# ------------------------------------------------------------------------------------------------
# Plain data across the boundary


def encode_arg(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        plain = np.ascontiguousarray(value, dtype="<f8")
        return {"__ndarray__": base64.b64encode(plain.tobytes()).decode(), "shape": list(plain.shape)}
    if isinstance(value, dict):
        return {str(k): encode_arg(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_arg(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


class BadValue(ValueError):
    pass


def decode_array(data: Any) -> np.ndarray:
    """Rebuild an array from the worker's plain data, trusting nothing about it."""
    if not isinstance(data, dict) or not isinstance(data.get("b64"), str) or not isinstance(data.get("shape"), list):
        raise BadValue("the worker sent something that is not an encoded array")
    shape = data["shape"]
    if not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s for s in shape) or len(shape) > 8:
        raise BadValue("the worker sent an invalid shape")
    try:
        raw = base64.b64decode(data["b64"], validate=True)
    except ValueError as exc:
        raise BadValue("the worker sent invalid base64") from exc
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(raw) != 8 * count:
        raise BadValue("the worker sent an array whose size does not match its shape")
    return np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)


def decode_value(kind: str, keys: Iterable[str], data: Any) -> Any:
    """Turn the worker's plain data into the trusted side's plain Python/numpy values."""
    if kind == "array":
        return decode_array(data)
    if kind == "array_dict":
        if not isinstance(data, dict):
            raise BadValue("expected a dict of arrays")
        return {k: decode_array(data[k]) for k in keys if k in data}
    if kind == "label":
        if not isinstance(data, str):
            raise BadValue("expected a string")
        return data
    if kind == "name_set":
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise BadValue("expected a list of strings")
        return frozenset(data)
    raise BadValue(f"unknown kind {kind}")


# ------------------------------------------------------------------------------------------------
# One sandboxed zygote


class Worker:
    """One warm, sandboxed worker process that runs submissions one after another."""

    def __init__(self, slot: int = 0, level: str | None = None, limits: Limits = Limits()):
        self.slot = slot
        self.level = level
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self.launch: sandbox.Launch | None = None
        self._buffer = b""
        self._selector: selectors.BaseSelector | None = None
        self._stderr: Any = None
        self._jobs = 0
        self._ready = False

    # -- life cycle
    def start(self) -> None:
        """Start the zygote and wait until it is warm."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the zygote without waiting: it warms up (~0.4 s) while the caller does other work."""
        self.close()
        self.launch = sandbox.launch(self.slot, self.level, self.limits.tmpfs_mb)
        self._stderr = tempfile.TemporaryFile()
        env = self.launch.env or None
        if self.launch.level == sandbox.BWRAP:
            env = {}  # bwrap --clearenv sets the sandbox's environment itself
        self.proc = subprocess.Popen(
            self.launch.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            env=env, start_new_session=True, close_fds=True, bufsize=0)
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        self._ready = False

    def wait_ready(self) -> None:
        if self._ready:
            return
        try:
            ready = self._next_event(time.monotonic() + 60)
        except WorkerDied:
            ready = None
        if ready is None or ready.get("ev") != "ready":
            detail = self._stderr_tail()
            self.close()
            raise RuntimeError(f"the sandboxed worker did not start: {detail or ready}")
        self._ready = True

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def isolation(self) -> str:
        return self.launch.level if self.launch else ""

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.flush()
            except (OSError, ValueError):
                pass
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            self._kill_group()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        if self._selector is not None:
            self._selector.close()
        if self._stderr is not None:
            self._stderr.close()
        if self.launch is not None and self.launch.scratch:
            shutil.rmtree(self.launch.scratch, ignore_errors=True)
        self.proc, self._selector, self._stderr = None, None, None

    def _kill_group(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.launch is not None and self.launch.uid is not None and self.launch.level == sandbox.RLIMITS:
            _kill_uid(self.launch.uid)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode(errors="replace").strip()

    # -- talking
    def send(self, message: dict) -> None:
        if not self.alive:
            raise WorkerDied("the worker is not running")
        try:
            self.proc.stdin.write((json.dumps(message) + "\n").encode())
            self.proc.stdin.flush()
        except (OSError, ValueError) as exc:
            raise WorkerDied(str(exc)) from exc

    def _next_event(self, deadline: float) -> dict | None:
        """The next well-formed event, or None at the deadline. Raises WorkerDied on EOF."""
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line, self._buffer = self._buffer[:newline], self._buffer[newline + 1:]
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # garbage written by student code: not an event
                if isinstance(event, dict):
                    return event
                continue
            if len(self._buffer) > MAX_EVENT_BYTES:
                self._buffer = b""  # a flood without newlines: drop it
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self._selector.select(timeout=remaining):
                return None
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise WorkerDied("the worker closed its output")
            self._buffer += chunk

    def event(self, job: int, deadline: float) -> dict | None:
        """The next event of this job (events of older jobs are stale and skipped)."""
        while True:
            event = self._next_event(deadline)
            if event is None or event.get("job") == job:
                return event

    def finish_job(self, job: int, kill: bool) -> str:
        """Make sure the job and everything it started are gone; return how the child ended."""
        status = "exited"
        try:
            if kill:
                self.send({"op": "kill", "job": job})
            deadline = time.monotonic() + KILL_GRACE + (0 if kill else self.limits.case_seconds)
            while True:
                event = self.event(job, deadline)
                if event is None:
                    raise WorkerDied("the worker did not clean up in time")
                if event.get("ev") == "exit":
                    status = str(event.get("status", "exited"))
                if event.get("ev") == "clean":
                    return status
        except WorkerDied:
            self.close()
            self.start()
            return status

    def next_job(self) -> int:
        self._jobs += 1
        return self._jobs


def _kill_uid(uid: int) -> None:
    """Kill every process of a uid that belongs to one worker slot (rlimits level, as root)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


# ------------------------------------------------------------------------------------------------
# One submission


def run_program(worker: Worker, program: Program, calls: list[CallSpec]) -> RunReport:
    """Execute `program` and call it on every case, surviving whatever it does."""
    limits = worker.limits
    started = time.monotonic()
    budget_end = started + limits.submission_seconds
    report = RunReport(isolation=worker.isolation, notes=list(worker.launch.notes if worker.launch else []))
    pending = list(calls)
    skip: set[int] = set()
    timeouts: dict[str, int] = {}
    first_load = True

    while True:
        if time.monotonic() >= budget_end:
            break
        if not worker.alive:
            worker.start()
        job = worker.next_job()
        try:
            worker.send({"op": "run", "job": job, "program": program.to_worker(), "skip": sorted(skip),
                         "limits": limits.for_worker()})
            loaded = _execute(worker, job, program, report, skip, first_load, budget_end)
        except WorkerDied as exc:
            report.notes.append(f"worker replaced: {exc}")
            worker.close()
            report.restarts += 1
            continue
        if loaded is None:      # a cell hung or crashed the process: it is skipped next time
            report.restarts += 1
            continue
        first_load = False
        if not pending:
            worker.finish_job(job, kill=True)
            break
        finished = _call_cases(worker, job, pending, report, timeouts, budget_end)
        if finished:
            break
        report.restarts += 1

    for call in pending:
        if call.uid not in report.answers:
            report.answers[call.uid] = RawAnswer(call.uid, "not-run",
                                                 message="not run: the submission used up its time budget "
                                                         f"of {limits.submission_seconds:g} s")
    report.seconds = time.monotonic() - started
    return report


def _execute(worker: Worker, job: int, program: Program, report: RunReport, skip: set[int],
             record: bool, budget_end: float) -> bool | None:
    """Run the program's cells. True when loaded; None when the job had to be killed."""
    limits = worker.limits
    current: int | None = None
    deadline = min(budget_end, time.monotonic() + limits.cell_seconds + 5)
    while True:
        event = worker.event(job, deadline)
        if event is None:                               # hung cell (it ignored our alarm)
            worker.finish_job(job, kill=True)
            if current is None:
                raise WorkerDied("the worker did not start the job")
            skip.add(current)
            report.cells[current] = CellRun(current, "timeout", f"the cell ran longer than {limits.cell_seconds:g} s "
                                                                "and was stopped; it was skipped")
            return None
        kind = event.get("ev")
        if kind == "cell" and event.get("phase") == "start":
            current = _int(event.get("index"))
            deadline = min(budget_end, time.monotonic() + limits.cell_seconds + 5)
        elif kind == "cell":
            index = _int(event.get("index"))
            if index is not None and (record or index not in report.cells):
                report.cells[index] = CellRun(index, str(event.get("status", "error")), _text(event.get("error")))
            current = None
        elif kind == "loaded":
            if record:
                report.output = _text(event.get("output"), limits.output_bytes)
                escapes = event.get("shell")
                report.shell_escapes = [_text(e, 200) for e in escapes] if isinstance(escapes, list) else []
            return True
        elif kind == "exit":
            _drain_clean(worker, job)
            status = _text(event.get("status"))
            if current is None:
                raise WorkerDied(f"the job ended before running any cell ({status})")
            skip.add(current)
            report.cells[current] = CellRun(current, "crashed", f"the process died in this cell ({status}); "
                                                                "the cell was skipped")
            return None


def _drain_clean(worker: Worker, job: int) -> None:
    deadline = time.monotonic() + KILL_GRACE
    while True:
        event = worker.event(job, deadline)
        if event is None:
            raise WorkerDied("the worker did not clean up after a job")
        if event.get("ev") == "clean":
            return


def _call_cases(worker: Worker, job: int, pending: list[CallSpec], report: RunReport,
                timeouts: dict[str, int], budget_end: float) -> bool:
    """Call the pending cases in order. True when all are answered; False to resume in a new job."""
    limits = worker.limits
    by_uid = {c.uid: c for c in pending}
    worker.send({"op": "cases", "job": job, "case_seconds": limits.case_seconds,
                 "cases": [{"uid": c.uid, "name": c.name, "call": c.call, "kind": c.kind, "keys": list(c.keys),
                            "args": encode_arg(list(c.args))} for c in pending]})
    current: str | None = None
    deadline = min(budget_end, time.monotonic() + limits.case_seconds + 5)
    while True:
        event = worker.event(job, deadline)
        if event is None:
            worker.finish_job(job, kill=True)
            if current is not None:
                _settle(pending, report, RawAnswer(current, "timeout",
                                                   message=f"took longer than {limits.case_seconds:g} s and was stopped"))
                _count_timeout(by_uid[current], pending, report, timeouts, limits)
            return not pending or time.monotonic() >= budget_end
        kind = event.get("ev")
        if kind == "case" and event.get("phase") == "start":
            uid = event.get("uid")
            if uid in by_uid and any(c.uid == uid for c in pending):
                current = uid
                deadline = min(budget_end, time.monotonic() + limits.case_seconds + 5)
        elif kind == "case":
            uid = event.get("uid")
            if uid not in by_uid or not any(c.uid == uid for c in pending):
                continue
            answer = _raw_answer(by_uid[uid], event)
            _settle(pending, report, answer)
            if answer.status == "timeout":
                _count_timeout(by_uid[uid], pending, report, timeouts, limits)
            current = None
        elif kind == "done":
            worker.finish_job(job, kill=True)
            for call in list(pending):   # a forged "done" does not make unanswered cases disappear
                _settle(pending, report, RawAnswer(call.uid, "error", message="no answer was returned"))
            return True
        elif kind == "exit":
            _drain_clean(worker, job)
            if current is not None:
                _settle(pending, report, RawAnswer(current, "crashed",
                                                   message=f"the process died during this call ({_text(event.get('status'))})"))
            return not pending


def _raw_answer(call: CallSpec, event: dict) -> RawAnswer:
    status = event.get("status")
    seconds = event.get("seconds") if isinstance(event.get("seconds"), (int, float)) else 0.0
    if status == "ok":
        try:
            return RawAnswer(call.uid, "ok", decode_value(call.kind, call.keys, event.get("value")),
                             seconds=float(seconds))
        except (BadValue, KeyError, TypeError, ValueError) as exc:
            return RawAnswer(call.uid, "unconvertible", message=f"the answer could not be read back: {exc}")
    if status in ("error", "unconvertible", "missing", "timeout"):
        return RawAnswer(call.uid, status, message=_text(event.get("error")), seconds=float(seconds))
    return RawAnswer(call.uid, "error", message="the worker reported an unknown status")


def _settle(pending: list[CallSpec], report: RunReport, answer: RawAnswer) -> None:
    report.answers[answer.uid] = answer
    pending[:] = [c for c in pending if c.uid != answer.uid]


def _count_timeout(call: CallSpec, pending: list[CallSpec], report: RunReport, timeouts: dict[str, int],
                   limits: Limits) -> None:
    """After repeated time-outs in one question, do not spend the budget on its other cases."""
    timeouts[call.question_id] = timeouts.get(call.question_id, 0) + 1
    if timeouts[call.question_id] < limits.timeouts_per_question:
        return
    for other in [c for c in pending if c.question_id == call.question_id]:
        _settle(pending, report, RawAnswer(other.uid, "not-run",
                                           message=f"not run: {timeouts[call.question_id]} earlier cases of this "
                                                   "question timed out"))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any, limit: int = 2000) -> str:
    text = value if isinstance(value, str) else ""
    return text[:limit]
