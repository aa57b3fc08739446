"""CPU of one warm grade, split between the grader's process and the sandboxed processes; A/B between trees.

A batch's cost per notebook is mostly the grade itself: the job the zygote forks (cells, cases,
encoding answers, the fork and the clean-up) and the grader's side (reading events, decoding,
comparing, diagnosing). This times exactly that, with one warm worker, much faster than a whole
`class_size.py` run, and counts CPU, not wall time (a shared machine moves wall time a lot):

* `grader` - this process's own CPU (`RUSAGE_SELF`, its threads included);
* `sandbox` - everything else in a cgroup of its own that this process joined before starting the
  worker (the zygote, each job's child, bubblewrap), where the machine allows
  one (root, cgroup v1 cpuacct or v2); "–" elsewhere.

Figures are per grade: the median of `--rounds` rounds, each grading every submission `--repeat`
times. With `--trees A B ...` the same measurement runs in a fresh process for each tree (a copy of
another commit: `git worktree add /tmp/old main`, or `git archive main | tar -x -C /tmp/old`),
alternating A, B, A, B, ... so that both see the same machine (its speed moves ~1.3x within an hour).

    python benchmarks/job_cpu.py [SUBMISSION ...] [--rounds 5] [--repeat 10] [--trees /tmp/old .]

(the submissions first: `--trees` takes every name after it)

Prints; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT = ["carol_module.py", "alice_correct.ipynb", "bob_seed_mistakes.ipynb"]


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(names: list[str], rounds: int, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Per submission, per round: the CPU (ms per grade) of this process and of the cgroup's others."""
    sys.path.insert(0, str(ROOT))
    from class_size import CpuCounter

    with CpuCounter() as cpu:
        cpu.join()
        from grader.config import load_config
        from grader.session import Session

        figures: dict[str, dict[str, list[float]]] = {n: {"grader": [], "sandbox": []} for n in names}
        with Session(load_config(env={})) as session:
            for name in names:                    # warm: the worker, the caches, the templates
                session.grade(ROOT / "submissions" / name)
            for _ in range(rounds):
                for name in names:
                    path = ROOT / "submissions" / name
                    own, total = _self_cpu(), cpu._usage()
                    for _ in range(repeat):
                        session.grade(path)
                    own = (_self_cpu() - own) / repeat * 1000
                    figures[name]["grader"].append(own)
                    if total is not None:
                        figures[name]["sandbox"].append((cpu._usage() - total) / repeat * 1000 - own)
    return figures


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f}" if values else "     –"


def compare(trees: list[Path], names: list[str], rounds: int, repeat: int) -> None:
    """Each tree's figures, measured in fresh processes, alternating between the trees."""
    runs: dict[Path, list[dict]] = {tree: [] for tree in trees}
    for _ in range(rounds):
        for tree in trees:
            argv = [sys.executable, str(tree / "benchmarks" / "job_cpu.py"), "--json", "--rounds", "1",
                    "--repeat", str(repeat), *names]
            if not (tree / "benchmarks" / "job_cpu.py").exists():     # an older tree: run this file there
                argv[1] = str(Path(__file__).resolve())
            env = {**os.environ, "PYTHONPATH": str(tree), "JOB_CPU_ROOT": str(tree)}
            done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
            runs[tree].append(json.loads(done.stdout.splitlines()[-1]))
    print(f"CPU ms per grade, median of {rounds} alternated runs of {repeat} grades each")
    print(f"{'tree':40} {'submission':26} {'grader':>7} {'sandbox':>7} {'total':>7}")
    for tree in trees:
        for name in names:
            grader = [r[name]["grader"][0] for r in runs[tree]]
            sandbox = [r[name]["sandbox"][0] for r in runs[tree] if r[name]["sandbox"]]
            total = [g + s for g, s in zip(grader, sandbox)]
            print(f"{str(tree)[-40:]:40} {name:26} {_median(grader)} {_median(sandbox)} {_median(total)}")


def main() -> None:
    global ROOT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="*", default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--trees", nargs="+", type=Path, default=None,
                        help="checkouts to compare, alternated (give the submissions before this option)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON (one line)")
    args = parser.parse_args()
    if args.trees:
        compare([t.resolve() for t in args.trees], args.submissions, args.rounds, args.repeat)
        return
    ROOT = Path(os.environ.get("JOB_CPU_ROOT", ROOT)).resolve()
    figures = measure(args.submissions, args.rounds, args.repeat)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{'submission':26} {'grader':>7} {'sandbox':>7}   (CPU ms per grade, median of {args.rounds} rounds)")
    for name, values in figures.items():
        print(f"{name:26} {_median(values['grader'])} {_median(values['sandbox'])}")


if __name__ == "__main__":
    main()
