"""The answer kinds: one object per kind, in one table (`KINDS`) the engine looks kinds up in.

Each kind says, for the trusted side, how its answer comes back out of the sandbox (`declared_bytes`
read off the wire before anything is decoded, then `decode`), how it is judged against the
reference (`compare`), whether it equals a known wrong answer (`matches`), and how it is shown
(`describe`). The sandbox's half (how a returned object becomes plain data) cannot live here: the
worker may not import the grader. It is `jobwire.ENCODERS`, keyed by the same names, and checked
against this table by tests/test_kinds.py. A new kind is one entry here and one there.

The array machinery itself (tolerances, numpy's messages, complex answers) is `grader.compare`.
"""
from __future__ import annotations

import math
from typing import Any, Hashable, Iterable

from . import compare as judging
from . import jobwire
from .compare import ERROR, FAILED, PASSED, ComplexArray, NotAnAnswer, Verdict
from .protocol import BadValue
from .spec import ARRAY, ARRAY_DICT, LABEL, NAME_SET, Tolerance


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Kind:
    """One kind of answer. Subclasses override what differs; the defaults suit an exact answer."""

    name = ""
    numeric = False          # judged within the question's tolerance (else exactly)
    needs_keys = False       # the question must name its keys
    has_blocks = False       # its leading axes can be named blocks (Question.blocks, diagnose.locate)
    few_values = False       # so few possible answers that a wrong one equals a known one by chance

    def declared_bytes(self, keys: Iterable[str], data: Any) -> int:
        """The bytes of numbers the wire data declares (read off shapes, nothing decoded); 0 if malformed."""
        return 0

    def decode(self, keys: Iterable[str], data: Any) -> Any:
        """The worker's plain data as the trusted side's value, trusting nothing about it."""
        raise NotImplementedError

    def wire_key(self, keys: Iterable[str], data: Any) -> Hashable | None:
        """What of the wire data `decode` reads, as a hashable key, or None (not keyed: judged afresh).

        Called only on data `decode` accepted: two answers to one case with equal keys decode to
        the same numbers, so they are judged alike (pipeline.Judgments keeps the judgment of each
        distinct answer of a case, and a class's answers repeat). A key must hold everything
        `decode` reads, with its exact types (a bool is no shape, though True == 1)."""
        return None

    def normalise(self, value: Any) -> Any:
        """A value computed on the trusted side (a catalogued wrong formula) in the form `decode` gives."""
        return value

    def compare(self, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()) -> Verdict:
        raise NotImplementedError

    def matches(self, candidate: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()) -> bool:
        """Whether `got` equals `candidate` (a known wrong answer) within the tolerance; never raises."""
        try:
            return self._matches(candidate, got, tol, keys)
        except (NotAnAnswer, KeyError, TypeError, ValueError):
            return False

    def _matches(self, candidate: Any, got: Any, tol: Tolerance, keys: tuple[str, ...]) -> bool:
        return self.compare(candidate, got, tol, keys).passed

    def relations(self, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()
                  ) -> list[tuple[str, dict[str, str]]]:
        """How a wrong answer relates to the right one, as (sentence id, its fields) for
        `diagnose.RELATION_SENTENCES`; none by default."""
        return []

    def describe(self, value: Any, limit: int = 1500) -> str:
        """A readable, bounded rendering of a value for a report."""
        if value is None:
            return ""
        return _bounded(self._describe(value, limit), limit)

    def _describe(self, value: Any, limit: int) -> str:
        return repr(value)


