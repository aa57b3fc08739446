"""Python source that the grader reads in its own process (never runs): parsed one thread at a time.

CPython 3.11 keeps the AST constructor's recursion depth in state that every thread shares. When
two threads parse at once (a batch's grading threads each read a submission's imports, a new
session reads the assignment's registry while the last batch's threads finish), and a garbage
collection during one parse runs Python code (a finaliser, a `gc` callback) that lets the other
thread in, a parse fails with "SystemError: AST constructor recursion depth mismatch"
(python/cpython#106905): the student's grade became an internal error, and once a test session's
new session failed to start. A parse takes about a millisecond; waiting for another costs nothing
next to grading. Every `ast.parse` of the grader goes through `parse`.
"""
from __future__ import annotations

import ast
import threading

# Process-wide, as the interpreter state it guards. Reentrant: a finaliser that runs during a
# parse, in the same thread, may parse too (nested in one thread, the depths still balance).
_PARSING = threading.RLock()


def parse(source: str) -> ast.Module:
    """`ast.parse(source)`, never at the same time as another thread's."""
    with _PARSING:
        return ast.parse(source)
