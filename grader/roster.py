"""The class list: who should have handed in, so that nobody missing goes unnoticed.

`--roster FILE` takes either

* a Canvas gradebook export (Grades → Export): `Student, ID, [SIS User ID,] SIS Login ID,
  [Integration ID,] [Root Account,] Section, <assignments...>` (`SIS User ID` only when the person
  exporting may see SIS data; `LastName, FirstName` instead of `Student` when so chosen; `;` instead
  of `,` and a byte-order mark when their CSV settings say so), with its "Manual Posting" and
  "Points Possible" rows and Canvas's test student skipped; or
* Moodle's offline grading worksheet (Assignment → Download grading worksheet): `Identifier`
  ("Participant <id>", the participant id the download's folders carry), `Full name`, `Email address`...;
  downloaded in another language its headers are in that language (`Identificador`...) and so is the
  word before each id (`Participante3001`, `Teilnehmer/in3001`): it is recognised by its shape (the
  record id first, one word and a number in every row, no `name` column), the name taken from the
  column after it and the e-mail from the column of addresses;
* Moodle's grade export (Grades → Export → plain text) or participants download: `First name, Last
  name, [ID number,] ..., Email address, ...`: the id is the ID number, else the e-mail; no participant
  id, so a Moodle hand-in meets its student by the name its folder shows, when one student bears it;
* Blackboard Learn's Grade Center download (Work Offline → Download): `Last Name, First Name, Username,
  Student ID, Last Access, Availability, <columns>`, tab-delimited UTF-16 (`.xls`) or CSV; the id is
  the Username;
* Brightspace's grade export (Grades → Export): `OrgDefinedId, Username, Last Name, First Name, Email,
  <items>, End-of-Line Indicator`, each id written after a `#`; the id is the OrgDefinedId (else the
  Username). Brightspace's download names a student by the name shown only, so its hand-ins are
  matched to this roster by that exact name, when one roster student bears it (two who share it
  match neither, and each hand-in is flagged);
* a plain CSV with a header naming at least `id` and `name` (and optionally `email`, `section`,
  `sis_id`, `login`), in any order.

A submission belongs to a roster student when one of its LMS identifiers equals one of theirs,
exactly: the LMS id against `ID`/`id` (Blackboard's username against `Username`, Moodle's participant
id against the worksheet's `Participant <id>`); else its SIS id (Gradescope's SID) against `SIS User ID`
or `id`; else its e-mail against `email`, or against a `SIS Login ID` that is an e-mail address
(case-insensitive). Nothing else is matched by name (Brightspace's hand-ins, and Moodle's against a
roster without participant ids, meet the one roster student bearing their name, as said above), and two
submissions are never merged into one student: a roster student with two submissions, and a
submission from an id that is not on the roster, are both flagged in the reports and the batch's
summary. Roster students with no submission are listed ("no submission") and get a row in every
gradebook.
"""
from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

MAX_ROSTER_BYTES = 50 * 2**20
# downloads whose only tie to a roster without their ids is the name shown: Brightspace's (no user id at
# all), Moodle's (a participant id that only its grading worksheet lists)
NAMED_BY_NAME = ("brightspace", "moodle")
CANVAS_ID_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


class RosterError(ValueError):
    """The roster cannot be read; the message says which line and why."""


@dataclass(frozen=True)
class RosterEntry:
    id: str
    name: str = ""
    sis_id: str = ""
    login: str = ""
    section: str = ""
    email: str = ""
    shown_name: str = ""     # the name an LMS download shows ("First Last"), when it identifies by it


@dataclass
class Reconciled:
    """How submissions (by name) and the roster meet."""

    matched: dict[str, RosterEntry] = field(default_factory=dict)      # submission name -> roster entry
    unknown: list[str] = field(default_factory=list)                   # submissions whose id is not on it
    missing: list[RosterEntry] = field(default_factory=list)           # roster students with no submission
    shared: dict[str, list[str]] = field(default_factory=dict)         # roster id -> 2+ submission names
    same_name: dict[str, list[str]] = field(default_factory=dict)      # submission -> roster ids sharing its name
    not_theirs: dict[str, RosterEntry] = field(default_factory=dict)   # submission -> the participant its id names


