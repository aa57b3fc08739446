"""The only module that starts untrusted code: it runs a submission in a sandboxed worker.

A `Worker` owns one sandboxed zygote process (see `worker.py`; `jobwire.py` builds and parses
every message between them; `sandbox.py` describes the isolation). `run_program` hands it one submission and its case inputs and collects what
came back, as plain data: per cell whether it ran, per case the raw answer or why there is none.
No expected value ever passes through here.

Failures are contained per case. If the process dies or hangs in a case, the case is marked
crashed or timed out, the job is killed (every process it started included), and a fresh child
re-executes the program and resumes at the next case. A cell that hangs or kills the process
while the program is being executed is skipped in the next attempt.

A job's cases go in three batches (`BATCHES`): the public ones, the hidden ones, then the follow-ups
(`CallSpec.parent`: probes that locate a wrong answer), of which only those the sink still wants
once it has judged every scored case are called (`protocol.wanted`; a right answer needs none).

What the student process writes to the event pipe is a claim about its own answers and nothing
else, bounded in size as it is read (`Limits.answer_mb`, `Limits.answers_mb`): an event line too
long to hold an answer of the allowed size is dropped unparsed while it streams in, and fails the
case it was meant for. Answers go to the caller's `sink` one by one as they are settled, so a
submission's answers are judged and dropped as they come, never all held at once.

Every job ends with the grader asking the zygote to kill it, with a fresh random token, and
waiting for "clean" with that token: only then are all of the job's processes gone and its files
removed, and only then does `run_program` return (so results are written after it, never before).
One invariant decides what may be shown to students (see `Phase`): nothing the student process
could have seen after the first hidden input entered the sandbox reaches a student-visible field.
Cell results, printed output and shell escapes are recorded only before the hidden batch is sent;
public cases are all settled before it is; from then on, in that job and in every re-run after a
crash or a time-out, the student process contributes answers to hidden cases (a value, or the kind
of failure) and nothing else: no cell text, no output, no message, not even its claimed duration.
"""
from __future__ import annotations

import base64
import enum
import glob
import itertools
from collections import deque
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import images, jobwire, sandbox
from .jobwire import Ev, RunStatus, too_large  # noqa: F401 - too_large re-exported
from .config import MAX_FIGURE_BYTES, MAX_FIGURE_PIXELS, MAX_FIGURES, Limits  # defined with the configuration; importable from here too

if TYPE_CHECKING:
    import numpy as np

    from .load import Program

# numpy is imported where arrays are encoded and decoded, not here: a Session starts its first
# worker before the grader's heavy imports, so that they overlap the worker's warm-up.

KILL_GRACE = 15.0              # seconds a zygote has to report a job's clean-up before it is replaced
MAX_FRUITLESS = 3              # job attempts that end without any progress before we stop trying


MAX_EVENT_BYTES = Limits().event_line_bytes   # the default cap on one event line
BIG_LINE = 64 * 2**10          # a line longer than this is parsed only if it holds few JSON values:
MAX_VALUES = 16 * 2**10        # at most this many `,[{` besides the printed output's own characters
OVERSIZE = object()            # the `ev` of the marker that stands for an over-long line (never JSON)


def megabytes(size: float) -> str:
    return f"{size / 2**20:.3g}"


from .protocol import (  # noqa: E402,F401 - the plain data of a run, re-exported here
    CASE_STATUSES, CELL_STATUSES, MAX_ELEMENTS, BadValue, CallSpec, CellRun, RawAnswer, RunReport, Sink,
    _int, _line_number, _raw_answer, _seconds, _text, decode_array, decode_value, encode_arg, grace, kinds_table, wanted)


class WorkerDied(Exception):
    """The zygote itself is gone or stopped answering; it has to be replaced."""


# ------------------------------------------------------------------------------------------------
# One sandboxed zygote


