"""Gradebook out: a graded batch's results in the layout an LMS imports, or plain for a spreadsheet.

`grader export OUT --format canvas|moodle|blackboard|brightspace|csv|json [--assignment NAME] [--decimals 2]
[--output FILE]` reads `OUT/results.json` (what `grader batch` or `grader merge` wrote) and writes:

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
* **moodle** — Moodle's offline "grading worksheet" (assignfeedback_offline): `Identifier` ("Participant
  <id>", the participant id of the download's folder names), `Full name`, `Email address`, `Status`,
  `Grade`, `Maximum Grade`, `Grade can be changed`, `Last modified (submission)`, `Last modified
  (grade)`, `Feedback comments` (the report's total line). Moodle's importer (importgradeslib.php)
  finds a row's student by the number after "Participant ", skips an empty grade, a grade above the
  assignment's maximum grade, and a grade changed in Moodle after `Last modified (grade)` (written as
  the export's time); it replaces a feedback comment that differs.
* **moodle-feedback** — a zip for Moodle's "Upload multiple feedback files in a zip": each student's
  `report.html` under `<Full Name>_<participant id>_assignfeedback_file/`, the download's own folder
  naming (importziplib.php reads the participant id from the second `_` field and the plug-in from
  the third and fourth), for the same students as the worksheet.
* **blackboard** — Blackboard Learn's Grade Center upload: `Last Name, First Name, Username, <column>`,
  every value quoted (the docs' rule for .csv). Blackboard matches a row by `Username` and a column by
  the `|<column id>` that ends its header (`HW3 [Total Pts: 100 Score] |12345`, as its own download
  names it: pass that header as `--assignment`); a header without the id makes a new text column.
* **brightspace** — Brightspace's grade import: `OrgDefinedId, Username, <item> Points Grade,
  End-of-Line Indicator`, the ids with the `#` its own export puts before them. Its download names no
  user id: the ids come from a roster (`--roster`, Brightspace's grade export), so without one every
  row is left out, said in a warning.

Moodle's, Blackboard's and Brightspace's files hold scores only: a row whose student the LMS cannot
match, both rows of a user with two submissions, and a grader failure are left out and named in a
warning (never chosen for the person); a student with no submission has nothing to send.

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
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from .render.classview import status_word
from .render.gradebook import cell_text, full_marks
from .results import NO_SUBMISSION, Result, SubmissionStatus, json_text
from .resultsfile import ResultsFileError, iter_results, read_head
from .totals import shown as shown_number
from .totals import totals, waiting_answers

FORMATS = ("canvas", "moodle", "moodle-feedback", "blackboard", "brightspace", "csv", "json")
ZIP_FORMATS = ("moodle-feedback",)          # written as a zip archive, not as text
MAX_REPORT_BYTES = 64 * 2**20               # one student's report put into the feedback zip
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


# ------------------------------------------------------------------------------------------------
# Moodle, Blackboard Learn, Brightspace: each LMS's own import layout, keyed by the id it matches rows by

MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
MOODLE_PARTICIPANT = "Participant "          # get_string('hiddenuser', 'assign'): the importer strips its length
BLACKBOARD_HEADER = ["Last Name", "First Name", "Username"]
BLACKBOARD_COLUMN = re.compile(r"\|\s*\d+\s*$")       # `HW3 [Total Pts: 100 Score] |12345`
BRIGHTSPACE_HEADER = ["OrgDefinedId", "Username"]
BRIGHTSPACE_END = "End-of-Line Indicator"
KEY_TEXT = re.compile(r"[^\x00-\x1f\x7f,\"\t]{1,200}")   # a key the file can carry as it is


@dataclass
class Keyed:
    """One LMS's rows: each scored result with the key the LMS matches it by, and what was left out."""

    rows: list[tuple[str, Result]] = field(default_factory=list)    # (key, result), in the batch's order
    twice: dict[str, list[str]] = field(default_factory=dict)       # key -> its 2+ submissions (left out)
    unmatched: list[str] = field(default_factory=list)              # submissions with no key (left out)
    failed: list[str] = field(default_factory=list)                 # the grader's own failures (left out)


