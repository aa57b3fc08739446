"""The plain data that crosses between the grader and the process running a submission.

What to call (`CallSpec`), what came back (`RawAnswer`, `CellRun`, `RunReport`), the limits a run
is held to (`Limits`), and the wire encoding of arrays both ways. Split from `grader.runner` so that
the parts of the grader that only *judge* (pipeline, config) and the portable self-check
(`grader.portable`, which runs on macOS and Windows too) can use them without importing the Linux
sandbox: this module imports nothing platform-specific, and numpy only where arrays are coded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable

if TYPE_CHECKING:
    import numpy as np

from . import jobwire  # noqa: E402
from .jobwire import MAX_ELEMENTS  # noqa: E402,F401 - re-exported: no answer to this homework is larger
RunStatus = jobwire.RunStatus    # re-exported: what became of a call or a cell, before judging
CASE_STATUSES = jobwire.CASE_STATUSES
CELL_STATUSES = jobwire.CELL_STATUSES

from .config import Limits  # noqa: E402,F401 - defined with the configuration (its schema), re-exported


def grace(seconds: float) -> float:
    """How long past the worker's own alarm we wait before killing the job ourselves."""
    return min(5.0, max(1.0, 0.5 * seconds))


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
    hidden: bool = False
    # A follow-up call (a probe: an input derived from a case, to locate a wrong answer to it): the
    # uid of that case. Follow-ups are called after every scored case, and only those the sink
    # still wants once it has judged their case (`wanted`); "" for a scored case.
    parent: str = ""
    # The case as the worker receives it (JSON text), encoded once: a Session sends the same case
    # to every submission it grades, and encoding its arrays took milliseconds per submission.
    wire: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.wire:
            object.__setattr__(self, "wire", jobwire.case_wire(self.uid, self.name, self.call, self.kind,
                                                               list(self.keys), list(self.args)))


@dataclass
class RawAnswer:
    """What one case produced, before anyone has judged it."""

    uid: str
    status: RunStatus
    value: Any = None
    message: str = ""
    seconds: float = 0.0
    changed: tuple[str, ...] = ()   # the arguments the call changed in place (public cases only)
    # The value's wire form as a key (`kinds.Kind.wire_key`), or None: answers to one case with
    # equal keys are the same value, and are judged once (pipeline.Judgments).
    key: Hashable | None = field(default=None, compare=False, repr=False)


@dataclass
class CellRun:
    index: int
    status: RunStatus      # OK, ERROR or TIMEOUT as the child reported; CRASHED when the process died in it
    error: str = ""
    missing_module: str = ""                            # the import that failed, if that was the error
    figures: list[str] = field(default_factory=list)    # base64 PNGs the cell drew (bounded)
    figures_dropped: int = 0
    ipython_line: int = 0          # a module Python refused, run as IPython: its first such line (else 0)


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


# ------------------------------------------------------------------------------------------------
# Plain data across the boundary


encode_arg = jobwire.encode_args


class BadValue(ValueError):
    pass


def decode_array(data: Any) -> np.ndarray:
    """Rebuild an array from the worker's plain data, trusting nothing about it (`kinds.ArrayKind`)."""
    from .kinds import ARRAY_KIND     # numpy and the judging code are imported when answers arrive

    return ARRAY_KIND.decode((), data)


def kinds_table() -> dict:
    """`grader.kinds.KINDS`, imported when the first answer arrives (numpy and the judging code come
    with it) and then kept: imported in each call, it cost ~2 us, ~2,500 times a submission."""
    global _KINDS
    if _KINDS is None:
        from .kinds import KINDS

        _KINDS = KINDS
    return _KINDS


_KINDS: dict | None = None


def decode_value(kind: str, keys: Iterable[str], data: Any) -> Any:
    """Turn the worker's plain data into the trusted side's plain Python/numpy values (`grader.kinds`)."""
    found = kinds_table().get(kind) if isinstance(kind, str) else None
    if found is None:
        raise BadValue(f"unknown kind {kind}")
    return found.decode(keys, data)


def decode_keyed(kind: str, keys: Iterable[str], data: Any) -> tuple[Any, Hashable | None]:
    """`decode_value`, and the key of the wire form it was decoded from (`kinds.Kind.wire_key`):
    made only once the data decoded (a key vouches for data `decode` accepts)."""
    value = decode_value(kind, keys, data)
    return value, kinds_table()[kind].wire_key(keys, data)


def _raw_answer(call: CallSpec, event: dict) -> RawAnswer:
    status = event.get("status")
    seconds = _seconds(event.get("seconds"))
    if status == RunStatus.OK:
        try:
            value, key = decode_keyed(call.kind, call.keys, event.get("value"))
            return RawAnswer(call.uid, RunStatus.OK, value, seconds=seconds,
                             changed=_argument_names(event.get("changed")), key=key)
        except (BadValue, KeyError, TypeError, ValueError, OverflowError) as exc:
            return RawAnswer(call.uid, RunStatus.UNCONVERTIBLE, message=f"the answer could not be read back: {exc}")
    if status in CASE_STATUSES:
        return RawAnswer(call.uid, RunStatus(status), message=_text(event.get("error")), seconds=seconds)
    return RawAnswer(call.uid, RunStatus.ERROR, message="the worker reported an unknown status")


def _argument_names(value: Any) -> tuple[str, ...]:
    """The changed arguments an event names, as a few short names (the student's code chose them)."""
    if not isinstance(value, list):
        return ()
    return tuple(_text(name)[:40] for name in value[:8] if isinstance(name, str) and name)


def _seconds(value: Any) -> float:
    """A reported duration as a finite, non-negative float (the student can write any number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    try:
        number = float(value)
    except OverflowError:
        return 0.0
    return round(number, 6) if math.isfinite(number) and 0 <= number < 1e6 else 0.0


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _line_number(value: Any) -> int:
    """A line number the student process sent (1 or more), or 0 when it is none."""
    number = _int(value)
    return number if number is not None and 0 < number < 10**9 else 0


def _text(value: Any, limit: int = 2000) -> str:
    """A string the student process sent, bounded, and encodable (JSON escapes can carry lone surrogates)."""
    text = value[:limit] if isinstance(value, str) else ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


# What a run hands each settled answer to (pipeline.Judged): judged on arrival, then dropped.
Sink = Callable[["RawAnswer"], None]


def wanted(sink: "Sink | None", call: CallSpec) -> bool:
    """Whether a follow-up call is still worth making: a sink may say so with a `wants(call)`
    method (pipeline.Judged asks for a case's probes only when its answer was wrong and is to be
    located); any other sink wants every call."""
    wants = getattr(sink, "wants", None)
    return True if wants is None else bool(wants(call))
