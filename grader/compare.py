"""Judging one answer against the reference: trusted code only, modelled on numpy's assert_allclose.

Order of checks for arrays, each with its own message: is it a plain real array at all (by
conversion, never by trusting the object's methods), exactly the expected shape (no broadcasting),
every value finite, not all zeros against a non-zero reference, then every element within the
tolerance. The reference always sits in the reference position of the comparison.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import arraytext
from .results import ERROR, FAILED, PASSED
from .spec import ARRAY, ARRAY_DICT, Tolerance


@dataclass(frozen=True)
class Verdict:
    status: str        # passed | failed | error
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED


class NotAnAnswer(ValueError):
    """The value cannot be judged as an answer of this kind (wrong type, not numbers, ...)."""


@dataclass(frozen=True)
class ComplexArray:
    """A returned array that had non-zero imaginary parts: both parts, as plain float64 arrays of
    one shape (made by `runner.decode_array`). It counts as real when every imaginary part is
    within the case's tolerance, as `numpy.linalg.eig`'s rounding leaves them (see `realise`)."""

    real: np.ndarray
    imag: np.ndarray


COMPLEX_NOTE = ("The answer was complex; every imaginary part is within the tolerance (rounding), so its "
                "real part was graded.")


def realise(expected: np.ndarray, got: Any, tol: Tolerance) -> tuple[Any, Verdict | None]:
    """(the real answer to judge, None), or (None, why a complex answer cannot count as real).

    The imaginary parts are held to the same per-element allowance as the values themselves.
    """
    if not isinstance(got, ComplexArray):
        return got, None
    real, imag = _judged(got.real), _judged(got.imag)
    if real.shape != expected.shape or imag.shape != real.shape:
        return real, None                      # the shape check says what is wrong
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    allowed = tol.rtol * np.abs(expected) + tol.atol * scale
    with np.errstate(invalid="ignore"):
        if np.all(np.abs(imag) <= allowed):
            return real, None
    size = np.where(np.isfinite(imag), np.abs(imag), np.inf)
    worst = np.unravel_index(int(np.argmax(size)), size.shape) if size.ndim else ()
    return None, Verdict(FAILED, f"The answer is complex: its largest imaginary part is {float(imag[worst]):.6g} at "
                                 f"index {_index(worst)}, beyond the tolerance ({tol.describe()} = "
                                 f"{float(allowed[worst]) if allowed.ndim else float(allowed):.3g} there). "
                                 "The answer must be real.")


def as_plain_array(value: Any) -> np.ndarray:
    """A plain, owned float64 ndarray made from `value`, or NotAnAnswer.

    Subclasses (masked arrays, matrix, anything overriding __array_function__ or __eq__) are
    refused or stripped by conversion: nothing of the original object is trusted or kept.
    """
    if isinstance(value, np.ma.MaskedArray):
        raise NotAnAnswer("a masked array is not an answer; return a plain array")
    if isinstance(value, (str, bytes, dict, set, frozenset)) or value is None:
        raise NotAnAnswer(f"expected numbers, got {type(value).__name__}")
    try:
        arr = np.array(value, dtype=np.float64, copy=True, subok=False)
    except (TypeError, ValueError, OverflowError) as exc:
        raise NotAnAnswer(f"cannot be read as real numbers ({exc})") from None
    if type(arr) is not np.ndarray:  # pragma: no cover - np.array(subok=False) guarantees this
        raise NotAnAnswer("not a plain array")
    return arr


def _judged(value: Any) -> np.ndarray:
    """`as_plain_array`, without the copy when `value` is a plain float64 array already (what the
    runner decodes, and every reference answer): judging reads an answer, never keeps or changes it."""
    if type(value) is np.ndarray and value.dtype == np.float64:
        return value
    return as_plain_array(value)


def _within(expected: np.ndarray, got: np.ndarray, tol: Tolerance) -> bool:
    """Whether two plain arrays of one shape agree within the tolerance everywhere.

    NaN and inf never do, and an all-zero answer cannot be within rtol + atol < 1 of a non-zero
    reference, so this alone decides a pass: the separate checks of `compare_arrays` only word
    the reasons for a failure.
    """
    # ndarray methods, not np.max/np.all: judging a submission makes ~800 of these small
    # comparisons, and numpy's function wrappers were half of their cost
    with np.errstate(invalid="ignore", over="ignore"):
        return bool((np.abs(np.subtract(got, expected)) <= _allowed(expected, tol)).all())


# id(reference array) -> (a weak reference to it, rtol, atol, its bound): see `_allowed`
_BOUNDS: dict[int, tuple[Any, float, float, np.ndarray]] = {}


def _allowed(expected: np.ndarray, tol: Tolerance) -> np.ndarray:
    """How far each element may be from `expected`: rtol of its magnitude plus atol of the largest.

    The same for every student's answer to a case (and for every check of a diagnosed mistake's
    answer, which the case set keeps), so it is computed once per array and tolerance while the
    array lives: a weak reference tells a live entry from one whose array is gone and whose id
    another array now has. Arrays judged against are never changed in place (judging only reads).
    """
    key = id(expected)
    entry = _BOUNDS.get(key)
    if entry is not None and entry[0]() is expected and entry[1] == tol.rtol and entry[2] == tol.atol:
        return entry[3]
    magnitude = np.abs(expected)
    scale = float(magnitude.max()) if magnitude.size else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        bound = magnitude * tol.rtol + tol.atol * scale
    try:
        alive = weakref.ref(expected, lambda _, key=key: _BOUNDS.pop(key, None))
    except TypeError:           # pragma: no cover - a plain ndarray can always be referred to weakly
        return bound
    _BOUNDS[key] = (alive, tol.rtol, tol.atol, bound)
    return bound


def compare_arrays(expected: np.ndarray, got: Any, tol: Tolerance) -> Verdict:
    expected = _judged(expected)
    note = COMPLEX_NOTE if isinstance(got, ComplexArray) else ""
    try:
        got, refused = realise(expected, got, tol)
        if refused is not None:
            return refused
        got = _judged(got)
    except NotAnAnswer as exc:
        return Verdict(ERROR, str(exc))
    if got.shape != expected.shape:
        return Verdict(FAILED, f"Wrong shape: expected {_shape(expected.shape)}, got {_shape(got.shape)}.")
    if _within(expected, got, tol):
        return Verdict(PASSED, note)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    bad = ~np.isfinite(got)
    if bad.any():
        where = _index(np.argwhere(bad)[0])
        kinds = sorted({"NaN" if np.isnan(v) else "inf" for v in got[bad]})
        more = f" (and {int(bad.sum()) - 1} more)" if bad.sum() > 1 else ""
        return Verdict(FAILED, f"The answer contains {' and '.join(kinds)}: first at index {where}{more}.")
    if expected.size and scale > 0 and not np.any(got):
        return Verdict(FAILED, f"The answer is all zeros, but the expected one is not "
                               f"(its largest entry is {scale:.3g} in magnitude).")
    allowed = tol.rtol * np.abs(expected) + tol.atol * scale
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):   # a huge difference is inf
        diff = np.abs(got - expected)
        rel = np.where(expected != 0, diff / np.abs(expected), np.inf)
    mismatch = diff > allowed
    if not mismatch.any():
        return Verdict(PASSED, note)
    # As numpy's assert_array_compare: the largest differences *among the violations*. An element
    # that passes (within rtol of a large entry) may differ more in absolute terms than the one that
    # fails, and pointing at it would send the student to the wrong place.
    worst = _argmax_among(diff, mismatch)
    worst_rel = _argmax_among(rel, mismatch)
    count, total = int(mismatch.sum()), mismatch.size
    shown_expected, shown_got = _distinct(float(expected[worst]), float(got[worst]))
    lines = [
        f"Not equal to tolerance ({tol.describe()} = {tol.atol * scale:.3g}).",
        f"Mismatched elements: {count} / {total} ({100 * count / total:.3g}%).",
        f"Largest absolute difference: {float(diff[worst]):.6g} at index {_index(worst)} "
        f"(expected {shown_expected}, got {shown_got}).",
        f"Largest relative difference: {float(rel[worst_rel]):.6g} at index {_index(worst_rel)}.",
    ]
    return Verdict(FAILED, "\n".join(lines))


TIE = 1e-9                  # values within this relative distance of the largest are tied for it


def _argmax_among(values: np.ndarray, where: np.ndarray) -> tuple:
    """The index of the largest of `values` where `where` holds (some element must): the first of
    those tied with it up to rounding (a transposed answer differs as much at [i, j] as at [j, i],
    and which of the two wins by a last bit changes from one numpy or machine to another)."""
    masked = np.where(where, values, -np.inf)
    top = masked.max()
    if np.isfinite(top) and top > 0:
        masked = masked >= top * (1 - TIE)
    flat = int(np.argmax(masked))
    return np.unravel_index(flat, values.shape) if values.ndim else ()


def _distinct(a: float, b: float) -> tuple[str, str]:
    """Two numbers with enough digits to tell them apart (6 when that suffices, as numpy prints)."""
    for digits in (6, 9, 12, 17):
        shown = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if shown[0] != shown[1]:
            break
    return shown


_KINDS = None


def _kind_of(kind: str):
    """`grader.kinds.kind_of`, imported on first use: the kinds build on this module. (Imported in
    each call, as before, it cost ~2 us, ~2,000 times a submission.)"""
    global _KINDS
    if _KINDS is None:
        from . import kinds

        _KINDS = kinds
    return _KINDS.kind_of(kind)


def compare(kind: str, expected: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()) -> Verdict:
    """Judge `got` against `expected` for an answer of the given kind (see `grader.kinds`)."""
    return _kind_of(kind).compare(expected, got, tol, keys)


def matches(kind: str, candidate: Any, got: Any, tol: Tolerance, keys: tuple[str, ...] = ()) -> bool:
    """Whether `got` equals `candidate` (a known wrong answer) within the tolerance."""
    return _kind_of(kind).matches(candidate, got, tol, keys)


def _same_shape_within(expected: Any, got: Any, tol: Tolerance) -> bool:
    """`compare_arrays(...).passed` without wording any message (diagnosis tries many candidates)."""
    expected = _judged(expected)
    got, refused = realise(expected, got, tol)
    if refused is not None:
        return False
    got = _judged(got)
    return got.shape == expected.shape and _within(expected, got, tol)


def describe(kind: str, value: Any, limit: int = 1500) -> str:
    """A readable, bounded rendering of a value for a report (see `grader.kinds`)."""
    return _kind_of(kind).describe(value, limit)


def describe_array(value: Any) -> str:
    """An array answer as a report shows it: its shape, then numpy's rendering (complex ones too)."""
    if isinstance(value, ComplexArray):
        both = _judged(value.real) + 1j * _judged(value.imag)
        return f"shape {_shape(both.shape)}, complex\n" + np.array2string(both, precision=6, threshold=64,
                                                                         max_line_width=90)
    try:
        text = arraytext.array2string(as_plain_array(value), precision=6, threshold=64, max_line_width=90)
        return f"shape {_shape(np.shape(value))}\n{text}"
    except NotAnAnswer:
        return repr(value)


def describe_input(value: Any, limit: int = 1500) -> str:
    if isinstance(value, dict):
        return describe(ARRAY_DICT, value, limit)
    if isinstance(value, np.ndarray):
        return describe(ARRAY, value, limit)
    return repr(value)[:limit]


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _index(index) -> str:
    return "(" + ", ".join(str(int(i)) for i in index) + ")" if len(index) else "()"
