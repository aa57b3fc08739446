"""Grading a whole class: a folder of submissions in, a folder of reports out.

    DIR/alice.ipynb            OUT/alice/report.html     one page per student
    DIR/bob/  (a folder)  ──▶  OUT/alice/result.json     the Result as JSON
    ...                        OUT/alice/batch.json      what was graded (resume record)
                               OUT/summary.html          the class view, linking every report
                               OUT/review.html           written answers with rubrics, for TAs
                               OUT/grades.csv            student, each question, total, status
                               OUT/results.json          every Result

Why it is shaped like this:
- One `Session` with N warm sandboxed workers and N threads: the expensive part of grading a
  notebook is starting an interpreter, so it is paid N times per batch, not once per student.
- Resumable: a student's `batch.json` is written last, after their report and result, and records
  the fingerprint of what was graded (submission content, grader version, case-set digest, limits).
  A re-run skips every student whose record still matches, so a batch stopped by Ctrl-C or
  `kill -9` loses nothing already written, and a re-run after a late hand-in regrades one student.
- Every file is written atomically, and a failure inside the grader for one submission becomes
  that student's Result (status "error"), so one bad submission never stops the batch.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import __version__
from .config import Config
from .files import read_text_or_none, write_atomic
from .results import ERROR, GRADED, Result, json_text
from .sandbox import SandboxUnavailable
from .session import Session, internal_error
from .spec import CaseSet

RECORD = "batch.json"
REPORT = "report.html"
RESULT = "result.json"
NAME_LIMIT = 80


class BatchError(ValueError):
    """The batch cannot start (no such folder, nothing to grade, output inside a submission...)."""


@dataclass(frozen=True)
class Submission:
    """One student's hand-in: a file or a folder, and the directory name their reports go to."""

    name: str
    path: Path


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


@dataclass
class BatchReport:
    """What a batch did, for the command line to print."""

    results: list[Result] = field(default_factory=list)
    graded: int = 0
    reused: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    # student -> sha256 of the result.json holding their automatic result (written now or before)
    result_sha256: dict[str, str] = field(default_factory=dict, repr=False)
    # student -> the result.json text written by this run (reused for the class's results.json)
    result_text: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def failures(self) -> int:
        return sum(1 for r in self.results if r.status != GRADED)


# ------------------------------------------------------------------------------------------------
# Finding the submissions


def safe_name(raw: str) -> str:
    """A student name that is safe as one directory name: no separators, no leading dot, bounded."""
    name = re.sub(r"[^\w.-]+", "_", raw, flags=re.UNICODE).strip("._-")
    return name[:NAME_LIMIT] or "student"


