"""One submission's way through the grader: load → run → compare → score, into a `Result`.

This is the function that `grader grade`, `grader check`, `grader batch` and the Gradescope entry
point all call. It never raises for a bad submission: whatever goes wrong ends up in the result.
"""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .compare import compare, describe, describe_input
from .diagnose import diagnose, locate
from .load import WRITTEN, LoadError, Program, load
from .results import (CRASHED, ERROR, FAILED, GRADED, MISSING, NOT_RUN, PASSED, TIMEOUT, UNREADABLE,
                      CaseResult, CellReport, Problem, QuestionResult, Result)
from .protocol import CallSpec, RawAnswer, RunReport
from .score import question_result
from .spec import PUBLIC, Case, CaseSet, Question
from .text import clean

# What a student sees for a hidden case that did not pass: the kind of failure, never its details
# (an exception message or a printed value could echo the hidden inputs).
HIDDEN_MESSAGES = {
    FAILED: "wrong answer",
    ERROR: "raised an exception or returned something that is not an answer",
    TIMEOUT: "took too long",
    CRASHED: "the process died",
    MISSING: "the name is not defined",
    NOT_RUN: "not run",
}


@dataclass
class Extras:
    """Hooks for what lies beside auto-grading (written answers, parsed numeric answers)."""

    # program -> {question id: raw value} for submissions that state answers in prose
    parse_written: Callable[[Program, CaseSet], dict[str, Any]] | None = None
    # (program, assignment) -> list of WrittenAnswer
    collect_written: Callable[[Program, Any], list] | None = None
    notes: list[str] = field(default_factory=list)


def grade(path: str | Path, case_set: CaseSet, run: Callable[[Program, list[CallSpec]], RunReport],
          name: str | None = None, visibility: str = "all", extras: Extras | None = None) -> Result:
    """Grade the submission at `path` on `case_set`; always returns a Result.

    `run` executes the program and calls it on the cases (`Session.run`: a sandboxed worker).
    """
    started = time.monotonic()
    path = Path(path)
    extras = extras or Extras()
    result = Result(submission=clean(name or path.name, 300).replace("\n", " "), status=GRADED, score=0.0,
                    max_score=case_set.assignment.max_score, assignment=case_set.assignment.name,
                    grader_version=__version__, case_set=case_set.digest, visibility=visibility)
    try:
        program = load(path)
    except LoadError as exc:
        result.status = UNREADABLE
        result.problems.append(Problem(exc.code, clean(exc.message, 500)))
        result.questions = unrun(case_set, f"not run: {clean(exc.message, 300)}")
        result.seconds = round(time.monotonic() - started, 3)
        return result
    except OSError as exc:
        result.status = UNREADABLE
        result.problems.append(Problem("unreadable", f"the submission could not be read: {exc.strerror}"))
        result.questions = unrun(case_set, "not run: the submission could not be read")
        result.seconds = round(time.monotonic() - started, 3)
        return result

    result.source_sha256 = program.sha256
    result.problems += [Problem(code, clean(message, 500)) for code, message in program.notes]
    if extras.collect_written is not None:
        result.written = extras.collect_written(program, case_set.assignment)

    if program.kind == WRITTEN:
        answers = _written_answers(program, case_set, extras)
        report = RunReport(answers=answers, isolation="not run (written answers)")
    else:
        report = run(program, _calls(case_set))
        result.cells = [CellReport(i, run.status, clean(run.error, 1000), _head(program, i))
                        for i, run in sorted(report.cells.items())]
        result.output = clean(report.output, 20000)
        if report.shell_escapes:
            escapes = "; ".join(clean(e, 80) for e in report.shell_escapes[:5])
            result.problems.append(Problem("shell-escape-not-run",
                                           f"shell commands are not run by the grader: {escapes}"))
        for note in report.notes:
            result.problems.append(Problem("isolation", clean(note, 300)))
    result.isolation = report.isolation

    result.questions += judge_all(case_set, report)
    result.score = round(sum(q.score for q in result.questions), 4)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def judge_all(case_set: CaseSet, report: RunReport) -> list[QuestionResult]:
    """Every question of `case_set` judged on the answers of `report` (also used by `grader.jupyter`,
    whose answers come from the live kernel rather than from a run of a file)."""
    questions = []
    for question in case_set.assignment.questions:
        cases = case_set.for_question(question.id)
        judged = [_judge(question, case, report.answers.get(case.uid), case_set.memo) for case in cases]
        hints = {m.id: m.hint for m in question.mistakes}
        where = _locate(question, case_set, cases, judged, report, hints)
        result = question_result(question, judged, hints)
        result.where = where
        questions.append(result)
    return questions


