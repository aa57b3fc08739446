"""Grading a whole class: a folder of submissions (or an LMS bulk download: grader.lms) in, a folder of reports out.

    DIR/alice.ipynb            OUT/students/alice-<id>/report.html   one page per student
    DIR/bob/  (a folder)  ──▶  OUT/students/alice-<id>/result.json   the Result as JSON
    ...                        OUT/students/alice-<id>/batch.json    what was graded (resume record)
                               OUT/summary.html          the class view, linking every report
                               OUT/review.html           written answers with rubrics, for TAs
                               OUT/grades.csv            student, each question, total, status
                               OUT/results.json          every Result
                               OUT/similarity.html/.csv  copying evidence (instructors only)
                               OUT/manual-scores.csv     the TA scores last merged (re-applied)
                               OUT/students/alice-<id>/work.html       the notebook/module/write-up as graded
                               OUT/students/alice-<id>/instructor.html hidden cases in full, and .json: STAFF ONLY
                               OUT/_runs/<time>/         the class files a re-run replaced (grader.diff)

After grading, the course's rules are applied afresh on every run (grader.course): the LMS
identity, the roster, the late policy; a batch keeps only slim results in memory (grader.slim).

Why it is shaped like this:
- One `Session` with N warm sandboxed workers and N threads: the expensive part of grading a
  notebook is starting an interpreter, so it is paid N times per batch, not once per student.
- Resumable: a student's `batch.json` is written last, after their report and result, and records
  the fingerprint of what was graded (submission content, grader version, case-set digest, limits).
  A re-run skips every student whose record still matches, so a batch stopped by Ctrl-C or
  `kill -9` loses nothing already written, and a re-run after a late hand-in regrades one student.
- Every file is written atomically, and a failure inside the grader for one submission becomes
  that student's Result (status "error"), so one bad submission never stops the batch.
- Students' folders live under their own `students/` folder, so no hand-in's name can collide with
  a class file (a hand-in named `summary.html.py`); `student_dir` is the only mapping from a
  submission to its folder: its name is the cleaned name plus a hash of the submission's identity
  (`Submission.key`: its entry name in DIR), so two students never share a folder, and a student's
  folder stays theirs when others are added.
- Entries of DIR and everything in them are read only through `grader.submitted`: a link is never
  followed (it becomes that student's refusal), a special file never opened, every read bounded.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import __version__, submitted
from . import writer as writer_process
from .config import Config
from .files import flush_to_disk, read_bytes_or_none, read_text_or_none, write_atomic, write_bytes_atomic, write_chunks_atomic
from .heap import collecting_only_new_objects, give_back_memory
from .results import (GRADED, NO_SUBMISSION, Problem, Result, Student, SubmissionStatus, json_object_chunks,
                      json_object_text, json_text)
from .sandbox import SandboxUnavailable
from .session import Session, internal_error
from .slim import inflate, slim, with_texts
from .spec import CaseSet
from .staff import write_staff
from .text import clean, cut_utf8
from .totals import shown, totals

RECORD = "batch.json"
LOCK = ".grader-batch.lock"      # OUT/LOCK: held (flock) by the batch that writes OUT, while it runs (`holding`)
REPORT = "report.html"
RESULT = "result.json"
WORK = "work.html"          # the work as graded (grader.render.notebook, written by grader.staff)
INSTRUCTOR = "instructor.html"  # hidden cases in full (grader.render.instructor, written by grader.staff)
STUDENTS = "students"           # OUT/students/<folder>/: every student's files, away from the class files
CLASS_FILES = ("summary.html", "review.html", "grades.csv", "results.json", "similarity.html", "similarity.csv",
               "manual-scores.csv", "manual-scores.json")
NAME_LIMIT = 80
FLUSH_SECONDS = 5.0             # students' files are flushed to disk at least this often (grader.files)
FOLDER_HASH = 10                # hex digits of the identity's hash in a folder name (40 bits)
QUEUED_PER_THREAD = 2           # students handed to the pool per grading thread (the rest wait in a list)


class BatchError(ValueError):
    """The batch cannot start (no such folder, nothing to grade, output inside a submission...)."""


@dataclass(frozen=True)
class Submission:
    """One student's hand-in: a file or a folder, the name shown for it (unique in the batch), and
    `key`, what identifies the student across runs (the entry's name in DIR; an LMS id could be)."""

    name: str
    path: Path
    key: str = ""
    student: Student | None = None          # who, by the LMS's ids (grader.lms)
    notes: tuple[Problem, ...] = ()         # what reading the download found (a refused file...)

    @property
    def identity(self) -> str:
        """What names the student across runs: the entry's name in DIR, else the LMS's id."""
        if self.key:
            return self.key
        if self.student is not None and self.student.id:
            # with the hand-in's own id where the LMS gives one: two hand-ins that the roster puts
            # on one student (flagged, never merged) must not share a folder
            hand_in = f"-{self.student.submission_id}" if self.student.submission_id else ""
            return f"{self.student.lms}-{self.student.id}{hand_in}"
        return self.path.name or self.name


@dataclass(frozen=True)
class Stamp:
    """Everything that decides a grade: if all of it is unchanged, the old grade still holds."""

    submission_sha256: str
    grader_version: str
    case_set: str
    settings: str

    def to_dict(self) -> dict[str, str]:
        return {"submission_sha256": self.submission_sha256, "grader_version": self.grader_version,
                "case_set": self.case_set, "settings": self.settings}


@dataclass(frozen=True)
class Outcome:
    """One student's part of a batch: every class file is built from the list of these.

    The submission and its result travel together, so nothing has to find a student's result
    again by a name (a display name is cleaned, and could be shared). `result` is slim once
    written (grader.slim): the whole result is in the student's result.json.
    """

    submission: Submission
    result: Result
    stamp: Stamp | None = None          # what was graded; None: not to be reused (the grader failed on it)
    result_sha256: str | None = None    # of the result.json holding the automatic result, when known
    files: tuple[str, ...] = ()         # the student's files in their folder, written now or kept
    reused: bool = False                # graded by an earlier run, unchanged since

    @property
    def identity(self) -> str:
        return self.submission.identity


@dataclass
class BatchReport:
    """What a batch did, for the command line to print."""

    outcomes: list[Outcome] = field(default_factory=list)
    graded: int = 0
    reused: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    similarity: list = field(default_factory=list)     # similarity.Pair, when the class was compared
    notes: list[str] = field(default_factory=list)     # what to tell the person (output folder, kept TA scores...)
    intake: str = ""                                    # the download's format (grader.lms)
    skipped: list[str] = field(default_factory=list)    # download members that are nobody's submission
    course: object | None = None                        # grader.course.CourseView of the class files
    changed: int | None = None                          # students whose total changed since the last run

    @property
    def results(self) -> list[Result]:
        return [o.result for o in self.outcomes]

    @property
    def failures(self) -> int:
        return sum(1 for r in self.results if r.status not in (GRADED, NO_SUBMISSION))


# ------------------------------------------------------------------------------------------------
# Finding the submissions


def safe_name(raw: str) -> str:
    """A student name that is safe as one directory name: no separators, no leading dot, bounded (in
    characters, and in bytes: 80 letters of four bytes are 320, past the 255 of a file name)."""
    name = re.sub(r"[^\w.-]+", "_", raw, flags=re.UNICODE).strip("._-")
    return cut_utf8(name[:NAME_LIMIT], 200) or "student"


def folder_name(submission: Submission) -> str:
    """The name of a student's folder under OUT/students/: readable, and unique per identity.

    The cleaned name alone is not unique (`a b.py` and `a_b.py`, `Alice.py` and `alice.py` on a
    case-insensitive disk), and numbering in name order would move a student's folder when someone
    is added; a hash of the identity is neither.
    """
    identity = submission.identity
    readable = safe_name(os.path.splitext(identity)[0] or identity)
    tag = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:FOLDER_HASH]
    return f"{readable[:40]}-{tag}"


