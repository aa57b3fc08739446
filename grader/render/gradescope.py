"""Gradescope's results.json, as a pure function of a `Result`.

The format is Gradescope's autograder specification ("Output format" of the autograder docs):
top-level `score`, `execution_time`, `output`, `tests` (each with `name`, `number`, `score`,
`max_score`, `status`, `output`, `visibility`, formats). Every question becomes up to two tests:

* "<question> — public cases": always `visible`. Students see each public case, why it failed,
  the expected and returned values, and the mistake hints that public cases gave rise to.
* "<question> — hidden cases": with the configured visibility (`after_published` by default).
  Only pass/fail per hidden case and a generic reason ("wrong answer"): never the inputs, the
  expected values, the returned values, the labels, exception messages or hints found on them.

Each case is worth the same share of its question, so the two tests of a question add up to the
question's score.

The total score must not reveal the hidden cases either. Gradescope's autograder specification
("Controlling Test Case Visibility") says: "If test cases are hidden, students will not be able to
see their total score." So by default the hidden tests are `hidden` and the top-level score is the
full total (the gradebook is right, and students see neither the hidden tests nor the total).
`hidden_score="public-only"` instead makes the top-level score the public tests' alone (students
may see it; the hidden points are in `extra_data` and in `grader batch`'s grades), for courses that
want students to see a score before the hidden results are released. With `after_due_date` /
`after_published` and the full total, the specification does not say the total stays hidden until
then: `overall_output` does not mention it, and the README says so.

All text is plain (`output_format` "text": Gradescope shows it verbatim, so
no student-controlled HTML is ever interpreted) and is passed through `text.clean` once more here.
Problems meant for the instructor (the demo-secret warning, isolation notes) stay out of
what students see; the instructor gets them in the run's stdout.
"""
from __future__ import annotations

from typing import Any

from ..results import (HIDDEN_MESSAGES, PASSED, SETUP_PROBLEMS, UNREADABLE, CaseResult, CellStatus, Late, QuestionResult,
                       code_unit, QuestionStatus, Result, SubmissionStatus)
from ..text import clean

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
INSTRUCTOR_ONLY = SETUP_PROBLEMS | {"internal-error"}    # the student is told "not your fault" instead
OUTPUT_LIMIT = 8000          # characters per test output
TOTAL_LIMIT = 20000          # characters of the top-level output
PRINTED_LIMIT = 3000         # characters of what the notebook printed
# A Gradescope test's status, in Gradescope's words (which are ours): full marks or not.
TEST_PASSED, TEST_FAILED = QuestionStatus.PASSED.value, QuestionStatus.FAILED.value


def _points(value: float) -> float:
    return round(float(value), 4)


def _share(question: QuestionResult, cases: list[CaseResult]) -> tuple[float, float]:
    """(score, max_score) of `cases`, each worth an equal share of the question's points."""
    if not question.cases:
        return 0.0, 0.0
    each = question.max_score / len(question.cases)
    passed = sum(1 for c in cases if c.status == PASSED)
    return _points(each * passed), _points(each * len(cases))


def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def public_output(question: QuestionResult, hints: dict[str, str]) -> str:
    cases = question.public
    passed = sum(1 for c in cases if c.status == PASSED)
    lines = [f"`{question.name}`: {passed} of {len(cases)} public cases pass."]
    # The hints first: the case details below may be long enough to be cut at OUTPUT_LIMIT.
    seen: list[str] = []
    for case in cases:
        if case.status != PASSED:
            seen += [m for m in case.diagnosis if m not in seen]
    lines += [f"hint: {hints[mistake]}" for mistake in seen if hints.get(mistake)]
    said: dict[str, int] = {}        # a reason shared by many cases (nothing could be run) is said once
    for number, case in enumerate(cases, 1):
        mark = "✓" if case.status == PASSED else "✗"
        lines.append(f"{mark} case {number} ({case.label}): {case.status}")
        if case.status == PASSED:
            continue
        if case.message and case.message in said:
            lines.append(_indent(f"(the same as case {said[case.message]})"))
        elif case.message:
            said[case.message] = number
            lines.append(_indent(case.message))
        if case.inputs:
            lines.append("    inputs:")
            lines += [_indent(f"{name} = {value}") for name, value in case.inputs.items()]
        if case.expected:
            lines += ["    expected:", _indent(case.expected)]
        if case.got:
            lines += ["    got:", _indent(case.got)]
        if case.tolerance:
            lines.append(f"    tolerance: {case.tolerance}")
    return clean("\n".join(lines), OUTPUT_LIMIT)


def hidden_output(question: QuestionResult) -> str:
    cases = question.hidden
    passed = sum(1 for c in cases if c.status == PASSED)
    lines = [f"`{question.name}`: {passed} of {len(cases)} hidden cases pass."]
    for number, case in enumerate(cases, 1):
        # A generic reason by status, never the stored message: no label, no values.
        verdict = PASSED.value if case.status == PASSED else HIDDEN_MESSAGES.get(case.status, "did not pass")
        lines.append(f"{'✓' if case.status == PASSED else '✗'} hidden case {number}: {verdict}")
    return clean("\n".join(lines), OUTPUT_LIMIT)


