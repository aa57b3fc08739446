"""Building the concrete cases of an assignment: public ones fixed, hidden ones from a secret.

The expected answers are computed here, on the trusted side, by the assignment's reference. The
same secret always gives the same cases (re-grades are reproducible), and the case set carries a
digest of every input and expected value so that a report can say which cases it was graded on.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any

import numpy as np

from .spec import HIDDEN, PUBLIC, Assignment, Case, CaseSet

# Public cases are public: they are the same for everyone and need no secret.
PUBLIC_SEED = "public"


def _rng(*parts: str) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def build(assignment: Assignment, secret: str | None) -> CaseSet:
    """All cases of `assignment`; hidden ones only when a secret is given."""
    cases: list[Case] = []
    for question in assignment.questions:
        batches = [(PUBLIC, question.public_cases(_rng(assignment.name, question.id, PUBLIC_SEED)))]
        if secret is not None and question.call:
            batches.append((HIDDEN, question.hidden_cases(_rng(assignment.name, question.id, HIDDEN, secret))))
        for visibility, inputs in batches:
            for number, case_input in enumerate(inputs):
                args = tuple(case_input.args)
                expected = _expected(question.reference, args, question.id)
                cases.append(Case(f"{question.id}/{visibility}/{number}", question.id, visibility,
                                  case_input.label, args, expected))
    return CaseSet(assignment, tuple(cases), digest(cases))


def _expected(reference, args: tuple[Any, ...], qid: str) -> Any:
    if reference is None:
        raise ValueError(f"question {qid} has no reference answer to build cases from")
    value = reference(*copy.deepcopy(args))
    if isinstance(value, dict):
        return {k: np.array(v, dtype=np.float64) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    if isinstance(value, str):
        return value
    return np.array(value, dtype=np.float64)


def _feed(h: "hashlib._Hash", value: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(repr(value.shape).encode())
        h.update(np.ascontiguousarray(value, dtype="<f8").tobytes())
    elif isinstance(value, dict):
        for key in sorted(value):
            h.update(str(key).encode())
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for item in value:
            _feed(h, item)
        h.update(b"]")
    elif isinstance(value, (set, frozenset)):
        _feed(h, sorted(value))
    else:
        h.update(repr(value).encode())


def digest(cases: list[Case] | tuple[Case, ...]) -> str:
    """A short fingerprint of every case's inputs and expected answer."""
    h = hashlib.sha256()
    for case in cases:
        h.update(case.uid.encode())
        _feed(h, case.args)
        _feed(h, case.expected)
    return h.hexdigest()[:16]
