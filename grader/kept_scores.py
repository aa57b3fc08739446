"""TA scores are data: once merged they live in OUT and are re-applied on every re-run.

    OUT/manual-scores.csv    the scores file last merged, byte for byte
    OUT/manual-scores.json   where it came from (path, sha256) and when it was merged

Why: before this, a plain re-run after a late hand-in (no `--manual-scores`) wrote grades.csv
without the TA scores, silently. Now:

* `--manual-scores FILE` merges FILE and, once it is valid, keeps its scores beside those of the
  other files merged before: two TAs who split the parts and each download scores.csv from the
  review page (the other's answers left blank) both count, in either order. A file merged again
  (the same path: a corrected file) replaces what it gave before; a blank line erases nothing; where
  two files score one answer, the one merged last counts, and the run names each kept score it
  replaced. (Before, each file replaced the kept copy, and the first TA's scores vanished without
  a word.) OUT/manual-scores.csv holds the scores applied; OUT/manual-scores.json each file's own;
* a run without it re-applies the kept copy, and says so; if FILE has changed since, or is gone,
  it says that too (the kept copy is still what counts, until a new file is given);
* a kept row naming a student who is not in this run (an unfinished batch, a removed hand-in) is
  skipped and counted, never an error and never silently.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .files import read_text_or_none, write_atomic
from .manual import HEADER, ManualScoresError, apply_manual_scores, scored_rows, student_names
from .results import Result
from .text import formula_safe

KEPT_CSV = "manual-scores.csv"
KEPT_META = "manual-scores.json"


@dataclass
class Applied:
    """The results with TA scores merged, and what the person running the batch should be told."""

    results: list[Result]
    notes: list[str] = field(default_factory=list)
    source: str | None = None          # the file whose scores are in the results (None: no TA scores)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keep(out: Path, scores_file: str | os.PathLike, combined: str | None = None,
         files: list[dict] | None = None) -> None:
    """Keep the scores just merged: `combined` (every file's, as applied; else the file as it is)
    in OUT/manual-scores.csv, and where they came from, with `files` (each merged file's own
    scored rows, in the order merged), in OUT/manual-scores.json."""
    data = Path(scores_file).read_bytes()
    write_atomic(out / KEPT_CSV, data.decode("utf-8-sig") if combined is None else combined)
    meta = {"source": str(Path(scores_file).resolve()), "sha256": _sha256(data),
            "merged_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "files": files or []}
    write_atomic(out / KEPT_META, json.dumps(meta, ensure_ascii=False, indent=1))


def kept_meta(out: Path) -> dict | None:
    text = read_text_or_none(out / KEPT_META)
    if text is None or not (out / KEPT_CSV).is_file():
        return None
    try:
        meta = json.loads(text)
    except ValueError:
        meta = {}
    return meta if isinstance(meta, dict) else {}


def apply(out: Path, results: list[Result], given: str | os.PathLike | None, complete: bool = True) -> Applied:
    """Merge `given` (and keep it), or else the kept copy in `out`; raises ManualScoresError.

    `complete=False` (an interrupted batch): a given file is not kept yet, and students it names
    that are not graded yet are skipped rather than called unknown.
    """
    if given is not None:
        absent: list[str] | None = None if complete else []
        merged = apply_manual_scores(results, given, absent)        # the new file alone must be valid
        notes = [f"TA scores merged from {given}"]
        combined, files, added, replaced = _combined(out, given, results)
        if added:
            merged = apply_manual_scores(results, out / KEPT_CSV, [] if absent is not None else None, text=combined)
            notes[0] += f", added to the {added} kept from {_files(len(files) - 1)} merged before"
        if complete:
            keep(out, given, combined, files)
            notes[0] += f" (kept in {out / KEPT_CSV}: later runs re-apply them)"
        notes += _replaced_note(given, replaced)
        notes += _absent_note(absent)
        return Applied(merged, notes, str(given))
    meta = kept_meta(out)
    if meta is None:
        return Applied(results)
    source = str(meta.get("source") or "an earlier --manual-scores file")
    notes = [f"TA scores re-applied from the kept copy {out / KEPT_CSV} (merged from {source}"
             f"{' on ' + meta['merged_at'] if meta.get('merged_at') else ''})"]
    notes += _source_changed(meta, source)
    absent = []
    try:
        merged = apply_manual_scores(results, out / KEPT_CSV, absent)
    except ManualScoresError as exc:
        raise ManualScoresError(exc.path, [f"(the kept copy of {source}) " + p for p in exc.problems]) from None
    notes += _absent_note(absent)
    return Applied(merged, notes, str(out / KEPT_CSV))


def _combined(out: Path, given: str | os.PathLike, results: list[Result]) -> tuple[str, list[dict], int, list[str]]:
    """The scores to apply once `given` is merged, as a scores file: every merged file's own scored
    rows, `given`'s replacing what the same file gave before, a later file's winning where two
    score one answer. Also: each file's rows (for manual-scores.json), how many scores other files
    keep, and the kept scores `given` replaces ("alice / 1a-derivation: 3 → 2"). A (student, part)
    is the same however a file spells the student."""
    source = str(Path(given).resolve())
    names = student_names(results)
    key = lambda cells: (names.get(cells[0], cells[0]), cells[1])      # noqa: E731
    mine = scored_rows(Path(given).read_text(encoding="utf-8-sig"))
    files = [f for f in _merged_files(out) if f.get("source") != source]
    others: dict[tuple[str, str], list[str]] = {}
    for f in files:
        others.update((key(cells), cells) for cells in f.get("rows", []))
    fresh = {key(cells): cells for cells in mine}
    replaced = [f"{cells[0]} / {cells[1]}: {cells[2]} → {fresh[k][2]}" for k, cells in others.items()
                if k in fresh and fresh[k][2] != cells[2]]
    rows = [cells for k, cells in others.items() if k not in fresh] + mine
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows([formula_safe(cells[0]), *cells[1:]] for cells in rows)
    return text.getvalue(), files + [{"source": source, "rows": mine}], len(others), replaced


def _merged_files(out: Path) -> list[dict]:
    """Each file merged into OUT before, with its own scored rows, in the order merged; a kept copy
    from before files were told apart counts as its one source's."""
    meta = kept_meta(out)
    if meta is None:
        return []
    files = meta.get("files")
    if isinstance(files, list) and files:
        return [f for f in files if isinstance(f, dict) and isinstance(f.get("rows"), list)]
    return [{"source": str(meta.get("source") or ""), "rows": scored_rows(read_text_or_none(out / KEPT_CSV) or "")}]


def _files(count: int) -> str:
    return f"{count} other file{'s' if count != 1 else ''}"


def _replaced_note(given: str | os.PathLike, replaced: list[str]) -> list[str]:
    if not replaced:
        return []
    shown = "; ".join(replaced[:5]) + (f"; and {len(replaced) - 5} more" if len(replaced) > 5 else "")
    return [f"! {len(replaced)} score(s) in {given} replace kept ones: {shown}"]


def _source_changed(meta: dict, source: str) -> list[str]:
    path = Path(source)
    if not meta.get("source"):
        return []
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [f"! {source} no longer exists; the kept copy is still applied "
                "(delete OUT/manual-scores.csv to drop the TA scores)"]
    except OSError as exc:
        return [f"! {source} cannot be read ({exc.strerror}); the kept copy is applied"]
    if _sha256(data) != meta.get("sha256"):
        return [f"! {source} has changed since it was merged; the kept (older) copy is applied: "
                f"run again with --manual-scores {source} to merge the new scores"]
    return []


def _absent_note(absent: list[str] | None) -> list[str]:
    if not absent:
        return []
    shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
    return [f"! TA scores for {len(absent)} student(s) not in this run were not applied: {shown}"]
