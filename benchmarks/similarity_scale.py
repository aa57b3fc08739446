"""How the copying comparison scales with the class: `python benchmarks/similarity_scale.py [--sizes 100 1000]`.

Builds a synthetic class from the bundled solutions (every student a base solution with its own
renamed variables, a statement of their own between most lines, shuffled cells, a comment per cell and a sentence of their own per written part;
one planted copy per 50 students) and times `grader.similarity.compare_class` on it, the way a
batch calls it after grading (wrong answers: 30 per student, a few shared). Prints wall time,
time per student, pairs looked at, and whether the planted copies were found. The issue's target:
a class of 1,000 in under a minute on 2 cores.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.load import load  # noqa: E402
from grader.results import AnswerPrint  # noqa: E402
from grader.similarity import Evidence, Template, compare_class  # noqa: E402

BASES = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "erin_partial.ipynb", "carol_module.py"]
WORDS = "gradient vanishing exploding eigenvalue jacobian chain rule forget gate cell state product".split()


def base_programs() -> list[tuple[list[str], str]]:
    programs = []
    for name in BASES:
        program = load(ROOT / "submissions" / name)
        markdown = "\n\n".join(u.source for u in program.markdown)
        programs.append(([u.source for u in program.units], markdown))
    return programs


def student(rng: random.Random, index: int, bases) -> Evidence:
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
    wrong = tuple(AnswerPrint(f"q{q}/hidden/{c}", f"q{q}", "", f"{index}-{q}-{c}") for q in range(3) for c in range(10))
    return Evidence(f"s{index:05d}", "\n\n".join(code), (("all", markdown + "\n" + prose),), wrong)


def build(size: int) -> tuple[list[Evidence], set[tuple[str, str]]]:
    rng = random.Random(size)
    bases = base_programs()
    students = [student(rng, i, bases) for i in range(size)]
    planted = set()
    for i in range(0, size - 1, 50):
        copier = students[i + 1]
        students[i + 1] = Evidence(copier.student, students[i].code.replace("# student", "# mine"),
                                   copier.written, copier.wrong)
        planted.add((students[i].student, copier.student))
    return students, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    template_program = load(ROOT / "submissions" / "template.ipynb")
    template = Template("\n\n".join(u.source for u in template_program.units),
                        "\n\n".join(u.source for u in template_program.markdown))
    for size in args.sizes:
        students, planted = build(size)
        started = time.perf_counter()
        pairs = compare_class(students, template)
        seconds = time.perf_counter() - started
        flagged = {(p.a, p.b) for p in pairs if p.flagged}
        print(f"{size:5d} students: {seconds:6.2f} s ({1000 * seconds / size:.1f} ms each), "
              f"{len(pairs)} pairs with evidence, {len(flagged)} flagged, "
              f"planted copies found {len(planted & flagged)}/{len(planted)}")


if __name__ == "__main__":
    main()