def read_roster(path: str | os.PathLike) -> list[RosterEntry]:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_ROSTER_BYTES:
            raise RosterError(f"{path}: the roster is larger than {MAX_ROSTER_BYTES // 2**20} MB")
        text = _decoded(path.read_bytes())
    except FileNotFoundError:
        raise RosterError(f"the roster {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise RosterError(f"{path}: the roster is not UTF-8 text (bad byte at position {exc.start})") from None
    except OSError as exc:
        raise RosterError(f"{path}: the roster cannot be read: {exc.strerror}") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=_separator(text)))
    except csv.Error as exc:
        raise RosterError(f"{path}: the roster is not valid CSV: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise RosterError(f"{path}: the roster is empty")
    header = [c.strip() for c in rows[0]]
    if _is_canvas(header):
        entries = _canvas(header, rows[1:])
    elif (kind := _lms_export(header)) is not None:
        entries = _lms_rows(path, kind, header, rows[1:])
    elif _moodle_worksheet(header, rows[1:]):
        entries = _moodle_worksheet_rows(header, rows[1:])
    else:
        entries = _plain(path, [c.lower() for c in header], rows[1:])
    ids = [e.id for e in entries]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise RosterError(f"{path}: the roster lists these ids more than once: {', '.join(repeated[:10])}")
    return entries


def _decoded(data: bytes) -> str:
    """The roster's text: UTF-16 when it starts with that byte-order mark (Blackboard's Grade Center
    download, a tab-delimited `.xls`), else UTF-8 with or without one."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def _separator(text: str) -> str:
    """`;`, `,` or a tab, chosen as Canvas's own importer does (gradebook_importer.rb, identify_delimiter):
    the one that splits the first three lines into the same number of fields, the most fields winning
    (`,` on a tie). Canvas writes `;` for a user whose CSV settings (or locale's decimal comma)
    ask for it; Blackboard's `.xls` download is tab-delimited."""
    lines = text.splitlines()[:3]
    counts = {}
    for sep in ("\t", ";", ","):
        try:
            sizes = {len(row) for row in csv.reader(lines, delimiter=sep, strict=True)}
        except csv.Error:
            sizes = set()
        counts[sep] = sizes.pop() if len(sizes) == 1 else 0
    best = max(counts.values())
    return "," if best <= 1 else next(sep for sep in (",", ";", "\t") if counts[sep] == best)


def _is_canvas(header: list[str]) -> bool:
    """A Canvas gradebook export's header (lib/gradebook_exporter.rb): `Student` (or `LastName,
    FirstName`), `ID`, `SIS User ID` (only for a user allowed to see SIS data), `SIS Login ID`..."""
    first = header[:1] == ["Student"] or header[:2] == ["LastName", "FirstName"]
    return first and "ID" in header and ("SIS Login ID" in header or "SIS User ID" in header)


def _test_student(name: str, sis_id: str, login: str) -> bool:
    """Canvas's test student ("Student view"): named "Student, Test" in English, and in every language
    logged in as hmac_sha1("Test Student_<id>") (40 hex digits) with no SIS id (course.rb)."""
    hashed = re.fullmatch(r"[0-9a-f]{40}", login) is not None
    return name in ("Student, Test", "Test Student") or (not sis_id and hashed)


def _canvas(header: list[str], rows: list[list[str]]) -> list[RosterEntry]:
    at = {name: header.index(name) for name in CANVAS_ID_COLUMNS + ("LastName", "FirstName") if name in header}

    def cell(row: list[str], name: str) -> str:
        i = at.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    entries = []
    for row in rows:
        if "LastName" in at:
            student = ", ".join(p for p in (cell(row, "LastName"), cell(row, "FirstName")) if p)
        else:
            student = cell(row, "Student")
        quoted = re.fullmatch(r'="(.*)"', student, re.S)      # Canvas writes a name starting with = as ="..."
        student = quoted[1] if quoted else student
        uid, sis_id, login = cell(row, "ID"), cell(row, "SIS User ID"), cell(row, "SIS Login ID")
        # the "Points Possible" row and the "Manual Posting" row have no ID; Canvas's importer skips
        # a first cell that contains "Points Possible"
        if not uid or "Points Possible" in (row[0] if row else "") or _test_student(student, sis_id, login):
            continue
        entries.append(RosterEntry(uid, student, sis_id, login, cell(row, "Section")))
    return entries


# Moodle's grading worksheet and grade export, Blackboard's Grade Center, Brightspace's grade export, each
# recognised by columns it writes (read by _lms_rows).
LMS_ROSTERS = {        # the first whose columns are all there (Brightspace's has Blackboard's three too)
    "moodle": ("Identifier", "Full name"),
    "moodle-people": ("First name", "Last name", "Email address"),   # grade export, participants download
    "brightspace": ("OrgDefinedId", "End-of-Line Indicator"),
    "blackboard": ("Last Name", "First Name", "Username"),
}
# get_string('hiddenuser', 'assign') and the participant id, run together (gradingtable.php col_recordid):
# "Participant 3001" in English ("Participant3001" where the string has no trailing space)
MOODLE_PARTICIPANT = re.compile(r"Participant ?(\d+)")
# ... in any language: the string is a word without digits ("Participante", "Teilnehmer/in", "参与者")
MOODLE_RECORD_ID = re.compile(r"(?P<prefix>[^\d]*?[^\W\d_][^\d]*?)(?P<id>\d+)", re.S)
MOODLE_MIN_COLUMNS = 4          # record id, status, grade, last modified (grade): even under blind marking
MOODLE_MIN_PREFIX = 3           # "参与者"; "Participante", "Teilnehmer/in", "Participant" are longer
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _lms_export(header: list[str]) -> str | None:
    """Which LMS's export `header` is (its own columns all there), or None."""
    for kind, columns in LMS_ROSTERS.items():
        if all(c in header for c in columns):
            return kind
    return None


def _lms_rows(path: Path, kind: str, header: list[str], rows: list[list[str]]) -> list[RosterEntry]:
    """Roster entries from Moodle's, Blackboard's or Brightspace's own export (see the module's doc)."""
    at = {name: i for i, name in enumerate(header)}

    def cell(row: list[str], name: str) -> str:
        i = at.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    entries = []
    for number, row in enumerate(rows, start=2):
        first, last = cell(row, "First Name"), cell(row, "Last Name")
        full = " ".join(p for p in (first, last) if p)
        if kind == "moodle":
            m = MOODLE_PARTICIPANT.fullmatch(cell(row, "Identifier"))
            if m is None:
                raise RosterError(f"{path}: line {number}: the Identifier {cell(row, 'Identifier')[:40]!r} is not "
                                  "Moodle's \"Participant <number>\"")
            entries.append(RosterEntry(m[1], cell(row, "Full name"), email=cell(row, "Email address"),
                                       shown_name=moodle_folder_name(cell(row, "Full name"))))
        elif kind == "moodle-people":
            # no participant id in these: a hand-in meets its student by the name its folder shows
            full = " ".join(p for p in (cell(row, "First name"), cell(row, "Last name")) if p)
            uid = cell(row, "ID number") or cell(row, "Email address")
            if not uid:
                raise RosterError(f"{path}: line {number} has neither an ID number nor an Email address")
            entries.append(RosterEntry(uid, full, sis_id=cell(row, "ID number"), email=cell(row, "Email address"),
                                       section=cell(row, "Groups"), shown_name=moodle_folder_name(full)))
        elif kind == "blackboard":
            user = cell(row, "Username")
            if not user:
                raise RosterError(f"{path}: line {number} has no Username")
            entries.append(RosterEntry(user, full, sis_id=cell(row, "Student ID"), login=user))
        else:
            org, user = cell(row, "OrgDefinedId").lstrip("#"), cell(row, "Username").lstrip("#")
            if not (org or user):
                raise RosterError(f"{path}: line {number} has neither an OrgDefinedId nor a Username")
            entries.append(RosterEntry(org or user, full, sis_id=org, login=user, email=cell(row, "Email"),
                                       shown_name=shown(full)))
    return entries


def _moodle_worksheet(header: list[str], rows: list[list[str]]) -> bool:
    """Whether `header` and `rows` are Moodle's grading worksheet downloaded in any language: its
    headers are get_string() in the downloader's language, but the record id is always its first
    column (gradingtable.php, download mode) and every cell of it is one word (hiddenuser in that
    language) followed by the participant id. A plain roster names a `name` column, which no
    worksheet does, and its ids seldom all share a word of MOODLE_MIN_PREFIX letters or more."""
    if (len(header) < MOODLE_MIN_COLUMNS or not rows or not header[0]
            or "name" in (c.strip().lower() for c in header)):
        return False
    matches = [MOODLE_RECORD_ID.fullmatch(row[0].strip()) if row else None for row in rows]
    prefixes = {m["prefix"].strip() for m in matches if m is not None}
    return all(matches) and len(prefixes) == 1 and len(next(iter(prefixes))) >= MOODLE_MIN_PREFIX


def _moodle_worksheet_rows(header: list[str], rows: list[list[str]]) -> list[RosterEntry]:
    """A worksheet in another language (`_moodle_worksheet`): the participant id from the record id,
    the full name from the column after it (where Moodle puts it unless marking is blind), the
    e-mail from the column whose cells are all e-mail addresses, if one is."""
    width = len(header)
    cells = [[(row[i].strip() if i < len(row) else "") for i in range(width)] for row in rows]
    emails = [i for i in range(1, width) if any(r[i] for r in cells) and all(EMAIL.fullmatch(r[i]) for r in cells
                                                                              if r[i])]
    at_email = emails[0] if emails else None
    entries = []
    for row in cells:
        name = row[1] if at_email != 1 else ""
        entries.append(RosterEntry(MOODLE_RECORD_ID.fullmatch(row[0])["id"], name,
                                   email=row[at_email] if at_email is not None else "",
                                   shown_name=moodle_folder_name(name)))
    return entries


def moodle_folder_name(full_name: str) -> str:
    """A full name as Moodle's download writes it in a folder name: `_` made a space, then
    clean_filename's deletions (`&<>"`|':\\/` and control characters)."""
    text = re.sub(r"[&<>\"`|':\\/\x00-\x1f\x7f]", "", full_name.replace("_", " "))
    return shown(text)


def shown(name: str) -> str:
    """A name as compared with a download's: composed (NFC: a download zipped again on macOS has
    decomposed names, which lms composes), its white space single."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def _not_participant(student, entry: RosterEntry) -> bool:
    """Whether a Moodle hand-in's id names a participant whose name is not the folder's: Moodle 4.1+
    names a team submission `<group name>_<group id>`, and without a "Default group" folder in the
    download nothing else tells it from a participant's; a group id can equal a participant id."""
    if getattr(student, "lms", "") != "moodle" or not entry.shown_name or getattr(student, "id", "") != entry.id:
        return False
    name = moodle_folder_name(getattr(student, "name", ""))
    return name not in ("", "Participant") and name != entry.shown_name


def _plain(path: Path, header: list[str], rows: list[list[str]]) -> list[RosterEntry]:
    if "id" not in header:
        raise RosterError(f"{path}: line 1 must be a header naming the columns: id,name,email,section "
                          "(or a Canvas gradebook export, Moodle's grading worksheet, Blackboard's Grade Center "
                          "download or Brightspace's grade export)")
    at = {name: header.index(name) for name in ("id", "name", "sis_id", "login", "section", "email") if name in header}
    entries = []
    for number, row in enumerate(rows, start=2):
        values = {name: row[i].strip() if i < len(row) else "" for name, i in at.items()}
        if not values["id"]:
            raise RosterError(f"{path}: line {number} has no id")
        entries.append(RosterEntry(**values))
    return entries


def reconcile(students: dict[str, object], roster: list[RosterEntry]) -> Reconciled:
    """Match submissions (name -> `results.Student` or None) to roster entries, by exact ids only."""
    by_id = {e.id: e for e in roster}
    by_sis = {e.sis_id: e for e in roster if e.sis_id}
    # a Canvas gradebook has no e-mail column; its SIS Login ID is the e-mail address at many schools
    by_email = {e.login.casefold(): e for e in roster if "@" in e.login}
    by_email.update({e.email.casefold(): e for e in roster if e.email})
    by_shown: dict[str, list[RosterEntry]] = {}
    for e in roster:
        if e.shown_name:
            by_shown.setdefault(e.shown_name, []).append(e)
    out = Reconciled()
    claimed: dict[str, list[str]] = {}
    for name, student in students.items():
        entry = None
        if student is not None:
            sid = getattr(student, "id", "")
            sis = getattr(student, "sis_id", "")
            email = getattr(student, "email", "")
            entry = (by_id.get(sid) or (by_sis.get(sis) or by_id.get(sis) if sis else None)
                     or (by_email.get(email.casefold()) if email else None))
            if entry is not None and _not_participant(student, entry):
                out.not_theirs[name] = entry
                entry = None
            if entry is None and getattr(student, "lms", "") in NAMED_BY_NAME:
                bearers = by_shown.get(shown(getattr(student, "name", "")), [])
                entry = bearers[0] if len(bearers) == 1 else None
                if len(bearers) > 1:
                    out.same_name[name] = [e.id for e in bearers]
        if entry is None:
            out.unknown.append(name)
            continue
        out.matched[name] = entry
        claimed.setdefault(entry.id, []).append(name)
    out.shared = {rid: names for rid, names in claimed.items() if len(names) > 1}
    out.missing = [e for e in roster if e.id not in claimed]
    return out
