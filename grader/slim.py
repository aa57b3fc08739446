"""A graded Result small enough to keep for every student of a large class, and back again.

A batch needs every student's result at the end, for the class files (summary, review, grades,
the course's rules). Held whole, a result costs ~150 KB of Python objects (every case's inputs,
expected and returned values, messages, the output); 5,000 students would need gigabytes. The
class files need none of that text: `slim` keeps the scores, statuses, diagnoses, hints, problems,
identity and written answers, and replaces each case by one shared, immutable-by-convention
CaseResult per (visibility, status) — a reference in a list, so case counts per status still add
up — which brings a result to ~20 KB.

What was dropped is on disk already (the student's result.json, written as soon as they were
graded, and never changed by what happens after grading: TA scores, the roster and the late policy
touch only the top-level fields and the written answers). `inflate` puts it back before a
student's files are rewritten.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from types import MappingProxyType

from .results import PASSED, CaseResult, CaseStatus, QuestionResult, Result


@dataclasses.dataclass
class StandIn(CaseResult):
    """A case reduced to its visibility and status, shared by every slim result: copying one (a
    deep copy of a result, a sanitised copy for a page) gives back the same object."""

    def __copy__(self) -> "StandIn":
        return self

    def __deepcopy__(self, memo) -> "StandIn":
        return self


# One stand-in per (visibility, status); never mutated.
STAND_INS = MappingProxyType({(v, s): StandIn("", v, "", s) for v in ("public", "hidden") for s in CaseStatus})


@dataclasses.dataclass
class Reduced(CaseResult):
    """A case that did not pass, reduced to what the class view's "most failed cases" needs: its
    uid, label, status and diagnosis (labels and mistake ids interned: shared by the class), and
    shared by the students it is the same for (`stand_in`): never mutated, copies are itself."""

    def __copy__(self) -> "Reduced":
        return self

    def __deepcopy__(self, memo) -> "Reduced":
        return self


def stand_in(case: CaseResult, shared: dict | None = None) -> CaseResult:
    """The shared stand-in for a passed `case`; a `Reduced` copy of one that did not pass.

    `shared` (a dict the caller keeps for a class) makes equal `Reduced` copies one object: the
    students who fail a case the same way (a common mistake) share it, so what a class keeps per
    failed case is a reference, and the copies are bounded by the assignment, not the class."""
    if case.status == PASSED:
        return STAND_INS.get((case.visibility, case.status)) or CaseResult("", case.visibility, "", case.status)
    if shared is None:
        return _reduced(case)
    key = (case.uid, case.visibility, case.label, case.status, tuple(case.diagnosis))
    found = shared.get(key)
    if found is None:
        found = shared[key] = _reduced(case)
    return found


def _reduced(case: CaseResult) -> "Reduced":
    return Reduced(case.uid, case.visibility, sys.intern(case.label), case.status,
                   diagnosis=[sys.intern(d) for d in case.diagnosis])


def slim(result: Result, shared: dict | None = None) -> Result:
    """`result` without its per-case texts, cells and output (see the module docstring).

    The texts every student's result repeats (question titles, hints, rubrics) are interned: one
    copy for the class instead of one per student; `shared`: see `stand_in`.
    """
    questions = [_slim_question(q, shared) for q in result.questions]
    written = [dataclasses.replace(w, id=sys.intern(w.id), title=sys.intern(w.title), rubric=sys.intern(w.rubric))
               for w in result.written]
    # staff data (hidden cases in full, answer digests) is in the student's instructor files already
    return dataclasses.replace(result, questions=questions, written=written, cells=[], output="", staff=[],
                               wrong_answers=[], assignment=sys.intern(result.assignment),
                               grader_version=sys.intern(result.grader_version), case_set=sys.intern(result.case_set),
                               visibility=sys.intern(result.visibility), isolation=sys.intern(result.isolation))


def _slim_question(q: QuestionResult, shared: dict | None) -> QuestionResult:
    """A question of a slim result; with `shared`, one object for every student whose question
    came out the same (every correct student's, most often): never mutated, like its cases."""
    cases = [stand_in(c, shared) for c in q.cases]
    key = None
    if shared is not None:
        key = ("question", q.id, q.title, q.name, q.score, q.max_score, q.status, tuple(map(id, cases)),
               tuple(q.diagnosis), tuple((h.id, h.hint, h.cases) for h in q.hints), tuple(q.where))
        found = shared.get(key)
        if found is not None:
            return found
    slimmed = dataclasses.replace(q, title=sys.intern(q.title), name=sys.intern(q.name), cases=cases,
                                  diagnosis=[sys.intern(d) for d in q.diagnosis],
                                  hints=[dataclasses.replace(h, id=sys.intern(h.id), hint=sys.intern(h.hint))
                                         for h in q.hints])
    if key is not None:
        shared[key] = slimmed
    return slimmed


def is_slim(result: Result) -> bool:
    return any(type(c) in (StandIn, Reduced) for q in result.questions for c in q.cases[:1])


def inflate(result: Result, result_json: Path) -> Result:
    """A slim `result` with its questions, cells and output read back from the student's result.json.

    Returned unchanged if it is not slim, or if the file cannot be read (then it is written as is).
    """
    if not is_slim(result):
        return result
    try:
        full = Result.from_dict(json.loads(result_json.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return result
    if [q.id for q in full.questions] != [q.id for q in result.questions]:
        return result
    return dataclasses.replace(result, questions=full.questions, cells=full.cells, output=full.output)