def _keyed(loaded: Loaded, key: Callable[[Result], str]) -> Keyed:
    """Results paired with `key(result)` ("" when the LMS has no id for it). Only scores go in: an
    empty cell is no grade to Moodle but replaces its feedback comment, and may clear what a person
    entered elsewhere, so a student with no submission (nothing to send), a grader failure, and a key
    with two submissions (neither is theirs for sure) are left out, the last two said in warnings."""
    out = Keyed()
    seen: dict[str, list[tuple[str, Result]]] = {}
    for r in loaded.results():
        if r.status == NO_SUBMISSION:
            continue
        if r.status in NO_SCORE:
            out.failed.append(r.submission)
            continue
        k = key(r)
        if not k or KEY_TEXT.fullmatch(k) is None:
            out.unmatched.append(r.submission)
            continue
        seen.setdefault(k, []).append((k, r))
    out.twice = {k: [r.submission for _, r in pairs] for k, pairs in seen.items() if len(pairs) > 1}
    out.rows = [pairs[0] for pairs in seen.values() if len(pairs) == 1]
    return out


def _left_out(lms: str, keyed: Keyed) -> list[str]:
    """The warnings every LMS layout shares: a user with two submissions, the grader's failures."""
    said = [f"{lms} user {k} has {len(names)} submissions ({shown(names)}); none of them is in this file "
            f"({lms} would keep whichever row it read last): decide which one counts and enter that grade by hand"
            for k, names in sorted(keyed.twice.items())]
    if keyed.failed:
        said.append(f"{len(keyed.failed)} submissions could not be graded (the grader failed, not the student); "
                    f"they were left out of this file: grade them again or by hand: {shown(keyed.failed)}")
    return said


def _group_hand_in(result: Result) -> bool:
    return any(p.code == "lms-group" for p in result.problems)


def moodle_key(result: Result) -> str:
    """"Participant <id>" for a hand-in from a Moodle download (its folder's participant id, which
    Moodle's importer maps back to the user with get_user_id_for_uniqueid); "" otherwise: another
    LMS's id, a plain folder's name, a team submission's group id, which is no participant's, or an
    id the roster given does not hold as this student (the worksheet lists every participant)."""
    s = result.student
    if (s is None or s.lms != "moodle" or not (s.id.isascii() and s.id.isdigit()) or _group_hand_in(result)
            or s.on_roster is False):
        return ""
    return MOODLE_PARTICIPANT + s.id


