"""`grader merge SHARD_OUT... --out OUT`: one class view from the outputs of `grader batch --shard K/N`.

Each shard's `results.json` holds its students' final results (identity, TA scores, late penalty
already applied). The merge checks that every shard graded the same assignment on the same case
set (the configuration's, so that the class files describe what was graded) and that no student
was graded by two shards, then writes every student's report and result and the class files
(summary, review, grades.csv, results.json) into OUT, keeping any class files it replaces under
`OUT/_runs/` as a batch does. Like a batch, it holds OUT while it writes there (`batch.holding`):
a merge or batch into an OUT that another one is writing stops before it writes anything. With `--roster`, missing students are listed across all shards (a
shard alone cannot know who is missing: give the roster here, not to the shards).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .results import Result
from .resultsfile import ResultsFileError, iter_results, read_head
from .slim import slim


class MergeError(ValueError):
    """The shards cannot be merged (unreadable, another case set, a student graded twice...)."""


@dataclass
class Merged:
    results: list[Result] = field(default_factory=list)
    shards: int = 0
    missing: list[str] = field(default_factory=list)
    changed: int | None = None


def merge(shards: list[str | os.PathLike], out: str | os.PathLike, case_set, roster=None) -> Merged:
    from . import batch
    from .diff import key_of

    out = Path(out)
    shards = [Path(s) for s in shards]
    owner: dict[str, str] = {}
    for shard in shards:            # everything is checked before anything is written
        if shard.resolve() == out.resolve():
            raise MergeError(f"the merged output {out} cannot also be a shard")
        try:
            head = read_head(shard / "results.json")
            keys = [(key_of(r), r.submission) for r in iter_results(shard / "results.json")]
        except ResultsFileError as exc:
            raise MergeError(f"{exc} (is {shard} the output of `grader batch --shard`?)") from None
        if head.get("case_set") != case_set.digest:
            raise MergeError(f"{shard} was graded on case set {head.get('case_set')}, not this configuration's "
                             f"{case_set.digest}: merge only shards of one grading run")
        for key, name in keys:
            if key in owner:
                raise MergeError(f"{name} is in both {owner[key]} and {shard}: were two shards given "
                                 "the same K, or different downloads?")
            owner[key] = str(shard)
    held = contextlib.ExitStack()
    try:
        batch.make_out(out)
        held.enter_context(batch.holding(out))     # another merge or batch writing OUT: stop, nothing written
    except batch.BatchError as exc:
        raise MergeError(str(exc)) from None
    with held:
        return _write(shards, out, case_set, roster)


def _write(shards: list[Path], out: Path, case_set, roster) -> Merged:
    """Every student's files and the class files, into `out` (made and held by `merge`)."""
    from . import batch, course
    from .diff import Previous
    from .render import html

    env = html.environment()        # the templates, parsed once for every page written here
    results: list[Result] = []
    shared: dict = {}               # reduced cases shared by the class's slim results (grader.slim)
    for shard in shards:            # each student's files written as read; only slim results kept
        for result in iter_results(shard / "results.json"):
            batch.refresh_student(out, batch.Submission(result.submission, Path(), student=result.student), result,
                                  env=env)
            results.append(slim(result, shared))
    results.sort(key=lambda r: r.submission)
    submissions = [batch.Submission(r.submission, Path(), student=r.student) for r in results]
    if roster is not None:
        view = course.CourseView([s for s in submissions if s.student is None or s.student.lms != "roster"],
                                 [r for r in results if r.status != course.NO_SUBMISSION])
        course.apply_roster(view, roster, case_set)
        submissions, results = view.submissions, view.results
        missing = view.missing
    else:
        missing = [r.submission for r in results if r.status == course.NO_SUBMISSION]
    outcomes = [batch.Outcome(submission, result, result_sha256=batch.refresh_student(out, submission, result, env=env),
                              files=batch.student_files(out, submission))
                for submission, result in zip(submissions, results)]
    previous = Previous.hold(out)
    batch.write_class(out, outcomes, case_set, env=env)
    changed, _ = previous.settle()
    return Merged(results, len(shards), missing, changed)
