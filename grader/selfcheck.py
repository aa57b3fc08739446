"""The student's self-check, shared by `grader check` and `grader.check()` in Jupyter.

Public cases only, judged by `pipeline` exactly as in grading, with the code run by the portable
runner (`grader.portable`) instead of the sandbox, so it works on every platform. Also: choosing
some questions only (`grader check nb.ipynb 1a 2b`), and telling which written parts the saved
notebook holds, which are left empty and which lost their `<!-- answer: ID -->` marker (then the
TA would see "not found").

Imports nothing Linux-only (see `tests/test_portable.py`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .i18n import N_
from .protocol import Limits
from .results import PartStatus, Result
from .spec import PUBLIC, CaseSet


NO_SUCH_QUESTION = N_("there is no question {question}; the questions are: {questions}")


class UnknownQuestion(ValueError):
    """A question id asked for that the assignment does not have; the message lists the valid ones."""


def select(case_set: CaseSet, questions: list[str] | tuple[str, ...] = ()) -> CaseSet:
    """The public cases of `questions` only (all questions when none are named)."""
    public = case_set.only(PUBLIC)
    if not questions:
        return public
    known = [q.id for q in public.assignment.questions]
    wanted = []
    for qid in questions:
        match = next((k for k in known if k.lower() == str(qid).strip().lower()), None)
        if match is None:
            raise UnknownQuestion(NO_SUCH_QUESTION.format(question=repr(qid), questions=", ".join(known)))
        if match not in wanted:
            wanted.append(match)
    assignment = dataclasses.replace(public.assignment,
                                     questions=tuple(q for q in public.assignment.questions if q.id in wanted))
    return CaseSet(assignment, tuple(c for c in public.cases if c.question_id in wanted), public.digest)


def course_lang(config, cases_path: str | None = None) -> str | None:
    """The course's language for feedback: `lang` in grader.toml, else the one the kit was built
    with (recorded in its public cases file)."""
    if getattr(config, "lang", None):
        return config.lang
    from . import caseset

    path = cases_path or caseset.bundled_public_cases()
    if path is None:
        return None
    try:
        import json

        meta = json.loads(Path(path).read_text(encoding="utf-8")).get("assignment", {})
    except (OSError, ValueError, AttributeError):
        return None
    lang = meta.get("lang") if isinstance(meta, dict) else None
    return lang if isinstance(lang, str) else None


def check_file(path: str | Path, case_set: CaseSet, limits: Limits = Limits(),
               environment: tuple[str, ...] | None = None) -> Result:
    """Self-check the saved submission at `path` on `case_set` (its public cases), portably.

    With the graded `environment` (its package list, as `grader check` passes it), the check runs
    as the grading will: student code imports only those packages' modules (and the standard
    library, and its own files), and an import the graded environment lacks is warned about even
    where a `try:` hides it. Without it, whatever the student's Python has can be imported."""
    from . import pipeline, written
    from .portable import run_portable

    path = Path(path)
    imports = None
    if environment is not None:
        from .environment import allowed_modules

        imports = allowed_modules(environment)

    def run(program, calls, sink):
        report = run_portable(program, calls, limits, imports)
        for answer in report.answers.values():     # public cases only, each judged by the pipeline's sink
            sink(answer)
        return report

    extras = pipeline.Extras(parse_written=written.parse_written, collect_written=written.collect,
                             environment=environment)
    return pipeline.grade(path, case_set, run, visibility=PUBLIC, extras=extras)


# ------------------------------------------------------------------------------------------------
# Written parts

FOUND, EMPTY, NO_MARKER = PartStatus.FOUND, PartStatus.EMPTY, PartStatus.NO_MARKER


@dataclass(frozen=True)
class WrittenStatus:
    """One written part as the saved notebook holds it: found, empty (only the template's
    placeholder), or no-marker (its `<!-- answer: ID -->` line is gone, so nobody will see it)."""

    id: str
    title: str
    status: PartStatus


def written_status(path: str | Path, assignment) -> list[WrittenStatus]:
    """The state of every written part of `assignment` in the saved file at `path`."""
    from .load import load
    from .written import answer_text, marked_parts

    program = load(path)
    raw = marked_parts(program, assignment.answer_marker)
    statuses = []
    for part in assignment.written:
        key = part.id.lower()
        if key not in raw:
            status = NO_MARKER
        elif not answer_text(raw[key]):
            status = EMPTY
        else:
            status = FOUND
        statuses.append(WrittenStatus(part.id, part.title, status))
    return statuses
