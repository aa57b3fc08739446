"""Grade in a process of its own and report that process's peak resident memory (the grader's
own: the sandboxed workers are separate processes). Run by test_hostile_dos.py:

    python peak_memory.py LEVEL grade SUBMISSION...     each in turn, then a correct one, one session
    python peak_memory.py LEVEL batch DIR OUT WORKERS   `grader batch` with that many workers

CASE_SECONDS=N in the environment gives each call N seconds instead of the attack limits' 2 (for
attacks whose point is size, not time: tens of MB through a pipe can outlast 2 s on a busy machine).

Prints one JSON object: {"peak_mb", "results": [{"submission", "score", "cases": {uid: [status, message]},
"cells": [[status, error]], "output"}...]}.
"""
from __future__ import annotations

import json
import os
import resource
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

from conftest import CANARY_SECRET, CAROL, attack_config  # noqa: E402


def summary(result) -> dict:
    return {"submission": result.submission, "score": result.score, "status": result.status,
            "questions": {q.id: q.score for q in result.questions},
            "cases": {c.uid: [c.status, c.message] for q in result.questions for c in q.cases},
            "cells": [[c.status, c.error] for c in result.cells], "output": result.output[:2000]}


def main(argv: list[str]) -> int:
    os.environ["GRADER_SECRET"] = CANARY_SECRET
    level, mode, *paths = argv
    config = attack_config(None if level == "best" else level)
    if os.environ.get("CASE_SECONDS"):
        config = replace(config, limits=replace(config.limits, case_seconds=float(os.environ["CASE_SECONDS"])))
    results = []
    if mode == "grade":
        from grader.session import Session

        with Session(config) as session:
            for path in paths:
                results.append(summary(session.grade(path)))
            correct = Path(paths[0]).with_name("correct_after.py")
            correct.write_text(CAROL, encoding="utf-8")
            results.append(summary(session.grade(correct)))
    else:
        from grader.batch import run_batch

        report = run_batch(paths[0], paths[1], config, workers=int(paths[2]), progress=False)
        results = [summary(r) for r in report.results]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mb": peak_kb / 1024, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