class EventReader:
    """Splits the worker's output into JSON events, whatever garbage the student mixes in.

    Linear in the input however it is split, and bounded in memory: a line longer than `max_line`
    is never held; it is counted while it streams past and, when it ends, stands in the queue as
    one marker `{"ev": OVERSIZE, "bytes": n}` (the case it was meant for fails as too large).
    A long line is parsed only if it has at most `max_values` of the characters `,[{` (each JSON
    value but the first needs one): the worker's long lines are base64 or printed output in a
    handful of strings, while a line of a million small numbers would cost a hundred megabytes of
    Python objects to parse. A line that is not a JSON object, or nests too deeply, is skipped.
    """

    def __init__(self, fd: int, max_line: int = MAX_EVENT_BYTES,
                 max_values: int = MAX_VALUES + Limits().output_bytes):
        self.fd = fd
        self.max_line = max_line
        self.max_values = max_values
        self.lines: deque[bytes | dict] = deque()
        self.partial: list[bytes] = []
        self.partial_size = 0
        self.dropping = False
        self.starts: dict[bytes, str] = {}   # a batch's case start lines, byte for byte -> uid (`expect_starts`)
        self.starts_job: int | None = None

    def expect_starts(self, job: int, uids: Iterable[str]) -> None:
        """Recognise the start lines of these cases by their exact bytes (`jobwire.case_start_line`),
        without parsing them: half of a job's events are such lines (~270 a submission), and each
        cost a JSON parse. A line equal to one of them parses to exactly the event returned, so a
        forged copy is what it was before: the same event. `expect_starts(job, ())` forgets them."""
        self.starts = {jobwire.case_start_line(job, uid)[:-1]: uid for uid in uids}
        self.starts_job = job

    def feed(self, chunk: bytes) -> None:
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:
            if self.dropping or self.partial_size + len(piece) > self.max_line:
                self.lines.append({"ev": OVERSIZE, "bytes": self.partial_size + len(piece)})
            else:
                self.partial.append(piece)
                self.lines.append(b"".join(self.partial))
            self.partial, self.partial_size, self.dropping = [], 0, False
        last = pieces[-1]
        if last:
            self.partial_size += len(last)
            if self.dropping or self.partial_size > self.max_line:
                self.partial, self.dropping = [], True     # only its length is kept
            else:
                self.partial.append(last)

    def pop(self, job: int | None = None) -> dict | None:
        """The next event; with `job`, lines that cannot be that job's event are skipped unparsed.

        Both the worker's own lines and the child's are written by `jobwire`, so an event of job 7
        contains one of `jobwire.job_needles(7)`; a flood of forged lines for other jobs then costs
        a substring search each, not a JSON parse. Over-long line markers carry no job (the line
        was never read): the caller decides what they mean.
        """
        needles = jobwire.job_needles(job) if job is not None else ()
        while self.lines:
            line = self.lines.popleft()
            if isinstance(line, dict):
                return line
            uid = self.starts.get(line)
            if uid is not None and (job is None or job == self.starts_job):
                return {"ev": Ev.CASE.value, "job": self.starts_job, "uid": uid, "phase": jobwire.START}
            if needles and needles[0] not in line and needles[1] not in line:
                continue
            if not line.strip():
                continue
            if len(line) > BIG_LINE and line.count(b",") + line.count(b"[") + line.count(b"{") > self.max_values:
                continue  # not an event of ours: ours are a few strings and a handful of numbers
            event = jobwire.parse_event(line)
            if event is not None:      # else garbage written by student code: not an event
                return event
        return None


