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
from typing import Iterable, Iterator

from .files import read_text_or_none, write_atomic, write_chunks_atomic
from .load import MODULE, NOTEBOOK, LoadError, load
from .render.instructor import INSTRUCTOR_JSON
from .results import GRADED, AnswerPrint, Result
from .similarity import Again, Evidence, Pair, Template, Thresholds, compare_stream

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
    """Everything a student offers to the comparison, read now (the code from their submission)."""
    return Evidence(entry.name, code_of(entry.source), written_of(entry.result), read_wrong_answers(entry.folder))


def written_of(result: Result) -> tuple[tuple[str, str], ...]:
    """The written parts a student answered: (part id, text)."""
    return tuple((w.id, w.text) for w in result.written if w.found and w.text.strip())


def written_in_record(folder: Path) -> tuple[tuple[str, str], ...]:
    """The written parts as the batch's resume record in `folder` keeps them; none if it cannot be read."""
    from .batch import RECORD

    text = read_text_or_none(folder / RECORD)
    if text is None:
        return ()
    try:
        return written_of(Result.from_dict(json.loads(text)["result"]))
    except (ValueError, KeyError, TypeError):
        return ()


def template_of(path: Path | None) -> Template:
    """What every student was given, read from the blank template (code cells and markdown)."""
    if path is None:
        return Template()
    try:
        program = load(path)
    except (LoadError, OSError):
        return Template()
    return Template("\n\n".join(u.source for u in program.units), "\n\n".join(u.source for u in program.markdown))


@dataclass(frozen=True)
class Place:
    """Where a compared student's files are, kept as plain strings (a few hundred bytes) for the second read."""

    ordinal: int                # position in the entries given
    folder: str
    source: str | None


def compare_entries(entries: Iterable[Entry], template: Template, thresholds: Thresholds
                    ) -> tuple[list[Pair], Again, int]:
    """Compare the graded students (unreadable and errored hand-ins hold nothing to compare).

    `entries` is read once, one student at a time: each student's code, written answers and wrong
    answers are read and reduced at once to compact fingerprints (grader.similarity.Reduced), so
    only one student's text is held at a time. A student listed twice counts once, with the later
    entry. Returns the pairs, the `again` that reads chosen students once more (the page's
    excerpts), and how many students were compared.
    """
    places: dict[str, Place] = {}

    def graded() -> Iterator[Evidence]:
        for ordinal, entry in enumerate(entries):
            if entry.result.status == GRADED:
                places[entry.name] = Place(ordinal, str(entry.folder), None if entry.source is None else str(entry.source))
                yield evidence_of(entry)
            del entry                  # not held while the next one is read

    again = _again(entries, places)
    return compare_stream(graded(), again, template, thresholds), again, len(places)


def _again(entries: Iterable[Entry], places: dict[str, Place]) -> Again:
    """The second read: entries held in a list are gone through again (their written answers are
    in memory already; code and wrong answers are read from disk); any other iterable (read once)
    is not, and each chosen student's written answers come from the batch's record in their folder."""
    held = isinstance(entries, (list, tuple))

    def again(names: set[str], full: set[str]) -> Iterator[Evidence]:
        if held:
            for ordinal, entry in enumerate(entries):
                place = places.get(entry.name)
                if entry.name in names and place is not None and place.ordinal == ordinal:
                    yield (evidence_of(entry) if entry.name in full
                           else Evidence(entry.name, wrong=read_wrong_answers(entry.folder)))
            return
        for name, place in places.items():
            if name in names:
                folder = Path(place.folder)
                if name in full:
                    source = None if place.source is None else Path(place.source)
                    yield Evidence(name, code_of(source), written_in_record(folder), read_wrong_answers(folder))
                else:
                    yield Evidence(name, wrong=read_wrong_answers(folder))

    return again


def write_similarity(out: Path, entries: Iterable[Entry], template: Template, thresholds: Thresholds,
                     assignment: str, env=None) -> list[Pair]:
    """Compare the class and write similarity.html and similarity.csv into `out` (`env`: the
    templates' environment the caller keeps, grader.render.html.environment). `entries`: any
    iterable, read once (a list is read again for the pairs the page shows)."""
    from .render import similarity as render

    pairs, again, students = compare_entries(entries, template, thresholds)
    write_chunks_atomic(out / TABLE, render.csv_chunks(pairs))     # row by row: never the table at once
    shown = render.shown_students(pairs)            # at most 2 x render.SHOWN students, read once more
    evidence = {e.student: e for e in again(shown, shown)}
    write_atomic(out / PAGE, render.page(pairs, evidence, thresholds, assignment, students, env))
    return pairs


class StoredEntries:
    """The students a finished batch left in `out`, read back from their resume records one at a
    time each time they are gone through: a class of any size is never held at once."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._count: int | None = None

    def __iter__(self) -> Iterator[Entry]:
        from .batch import RECORD, STUDENTS

        root = self.out / STUDENTS
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
            yield Entry(result.submission or folder.name, folder, source, result)

    def at_least(self, count: int) -> bool:
        """Whether there are `count` readable records (reads no more than that many)."""
        return sum(1 for _, _ in zip(range(count), self)) >= count

    def __len__(self) -> int:
        """How many readable records there are (counted once, reading each record in turn)."""
        if self._count is None:
            self._count = sum(1 for _ in self)
        return self._count


def entries_in(out: Path) -> StoredEntries:
    """The students a finished batch left in `out`, read back from their resume records as they
    are gone through (`StoredEntries`: iterable, with a length)."""
    return StoredEntries(out)


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
