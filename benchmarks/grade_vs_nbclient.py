"""How long `grader grade` takes per notebook, against merely executing it with nbclient.

Both are timed in this one run, on the same notebooks, so the ratio is meaningful on a shared,
noisy machine. nbclient only *executes* the notebook (a Jupyter kernel start plus the cells); the
grader executes it in the sandbox *and* calls every graded function on ~160 public and hidden
cases and compares the answers. Shell escapes (`!pip ...`) are removed from nbclient's copy so it
does not reach for the network (the grader never runs them).

    python benchmarks/grade_vs_nbclient.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "template.ipynb"]


def without_shell_escapes(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("!"))
    return nb


def time_nbclient(path: Path) -> float:
    nb = without_shell_escapes(path)
    started = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    return time.perf_counter() - started


def time_cli(path: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", str(path), "--json", f"{tmp}/r.json"],
                       cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from grader.config import load_config
    from grader.session import Session

    print(f"{'notebook':28} {'nbclient':>9} {'grade CLI':>10} {'warm grade':>11} {'CLI ratio':>10} {'warm ratio':>11}")
    ratios_cli, ratios_warm = [], []
    with Session(load_config(env={})) as session:
        session.grade(ROOT / "submissions" / NOTEBOOKS[0])  # start the worker once
        for name in NOTEBOOKS:
            path = ROOT / "submissions" / name
            nbc = statistics.median(time_nbclient(path) for _ in range(args.repeat))
            cli = statistics.median(time_cli(path) for _ in range(args.repeat))
            warm_times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                session.grade(path)
                warm_times.append(time.perf_counter() - started)
            warm = statistics.median(warm_times)
            ratios_cli.append(nbc / cli)
            ratios_warm.append(nbc / warm)
            print(f"{name:28} {nbc:8.3f}s {cli:9.3f}s {warm:10.3f}s {nbc / cli:9.1f}x {nbc / warm:10.1f}x")
    print(f"\nmedian speed-up over nbclient: {statistics.median(ratios_cli):.1f}x for a cold `grader grade` "
          f"(interpreter + sandbox start included), {statistics.median(ratios_warm):.1f}x per notebook "
          "with a warm worker (as in a batch)")


if __name__ == "__main__":
    main()