def discover(folder: str | os.PathLike, exclude: Iterable[str | os.PathLike] = ()) -> list[Submission]:
    """One submission per visible file or folder in `folder`, in name order, with unique names.

    Hidden entries (a leading dot) and `__pycache__` are skipped, and so is any path in `exclude`
    (the output folder, when someone puts it inside the submissions folder).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder of submissions")
    excluded = {Path(p).resolve() for p in exclude}
    found: list[Submission] = []
    taken: set[str] = set()
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name == "__pycache__" or entry.resolve() in excluded:
            continue
        base = safe_name(entry.name if entry.is_dir() else entry.stem)
        name, number = base, 2
        while name.lower() in taken:       # alice.ipynb and alice.py, or names that differ only in case
            name, number = f"{base}-{number}", number + 1
        taken.add(name.lower())
        found.append(Submission(name, entry))
    return found


def fingerprint(path: str | os.PathLike) -> str:
    """sha256 of a submission file, or of a folder's visible files (their paths and contents).

    Symbolic links are fingerprinted by where they point, never followed: a link to outside the
    submission must not make the batch read (or hash) files it has no business with.
    """
    path = Path(path)
    h = hashlib.sha256()
    if path.is_symlink():
        h.update(b"link\0" + os.readlink(path).encode("utf-8", "surrogateescape"))
    elif path.is_file():
        h.update(b"file\0")
        _hash_file(h, path)
    elif path.is_dir():
        h.update(b"folder\0")
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
            for name in sorted(files):
                if name.startswith("."):
                    continue
                full = Path(root, name)
                h.update(str(full.relative_to(path)).encode("utf-8", "surrogateescape") + b"\0")
                if full.is_symlink():
                    h.update(b"link\0" + os.readlink(full).encode("utf-8", "surrogateescape"))
                else:
                    _hash_file(h, full)
    else:
        h.update(b"missing\0")
    return h.hexdigest()


def _hash_file(h: "hashlib._Hash", path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        h.update(f"unreadable: {exc.strerror}".encode())


def settings_digest(config: Config) -> str:
    """The settings that change a grade besides the cases: the resource limits."""
    return hashlib.sha256(repr(config.limits).encode()).hexdigest()[:16]


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
    """The record a previous run left for this student, if complete and readable."""
    text = read_text_or_none(student_dir / RECORD)
    if text is None or not (student_dir / REPORT).is_file() or not (student_dir / RESULT).is_file():
        return None
    try:
        data = json.loads(text)
        return Record(Stamp(**data["stamp"]), Result.from_dict(data["result"]), str(data["result_sha256"]))
    except (ValueError, KeyError, TypeError):
        return None     # a record from another version, or damaged: grade again


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


def write_student(out: Path, submission: Submission, result: Result, stamp: Stamp | None) -> str:
    """The student's result and report, then (last) the record that lets a re-run skip them.

    Returns the text of the result.json written.
    """
    from .render import html

    folder = out / submission.name
    text = result_json(result)
    write_atomic(folder / RESULT, text)
    write_atomic(folder / REPORT, html.report(result))
    if stamp is not None:
        head = json_text({"stamp": stamp.to_dict(), "source": str(submission.path), "result_sha256": _sha256(text)})
        write_atomic(folder / RECORD, head[:-1] + ',"result":' + text + "}")    # the result, serialised once
    else:
        try:
            (folder / RECORD).unlink()     # an errored grade must be retried next time
        except FileNotFoundError:
            pass
    return text


def refresh_student(out: Path, submission: Submission, result: Result, expected_sha256: str | None = None) -> None:
    """Make the student's result.json and report show `result`, rewriting them only if they do not.

    `expected_sha256` (of `result`'s result.json, when known) spares serialising to compare.
    """
    from .render import html

    folder = out / submission.name
    on_disk = _file_sha256(folder / RESULT)
    if expected_sha256 is not None and on_disk == expected_sha256 and (folder / REPORT).is_file():
        return
    text = result_json(result)
    if on_disk != _sha256(text) or not (folder / REPORT).is_file():
        write_atomic(folder / REPORT, html.report(result))
        write_atomic(folder / RESULT, text)


def write_class(out: Path, submissions: list[Submission], results: list[Result], case_set: CaseSet,
                result_texts: dict[str, str] | None = None) -> None:
    """The class-wide files: summary.html, review.html, grades.csv and results.json.

    `result_texts` maps a student to the JSON text of their result when it is at hand already
    (the result.json this run wrote), so that results.json does not serialise it again.
    """
    from .render import gradebook, html, review

    links = {s.name: f"{s.name}/{REPORT}" for s in submissions}
    question_ids = [q.id for q in case_set.assignment.questions]
    write_atomic(out / "grades.csv", gradebook.csv_text(results, question_ids))
    texts = result_texts or {}
    head = json_text({"assignment": case_set.assignment.name, "grader_version": __version__,
                      "case_set": case_set.digest})
    entries = [texts.get(s.name) or json_text(r.to_dict()) for s, r in zip(submissions, results)]
    write_atomic(out / "results.json", head[:-1] + ',"results":[' + ",".join(entries) + "]}")
    write_atomic(out / "summary.html", html.summary(results, links))
    if case_set.assignment.written:
        write_atomic(out / "review.html", review.review(results, case_set.assignment))


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
              on_result: Callable[[Submission, Result], None] | None = None) -> BatchReport:
    """Grade every submission in `folder` into `out`. See the module docstring for the layout.

    `session` may be passed to reuse warm workers (tests); otherwise one is made with `workers`
    workers (default: the config's, i.e. all cores) and closed at the end. `progress=None` shows a
    bar only when stderr is a terminal.
    """
    started = time.monotonic()
    out = Path(out)
    submissions = discover(folder, exclude=[out])
    if not submissions:
        raise BatchError(f"{folder} holds no submissions (hidden files are skipped)")
    if manual_scores is not None and not Path(manual_scores).is_file():
        raise BatchError(f"the manual scores file {manual_scores} does not exist")
    if workers is not None and workers < 1:
        raise BatchError(f"--workers must be at least 1, not {workers}")
    workers = workers or config.workers
    own_session = session is None
    if session is None:
        session = Session(config, workers=min(workers, len(submissions)))
    report = BatchReport()
    try:
        _grade_all(session, submissions, out, force, progress, report, workers, on_result)
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        # The workers stop (a few milliseconds each) while the class files are written.
        closing = threading.Thread(target=session.close, name="close-workers") if own_session else None
        if closing is not None:
            closing.start()
        try:
            by_name = {r.submission: r for r in report.results}
            done = [s for s in submissions if s.name in by_name]
            report.results = [by_name[s.name] for s in done]
            if done:
                _finish(out, done, report, None if report.interrupted else manual_scores, session.case_set)
            report.seconds = time.monotonic() - started
        finally:
            if closing is not None:
                closing.join()
    return report


def _finish(out: Path, done: list[Submission], report: BatchReport, manual_scores: str | os.PathLike | None,
            case_set: CaseSet) -> None:
    """Merge the TA scores (if any), bring every student's files in line, write the class files.

    The automatic results are what the resume records keep; the TA scores are merged afresh on
    every run, so a corrected scores file (or none) always shows. A bad scores file still leaves
    complete class files behind (without TA scores) before its error is raised.
    """
    from .manual import ManualScoresError, apply_manual_scores

    problem = None
    if manual_scores is not None:
        try:
            report.results = apply_manual_scores(report.results, manual_scores)
        except ManualScoresError as exc:
            problem = exc
    merged = manual_scores is not None and problem is None
    for submission, result in zip(done, report.results):
        refresh_student(out, submission, result, None if merged else report.result_sha256.get(submission.name))
    write_class(out, done, report.results, case_set, None if merged else report.result_text)
    if problem is not None:
        raise problem


def remove_stale_temporaries(out: Path, submissions: list[Submission]) -> None:
    """Delete the half-written temporary files a killed batch may have left (never a finished file)."""
    for folder in [out] + [out / s.name for s in submissions]:
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                try:
                    tmp.unlink()
                except OSError:
                    pass


def _grade_all(session: Session, submissions: list[Submission], out: Path, force: bool, progress: bool | None,
               report: BatchReport, workers: int, on_result) -> None:
    remove_stale_temporaries(out, submissions)
    settings = settings_digest(session.config)
    todo: list[tuple[Submission, Stamp]] = []
    for submission in submissions:
        stamp = Stamp(fingerprint(submission.path), __version__, session.case_set.digest, settings)
        previous = None if force else load_record(out / submission.name)
        if previous is not None and previous.stamp == stamp:
            report.results.append(previous.result)
            report.result_sha256[submission.name] = previous.result_sha256
            report.reused += 1
        else:
            todo.append((submission, stamp))
    enabled = sys.stderr.isatty() if progress is None else progress
    bar = Progress(len(submissions), report.reused, enabled and bool(todo))
    for result in report.results:
        bar.failures += result.status != GRADED
    # Twice as many threads as workers: while one thread scores its submission and writes its reports, its
    # worker already runs the next submission for another thread (see Session.run).
    pool = ThreadPoolExecutor(max_workers=2 * workers, thread_name_prefix="grade")
    try:
        running: dict[Future, tuple[Submission, Stamp]] = {
            pool.submit(grade_one, session, submission): (submission, stamp) for submission, stamp in todo}
        if todo:
            # While the workers warm up, load what writing the first report needs (Jinja2 and the
            # compiled templates) instead of when the first result is already waiting.
            from .render import html

            html.environment().get_template("report.html")
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                submission, stamp = running.pop(future)
                result = future.result()    # grade_one never raises
                text = write_student(out, submission, result, None if result.status == ERROR else stamp)
                report.result_sha256[submission.name] = _sha256(text)
                report.result_text[submission.name] = text
                report.results.append(result)
                report.graded += 1
                bar.update(result)
                if on_result is not None:
                    on_result(submission, result)
    finally:
        bar.close()
        # On Ctrl-C: drop what has not started; what is running ends when the session closes.
        pool.shutdown(wait=False, cancel_futures=True)


def describe(report: BatchReport, out: str | os.PathLike) -> str:
    """The lines `grader batch` prints when it is done."""
    total = len(report.results)
    mean = sum(r.score for r in report.results) / total if total else 0.0
    lines = [f"{total} submissions: {report.graded} graded now, {report.reused} unchanged since the last run "
             f"(kept), {report.failures} unreadable or failed; mean score {mean:.2f}; {report.seconds:.1f} s",
             f"reports: {Path(out) / 'summary.html'}   grades: {Path(out) / 'grades.csv'}"]
    if any(p.code == "demo-secret" for r in report.results for p in r.problems):
        lines.append("  ! the hidden cases came from the repository's DEMO secret: set GRADER_SECRET "
                     "(or secret_file in grader.toml) before grading for real")
    for result in report.results:
        if result.status != GRADED:
            reasons = [p.message for p in result.problems if p.code != "demo-secret"] or [result.status]
            lines.append(f"  ! {result.submission}: {result.status}: {reasons[0].splitlines()[0]}")
    return "\n".join(lines)