class Worker:
    """One warm, sandboxed worker process that runs submissions one after another."""

    def __init__(self, slot: int = 0, level: str | None = None, limits: Limits = Limits(),
                 private: tuple[str, ...] = (), fonts: str | None = None):
        self.slot = slot
        self.level = level
        self.limits = limits
        self.private = private      # the assignment's packages the sandbox hides (sandbox.launch)
        self.fonts = fonts          # matplotlib's font list made by the grader (sandbox.font_list)
        self.proc: subprocess.Popen | None = None
        self.launch: sandbox.Launch | None = None
        self._events: EventReader | None = None
        self._selector: selectors.BaseSelector | None = None
        self._stderr: Any = None
        self._jobs = 0
        self._ready = False
        self._landlock = 0
        self.clock: Callable[[], float] = time.monotonic    # the clock of every deadline given to `event`
        self._closing = threading.RLock()
        self._retired = False

    # -- life cycle
    def start(self) -> None:
        """Start the zygote and wait until it is warm."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the zygote without waiting: it warms up (~0.2 s) while the caller does other work.

        Under the closing lock, so that `retire` in another thread either comes first (and this
        refuses) or after (and closes what this started).
        """
        with self._closing:
            self._spawn()

    def _spawn(self) -> None:
        self.close()
        if self._retired:
            raise RuntimeError("the worker was retired: its session is closed")
        self.launch = sandbox.launch(self.slot, self.level, self.limits.tmpfs_mb, self.limits.tmpfs_inodes,
                                     self.private, self.fonts)
        if self.launch.lease is not None:
            # The uids are ours alone now; anything still running under them, or a scratch
            # directory of theirs, was left by a grader that was killed (without namespaces
            # nothing else stops it): it goes first.
            _kill_uid(self.launch.lease.uid)
            _kill_uid(self.launch.lease.zygote_uid)
            _remove_stale_scratch(self.launch.lease.uid, self.launch.scratch)
        self._stderr = tempfile.TemporaryFile()
        env = self.launch.env or None
        if self.launch.level == sandbox.BWRAP:
            env = {}  # bwrap --clearenv sets the sandbox's environment itself
        try:
            self.proc = subprocess.Popen(
                self.launch.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                env=env, start_new_session=True, close_fds=True, bufsize=0)
        except OSError:
            self.close()
            raise
        self._events = EventReader(self.proc.stdout.fileno(), self.limits.event_line_bytes,
                                   MAX_VALUES + self.limits.output_bytes)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        self._ready = False

    def wait_ready(self) -> None:
        if self._ready:
            return
        try:
            ready = self._next_event(self.clock() + 60)
        except WorkerDied:
            ready = None
        launch = self.launch
        started = ready is not None and ready.get("ev") == Ev.READY
        bwrap = launch is not None and launch.level == sandbox.BWRAP
        if bwrap:
            sandbox.VERDICTS.record(launch.bwrap, launch.tmpfs_mb,
                                    "" if started else _bwrap_failure(self._stderr_tail(), ready))
        if not started:
            detail = self._stderr_tail()
            self.close()
            if bwrap and sandbox.VERDICTS.known(launch.bwrap, launch.tmpfs_mb):
                # No bwrap worker ever came up here: the strongest level left, or a refusal.
                if self.level == sandbox.BWRAP:
                    raise sandbox.SandboxUnavailable("the bwrap sandbox is required but unavailable: "
                                                     + sandbox.bwrap_why_not(launch.tmpfs_mb))
                self.start()
                return
            raise RuntimeError(f"the sandboxed worker did not start: {detail or ready}")
        self._landlock = _int(ready.get("landlock")) or 0
        if ready.get("seccomp") is not True and launch is not None:
            why = str(ready.get("no_seccomp") or "unknown reason")[:300]
            note = (f"the kernel filter (seccomp) could not be installed ({why}): kernel keyrings, shared "
                    "memory, message queues and the other kernel channels stay open to student code")
            if note not in launch.notes:
                launch.notes.append(note)
        self._ready = True

    @property
    def alive(self) -> bool:
        proc = self.proc
        return proc is not None and proc.poll() is None

    @property
    def isolation(self) -> str:
        """The level actually in force, e.g. "bwrap", "rlimits+landlock" or "rlimits"."""
        if self.launch is None:
            return ""
        return self.launch.level + ("+landlock" if self._landlock else "")

    @property
    def student_uid(self) -> int | None:
        return self.launch.uid if self.launch else None

    def retire(self) -> None:
        """Close for good: a run still going in another thread cannot start the zygote again."""
        with self._closing:
            self._retired = True
        self.close()

    def close(self) -> None:
        """Stop the zygote and everything it started; release its uids and scratch directory.

        Safe to call twice, and from two threads at once (a batch may close its session while a
        grading thread is closing a worker whose job went wrong).
        """
        with self._closing:
            proc, launch, selector, stderr = self.proc, self.launch, self._selector, self._stderr
            self.proc, self._selector, self._stderr, self._events, self.launch = None, None, None, None, None
            self._ready = False
            if proc is not None:
                try:
                    proc.stdin.write(jobwire.QUIT.encode() + b"\n")
                    proc.stdin.flush()
                except (OSError, ValueError):
                    pass
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
                _kill_all(proc, launch)
                for stream in (proc.stdin, proc.stdout):
                    try:
                        stream.close()
                    except OSError:
                        pass
            if selector is not None:
                selector.close()
            if stderr is not None:
                stderr.close()
            if launch is not None:
                if launch.scratch:
                    _remove_tree(launch.scratch)
                launch.release()

    def _stderr_tail(self) -> str:
        stderr = self._stderr
        if stderr is None:
            return ""
        try:
            stderr.seek(0)
            return stderr.read()[-2000:].decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    # -- talking
    def send_text(self, line: str) -> None:
        """Send one message, as `jobwire` built it (one line of JSON text)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            raise WorkerDied("the worker is not running")
        try:
            proc.stdin.write((line + "\n").encode())
            proc.stdin.flush()
        except (OSError, ValueError) as exc:
            raise WorkerDied(str(exc)) from exc

    def _next_event(self, deadline: float, job: int | None = None) -> dict | None:
        """The next well-formed event (of `job`, if given), or None at the deadline. Raises WorkerDied on EOF."""
        events, selector = self._events, self._selector
        if events is None or selector is None:
            raise WorkerDied("the worker is not running")
        while True:
            event = events.pop(job)
            if event is not None:
                return event
            remaining = deadline - self.clock()
            if remaining <= 0:
                return None
            try:
                if not selector.select(timeout=remaining):
                    return None
                chunk = os.read(events.fd, 1 << 20)
            except (OSError, ValueError) as exc:
                raise WorkerDied(f"the worker's pipe is gone ({exc})") from None
            if not chunk:
                tail = self._stderr_tail()
                raise WorkerDied("the worker ended" + (f": {tail[-300:]}" if tail else ""))
            events.feed(chunk)

    def expect_starts(self, job: int, uids: Iterable[str]) -> None:
        """See `EventReader.expect_starts`: the start lines of the cases about to be called."""
        if self._events is not None:
            self._events.expect_starts(job, uids)

    def event(self, job: int, deadline: float) -> dict | None:
        """The next event of this job (others are stale or forged, and skipped), or None at the deadline.

        An over-long line's marker is passed on too: it was never read, so its job is unknown."""
        while True:
            if self.clock() >= deadline:
                return None
            event = self._next_event(deadline, job)
            if event is None:
                return None
            if event.get("job") == job and type(event.get("job")) is int or event.get("ev") is OVERSIZE:
                return event

    def end_job(self, job: int) -> str:
        """Kill the job and everything it started; return once the zygote vouches for it.

        Only a "clean" event carrying the token chosen here counts: the student process cannot
        know the token, so it cannot end its own job early and keep running into the next one.
        If the zygote does not answer in time, it is replaced (which kills everything too).
        Returns how the job's process ended, as far as the zygote said.
        """
        status = ""
        token = secrets.token_hex(16)
        try:
            self.send_text(jobwire.kill_message(job, token))
            deadline = self.clock() + KILL_GRACE
            while True:
                event = self.event(job, deadline)
                if event is None:
                    raise WorkerDied("the worker did not clean up in time")
                if event.get("ev") == Ev.EXIT and not status:
                    status = _text(event.get("status"), 200)
                if event.get("ev") == Ev.CLEAN and event.get("token") == token:
                    return status
        except WorkerDied:
            self.close()
            return status

    def next_job(self) -> int:
        self._jobs += 1
        return self._jobs


