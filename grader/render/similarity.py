"""The instructor's page and CSV of copying evidence: pure functions of `similarity.Pair` records.

Never part of anything a student sees: the page shows both students' code, their written
answers and the wrong values they returned on hidden cases. Every student string goes through
`clean` and Jinja2's autoescape; highlighted code is split into plain segments that the template
wraps in <mark>, so no markup is ever built by string concatenation.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from ..similarity import Evidence, Pair, Thresholds
from ..text import clean
from .gradebook import cell_text

CODE_LIMIT = 60000      # characters of each student's code shown per pair
SHOWN = 200             # flagged pairs the page lays out (the CSV lists every pair)


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool


@dataclass
class PairView:
    """One flagged pair as the page lays it out."""

    rank: int
    a: str
    b: str
    combined: float
    code: float
    text: float
    numbers: float
    reasons: list[str]
    code_a: list[Segment] = field(default_factory=list)
    code_b: list[Segment] = field(default_factory=list)
    text_parts: list[tuple[str, float]] = field(default_factory=list)
    written: list[tuple[str, str, str]] = field(default_factory=list)   # (part, text of a, text of b)
    shared_wrong: list[tuple[str, str, str]] = field(default_factory=list)  # (question, case label, value)


def segments(code: str, marks: list[tuple[int, int]]) -> list[Segment]:
    """`code` cut into unmarked and marked runs (marks: sorted, non-overlapping spans)."""
    code = clean(code, CODE_LIMIT)
    out: list[Segment] = []
    at = 0
    for start, end in marks:
        start, end = max(start, at), min(end, len(code))
        if start >= end:
            continue
        if start > at:
            out.append(Segment(code[at:start], False))
        out.append(Segment(code[start:end], True))
        at = end
    if at < len(code):
        out.append(Segment(code[at:], False))
    return out


def shown_pairs(pairs: list[Pair], limit: int = SHOWN) -> list[Pair]:
    """The flagged pairs the page lays out: the first `limit` (pairs come strongest first)."""
    return [p for p in pairs if p.flagged][:limit]


def shown_students(pairs: list[Pair], limit: int = SHOWN) -> set[str]:
    """The students whose code and written answers the page shows: only these are read again."""
    return {name for p in shown_pairs(pairs, limit) for name in (p.a, p.b)}


def views(pairs: list[Pair], evidence: dict[str, Evidence], limit: int = SHOWN) -> list[PairView]:
    """The flagged pairs, strongest first, with what each source found laid side by side
    (`evidence`: at least the students of `shown_students`)."""
    shown = []
    for rank, pair in enumerate(shown_pairs(pairs, limit), start=1):
        a, b = evidence.get(pair.a, Evidence(pair.a)), evidence.get(pair.b, Evidence(pair.b))
        written_b = dict(b.written)
        matched = {part for part, _ in pair.text_parts}
        view = PairView(rank, clean(pair.a, 200), clean(pair.b, 200), pair.combined, pair.code, pair.text,
                        pair.numbers, [clean(r, 500) for r in pair.reasons],
                        text_parts=[(clean(p, 80), s) for p, s in pair.text_parts])
        if pair.code_marks[0] or pair.code_marks[1]:
            view.code_a, view.code_b = segments(a.code, pair.code_marks[0]), segments(b.code, pair.code_marks[1])
        view.written = [(clean(part, 80), clean(text, 6000), clean(written_b[part], 6000))
                        for part, text in a.written if part in matched and part in written_b]
        view.shared_wrong = [(clean(wa.question, 40), clean(wa.label, 120), clean(wa.shown, 600))
                             for wa, _ in pair.shared_wrong[:40]]
        shown.append(view)
    return shown


def page(pairs: list[Pair], evidence: dict[str, Evidence], thresholds: Thresholds, assignment: str,
         students: int, env=None) -> str:
    """similarity.html: every flagged pair, ranked, each source side by side."""
    from .html import environment

    flagged = [p for p in pairs if p.flagged]
    return (env or environment()).get_template("similarity.html").render(
        title=f"{assignment} · similarity (instructors only)", assignment=assignment, students=students,
        pairs=views(pairs, evidence), flagged=len(flagged), looked_at=len(pairs), thresholds=thresholds)


def csv_text(pairs: list[Pair]) -> str:
    """similarity.csv: every pair with any evidence, strongest first, one row each."""
    return "".join(csv_chunks(pairs))


CSV_ROWS_PER_CHUNK = 1000


def csv_chunks(pairs: Iterable[Pair]) -> Iterator[str]:
    """`csv_text` in pieces of CSV_ROWS_PER_CHUNK rows: a large class's pairs (hundreds of
    thousands) are written to the file as they come, never held as one text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_a", "student_b", "flagged", "combined", "code", "text", "numbers",
                     "shared_wrong_cases", "questions", "reasons"])
    for at, pair in enumerate(pairs, start=1):
        questions = sorted({wa.question for wa, _ in pair.shared_wrong})
        writer.writerow([cell_text(clean(pair.a, 200)), cell_text(clean(pair.b, 200)),
                         "yes" if pair.flagged else "no", f"{pair.combined:.3f}", f"{pair.code:.3f}",
                         f"{pair.text:.3f}", f"{pair.numbers:.3f}", len(pair.shared_wrong), " ".join(questions),
                         cell_text("; ".join(pair.reasons))])
        if at % CSV_ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
