"""`grader.check("1a")` inside Jupyter: the functions live in the kernel, checked on public cases.

What is checked is what the student is looking at: the names defined in the calling kernel's
`__main__` namespace (IPython's `user_ns`), not the last saved file. Every case is judged by the
same code as `grader check` (same cases, tolerances, messages and hints: `pipeline.judge_all`),
and its returned object converted by the same code as in the self-check's child process.

Why a thread, not a process, for the time limit: a function defined in a notebook lives in the
kernel's `__main__`, which a spawned process cannot import; shipping it by source would also mean
shipping every global, helper and earlier cell result it uses (and a fork does not exist on
Windows). So each call runs in a daemon thread of the kernel; after `case_seconds` the call is
reported as a time-out and a `Timeout` exception is raised inside that thread
(`PyThreadState_SetAsyncExc`, CPython on every platform), which stops pure-Python loops. Code stuck
inside one C call cannot be stopped that way: its thread is left to finish in the background, the
check says so, and (as in grading) after `timeouts_per_question` time-outs a question's remaining
cases are not called.

The written parts are read from the saved notebook (markers `<!-- answer: ID -->`): an edit not
yet saved is not seen, and the report says so.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, explain
from .i18n import N_
from .protocol import CallSpec, Limits, RawAnswer, RunReport, RunStatus, _raw_answer
from .results import GRADED, PASSED, Result

ISOLATION = "none (this Jupyter kernel)"
# What the report calls the checked "submission" (translated when shown: grader.render.selfcheck_view).
KERNEL_NAME = N_("this notebook's kernel")
WRITTEN_NAME = N_("written parts")
STOP_SECONDS = 0.5         # how long a timed-out thread has to die after its Timeout is raised


@dataclass
class CheckReport:
    """What `grader.check()` returns: shown as a compact HTML table in Jupyter, as text elsewhere."""

    result: Result
    written: list = field(default_factory=list)      # selfcheck.WrittenStatus, or empty
    notebook: str | None = None                      # the saved notebook the written parts were read from
    lang: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.status == PASSED for q in self.result.questions for c in q.cases)

    def __repr__(self) -> str:
        from .render import selfcheck_view

        return selfcheck_view.text(self.result, self.written, self.notebook, self.notes, self.lang)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from .render import selfcheck_view

        return selfcheck_view.html(self.result, self.written, self.notebook, self.notes, self.lang, live=True)


def kernel_namespace() -> dict[str, Any]:
    """The namespace the student's cells run in: IPython's user_ns, else `__main__`'s globals."""
    try:
        from IPython import get_ipython
    except ImportError:                       # pragma: no cover - IPython is a dependency
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        return shell.user_ns
    return vars(sys.modules["__main__"])


def check(*questions: str, namespace: dict | None = None, notebook: str | os.PathLike | None = None,
          lang: str | None = None, config=None, cases_file: str | None = None) -> CheckReport:
    """Check the live definitions on the public cases of `questions` (all when none are named).

    With no question named, the written parts of the saved notebook are listed too.
    """
    from . import caseset, selfcheck
    from .config import load_config
    from .pipeline import calls as calls_of, judge_all

    config = config or load_config()
    case_set = selfcheck.select(caseset.for_self_check(config, cases_file), questions)
    namespace = kernel_namespace() if namespace is None else namespace
    report = run_live(namespace, calls_of(case_set), config.limits)
    result = Result(submission=KERNEL_NAME, status=GRADED, score=0.0,
                    max_score=case_set.assignment.max_score, assignment=case_set.assignment.name,
                    grader_version=__version__, case_set=case_set.digest, visibility="public",
                    isolation=ISOLATION, seconds=round(report.seconds, 3))
    result.questions = judge_all(case_set, report, result.problems)
    explain.kernel_causes(result.questions, namespace,
                          lambda: saved_cells(find_notebook(namespace) if notebook is None else Path(notebook)))
    result.score = round(sum(q.score for q in result.questions), 4)
    lang = lang or getattr(config, "lang", None)
    out = CheckReport(result, lang=lang, notes=list(report.notes))
    if not questions:
        path = find_notebook(namespace) if notebook is None else Path(notebook)
        if path is not None and path.is_file():
            out.written = selfcheck.written_status(path, case_set.assignment)
            out.notebook = str(path)
        else:
            out.notes.append("no-notebook-check")
    return out


def check_written(notebook: str | os.PathLike | None = None, lang: str | None = None,
                  config=None, cases_file: str | None = None) -> CheckReport:
    """Only the written parts: which are found, which are empty, which lost their marker."""
    from . import caseset, selfcheck
    from .config import load_config

    config = config or load_config()
    case_set = caseset.for_self_check(config, cases_file)
    path = find_notebook(kernel_namespace()) if notebook is None else Path(notebook)
    result = Result(submission=WRITTEN_NAME, status=GRADED, score=0.0, max_score=0.0,
                    assignment=case_set.assignment.name, grader_version=__version__, visibility="public")
    out = CheckReport(result, lang=lang or getattr(config, "lang", None))
    if path is None or not path.is_file():
        out.notes.append("no-notebook")
        return out
    out.written = selfcheck.written_status(path, case_set.assignment)
    out.notebook = str(path)
    return out