class ArrayKind(Kind):
    """Anything that converts to a real float64 array of the reference's shape (complex answers
    whose imaginary parts are rounding count as real: see `compare.realise`)."""

    name = ARRAY
    numeric = True
    has_blocks = True

    def declared_bytes(self, keys: Iterable[str], data: Any) -> int:
        shape = data.get("shape") if isinstance(data, dict) else None
        if (not isinstance(shape, list) or len(shape) > jobwire.MAX_DIMS
                or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)):
            return 0
        parts = 2 if "imag_b64" in data else 1       # a complex answer: real and imaginary parts
        return 8 * math.prod(shape) * parts

    def decode(self, keys: Iterable[str], data: Any) -> Any:
        if (not isinstance(data, dict) or not isinstance(data.get("b64"), str)
                or not isinstance(data.get("shape"), list)):
            raise BadValue("the worker sent something that is not an encoded array")
        shape = data["shape"]
        if len(shape) > jobwire.MAX_DIMS or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s
                                                    for s in shape):
            raise BadValue("the worker sent an invalid shape")
        count = math.prod(shape)
        if count > jobwire.MAX_ELEMENTS:
            raise BadValue(f"the answer has {count} numbers; that is far too many for this answer")
        real = _floats(data["b64"], shape, count)
        if "imag_b64" not in data:
            return real
        if not isinstance(data["imag_b64"], str):
            raise BadValue("the worker sent something that is not an encoded array")
        return ComplexArray(real, _floats(data["imag_b64"], shape, count))

    def wire_key(self, keys: Iterable[str], data: Any) -> Hashable | None:
        """(shape, base64 of the real part, of the imaginary part or None): all `decode` reads."""
        if not isinstance(data, dict):
            return None
        shape, real, imag = data.get("shape"), data.get("b64"), data.get("imag_b64")
        if (not isinstance(shape, list) or not isinstance(real, str) or not (imag is None or isinstance(imag, str))
                or not all(type(s) is int for s in shape)):
            return None
        return tuple(shape), real, imag

    def compare(self, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()) -> Verdict:
        return judging.compare_arrays(expected, got, tol)

    def _matches(self, candidate: Any, got: Any, tol: Tolerance, keys: tuple[str, ...]) -> bool:
        return judging._same_shape_within(candidate, got, tol)    # no message worded: many candidates

    def relations(self, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()
                  ) -> list[tuple[str, dict[str, str]]]:
        """Transposed, negated, or scaled by one factor (never for a single number: it is always
        some multiple of another)."""
        import numpy as np

        try:
            e, g = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return []
        if e.ndim == 2 and g.shape == e.T.shape and self.matches(e.T, g, tol) and not self.matches(e, g, tol):
            return [("transposed", {})]
        if g.shape != e.shape or not np.all(np.isfinite(g)):
            return []
        close = _close(e, g, tol)
        if close or e.size < 2:
            return close
        norm = float(np.sum(e * e))
        if norm == 0.0:
            return []
        factor = float(np.sum(g * e)) / norm
        if abs(factor) < 1e-3 or abs(factor - 1.0) < 1e-6 or not self.matches(factor * e, g, tol):
            return []
        if abs(factor + 1.0) < 1e-6:
            return [("negated", {})]
        shown = f"{factor:.4g}"
        if shown in ("1", "-1"):       # "times 1" tells nothing: a rounding (float32), not a factor
            return []
        return [("scaled", {"factor": shown})]

    def _describe(self, value: Any, limit: int) -> str:
        return judging.describe_array(value)


class ArrayDictKind(Kind):
    """A mapping with fixed keys (the question's), each value an array as `ArrayKind`."""

    name = ARRAY_DICT
    numeric = True
    needs_keys = True

    def declared_bytes(self, keys: Iterable[str], data: Any) -> int:
        if not isinstance(data, dict):
            return 0
        return sum(ARRAY_KIND.declared_bytes((), data.get(k)) for k in keys if isinstance(k, str))

    def decode(self, keys: Iterable[str], data: Any) -> Any:
        if not isinstance(data, dict):
            raise BadValue("expected a dict of arrays")
        return {k: ARRAY_KIND.decode((), data[k]) for k in keys if k in data}

    def wire_key(self, keys: Iterable[str], data: Any) -> Hashable | None:
        """The question's keys present, each with its array's key (`ArrayKind.wire_key`)."""
        if not isinstance(data, dict):
            return None
        parts = tuple((k, ARRAY_KIND.wire_key((), data[k])) for k in keys if k in data)
        return None if any(part is None for _, part in parts) else parts

    def compare(self, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()) -> Verdict:
        if not isinstance(got, dict):
            return Verdict(ERROR, f"expected a dict with keys {list(keys)}, got {type(got).__name__}")
        missing = [k for k in keys if k not in got]
        if missing:
            return Verdict(ERROR, f"the returned dict lacks the key(s) {missing}")
        failures, notes = [], set()
        worst = PASSED
        for key in keys:
            verdict = judging.compare_arrays(expected[key], got[key], tol)
            if verdict.passed and verdict.message:
                notes.add(verdict.message)
            if not verdict.passed:
                failures.append(f"[{key!r}] {verdict.message}")
                worst = ERROR if verdict.status == ERROR or worst == ERROR else FAILED
        return Verdict(worst, "\n".join(failures or sorted(notes)))

    def _matches(self, candidate: Any, got: Any, tol: Tolerance, keys: tuple[str, ...]) -> bool:
        return isinstance(got, dict) and all(k in got and judging._same_shape_within(candidate[k], got[k], tol)
                                             for k in keys)

    def relations(self, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()
                  ) -> list[tuple[str, dict[str, str]]]:
        """Which entries are wrong, when some (not all) are and every key is there."""
        if not isinstance(got, dict):
            return []
        wrong = [k for k in keys if k in got and not ARRAY_KIND.matches(expected[k], got[k], tol)]
        if wrong and len(wrong) < len(keys) and all(k in got for k in keys):
            return [("keys", {"keys": ", ".join(repr(k) for k in wrong)})]
        return []

    def _describe(self, value: Any, limit: int) -> str:
        if not isinstance(value, dict):
            return repr(value)
        return "\n".join(f"{k}: {ARRAY_KIND.describe(v, limit)}" for k, v in value.items())


