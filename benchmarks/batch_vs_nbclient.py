"""A class of 20 notebooks: `grader batch` against nbclient merely executing them, in one run.

The example notebooks in submissions/ are copied round-robin to 20 "student" notebooks in a
temporary folder. nbclient executes each one (a Jupyter kernel start plus its cells: no grading
at all); `grader batch` is run as the command line a TA would type (interpreter start, sandboxed
workers, ~160 public and hidden cases per notebook, every report, the gradebook and the class view).
Both are timed here, on the same files, so the ratio means something on a shared, noisy machine.

Two classes are timed, because erin_partial.ipynb deliberately loops forever in one function: each
copy of it costs the grader two case time-outs (2 × case_seconds, 2 s by default) by design,
which no amount of speed can remove. The class "without erin" shows the grader's own speed.

The baseline is the strictest one: nbclient in this process, imported once, executing the
notebooks one after another (a kernel start each). `--cli` also times nbclient's own command,
`jupyter execute`, once per notebook, the way a TA would run it from a shell: that pays an
interpreter start per notebook too, and is the kind of measurement behind "about 2 s each".

Shell escapes (`!pip ...`) are removed from nbclient's copy so that it does not reach for the
network (the grader never runs them).

    python benchmarks/batch_vs_nbclient.py [--students 20] [--workers N] [--only all|without-erin]
                                           [--rounds 3] [--cli]

Needs nbclient and ipykernel (`pip install nbclient ipykernel`). Prints; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
INFINITE_LOOP = "erin_partial.ipynb"


def make_class(folder: Path, examples: list[Path], students: int) -> list[Path]:
    folder.mkdir(parents=True)
    made = []
    for i in range(students):
        source = examples[i % len(examples)]
        target = folder / f"student_{i:02d}_{source.stem}.ipynb"
        shutil.copy(source, target)
        made.append(target)
    return made


def time_nbclient(paths: list[Path]) -> tuple[float, int]:
    """Seconds for nbclient to read and execute every notebook; and how many it could not."""
    import nbformat
    from nbclient import NotebookClient

    failed = 0
    started = time.perf_counter()
    for path in paths:
        try:
            nb = nbformat.read(str(path), as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.source = "\n".join(line for line in cell.source.splitlines()
                                            if not line.lstrip().startswith("!"))
            NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
        except Exception:  # noqa: BLE001 - an unreadable notebook still costs nbclient its attempt
            failed += 1
    return time.perf_counter() - started, failed


def time_nbclient_cli(paths: list[Path], scratch: Path) -> tuple[float, int]:
    """Seconds for `jupyter execute` (nbclient's command) to run every notebook, one process each."""
    import nbformat

    copies = []
    for path in paths:
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable notebook still costs the command its attempt
            copies.append(path)
            continue
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("!"))
        copy = scratch / path.name
        nbformat.write(nb, str(copy))
        copies.append(copy)
    command = shutil.which("jupyter-execute") or "jupyter-execute"
    failed = 0
    started = time.perf_counter()
    for copy in copies:
        proc = subprocess.run([command, "--allow-errors", str(copy)], capture_output=True)
        failed += proc.returncode != 0
    return time.perf_counter() - started, failed


def time_batch(folder: Path, out: Path, workers: int | None) -> float:
    argv = [sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out)]
    if workers:
        argv += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"grader batch failed ({proc.returncode}):\n{proc.stderr}")
    print("    " + proc.stdout.splitlines()[0])
    return seconds


def ensure_nbclient() -> None:
    try:
        import ipykernel  # noqa: F401
        import nbclient  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "nbclient", "ipykernel"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None, help="grader batch --workers (default: all cores)")
    parser.add_argument("--only", choices=("all", "without-erin"), help="time one of the two classes only")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate nbclient and grader batch this many times; the median ratio is printed "
                             "(this machine is shared: one round can be off by a third)")
    parser.add_argument("--cli", action="store_true",
                        help="also time `jupyter execute` run once per notebook (an interpreter start each)")
    args = parser.parse_args()
    ensure_nbclient()
    examples = sorted(SUBMISSIONS.glob("*.ipynb"))
    classes = {"all example notebooks": examples,
               f"without {INFINITE_LOOP}": [p for p in examples if p.name != INFINITE_LOOP]}
    if args.only:
        classes = dict([list(classes.items())[0 if args.only == "all" else 1]])
    print(f"{args.students} notebooks per class; {os.cpu_count()} cores; grader batch workers: "
          f"{args.workers or 'all cores'}")
    with tempfile.TemporaryDirectory() as tmp:
        for number, (title, chosen) in enumerate(classes.items()):
            folder = Path(tmp) / f"class{number}"
            paths = make_class(folder, chosen, args.students)
            mix = ", ".join(sorted({p.stem for p in chosen}))
            print(f"\n{title} ({mix}):")
            ratios, cli_ratios = [], []
            for round_ in range(args.rounds):
                nbc, failed = time_nbclient(paths)
                print(f"    nbclient executed {len(paths) - failed} notebooks ({failed} unreadable) in {nbc:.2f} s")
                out = Path(tmp) / f"out{number}-{round_}"       # a fresh folder: nothing is resumed
                batch = time_batch(folder, out, args.workers)
                print(f"    grader batch: {batch:.2f} s wall, command start-up included")
                print(f"    speed-up: {nbc / batch:.1f}x  (nbclient {nbc:.2f} s / grader batch {batch:.2f} s)")
                ratios.append(nbc / batch)
                if args.cli:
                    scratch = Path(tmp) / f"cli{number}-{round_}"
                    scratch.mkdir()
                    cli, cli_failed = time_nbclient_cli(paths, scratch)
                    print(f"    `jupyter execute`, one process per notebook: {cli:.2f} s ({cli_failed} failed); "
                          f"speed-up {cli / batch:.1f}x")
                    cli_ratios.append(cli / batch)
            if args.rounds > 1:
                print(f"    median speed-up over {args.rounds} rounds: {statistics.median(ratios):.1f}x "
                      f"(range {min(ratios):.1f}x-{max(ratios):.1f}x)"
                      + (f"; against `jupyter execute`: {statistics.median(cli_ratios):.1f}x" if cli_ratios else ""))


if __name__ == "__main__":
    main()
