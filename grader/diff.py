"""Regrades with a diff: what changed between two runs of a class, per student and question, and why it may have.

`grader diff OLD_OUT NEW_OUT [--out DIR]` compares two batch outputs (their `results.json`; a run
kept under `OUT/_runs/<time>/` is one too) and prints a table; it writes `diff.csv` and `diff.html`
to DIR (default NEW_OUT). Students are matched by their LMS id (else their submission's name).

Each changed score comes with the recorded inputs that differ between the two runs, which are
the reasons it *may* have changed: the grader version, the case-set digest, the question's
tolerance, the submission's content hash, the status (unreadable, error), a case that timed out
or crashed in one run only, the TA's score for a written part, the late penalty. When none
differs, the table says so: then the change came from something the grader does not record.

A batch keeps the class files it replaces: before `results.json`, `grades.csv`, `summary.html`
and `review.html` are rewritten, the old ones are hard-linked aside (free, and the atomic rename
leaves the old inode to the link); if `results.json` changed, they are kept as
`OUT/_runs/<time of the old run>/` and the batch says how many students' totals changed.
"""
from __future__ import annotations

import csv
import filecmp
import io
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .results import CaseStatus, Regrade, RegradeItem, Result
from .resultsfile import ResultsFileError, iter_results
from .slim import slim

CLASS_FILES = ("results.json", "grades.csv", "summary.html", "review.html")
RUNS = "_runs"                       # a student folder can never start with "_" (batch.safe_name)
EPS = 1e-9
UNSTABLE = (CaseStatus.TIMEOUT, CaseStatus.CRASHED)
NO_REASON = "no recorded input differs (see both reports)"


@dataclass
class Change:
    key: str                 # the student's identity (LMS id, else submission name)
    name: str                # the submission's name in the new run (else the old)
    item: str                # a question id, a written part id, "late penalty", "status" or "total"
    old: float | str | None
    new: float | str | None
    reasons: list[str] = field(default_factory=list)
    old_name: str = ""       # the submission's name in the old run, where its report is (else `name`)

    @property
    def delta(self) -> float | None:
        if isinstance(self.old, (int, float)) and isinstance(self.new, (int, float)):
            return self.new - self.old
        return None


@dataclass
class RunDiff:
    old: str
    new: str
    run_reasons: list[str]            # what differs for the whole class (versions, case sets, tolerances)
    changes: list[Change]
    added: list[str]                  # students only in the new run
    removed: list[str]                # students only in the old run

    @property
    def totals_changed(self) -> int:
        return len({c.key for c in self.changes if c.item == "total"})

    @property
    def headline(self) -> str:
        return changed_totals(self.totals_changed)


def changed_totals(count: int) -> str:
    """How many students' totals changed, as every output says it ("1 student's total changed",
    "2 students' totals changed"): the terminal, diff.html, `grader batch` and `grader merge`."""
    return f"{count} student's total changed" if count == 1 else f"{count} students' totals changed"


def key_of(result: Result) -> str:
    return result.student.id if result.student is not None and result.student.id else result.submission


@dataclass
class Entry:
    """What the diff needs of one student's result: the result made slim (grader.slim: scores,
    statuses, written parts) and each question's tolerance, which slimming drops."""

    result: Result
    tolerances: dict[str, str]


def entry(result: Result) -> Entry:
    return Entry(slim(result), tolerances(result))


def load_results(folder: str | os.PathLike) -> list[Entry]:
    """A batch output's results, read one at a time (grader.resultsfile) and kept slim."""
    try:
        return [entry(r) for r in iter_results(Path(folder) / "results.json")]
    except ResultsFileError as exc:
        raise ValueError(str(exc)) from None


def tolerances(result: Result) -> dict[str, str]:
    return {q.id: " / ".join(sorted({c.tolerance for c in q.cases if c.tolerance})) for q in result.questions}