def saved_cells(path: Path | None) -> dict[int, str] | None:
    """The saved notebook's code cells ({cell number: source}, numbered as every report numbers
    them), or None when there is no readable notebook there."""
    from .load import NOTEBOOK, LoadError, load

    if path is None or not path.is_file():
        return None
    try:
        program = load(path)
    except (LoadError, OSError, ValueError):
        return None
    return {unit.index: unit.source for unit in program.units} if program.kind == NOTEBOOK else None


def find_notebook(namespace: dict) -> Path | None:
    """The saved notebook this kernel belongs to, where the front end says so: Jupyter Server 2+
    (`JPY_SESSION_NAME`), VS Code (`__vsc_ipynb_file__`); else the one notebook in the working
    folder. None when it cannot be told (pass `notebook=` then)."""
    for candidate in (os.environ.get("JPY_SESSION_NAME"), namespace.get("__vsc_ipynb_file__")):
        if candidate and str(candidate).endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate)
    found = sorted(p for p in Path.cwd().glob("*.ipynb") if not p.name.startswith("."))
    return found[0] if len(found) == 1 else None


# ------------------------------------------------------------------------------------------------
# Calling the live functions under a time limit


def run_live(namespace: dict, calls: list[CallSpec], limits: Limits = Limits()) -> RunReport:
    """Call every case on the live `namespace`, each in a thread stopped after `case_seconds`."""
    from .portable_child import call_one

    import contextlib

    started = time.monotonic()
    report = RunReport(isolation=ISOLATION)
    timeouts: dict[str, int] = {}
    printed = _Counted()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        _run_calls(namespace, calls, limits, report, timeouts, call_one)
    if printed.lines:
        report.notes.append(f"{PRINTED_NOTE}{printed.lines}")
    report.seconds = time.monotonic() - started
    return report


# A note "printed:N": the checked functions printed N lines, held back (grader.render.selfcheck_view).
PRINTED_NOTE = "printed:"


class _Counted:
    """Where the checked functions' prints go during a check: counted (lines), never kept."""

    def __init__(self) -> None:
        self.lines = 0
        self._open = False

    def write(self, text) -> int:
        text = str(text)
        if text:
            self.lines += text.count("\n")
            self._open = not text.endswith("\n")
        return len(text)

    def flush(self) -> None:
        if self._open:
            self.lines += 1
            self._open = False

    def isatty(self) -> bool:
        return False


def _run_calls(namespace: dict, calls: list[CallSpec], limits: Limits, report: RunReport,
               timeouts: dict[str, int], call_one) -> None:
    for call in calls:
        if timeouts.get(call.question_id, 0) >= limits.timeouts_per_question:
            report.answers[call.uid] = RawAnswer(call.uid, RunStatus.NOT_RUN, message=f"not run: {timeouts[call.question_id]} "
                                                 "earlier cases of this question timed out")
            continue
        event, stuck = _call_with_limit(call_one, json.loads(call.wire), namespace, limits.case_seconds)
        answer = _raw_answer(call, event)
        report.answers[call.uid] = answer
        if answer.status == RunStatus.TIMEOUT:
            timeouts[call.question_id] = timeouts.get(call.question_id, 0) + 1
        if stuck and "stuck-thread" not in report.notes:
            report.notes.append("stuck-thread")


def _call_with_limit(call_one, case: dict, namespace: dict, seconds: float) -> tuple[dict, bool]:
    """(the case's event, whether its thread could not be stopped)."""
    from .portable_child import Timeout

    box: dict[str, Any] = {}

    def target() -> None:
        started = time.perf_counter()
        try:
            box["event"] = call_one(case, namespace)
        except Timeout:
            box["event"] = {"status": RunStatus.TIMEOUT, "error": f"took longer than {seconds:g} s"}
        box["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=target, name=f"grader-check-{case['uid']}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        _raise_in(thread, Timeout)
        thread.join(STOP_SECONDS)
        event = {"status": RunStatus.TIMEOUT, "error": f"took longer than {seconds:g} s"}
        return {"ev": "case", "uid": case["uid"], **event, "seconds": seconds}, thread.is_alive()
    event = box.get("event", {"status": RunStatus.ERROR, "error": "no answer was returned"})
    return {"ev": "case", "uid": case["uid"], **event, "seconds": round(box.get("seconds", 0.0), 6)}, False


def _raise_in(thread: threading.Thread, exc_type: type) -> None:
    """Raise `exc_type` inside `thread` at its next Python instruction (CPython's documented C API)."""
    try:
        import ctypes
        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except (ImportError, AttributeError):     # not CPython: the thread finishes on its own
        return
    set_async_exc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))
