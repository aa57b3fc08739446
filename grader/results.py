"""The results of grading, as plain dataclasses that serialise to JSON through `plain`.

Every renderer (terminal, JSON, HTML, CSV, Gradescope) is a pure function of a `Result`; nothing
here knows about any output format. Values shown to people are stored already formatted as text
(`expected`, `got`, inputs) so that a report never needs the arrays, and hidden cases simply carry
none of them.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator


class Status(str, enum.Enum):
    """A status: a string enum whose members *are* their values ("passed" == CaseStatus.PASSED).

    `str` + `Enum` rather than `enum.StrEnum` (3.11+) because Python 3.10 must work; `__str__`
    is the value, as with StrEnum, so that templates, f-strings and CSV show "passed", not
    "CaseStatus.PASSED", and `repr` is the string's, so that a printed list of statuses looks as
    it always did. The JSON encoder writes a str subclass as its text: every output file is byte
    for byte what plain strings gave.
    """

    def __str__(self) -> str:
        return str.__str__(self)

    __format__ = str.__format__
    __repr__ = str.__repr__          # a list of statuses prints as it always has: ['passed', 'not-run']


# What was handed in (grader.load reads it; a result keeps it, so that a report names a module's
# code as the module and not as "cell 0").
NOTEBOOK = "notebook"
MODULE = "module"
WRITTEN = "written"


# The self-check's own package: the template tells students to call it in a cell of their own, which
# the graded run cannot import (and need not): a cell's `missing_module` with this value is that cell.
SELF_CHECK_MODULE = "grader"


def code_unit(kind: str, index: int, head: str = "") -> str:
    """How a report names where code ran: "cell 4" (with its first line, "cell 4 (import numpy)")
    in a notebook; "the module" for a .py, whose first line says nothing of where it stopped."""
    if kind == MODULE:
        return "the module"
    return f"cell {index} ({head})" if head else f"cell {index}"


class CaseStatus(Status):
    """What happened to one case. Only PASSED earns points."""

    PASSED = "passed"
    FAILED = "failed"          # ran and returned a wrong (or wrongly shaped, or non-finite) answer
    ERROR = "error"            # raised an exception, or returned something that is not an answer
    TIMEOUT = "timeout"
    CRASHED = "crashed"        # the process died (segfault, os._exit, memory limit, ...)
    MISSING = "missing"        # the name is not defined by the submission
    NOT_RUN = "not-run"        # not attempted (time budget used up, earlier time-outs, unreadable file)


class QuestionStatus(Status):
    """A question as a whole: every case passed, some did, or none."""

    PASSED = "passed"
    PARTIAL = "partial"
    FAILED = "failed"


class SubmissionStatus(Status):
    """A submission as a whole."""

    GRADED = "graded"          # the submission ran; its questions were graded (some may have failed)
    UNREADABLE = "unreadable"  # the file could not be read as a submission at all; every question scores 0
    ERROR = "error"            # the grader itself failed on it; nothing was graded
    NO_SUBMISSION = "no-submission"  # on the roster, nothing handed in (grader.course); no questions


class CellStatus(Status):
    """What happened when one code cell (or the whole module) was executed."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    SKIPPED = "skipped"


class Standing(Status):
    """Where a submission goes in the class view (grader.render.classview.standing). Only COUNTED
    ones enter the statistics: a blank template or an unreadable file says nothing about how the
    class did, and counted as zeros it pulled the mean down."""

    COUNTED = "graded"
    BLANK = "blank"            # ran, but nothing in it was attempted (the template as handed out)
    UNGRADABLE = "unreadable"  # could not be read, or the grader failed on it


class PartStatus(Status):
    """A written part in the student's saved notebook, as the self-check sees it (grader.selfcheck)."""

    FOUND = "found"
    EMPTY = "empty"            # only the template's placeholder
    NO_MARKER = "no-marker"    # its `<!-- answer: ID -->` line is gone, so nobody will see the answer


STATUS_TYPES = (CaseStatus, QuestionStatus, SubmissionStatus, CellStatus, Standing, PartStatus)

# The members under short names, as the code has always spelt them. ERROR is the case status;
# the submission status is SubmissionStatus.ERROR (equal as text, a different member).
PASSED, FAILED, ERROR, TIMEOUT, CRASHED, MISSING, NOT_RUN = CaseStatus
CASE_STATUSES = tuple(CaseStatus)
GRADED, UNREADABLE, NO_SUBMISSION = SubmissionStatus.GRADED, SubmissionStatus.UNREADABLE, SubmissionStatus.NO_SUBMISSION


