"""The TAs' review page: every written part with its rubric, then every student's answer to it.

`grader batch` writes it to `OUT/review.html`. A pure function of the results; the page ends with
a ready-to-fill scores file in the format `grader.manual` reads (`--manual-scores scores.csv`),
one row per student and part, already holding any score given so far.

Answers are student text: cleaned and bounded here (results may come from JSON files), and
autoescaped by the template; each answer is also shown rendered (Markdown + MathML, sanitised:
`grader.render.richtext`), with its source beside it.

A class's answers are read once, one student at a time (`review_stream`: a batch reads each
student's texts back from their result.json), and each part's answers, made as they come, wait in
a temporary file until the page reaches that part: the page lists the parts (with how many
answered) before their answers, and a class of thousands is never held in memory.
"""
from __future__ import annotations

import csv
import io
import pickle
import tempfile
from dataclasses import dataclass
from typing import IO, Iterable, Iterator

from ..manual import HEADER
from ..results import Result, SubmissionStatus, WrittenAnswer
from ..spec import Assignment
from ..text import clean, formula_safe
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
    student_cell: str = ""      # that name as the scores file writes it (never a spreadsheet formula)
    work_href: str | None = None    # the student's work as graded (notebook view), relative
    report_href: str | None = None


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
    return review_stream(zip(results, aligned(links, results)), assignment, env)


def review_stream(students: Iterable[tuple[Result, dict[str, str] | None]], assignment: Assignment,
                  env: jinja2.Environment | None = None) -> Iterator[str]:
    """`review_chunks` for (result, links) read one at a time (see the module docstring): each
    student's answers are made and put away at once, then the page is generated from the parts'
    temporary files. The files are closed when the page is done (or dropped)."""
    parts = [SpooledPart(part.id, clean(part.title, NAME_LIMIT), float(part.points), clean(part.rubric, 4000))
             for part in assignment.written]
    rows: list[list[str]] = [[] for _ in parts]
    case_sets: set[str] = set()
    count = 0
    try:
        for result, link in students:
            count += 1
            if result.case_set:
                case_sets.add(result.case_set)
            for part, part_rows in zip(parts, rows):
                answer = _answer(part.id, result, link)
                part.add(answer)
                part_rows.append(answer.csv_row)
    except BaseException:
        for part in parts:
            part.close()
        raise
    env = env or environment()
    return _closing(env.get_template("review.html").generate(
        title=f"{clean(assignment.title, NAME_LIMIT)} · written parts to review",
        assignment=clean(assignment.title, NAME_LIMIT),
        parts=parts,
        students=count,
        header=_csv_line(HEADER),
        template_csv="\n".join([_csv_line(HEADER), *(row for part_rows in rows for row in part_rows)]),
        form_key=_form_key(assignment, case_sets),
        scripts=[script("review.js", env)],
    ), parts)


def _closing(chunks: Iterator[str], parts: list["SpooledPart"]) -> Iterator[str]:
    try:
        yield from chunks
    finally:
        for part in parts:
            part.close()


class SpooledPart:
    """A part of the review page whose answers wait in a temporary file, pickled one after another
    (the grader's own AnswerViews, read back by this process only), with the counts the page shows
    before them."""

    def __init__(self, id: str, title: str, points: float, rubric: str) -> None:
        self.id, self.title, self.points, self.rubric = id, title, points, rubric
        self.found = self.scored = self._count = 0
        self._file: IO[bytes] | None = None

    def add(self, answer: AnswerView) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="grader-review-")
        pickle.dump(answer, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1
        self.found += answer.found
        self.scored += answer.score is not None

    def __len__(self) -> int:
        return self._count

    @property
    def answers(self) -> "SpooledPart":
        """The answers, in the order added (`len` and iteration: what the page uses)."""
        return self

    def __iter__(self) -> Iterator[AnswerView]:
        if self._file is None:
            return
        self._file.flush()
        self._file.seek(0)
        for _ in range(self._count):
            yield pickle.load(self._file)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _form_key(assignment: Assignment, case_sets: Iterable[str]) -> str:
    """What the browser keeps typed scores under: this assignment and case set; the script adds
    the page's own path (every page opened from disk shares one storage in the browser, so another
    section's review page, with another "alice", must not show this one's scores; and a re-run
    that adds a late hand-in must still find them)."""
    return clean(f"{assignment.name}:{','.join(sorted(case_sets))}", 200).replace("\n", " ")


def _answer(pid: str, result: Result, link: dict[str, str] | None) -> AnswerView:
    """How the page shows `result`'s answer to part `pid`."""
    answer = _find(result, pid)
    score = answer.score if answer is not None else None
    comment = clean(answer.comment, 1000) if answer is not None else ""
    text = clean(answer.text, TEXT_LIMIT) if answer is not None else ""
    return AnswerView(
        student=clean(result.submission, NAME_LIMIT).replace("\n", " "),
        status=result.status,
        found=bool(answer is not None and answer.found and answer.text.strip()),
        text=text,
        html=richtext.render(text),
        score=score,
        comment=comment,
        csv_row=_csv_line((result.submission, pid, _number(score), comment)),
        submission=clean(result.submission, NAME_LIMIT).replace("\n", " "),
        student_cell=formula_safe(clean(result.submission, NAME_LIMIT).replace("\n", " ")),
        work_href=_link(link, "work"),
        report_href=_link(link, "report"),
    )


def _link(link: dict[str, str] | None, what: str) -> str | None:
    href = (link or {}).get(what)
    return safe_link(href) if href else None


def _find(result: Result, pid: str) -> WrittenAnswer | None:
    return next((a for a in result.written if a.id == pid), None)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _csv_line(cells) -> str:
    """One line of the scores file; its first cell, the student's (a file name they chose), is
    never a formula to the spreadsheet the TA opens it in (`manual` reads it back unquoted)."""
    texts = [clean(c, TEXT_LIMIT).replace("\n", " ") for c in cells]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([formula_safe(texts[0]), *texts[1:]] if texts else [])
    return out.getvalue()