def _locate(question: Question, case_set: CaseSet, cases: list[Case], judged: list[CaseResult],
            report: RunReport, hints: dict[str, str]) -> list[str]:
    """Where the question's wrong answers go wrong (`diagnose.locate`), once per sentence; family
    ids found by the structure are added to their case's diagnosis, their hints to `hints`."""
    where: list[str] = []
    for case, verdict in zip(cases, judged):
        raw = report.answers.get(case.uid)
        if verdict.status != FAILED or raw is None or raw.status != "ok":
            continue
        probes = []
        for probe in case_set.probes_of(case.uid):
            answer = report.answers.get(probe.uid)
            if answer is not None and answer.status == "ok":
                probes.append((probe.probe, compare(question.kind, probe.expected, answer.value, question.tolerance,
                                                    question.keys).passed))
        finding = locate(question, case, raw.value, probes)
        verdict.diagnosis += [i for i in finding.ids if i not in verdict.diagnosis]
        for mid, hint in finding.hints.items():
            hints.setdefault(mid, hint)
        where += [w for w in finding.where if w not in where]
    return where


def calls(case_set: CaseSet) -> list[CallSpec]:
    """What to call for every case of `case_set` (the same for every submission)."""
    return _calls(case_set)


def _calls(case_set: CaseSet) -> list[CallSpec]:
    """What the worker is to call, made once per case set (the same for every submission)."""
    if ("calls",) not in case_set.memo:
        case_set.memo[("calls",)] = [_call(case_set.assignment.question(c.question_id), c) for c in case_set.cases]
    return case_set.memo[("calls",)]


def _call(question: Question, case: Case) -> CallSpec:
    return CallSpec(case.uid, question.id, question.name, question.call, question.kind, question.keys, case.args,
                    hidden=case.visibility != PUBLIC or bool(case.parent))     # probes last: see caseset._probes


def _written_answers(program: Program, case_set: CaseSet, extras: Extras) -> dict[str, RawAnswer]:
    parsed = extras.parse_written(program, case_set) if extras.parse_written else {}
    answers = {}
    for case in case_set.cases:
        if case.question_id in parsed:
            answers[case.uid] = RawAnswer(case.uid, "ok", parsed[case.question_id])
        else:
            answers[case.uid] = RawAnswer(case.uid, "not-run", message="not run: a written submission has no code; "
                                                                         "this answer was not found in the text")
    return answers


def _judge(question: Question, case: Case, raw: RawAnswer | None, memo: dict | None = None) -> CaseResult:
    """One case's verdict. `memo` (the case set's) keeps what depends on the case alone across submissions."""
    memo = {} if memo is None else memo
    public = case.visibility == PUBLIC
    tolerance = question.tolerance.describe() if question.kind in ("array", "array_dict") else "exact"
    result = CaseResult(case.uid, case.visibility, clean(case.label, 120), NOT_RUN, tolerance=tolerance)
    if public:
        if ("shown", case.uid) not in memo:
            memo[("shown", case.uid)] = (_inputs(question, case), describe(question.kind, case.expected))
        inputs, result.expected = memo[("shown", case.uid)]
        result.inputs = dict(inputs)
    if raw is None:
        result.message = "not run"
        return result
    result.seconds = raw.seconds
    if raw.status == "ok":
        verdict = compare(question.kind, case.expected, raw.value, question.tolerance, question.keys)
        result.status = {"passed": PASSED, "failed": FAILED}.get(verdict.status, ERROR)
        result.message = clean(verdict.message, 3000)
        if public:
            result.got = clean(describe(question.kind, raw.value), 3000)
        if not verdict.passed:
            result.diagnosis = diagnose(question, case, raw.value, memo)
    else:
        result.status = {"missing": MISSING, "timeout": TIMEOUT, "crashed": CRASHED, "not-run": NOT_RUN,
                         "unconvertible": ERROR}.get(raw.status, ERROR)
        result.message = clean(raw.message, 1000)
    if not public and result.status != PASSED:
        result.message = HIDDEN_MESSAGES.get(result.status, "did not pass")
    return result


def _inputs(question: Question, case: Case) -> dict[str, str]:
    if not case.args:
        return {}
    try:
        names = list(inspect.signature(question.reference).parameters)
    except (TypeError, ValueError):
        names = []
    if len(names) != len(case.args):
        names = [f"arg{i}" for i in range(len(case.args))]
    return {name: describe_input(value) for name, value in zip(names, case.args)}


def _head(program: Program, index: int) -> str:
    for unit in program.units:
        if unit.index == index:
            first = next((line for line in unit.source.splitlines() if line.strip()), "")
            return clean(first, 100)
    return ""


def unrun(case_set: CaseSet, message: str) -> list[QuestionResult]:
    questions = []
    for question in case_set.assignment.questions:
        cases = [CaseResult(c.uid, c.visibility, clean(c.label, 120), NOT_RUN,
                            message if c.visibility == PUBLIC else HIDDEN_MESSAGES[NOT_RUN])
                 for c in case_set.for_question(question.id)]
        questions.append(question_result(question, cases, {}))
    return questions