# What a student sees for a hidden case that did not pass: the kind of failure, never its details
# (an exception message or a printed value could echo the hidden inputs). Set by the pipeline,
# shown again by the renderers that re-word a verdict (Gradescope).
HIDDEN_MESSAGES = {
    CaseStatus.FAILED: "wrong answer",
    CaseStatus.ERROR: "raised an exception or returned something that is not an answer",
    CaseStatus.TIMEOUT: "took too long",
    CaseStatus.CRASHED: "the process died",
    CaseStatus.MISSING: "the name is not defined",
    CaseStatus.NOT_RUN: "not run",
}


def _coerce(obj: Any, name: str, kind: type) -> None:
    """Make `obj.name` a member of `kind` (a result built by hand or read from JSON holds the text);
    an unknown value is a ValueError that names it."""
    value = getattr(obj, name)
    if type(value) is not kind:
        object.__setattr__(obj, name, kind(value))


# Problems about the grader's own set-up, not about the submission: the repository's DEMO secret,
# a weaker sandbox than asked for, an [environment] list this Python lacks. The student can do
# nothing about them (and reads them as a fault of their own), so their pages leave them out;
# staff read them once, on the class view and on each instructor page.
SETUP_PROBLEMS = frozenset({"demo-secret", "isolation", "environment-incomplete"})


@dataclass
class Problem:
    """Something wrong with the submission as a whole, with a stable code for machines."""

    code: str
    message: str

    @property
    def for_staff(self) -> bool:
        """About the grader's set-up (SETUP_PROBLEMS): shown to staff, never on a student's page."""
        return self.code in SETUP_PROBLEMS


@dataclass
class CaseResult:
    uid: str
    visibility: str
    label: str
    status: CaseStatus
    message: str = ""
    tolerance: str = ""
    inputs: dict[str, str] | None = None   # public cases only
    expected: str | None = None            # public cases only
    got: str | None = None                 # public cases only
    diagnosis: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        _coerce(self, "status", CaseStatus)

    @property
    def passed(self) -> bool:
        return self.status is CaseStatus.PASSED


@dataclass
class Diagnosis:
    """A known mistake recognised in a question's answers, with a hint that does not give the answer."""

    id: str
    hint: str
    cases: int = 0


@dataclass
class QuestionResult:
    id: str
    title: str
    name: str
    score: float
    max_score: float
    status: QuestionStatus
    cases: list[CaseResult] = field(default_factory=list)
    diagnosis: list[str] = field(default_factory=list)
    hints: list[Diagnosis] = field(default_factory=list)
    where: list[str] = field(default_factory=list)   # where the wrong answers go wrong (grader.diagnose.locate)

    def __post_init__(self) -> None:
        _coerce(self, "status", QuestionStatus)

    @property
    def public(self) -> list[CaseResult]:
        return [c for c in self.cases if c.visibility == "public"]

    @property
    def hidden(self) -> list[CaseResult]:
        return [c for c in self.cases if c.visibility == "hidden"]


@dataclass
class CellReport:
    """What happened when one code cell (or the whole module) was executed."""

    index: int
    status: CellStatus
    error: str = ""
    source_head: str = ""
    missing_module: str = ""       # the module whose import failed in this cell, if that was the error
    figures: list[str] = field(default_factory=list)   # the plots it drew: base64 PNGs, small and few
    figures_dropped: int = 0       # plots drawn but not kept (over the submission's bound)

    def __post_init__(self) -> None:
        _coerce(self, "status", CellStatus)


@dataclass
class WrittenAnswer:
    """A free-text part collected for a person to grade."""

    id: str
    title: str
    max_score: float
    text: str
    rubric: str = ""
    score: float | None = None     # None until a TA has scored it
    found: bool = True
    comment: str = ""              # the TA's comment, with the score (grader.manual)


# A field with this metadata is the trusted side's alone: `plain` (hence every JSON file), the HTML
# renderers' sanitised copies and `field_names` leave it out; only instructor-only files carry it
# (grader.render.instructor, the copying evidence).
TRUSTED_ONLY = {"trusted_only": True}


@dataclass
class AnswerPrint:
    """A wrong answer (public or hidden) reduced to a digest of its value: the evidence of copying
    that identical wrong numbers give. Trusted only: a digest of a low-entropy answer could tell a
    student something about a hidden input."""

    case: str
    question: str
    label: str
    digest: str
    shown: str = ""                # the value, described for the instructor
    named: list[str] = field(default_factory=list)   # catalogued mistakes that explain it
    degenerate: bool = False       # zeros, a constant, non-finite values

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "AnswerPrint":
        return cls(case=str(raw["case"]), question=str(raw["question"]), label=str(raw.get("label", "")),
                   digest=str(raw["digest"]), shown=str(raw.get("shown", "")),
                   named=[str(n) for n in raw.get("named", [])], degenerate=bool(raw.get("degenerate", False)))


