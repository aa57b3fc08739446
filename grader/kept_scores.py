"""TA scores are data: once merged they live in OUT and are re-applied on every re-run.

    OUT/manual-scores.csv    the scores file last merged, byte for byte
    OUT/manual-scores.json   where it came from (path, sha256) and when it was merged

Why: before this, a plain re-run after a late hand-in (no `--manual-scores`) wrote grades.csv
without the TA scores, silently. Now:

* `--manual-scores FILE` merges FILE and, once it is valid, keeps a copy (replacing the old one);
* a run without it re-applies the kept copy, and says so; if FILE has changed since, or is gone,
  it says that too (the kept copy is still what counts, until a new file is given);
* a kept row naming a student who is not in this run (an unfinished batch, a removed hand-in) is
  skipped and counted, never an error and never silently.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .files import read_text_or_none, write_atomic
from .manual import ManualScoresError, apply_manual_scores
from .results import Result

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


def keep(out: Path, scores_file: str | os.PathLike) -> None:
    """Keep a copy of a scores file that has just been merged, with where it came from."""
    data = Path(scores_file).read_bytes()
    write_atomic(out / KEPT_CSV, data.decode("utf-8-sig"))
    meta = {"source": str(Path(scores_file).resolve()), "sha256": _sha256(data),
            "merged_at": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
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
        merged = apply_manual_scores(results, given, absent)
        notes = [f"TA scores merged from {given}"]
        if complete:
            keep(out, given)
            notes[0] += f" (kept in {out / KEPT_CSV}: later runs re-apply them)"
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
