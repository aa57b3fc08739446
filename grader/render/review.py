"""The TAs' review page: every written part with its rubric, then every student's answer to it.

`grader batch` writes it to `OUT/review.html`. A pure function of the results; the page ends with
a ready-to-fill scores file in the format `grader.manual` reads (`--manual-scores scores.csv`),
one row per student and part, already holding any score given so far.

Answers are student text: cleaned and bounded here (results may come from JSON files), and
autoescaped by the template; each answer is also shown rendered (Markdown + MathML, sanitised:
`grader.render.richtext`), with its source beside it.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Iterator

from ..manual import HEADER
from ..results import Result, SubmissionStatus, WrittenAnswer
from ..spec import Assignment
from ..text import clean
import jinja2
from markupsafe import Markup

from . import richtext
from .html import aligned, environment, safe_link
from .scripts import script

TEXT_LIMIT = 20000
NAME_LIMIT = 300


@dataclass(frozen=True)
class AnswerView:
    student: str
    status: SubmissionStatus
    found: bool
    text: str
    html: Markup                # the text rendered (Markdown + MathML), sanitised
    score: float | None
    comment: str
    csv_row: str                # this answer's line of the scores file, score left blank if none yet
    submission: str = ""        # the name the scores file uses (exactly as --manual-scores reads it)
    work_href: str | None = None    # the student's work as graded (notebook view), relative
    report_href: str | None = None


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


def review(results: list[Result], assignment: Assignment, links: dict[str, dict[str, str]] | None = None,
           env: jinja2.Environment | None = None) -> str:
    """The review page for `results` (one per student) of `assignment`, as a complete HTML document.

    `links`: {"work": path, "report": path} of each result, relative to the page (file paths; they
    are percent-encoded here), shown beside each answer: a list aligned with `results`, or a dict
    keyed by `Result.submission`. `env`: the templates' environment
    (grader.render.html.environment), made here if not given.
    """
    return "".join(review_chunks(results, assignment, links, env))


def review_chunks(results: list[Result], assignment: Assignment,
                  links: dict[str, dict[str, str]] | None = None,
                  env: jinja2.Environment | None = None) -> Iterator[str]:
    """The review page in pieces, as Jinja2 generates them: written to a file as they come, the page
    (thousands of answers for a large class) is never held whole, nor the list of its fragments."""
    links = aligned(links, results)
    parts = [_part(part.id, part.title, float(part.points), part.rubric, results, links) for part in assignment.written]
    rows = [a.csv_row for p in parts for a in p.answers]
    env = env or environment()
    return env.get_template("review.html").generate(
        title=f"{clean(assignment.title, NAME_LIMIT)} · written parts to review",
        assignment=clean(assignment.title, NAME_LIMIT),
        parts=parts,
        students=len(results),
        header=_csv_line(HEADER),
        template_csv="\n".join([_csv_line(HEADER), *rows]),
        form_key=_form_key(assignment, results),
        scripts=[script("review.js", env)],
    )


def _form_key(assignment: Assignment, results: list[Result]) -> str:
    """What the browser keeps typed scores under: this assignment and case set; the script adds
    the page's own path (every page opened from disk shares one storage in the browser, so another
    section's review page, with another "alice", must not show this one's scores; and a re-run
    that adds a late hand-in must still find them)."""
    case_sets = sorted({r.case_set for r in results if r.case_set})
    return clean(f"{assignment.name}:{','.join(case_sets)}", 200).replace("\n", " ")


def _part(pid: str, title: str, points: float, rubric: str, results: list[Result],
          links: list[dict[str, str] | None]) -> PartView:
    answers = []
    for result, link in zip(results, links):
        answer = _find(result, pid)
        student = clean(result.submission, NAME_LIMIT).replace("\n", " ")
        score = answer.score if answer is not None else None
        comment = clean(answer.comment, 1000) if answer is not None else ""
        text = clean(answer.text, TEXT_LIMIT) if answer is not None else ""
        answers.append(AnswerView(
            student=student,
            status=result.status,
            found=bool(answer is not None and answer.found and answer.text.strip()),
            text=text,
            html=richtext.render(text),
            score=score,
            comment=comment,
            csv_row=_csv_line((result.submission, pid, _number(score), comment)),
            submission=clean(result.submission, NAME_LIMIT).replace("\n", " "),
            work_href=_link(link, "work"),
            report_href=_link(link, "report"),
        ))
    return PartView(pid, clean(title, NAME_LIMIT), points, clean(rubric, 4000), answers)


def _link(link: dict[str, str] | None, what: str) -> str | None:
    href = (link or {}).get(what)
    return safe_link(href) if href else None


def _find(result: Result, pid: str) -> WrittenAnswer | None:
    return next((a for a in result.written if a.id == pid), None)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _csv_line(cells) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([clean(c, TEXT_LIMIT).replace("\n", " ") for c in cells])
    return out.getvalue()