@dataclass
class StaffCase:
    """Everything about one hidden case that a student must never see, kept for the instructor.

    A regrade request ("why did hidden case 3 fail?") needs the inputs, the expected and returned
    values and the real verdict; the student-facing CaseResult of a hidden case holds none of them.
    """

    uid: str
    question: str
    label: str
    status: CaseStatus
    inputs: dict[str, str] = field(default_factory=dict)
    expected: str | None = None
    got: str | None = None
    message: str = ""              # the comparison's own message (the mismatch), not the generic one
    diagnosis: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _coerce(self, "status", CaseStatus)


@dataclass
class Student:
    """Who handed a submission in, as the learning-management system knows them (`grader.lms`).

    Kept in the result so that a gradebook can be sent back to the LMS by its own ids, and so that
    the report shows what the LMS said (file names, submission time, late flag) beside the grade.
    """

    id: str                        # the LMS's id: Canvas user id, Gradescope SID (else e-mail), Moodle participant id
    name: str = ""                 # display name as the LMS writes it
    lms: str = ""                  # canvas | gradescope | moodle | folder | roster
    submission_id: str = ""        # the LMS's id of the hand-in (Canvas attachment, Gradescope submission)
    files: list[str] = field(default_factory=list)   # original file names, as uploaded
    submitted_at: str = ""         # ISO 8601; "" when the LMS does not say
    late: bool | None = None       # the LMS's own late flag; None when it does not say
    email: str = ""
    sis_id: str = ""
    login: str = ""
    section: str = ""
    on_roster: bool | None = None  # None: no roster given


@dataclass
class Late:
    """The late policy applied to one submission (`grader.late`)."""

    due: str                       # ISO 8601
    submitted_at: str              # ISO 8601, or "" when only the LMS's late flag was known
    days: int                      # periods charged
    percent: float                 # share of the score taken, in percent (after the cap)
    points: float                  # points taken
    note: str = ""


@dataclass
class RegradeItem:
    """A score that moved since the submission was last graded: a question id or "total"."""

    item: str
    old: float | None
    new: float | None


@dataclass
class Regrade:
    """What changed since this submission was last graded (grader.diff.regrade), for the student
    and for a TA answering them: when it was graded again, the scores that moved, and the recorded
    inputs that differ (a tolerance, the case set, the grader, the hand-in itself)."""

    when: str                      # ISO 8601 date and time (UTC) of the grading that changed them
    items: list[RegradeItem] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class Result:
    """One submission, graded."""

    submission: str
    status: SubmissionStatus
    score: float
    max_score: float
    questions: list[QuestionResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cells: list[CellReport] = field(default_factory=list)
    output: str = ""               # what top-level execution printed (truncated, sanitised)
    written: list[WrittenAnswer] = field(default_factory=list)
    assignment: str = ""
    grader_version: str = ""
    case_set: str = ""             # digest of the case set, so a re-grade can be checked to be the same
    visibility: str = "all"        # "all" (instructor run) or "public" (student self-check)
    isolation: str = ""            # the isolation level actually used to run the code
    source_sha256: str = ""
    kind: str = ""                 # NOTEBOOK, MODULE or WRITTEN; "" when unreadable (or in an older result)
    seconds: float = 0.0
    student: Student | None = None  # who, by the LMS's ids (None for a file graded alone)
    late: Late | None = None        # the late penalty taken from `score`, if any
    regrade: Regrade | None = None  # what changed since it was last graded (a re-run of a batch)
    # Hidden cases in full, for the instructor-only view. Never serialised with the result
    # (result.json keeps inputs/expected/got of hidden cases as null): see TRUSTED_ONLY.
    staff: list[StaffCase] = field(default_factory=list, repr=False, compare=False, metadata=TRUSTED_ONLY)
    # Wrong answers as digests, for the copying evidence (grader.similarity): TRUSTED_ONLY too.
    wrong_answers: list[AnswerPrint] = field(default_factory=list, repr=False, compare=False, metadata=TRUSTED_ONLY)

    def __post_init__(self) -> None:
        _coerce(self, "status", SubmissionStatus)

    @property
    def auto_score(self) -> float:
        return float(sum(q.score for q in self.questions))

    def to_dict(self) -> dict[str, Any]:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Result":
        def build(kind: type, raw: dict[str, Any]) -> Any:
            names = set(field_names(kind) or ())
            return kind(**{k: v for k, v in raw.items() if k in names})

        raw = dict(data)
        questions = []
        for q in raw.pop("questions", []):
            q = dict(q)
            cases = [build(CaseResult, c) for c in q.pop("cases", [])]
            hints = [build(Diagnosis, h) for h in q.pop("hints", [])]
            questions.append(build(QuestionResult, {**q, "cases": cases, "hints": hints}))
        return build(cls, {
            **raw,
            "questions": questions,
            "problems": [build(Problem, p) for p in raw.get("problems", [])],
            "cells": [build(CellReport, c) for c in raw.get("cells", [])],
            "written": [build(WrittenAnswer, w) for w in raw.get("written", [])],
            "student": build(Student, raw["student"]) if isinstance(raw.get("student"), dict) else None,
            "late": build(Late, raw["late"]) if isinstance(raw.get("late"), dict) else None,
            "regrade": _regrade(raw.get("regrade"), build),
        })


def _regrade(raw: Any, build) -> Regrade | None:
    """A result's `regrade` read back from JSON (None for none, or for one that is not a mapping)."""
    if not isinstance(raw, dict):
        return None
    items = [build(RegradeItem, i) for i in raw.get("items", []) if isinstance(i, dict)]
    return build(Regrade, {**raw, "items": items})


@functools.cache
def field_names(cls: type) -> tuple[str, ...] | None:
    """The fields of a dataclass, looked up once per class (the tree walks are hot); None for
    any other class. Trusted-only fields are not among them: what walks a Result by these names
    (JSON, the reports' sanitised copies) never carries them."""
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("trusted_only"))


