"""How `grader batch` scales with the class: wall time, the grader's peak memory, cost per notebook.

For each class size (default 20, 400 and 2000 notebooks, copied round-robin from the readable
examples in submissions/; erin's deliberate infinite loop is left out, its time-outs are by design)
this runs `grader batch` as a TA would and reports:

* wall time, and the marginal wall time per notebook between consecutive sizes (what one more
  student costs once the workers are warm);
* the peak resident memory of the grader's own process (`ru_maxrss` of that process alone: the
  sandboxed workers are separate processes with their own limits), which should stay flat as the
  class grows, and that of its writer process (grader.writer, from 24 students: it writes the
  students' files), flat too;
* optionally (`--canvas`) the same class as a Canvas bulk download (a zip named by Canvas's rules),
  to include reading the zip;
* the CPU time of the batch and of every process it started, sandboxed workers included, in total
  and per notebook: unlike wall time it barely depends on what else the machine runs, so it is the
  figure to compare between two runs on a shared machine. It is counted by a cgroup of its own
  (`CpuCounter`; root, cgroup v1 cpuacct or v2), since `RUSAGE_CHILDREN` misses what runs inside
  bubblewrap's PID namespace (half of it); without a cgroup the column says "–";
* the ratio against nbclient executing the same notebooks. nbclient needs ~0.7 s per notebook, so
  for large classes it is timed on a sample (`--nbclient-sample`, default 20) and scaled linearly
  (its cost per notebook does not depend on the class size: one kernel each); `--nbclient-sample 0`
  skips it.

    python benchmarks/class_size.py [--sizes 20,400,2000] [--workers N] [--canvas] [--distinct] [--nbclient-sample 20] [--tree DIR]

At the end it measures the students' own code apart (`student_code.py`: their cells and their
functions' calls on the same cases, in-process, CPU), per notebook of the class, and the rest of
the marginal CPU, which is what issue 14 asks to halve.

Each size also splits the CPU: the grader's own process (`RUSAGE_SELF`), its writer process (read
from /proc while it runs), and the rest of the cgroup (the sandboxed workers and bubblewrap).
`--tree DIR` grades with another checkout's grader (a before/after pair on one machine: alternate
the two trees' runs, the machine's speed moves).

Run it on an otherwise idle machine: on a shared one the numbers mean little. Prints; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
TREE = ROOT         # the tree whose grader is run (--tree: another checkout, for before/after in one run)
EXAMPLES = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "dave_broken.ipynb", "template.ipynb"]

# Runs the grader's command line in this child process and reports the child's own peak RSS. The
# batch's writer process (grader.writer: a fork of it, a direct child running Python) is watched
# from here, the benchmark's process: a thread in the grader's process would stop the writer
# (no fork while another thread runs).
PROBE = """
import json, resource, sys
from grader.cli import main
code = main(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "peak_mb": usage.ru_maxrss / 1024, "grader_cpu": usage.ru_utime + usage.ru_stime}, fh)
"""


def children_peak_mb(parent: int, seen: dict[str, float], cpu: dict[str, float] | None = None) -> None:
    """Record in `seen` the peak RSS so far (VmHWM) of `parent`'s Python children (the writer),
    and in `cpu` their CPU seconds so far (utime + stime: the last reading before they end)."""
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
        try:
            with open(f"/proc/{pid}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(parent) and fields.get("Name", "").strip().startswith("python"):
            seen[pid] = int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
            if cpu is not None:
                try:
                    with open(f"/proc/{pid}/stat") as fh:
                        stat = fh.read().rsplit(")", 1)[1].split()
                    cpu[pid] = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
                except (OSError, IndexError, ValueError):
                    pass


def make_class(folder: Path, students: int, canvas: bool, distinct: bool = False) -> Path:
    """`students` notebooks in `folder`, or (canvas) a Canvas download zip of them; returns the input.
    With `distinct`, each copy's code cells start with a comment naming its student: code of its
    own, as in a real class, which the work page highlights afresh (`writer_cpu._distinct_copy`)."""
    folder.mkdir(parents=True)
    sources = [SUBMISSIONS / name for name in EXAMPLES]
    if distinct:
        from writer_cpu import _distinct_copy

        sources = [_distinct_copy(sources[i % len(sources)], folder.parent / f"{folder.name}-src" / str(i), i)
                   for i in range(students)]
    if canvas:
        archive = folder / "submissions.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(students):
                z.write(sources[i % len(sources)], f"student{i:05d}_{100000 + i}_{900000 + i}_hw3.ipynb")
        return archive
    for i in range(students):
        shutil.copy(sources[i % len(sources)], folder / f"student_{i:05d}.ipynb")
    return folder


def run_batch(source: Path, out: Path, workers: int | None) -> dict:
    probe = out.parent / f"{out.name}-probe.json"
    argv = [sys.executable, "-c", PROBE, str(probe), "batch", str(source), "--out", str(out)]
    if workers:
        argv += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(TREE) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    writer: dict[str, float] = {}
    writer_cpu: dict[str, float] = {}
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr, CpuCounter() as cpu:
        proc = subprocess.Popen(argv, cwd=TREE, env=env, stdout=stdout, stderr=stderr, text=True,
                                preexec_fn=cpu.join)
        while proc.poll() is None:
            children_peak_mb(proc.pid, writer, writer_cpu)
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        stdout.seek(0), stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"grader batch failed ({proc.returncode}):\n{err[-3000:]}")
    data = json.loads(probe.read_text())
    data["seconds"] = seconds
    data["cpu"] = cpu.seconds
    data["writer_peak_mb"] = max(writer.values(), default=0.0)
    data["writer_cpu"] = sum(writer_cpu.values())
    data["summary"] = out.splitlines()[0] if out else ""
    return data


class CpuCounter:
    """A cgroup of its own that the batch's process joins (`join`, run in the child before exec):
    every process the batch starts is counted, however deep. `seconds` is None where no cgroup
    can be made (not root, no cpuacct controller)."""

    ROOTS = ("/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup")

    def __init__(self):
        self.path: str | None = None
        self.seconds: float | None = None

    def __enter__(self) -> "CpuCounter":
        for root in self.ROOTS:
            if os.path.exists(os.path.join(root, "cpuacct.usage")) or os.path.exists(os.path.join(root, "cpu.stat")):
                path = os.path.join(root, f"grader-class-size-{os.getpid()}")
                try:
                    os.mkdir(path)
                except OSError:
                    continue
                self.path = path
                break
        return self

    def join(self) -> None:
        if self.path is not None:
            with open(os.path.join(self.path, "cgroup.procs"), "w") as fh:
                fh.write(str(os.getpid()))

    def _usage(self) -> float | None:
        try:
            with open(os.path.join(self.path, "cpuacct.usage")) as fh:
                return int(fh.read()) / 1e9
        except OSError:
            pass
        try:
            with open(os.path.join(self.path, "cpu.stat")) as fh:
                fields = dict(line.split() for line in fh if line.strip())
            return int(fields["usage_usec"]) / 1e6
        except (OSError, KeyError, ValueError):
            return None

    def __exit__(self, *exc) -> None:
        if self.path is None:
            return
        self.seconds = self._usage()
        for _ in range(50):                 # the last processes may still be leaving it
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)


def nbclient_seconds_per_notebook(sample: int, scratch: Path) -> float | None:
    if sample <= 0:
        return None
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from batch_vs_nbclient import ensure_nbclient, time_nbclient
    except ImportError:
        return None
    ensure_nbclient()
    folder = scratch / "nbclient"
    make_class(folder, sample, canvas=False)
    seconds, _ = time_nbclient(sorted(folder.glob("*.ipynb")))
    return seconds / sample


def student_code_ms() -> float | None:
    """The students' own code's CPU per notebook of the class (their cells and calls, measured apart
    by `student_code.py` in the tree graded), averaged over the notebooks copied round-robin; issue
    14's "the rest" is a notebook's marginal CPU less this. None if it cannot be measured."""
    argv = [sys.executable, str(Path(__file__).resolve().parent / "student_code.py"), "--json", *EXAMPLES]
    env = {**os.environ, "PYTHONPATH": str(TREE)}
    done = subprocess.run(argv, cwd=TREE, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"the students' own code could not be measured: {done.stderr.strip()[-500:]}")
        return None
    figures = json.loads(done.stdout.splitlines()[-1])
    return sum(figures[name]["total"] for name in EXAMPLES) / len(EXAMPLES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,400,2000")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--canvas", action="store_true", help="give each class as a Canvas download zip")
    parser.add_argument("--nbclient-sample", type=int, default=20)
    parser.add_argument("--distinct", action="store_true",
                        help="give each copy code of its own (a comment naming the student atop each code cell)")
    parser.add_argument("--tree", type=Path, default=None,
                        help="grade with this checkout's grader (e.g. `git worktree add /tmp/old main`)")
    args = parser.parse_args()
    global TREE
    TREE = (args.tree or ROOT).resolve()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="grader-class-size-") as tmp:
        scratch = Path(tmp)
        per_nb = nbclient_seconds_per_notebook(args.nbclient_sample, scratch)
        if per_nb is not None:
            print(f"nbclient: {per_nb * 1000:.0f} ms per notebook (sample of {args.nbclient_sample})")
        previous = None
        print(f"{'students':>8}  {'wall s':>8}  {'ms/nb':>7}  {'marginal ms/nb':>14}  {'CPU s':>7}  "
              f"{'marginal CPU ms/nb':>18}  {'grader peak MB':>14}  {'writer peak MB':>14}  {'vs nbclient':>11}")
        for size in sizes:
            source = make_class(scratch / f"class{size}", size, args.canvas, args.distinct)
            data = run_batch(source, scratch / f"out{size}", args.workers)
            marginal = marginal_cpu = ""
            if previous is not None:
                marginal = f"{(data['seconds'] - previous[1]) / (size - previous[0]) * 1000:.1f}"
                if data["cpu"] is not None and previous[2] is not None:
                    marginal_cpu = f"{(data['cpu'] - previous[2]) / (size - previous[0]) * 1000:.1f}"
            ratio = f"{per_nb * size / data['seconds']:.1f}x" if per_nb is not None else "–"
            print(f"{size:>8}  {data['seconds']:>8.2f}  {data['seconds'] / size * 1000:>7.1f}  {marginal:>14}  "
                  f"{'–' if data['cpu'] is None else format(data['cpu'], '.1f'):>7}  {marginal_cpu:>18}  "
                  f"{data['peak_mb']:>14.1f}  {data.get('writer_peak_mb') or 0:>14.1f}  {ratio:>11}")
            print(f"          {data['summary']}")
            split = {"grader process": data["grader_cpu"], "writer": data["writer_cpu"]}
            if data["cpu"] is not None:
                split["the rest (sandboxed workers, bubblewrap)"] = data["cpu"] - sum(split.values())
            line = ", ".join(f"{k} {v:.1f} s" + (f" ({(v - previous[3][k]) / (size - previous[0]) * 1000:.1f} ms/nb marginal)"
                                                  if previous is not None and k in previous[3] else "")
                             for k, v in split.items())
            print(f"          CPU: {line}")
            previous = (size, data["seconds"], data["cpu"], split)
            shutil.rmtree(scratch / f"out{size}", ignore_errors=True)
            shutil.rmtree(scratch / f"class{size}", ignore_errors=True)
            shutil.rmtree(scratch / f"class{size}-src", ignore_errors=True)
        own = student_code_ms()
        if own is not None:
            line = f"the students' own code (cells and calls, measured apart): {own:.1f} ms of CPU a notebook"
            if previous is not None and marginal_cpu:
                line += f"; the rest of the marginal CPU: {float(marginal_cpu) - own:.1f} ms a notebook"
            print(line)


if __name__ == "__main__":
    main()