def _bwrap_failure(stderr_tail: str, event: dict | None) -> str:
    """Why the first bwrap worker did not come up, in the words the fallback note uses."""
    detail = stderr_tail.strip()[-300:] if stderr_tail.strip() else f"it said {str(event)[:200]}" if event else "no answer"
    return f"bubblewrap could not start the worker: {detail}"


def _kill_all(proc: subprocess.Popen, launch: sandbox.Launch | None) -> None:
    """Kill the worker's process group and, where no namespace does it for us, its student uid."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    # With bwrap the PID namespace dies with its init; without it, student processes that
    # detached are found by their uid, which is this worker's alone.
    if launch is not None and launch.uid is not None and launch.level == sandbox.RLIMITS:
        _kill_uid(launch.uid)


def _kill_uid(uid: int) -> None:
    """Kill every process of a uid that belongs to one worker (rlimits level, as root)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(1000):
                os.kill(-1, signal.SIGKILL)    # ESRCH ends the loop: nothing of this uid is left
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _remove_stale_scratch(uid: int, current: str | None) -> None:
    """Remove rlimits scratch directories of `uid` that a killed grader left behind."""
    pattern = os.path.join(tempfile.gettempdir(), sandbox.SCRATCH_PREFIX + "*")
    for holder in glob.glob(pattern):
        if holder == current:
            continue
        try:
            if os.lstat(os.path.join(holder, "work")).st_uid == uid:
                _remove_tree(holder)
        except OSError:
            continue


