"""The TAs' review page: every written part with its rubric, then every student's answer to it.

`grader batch` writes it to `OUT/review.html`. A pure function of the results; the page ends with
a ready-to-fill scores file in the format `grader.manual` reads (`--manual-scores scores.csv`),
one row per student and part, already holding any score given so far.

Answers are student text: cleaned and bounded here (results may come from JSON files), and
autoescaped by the template, which shows them as plain preformatted text (LaTeX unrendered).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Iterator

from ..manual import HEADER
from ..results import Result, WrittenAnswer
from ..spec import Assignment
from ..text import clean
from .html import environment

TEXT_LIMIT = 20000
NAME_LIMIT = 300


@dataclass(frozen=True)
class AnswerView:
    student: str
    status: str                 # the submission's status ("graded", "unreadable", ...)
    found: bool
    text: str
    score: float | None
    comment: str
    csv_row: str                # this answer's line of the scores file, score left blank if none yet


@dataclass(frozen=True)
class PartView:
    id: str
    title: str
    points: float
    rubric: str
    answers: list[AnswerView]

    @property
    def found(self) -> int:
        return sum(1 for a in self.answers if a.found)

    @property
    def scored(self) -> int:
        return sum(1 for a in self.answers if a.score is not None)


def review(results: list[Result], assignment: Assignment) -> str:
    """The review page for `results` (one per student) of `assignment`, as a complete HTML document."""
    return "".join(review_chunks(results, assignment))


def review_chunks(results: list[Result], assignment: Assignment) -> Iterator[str]:
    """The review page in pieces, as Jinja2 generates them: written to a file as they come, the page
    (thousands of answers for a large class) is never held whole, nor the list of its fragments."""
    parts = [_part(part.id, part.title, float(part.points), part.rubric, results) for part in assignment.written]
    rows = [a.csv_row for p in parts for a in p.answers]
    return environment().get_template("review.html").generate(
        title=f"{clean(assignment.title, NAME_LIMIT)} · written parts to review",
        assignment=clean(assignment.title, NAME_LIMIT),
        parts=parts,
        students=len(results),
        header=_csv_line(HEADER),
        template_csv="\n".join([_csv_line(HEADER), *rows]),
    )


def _part(pid: str, title: str, points: float, rubric: str, results: list[Result]) -> PartView:
    answers = []
    for result in results:
        answer = _find(result, pid)
        student = clean(result.submission, NAME_LIMIT).replace("\n", " ")
        score = answer.score if answer is not None else None
        comment = clean(answer.comment, 1000) if answer is not None else ""
        answers.append(AnswerView(
            student=student,
            status=clean(result.status, 40),
            found=bool(answer is not None and answer.found and answer.text.strip()),
            text=clean(answer.text, TEXT_LIMIT) if answer is not None else "",
            score=score,
            comment=comment,
            csv_row=_csv_line((result.submission, pid, _number(score), comment)),
        ))
    return PartView(pid, clean(title, NAME_LIMIT), points, clean(rubric, 4000), answers)


def _find(result: Result, pid: str) -> WrittenAnswer | None:
    return next((a for a in result.written if a.id == pid), None)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _csv_line(cells) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([clean(c, TEXT_LIMIT).replace("\n", " ") for c in cells])
    return out.getvalue()
