"""Gradebook out: a graded batch's results in the layout an LMS imports, or plain for a spreadsheet.

`grader export OUT --format canvas|csv|json [--assignment NAME] [--decimals 2] [--output FILE]`
reads `OUT/results.json` (what `grader batch` or `grader merge` wrote) and writes:

* **canvas** — Canvas's gradebook import layout: `Student, ID, SIS User ID, SIS Login ID, Section,
  <assignment>`, then a `Points Possible` row (Canvas's own exports have it; its importer skips it)
  and one row per student, UTF-8. `ID` is the Canvas user id read from the download (or the roster),
  which is how Canvas matches a row to a student; name the column as Canvas does, `HW3 (12345)`, to
  update an existing assignment (`--assignment`; without the id Canvas matches the exact title, else
  offers a new assignment, and `grader export` says so). Canvas matches a row without an `ID` by SIS
  id, else by name: a submission a roster did not place is therefore left out (and named in a
  warning); a Canvas user with two submissions gets an empty cell (Canvas would keep the last row);
  an anonymous grading id (`anon_…`) is no user id and is not put in `ID`. The score is the total
  after TA scores and the late penalty. A student with no submission gets an empty cell (Canvas's
  "not graded"; its missing policy then applies), and so does a submission the grader itself failed
  on (status "error"), which is not the student's zero.
* **csv** — one row per student: who (id, name, SIS id, section), the submission's name, its
  status, one column per question and per written part, `late_penalty`, `total`, `max`.
* **json** — the same rows as JSON, numbers as numbers.

Scores are rounded half-up to `--decimals` places (default 2) from the exact totals; `total` is the
rounded exact total, as the reports show it, not a sum of rounded parts. `max` is one number for
the whole class: every question's and every written part's points.
"""
from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .render.classview import status_word
from .render.gradebook import cell_text, full_marks
from .results import NO_SUBMISSION, Result, SubmissionStatus, json_text
from .resultsfile import ResultsFileError, iter_results, read_head
from .totals import shown as shown_number

FORMATS = ("canvas", "csv", "json")
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
NO_SCORE = (NO_SUBMISSION, SubmissionStatus.ERROR)


class ExportError(ValueError):
    """The batch output cannot be exported (no results.json, unknown format...)."""


@dataclass
class Loaded:
    """A batch output's results, read from its results.json one student at a time (grader.resultsfile)."""

    path: Path
    assignment: str
    questions: list[str] = field(default_factory=list)     # every question id, in first-seen order
    parts: list[str] = field(default_factory=list)         # every written part id
    top: float = 0.0                                        # the highest full marks in the class

    def results(self) -> Iterator[Result]:
        try:
            yield from iter_results(self.path)
        except ResultsFileError as exc:
            raise ExportError(str(exc)) from None


def load(out: str | os.PathLike) -> Loaded:
    """A batch output folder's results: a first pass for the columns and the class's maximum."""
    path = Path(out) / "results.json"
    try:
        loaded = Loaded(path, str(read_head(path).get("assignment", "")))
    except ResultsFileError as exc:
        raise ExportError(f"{exc}: run `grader batch ... --out {out}` first") from None
    questions: dict[str, None] = {}
    parts: dict[str, None] = {}
    top, fallback = 0.0, 0.0
    for r in loaded.results():
        questions.update((q.id, None) for q in r.questions)
        parts.update((w.id, None) for w in r.written)
        top = max(top, full_marks(r))
        fallback = max(fallback, r.max_score)
    loaded.questions, loaded.parts = list(questions), list(parts)
    loaded.top = top or fallback
    return loaded


def rounded(value: float | None, decimals: int) -> str:
    """`value` rounded half-up to `decimals` places, without trailing zeros; "" for None."""
    return "" if value is None else shown_number(value, decimals)


def total(result: Result) -> float | None:
    """The score a gradebook gets: None (empty) for no submission or a grader failure."""
    return None if result.status in NO_SCORE else result.score


