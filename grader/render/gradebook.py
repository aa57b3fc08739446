"""The gradebook: one CSV row per submission, ready for a spreadsheet or an LMS import.

Columns: student, one per question id, `written` (only when some result has written parts),
`late_penalty` (points taken by the late policy; only when some result was late), `total`, `max`
(one number for the whole class), `status` (as the class view says it: "blank" for the template
handed in untouched). `total` and `max` include the written parts: `written` is the sum of the
points a person has given so far (empty until one is given), and `max` counts every written part's
maximum, scored or not, so that a column of totals is always out of the same number.

A student picks their own file name, and a spreadsheet treats a cell that starts with `=`, `+`, `-`
or `@` as a formula (CSV injection): such text cells get a leading apostrophe, which spreadsheets
show as plain text. Numbers are written as numbers.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable

from ..results import Result
from ..text import clean, formula_safe
from ..totals import totals
from .classview import status_word

def cell_text(text: str) -> str:
    """Text safe to put in a spreadsheet cell: one line, no control characters, never a formula."""
    text = clean(text, 300).replace("\n", " ").replace("\t", " ")
    return formula_safe(text)


def number(value: float | None) -> str:
    """A score with at most four decimals and no trailing zeros; empty for 'none yet'."""
    if value is None:
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def header(question_ids: list[str], with_written: bool, with_late: bool = False) -> list[str]:
    return ["student", *(cell_text(q) for q in question_ids), *(["written"] if with_written else []),
            *(["late_penalty"] if with_late else []), "total", "max", "status"]


def full_marks(result: Result) -> float:
    """Every question's and every written part's points, scored or not."""
    return sum(q.max_score for q in result.questions) + sum(w.max_score for w in result.written)


def row(result: Result, question_ids: list[str], with_written: bool, class_max: float | None = None,
        with_late: bool = False) -> list[str]:
    by_id = {q.id: q for q in result.questions}
    scores = [number(by_id[qid].score) if qid in by_id else "" for qid in question_ids]
    sums = totals(result)          # the same numbers as every report header (grader.totals)
    cells = [cell_text(result.submission), *scores]
    if with_written:
        cells.append(number(sums.written))
    if with_late:
        cells.append(number(sums.penalty if result.late is not None else None))
    cells += [number(sums.total), number(class_max if class_max is not None else sums.max), cell_text(status_word(result))]
    return cells


def csv_text(results: Iterable[Result], question_ids: list[str]) -> str:
    """The gradebook as CSV text (RFC 4180 quoting, `\\r\\n` line ends as the csv module writes them)."""
    results = list(results)
    with_written = any(r.written for r in results)
    out = io.StringIO()
    writer = csv.writer(out)
    with_late = any(r.late is not None for r in results)
    writer.writerow(header(list(question_ids), with_written, with_late))
    # One maximum for the whole class (a module hand-in has no written parts, a missing student no
    # questions): a column of totals is out of one number.
    class_max = max((full_marks(r) for r in results), default=0.0)
    for result in results:
        writer.writerow(row(result, list(question_ids), with_written, class_max, with_late))
    return out.getvalue()
