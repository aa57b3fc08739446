"""CPU of writing one graded student's files (`batch.write_student`: result.json, the report, the
staff pages and JSON, the resume record), in this process; A/B between trees.

In a batch of 24 or more this is the writer process's whole job (grader.writer), ~15 % of a
notebook's CPU. This grades the examples once (a warm worker), then writes their files `--repeat`
times, each time into a fresh folder (as a batch does: replacing existing files costs ext4 a
flush per rename, which a first batch never pays), and reports the CPU (`time.process_time`) per
student written, and per piece (`--pieces`: the report, the staff page, the JSON files...).
The pages' case blocks are drawn once per distinct case of the run (render.html.CaseBlocks), so
writing the same four results again is the warm case a class of mostly alike answers is.
With `--distinct`, each student written has code of its own (a comment naming the student added to
every code cell): as in a real class, the work page then highlights every student's cells afresh,
where the same four notebooks again would find them drawn already.

With `--trees A B ...` each tree is measured in a fresh process, alternating A, B, A, B, ...
(`git worktree add /tmp/old main`, or `git archive main | tar -x -C /tmp/old`): the machine's
speed moves, and medians of alternated runs compare the trees on the same machine.

    python benchmarks/writer_cpu.py [--rounds 5] [--repeat 30] [--pieces] [--distinct] [--trees /tmp/old .]

Prints; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "dave_broken.ipynb", "template.ipynb"]


def _distinct_copy(source: Path, folder: Path, index: int) -> Path:
    """`source` with a comment naming student `index` atop each code cell (a module: atop it)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    note = f"# student {index}\n"
    if source.suffix == ".ipynb":
        try:
            nb = json.loads(source.read_text(encoding="utf-8"))
        except ValueError:                      # dave's unreadable notebook: shown as it is
            shutil.copy(source, target)
            return target
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                body = cell.get("source", "")
                cell["source"] = note + ("".join(body) if isinstance(body, list) else body)
        target.write_text(json.dumps(nb), encoding="utf-8")
    else:
        target.write_text(note + source.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def measure(root: Path, repeat: int, pieces: bool, distinct: bool = False) -> dict[str, float]:
    """CPU ms per student written (`write_student`) and, with `pieces`, per rendering step."""
    sys.path.insert(0, str(root))
    from grader import batch
    from grader.config import load_config
    from grader.render import html, instructor, notebook
    from grader.session import Session

    with Session(load_config(env={})) as session:
        graded = [(name, session.grade(root / "submissions" / name, name.split(".")[0])) for name in EXAMPLES]
    env = html.environment()
    subs = [batch.Submission(n.split(".")[0], root / "submissions" / n, n) for n, _ in graded]
    stamp = batch.Stamp("0" * 64, "bench", "bench", "bench")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="writer-cpu-") as tmp:
        copies: dict[int, list] = {}
        for i in range(-1, repeat if distinct else -1):
            copies[i] = [batch.Submission(s.name, _distinct_copy(s.path, Path(tmp) / "in" / str(i), i), s.key)
                         for s in subs]

        def write(i: int) -> None:
            for sub, (_, result) in zip(copies.get(i, subs), graded):
                batch.write_student(Path(tmp) / str(i), sub, result, stamp, env=env, pages=True, shared={})

        write(-1)                                     # warm: templates, case blocks, caches
        started = time.process_time()
        for i in range(repeat):
            write(i)
        figures["write_student"] = (time.process_time() - started) / repeat / len(subs) * 1000
        shutil.rmtree(tmp, ignore_errors=True)
    if pieces:
        steps = {
            "result.json text": lambda n, r: batch.result_json(r),
            "report.html": lambda n, r: html.report(r, env, work_href="work.html"),
            "instructor.json": lambda n, r: instructor.instructor_json(r),
            "instructor.html": lambda n, r: instructor.instructor_html(r, env=env),
            "work.html": lambda n, r: notebook.work_page(root / "submissions" / n, r, env=env),
        }
        for label, step in steps.items():
            started = time.process_time()
            for _ in range(repeat):
                for name, result in graded:
                    step(name, result)
            figures[label] = (time.process_time() - started) / repeat / len(graded) * 1000
    return figures


def compare(trees: list[Path], rounds: int, repeat: int, pieces: bool, distinct: bool = False) -> None:
    runs: dict[Path, list[dict]] = {tree: [] for tree in trees}
    for _ in range(rounds):
        for tree in trees:
            argv = [sys.executable, str(Path(__file__).resolve()), "--json", "--root", str(tree),
                    "--repeat", str(repeat), *(["--pieces"] if pieces else []), *(["--distinct"] if distinct else [])]
            env = {**os.environ, "PYTHONPATH": str(tree)}
            done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
            runs[tree].append(json.loads(done.stdout.splitlines()[-1]))
    print(f"CPU ms per student, median of {rounds} alternated runs of {repeat} x {len(EXAMPLES)} students")
    labels = list(runs[trees[0]][0])
    print(f"{'tree':40} " + " ".join(f"{label:>16}" for label in labels))
    for tree in trees:
        cells = [statistics.median(r[label] for r in runs[tree]) for label in labels]
        print(f"{str(tree)[-40:]:40} " + " ".join(f"{c:16.2f}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pieces", action="store_true", help="also time each page and JSON file alone")
    parser.add_argument("--distinct", action="store_true",
                        help="give every student written code of its own (a comment atop each code cell)")
    parser.add_argument("--trees", nargs="+", type=Path, default=None)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trees:
        compare([t.resolve() for t in args.trees], args.rounds, args.repeat, args.pieces, args.distinct)
        return
    figures = measure(args.root.resolve(), args.repeat, args.pieces, args.distinct)
    if args.json:
        print(json.dumps(figures))
        return
    for label, ms in figures.items():
        print(f"{label:20} {ms:7.2f} ms CPU per student")


if __name__ == "__main__":
    main()
