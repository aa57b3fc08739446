"""How the copying comparison scales with the class: `python benchmarks/similarity_scale.py [--sizes 1000 5000]`.

Builds a synthetic class from the bundled solutions (every student a base solution with its own
renamed variables, a statement of their own between most lines, shuffled cells, a comment per cell and a sentence of their own per written part;
one planted copy per 50 students) and compares it the way a batch does after grading (wrong
answers: 30 per student, none shared): `grader.similarity.compare_stream`, each student generated
when the comparison asks for them (as a batch reads them from disk) and again for the pairs it
details, so the class's text is never held at once. `--held` builds the whole class as a list
first and calls `compare_class` (what a batch did before the comparison streamed).

Each size runs in a fresh process and prints wall and CPU time, time per student, pairs looked
at, whether the planted copies were found, and memory: the growth of the process's peak RSS
over what it held before the comparison (imports, the base solutions), and with `--tracemalloc`
the peak of Python and numpy allocations (slower). The issue's targets: a class of 1,000 in
under a minute on 2 cores; peak memory independent of the class (<= 150 MB for a 5,000 batch).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.load import load  # noqa: E402
from grader.results import AnswerPrint  # noqa: E402
from grader.similarity import Evidence, Template, compare_class  # noqa: E402

BASES = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "erin_partial.ipynb", "carol_module.py"]
WORDS = "gradient vanishing exploding eigenvalue jacobian chain rule forget gate cell state product".split()
COPY_EVERY = 50


def base_programs() -> list[tuple[list[str], str]]:
    programs = []
    for name in BASES:
        program = load(ROOT / "submissions" / name)
        markdown = "\n\n".join(u.source for u in program.markdown)
        programs.append(([u.source for u in program.units], markdown))
    return programs


def student(size: int, index: int, bases) -> Evidence:
    """Student `index` of a class of `size`, the same every time it is asked for (own random stream)."""
    rng = random.Random(f"{size}/{index}")
    cells, markdown = bases[index % len(bases)]
    names = {n: f"{n}_{rng.randrange(10**6)}" for n in ("W", "U", "xs", "gs", "h0", "T", "n", "h")}
    code = []
    for cell in cells:
        for old, new in names.items():
            cell = re.sub(rf"\b{old}\b", new, cell)
        # Independent students write different code: a statement of their own between most lines.
        lines = []
        for line in cell.splitlines():
            lines.append(line)
            if rng.random() < 0.7:
                indent = line[:len(line) - len(line.lstrip())]
                lines.append(f"{indent}t = {rng.randrange(10**6)} * t")
        code.append(f"# student {index}: {rng.choice(WORDS)}\n" + "\n".join(lines))
    rng.shuffle(code)
    prose = " ".join(rng.choice(WORDS) for _ in range(60))
    wrong = tuple(AnswerPrint(f"q{q}/hidden/{c}", f"q{q}", "", _digest(f"{index}-{q}-{c}"))
                  for q in range(3) for c in range(10))
    return Evidence(f"s{index:05d}", "\n\n".join(code), (("all", markdown + "\n" + prose),), wrong)


def _digest(text: str) -> str:
    """A digest shaped like `similarity.answer_digest`'s (32 hex digits)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def copied(size: int, index: int, bases) -> Evidence:
    """Student `index`, who (one in COPY_EVERY) handed in the code of the student before."""
    own = student(size, index, bases)
    if index % COPY_EVERY == 1 and index < size:
        return Evidence(own.student, student(size, index - 1, bases).code.replace("# student", "# mine"),
                        own.written, own.wrong)
    return own


def planted(size: int) -> set[tuple[str, str]]:
    return {(f"s{i:05d}", f"s{i + 1:05d}") for i in range(0, size - 1, COPY_EVERY)}


def template() -> Template:
    program = load(ROOT / "submissions" / "template.ipynb")
    return Template("\n\n".join(u.source for u in program.units), "\n\n".join(u.source for u in program.markdown))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(size: int, held: bool, trace: bool) -> dict:
    """One size, in this process: the comparison's time and the memory it added."""
    import numpy  # noqa: F401  (imported by the comparison anyway: not part of its memory)

    bases, given = base_programs(), template()
    if trace:
        import tracemalloc

        tracemalloc.start()
    before = peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    if held:
        pairs = compare_class([copied(size, i, bases) for i in range(size)], given)
    else:
        from grader.similarity import compare_stream

        def stream() -> Iterator[Evidence]:
            return (copied(size, i, bases) for i in range(size))

        def again(names: set[str], full: set[str]) -> Iterator[Evidence]:
            return (copied(size, int(name[1:]), bases) for name in sorted(names))

        pairs = compare_stream(stream(), again, given)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    flagged = {(p.a, p.b) for p in pairs if p.flagged}
    report = {"size": size, "seconds": seconds, "cpu": cpu, "pairs": len(pairs), "flagged": len(flagged),
              "found": len(planted(size) & flagged), "planted": len(planted(size)),
              "rss_mb": peak_rss_mb() - before, "rss_total_mb": peak_rss_mb()}
    if trace:
        report["traced_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--held", action="store_true", help="hold the whole class in a list first (compare_class)")
    parser.add_argument("--tracemalloc", action="store_true", help="also report tracemalloc's peak (slower)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)     # the child process: one size, JSON out
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.held, args.tracemalloc)))
        return
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", str(size)] + ["--held"] * args.held \
            + ["--tracemalloc"] * args.tracemalloc
        r = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        traced = f", tracemalloc peak {r['traced_mb']:.1f} MB" if "traced_mb" in r else ""
        print(f"{size:5d} students: {r['seconds']:6.2f} s wall, {r['cpu']:6.2f} s CPU "
              f"({1000 * r['seconds'] / size:.1f} ms each), {r['pairs']} pairs with evidence, "
              f"{r['flagged']} flagged, planted copies found {r['found']}/{r['planted']}; "
              f"peak RSS +{r['rss_mb']:.1f} MB (process {r['rss_total_mb']:.0f} MB){traced}")


if __name__ == "__main__":
    main()