def student_dir(out: str | os.PathLike, submission: Submission) -> Path:
    """The only place that maps a submission to its folder of reports."""
    return Path(out) / STUDENTS / folder_name(submission)


def report_link(submission: Submission) -> str:
    """The student's report, relative to OUT (where summary.html links from)."""
    return staff_link(submission, REPORT)


def staff_link(submission: Submission, name: str) -> str:
    """A file of the student's folder, relative to OUT (the class pages link from there)."""
    return f"{STUDENTS}/{folder_name(submission)}/{name}"


def discover(folder: str | os.PathLike, exclude: Iterable[str | os.PathLike] = ()) -> list[Submission]:
    """One submission per visible file or folder in `folder`, in name order, with unique names.

    Hidden entries (a leading dot) and `__pycache__` are skipped, and so is the folder itself of
    any path in `exclude` (the output folder, when someone puts it inside the submissions folder).
    Entries are taken as `lstat` sees them: a link or a special file is a submission too (loading
    refuses it, so that student learns why), never followed to decide what it is.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder of submissions")
    excluded = {_identity(Path(p)) for p in exclude} - {None}
    found: list[Submission] = []
    taken: set[str] = set()
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        if submitted.hidden(entry.name):
            continue
        real_folder = entry.is_dir(follow_symlinks=False)
        if real_folder and _identity(Path(entry.path)) in excluded:
            continue
        base = safe_name(entry.name if real_folder else os.path.splitext(entry.name)[0])
        name, number = base, 2
        while name.lower() in taken:       # alice.ipynb and alice.py, or names that differ only in case
            name, number = f"{base}-{number}", number + 1
        taken.add(name.lower())
        found.append(Submission(name, Path(entry.path), entry.name))
    folders = [folder_name(s).lower() for s in found]
    if len(set(folders)) != len(folders):      # 40 bits of sha256: not in any real class
        raise BatchError("two submissions map to the same report folder; rename one of them")
    return found


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of what `path` names (the output folder as given), or None if nothing."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def fingerprint(path: str | os.PathLike) -> str:
    """sha256 of a submission file, or of a folder's visible entries (their paths and contents).

    Read through `grader.submitted`: links are fingerprinted by where they point and special files
    by their kind, never followed or opened; a file over the size a submission may have, by its
    size and time, so a 20 GB sparse file costs a stat.
    """
    from .load import MAX_SENT_BYTES

    return submitted.digest(path, MAX_SENT_BYTES)


def settings_digest(config: Config, case_set: CaseSet | None = None) -> str:
    """The settings that change a grade besides the cases: the resource limits, and each question's
    tolerance (not part of the case-set digest: loosening one must regrade, not reuse)."""
    tolerances = [(q.id, q.tolerance) for q in case_set.assignment.questions] if case_set is not None else []
    return hashlib.sha256((repr(config.limits) + repr(tolerances)).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------
# Resume records


@dataclass(frozen=True)
class Record:
    """What a previous run left for a student: the stamp and the automatic Result (without TA
    scores, which are merged afresh on every run), and the sha256 of the result.json it wrote."""

    stamp: Stamp
    result: Result
    result_sha256: str


def load_record(student_dir: Path) -> Record | None:
    """The record a previous run left for this student, if complete, readable and still true.

    Still true: result.json is whole (it parses; TA scores and the course's rules may have changed
    it since, so not its digest) and the report is not empty. Students' files are flushed to disk
    in groups (grader.files), so after a power cut a record may outlive the data of the files it
    vouches for; such a student is graded again.
    """
    text = read_text_or_none(student_dir / RECORD)
    if text is None or not _nonempty_file(student_dir / REPORT):
        return None
    try:
        data = json.loads(text)
        record = Record(Stamp(**data["stamp"]), Result.from_dict(data["result"]), str(data["result_sha256"]))
    except (ValueError, KeyError, TypeError):
        return None     # a record from another version, or damaged: grade again
    return record if _whole_json(student_dir / RESULT) else None


def _whole_json(path: Path) -> bool:
    text = read_text_or_none(path)
    try:
        return text is not None and isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _nonempty_file(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def result_json(result: Result, data: dict | None = None) -> str:
    """result.json's text (`data`: the result's `to_dict()`, if already at hand)."""
    return json_text(result.to_dict() if data is None else data)


# ------------------------------------------------------------------------------------------------
# Grading one submission, whatever happens


def grade_one(session: Session, submission: Submission) -> Result:
    """`session.grade`, with any exception turned into an "error" Result for this student only."""
    try:
        return session.grade(submission.path, submission.name)
    except SandboxUnavailable:
        raise          # not this submission's fault: the batch cannot grade anyone (exit 4)
    except Exception as exc:  # noqa: BLE001 - one submission's failure must never stop the batch
        return internal_error(submission.path, submission.name, session.case_set, session.visibility, exc)


# ------------------------------------------------------------------------------------------------
# Writing


STUDENT_FILES = (RESULT, REPORT, RECORD, WORK, INSTRUCTOR, "instructor.json")


def student_files(out: Path, submission: Submission) -> tuple[str, ...]:
    """The files a student's folder holds now (a student graded by an earlier run)."""
    folder = student_dir(out, submission)
    return tuple(name for name in STUDENT_FILES if (folder / name).is_file())