class LabelKind(Kind):
    """One string out of a fixed set, compared without case or surrounding blanks."""

    name = LABEL
    few_values = True

    def decode(self, keys: Iterable[str], data: Any) -> Any:
        if not isinstance(data, str) or len(data) > jobwire.LABEL_CHARS:
            raise BadValue("expected a short string")
        return data

    def wire_key(self, keys: Iterable[str], data: Any) -> Hashable | None:
        return data if type(data) is str else None

    def compare(self, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()) -> Verdict:
        if not isinstance(got, str):
            return Verdict(ERROR, f"expected a string, got {type(got).__name__}")
        if got.strip().lower() == str(expected).lower():
            return Verdict(PASSED)
        return Verdict(FAILED, f"Expected the label {expected!r}, got {got[:80]!r}.")


class NameSetKind(Kind):
    """A set (or list/tuple) of strings, compared as a set of labels: without case or surrounding
    blanks. The question's `keys`, when given, are the names an answer is drawn from, so that a
    name outside them is told as such rather than as a wrong choice."""

    name = NAME_SET

    def decode(self, keys: Iterable[str], data: Any) -> Any:
        if (not isinstance(data, list) or len(data) > jobwire.NAMES
                or not all(isinstance(x, str) and len(x) <= jobwire.NAME_CHARS for x in data)):
            raise BadValue("expected a short list of names")
        return frozenset(data)

    def wire_key(self, keys: Iterable[str], data: Any) -> Hashable | None:
        return frozenset(data) if type(data) is list and all(type(x) is str for x in data) else None

    def normalise(self, value: Any) -> Any:
        return frozenset(value)

    def compare(self, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()) -> Verdict:
        if not isinstance(got, (set, frozenset, list, tuple)) or not all(isinstance(x, str) for x in got):
            return Verdict(ERROR, "expected a set of names")
        got_set, want = {_name(x) for x in got}, {_name(x) for x in expected}
        if got_set == want:
            return Verdict(PASSED)
        parts = []
        if want - got_set:
            parts.append(f"{len(want - got_set)} name(s) missing")
        if got_set - want:
            parts.append(f"{len(got_set - want)} name(s) that do not belong")
        lines = ["The set is not right: " + ", ".join(parts) + "."]
        known = {_name(k) for k in keys}
        unknown = sorted({x.strip() for x in got if known and _name(x) not in known})
        if unknown:
            lines.append(f"Not names of this answer: {', '.join(repr(x) for x in unknown)} "
                         f"(its names are {', '.join(repr(k) for k in sorted(keys))}).")
        return Verdict(FAILED, "\n".join(lines))

    def _describe(self, value: Any, limit: int) -> str:
        return "{" + ", ".join(repr(x) for x in sorted(value)) + "}"


CLOSE_DIGITS = 3        # a failed answer agreeing to at least this many digits is told how close it is


def _close(expected, got, tol: Tolerance) -> list[tuple[str, dict[str, str]]]:
    """A failed answer within a few digits of the right one (float32 arithmetic, numbers typed with
    five digits, a factor of 1.00001): how many significant digits agree, measured as the tolerance
    measures them (relative to each entry, or to atol/rtol of the largest for entries near zero)."""
    import numpy as np

    if tol.rtol <= 0:
        return []
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    floor = tol.atol / tol.rtol * scale
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        relative = float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), floor)))
    if not (0 < relative <= 10.0 ** -CLOSE_DIGITS):
        return []
    digits = int(math.floor(-math.log10(relative) + 1e-9))
    needed = int(round(-math.log10(tol.rtol)))
    if digits >= needed:
        return []
    return [("close", {"digits": str(digits), "needed": str(needed)})]


def _name(text: str) -> str:
    """A name as a name set compares it (as a label: without case or surrounding blanks)."""
    return text.strip().lower()


def _floats(text: str, shape: list[int], count: int):
    """`count` little-endian float64 from base64 `text`, as a plain owned array of `shape`."""
    import base64

    import numpy as np

    if len(text) != 4 * math.ceil(8 * count / 3):
        raise BadValue("the worker sent an array whose size does not match its shape")
    try:
        # not binascii.a2b_base64(strict_mode=True): that keyword is Python 3.11's, and graders run on 3.10
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise BadValue("the worker sent invalid base64") from exc
    if len(raw) != 8 * count:
        raise BadValue("the worker sent an array whose size does not match its shape")
    return np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64)


ARRAY_KIND = ArrayKind()

# The table. A new kind: a `Kind` here, its encoder in jobwire.ENCODERS.
KINDS: dict[str, Kind] = {k.name: k for k in (ARRAY_KIND, ArrayDictKind(), LabelKind(), NameSetKind())}


def kind_of(name: str) -> Kind:
    """The kind called `name`; ValueError for a kind nobody defined."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown answer kind {name!r}") from None
