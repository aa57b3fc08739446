"""What the bubblewrap sandbox costs, against the rlimits fallback, on the same submissions.

Both levels are timed in this one run, interleaved, so the ratio is meaningful on a shared, noisy
machine. Two costs are reported separately: starting a warm worker (paid once per worker, not
per submission) and grading one submission on a warm worker (paid every time). No assertions: it
prints numbers.

    python benchmarks/sandbox_overhead.py [--repeat 3]

(erin_partial.ipynb hangs in one question: its time is the configured time-outs, at either level.)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.config import load_config  # noqa: E402
from grader.runner import Worker  # noqa: E402
from grader.session import Session  # noqa: E402

SUBMISSIONS = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py", "erin_partial.ipynb",
               "template.ipynb"]
LEVELS = ("bwrap", "rlimits")


def time_start(level: str, repeat: int) -> list[float]:
    config = load_config(env={})
    times = []
    for _ in range(repeat):
        worker = Worker(level=level, limits=config.limits)
        started = time.perf_counter()
        worker.start()
        times.append(time.perf_counter() - started)
        worker.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = load_config(env={})
    sessions = {level: Session(replace(config, isolation=level, workers=1)) for level in LEVELS}
    try:
        isolation = {}
        for level, session in sessions.items():      # warm both, and learn what each level really is
            isolation[level] = session.grade(ROOT / "submissions" / "carol_module.py").isolation
        times: dict[tuple[str, str], list[float]] = {}
        scores: dict[tuple[str, str], float] = {}
        for _ in range(args.repeat):
            for name in SUBMISSIONS:
                for level, session in sessions.items():
                    started = time.perf_counter()
                    result = session.grade(ROOT / "submissions" / name)
                    times.setdefault((name, level), []).append(time.perf_counter() - started)
                    scores[(name, level)] = result.score
    finally:
        for session in sessions.values():
            session.close()

    print(f"levels: {', '.join(f'{level} (ran as {isolation[level]})' for level in LEVELS)}; "
          f"median of {args.repeat} runs each\n")
    print(f"{'submission':28} {'bwrap s':>9} {'rlimits s':>10} {'ratio':>7}   scores")
    for name in SUBMISSIONS:
        a, b = (statistics.median(times[(name, level)]) for level in LEVELS)
        same = "same" if scores[(name, "bwrap")] == scores[(name, "rlimits")] else "DIFFER"
        print(f"{name:28} {a:9.3f} {b:10.3f} {a / b:7.2f}   {scores[(name, 'bwrap')]:g} ({same})")
    total = [sum(statistics.median(times[(n, level)]) for n in SUBMISSIONS) for level in LEVELS]
    print(f"{'all submissions':28} {total[0]:9.3f} {total[1]:10.3f} {total[0] / total[1]:7.2f}")

    starts = {level: statistics.median(time_start(level, args.repeat)) for level in LEVELS}
    print(f"\nworker start (once per worker): bwrap {starts['bwrap']:.3f} s, rlimits {starts['rlimits']:.3f} s, "
          f"ratio {starts['bwrap'] / starts['rlimits']:.2f}")


if __name__ == "__main__":
    main()
