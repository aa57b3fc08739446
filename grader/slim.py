"""A graded Result small enough to keep for every student of a large class, and back again.

A batch needs every student's result at the end, for the class files (summary, review, grades,
the course's rules). Held whole, a result costs ~150 KB of Python objects (every case's inputs,
expected and returned values, messages, the output); 5,000 students would need gigabytes. The
class files need none of that text: `slim` keeps the scores, statuses, diagnoses, hints, problems,
identity and the written answers' ids, scores and comments, and replaces each case by one shared,
immutable-by-convention CaseResult per (visibility, status) — a reference in a list, so case counts
per status still add up. The written answers' texts (most of what was left: a few KB a student)
are dropped too (`SlimWritten`): the pages that show them (review, similarity) read them from the
student's result.json one student at a time (`with_texts`). With the class's table (`shared`),
what is the same for many students (questions, failed cases, problems) is one object: a slim
result is ~1 KB of its own.

What was dropped is on disk already (the student's result.json, written as soon as they were
graded, and never changed by what happens after grading: TA scores, the roster and the late policy
touch only the top-level fields and the written answers' scores and comments, never their texts).
`inflate` puts it back before a student's files are rewritten.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from types import MappingProxyType

from .results import PASSED, CaseResult, CaseStatus, QuestionResult, Result, WrittenAnswer


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


@dataclasses.dataclass
class SlimWritten(WrittenAnswer):
    """A written answer whose text was dropped (it was not empty): its id, title, points, rubric,
    score, comment and whether it was found stay. Its type says that the text is on disk (the
    student's result.json: `inflate`, `with_texts`); copies (a TA score merged) keep the type."""


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
    written = [_slim_written(w) for w in result.written]
    problems = [_shared(shared, ("problem", p.code, p.message), p) for p in result.problems]
    # staff data (hidden cases in full, answer digests) is in the student's instructor files already
    return dataclasses.replace(result, questions=questions, written=written, problems=problems,
                               cells=[], output="", staff=[],
                               wrong_answers=[], assignment=sys.intern(result.assignment),
                               grader_version=sys.intern(result.grader_version), case_set=sys.intern(result.case_set),
                               visibility=sys.intern(result.visibility), isolation=sys.intern(result.isolation))


def _slim_written(w: WrittenAnswer) -> WrittenAnswer:
    """A written answer without its text (if it has one: an empty text is nothing to read back)."""
    kind = SlimWritten if w.text or type(w) is SlimWritten else type(w)
    return kind(sys.intern(w.id), sys.intern(w.title), w.max_score, "", sys.intern(w.rubric), w.score, w.found,
                w.comment)


def _shared(shared: dict | None, key: tuple, value):
    """`value`, or the equal one already in the class's table (problems are never mutated: the
    course's rules and the TA scores make new lists, and new Problems)."""
    if shared is None:
        return value
    return shared.setdefault(key, value)


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
    return _slim_cases(result) or _slim_texts(result)


def _slim_cases(result: Result) -> bool:
    return any(type(c) in (StandIn, Reduced) for q in result.questions for c in q.cases[:1])


def _slim_texts(result: Result) -> bool:
    return any(type(w) is SlimWritten for w in result.written)


def inflate(result: Result, result_json: Path) -> Result:
    """A slim `result` with its questions, cells, output and written texts read back from the
    student's result.json.

    Returned unchanged if it is not slim, or if the file cannot be read (then it is written as is).
    """
    if not is_slim(result):
        return result
    full = read_result(result_json)
    if full is None:
        return result
    if _slim_cases(result):
        if [q.id for q in full.questions] != [q.id for q in result.questions]:
            return result
        result = dataclasses.replace(result, questions=full.questions, cells=full.cells, output=full.output)
    return _texts_from(result, full)


def with_texts(result: Result, result_json: Path) -> Result:
    """`result` with its written answers' texts read back from `result_json` (the rest as it is):
    what the review page and the copying comparison need of a slim result, one student at a time.
    `result_json` may also be a batch's resume record (grader.batch.RECORD), which holds the result."""
    if not _slim_texts(result):
        return result
    try:
        text = result_json.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return result
    texts = _written_texts(text)
    return result if texts is None else _texts_in(result, texts)


WRITTEN_KEY = '"written":'


def _written_texts(text: str) -> dict[str, str] | None:
    """{part id: text} of the written answers in a result.json's (or a resume record's) text.

    Found without decoding the whole file (~90 KB, most of it cases and cells): the grader writes
    `written` after the cases and cells, and only scalars, the student and the late record after
    it, none of which has a key of that name; and the characters `"written":` cannot occur inside
    a JSON string (a quote in a string is escaped). So the last such key is the result's own. If
    what follows is not a list of answers (a file laid out by another tool), the file is decoded
    whole instead. None if the file is not a result."""
    at = text.rfind(WRITTEN_KEY)
    if at >= 0:
        start = at + len(WRITTEN_KEY)
        while start < len(text) and text[start] in " \t\r\n":
            start += 1
        try:
            found, _ = json.JSONDecoder().raw_decode(text, start)
            return {str(w["id"]): str(w["text"]) for w in found}
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    try:
        data = json.loads(text)
        data = data["result"] if "written" not in data and "result" in data else data
        return {str(w["id"]): str(w["text"]) for w in data["written"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def read_result(result_json: Path) -> Result | None:
    """The Result a result.json holds, or None if it cannot be read."""
    try:
        return Result.from_dict(json.loads(result_json.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _texts_from(result: Result, full: Result) -> Result:
    """`result` with each slim written answer's text taken from the same part of `full`."""
    return _texts_in(result, {w.id: w.text for w in full.written})


def _texts_in(result: Result, texts: dict[str, str]) -> Result:
    written = [WrittenAnswer(w.id, w.title, w.max_score, texts.get(w.id, ""), w.rubric, w.score, w.found, w.comment)
               if type(w) is SlimWritten else w for w in result.written]
    return dataclasses.replace(result, written=written)
