"""Turning judged cases into points: a question's points are shared out evenly over its cases."""
from __future__ import annotations

from .results import PASSED, CaseResult, Diagnosis, QuestionResult, QuestionStatus
from .spec import Question


def question_result(question: Question, cases: list[CaseResult], hints: dict[str, str]) -> QuestionResult:
    total = len(cases)
    passed = sum(1 for c in cases if c.status == PASSED)
    score = round(question.points * passed / total, 4) if total else 0.0
    if total and passed == total:
        status = QuestionStatus.PASSED
    elif passed:
        status = QuestionStatus.PARTIAL
    else:
        status = QuestionStatus.FAILED
    diagnosis: list[str] = []
    counts: dict[str, int] = {}
    for case in cases:
        for mistake in case.diagnosis:
            if mistake not in counts:
                diagnosis.append(mistake)
            counts[mistake] = counts.get(mistake, 0) + 1
    return QuestionResult(question.id, question.title, question.name, score, float(question.points), status,
                          cases, diagnosis, [Diagnosis(m, hints.get(m, ""), counts[m]) for m in diagnosis])