def _test(name: str, number: str, score: float, max_score: float, output: str, visibility: str) -> dict[str, Any]:
    return {"name": clean(name, 200), "name_format": "text", "number": number, "score": score,
            "max_score": max_score, "status": TEST_PASSED if score >= max_score else TEST_FAILED,
            "output": output, "output_format": "text", "visibility": visibility}


def tests(result: Result, hidden_visibility: str) -> list[dict[str, Any]]:
    found = []
    for question in result.questions:
        hints = {h.id: h.hint for h in question.hints}
        if question.public:
            score, max_score = _share(question, question.public)
            found.append(_test(f"{question.title} — public cases", question.id, score, max_score,
                               public_output(question, hints), "visible"))
        if question.hidden:
            score, max_score = _share(question, question.hidden)
            found.append(_test(f"{question.title} — hidden cases", f"{question.id} hidden", score, max_score,
                               hidden_output(question), hidden_visibility))
    return found


def overall_output(result: Result, hidden_visibility: str = "hidden") -> str:
    public = [c for q in result.questions for c in q.public]
    hidden = [c for q in result.questions for c in q.hidden]
    lines = []
    if result.status == UNREADABLE:
        lines.append("Your submission could not be graded: it could not be read as a notebook or module.")
    elif result.status == SubmissionStatus.ERROR:
        lines.append("The autograder failed on your submission (this is not your fault); your instructor "
                     "has the details. You may resubmit, or ask your instructor.")
    else:
        lines.append(f"Public cases: {sum(c.status == PASSED for c in public)} of {len(public)} pass.")
        if hidden:
            when = {"hidden": "they are not shown here; your instructor has them",
                    "after_due_date": "their results are shown after the due date",
                    "after_published": "their results are shown when your instructor publishes the grades",
                    "visible": "their results are below"}.get(hidden_visibility, "")
            lines.append(f"Hidden cases: {len(hidden)} more cases are graded; {when}.")
    for problem in result.problems:
        if problem.code == "late-penalty" and result.late is not None:
            lines.append(late_line(result.late))
        elif problem.code not in INSTRUCTOR_ONLY:
            lines.append(f"! {problem.message}")
    for cell in result.cells:
        if cell.status != CellStatus.OK:
            first = cell.error.splitlines()[0] if cell.error else ""
            lines.append(f"! {code_unit(result.kind, cell.index, cell.source_head)} {cell.status}: {first}")
    if result.written:
        lines.append("Written parts are graded by a person: "
                     + ", ".join(f"{w.id}{'' if w.found else ' (not found)'}" for w in result.written) + ".")
    if result.output.strip():
        lines += ["", "What your notebook printed while it ran:", clean(result.output, PRINTED_LIMIT)]
    return clean("\n".join(lines), TOTAL_LIMIT)


def late_line(late: Late) -> str:
    """The late penalty in words, without points: the output is visible while the hidden tests,
    and with them the total (which the penalty's points would give away), may not be."""
    unit = "day" if late.days == 1 else "days"
    when = f"Handed in {late.submitted_at}" if late.submitted_at else "Handed in late"
    return (f"! {when}, {late.days} {unit} after your due date {late.due}: "
            f"−{late.percent:g}% of the points earned.")


HIDDEN_SCORES = ("total", "public-only")


def results_json(result: Result, hidden_visibility: str = "hidden",
                 execution_time: float | None = None, hidden_score: str = "total") -> dict[str, Any]:
    """The results.json object for one graded submission (see the module docstring for the two
    `hidden_score` policies)."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"{hidden_visibility!r} is not a Gradescope visibility {VISIBILITIES}")
    if hidden_score not in HIDDEN_SCORES:
        raise ValueError(f"{hidden_score!r} is not one of {HIDDEN_SCORES}")
    found = tests(result, hidden_visibility)
    score = _points(result.score)
    extra: dict[str, Any] = {}
    if hidden_score == "public-only" and hidden_visibility != "visible":
        hidden = [t for t in found if t["number"].endswith(" hidden")]
        extra = {"hidden_score": _points(sum(t["score"] for t in hidden)),
                 "hidden_max_score": _points(sum(t["max_score"] for t in hidden))}
        for test in hidden:          # their points are withheld: 0 of 0, said in the test's output; the
            test["score"], test["max_score"] = 0.0, 0.0       # status stays what the cases gave
            test["output"] = "(these points are not counted in the score shown here)\n" + test["output"]
        score = _points(sum(t["score"] for t in found))
        if result.late is not None:        # the late penalty is a share of what was earned: of this score too
            score = _points(max(0.0, score * (1 - result.late.percent / 100.0)))
    data: dict[str, Any] = {
        "score": score,
        "output": overall_output(result, hidden_visibility),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
        "tests": found,
        "extra_data": {"grader_version": result.grader_version, "case_set": result.case_set,
                       "status": result.status, "hidden_score_policy": hidden_score, **extra},
    }
    seconds = result.seconds if execution_time is None else execution_time
    data["execution_time"] = max(0, int(round(seconds)))
    return data


def failure_json(message: str, execution_time: float = 0.0) -> dict[str, Any]:
    """results.json when the autograder could not even produce a Result (setup broken)."""
    return {"score": 0.0, "execution_time": max(0, int(round(execution_time))), "output_format": "text",
            "output": clean("The autograder could not grade this submission (this is not your fault); your "
                            f"instructor has the details. {message}", TOTAL_LIMIT),
            "stdout_visibility": "hidden", "tests": []}