def canvas_id(student) -> str:
    """The Canvas user id to put in `ID`, or "": a Canvas download's or a roster's integer id only.
    Canvas's importer reads `ID` as an integer ("anon_x7Kq2".to_i is 0); another LMS's id, or a file
    name, could be some other Canvas user's number."""
    if student is None or not (student.lms == "canvas" or student.on_roster):
        return ""
    return student.id if student.id.isascii() and student.id.isdigit() else ""


def shown(names: list[str], limit: int = 5) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def canvas(loaded: Loaded, assignment: str | None = None, decimals: int = 2) -> tuple[str, list[str]]:
    """Canvas's import CSV, and warnings (rows that Canvas cannot match to a student, or that it would
    match otherwise than the grader did).

    Canvas's importer (app/models/gradebook_importer.rb) finds a row's student by `ID`, else by `SIS
    User ID`, else by `SIS Login ID`, else by the exact name; two rows with one student leave it the
    last one read. So a submission that a roster did not place is left out (Canvas would hand its
    grade to whoever bears its name), a student with two submissions gets no score (neither is
    theirs for sure), and an anonymous id is not put in `ID`.
    """
    column = cell_text(assignment or loaded.assignment or "Assignment")
    counts: dict[str, list[str]] = {}
    for r in loaded.results():
        cid = canvas_id(r.student)
        if cid:
            counts.setdefault(cid, []).append(r.submission)
    twice = {cid: names for cid, names in counts.items() if len(names) > 1}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CANVAS_HEADER + [column])
    writer.writerow(["    Points Possible", "", "", "", "", rounded(loaded.top, decimals)])
    unmatched, unknown, anonymous, penalised, strangers = [], [], [], [], []
    for r in loaded.results():
        s = r.student
        cid = canvas_id(s)
        if s is not None and s.lms == "canvas" and s.id.startswith("anon_"):
            anonymous.append(r.submission)
        elif s is not None and s.on_roster is False and not cid:
            unknown.append(r.submission)
            continue
        elif not cid:
            unmatched.append(r.submission)
        elif s.on_roster is False:
            strangers.append(r.submission)
        if r.late is not None and r.late.points and r.status not in NO_SCORE:
            penalised.append(r.submission)
        score = "" if cid in twice else rounded(total(r), decimals)
        writer.writerow([cell_text(s.name if s and s.name else r.submission), cell_text(cid),
                         cell_text(s.sis_id if s else ""), cell_text(s.login if s else ""),
                         cell_text(s.section if s else ""), score])
    warnings = []
    if unmatched:
        warnings.append(f"{len(unmatched)} rows have no Canvas id (not from a Canvas download, nor matched on a "
                        f"roster): Canvas will look each one up by its SIS User ID, else by its exact name, and "
                        f"list those it cannot find in its import preview: check them there, or run the batch "
                        f"with --roster (Canvas's gradebook export): {shown(unmatched)}")
    if unknown:
        warnings.append(f"{len(unknown)} submissions are not on the roster and have no Canvas id; they were left "
                        f"out of this file (Canvas would give their grade to whoever has the same name or SIS "
                        f"id): {shown(unknown)}. Add the student to the roster and run the batch again, or enter "
                        f"the grade by hand")
    if strangers:
        warnings.append(f"{len(strangers)} rows are for Canvas users not on the roster (enrolled after the roster "
                        f"was exported, dropped, or the test student): Canvas applies each to the user of its ID "
                        f"if that user is a student of the course, and lists it as not found otherwise: "
                        f"{shown(strangers)}")
    for cid, names in sorted(twice.items()):
        warnings.append(f"Canvas user {cid} has {len(names)} submissions ({shown(names)}); their cell was left "
                        f"empty (Canvas would keep whichever row it read last): decide which one counts and "
                        f"enter that grade by hand")
    if anonymous:
        warnings.append(f"{len(anonymous)} rows come from a download made with anonymous grading (anon_ ids, "
                        f"which are not Canvas user ids, and Canvas imports no grade of an anonymous assignment "
                        f"before its grades are posted): enter these scores in SpeedGrader, or post the grades "
                        f"(or turn anonymity off), download the submissions again and re-run the batch: "
                        f"{shown(anonymous)}")
    if penalised:
        warnings.append(f"{len(penalised)} scores already have the grader's late penalty taken off: if the course's "
                        f"Late Submission policy is on in Canvas (Gradebook settings), Canvas takes its own "
                        f"deduction again when they are imported; use one of the two (turn that policy off, or "
                        f"set [late] policy = \"none\" and re-run the batch): {shown(penalised)}")
    return out.getvalue(), warnings