def moodle(loaded: Loaded, decimals: int = 2, now: datetime | None = None) -> tuple[str, list[str]]:
    """Moodle's offline grading worksheet, and warnings (rows Moodle cannot match, or would skip)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S+00:00")   # read with strtotime()
    keyed = _keyed(loaded, moodle_key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MOODLE_HEADER)
    top = rounded(loaded.top, decimals)
    for key, r in keyed.rows:
        s = r.student
        writer.writerow([key, cell_text(s.name), cell_text(s.email), "Submitted for grading",
                         rounded(total(r), decimals), top, "Yes", cell_text(s.submitted_at) or "-", stamp,
                         cell_text(totals(r).line())])
    warnings = []
    if keyed.unmatched:
        warnings.append(f"{len(keyed.unmatched)} submissions have no Moodle participant id (not from a Moodle "
                        f"download, a team submission, whose id is the group's, or not on the roster); they were "
                        f"left out of this file, since Moodle matches a row by its participant id only: enter "
                        f"these grades in Moodle by hand: {shown(keyed.unmatched)}")
    warnings += _left_out("Moodle", keyed)
    if keyed.rows:
        warnings.append(f"Moodle skips, without a word, a grade above the assignment's Maximum grade: it must be "
                        f"at least {top} (Settings > Grade); it replaces each student's feedback comment with "
                        f"the Feedback comments column (the score's breakdown); and it finds the columns by their "
                        f"names in your Moodle language, which are written in English here: upload the file with "
                        f"your language set to English")
    return out.getvalue(), warnings


def _report_folders(out: Path) -> dict[str, Path]:
    """submission name -> its folder under OUT/students/, read from each folder's result.json (the
    batch names folders by a hash of an identity results.json does not keep)."""
    import json

    from .batch import RESULT, STUDENTS

    folders = {}
    for folder in sorted((out / STUDENTS).iterdir()) if (out / STUDENTS).is_dir() else ():
        path = folder / RESULT
        try:
            if folder.is_symlink() or not path.is_file() or path.stat().st_size > MAX_REPORT_BYTES:
                continue
            name = json.loads(path.read_text(encoding="utf-8")).get("submission")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(name, str):
            folders.setdefault(name, folder)
    return folders


def moodle_feedback(out: str | os.PathLike, loaded: Loaded) -> tuple[bytes, list[str]]:
    """The feedback-files zip (see the module's doc), and warnings: the worksheet's, and reports missing."""
    import zipfile

    from .batch import REPORT
    from .roster import moodle_folder_name

    keyed = _keyed(loaded, moodle_key)
    folders = _report_folders(Path(out))
    buffer = io.BytesIO()
    missing = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, r in keyed.rows:
            report = folders.get(r.submission, Path("/nonexistent")) / REPORT
            try:
                if report.is_symlink() or report.stat().st_size > MAX_REPORT_BYTES:
                    raise OSError("not a report")
                data = report.read_bytes()
            except OSError:
                missing.append(r.submission)
                continue
            prefix = f"{moodle_folder_name(r.student.name) or 'Participant'}_{key[len(MOODLE_PARTICIPANT):]}"
            archive.writestr(f"{prefix}_assignfeedback_file/{REPORT}", data)
    warnings = [w for w in moodle(loaded)[1] if not w.startswith("Moodle skips")]
    if missing:
        warnings.append(f"{len(missing)} students have no report in {out} (run the batch again): {shown(missing)}")
    return buffer.getvalue(), warnings


def split_name(name: str) -> tuple[str, str]:
    """(last, first) of a displayed "First Last" name, at its last space; Blackboard ignores both on
    upload (it matches by Username), they are there for the person checking the file."""
    first, _, last = name.strip().rpartition(" ")
    return (last, first) if first else (name.strip(), "")


def blackboard_key(result: Result) -> str:
    """The Blackboard username: the download's (the receipt's `(username)`), else a roster's login."""
    s = result.student
    if s is None:
        return ""
    if s.lms == "blackboard":
        return s.id
    return s.login if s.on_roster else ""


def blackboard_column(assignment: str, top: str) -> str:
    """The Grade Center column's header: as given when it ends with `|<column id>`, else as Blackboard
    names a points column (`HW3 [Total Pts: 100 Score]`), which uploads as a new text column."""
    if BLACKBOARD_COLUMN.search(assignment):
        return assignment.strip()
    return f"{assignment} [Total Pts: {top} Score]"