def compare(old: list, new: list, old_label: str = "old", new_label: str = "new") -> RunDiff:
    """The changes from `old` to `new` (lists of `Entry`, or of `Result`)."""
    old = [e if isinstance(e, Entry) else entry(e) for e in old]
    new = [e if isinstance(e, Entry) else entry(e) for e in new]
    before = {key_of(e.result): e for e in old}
    after = {key_of(e.result): e for e in new}
    run_reasons = _run_reasons(old, new)
    changes: list[Change] = []
    for key in [k for k in after if k in before]:
        changes += _student(key, before[key], after[key])
    return RunDiff(old_label, new_label, run_reasons, changes,
                   added=[after[k].result.submission for k in after if k not in before],
                   removed=[before[k].result.submission for k in before if k not in after])


def _run_reasons(old: list[Entry], new: list[Entry]) -> list[str]:
    reasons = []
    for label, attr in (("grader version", "grader_version"), ("case set", "case_set")):
        a = sorted({getattr(e.result, attr) for e in old if getattr(e.result, attr)})
        b = sorted({getattr(e.result, attr) for e in new if getattr(e.result, attr)})
        if a != b:
            reasons.append(f"{label} {', '.join(a) or '–'} → {', '.join(b) or '–'}")
    told, tnew = {}, {}
    for e in old:
        told.update((q, t) for q, t in e.tolerances.items() if t)
    for e in new:
        tnew.update((q, t) for q, t in e.tolerances.items() if t)
    for q in sorted(set(told) & set(tnew)):
        if told[q] != tnew[q]:
            reasons.append(f"tolerance of {q}: {told[q]} → {tnew[q]}")
    return reasons


def _student(key: str, ea: Entry, eb: Entry) -> list[Change]:
    a, b = ea.result, eb.result
    common = []
    if a.source_sha256 != b.source_sha256:
        common.append(f"submission content changed ({a.source_sha256[:10] or '–'} → {b.source_sha256[:10] or '–'})")
    if a.grader_version != b.grader_version:
        common.append(f"grader version {a.grader_version} → {b.grader_version}")
    if a.case_set != b.case_set:
        common.append(f"case set {a.case_set} → {b.case_set}")
    if a.status != b.status:
        common.append(f"status {a.status} → {b.status}")
    tol_a, tol_b = ea.tolerances, eb.tolerances
    qa = {q.id: q for q in a.questions}
    qb = {q.id: q for q in b.questions}
    changes = []
    for qid in list(qb) + [q for q in qa if q not in qb]:
        old, new = qa.get(qid), qb.get(qid)
        s_old = old.score if old else None
        s_new = new.score if new else None
        if s_old is not None and s_new is not None and abs(s_old - s_new) <= EPS:
            continue
        reasons = list(common)
        if old and new and tol_a.get(qid) != tol_b.get(qid):
            reasons.append(f"tolerance {tol_a.get(qid)} → {tol_b.get(qid)}")
        unstable = _unstable(old, new)
        if unstable:
            reasons.append(unstable)
        changes.append(Change(key, b.submission, qid, s_old, s_new, reasons))
    wa = {w.id: w for w in a.written}
    wb = {w.id: w for w in b.written}
    for wid in list(wb) + [w for w in wa if w not in wb]:
        old, new = wa.get(wid), wb.get(wid)
        s_old = old.score if old else None
        s_new = new.score if new else None
        if s_old == s_new or (s_old is not None and s_new is not None and abs(s_old - s_new) <= EPS):
            continue
        reason = "TA score changed" + (f" ({new.comment[:120]})" if new is not None and new.comment else "")
        changes.append(Change(key, b.submission, wid, s_old, s_new, [*common, reason]))
    late_a = a.late.points if a.late else 0.0
    late_b = b.late.points if b.late else 0.0
    if abs(late_a - late_b) > EPS:
        changes.append(Change(key, b.submission, "late penalty", late_a, late_b,
                              [*common, "late penalty changed (due date, policy or submission time)"]))
    if abs(a.score - b.score) > EPS or a.status != b.status:
        reasons = sorted({r for c in changes for r in c.reasons}) or list(common)
        changes.append(Change(key, b.submission, "total", a.score, b.score, reasons))
    for change in changes:
        change.old_name = a.submission
        if not change.reasons:
            change.reasons.append(NO_REASON)
    return changes


