"""The terminal views of a `Result`: a per-question table (grade) and the student self-check."""
from __future__ import annotations

from ..results import PASSED, UNREADABLE, CellStatus, QuestionStatus, Result, code_unit
from ..totals import shown, totals

MARK = {QuestionStatus.PASSED: "✓", QuestionStatus.PARTIAL: "~", QuestionStatus.FAILED: "✗"}


def _points(value: float) -> str:
    return shown(value)


def table(result: Result) -> str:
    """What `grader grade` prints: one line per question, then the problems."""
    sums = totals(result)       # the report's total and breakdown (grader.totals), not the automatic part alone
    breakdown = f"; {sums.line()}" if sums.written_parts or sums.penalty else ""
    lines = [f"{result.submission}: {_points(sums.total)} / {_points(sums.max)}"
             f"   ({result.status}{breakdown}; isolation: {result.isolation or 'none'}; cases {result.case_set})"]
    for problem in result.problems:
        lines.append(f"  ! {problem.message}")
    width = max((len(q.id) for q in result.questions), default=4)
    for q in result.questions:
        passed = sum(1 for c in q.cases if c.status == PASSED)
        diag = f"  [{', '.join(q.diagnosis)}]" if q.diagnosis else ""
        lines.append(f"  {MARK.get(q.status, '?')} {q.id:<{width}}  {_points(q.score):>5} / {_points(q.max_score):<3}"
                     f"  {passed}/{len(q.cases)} cases  {q.title}{diag}")
    failed_cells = [c for c in result.cells if c.status != CellStatus.OK]
    for cell in failed_cells:
        lines.append(f"  {code_unit(result.kind, cell.index)} {cell.status}: "
                     f"{cell.error.splitlines()[0] if cell.error else ''}")
    return "\n".join(lines)


def self_check(result: Result) -> str:
    """What `grader check` prints: every public case, and why a failing one fails."""
    lines = []
    if result.status == UNREADABLE:
        lines.append(f"✗ {result.submission} could not be graded:")
        lines += [f"    {p.message}" for p in result.problems]
        return "\n".join(lines)
    total = sum(len(q.cases) for q in result.questions)
    passed = sum(1 for q in result.questions for c in q.cases if c.status == PASSED)
    lines.append(f"Self-check of {result.submission}: {passed} of {total} public cases pass.")
    for problem in result.problems:
        lines.append(f"  ! {problem.message}")
    for cell in result.cells:
        if cell.status != CellStatus.OK:
            first = cell.error.splitlines()[0] if cell.error else ""
            lines.append(f"  ! {code_unit(result.kind, cell.index, cell.source_head)} {cell.status}: {first}")
    for q in result.questions:
        ok = sum(1 for c in q.cases if c.status == PASSED)
        lines.append(f"\n{MARK.get(q.status, '?')} {q.id}  {q.title}  ({q.name}): {ok}/{len(q.cases)} public cases pass")
        for case in q.cases:
            if case.status == PASSED:
                continue
            lines.append(f"    ✗ case {case.label}: {case.status}")
            for text in case.message.splitlines()[:6]:
                lines.append(f"        {text}")
        for hint in q.hints:
            lines.append(f"    hint ({hint.id}): {hint.hint}")
    lines.append("\nOnly the public cases were run. Hidden cases (more sizes and edge cases) are graded "
                 "after you hand in; passing every public case does not guarantee full marks.")
    return "\n".join(lines)

