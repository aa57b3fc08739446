"""Grading past one machine: a deterministic slice of the class per job, merged afterwards.

`grader batch DOWNLOAD --out OUT-K --shard K/N` grades the submissions whose name hashes to slice K
of N (K from 1). The slice depends on the name alone (sha256 of it, modulo N), not on the order or
the number of other submissions, so every job of an array job (Slurm's `$SLURM_ARRAY_TASK_ID`,
Kubernetes' `$JOB_COMPLETION_INDEX`) picks its own students from the same download without talking
to the others, and a late hand-in lands in one slice without moving anyone else. `grader merge`
(grader.merge) then builds the class view from the slices' outputs.
"""
from __future__ import annotations

import hashlib
import re
from typing import Sequence, TypeVar

T = TypeVar("T")


def parse(spec: str) -> tuple[int, int]:
    """"K/N" as (K, N), 1 <= K <= N."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec or "")
    if m is None:
        raise ValueError(f"--shard must be K/N (e.g. 2/8), not {spec!r}")
    k, n = int(m[1]), int(m[2])
    if not (1 <= k <= n):
        raise ValueError(f"--shard {spec}: K must be between 1 and N")
    return k, n


def slice_of(name: str, n: int) -> int:
    """The slice (1..n) that a submission of this name belongs to."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % n + 1


def select(named: Sequence[tuple[str, T]], spec: str | None) -> list[tuple[str, T]]:
    """The (name, item) pairs of slice K of N; all of them without a spec."""
    if spec is None:
        return list(named)
    k, n = parse(spec)
    return [(name, item) for name, item in named if slice_of(name, n) == k]
