"""Grade in a process of its own and report that process's peak resident memory (the grader's
own: the sandboxed workers are separate processes). Run by test_hostile_memory.py:

    python peak_memory.py LEVEL grade SUBMISSION...     each in turn, then a correct one, one session
    python peak_memory.py LEVEL batch DIR OUT WORKERS   `grader batch` with that many workers

CASE_SECONDS=N in the environment gives each call N seconds instead of the attack limits' 2 (for
attacks whose point is size, not time: tens of MB through a pipe can outlast 2 s on a busy machine).
ANSWER_MB=N gives one answer N MiB instead of 8, and all of a submission's answers 8 N instead of 64
(the same ratio): an attack sized against the limit then moves N/8 of the data, and the memory it
may add scales with it (`base_mb`).

With ANSWER_MB, before anything of the submissions is read, the session (each of its workers, at
once) grades a correct submission: `base_mb` is the peak then, the process's own warm size, so that
a test can bound what the attacks add to it (`peak_mb - base_mb`), scaled with the limit; without
it `base_mb` is null (nothing is graded first, and a batch makes its own session, as `grader batch`).

Prints one JSON object: {"base_mb", "peak_mb", "results": [{"submission", "score", "cases": {uid: [status, message]},
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
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parents[1])]   # conftest imports tests/shared_cases.py

from conftest import CANARY_SECRET, CAROL, attack_config  # noqa: E402


def summary(result) -> dict:
    return {"submission": result.submission, "score": result.score, "status": result.status,
            "questions": {q.id: q.score for q in result.questions},
            "cases": {c.uid: [c.status, c.message] for q in result.questions for c in q.cases},
            "cells": [[c.status, c.error] for c in result.cells], "output": result.output[:2000]}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def limits_from_environment(limits):
    """The attack limits, with CASE_SECONDS and ANSWER_MB (see the module's docstring) applied."""
    if os.environ.get("CASE_SECONDS"):
        limits = replace(limits, case_seconds=float(os.environ["CASE_SECONDS"]))
    if os.environ.get("ANSWER_MB"):
        answer_mb = float(os.environ["ANSWER_MB"])
        limits = replace(limits, answer_mb=answer_mb, answers_mb=answer_mb * limits.answers_mb / limits.answer_mb)
    return limits


def warm(session, folder: Path) -> float:
    """Grade a correct submission on every worker of `session` (a batch keeps them all busy at
    once): the process's peak resident memory before any attack is read."""
    import threading

    correct = folder / "warm_correct.py"
    correct.write_text(CAROL, encoding="utf-8")
    graders = [threading.Thread(target=session.grade, args=(correct,)) for _ in session._all]
    for grader in graders:
        grader.start()
    for grader in graders:
        grader.join()
    return peak_mb()


def main(argv: list[str]) -> int:
    os.environ["GRADER_SECRET"] = CANARY_SECRET
    level, mode, *paths = argv
    config = attack_config(None if level == "best" else level)
    config = replace(config, limits=limits_from_environment(config.limits))
    from grader.session import Session

    measure_base = bool(os.environ.get("ANSWER_MB"))
    base = None
    results = []
    if mode == "grade":
        with Session(config) as session:
            if measure_base:
                base = warm(session, Path(paths[0]).parent)
            for path in paths:
                results.append(summary(session.grade(path)))
            correct = Path(paths[0]).with_name("correct_after.py")
            correct.write_text(CAROL, encoding="utf-8")
            results.append(summary(session.grade(correct)))
    else:
        from grader.batch import run_batch

        folder, out, workers = Path(paths[0]), Path(paths[1]), int(paths[2])
        if measure_base:
            # The batch's session, made here so that it is warm before the batch reads anything.
            with Session(config, workers=workers) as session:
                base = warm(session, out.parent)
                report = run_batch(folder, out, config, workers=workers, progress=False, session=session)
        else:
            report = run_batch(folder, out, config, workers=workers, progress=False)
        results = [summary(r) for r in report.results]
    print(json.dumps({"base_mb": base, "peak_mb": peak_mb(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
