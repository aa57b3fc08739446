"""Case sets shared by every test of a test process (an xdist worker), with their memos.

Building a case set (every hidden case's reference answer) is ~0.1 s of CPU, and its memo, filled
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
"""
from __future__ import annotations

from grader import caseset
from grader.spec import PUBLIC, CaseSet

_CASE_SETS: dict[tuple[str, str | None, str], CaseSet] = {}


def shared_case_set(config, visibility: str = "all") -> CaseSet:
    """The case set of `config`'s assignment and secret (`visibility` "all": public and hidden
    cases; PUBLIC: the public ones, as built without a secret), built once per test process."""
    secret = None if visibility == PUBLIC else config.secret
    key = (config.assignment, secret, visibility)
    if key not in _CASE_SETS:
        built = caseset.build(config.load_assignment(), secret)
        _CASE_SETS[key] = built.only(PUBLIC) if visibility == PUBLIC else built
    return _CASE_SETS[key]
