"""Naming the mistake behind a wrong answer.

For a case that failed, each known wrong variant of its question is computed on the same inputs
(trusted side) and compared with what the student returned, with the question's own tolerance.
A diagnosis only annotates a failure: it never changes a status, and it is never looked for on a
passing case. A variant that coincides with the reference on a case's inputs (e.g. a transposed
1×1 Jacobian) cannot tell anything there and is skipped.
"""
from __future__ import annotations

import copy
from typing import Any

from .compare import matches
from .spec import NAME_SET, Case, Question


def diagnose(question: Question, case: Case, got: Any, memo: dict | None = None) -> list[str]:
    """The ids of the question's mistakes that `got` matches on this case, each named once.

    One id may have several variants (several ways of coding the same misconception). A variant's
    wrong answer depends on the case alone: with a `memo` (the case set's) it is computed once per
    case for all submissions, not once per failing submission.
    """
    found = []
    for number, mistake in enumerate(question.mistakes):
        if mistake.id in found:
            continue
        if mistake.matches is not None:
            try:
                hit = bool(mistake.matches(got))
            except Exception:  # noqa: BLE001 - a catalogue predicate must not break grading
                hit = False
            if hit:
                found.append(mistake.id)
            continue
        key = ("variant", case.uid, number)
        if memo is None or key not in memo:
            telling = _telling_wrong_answer(question, case, mistake)
            if memo is None:
                memo = {}
            memo[key] = telling
        usable, wrong = memo[key]
        if usable and matches(question.kind, wrong, got, question.tolerance, question.keys):
            found.append(mistake.id)
    return found


def _telling_wrong_answer(question: Question, case: Case, mistake) -> tuple[bool, Any]:
    """(True, the variant's answer on this case), or (False, None) when it tells nothing here:
    undefined on the case's inputs, or indistinguishable from the right answer."""
    try:
        wrong = mistake.compute(*copy.deepcopy(case.args))
    except Exception:  # noqa: BLE001 - a variant may be undefined on an edge case
        return False, None
    if question.kind == NAME_SET:
        wrong = frozenset(wrong)
    if matches(question.kind, case.expected, wrong, question.tolerance, question.keys):
        return False, None
    return True, wrong