def blackboard(loaded: Loaded, assignment: str | None = None, decimals: int = 2) -> tuple[str, list[str]]:
    """Blackboard Learn's Grade Center upload (comma-delimited, every value quoted), and warnings."""
    top = rounded(loaded.top, decimals)
    column = cell_text(blackboard_column(assignment or loaded.assignment or "Assignment", top))
    keyed = _keyed(loaded, blackboard_key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(BLACKBOARD_HEADER + [column])
    for key, r in keyed.rows:
        last, first = split_name(r.student.name)
        writer.writerow([cell_text(last), cell_text(first), key, rounded(total(r), decimals)])
    warnings = []
    if keyed.unmatched:
        warnings.append(f"{len(keyed.unmatched)} submissions have no Blackboard username (not from a Blackboard "
                        f"download, nor matched on a roster with one); they were left out of this file, since "
                        f"Blackboard matches a row by Username only: {shown(keyed.unmatched)}")
    strangers = [r.submission for _, r in keyed.rows if r.student.on_roster is False]
    if strangers:
        warnings.append(f"{len(strangers)} rows are for Blackboard users not on the roster (enrolled after it was "
                        f"downloaded, or dropped): Blackboard applies each to the user of its Username if that user "
                        f"is in the course, and reports it as not found otherwise: {shown(strangers)}")
    warnings += _left_out("Blackboard", keyed)
    if not BLACKBOARD_COLUMN.search(column):
        warnings.append(f"the column {column!r} carries no Grade Center column id: Blackboard uploads it as a new "
                        f"text column worth 0 points. To update the assignment's column, pass its header from the "
                        f"Grade Center's own download: --assignment \"HW3 [Total Pts: 100 Score] |12345\"")
    return out.getvalue(), warnings


def brightspace_keys(result: Result) -> tuple[str, str]:
    """(OrgDefinedId, Username) from a roster (Brightspace's download names neither); ("", "") when
    the student is not on one."""
    s = result.student
    if s is None or not s.on_roster:
        return "", ""
    return s.sis_id.lstrip("#"), s.login.lstrip("#")


def brightspace_item(assignment: str) -> str:
    """The grade item's name, without a `Points Grade` (and its `<Numeric MaxPoints:…>`) copied from
    Brightspace's export."""
    return re.sub(r"\s*Points Grade\b.*$", "", assignment.strip(), flags=re.S) or assignment.strip()


def brightspace(loaded: Loaded, assignment: str | None = None, decimals: int = 2) -> tuple[str, list[str]]:
    """Brightspace's grade import CSV, and warnings (rows it cannot match)."""
    item = cell_text(brightspace_item(assignment or loaded.assignment or "Assignment"))
    keyed = _keyed(loaded, lambda r: "/".join(k for k in brightspace_keys(r) if k))
    pairs = [brightspace_keys(r) for _, r in keyed.rows]
    # a key column only when some row has it (a roster exported with one key field has no other)
    used = [i for i in (0, 1) if any(p[i] for p in pairs)] or [0, 1]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([BRIGHTSPACE_HEADER[i] for i in used] + [f"{item} Points Grade", BRIGHTSPACE_END])
    for (key, r), pair in zip(keyed.rows, pairs):
        writer.writerow([f"#{pair[i]}" if pair[i] else "" for i in used] + [rounded(total(r), decimals), "#"])
    warnings = []
    if keyed.rows:
        warnings.append(f"Brightspace imports the column into the grade item named exactly {item!r} (else it offers "
                        f"to create one: pass --assignment with the item's name), and caps a grade at the item's "
                        f"Max. Points unless it Can Exceed: they must be at least {rounded(loaded.top, decimals)}")
    if keyed.unmatched:
        warnings.append(f"{len(keyed.unmatched)} submissions have no Brightspace OrgDefinedId or Username "
                        f"(Brightspace's download names students by their displayed name only): they were left "
                        f"out of this file. Run the batch with --roster (Brightspace's grade export, with both key "
                        f"fields) so that each student is matched: {shown(keyed.unmatched)}")
    warnings += _left_out("Brightspace", keyed)
    return out.getvalue(), warnings


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


def export_zip(out: str | os.PathLike, fmt: str) -> tuple[bytes, list[str]]:
    """A layout written as a zip archive (ZIP_FORMATS), and warnings."""
    if fmt not in ZIP_FORMATS:
        raise ExportError(f"{fmt!r} is not written as a zip")
    return moodle_feedback(out, load(out))


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
    elif fmt == "moodle":
        text, warnings = moodle(loaded, decimals)
    elif fmt == "moodle-feedback":
        raise ExportError("moodle-feedback is a zip: use export_zip")
    elif fmt == "blackboard":
        text, warnings = blackboard(loaded, assignment, decimals)
    elif fmt == "brightspace":
        text, warnings = brightspace(loaded, assignment, decimals)
    else:
        if assignment:
            loaded.assignment = assignment
        text, warnings = (plain_csv(loaded, decimals) if fmt == "csv" else json_export(loaded, decimals)), []
    return text, pending + warnings


def unscored_note(loaded: Loaded) -> list[str]:
    """A warning when answered written parts have no TA score yet: their points are in no total
    exported now (the grades would be uploaded short, and nothing said so)."""
    answers, students = 0, 0
    for r in loaded.results():
        waiting = waiting_answers(r) if r.status not in NO_SCORE else 0
        answers += waiting
        students += waiting > 0
    if not answers:
        return []
    return [f"{answers} answered written parts of {students} student{'s' if students != 1 else ''} have no TA "
            f"score yet: their points are in none of these totals. Score them on review.html and merge the "
            f"file (grader batch ... --manual-scores scores.csv) before uploading, or upload now and again later"]
