"""The instructor's view of one submission: every case in full, hidden ones included.

`grader batch` writes it beside the student's report as `instructor.html` and `instructor.json`.
These are the only files that hold hidden cases' inputs, expected and returned values and the
real verdict (a regrade request needs them): the student report, result.json, the kit and
Gradescope's results.json never do (tests/test_instructor.py searches them for a canary).

The data comes from `Result.staff`, a trusted-only field that no JSON or student renderer walks.
Pure functions; every string is cleaned here and autoescaped by the template.
"""
from __future__ import annotations

import dataclasses

from dataclasses import dataclass

import jinja2

from ..results import PASSED, CaseResult, CaseStatus, Problem, Result, StaffCase, json_object_text, json_text, plain
from ..text import clean
from .html import environment, points

TEXT_LIMIT = 20000
NAME_LIMIT = 300
INSTRUCTOR_HTML = "instructor.html"
INSTRUCTOR_JSON = "instructor.json"
# Every file name that only staff may see (the batch, kit and packaging code keep them apart).
STAFF_FILES = frozenset({INSTRUCTOR_HTML, INSTRUCTOR_JSON})


@dataclass(frozen=True)
class CaseView:
    """One case as the instructor sees it: public ones from the result, hidden ones from its staff data."""

    uid: str
    visibility: str
    label: str
    status: CaseStatus
    inputs: dict[str, str]
    expected: str | None
    got: str | None
    message: str
    diagnosis: list[str]

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def _public(case: CaseResult) -> CaseView:
    return CaseView(case.uid, "public", clean(case.label, 200), case.status,
                    {clean(k, NAME_LIMIT): clean(v, TEXT_LIMIT) for k, v in (case.inputs or {}).items()},
                    clean(case.expected, TEXT_LIMIT) if case.expected is not None else None,
                    clean(case.got, TEXT_LIMIT) if case.got is not None else None,
                    clean(case.message, TEXT_LIMIT), [clean(d, 200) for d in case.diagnosis])


def _hidden(case: CaseResult, staff: StaffCase | None) -> CaseView:
    if staff is None:       # a result without staff data (loaded from JSON): say what is known
        return CaseView(case.uid, "hidden", clean(case.label, 200), case.status, {}, None, None,
                        "details not kept (this result was not graded in this run)", list(case.diagnosis))
    return CaseView(case.uid, "hidden", clean(staff.label, 200), staff.status,
                    {clean(k, NAME_LIMIT): clean(v, TEXT_LIMIT) for k, v in staff.inputs.items()},
                    clean(staff.expected, TEXT_LIMIT) if staff.expected is not None else None,
                    clean(staff.got, TEXT_LIMIT) if staff.got is not None else None,
                    clean(staff.message, TEXT_LIMIT), [clean(d, 200) for d in staff.diagnosis])


def case_views(result: Result) -> dict[str, list[CaseView]]:
    """Question id -> every case of that question, in the result's order, in full."""
    staff = {s.uid: s for s in result.staff}
    return {q.id: [_public(c) if c.visibility == "public" else _hidden(c, staff.get(c.uid)) for c in q.cases]
            for q in result.questions}


def instructor_data(result: Result, views: dict[str, list[CaseView]] | None = None) -> dict:
    """The instructor-only JSON: the result's scores and every case in full (`views`: `case_views`
    of the result, when already made for the page). A passed case's `got` is null: its value is
    the expected one within the tolerance."""
    views = case_views(result) if views is None else views
    return {**_head(result),
            "questions": [{**_question_head(q), "cases": plain(views[q.id])} for q in result.questions],
            **_tail(result)}


def _head(result: Result) -> dict:
    return {
        "audience": "instructor only: holds hidden cases' inputs and expected values; never give it to students",
        "submission": clean(result.submission, NAME_LIMIT),
        "status": result.status,
        "score": result.score,
        "max_score": result.max_score,
        "case_set": result.case_set,
    }


def _question_head(q) -> dict:
    """A question's part of the JSON before its cases (which come last)."""
    return {"id": q.id, "title": clean(q.title, NAME_LIMIT), "score": q.score, "max_score": q.max_score,
            "status": q.status, "diagnosis": list(q.diagnosis)}


def _tail(result: Result) -> dict:
    # the wrong answers as digests, for the copying evidence (grader.copying reads them back)
    return {"wrong_answers": [dataclasses.asdict(a) for a in result.wrong_answers]}


def _case_json(view: CaseView) -> str:
    return json_text(plain(view))


def instructor_json(result: Result, views: dict[str, list[CaseView]] | None = None,
                    env: jinja2.Environment | None = None) -> str:
    """`instructor_data` as JSON text. Given the run's templates' `env`, each case's text is
    kept in its table of case blocks (`CaseBlocks.staff_json`), so that a case alike for many
    students is encoded once in a run; the text is the same either way."""
    views = case_views(result) if views is None else views
    if env is None:
        return json_text(instructor_data(result, views))
    blocks = env.globals["case_blocks"]
    questions = ",".join(
        json_object_text(_question_head(q), "cases", "[" + ",".join([blocks.staff_json(c, _case_json)
                                                                      for c in views[q.id]]) + "]")
        for q in result.questions)
    return json_object_text(_head(result), "questions", f"[{questions}]", tail=_tail(result))


def instructor_html(result: Result, report_href: str | None = "report.html",
                    work_href: str | None = None, env: jinja2.Environment | None = None,
                    views: dict[str, list[CaseView]] | None = None) -> str:
    """The instructor-only page for one submission (links: the student's report, their work;
    `views`: `case_views` of the result, when already made for the JSON)."""
    views = case_views(result) if views is None else views
    hidden = [c for cases in views.values() for c in cases if c.visibility == "hidden"]
    return (env or environment()).get_template("staff.html").render(
        title=f"{clean(result.submission, NAME_LIMIT)} — instructor view",
        submission=clean(result.submission, NAME_LIMIT).replace("\n", " "),
        result=result,
        problems=[Problem(clean(p.code, NAME_LIMIT), clean(p.message, TEXT_LIMIT)) for p in result.problems],
        questions=[(q, views[q.id]) for q in result.questions],
        hidden_total=len(hidden),
        hidden_failed=sum(1 for c in hidden if not c.passed),
        hidden_passed=sum(1 for c in hidden if c.passed),
        report_href=report_href,
        work_href=work_href,
        auto=points(result.auto_score),
        auto_max=points(sum(q.max_score for q in result.questions)),
    )