def _remove_tree(path: str) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except (OSError, RecursionError):
        # Something the student left is too deep or too locked for rmtree: rm -rf copes.
        subprocess.run(["rm", "-rf", "--one-file-system", "--", path], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ------------------------------------------------------------------------------------------------
# One submission




def run_program(worker: Worker, program: Program, calls: list[CallSpec], sink: Sink | None = None,
                imports: list[str] | None = None) -> RunReport:
    """Execute `program` and call it on every case, surviving whatever it does.

    Each case's answer is handed to `sink` once, as soon as it is settled (judge it and drop it:
    a submission may return up to `Limits.answers_mb` in all). Without a sink the answers are
    kept in the report's `answers`. `imports`, when given, are the only top-level modules (besides
    the standard library and the submission's own files) that student code may import: the
    self-check runs with the graded environment's list, so that an import that works only on the
    student's machine fails there too.
    """
    return _Run(worker, program, calls, sink, imports).run()


class Phase(enum.Enum):
    """Where a run is with respect to the hidden inputs: the one fact that decides what is shown.

    Student code can keep whatever it sees (in memory, or in a stash that outlives its job), so
    what it reports after a hidden input has reached it can carry that input. Hence:

    BEFORE_HIDDEN  no hidden input has been sent to any job of this run: cell results, printed
                   output, shell escapes and public answers (with their messages) are recorded.
    HIDDEN_SENT    the hidden batch has been written to the worker. From now on, in this job and in
                   every re-run, the only thing taken from the student process is, per hidden
                   case, its answer (a value or the kind of failure): no cell result, no output,
                   no message, no claimed duration. There is no way back to BEFORE_HIDDEN.
    """

    BEFORE_HIDDEN = "before hidden inputs"
    HIDDEN_SENT = "hidden inputs sent"


# The batches of a job, in order. Every scored case is answered before any follow-up is asked for,
# so that the sink has judged the cases the follow-ups would serve (`_Run._wanted`).
FOLLOW_UPS = "follow-ups"
BATCHES: tuple[tuple[str, Callable[[CallSpec], bool]], ...] = (
    ("public", lambda call: not call.hidden and not call.parent),
    ("hidden", lambda call: call.hidden and not call.parent),
    (FOLLOW_UPS, lambda call: bool(call.parent)),
)


class Step(enum.Enum):
    """How one stage of a job (executing the program, answering a batch, the whole job) ends."""

    NEXT = "go on to the next stage of this job"
    RESUME = "end this job: what is still pending resumes in a fresh one"
    FINISHED = "nothing is pending: the run is over"


class _Run:
    """The state of one submission's run: what is answered, which cells to skip, where we are.

    Everything it knows of time comes from `clock` (by default the worker's, which its deadlines
    are measured against), so that its logic runs on scripted event streams and a scripted clock
    (tests/test_runner_invariant.py) exactly as on a real sandbox.
    """

    def __init__(self, worker: Worker, program: Program, calls: list[CallSpec], sink: Sink | None = None,
                 imports: list[str] | None = None, clock: Callable[[], float] | None = None):
        self.worker = worker
        self.clock: Callable[[], float] = clock or getattr(worker, "clock", time.monotonic)
        self.imports = imports
        self.limits = worker.limits
        self.program = program
        self.units = {u.index for u in program.units}
        self.started = self.clock()
        self.budget_end = self.started + self.limits.submission_seconds
        self.report = RunReport()
        self.sink: Sink = sink if sink is not None else self._keep
        self.phase = Phase.BEFORE_HIDDEN
        # uid -> call, not yet answered, public first (see the module docstring)
        self.pending = {c.uid: c for c in sorted(calls, key=lambda c: c.hidden)}
        self.open: set[str] = set()      # the pending cases of the batch being answered
        self.by_uid = {c.uid: c for c in calls}
        self.settled: set[str] = set()
        self.answer_bytes = 0            # what the answers read and decoded so far add up to
        self.skip: set[int] = set()
        self.timeouts: dict[str, int] = {}
        self.loaded_once = False
        self.current_cell: int | None = None
        self.current_case: str | None = None
        self.fruitless = 0

    def _keep(self, answer: RawAnswer) -> None:
        self.report.answers[answer.uid] = answer

    # -- the loop over jobs
    def run(self) -> RunReport:
        while self.fruitless < MAX_FRUITLESS:
            if self.clock() >= self.budget_end:
                break
            try:
                if not self.worker.alive:
                    self.worker.start()
            except (RuntimeError, OSError) as exc:
                self.report.notes.append(f"the sandbox could not be restarted: {exc}")
                break
            self._note_isolation()
            before = (len(self.settled), len(self.skip), self.loaded_once)
            job = self.worker.next_job()
            try:
                step = self._job(job)
            except WorkerDied as exc:
                self.worker.close()
                self._charge_current(f"the sandbox stopped ({exc})")
                step = Step.RESUME
            self.current_cell = self.current_case = None
            if step is Step.FINISHED:
                break
            self.report.restarts += 1
            progressed = (len(self.settled), len(self.skip), self.loaded_once) != before
            self.fruitless = 0 if progressed else self.fruitless + 1
        self._settle_rest()
        self.report.seconds = self.clock() - self.started
        return self.report

    def _note_isolation(self) -> None:
        self.report.isolation = self.worker.isolation
        for note in (self.worker.launch.notes if self.worker.launch else []):
            if note not in self.report.notes:
                self.report.notes.append(note)

    def _job(self, job: int) -> Step:
        """One attempt: execute the program, then call the pending cases (FINISHED or RESUME)."""
        self.worker.send_text(jobwire.run_message(job, self.program.to_worker(), sorted(self.skip), self.imports,
                                                  self.limits.for_worker(self.worker.student_uid is not None)))
        try:
            if self._load(job) is Step.RESUME:
                return Step.RESUME
            for name, belongs in BATCHES:
                batch = [c for c in self.pending.values() if belongs(c)]
                if name == FOLLOW_UPS:
                    batch = self._wanted(batch)
                if batch and self._call(job, batch, name) is Step.RESUME:
                    return Step.RESUME
            return Step.RESUME if self.pending else Step.FINISHED
        finally:
            self.worker.expect_starts(job, ())
            if self.worker.alive:
                self.worker.end_job(job)

    def _wanted(self, follow_ups: list[CallSpec]) -> list[CallSpec]:
        """The follow-up calls the sink still wants, now that every scored case is settled; the
        others are dropped unasked (no answer is settled for them: nothing was called)."""
        kept = []
        for call in follow_ups:
            if wanted(self.sink, call):
                kept.append(call)
            else:
                self.pending.pop(call.uid, None)
        return kept

    def _charge_current(self, why: str) -> None:
        """The worker died under us: the cell or case that was running is what killed it."""
        if self.current_cell is not None:
            self._skip_cell(self.current_cell, RunStatus.CRASHED, f"{why} in this cell; the cell was skipped")
        elif self.current_case is not None and self.current_case in self.by_uid:
            self._settle(RawAnswer(self.current_case, RunStatus.CRASHED, message=f"{why} during this call"))

    def _settle_rest(self) -> None:
        if self.fruitless >= MAX_FRUITLESS:
            message = "not run: the submission's process kept dying before it could be called"
            status = RunStatus.CRASHED
        else:
            message = f"not run: the submission used up its time budget of {self.limits.submission_seconds:g} s"
            status = RunStatus.NOT_RUN
        for call in list(self.pending.values()):
            self._settle(RawAnswer(call.uid, status, message=message))

    # -- what may be shown (see Phase)
    def _show_cell(self, run: CellRun, replace: bool = False) -> None:
        """Record a cell's result, only while no hidden input has been sent; the first record
        stands, unless the runner itself replaces it (the cell crashed or hung and is skipped)."""
        if self.phase is not Phase.BEFORE_HIDDEN or run.index not in self.units:
            return
        if replace or run.index not in self.report.cells:
            self.report.cells[run.index] = run

    def _show_loaded(self, event: dict) -> None:
        """Printed output and shell escapes: from the first `loaded`, and only before hidden inputs."""
        if self.phase is Phase.BEFORE_HIDDEN and not self.loaded_once:
            self.report.output = _text(event.get("output"), self.limits.output_bytes)
            escapes = event.get("shell")
            self.report.shell_escapes = [_text(e, 200) for e in escapes[:20]] if isinstance(escapes, list) else []

    def _send_hidden(self) -> None:
        """The point of no return: after this, hidden inputs are in the sandbox for good."""
        if any(not c.hidden for c in self.pending.values()):
            raise AssertionError("a public case is still pending when hidden inputs are to be sent")
        self.phase = Phase.HIDDEN_SENT

    # -- executing the program
    def _load(self, job: int) -> Step:
        """Run the program's cells: NEXT when loaded; RESUME when a cell hung or crashed (it is skipped)."""
        limits = self.limits
        deadline = self._deadline(limits.cell_seconds)
        last_started = -1                # cells run in order: a start for one not after it is forged
        while True:
            event = self.worker.event(job, deadline)
            if event is None:
                if self.current_cell is not None:
                    self._skip_cell(self.current_cell, RunStatus.TIMEOUT, f"the cell ran longer than {limits.cell_seconds:g} s "
                                                                  "and was stopped; it was skipped")
                return Step.RESUME
            kind = event.get("ev")
            if kind == Ev.CELL and event.get("phase") == jobwire.START:
                index = _int(event.get("index"))
                # Each cell's start opens one stretch of cell_seconds, once per job: a cell that
                # writes "started" again (for itself or an earlier cell) on the event pipe gets
                # no more; one that claims later cells' starts borrows their stretches, which
                # those cells then lack, so a job's cells never have more time than honest ones.
                if index in self.units and index not in self.skip and index > last_started:
                    last_started = index
                    self.current_cell = index
                    deadline = self._deadline(limits.cell_seconds)
            elif kind == Ev.CELL:
                self._cell_event(event)
                self.current_cell = None
            elif kind == Ev.LOADED:
                self._show_loaded(event)
                self.loaded_once = True
                self.current_cell = None
                return Step.NEXT
            elif kind in (Ev.EXIT, Ev.INTERNAL):
                if self.current_cell is not None:
                    why = _text(event.get("status"), 200) or "the process failed"
                    self._skip_cell(self.current_cell, RunStatus.CRASHED, f"the process died in this cell ({why}); "
                                                                  "the cell was skipped")
                return Step.RESUME

    def _cell_event(self, event: dict) -> None:
        index = _int(event.get("index"))
        if index is not None:
            status = RunStatus(event["status"]) if event.get("status") in CELL_STATUSES else RunStatus.ERROR
            room = (max(0, min(self.limits.figures, MAX_FIGURES))
                    - sum(len(c.figures) for i, c in self.report.cells.items() if i != index))
            self._show_cell(_cell_run(index, status, event, room))

    def _skip_cell(self, index: int, status: str, message: str) -> None:
        self.skip.add(index)
        self._show_cell(CellRun(index, status, message), replace=True)
        self.current_cell = None

    # -- calling the cases
    def _call(self, job: int, batch: list[CallSpec], name: str) -> Step:
        """Call one batch of cases in order: NEXT when all are answered; RESUME to go on in a new job."""
        limits = self.limits
        waiting = {c.uid for c in batch}
        self.open = set(waiting)
        message = jobwire.cases_message(job, name, limits.case_seconds, [c.wire for c in batch])
        if any(c.hidden for c in batch):
            self._send_hidden()
        self.worker.expect_starts(job, waiting)
        self.worker.send_text(message)
        started: dict[str, float] = {}
        deadline = self._deadline(limits.case_seconds)
        while True:
            event = self.worker.event(job, deadline)
            if event is None:
                if self.current_case is not None:
                    call = self.by_uid[self.current_case]
                    self._settle(RawAnswer(call.uid, RunStatus.TIMEOUT,
                                           message=f"took longer than {limits.case_seconds:g} s and was stopped"))
                    self._count_timeout(call)
                return Step.RESUME
            kind = event.get("ev")
            uid = event.get("uid") if isinstance(event.get("uid"), str) else None   # forged: any JSON
            if kind == Ev.CASE and event.get("phase") == jobwire.START:
                # One stretch of case_seconds per case: a start written again is forged.
                if uid in waiting and uid not in started and self._is_pending(uid):
                    self._lost(self.current_case, started)
                    self.current_case = uid
                    started[uid] = self.clock()
                    deadline = self._deadline(limits.case_seconds)
            elif kind == Ev.CASE or kind is OVERSIZE:
                if kind is OVERSIZE:
                    answer = self._oversize(event)
                elif uid in waiting and self._is_pending(uid):
                    answer = self._answer(self.by_uid[uid], event)
                else:
                    continue
                if answer is not None:
                    self._settle(answer)
                    self.current_case = None
                if self.answer_bytes > limits.answers_bytes:
                    self._cut_all()
                if (answer is not None and answer.status == RunStatus.TIMEOUT
                        and waiting & set(self._count_timeout(self.by_uid[answer.uid]))):
                    # The child would still call the cases just given up on, one time-out each:
                    # end this job and resume the rest in a fresh one instead.
                    return Step.RESUME
                if not self.open:
                    return Step.NEXT
            elif kind == Ev.CELL and event.get("phase") != jobwire.START:
                # A cell still running after a forged "loaded" (the program found the event pipe):
                # recorded while no hidden input has been sent, ignored afterwards (see Phase).
                self._cell_event(event)
            elif kind == Ev.DONE and event.get("batch") == name:
                # Cases that were started and never answered fail; a forged "done" cannot make
                # the cases not yet called disappear.
                for started_uid in list(started):
                    self._lost(started_uid, started)
                if not self.open:
                    return Step.NEXT
            elif kind in (Ev.EXIT, Ev.INTERNAL):
                if self.current_case is not None:
                    why = _text(event.get("status"), 200) or "the process failed"
                    self._settle(RawAnswer(self.current_case, RunStatus.CRASHED,
                                           message=f"the process died during this call ({why})"))
                return Step.RESUME

    def _answer(self, call: CallSpec, event: dict) -> RawAnswer:
        """A case's answer event, within the size limits: the size is read off the shapes the
        event declares, so an answer too large is refused before anything is decoded."""
        if event.get("status") == RunStatus.OK:
            size = answer_size(call.kind, call.keys, event.get("value"))
            if size > self.limits.answer_bytes:
                return RawAnswer(call.uid, RunStatus.UNCONVERTIBLE, message=too_large(size, self.limits.answer_bytes))
            self.answer_bytes += size
            if self.answer_bytes > self.limits.answers_bytes:
                return RawAnswer(call.uid, RunStatus.UNCONVERTIBLE, message=self._total_message())
        return _raw_answer(call, event)

    def _oversize(self, event: dict) -> RawAnswer | None:
        """A line too long to be read: the case being called (if any) returned too much. It
        does not count towards the submission's total: it was never held, only counted past."""
        dropped = _int(event.get("bytes")) or 0
        if self.current_case is None or not self._is_pending(self.current_case):
            return None
        return RawAnswer(self.current_case, RunStatus.UNCONVERTIBLE,
                         message=too_large(dropped * 3 // 4, self.limits.answer_bytes))

    def _total_message(self) -> str:
        return (f"not run: this submission's answers add up to more than {megabytes(self.limits.answers_bytes)} MB, "
                "the limit for one submission")

    def _cut_all(self) -> None:
        """The submission's answers reached their total limit: nothing more is read from it."""
        for call in list(self.pending.values()):
            self._settle(RawAnswer(call.uid, RunStatus.NOT_RUN, message=self._total_message()))

    def _lost(self, uid: str | None, started: dict[str, float]) -> None:
        """A started case whose answer never came (the process garbled its own pipe): it fails,
        and counts as a time-out if it took that long, so repeated hangs still stop the question."""
        if uid is None or not self._is_pending(uid):
            return
        now = self.clock()
        if now - started.get(uid, now) >= self.limits.case_seconds:
            self._settle(RawAnswer(uid, RunStatus.TIMEOUT, message=f"took longer than {self.limits.case_seconds:g} s"))
            self._count_timeout(self.by_uid[uid])
        else:
            self._settle(RawAnswer(uid, RunStatus.ERROR, message="no answer was returned"))

    def _deadline(self, seconds: float) -> float:
        return min(self.budget_end, self.clock() + seconds + grace(seconds))

    def _is_pending(self, uid: str) -> bool:
        return uid in self.pending

    def _settle(self, answer: RawAnswer) -> None:
        """The one way an answer leaves the run. A hidden case's answer keeps its status and value
        only: its message and duration came from (or depend on) code that saw hidden inputs."""
        if self.by_uid[answer.uid].hidden:
            answer = RawAnswer(answer.uid, answer.status, answer.value, key=answer.key)
        self.settled.add(answer.uid)
        self.pending.pop(answer.uid, None)
        self.open.discard(answer.uid)
        if self.current_case == answer.uid:
            self.current_case = None
        self.sink(answer)

    def _count_timeout(self, call: CallSpec) -> list[str]:
        """After repeated time-outs in one question, do not spend the budget on its other cases.

        Returns the uids of the cases given up on."""
        qid = call.question_id
        self.timeouts[qid] = self.timeouts.get(qid, 0) + 1
        if self.timeouts[qid] < self.limits.timeouts_per_question:
            return []
        cut = [c for c in self.pending.values() if c.question_id == qid]
        for other in cut:
            self._settle(RawAnswer(other.uid, RunStatus.NOT_RUN,
                                   message=f"not run: {self.timeouts[qid]} earlier cases of this question timed out"))
        return [c.uid for c in cut]


def answer_size(kind: str, keys: Iterable[str], data: Any) -> int:
    """The bytes an answer's arrays declare (8 per number), read off their shapes, nothing decoded.

    Anything malformed counts as 0 here and is refused by `decode_value`."""
    found = kinds_table().get(kind) if isinstance(kind, str) else None
    return found.declared_bytes(keys, data) if found is not None else 0


def _cell_run(index: int, status: str, event: dict, room: int) -> CellRun:
    """A cell's record from the child's event, every field checked: figures must be PNGs of
    bounded size, at most `room` of them (what the submission has left), the missing module a
    plain module name."""
    missing = _text(event.get("missing_module"), 100)
    figures = event.get("figures") if isinstance(event.get("figures"), list) else []
    kept = list(itertools.islice((f for f in figures[:4 * MAX_FIGURES] if _is_png(f)), max(room, 0)))
    dropped = _int(event.get("figures_dropped")) or 0
    dropped = min(max(dropped, 0), 10**6) + min(len(figures), 10**6) - len(kept)
    return CellRun(index, status, _text(event.get("error")), missing if missing.isidentifier() else "", kept, dropped,
                   _line_number(event.get("ipython_line")))


def _is_png(data: Any) -> bool:
    """A plot as the sandbox draws it: a base64 PNG of bounded bytes, and of bounded pixels (the
    event is the job's to forge: `images`)."""
    if not isinstance(data, str) or len(data) > 4 * MAX_FIGURE_BYTES // 3 + 4:
        return False
    try:
        png = base64.b64decode(data, validate=True)
    except ValueError:
        return False
    return png.startswith(images.PNG_SIGNATURE) and images.drawable(png, MAX_FIGURE_PIXELS)