# What a re-run keeps of a student's folder before replacing it: the pages the kept class view links
# to (grader.diff keeps the class files), and the result they show.
KEPT_STUDENT_FILES = (REPORT, WORK, INSTRUCTOR, RESULT)


def keep_old_pages(out: Path, folder: Path) -> None:
    """Hard-link the student's current pages into the run being replaced (OUT/_runs/.pending-*/,
    grader.diff.Previous), once per run, before they are rewritten: the kept class view then opens
    the reports it showed, not the new ones. Only the students graded again pay for it (a link
    each), not the class: linking every folder at every re-run cost 1.5 s, and removing the links
    again 5.5 s, for 5,000 students on this machine."""
    from .diff import pending_run

    held = pending_run(out)
    if held is None:
        return
    target = held / STUDENTS / folder.name
    names = [name for name in KEPT_STUDENT_FILES if (folder / name).is_file()]
    if not names or target.exists():
        return
    try:
        target.mkdir(parents=True)
        for name in names:
            try:
                os.link(folder / name, target / name)
            except OSError:
                import shutil

                shutil.copy2(folder / name, target / name)
    except OSError:
        pass                    # the kept run links to the current page instead (grader.diff.relink_kept)


def write_student(out: Path, submission: Submission, result: Result, stamp: Stamp | None,
                  env=None, pages: bool = True, shared: dict | None = None) -> Outcome:
    """The student's result and report, then (last) the record that lets a re-run skip them.
    `env`: the templates' environment of the run (grader.render.html.environment); `shared`: the
    run's table of reduced cases (grader.slim.stand_in), so that the class's outcomes share them.

    Returns the student's outcome: `result` slimmed, the stamp kept for a re-run (if any), what
    was written. The files are not fsynced one by one (grader.files: the batch flushes them to
    disk every few seconds); a resumed batch checks that the files a record vouches for are whole
    (`load_record`), so one that a power cut emptied is graded again.
    """
    from .render import html

    env = env or html.environment()
    folder = student_dir(out, submission)
    keep_old_pages(out, folder)
    text = result_json(result)
    encoded = text.encode("utf-8")
    sha256 = hashlib.sha256(encoded).hexdigest()
    write_bytes_atomic(folder / RESULT, encoded, durable=False)
    # work, instructor (staff only; the pages with `pages`, [reports] staff_pages)
    files = [RESULT, *write_staff(folder, result, REPORT, submission.path, env, pages, durable=False)]
    write_atomic(folder / REPORT, html.report(result, env, work_href=WORK if pages else None), durable=False)
    files.append(REPORT)
    if stamp is not None:
        # the record holds the result as result.json does: the same text, not encoded again
        record = {"stamp": stamp.to_dict(), "source": str(submission.path), "result_sha256": sha256}
        write_atomic(folder / RECORD, json_object_text(record, "result", text), durable=False)
        files.append(RECORD)
    else:
        try:
            (folder / RECORD).unlink()     # an errored grade must be retried next time
        except FileNotFoundError:
            pass
    return Outcome(submission, kept(result, submission, shared), stamp, sha256, tuple(files))


def kept(result: Result, submission: Submission, shared: dict | None = None) -> Result:
    """What the batch keeps of a student's result until the class files are written: slim
    (grader.slim), and holding the submission's own Student when it is the same (the result's is
    a copy of it: grader.course.identify), so that a class keeps one of each per student."""
    small = slim(result, shared)
    if submission.student is not None and small.student is not submission.student and small.student == submission.student:
        small = dataclasses.replace(small, student=submission.student)
    return small


def refresh_student(out: Path, submission: Submission, result: Result, expected_sha256: str | None = None,
                    env=None) -> str:
    """Make the student's result.json and report show `result`, rewriting them only if they do not.

    `expected_sha256` (of `result`'s result.json, when known) spares serialising to compare.
    Returns the sha256 of the student's result.json.
    """
    from .render import html

    folder = student_dir(out, submission)
    on_disk = _file_sha256(folder / RESULT)
    if expected_sha256 is not None and on_disk == expected_sha256 and (folder / REPORT).is_file():
        return on_disk
    result = inflate(result, folder / RESULT)     # a slim result gets its cases back from disk (grader.slim)
    text = result_json(result)
    sha256 = _sha256(text)
    if on_disk != sha256 or not (folder / REPORT).is_file():
        keep_old_pages(out, folder)
        write_atomic(folder / REPORT, html.report(result, env or html.environment(),
                                                  work_href=WORK if (folder / WORK).is_file() else None), durable=False)
        write_atomic(folder / RESULT, text, durable=False)
    return sha256


