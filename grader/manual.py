"""Merging the TAs' scores for the written parts into graded results.

The scores file is a CSV in *long* format, one row per (student, part):

    student,part,score,comment
    alice_correct.ipynb,1a-derivation,4.5,"diag(σ′) stated, σ′ = σ(1−σ) missing"
    alice_correct.ipynb,2b-proof,5,

* `student` is the submission's name as the results and the review page show it
  (`Result.submission`); the name without its extension is accepted when that is unambiguous.
* `part` is a written-part id (`1a-derivation`, `2b-proof`, ...; the review page lists them).
* `score` is a number from 0 to the part's points; an empty score means "not scored yet" and the
  row is skipped (its student and part are still checked). `comment` is optional, for the student.
* A header row `student,part,score[,comment]` is optional; blank lines and lines starting with `#`
  are skipped. A (student, part) pair may appear only once.

The review page (`grader.render.review`) prints a ready-to-fill copy of this file.
Nothing is merged unless the whole file is valid: every problem is reported at once, each with
its line number, in a `ManualScoresError`.

After merging, `Result.score` and `Result.max_score` include the written parts (every part's
points count in the maximum, scored or not, so totals are out of the same number for everyone);
`Result.auto_score` is still the auto-graded part alone.
"""
from __future__ import annotations

import copy
import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

from .results import Result, WrittenAnswer
from .text import clean, from_spreadsheet

HEADER = ("student", "part", "score", "comment")
MAX_PROBLEMS = 50           # a file with more problems than this is reported in part


