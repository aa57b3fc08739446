"""The class's copying evidence, end to end: gather each student's evidence, compare, write the pages.

Gathers from what a batch leaves behind (each student's Result, the digests of their wrong answers
in their instructor-only `instructor.json`, and their submission for the code), so that it works
the same right after `grader batch` and later as `grader similarity OUT`. The comparison itself is
`grader.similarity`; the pages are `grader.render.similarity`.

Everything written here is for instructors only: `similarity.html` and `similarity.csv` at the top
of OUT, never inside a student's folder.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .files import read_text_or_none, write_atomic
from .load import MODULE, NOTEBOOK, LoadError, load
from .render.instructor import INSTRUCTOR_JSON
from .results import GRADED, AnswerPrint, Result
from .similarity import Evidence, Pair, Template, Thresholds, compare_class

PAGE = "similarity.html"
TABLE = "similarity.csv"


@dataclass(frozen=True)
class Entry:
    """One graded student as the batch knows them: where their files are, what they handed in."""

    name: str
    folder: Path
    source: Path | None
    result: Result


def read_wrong_answers(folder: Path) -> tuple[AnswerPrint, ...]:
    """The wrong-answer digests a batch stored for this student; none if missing or damaged."""
    text = read_text_or_none(folder / INSTRUCTOR_JSON)
    if text is None:
        return ()
    try:
        return tuple(AnswerPrint.from_dict(a) for a in json.loads(text).get("wrong_answers", []))
    except (ValueError, KeyError, TypeError, AttributeError):
        return ()


def code_of(source: Path | None) -> str:
    """The code a student handed in (code cells or module), or "" when it cannot be read."""
    if source is None:
        return ""
    try:
        program = load(source)
    except (LoadError, OSError):
        return ""
    if program.kind not in (NOTEBOOK, MODULE):
        return ""
    return "\n\n".join(unit.source for unit in program.units)


def evidence_of(entry: Entry) -> Evidence:
    written = tuple((w.id, w.text) for w in entry.result.written if w.found and w.text.strip())
    return Evidence(entry.name, code_of(entry.source), written, read_wrong_answers(entry.folder))


def template_of(path: Path | None) -> Template:
    """What every student was given, read from the blank template (code cells and markdown)."""
    if path is None:
        return Template()
    try:
        program = load(path)
    except (LoadError, OSError):
        return Template()
    return Template("\n\n".join(u.source for u in program.units), "\n\n".join(u.source for u in program.markdown))


def compare_entries(entries: list[Entry], template: Template, thresholds: Thresholds
                    ) -> tuple[list[Pair], dict[str, Evidence]]:
    """Compare the graded students (unreadable and errored hand-ins hold nothing to compare)."""
    evidence = {e.name: evidence_of(e) for e in entries if e.result.status == GRADED}
    return compare_class(list(evidence.values()), template, thresholds), evidence


def write_similarity(out: Path, entries: list[Entry], template: Template, thresholds: Thresholds,
                     assignment: str, env=None) -> list[Pair]:
    """Compare the class and write similarity.html and similarity.csv into `out` (`env`: the
    templates' environment the caller keeps, grader.render.html.environment)."""
    from .render import similarity as render

    pairs, evidence = compare_entries(entries, template, thresholds)
    write_atomic(out / TABLE, render.csv_text(pairs))
    write_atomic(out / PAGE, render.page(pairs, evidence, thresholds, assignment, len(evidence), env))
    return pairs


def entries_in(out: Path) -> list[Entry]:
    """The students a finished batch left in `out`, read back from their resume records."""
    from .batch import RECORD, STUDENTS

    entries = []
    root = out / STUDENTS
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()) if root.is_dir() else []
    for folder in folders:
        text = read_text_or_none(folder / RECORD)
        if text is None:
            continue
        try:
            data = json.loads(text)
            result = Result.from_dict(data["result"])
            source = Path(data["source"]) if data.get("source") else None
        except (ValueError, KeyError, TypeError):
            continue
        entries.append(Entry(result.submission or folder.name, folder, source, result))
    return entries


def default_template() -> Path | None:
    """The blank template notebook of a checkout, if there is one (`[similarity] template` names another)."""
    candidate = Path(__file__).resolve().parent.parent / "submissions" / "template.ipynb"
    return candidate if candidate.is_file() else None


def describe(pairs: list[Pair], out: str | os.PathLike) -> str:
    flagged = [p for p in pairs if p.flagged]
    lines = [f"similarity: {len(flagged)} pair(s) flagged, {len(pairs)} with some evidence; "
             f"{Path(out) / PAGE} (instructors only)"]
    lines += [f"  {p.a} ~ {p.b}: {'; '.join(p.reasons)}" for p in flagged[:10]]
    return "\n".join(lines)
