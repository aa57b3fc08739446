"""CPU of the students' own code alone: their cells and their functions' calls on every case.

Issue 14 asks to halve what a notebook costs *besides* the student's own code, so the benchmarks
need that code's share, measured apart from everything the grader does around it. This runs each
notebook's code cells in this process (plain `exec`, magics and shell lines dropped, as
`case_cpu.py` does), then calls its functions on exactly the cases the grader sends (captured
once from a real grade in the tree measured), timing only the student's functions: each one the
notebook defines is wrapped so that the outermost call is timed with `time.process_time` (a
function that calls another of the student's is counted once). Decoding the arguments, encoding
the answers and everything else the sandboxed child does per case is not counted.

    python benchmarks/student_code.py [--json] [--repeat 3] [SUBMISSION ...]

Prints CPU ms per notebook: cells, calls, total (the median of `--repeat` runs of the calls). A
notebook that cannot be read counts 0 (the grader runs nothing of it). Asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
# One BLAS thread, as in the sandbox (grader.sandbox): process_time counts every thread's CPU, and an
# idle BLAS pool spinning between calls would be counted as the student's.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
DEFAULT = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "dave_broken.ipynb", "template.ipynb"]


class OwnCode:
    """Wraps the functions a notebook defined so that only the outermost call of one is timed."""

    def __init__(self, namespace: dict) -> None:
        self.depth, self.cpu = 0, 0.0
        for name, value in list(namespace.items()):
            if isinstance(value, types.FunctionType) and value.__code__.co_filename.startswith("<cell"):
                namespace[name] = self._timed(value)

    def _timed(self, function):
        def call(*args, **kwargs):
            if self.depth:
                return function(*args, **kwargs)
            self.depth = 1
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.cpu += time.process_time() - started
                self.depth = 0
        return call


def measure(root: Path, names: list[str], repeat: int) -> dict[str, dict[str, float]]:
    """{notebook: {"cells": ms, "calls": ms, "total": ms}} for the submissions in `root`/submissions."""
    import case_cpu
    from grader import jobwire, worker

    cases = Path(tempfile.mkdtemp(prefix="student-code-")) / "batches.jsonl"
    case_cpu.capture(root / "submissions" / "alice_correct.ipynb", cases)
    batches = [jobwire.parse_message(line) for line in cases.read_text().splitlines() if line.strip()]
    channel = worker.Channel(os.open(os.devnull, os.O_WRONLY))
    signal.signal(signal.SIGALRM, worker._alarm)
    figures = {}
    for name in names:
        try:
            started = time.process_time()
            namespace, _ = case_cpu.namespace_of(root / "submissions" / name)
            cells = (time.process_time() - started) * 1000
        except (ValueError, KeyError):         # not a notebook the grader can read: nothing of it runs
            figures[name] = {"cells": 0.0, "calls": 0.0, "total": 0.0}
            continue
        own = OwnCode(namespace)
        calls = []
        for _ in range(repeat):
            own.cpu = 0.0
            for batch in batches:
                worker._answer_batch(batch, namespace, channel, 7)
            calls.append(own.cpu * 1000)
        figures[name] = {"cells": cells, "calls": statistics.median(calls), "total": cells + statistics.median(calls)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="*", default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = Path.cwd()
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(root))
    figures = measure(root, args.submissions, args.repeat)
    if args.json:
        print(json.dumps(figures))
        return
    for name, f in figures.items():
        print(f"{name:28} cells {f['cells']:7.1f}  calls {f['calls']:7.1f}  total {f['total']:7.1f} ms CPU")


if __name__ == "__main__":
    main()