# Values that are their own JSON (and hold nothing to walk into). A status is a str: the JSON
# encoder writes its value, so `plain` leaves it as it is and `from_dict` gets the member back.
ATOMS = frozenset({str, int, float, bool, type(None), *STATUS_TYPES})


def plain(value: Any) -> Any:
    """`value` as JSON-ready dicts and lists: what `dataclasses.asdict` gives, several times faster.

    A batch serialises every Result two or three times (result.json, the resume record,
    results.json), so this is on the hot path. The speed comes from not deep-copying the leaves,
    which in a Result are all immutable (str, numbers, None), and from dispatching on the exact
    type; every dict and list is still a fresh copy, so changing the returned data never changes
    the Result.
    """
    kind = type(value)
    if kind in ATOMS:
        return value
    if kind is list or kind is tuple:
        return [v if type(v) in ATOMS else plain(v) for v in value]
    if kind is dict:
        return {k: v if type(v) in ATOMS else plain(v) for k, v in value.items()}
    names = field_names(kind)
    if names is not None:
        out = {}
        for name in names:
            v = getattr(value, name)
            out[name] = v if type(v) in ATOMS else plain(v)
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def json_object_chunks(head: dict[str, Any], key: str, items: Iterable[Any], encoded: bool = False) -> Iterator[str]:
    """The JSON text of `{**head, key: list(items)}` (as `json_text` writes it), in pieces: each
    item is encoded as it comes, so a class's results.json is never held whole, nor its list.
    `encoded`: the items are their `json_text` already."""
    yield "{"
    for name, value in head.items():
        yield f"{json_text(name)}:{json_text(value)},"
    yield f"{json_text(key)}:["
    for i, item in enumerate(items):
        yield ("," if i else "") + (item if encoded else json_text(item))
    yield "]}"


def json_object_text(head: dict[str, Any], key: str, encoded: str, tail: dict[str, Any] | None = None) -> str:
    """The JSON text of `{**head, key: value, **tail}` as `json_text` writes it, given `encoded`,
    the text `json_text(value)` already made: a student's resume record holds their whole result,
    which result.json has just encoded (encoding it twice was ~1 ms of each student's writing)."""
    members = [f"{json_text(name)}:{json_text(value)}" for name, value in head.items()]
    members.append(f"{json_text(key)}:{encoded}")
    members += [f"{json_text(name)}:{json_text(value)}" for name, value in (tail or {}).items()]
    return "{" + ",".join(members) + "}"


def json_text(data: Any) -> str:
    """The JSON text of plain data as the grader's output files hold it: UTF-8, no NaN, compact.

    Compact because Python's json module only uses its C encoder without `indent`: indented, a
    class's results.json took a tenth of a second to write. `python -m json.tool` shows it indented.
    Results are trees (`plain` makes fresh dicts and lists), so there is no cycle to look for.
    """
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False)