def results_records(out: Path, outcomes: list[Outcome]) -> Iterator[dict]:
    """Every student's result as results.json holds it: their result.json (final by now: TA scores,
    course rules), read back one at a time; a result whose file is unreadable is encoded afresh
    (its written texts from the student's resume record, grader.slim)."""
    for outcome in outcomes:
        text = read_text_or_none(student_dir(out, outcome.submission) / RESULT)
        try:
            yield json.loads(text) if text is not None else texts_back(out, outcome).to_dict()
        except ValueError:
            yield texts_back(out, outcome).to_dict()


def results_texts(out: Path, outcomes: list[Outcome]) -> Iterator[str]:
    """`results_records`, each as its JSON text (`json_text`). A student's result.json is that
    text already when it is the file the batch wrote (its sha256 is the outcome's): it is then
    taken as it is, instead of parsed and encoded again (~1.5 ms a student, in the batch's own
    process, at the end of every batch); any other file goes through `results_records`."""
    for outcome in outcomes:
        data = read_bytes_or_none(student_dir(out, outcome.submission) / RESULT)
        if (data is not None and outcome.result_sha256 is not None
                and hashlib.sha256(data).hexdigest() == outcome.result_sha256):
            try:
                yield data.decode("utf-8")
                continue
            except UnicodeDecodeError:
                pass
        yield json_text(next(results_records(out, [outcome])))


def texts_back(out: Path, outcome: Outcome) -> Result:
    """The outcome's result with its written answers' texts, which a slim result leaves on disk
    (grader.slim): read from the student's result.json, else from their resume record."""
    folder = student_dir(out, outcome.submission)
    result = with_texts(outcome.result, folder / RESULT)
    return with_texts(result, folder / RECORD) if result is outcome.result else result


def write_class(out: Path, outcomes: list[Outcome], case_set: CaseSet, pending: int = 0, with_review: bool = True,
                similarity: bool = False, env=None) -> None:
    """The class-wide files, all built from `outcomes`: summary.html, review.html, grades.csv and
    results.json.

    `pending`: how many submissions are not graded yet (a batch under way, interrupted or crashed):
    every class file then says so first (grader.batchstate), so it is never taken for the class.
    """
    from .batchstate import Incomplete
    from .render import gradebook, html, review

    env = env or html.environment()
    results = [o.result for o in outcomes]
    state = Incomplete(pending, pending + len(results)) if pending else None
    question_ids = [q.id for q in case_set.assignment.questions]
    write_atomic(out / "grades.csv", (state.csv_line() if state else "") + gradebook.csv_text(results, question_ids))
    head = {**({"incomplete": state.to_dict()} if state else {}),
            "assignment": case_set.assignment.name, "grader_version": __version__, "case_set": case_set.digest}
    # streamed record by record (each student's result.json, already final): never the class in memory
    write_chunks_atomic(out / "results.json", json_object_chunks(head, "results", results_texts(out, outcomes),
                                                                 encoded=True))
    links = [report_link(o.submission) for o in outcomes]
    staff = [staff_link(o.submission, INSTRUCTOR) if INSTRUCTOR in o.files else None for o in outcomes]
    staff_pages = [("Written answers for TAs", "review.html")] if case_set.assignment.written else []
    if similarity:
        staff_pages.append(("Similarity (instructors only)", "similarity.html"))
    write_chunks_atomic(out / "summary.html", html.summary_chunks(    # streamed: see grader.slim
        results, links, env, incomplete=state.headline() if state else None, staff_links=staff,
        staff_pages=staff_pages))
    if case_set.assignment.written and with_review:
        # every student's answers read back from their files one at a time (grader.render.review)
        answers = ((texts_back(out, o), {"report": report_link(o.submission), "work": staff_link(o.submission, WORK)})
                   for o in outcomes)
        write_chunks_atomic(out / "review.html", review.review_stream(answers, case_set.assignment, env))


def make_out(out: Path) -> None:
    """`out` as a folder (made if missing); an `out` that is not a folder is refused."""
    if out.is_symlink() and not out.exists() or out.exists() and not out.is_dir():
        raise BatchError(f"the output path {out} is not a folder")
    out.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def holding(out: Path) -> Iterator[None]:
    """This batch's hold on `out` while it writes there: an flock on OUT/LOCK, which the kernel
    drops when the batch ends or dies (no stale lock to clear by hand).

    Two batches into one folder (two TAs merging their scores files, a re-run started while the
    last one still writes) wrote the same class files and kept scores at once, and the one that
    finished last silently replaced the other's work. The second one now stops before it writes
    anything, and says why."""
    import fcntl        # Linux and macOS; a batch runs only where the sandbox does

    try:
        fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise BatchError(f"cannot hold the output folder {out} ({out / LOCK}: {exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another grader batch or merge is writing {out} now (a re-run, another TA's scores "
                             "being merged, or shards being merged): let it finish, then run this command again; nothing was changed") from None
        yield
    finally:
        os.close(fd)


