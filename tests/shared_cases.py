"""Case sets shared by every test of a test process (an xdist worker), with their memos.

Building a case set (every hidden case's reference answer) is ~0.2 s of CPU, and its memo, filled
as submissions are graded on it (the known mistakes' wrong answers on each case, the shown inputs
and expected answers), costs more: grading the seed notebook on a fresh case set took 0.7 s of CPU
in the test process, on one whose memo is filled 0.04 s. A batch fills it once for all its
students; a test file that builds its own set pays it again for each set it builds. Counted in a
suite run (loaded machine): 161 builds and 19,229 wrong answers computed in the test processes,
31 s of CPU.

A case set is only read by the grading (its memo only grows, with what the cases alone determine),
so tests that grade on the same assignment, secret and visibility may share one, as the
submissions of one batch do. Where a test is about building a case set (or about a Session
building its own), it builds its own.

Some ways of grading build their case set inside the grader (`grader grade` and `grader merge` on
the command line, Gradescope's entry point, a batch that opens its own Session for its writer): a
test of one of those that is not about the build takes the `shared_builds` fixture, under which
`caseset.build` of the registry's assignment gives this process's one build for that secret.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import pytest

from grader import caseset
from grader.spec import PUBLIC, Assignment, CaseSet

_CASE_SETS: dict[tuple[str, str | None, str], CaseSet] = {}
# caseset.build's own results, by the assignment object's id and the secret; the assignment is kept
# with its set, so that its id is never another object's.
_BUILDS: dict[tuple[int, str | None], tuple[Assignment, CaseSet]] = {}
_REAL_BUILD = caseset.build


def shared_build(assignment: Assignment, secret: str | None) -> CaseSet:
    """`caseset.build(assignment, secret)`, built once per test process for each assignment object
    (the registry's is one object, however often it is loaded) and secret."""
    key = (id(assignment), secret)
    if key not in _BUILDS:
        _BUILDS[key] = (assignment, _REAL_BUILD(assignment, secret))
    return _BUILDS[key][1]


def shared_case_set(config, visibility: str = "all") -> CaseSet:
    """The case set of `config`'s assignment and secret (`visibility` "all": public and hidden
    cases; PUBLIC: the public ones, as built without a secret), built once per test process."""
    secret = None if visibility == PUBLIC else config.secret
    key = (config.assignment, secret, visibility)
    if key not in _CASE_SETS:
        built = shared_build(config.load_assignment(), secret)
        _CASE_SETS[key] = built.only(PUBLIC) if visibility == PUBLIC else built
    return _CASE_SETS[key]


@contextlib.contextmanager
def builds_shared() -> Iterator[None]:
    """Within the block, every `caseset.build` (the grader's own, inside a Session, the command
    line or Gradescope's entry point) is `shared_build`: the same set, built once per test process."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(caseset, "build", shared_build)
        yield


@pytest.fixture
def shared_builds() -> Iterator[None]:
    """`builds_shared` around the test."""
    with builds_shared():
        yield