def regrade(old: Entry, new: Result, when: datetime | None = None) -> Regrade | None:
    """What a student is told when graded again: the scores that moved since `old` (a question's,
    then the total) and the recorded reasons, or None when no score moved."""
    changes = [c for c in _student(key_of(new), old, entry(new)) if c.item == "total" or c.item in
               {q.id for q in new.questions}]
    if not changes:
        return None
    reasons = sorted({r for c in changes for r in c.reasons if r != NO_REASON})
    moment = (when or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    named = {"total": "auto-graded total"}         # the TA's scores are merged after: not in it
    return Regrade(moment, [RegradeItem(named.get(c.item, c.item), _float(c.old), _float(c.new)) for c in changes],
                   reasons)


def _float(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _unstable(old, new) -> str:
    """A case that timed out or crashed in one run only: the machine's load, not the code, may differ."""
    if old is None or new is None or len(old.cases) != len(new.cases):
        return ""
    # slim results keep each case's status in order (not its uid): compare them position by position
    flipped = [1 for a, b in zip(old.cases, new.cases)
               if a.status != b.status and (a.status in UNSTABLE or b.status in UNSTABLE)]
    if flipped:
        return f"{len(flipped)} case(s) timed out or crashed in one run only"
    return ""


# ------------------------------------------------------------------------------------------------
# Views: terminal table, CSV, page


def _num(value) -> str:
    """A score in diff.csv: four decimals at most, as grades.csv keeps them."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _shown(value) -> str:
    """A score on the page and the terminal, rounded as every report shows it (grader.totals.shown:
    half-up to two decimals; the page showed 3.5714 where the reports say 3.57)."""
    from .totals import shown

    if value is None:
        return "–"
    if isinstance(value, (int, float)):
        return shown(value)
    return str(value)


def _signed(delta: float) -> str:
    return ("+" if delta >= 0 else "−") + _shown(abs(delta))


def table(d: RunDiff) -> str:
    from .text import clean

    lines = [f"{d.old} → {d.new}: {d.headline}"]
    lines += [f"  whole class: {r}" for r in d.run_reasons]
    if d.added:
        lines.append(f"  only in {d.new}: {', '.join(clean(n, 80) for n in d.added)}")
    if d.removed:
        lines.append(f"  only in {d.old}: {', '.join(clean(n, 80) for n in d.removed)}")
    if not d.changes:
        lines.append("  no score changed")
        return "\n".join(lines)
    rows = [("student", "item", "old", "new", "Δ", "why it may have changed")]
    for c in d.changes:
        delta = c.delta
        rows.append((clean(c.name, 40), clean(c.item, 20), _shown(c.old), _shown(c.new),
                     "" if delta is None else _signed(delta), "; ".join(clean(r, 200) for r in c.reasons)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5])
    return "\n".join(lines)


def csv_text(d: RunDiff) -> str:
    from .render.gradebook import cell_text

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "student", "item", "old", "new", "delta", "reasons"])
    for c in d.changes:
        delta = c.delta
        writer.writerow([cell_text(c.key), cell_text(c.name), cell_text(c.item), _num(c.old), _num(c.new),
                         "" if delta is None else f"{delta:.6g}", cell_text("; ".join(c.reasons))])
    return out.getvalue()


@dataclass(frozen=True)
class Row:
    """A change as the page shows it: its numbers rounded, and links to the student's report in
    each run (relative to the page; None where that run has none)."""

    change: Change
    old: str
    new: str
    delta: str
    old_report: str | None
    new_report: str | None


def page(d: RunDiff, env=None, reports: "tuple[dict[str, Path], dict[str, Path]] | None" = None,
         here: Path | None = None) -> str:
    """diff.html. `reports`: each run's reports by submission name (`student_reports`), linked
    relative to `here`, the page's folder."""
    from .render.html import environment, safe_link

    old_reports, new_reports = reports or ({}, {})

    def href(found: Path | None) -> str | None:
        return safe_link(os.path.relpath(found, here)) if found is not None and here is not None else None

    rows = [Row(c, _shown(c.old), _shown(c.new), "" if c.delta is None else _signed(c.delta),
                href(old_reports.get(c.old_name or c.name)), href(new_reports.get(c.name))) for c in d.changes]
    return (env or environment()).get_template("diff.html").render(title=f"What changed: {d.old} → {d.new}", diff=d,
                                                                   rows=rows)


def student_reports(run: str | os.PathLike) -> dict[str, Path]:
    """A batch output's (or a kept run's) student reports by submission name.

    A student's folder name is not a function of the result (grader.batch.folder_name hashes the
    hand-in's identity), so each folder's result.json says whose it is: its first key is the
    submission's name, read from the file's first few kilobytes. A kept run holds the reports of
    the students its re-run graded again; the others are its OUT's, unchanged by that run.
    """
    run = Path(run)
    found: dict[str, Path] = {}
    if run.parent.name == RUNS:
        found.update(student_reports(run.parent.parent))
    students = run / "students"
    if not students.is_dir():
        return found
    for folder in sorted(students.iterdir()):
        name = _submission_name(folder / "result.json")
        if name is not None and (folder / "report.html").is_file():
            found[name] = folder / "report.html"
    return found


_FIRST_KEY = re.compile(r'\A\s*\{\s*"submission"\s*:\s*("(?:[^"\\]|\\.)*")')


def _submission_name(result_json: Path) -> str | None:
    """The `submission` of a student's result.json, its first key, without reading the whole file."""
    import json

    try:
        with open(result_json, encoding="utf-8", errors="replace") as fh:
            head = fh.read(8192)
    except OSError:
        return None
    match = _FIRST_KEY.match(head)
    try:
        return json.loads(match.group(1)) if match else None
    except ValueError:
        return None


def write(d: RunDiff, folder: str | os.PathLike) -> tuple[Path, Path]:
    """diff.csv and diff.html in `folder`; the page links to the students' reports of the runs
    `d.old` and `d.new` name, where they are batch outputs on this disk."""
    from .files import write_atomic

    folder = Path(folder)
    reports = tuple(student_reports(run) if Path(run).is_dir() else {} for run in (d.old, d.new))
    write_atomic(folder / "diff.csv", csv_text(d))
    write_atomic(folder / "diff.html", page(d, reports=reports, here=folder.resolve()))
    return folder / "diff.csv", folder / "diff.html"


# ------------------------------------------------------------------------------------------------
# Keeping the previous run's class files


@dataclass
class Previous:
    """The class files of the run being replaced, hard-linked aside until the new ones are written."""

    out: Path
    held: Path | None
    stamp: str

    @classmethod
    def hold(cls, out: Path) -> "Previous":
        old = out / "results.json"
        if not old.is_file():
            return cls(out, None, "")
        stamp = datetime.fromtimestamp(old.stat().st_mtime, timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        for stale in (out / RUNS).glob(".pending-*"):      # left by a batch killed while writing
            shutil.rmtree(stale, ignore_errors=True)
        held = out / RUNS / f".pending-{os.getpid()}"
        held.mkdir(parents=True)
        for name in CLASS_FILES:
            if (out / name).is_file():
                try:
                    os.link(out / name, held / name)
                except OSError:
                    shutil.copy2(out / name, held / name)
        return cls(out, held, stamp)

    def settle(self) -> tuple[int | None, Path | None]:
        """Keep the old files as `_runs/<stamp>/` if results.json changed; the number of students whose
        total changed (None without a previous run) and where the old run is kept.

        The totals are read from the two grades.csv (small), not from results.json: the count costs
        the same memory for 20 students or 5,000."""
        if self.held is None:
            return None, None
        try:
            # compared in chunks (filecmp): a large class's results.json is never read whole
            same = filecmp.cmp(self.held / "results.json", self.out / "results.json", shallow=False)
            if same:
                shutil.rmtree(self.held, ignore_errors=True)
                return 0, None
            old, new = _totals(self.held / "grades.csv"), _totals(self.out / "grades.csv")
            changed = sum(1 for name in new if name in old and old[name] != new[name])
            target = self.out / RUNS / self.stamp
            number = 2
            while target.exists():
                target, number = self.out / RUNS / f"{self.stamp}-{number}", number + 1
            os.replace(self.held, target)
            for page in KEPT_PAGES:
                relink_kept(target / page)
            return changed, target
        except OSError:
            shutil.rmtree(self.held, ignore_errors=True)
            return None, None


def pending_run(out: str | os.PathLike) -> Path | None:
    """The class files of the run being replaced, held while a batch writes OUT (`Previous.hold`),
    or None outside a batch: where a student's replaced pages go (grader.batch.keep_old_pages)."""
    return next((Path(out) / RUNS).glob(".pending-*"), None)


KEPT_PAGES = ("summary.html", "review.html")
# What a class page links to outside the class files a run keeps (OUT/students/..., similarity.html).
# A student's pages that the re-run replaced are kept in OUT/_runs/<time>/students/ (the link stays);
# the others, and the similarity page, are OUT's, two folders up. Links are as html.safe_link wrote them.
_OUTSIDE = re.compile(r'href="((?:students/[^"]*)|similarity\.html)"')
_MAIN = '<main class="page">'
EARLIER = ('<div class="notice warn" id="earlier-run"><p><strong>An earlier run of this class</strong>, kept when '
           'it was graded again ({when}). Its scores are the old ones, and its links open the students\' '
           'reports as they were then (a student graded again kept theirs here; the others\' are the current '
           'ones, unchanged by that run). <code>grader diff</code> compares the two runs.</p></div>')


def _kept_or_outside(folder: Path):
    """The substitution for one link of a kept page in `folder`: kept there, or OUT's."""
    from urllib.parse import unquote

    def link(match: re.Match) -> str:
        href = match.group(1)
        here = href.startswith("students/") and (folder / unquote(href.split("#")[0])).is_file()
        return match.group(0) if here else f'href="../../{href}"'

    return link


def relink_kept(page: Path) -> None:
    """Make a kept class page work from OUT/_runs/<time>/: its links to the students' pages open the
    ones kept beside it, else OUT's, like its link to the similarity page, and a notice at the top
    says that it is an earlier run. Line by line into a new file (the kept one was a hard link to
    the page the new run replaced)."""
    if not page.is_file():
        return
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    temporary = page.with_name(page.name + ".relink")
    relink = _kept_or_outside(page.parent)
    try:
        with open(page, encoding="utf-8") as source, open(temporary, "w", encoding="utf-8") as target:
            for line in source:
                line = _OUTSIDE.sub(relink, line)
                if _MAIN in line:
                    line = line.replace(_MAIN, _MAIN + "\n" + EARLIER.format(when=when), 1)
                target.write(line)
        os.replace(temporary, page)
    except (OSError, UnicodeDecodeError):
        temporary.unlink(missing_ok=True)      # the kept page stays as it was: the record matters more


def _totals(grades_csv: Path) -> dict[str, tuple[str, str]]:
    """student -> (total, status) from a grades.csv; {} if there is none."""
    try:
        with open(grades_csv, encoding="utf-8", newline="") as fh:
            return {row.get("student", ""): (row.get("total", ""), row.get("status", "")) for row in csv.DictReader(fh)}
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}