def column_note(column: str) -> str | None:
    """What Canvas does with an assignment column that carries no assignment id (gradebook_importer.rb:
    matched by its exact title, else imported as a new assignment), or None when it carries one."""
    if re.search(r"\(\d+\)\s*$", column):
        return None
    return (f"the column {column!r} carries no Canvas assignment id: Canvas matches it by its exact title, and "
            f"offers to create a new assignment when no assignment has that title. Name it as Canvas's own "
            f"gradebook export does to update an existing assignment: --assignment \"HW3 (12345)\"")


def header(loaded: Loaded) -> list[str]:
    return ["id", "name", "sis_id", "section", "submission", "status", *loaded.questions, *loaded.parts,
            "late_penalty", "total", "max"]


def rows(loaded: Loaded, decimals: int = 2) -> Iterator[list]:
    """The plain gradebook's rows, one student at a time (numbers as rounded text, "" for none)."""
    questions, parts, top = loaded.questions, loaded.parts, loaded.top
    for r in loaded.results():
        s = r.student
        by_q = {q.id: q.score for q in r.questions}
        by_w = {w.id: w.score for w in r.written}
        yield [s.id if s else r.submission, s.name if s else "", s.sis_id if s else "",
               s.section if s else "", r.submission, status_word(r),
               *(rounded(by_q.get(q), decimals) for q in questions),
               *(rounded(by_w.get(w), decimals) for w in parts),
               rounded(r.late.points if r.late else None, decimals),
               rounded(total(r), decimals), rounded(top, decimals)]


def plain_csv(loaded: Loaded, decimals: int = 2) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([cell_text(h) for h in header(loaded)])
    for row in rows(loaded, decimals):
        writer.writerow([cell_text(c) if i < 6 else c for i, c in enumerate(row)])
    return out.getvalue()


def json_export(loaded: Loaded, decimals: int = 2) -> str:
    names = header(loaded)
    numeric = set(range(6, len(names)))

    def value(i: int, cell: str):
        if i in numeric:
            return None if cell == "" else (int(cell) if cell.lstrip("-").isdigit() else float(cell))
        return cell

    return json_text({"assignment": loaded.assignment, "decimals": decimals,
                      "students": [{h: value(i, c) for i, (h, c) in enumerate(zip(names, row))}
                                   for row in rows(loaded, decimals)]})


def export(out: str | os.PathLike, fmt: str, assignment: str | None = None, decimals: int = 2) -> tuple[str, list[str]]:
    """The gradebook text in format `fmt`, and warnings for the person exporting."""
    if fmt not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if not 0 <= decimals <= 6:
        raise ExportError("--decimals must be between 0 and 6")
    loaded = load(out)
    pending = unscored_note(loaded)
    if fmt == "canvas":
        text, warnings = canvas(loaded, assignment, decimals)
        return text, pending + warnings
    if assignment:
        loaded.assignment = assignment
    return (plain_csv(loaded, decimals) if fmt == "csv" else json_export(loaded, decimals)), pending


def unscored_note(loaded: Loaded) -> list[str]:
    """A warning when answered written parts have no TA score yet: their points are in no total
    exported now (the grades would be uploaded short, and nothing said so)."""
    answers, students = 0, 0
    for r in loaded.results():
        waiting = sum(1 for w in r.written if w.found and w.score is None) if r.status not in NO_SCORE else 0
        answers += waiting
        students += waiting > 0
    if not answers:
        return []
    return [f"{answers} answered written parts of {students} student{'s' if students != 1 else ''} have no TA "
            f"score yet: their points are in none of these totals. Score them on review.html and merge the "
            f"file (grader batch ... --manual-scores scores.csv) before uploading, or upload now and again later"]