def prepare_out(out: Path) -> list[str]:
    """Make `out` ready before anyone is graded; return what was done, for people.

    Where a class file (or the students' folder) is to go, something else may be in the way: a
    folder that an older grader made for a hand-in named `summary.html.py`, a file named
    `students`. Writing there would fail after the whole class was graded, so it is moved aside
    now (kept, never deleted). `out` is a folder already (`make_out`), held by this batch (`holding`).
    """
    notes = []
    for name in CLASS_FILES + (STUDENTS,):
        entry = submitted.probe(out / name)
        wanted = submitted.Kind.FOLDER if name == STUDENTS else submitted.Kind.FILE
        if entry.kind in (wanted, submitted.Kind.MISSING) or (wanted is submitted.Kind.FILE
                                                             and entry.kind is submitted.Kind.LINK):
            continue          # a link where a class file goes is replaced (atomically), never written through
        aside = _free_name(out, f"{name}.moved")
        os.rename(out / name, aside)
        notes.append(f"{out / name} was a {entry.kind.value} where the grader writes its {name}; "
                     f"it was moved to {aside}")
    return notes


def _free_name(folder: Path, stem: str) -> Path:
    number = 1
    while os.path.lexists(folder / f"{stem}-{number}"):
        number += 1
    return folder / f"{stem}-{number}"


# ------------------------------------------------------------------------------------------------
# The batch


