"""The self-check's child process: runs a student's own code on their own machine, on any OS.

Started by `grader.portable` as a plain script (`python portable_child.py`), never with `fork`,
so it behaves the same on Linux, macOS, Windows, Colab and JupyterHub. It imports nothing from the
grader package and nothing platform-specific (no fcntl, resource, prctl, signals that Windows
lacks): the self-check needs no sandbox, since the code is the student's own, on the student's
machine, on public cases only. Grading stays with the sandboxed `grader.worker`.

It speaks the sandboxed worker's event protocol, built by the same module (`jobwire.py`, loaded
from beside this file), so that the parent turns its events into the same `RawAnswer`s, with the
same statuses and messages, and returned objects become answers by the same code:
  parent -> child (stdin):  {"program", "skip", "limits"}, then {"batch", "cases", "case_seconds"} lines
  child -> parent:          {"ev": "cell", ...} {"ev": "loaded", ...} {"ev": "case", ...} {"ev": "done", "batch"}

Time limits: a watchdog thread interrupts the main thread (`_thread.interrupt_main`, which exists
on every platform) when a cell or a call runs over, and the call reports "timeout"; code stuck in C
does not see the interruption, and then the parent kills the process (the same two layers as the
sandboxed worker's alarm and its grader's kill).

`encode_answer` and `describe` are also used in the Jupyter kernel (`grader.jupyter`), where the
live functions are called: one conversion of returned objects for every self-check path.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
import _thread


def _load_beside(stem: str):
    """A module beside this file (`jobwire`, then `studentshell`, which uses it), loaded by path as
    the sandboxed worker loads them: nothing else of the grader becomes importable from the
    student's code."""
    import importlib.util

    name = f"_grader_{stem}"
    if name not in sys.modules:
        path = os.path.join(os.path.dirname(os.path.realpath(__file__)), f"{stem}.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


if __package__:
    from . import jobwire, studentshell     # imported as grader.portable_child (the Jupyter kernel)
else:
    jobwire = _load_beside("jobwire")       # the self-check's child process
    studentshell = _load_beside("studentshell")
Ev, RunStatus = jobwire.Ev, jobwire.RunStatus

MAX_ELEMENTS = jobwire.MAX_ELEMENTS
MAX_TEXT = jobwire.MAX_TEXT


_short = jobwire.short      # one way to cut a message, on both sides of the sandbox


# ----------------------------------------------------------------------------------------------
# Values in and out (the same encoding, and the same messages, as grader/worker.py)


Unconvertible = jobwire.Unconvertible
encode_array = jobwire.encode_array


def encode_answer(kind: str, keys: list, obj, limit: int = jobwire.ANSWER_BYTES):
    """Turn what the student returned into plain data of the question's kind (jobwire.ENCODERS)."""
    return jobwire.encode_answer(kind, keys, obj, limit)


def describe(exc: BaseException) -> str:
    """`Type: message` (jobwire.describe), bounded."""
    return _short(jobwire.describe(exc))


def explain(exc: BaseException, sources: dict[str, str] | None = None) -> str:
    """`exc` at the innermost frame of the student's own code, worded as the sandboxed worker words
    it (`worker.StudentCode.explain`), so that the self-check says what the graded run says:
    "line 7 in `some_function` (cell 4): ValueError: ..." and the line's text below.

    `sources` maps the student's filenames ("<cell N>", the module's name) to their code; a
    Jupyter kernel's cells (no sources given) are found by their names and read by linecache.
    """
    sources = sources or {}
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        name = code.co_filename
        if name in sources or name.startswith(("<cell ", "<ipython-input-")) or _is_kernel_cell(name):
            frames.append((name, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    summary = describe(exc)
    if isinstance(exc, SyntaxError):
        if isinstance(exc.filename, str) and exc.filename in sources:
            frames.append((exc.filename, exc.lineno if type(exc.lineno) is int else None, "<module>"))
        if isinstance(exc.msg, str):
            summary = _short(f"{type(exc).__name__}: {exc.msg}")
    if not frames:
        return summary
    name, line, function = frames[-1]
    label = name[1:-1] if name.startswith("<cell ") else ""
    if name in sources:
        lines = sources[name].splitlines()
        text = lines[line - 1] if line and 0 < line <= len(lines) else ""
    else:
        import linecache
        text = linecache.getline(name, line) if line and not name.startswith("<") else ""
    return jobwire.error_message(jobwire.place(line, function, label), summary, _short(text.strip(), 200))


def _is_kernel_cell(filename: str) -> bool:
    """ipykernel (6+) compiles each cell as a file `.../ipykernel_<pid>/<hash>.py`."""
    parent = os.path.basename(os.path.dirname(filename))
    return parent.startswith("ipykernel_") and filename.endswith(".py")


def call_one(case: dict, namespace: dict, sources: dict[str, str] | None = None,
             answer_bytes: int = jobwire.ANSWER_BYTES) -> dict:
    """Call (or read) one case's name in `namespace`: the event fields of its answer.

    The caller bounds the time (a watchdog here, a thread in a Jupyter kernel); `Timeout` and
    everything else the code raises become the answer's status, as in the sandboxed worker.
    """
    if case["name"] not in namespace:
        return {"status": RunStatus.MISSING, "error": f"`{case['name']}` is not defined"}
    try:
        target = namespace[case["name"]]
        if case["call"]:
            if not callable(target):
                raise Unconvertible(f"`{case['name']}` is not a function")
            args, before = jobwire.call_arguments(case["args"])
            returned = target(*args)
        else:
            returned = jobwire.read_value(case["name"], target)
        event = {"status": RunStatus.OK, "value": encode_answer(case["kind"], case.get("keys", []), returned, answer_bytes)}
        if case["call"]:
            changed = jobwire.changed_arguments(target, args, before)
            if changed:
                event["changed"] = changed
        return event
    except Timeout:
        raise
    except Unconvertible as exc:
        return {"status": RunStatus.UNCONVERTIBLE, "error": _short(str(exc))}
    except RecursionError:
        return {"status": RunStatus.ERROR, "error": "RecursionError: maximum recursion depth exceeded"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
        hint = jobwire.call_hint(namespace.get(case["name"]), exc)
        return {"status": RunStatus.ERROR, "error": explain(exc, sources) + (f"\n{hint}" if hint else "")}


# ----------------------------------------------------------------------------------------------
# Time limits without signals that Windows lacks


Timeout = studentshell.Timeout


class Watchdog:
    """Interrupts the main thread when a limit runs out; portable (`_thread.interrupt_main`).

    The interruption arrives as a SIGINT handled in Python, which raises `Timeout` only while a
    limit is armed and has run out; a real Ctrl-C stays a KeyboardInterrupt.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.armed = False
        self.expired = False
        signal.signal(signal.SIGINT, self._handler)

    def _handler(self, signum, frame):
        if self.expired:
            if self.armed:
                self.expired = False
                raise Timeout()
            return              # the limit was lifted as it ran out: too late to matter
        raise KeyboardInterrupt()

    def _fire(self) -> None:
        with self._lock:
            if not self.armed:
                return
            self.expired = True
        _thread.interrupt_main(signal.SIGINT)

    def arm(self, seconds: float) -> None:
        self.disarm()
        with self._lock:
            self.armed, self.expired = True, False
            self._timer = threading.Timer(seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        with self._lock:
            self.armed = False
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


# ----------------------------------------------------------------------------------------------
# Executing the program


class Channel:
    """Event lines to the parent, on a duplicate of the original stdout (the student's prints go elsewhere)."""

    def __init__(self, fd: int):
        self.stream = os.fdopen(fd, "w", encoding="utf-8", newline="\n", buffering=1)

    def emit(self, ev: "jobwire.Ev", **fields) -> None:
        """One event of the protocol; the self-check has no job numbers."""
        self.stream.write(jobwire.event_line(jobwire.event(ev, None, **fields)).decode())
        self.stream.flush()


def main() -> int:
    channel = Channel(os.dup(1))
    # The protocol's messages come on a private copy of stdin; the student's stdin is empty, as in
    # the sandbox: `input()` or `sys.stdin.read()` in a cell must not wait for (or eat) a case batch.
    messages = os.fdopen(os.dup(0), "r", encoding="utf-8", newline="\n")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    import builtins
    builtins.input = studentshell.no_input
    job = jobwire.parse_message(messages.readline())
    program, limits = job["program"], job.get("limits", {})
    # The working folder (empty, as the sandbox's scratch) comes first on the path, this grader's
    # own folder not at all.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.getcwd())
    import tempfile

    out = tempfile.TemporaryFile()
    sys.stdout.flush()
    os.dup2(out.fileno(), 1)
    os.dup2(out.fileno(), 2)

    watchdog = Watchdog()
    notebook = program["kind"] == "notebook"
    shells: list[studentshell.Shell] = []

    def shell_for() -> studentshell.Shell | None:
        """IPython, started when first needed (a plain module never needs it); None without it."""
        if not shells:
            try:
                shells.append(studentshell.Shell())
            except ImportError:
                if notebook:
                    raise
        return shells[0] if shells else None

    if notebook:
        namespace = shell_for().ip.user_ns
        namespace["__name__"] = "__main__"
        shell_for().keep_history([u["source"] for u in program["units"]])
    else:
        namespace = {"__name__": "submission", "__file__": program.get("filename", "submission.py"),
                     "__builtins__": builtins}
        namespace["get_ipython"] = studentshell.ipython_for_module(shell_for, namespace)
    filenames = (program.get("filename", "submission.py"),)
    sources = ({f"<cell {u['index']}>": u["source"] for u in program["units"]} if notebook
               else {filenames[0]: "\n".join(u["source"] for u in program["units"])})
    if isinstance(job.get("imports"), list):
        # As when graded: student code imports only the graded environment's modules (and its own files).
        workdir = os.path.realpath(os.getcwd())

        def is_student(filename: str) -> bool:
            if filename in sources or filename in ("<timed exec>", "<timed eval>"):
                return True
            if not filename or filename.startswith("<"):
                return False
            return os.path.realpath(filename).startswith(workdir + os.sep)

        sys.meta_path.insert(0, studentshell.ImportGate(job["imports"], is_student))
    cell_seconds = float(limits.get("cell_seconds", 20))
    skip = set(job.get("skip", []))
    for unit in program["units"]:
        index = unit["index"]
        if index in skip:
            if notebook:
                shell_for().skipped()
            continue
        channel.emit(Ev.CELL, index=index, phase=jobwire.START)
        filename = f"<cell {index}>" if notebook else filenames[0]
        watchdog.arm(cell_seconds)
        try:
            if notebook:
                exc, ipython_line = studentshell.run_cell(shell_for(), unit["source"], namespace, filename), 0
            else:
                exc, ipython_line = studentshell.run_module(shell_for, unit["source"], namespace, filename)
        except Timeout as e:
            exc, ipython_line = e, 0
        finally:
            watchdog.disarm()
        missing = ""
        if isinstance(exc, Timeout):
            status, error = RunStatus.TIMEOUT, f"the cell ran longer than {cell_seconds:g} s"
        elif exc is not None:
            status, error = RunStatus.ERROR, explain(exc, sources)
            missing = studentshell.missing_module(exc)
            if missing:
                error += f"\n`{missing}` is not available when this is graded"
        else:
            status, error = RunStatus.OK, ""
        channel.emit(Ev.CELL, index=index, status=status, error=error, ipython_line=ipython_line,
                     missing_module=missing)

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    out.seek(0)
    output = out.read(int(limits.get("output_bytes", 65536))).decode("utf-8", "replace")
    channel.emit(Ev.LOADED, output=output, shell=list(shells[0].escapes) if shells else [])

    answer_bytes = int(limits.get("answer_bytes", jobwire.ANSWER_BYTES))
    for line in messages:
        batch = jobwire.parse_message(line)
        if batch is None:
            continue
        case_seconds = float(batch.get("case_seconds", 2))
        for case in batch["cases"]:
            channel.emit(Ev.CASE, uid=case["uid"], phase=jobwire.START)
            started = time.perf_counter()
            watchdog.arm(case_seconds)
            try:
                event = call_one(case, namespace, sources, answer_bytes)
            except Timeout:
                event = {"status": RunStatus.TIMEOUT, "error": f"took longer than {case_seconds:g} s"}
            finally:
                watchdog.disarm()
            event["seconds"] = round(time.perf_counter() - started, 6)
            try:
                channel.emit(Ev.CASE, uid=case["uid"], **event)
            except (TypeError, ValueError) as exc:
                channel.emit(Ev.CASE, uid=case["uid"], status=RunStatus.UNCONVERTIBLE, error=describe(exc))
        channel.emit(Ev.DONE, batch=batch.get("batch"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
