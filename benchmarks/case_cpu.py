"""CPU of the sandboxed child's case handling alone, outside the sandbox; A/B between trees.

A job's cases cost the child ~270 rounds of: a start line, decoding the arguments, copying them,
the student's call, encoding the answer, comparing the arguments, one JSON event (and, for a call
that fails, the account of its traceback). `job_cpu.py` times that inside a whole grade, with the
fork, the cells and the clean-up around it; this replays only the case batches, so that a change
to `worker._answer_batch` or `jobwire` shows above the noise of a shared machine.

The case batches are what the grader really sends: captured once from a real (sandboxed) grade of
`--cases-from` in this tree. Each submission's code cells then run in this process (plain `exec`,
magics and shell lines dropped) and its batches are answered by `worker._answer_batch` of the tree
measured, writing its events to /dev/null; failing calls are explained as the child explains them.

    python benchmarks/case_cpu.py [--rounds 3] [--repeat 20] [--trees /tmp/old .] [SUBMISSION ...]

Figures: CPU ms per job (the process's CPU time), the median of `--rounds` rounds of `--repeat`
jobs. With `--trees`, each round runs each tree in a fresh process, alternating. Prints; asserts
nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "template.ipynb"]


def capture(submission: Path, into: Path) -> None:
    """The case batches the grader sends while grading `submission` (one JSON line each)."""
    from grader import runner
    from grader.config import load_config
    from grader.session import Session

    batches: list[str] = []
    send = runner.Worker.send_text

    def keep(self, line: str) -> None:
        if line.startswith('{"op": "cases"'):
            batches.append(line)
        send(self, line)

    runner.Worker.send_text = keep
    try:
        with Session(load_config(env={})) as session:
            session.grade(submission)
    finally:
        runner.Worker.send_text = send
    into.write_text("\n".join(batches) + "\n")


def namespace_of(submission: Path) -> tuple[dict, dict[str, str]]:
    """The names a submission's code cells define, run here; and their sources by cell name."""
    cells = json.loads(submission.read_text())["cells"]
    namespace: dict = {"__name__": "__main__"}
    sources: dict[str, str] = {}
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        name = f"<cell {index}>"
        sources[name] = source
        try:
            exec(compile(source, name, "exec"), namespace)
        except Exception:  # noqa: BLE001 - a cell that fails in the real run fails here too
            pass
    return namespace, sources


def measure(names: list[str], cases: Path, rounds: int, repeat: int) -> dict[str, list[float]]:
    from grader import jobwire, worker

    batches = [jobwire.parse_message(line) for line in cases.read_text().splitlines() if line.strip()]
    channel = worker.Channel(os.open(os.devnull, os.O_WRONLY))
    signal.signal(signal.SIGALRM, worker._alarm)
    figures: dict[str, list[float]] = {}
    for name in names:
        namespace, sources = namespace_of(ROOT / "submissions" / name)
        code = worker.StudentCode(sources, "submission.py", tempfile.gettempdir())

        # As the child explains a failing call (`summary`; a tree before it: explain's first line).
        explain = getattr(code, "summary", None) or (lambda exc: code.explain(exc)[0])

        def job() -> None:
            for batch in batches:
                worker._answer_batch(batch, namespace, channel, 7, explain)

        job()                                   # warm
        figures[name] = []
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(repeat):
                job()
            figures[name].append((time.process_time() - started) / repeat * 1000)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="*", default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--trees", nargs="+", type=Path, default=None)
    parser.add_argument("--cases-from", default="alice_correct.ipynb")
    parser.add_argument("--cases", type=Path, default=None, help="(internal) the captured batches")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.cases is None:
        args.cases = Path(tempfile.mkdtemp(prefix="case-cpu-")) / "batches.jsonl"
        sys.path.insert(0, str(ROOT))
        capture(ROOT / "submissions" / args.cases_from, args.cases)
    if args.trees:
        runs: dict[Path, list[dict]] = {tree: [] for tree in args.trees}
        for _ in range(args.rounds):
            for tree in args.trees:
                argv = [sys.executable, str(Path(__file__).resolve()), "--json", "--rounds", "1",
                        "--repeat", str(args.repeat), "--cases", str(args.cases), *args.submissions]
                env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
                done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
                runs[tree].append(json.loads(done.stdout.splitlines()[-1]))
        print(f"CPU ms per job's case handling, median of {args.rounds} alternated runs of {args.repeat} jobs")
        for tree in args.trees:
            for name in args.submissions:
                values = [r[name][0] for r in runs[tree]]
                print(f"{str(tree)[-40:]:40} {name:26} {statistics.median(values):7.2f}")
        return
    figures = measure(args.submissions, args.cases, args.rounds, args.repeat)
    if args.json:
        print(json.dumps(figures))
        return
    for name, values in figures.items():
        print(f"{name:26} {statistics.median(values):7.2f} ms CPU per job (median of {args.rounds})")


if __name__ == "__main__":
    main()