class Progress:
    """A tqdm bar (done/total, failures so far, time left) on a terminal; nothing otherwise."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="sub", desc="grading", file=sys.stderr,
                            dynamic_ncols=True)
        self.failures = 0

    def update(self, result: Result) -> None:
        if result.status != GRADED:
            self.failures += 1
        if self.bar is not None:
            self.bar.set_postfix(failed=self.failures, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_batch(folder: str | os.PathLike, out: str | os.PathLike, config: Config, workers: int | None = None,
              force: bool = False, manual_scores: str | os.PathLike | None = None,
              progress: bool | None = None, session: Session | None = None,
              on_result: Callable[[Submission, Result], None] | None = None,
              roster: str | os.PathLike | None = None, shard: str | None = None) -> BatchReport:
    """Grade every submission in `folder` into `out`. See the module docstring for the layout.

    `session` may be passed to reuse warm workers (tests); otherwise one is made with `workers`
    workers (default: the config's, i.e. all cores) and closed at the end. `progress=None` shows a
    bar only when stderr is a terminal. `folder` may be an LMS bulk download (grader.lms), `roster`
    a class list (grader.roster), `shard` "K/N" to grade the K-th of N slices (grader.shard).
    """
    started = time.monotonic()
    out = Path(out)
    staging = tempfile.TemporaryDirectory(prefix="grader-intake-")
    try:
        with collecting_only_new_objects(), contextlib.ExitStack() as held:
            return _run(folder, out, config, workers, force, manual_scores, progress, session, on_result,
                        roster, shard, Path(staging.name), started, held)
    finally:
        staging.cleanup()


def _run(folder, out: Path, config: Config, workers, force, manual_scores, progress, session, on_result,
         roster, shard, staging: Path, started: float, held: contextlib.ExitStack) -> BatchReport:
    from . import course, lms, shard as sharding
    from .roster import RosterError, read_roster

    try:
        try:
            name = config.load_assignment().name       # picks this assignment's folder in an nbgrader tree
        except Exception:  # noqa: BLE001 - the grading itself reports an assignment that cannot be loaded
            name = ""
        zone = config.late.zone if config.late is not None else ""     # times written as "CDT" (grader.late)
        intake = lms.read_intake(folder, exclude=[out], assignment=name, zone=zone)
    except lms.IntakeError as exc:
        raise BatchError(str(exc)) from None
    try:
        if not intake.found:
            raise BatchError(f"{folder} holds no submissions (hidden files are skipped)")
        try:
            if intake.format == lms.FOLDER and isinstance(intake.source, lms.FolderSource):
                # a plain folder, as before: its entries are graded in place (discover)
                chosen = sharding.select([(s.name, s) for s in discover(folder, exclude=[out])], shard)
                submissions = [dataclasses.replace(s, student=Student(id=s.name, name=s.name, lms=lms.FOLDER))
                               for _, s in chosen]
            else:
                chosen = sharding.select(list(zip(lms.unique_names(intake.found), intake.found)), shard)
                submissions = lms.to_submissions(intake, chosen, staging)
        except ValueError as exc:
            raise BatchError(str(exc)) from None
    finally:
        intake.source.close()
    try:
        class_list = read_roster(roster) if roster is not None else None
    except RosterError as exc:
        raise BatchError(str(exc)) from None
    if class_list is not None:
        submissions = course.match_submissions(submissions, class_list)
    if manual_scores is not None and not Path(manual_scores).is_file():
        raise BatchError(f"the manual scores file {manual_scores} does not exist")
    if workers is not None and workers < 1:
        raise BatchError(f"--workers must be at least 1, not {workers}")
    workers = workers or config.workers
    make_out(out)
    held.enter_context(holding(out))      # before anything in `out` is moved or written
    notes = prepare_out(out)
    from .diff import Previous

    # The class files of the last run, held before this run marks them "not graded yet"
    # (grader.batchstate): what the re-run is compared with and, if it changed, kept (grader.diff).
    previous = Previous.hold(out)
    from .render import html

    env = html.environment()        # the run's templates, parsed once for every page it writes
    own_session = session is None
    # the writer process (grader.writer) is forked before the session's workers exist: it must hold none of their pipes
    writer = writer_process.start(len(submissions)) if own_session else None
    if session is None:
        try:
            session = Session(config, workers=min(workers, len(submissions)))
        except BaseException:
            if writer is not None:
                writer.close(wait=False)
            raise
    report = BatchReport(notes=notes, intake=intake.format, skipped=intake.skipped)
    if not submissions:           # an empty shard
        previous.settle()
        if own_session:
            session.close()
        return report
    try:
        _grade_all(session, submissions, out, force, progress, report, workers, on_result, env, writer)
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        if writer is not None:
            writer.close()                # done already, unless grading stopped early
        # The workers stop (a few milliseconds each) while the class files are written.
        closing = threading.Thread(target=session.close, name="close-workers") if own_session else None
        if closing is not None:
            closing.start()
        try:
            report.outcomes = in_order(report.outcomes, submissions)
            if report.outcomes:
                policy = getattr(config, "late", None)
                _finish(out, report, manual_scores, session.case_set,
                        pending=len(submissions) - len(report.outcomes), config=config, previous=previous,
                        finalize=lambda subs, results: course.finalize(subs, results, class_list, policy,
                                                                       session.case_set, add_missing=shard is None),
                        env=env)
            report.seconds = time.monotonic() - started
        finally:
            if closing is not None:
                closing.join()
    return report


def in_order(outcomes: list[Outcome], submissions: list[Submission]) -> list[Outcome]:
    """`outcomes` in the order of `submissions`, matched by identity (results come in as they are
    graded); a submission without an outcome (not graded yet) is left out."""
    waiting = _by_identity(outcomes)
    return [waiting[s.identity].pop(0) for s in submissions if waiting.get(s.identity)]


def _by_identity(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    """identity -> its outcomes, in order (one, unless two hand-ins claim the same student)."""
    found: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        found.setdefault(outcome.identity, []).append(outcome)
    return found


def with_results(outcomes: list[Outcome], results: list[Result]) -> list[Outcome]:
    """The outcomes holding `results` (one each, in the same order: TA scores merged, say)."""
    if len(results) != len(outcomes):
        raise ValueError(f"{len(results)} results for {len(outcomes)} students")
    return [dataclasses.replace(o, result=r) for o, r in zip(outcomes, results)]


def _course_outcomes(outcomes: list[Outcome], view) -> list[Outcome]:
    """The outcomes after the course's rules (`view`, grader.course.CourseView): each student's
    result replaced, matched by identity; roster students without a submission added."""
    waiting = _by_identity(outcomes)
    return [dataclasses.replace(waiting[s.identity].pop(0), submission=s, result=r) if waiting.get(s.identity)
            else Outcome(s, r) for s, r in zip(view.submissions, view.results)]


def _finish(out: Path, report: BatchReport, manual_scores: str | os.PathLike | None,
            case_set: CaseSet, pending: int = 0, config: Config | None = None, finalize=None,
            previous=None, env=None) -> None:
    """Merge the TA scores (given now, or kept from an earlier run), apply the course's rules
    (`finalize`: identity, roster, late policy), bring every student's files in line, write the
    class files (marked incomplete while `pending` submissions are not graded), and, once the class
    is complete, look for copying across it (`config`'s [similarity]).

    The automatic results are what the resume records keep; the TA scores are merged afresh on
    every run from the file given or the copy kept in OUT (grader.kept_scores), so they are never
    silently dropped. A bad scores file still leaves complete class files behind (without its
    scores; those kept from an earlier merge still apply) before its error is raised.
    """
    from . import kept_scores
    from .manual import ManualScoresError

    from .render import html

    env = env or html.environment()
    give_back_memory()          # what grading freed: the class files are built on the memory it leaves
    problem = None
    merged = False
    try:
        applied = kept_scores.apply(out, report.results, manual_scores, complete=not pending)
        report.outcomes, merged = with_results(report.outcomes, applied.results), applied.source is not None
        report.notes += applied.notes
    except ManualScoresError as exc:
        problem = exc
        if manual_scores is not None:      # a bad new file: the scores kept from before still hold
            try:
                applied = kept_scores.apply(out, report.results, None, complete=not pending)
                report.outcomes, merged = with_results(report.outcomes, applied.results), applied.source is not None
                report.notes += applied.notes
            except ManualScoresError:
                pass
    if finalize is not None:        # identity, roster and late policy (grader.course), afresh every run
        view = finalize([o.submission for o in report.outcomes], report.results)
        report.course = view
        changed = any((a.student, a.late, a.problems, a.score) != (b.student, b.late, b.problems, b.score)
                      for a, b in zip(report.results, view.results))
        merged = merged or changed or len(view.results) != len(report.outcomes)
        report.outcomes = _course_outcomes(report.outcomes, view)
    report.outcomes = [_refreshed(out, o, None if merged else o.result_sha256, env) for o in report.outcomes]
    if merged:
        flush_to_disk(out)              # the students' files rewritten just now (not fsynced one by one)
    if previous is None:
        from .diff import Previous

        previous = Previous.hold(out)     # the class files replaced now are kept under OUT/_runs/ (grader.diff)
    look_for_copying = (config is not None and config.similarity_enabled and not pending
                        and len(report.outcomes) > 1)
    write_class(out, report.outcomes, case_set, pending, similarity=look_for_copying, env=env)
    give_back_memory()          # the summary's rows are gone: the copying comparison reuses none of their pages
    report.changed, _ = previous.settle()
    if look_for_copying:
        report.similarity = _similarity(out, report.outcomes, config, case_set, env)
    if problem is not None:
        raise problem


def _refreshed(out: Path, outcome: Outcome, expected_sha256: str | None, env) -> Outcome:
    """`outcome` once its student's files show its result (grader.batch.refresh_student)."""
    sha256 = refresh_student(out, outcome.submission, outcome.result, expected_sha256, env)
    files = outcome.files if {RESULT, REPORT} <= set(outcome.files) else student_files(out, outcome.submission)
    return dataclasses.replace(outcome, files=files, result_sha256=sha256)


def _similarity(out: Path, outcomes: list[Outcome], config: Config, case_set: CaseSet, env=None):
    """Look for copying across the class (grader.copying) and write the instructors' pages."""
    from . import copying

    # read once, one student at a time, their written texts from their files (grader.slim); the
    # students whose pairs the page shows are read again from their resume records (grader.copying)
    entries = (copying.Entry(o.submission.name, student_dir(out, o.submission), o.submission.path,
                             texts_back(out, o) if o.result.status == GRADED else o.result)
               for o in outcomes)
    template = Path(config.similarity_template) if config.similarity_template else copying.default_template()
    return copying.write_similarity(out, entries, copying.template_of(template), config.similarity,
                                    case_set.assignment.name, env)


def _mark_pending(out: Path, submissions: list[Submission], report: BatchReport, pending: int,
                  case_set: CaseSet, env=None) -> None:
    """Before grading: class files that say how many are not graded yet, so that a batch that
    crashes (or is killed) never leaves a class view that looks complete. A run that finishes
    rewrites them without the mark."""
    from . import kept_scores
    from .manual import ManualScoresError

    done = in_order(report.outcomes, submissions)
    try:
        done = with_results(done, kept_scores.apply(out, [o.result for o in done], None, complete=False).results)
    except ManualScoresError:
        pass            # reported when the batch finishes; this view is provisional anyway
    # review.html (the slowest to render: every answer's math) is left as it is until the end
    write_class(out, done, case_set, pending, with_review=False, env=env)


def remove_stale_temporaries(out: Path, submissions: list[Submission]) -> None:
    """Delete the half-written temporary files a killed batch may have left (never a finished file)."""
    for folder in [out] + [student_dir(out, s) for s in submissions]:
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                try:
                    tmp.unlink()
                except OSError:
                    pass


def _grade_all(session: Session, submissions: list[Submission], out: Path, force: bool, progress: bool | None,
               report: BatchReport, workers: int, on_result, env=None, writer=None) -> None:
    """Grade the submissions not graded already, writing each student's files as they come (in
    `writer`, grader.writer, when given), while the class files say how many are still to come."""
    from .course import identify

    remove_stale_temporaries(out, submissions)
    settings = settings_digest(session.config, session.case_set)
    shared: dict = {}       # the reduced cases the class's slim results share (grader.slim.stand_in)
    todo: list[tuple[Submission, Stamp]] = []
    before: dict[int, object] = {}   # what a student graded again had before (grader.diff.Entry), by id(submission)
    for submission in submissions:
        stamp = Stamp(fingerprint(submission.path), __version__, session.case_set.digest, settings)
        previous = None if force else load_record(student_dir(out, submission))
        # The name shown may have changed (a late hand-in that sorts first took "a_b", this one is
        # "a_b-2" now): the old result carries the old name, so it is graded again under the new.
        if previous is not None and previous.stamp == stamp and previous.result.submission == submission.name:
            report.outcomes.append(Outcome(submission, kept(previous.result, submission, shared), stamp, previous.result_sha256,
                                           student_files(out, submission), reused=True))
            report.reused += 1
        else:
            todo.append((submission, stamp))
            if previous is not None:
                from .diff import entry

                before[id(submission)] = entry(previous.result)
    if todo:
        _mark_pending(out, submissions, report, len(todo), session.case_set, env)
    enabled = sys.stderr.isatty() if progress is None else progress
    bar = Progress(len(submissions), report.reused, enabled and bool(todo))
    for result in report.results:
        bar.failures += result.status != GRADED
    # Twice as many threads as workers: while one thread scores its submission and writes its reports, its
    # worker already runs the next submission for another thread (see Session.run).
    pool = ThreadPoolExecutor(max_workers=2 * workers, thread_name_prefix="grade")

    def done(outcome: Outcome, result: Result) -> None:
        report.outcomes.append(outcome)      # slim: the whole result is on disk (grader.slim)
        report.graded += 1
        bar.update(result)
        if on_result is not None:
            on_result(outcome.submission, result)

    writes = _Writes(out, env, session.config.staff_pages, shared, writer, done)
    try:
        # Handed to the pool a few at a time (enough that no thread waits for work): a future and its
        # queued task for every student of a large class at once would be thousands of objects
        # made at the start, each freed amid what the grading keeps (grader.slim).
        waiting = iter(todo)
        running: dict[Future, tuple[Submission, Stamp]] = {}

        def feed() -> None:
            while len(running) < QUEUED_PER_THREAD * 2 * workers:
                following = next(waiting, None)
                if following is None:
                    return
                running[pool.submit(grade_one, session, following[0])] = following

        feed()
        if todo:
            # While the workers warm up, load what writing the first report needs (Jinja2 and the
            # compiled templates) instead of when the first result is already waiting.
            from .render import html

            env = writes.env = env or html.environment()
            env.get_template("report.html")
            from .render import richtext

            richtext.warm()
        flushed = time.monotonic()
        while running:
            if time.monotonic() - flushed > FLUSH_SECONDS:
                flush_to_disk(out)          # one disk flush for the files of the last few seconds
                flushed = time.monotonic()
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                submission, stamp = running.pop(future)
                result = future.result()    # grade_one never raises
                result = identify(result, submission)     # the LMS identity, in the files and the record
                result.regrade = _regrade(before.pop(id(submission), None), result)
                writes.add(submission, result, None if result.status == SubmissionStatus.ERROR else stamp)
            feed()                          # the threads still hold a student each meanwhile
        writes.finish()
    finally:
        bar.close()
        # On Ctrl-C: drop what has not started; what is running ends when the session closes. The
        # students handed to the writer are written (a few at most), so a re-run keeps them.
        pool.shutdown(wait=False, cancel_futures=True)
        writes.close()
        if todo:
            flush_to_disk(out)


def _regrade(old, result: Result):
    """What the student is told changed since their last grading (grader.diff.regrade), or None.
    Nothing is told against a previous grading the grader failed on, nor for a result it fails on."""
    if old is None or result.status == SubmissionStatus.ERROR or old.result.status == SubmissionStatus.ERROR:
        return None
    from .diff import regrade

    return regrade(old, result)


class _Writes:
    """Where graded students' files are written: in the writer process (grader.writer) when the
    batch has one, else here; in the order given, with at most `writer.IN_FLIGHT` handed over and
    not yet written. `done(outcome, result)` is called once a student's files are all written."""

    def __init__(self, out: Path, env, pages: bool, shared: dict, writer, done: Callable[[Outcome, Result], None]):
        self.out, self.env, self.pages, self.shared, self.writer, self.done = out, env, pages, shared, writer, done
        self.pending: deque = deque()

    def add(self, submission: Submission, result: Result, stamp: Stamp | None) -> None:
        if self.writer is not None:
            try:
                future = self.writer.submit(self.out, submission, result, stamp, self.pages)
            except Exception as exc:  # noqa: BLE001 - re-raised unless the writer is gone
                if not writer_process.broken(exc):
                    raise
                self._without_writer()
            else:
                self.pending.append((future, submission, result, stamp))
                self._collect(writer_process.IN_FLIGHT)
                return
        self._here(submission, result, stamp)

    def finish(self) -> None:
        """Wait for every student handed over."""
        self._collect(0)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def _collect(self, keep: int) -> None:
        """Take the outcomes of the writes done (and wait for the oldest while more than `keep` wait)."""
        while self.pending and (len(self.pending) > keep or self.pending[0][0].done()):
            future, submission, result, stamp = self.pending.popleft()
            try:
                sha256, files = future.result()
            except Exception as exc:  # noqa: BLE001 - re-raised unless the writer is gone
                if not writer_process.broken(exc):
                    raise
                self._without_writer()
                self._here(submission, result, stamp)      # done again here: nothing is lost
                continue
            # The writer says only what it wrote; the outcome is made here, as `write_student`
            # makes it, from this process's own objects (slimmed, grader.slim, sharing the class's
            # cases and questions): a class keeps one of each per student, not two.
            self.done(Outcome(submission, kept(result, submission, self.shared), stamp, sha256,
                              tuple(sys.intern(name) for name in files)), result)

    def _here(self, submission: Submission, result: Result, stamp: Stamp | None) -> None:
        self.done(write_student(self.out, submission, result, stamp, self.env, self.pages, self.shared), result)

    def _without_writer(self) -> None:
        if self.writer is not None:
            self.writer.close(wait=False)
            self.writer = None


def class_mean(results: list[Result]) -> str:
    """The class's mean as summary.html shows it: over the submissions its statistics count (not a
    blank template, not an unreadable file: grader.render.classview.standing), of the totals every
    output shows (grader.totals), out of the class's maximum. Before, the command line averaged
    every hand-in's score, zeros included, and printed a mean the class view did not show."""
    from .render import classview           # light (statistics only); the batch imports rendering late

    counted = [totals(r) for r in results if classview.standing(r) == classview.COUNTED]
    if not counted:
        return "no graded submission to average"
    mean = sum(t.total for t in counted) / len(counted)
    return f"mean {shown(mean)}/{shown(max(t.max for t in counted))} over {len(counted)} graded"


def describe(report: BatchReport, out: str | os.PathLike) -> str:
    """The lines `grader batch` prints when it is done."""
    handed_in = [r for r in report.results if r.status != NO_SUBMISSION]   # roster students without one: apart
    lines = [f"{len(handed_in)} submissions: {report.graded} graded now, {report.reused} unchanged since the last run "
             f"(kept), {report.failures} unreadable or failed; {class_mean(handed_in)}; {report.seconds:.1f} s",
             f"reports: {Path(out) / 'summary.html'}   grades: {Path(out) / 'grades.csv'}"]
    flagged = [p for p in report.similarity if p.flagged]
    if flagged:
        lines.append(f"similarity: {len(flagged)} pair(s) flagged: {Path(out) / 'similarity.html'} (instructors only)")
    lines += [f"  ! {note}" for note in report.notes]
    if any(p.code == "demo-secret" for r in report.results for p in r.problems):
        lines.append("  ! the hidden cases came from the repository's DEMO secret: set GRADER_SECRET "
                     "(or secret_file in grader.toml) before grading for real")
    if report.intake and report.intake != "folder":
        lines.append(f"read as a {report.intake} bulk download")
    lines += [f"  ? {clean(line, 300).replace(chr(10), ' ')}" for line in report.skipped[:20]]
    if len(report.skipped) > 20:
        lines.append(f"  ? … and {len(report.skipped) - 20} more entries that are nobody's submission")
    roster = getattr(report.course, "roster", None)
    if roster is not None:
        added = len(report.course.missing)
        absent = (f"{added} students with no submission" if added or not roster.missing else
                  f"{len(roster.missing)} roster students not in this shard (grader merge --roster lists the missing)")
        lines.append(f"roster: {len(roster.matched)} submissions matched, {absent}, "
                     f"{len(roster.unknown)} submissions from ids not on the roster"
                     + (f", {len(roster.shared)} students with several submissions" if roster.shared else ""))
        lines += [f"  ! {name}: not on the roster" for name in roster.unknown]
        anonymous = [r for r in report.results if r.student is not None and r.student.lms == "canvas"
                     and r.student.id.startswith("anon_")]
        if anonymous:
            lines.append(f"  ! {len(anonymous)} hand-ins come from a download made with anonymous grading: their "
                         "anon_ ids name no student, so the roster cannot match them. Enter their scores in "
                         "SpeedGrader, or post the grades (or turn anonymity off) in Canvas, download the "
                         "submissions again and re-run the batch")
    if report.changed:
        from .diff import changed_totals

        lines.append(f"{changed_totals(report.changed)} since the last run (grader diff shows how)")
    for result in report.results:
        if result.status != GRADED:
            reasons = [p.message for p in result.problems if p.code != "demo-secret"] or [result.status]
            lines.append(f"  ! {result.submission}: {result.status}: {reasons[0].splitlines()[0]}")
    return "\n".join(lines)