class ManualScoresError(ValueError):
    """The scores file cannot be used; `problems` lists each bad line, as "line N: what is wrong"."""

    def __init__(self, path: str | os.PathLike, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        shown = problems[:MAX_PROBLEMS]
        more = f"\n  … and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"{self.path}: the manual scores were not applied:\n  " + "\n  ".join(shown) + more)


@dataclass(frozen=True)
class ManualScore:
    line: int
    student: str
    part: str
    score: float
    comment: str = ""


def apply_manual_scores(results: list[Result], csv_path: str | os.PathLike,
                        absent: list[str] | None = None, text: str | None = None) -> list[Result]:
    """Copies of `results` with the TA scores of `csv_path` merged in (same order).

    Raises ManualScoresError (every bad line, with its number) and leaves nothing half-merged.
    `absent`, when given, collects the students the file names who are not among `results`
    instead of calling them an error (a kept scores file re-applied to an unfinished batch).
    `text`: the file's content when it is made, not read (the kept scores with a new file's added,
    grader.kept_scores); `csv_path` then only names it in messages.
    """
    parts = written_parts(results)
    scores = read_scores(csv_path, results, parts, absent, text)
    by_student: dict[str, list[ManualScore]] = {}
    for entry in scores:
        by_student.setdefault(entry.student, []).append(entry)
    return [_merged(result, parts, by_student.get(result.submission, [])) for result in results]


def written_parts(results: list[Result]) -> dict[str, WrittenAnswer]:
    """Every written part any result knows, by id, as an empty answer (title, points, rubric)."""
    parts: dict[str, WrittenAnswer] = {}
    for result in results:
        for answer in result.written:
            if answer.id not in parts:
                parts[answer.id] = WrittenAnswer(answer.id, answer.title, answer.max_score, text="",
                                                 rubric=answer.rubric, score=None, found=False)
    return parts


def read_scores(csv_path: str | os.PathLike, results: list[Result],
                parts: dict[str, WrittenAnswer], absent: list[str] | None = None,
                text: str | None = None) -> list[ManualScore]:
    """Every row of the scores file (or of `text`), validated against the results and their written parts."""
    path = Path(csv_path)
    try:
        text = path.read_text(encoding="utf-8-sig") if text is None else text
    except FileNotFoundError:
        raise ManualScoresError(path, ["the file does not exist"]) from None
    except UnicodeDecodeError as exc:
        raise ManualScoresError(path, [f"the file is not UTF-8 text (bad byte at position {exc.start})"]) from None
    except OSError as exc:
        raise ManualScoresError(path, [f"the file cannot be read: {exc.strerror}"]) from None
    students = _student_names(results)
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    scores: list[ManualScore] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    first = True
    for row in _rows(reader, path):
        line = reader.line_num
        cells = _cells(row)
        if not any(cells) or cells[0].startswith("#"):
            continue
        if first:
            first = False
            if tuple(c.lower() for c in cells[:3]) == HEADER[:3]:
                continue
        if absent is not None and cells and cells[0] not in students:
            if cells[0] not in absent:
                absent.append(cells[0])
            continue
        entry, problem = _row(line, cells, students, parts)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        if entry is None:
            continue
        key = (entry.student, entry.part)
        if key in seen:
            problems.append(f"line {line}: {_show(entry.student)} / {entry.part} was already scored on line {seen[key]}")
            continue
        seen[key] = line
        scores.append(entry)
    if problems:
        raise ManualScoresError(path, problems)
    return scores


def scored_rows(text: str) -> list[list[str]]:
    """The rows of a scores file that give a score, as cells (student, part, score[, comment]):
    no header, blank, comment or not-yet-scored line. For combining files (grader.kept_scores);
    a file that is not valid CSV gives the rows before the fault (it is checked when merged)."""
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for number, row in enumerate(reader):
            cells = _cells(row)
            if len(cells) < 3 or not cells[2] or cells[0].startswith("#"):
                continue
            if number == 0 and tuple(c.lower() for c in cells[:3]) == HEADER[:3]:
                continue
            rows.append(cells)
    except csv.Error:
        pass
    return rows


def _cells(row: list[str]) -> list[str]:
    """A row's cells, stripped; the student's as the grader wrote it (`text.formula_safe`: the
    review page's file quotes a name a spreadsheet would take for a formula) or as typed."""
    cells = [c.strip() for c in row]
    return [from_spreadsheet(cells[0]), *cells[1:]] if cells else cells


def student_names(results: list[Result]) -> dict[str, str]:
    """Accepted spellings of each student -> their submission name (see `_student_names`)."""
    return _student_names(results)


def _rows(reader, path: Path):
    """The reader's rows; a malformed file (e.g. an unclosed quote) is a ManualScoresError."""
    try:
        yield from reader
    except csv.Error as exc:
        raise ManualScoresError(path, [f"line {reader.line_num}: not valid CSV ({exc})"]) from None


def _student_names(results: list[Result]) -> dict[str, str]:
    """Accepted spellings of each student -> their submission name (stems only when unambiguous)."""
    names = {r.submission: r.submission for r in results}
    stems: dict[str, list[str]] = {}
    for r in results:
        stem = Path(r.submission).stem if Path(r.submission).suffix else r.submission
        stems.setdefault(stem, []).append(r.submission)
    for stem, owners in stems.items():
        if len(owners) == 1 and stem not in names:
            names[stem] = owners[0]
    return names


def _row(line: int, cells: list[str], students: dict[str, str],
         parts: dict[str, WrittenAnswer]) -> tuple[ManualScore | None, str]:
    if len(cells) < 3:
        return None, f"expected student,part,score[,comment], got {len(cells)} column(s)"
    if len(cells) > 4:
        return None, (f"expected at most 4 columns (student,part,score,comment), got {len(cells)}; "
                      "quote a comment that contains commas")
    student, part, raw = cells[0], cells[1], cells[2]
    comment = cells[3] if len(cells) == 4 else ""
    if student not in students:
        return None, f"unknown student {_show(student)} (not among the {len(set(students.values()))} graded submissions)"
    if part not in parts:
        known = ", ".join(sorted(parts)) or "none: these results have no written parts"
        return None, f"unknown part {_show(part)} (the written parts are: {known})"
    if not raw:
        return None, ""          # not scored yet: the review page's template leaves it blank
    try:
        score = float(raw)
    except ValueError:
        return None, f"the score {_show(raw)} is not a number"
    points = parts[part].max_score
    if not math.isfinite(score) or not 0 <= score <= points:
        return None, f"the score {_show(raw)} for {part} is outside 0..{points:g}"
    return ManualScore(line, students[student], part, score, clean(comment, 1000)), ""


def _show(text: str) -> str:
    return repr(clean(text, 80).replace("\n", " "))


def _merged(result: Result, parts: dict[str, WrittenAnswer], scores: list[ManualScore]) -> Result:
    merged = copy.deepcopy(result)
    have = {answer.id for answer in merged.written}
    merged.written += [copy.deepcopy(part) for pid, part in parts.items() if pid not in have]
    given = {entry.part: entry for entry in scores}
    for answer in merged.written:
        if answer.id in given:
            answer.score = given[answer.id].score
            answer.comment = given[answer.id].comment
    auto_max = sum(q.max_score for q in merged.questions)
    merged.score = round(merged.auto_score + manual_score(merged), 4)
    merged.max_score = round(auto_max + sum(a.max_score for a in merged.written), 4)
    return merged


def manual_score(result: Result) -> float:
    """The points a person has given for the written parts so far."""
    return float(sum(a.score for a in result.written if a.score is not None))


def unscored(results: list[Result]) -> list[tuple[str, str]]:
    """(student, part) for every written part that has no score yet."""
    return [(r.submission, a.id) for r in results for a in r.written if a.score is None]
