"""`grader ...` run in the test's own process, as a subprocess would see it: its arguments, working
directory and environment, with stdout, stderr and the exit code given back.

Why: a `python -m grader` subprocess starts an interpreter and imports the grader, numpy and the
assignment again (~0.7 s of CPU each) before it does what a test looks at. Where the subprocess is
itself under test (an installed kit, a batch killed half-way, what the command line imports at
start) the tests still start one; everywhere else this runs `grader.cli.main` the same way.
"""
from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


@dataclass(frozen=True)
class CliRun:
    """What `subprocess.run(..., capture_output=True, text=True)` would have returned."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None):
    """os.environ is `env` exactly (as a subprocess given `env=` sees it), restored afterwards."""
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _working_directory(cwd: str | Path | None):
    if cwd is None:
        yield
        return
    saved = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


def run_cli(argv: list[str], cwd: str | Path | None = None, env: Mapping[str, str] | None = None) -> CliRun:
    """`python -m grader *argv` with `cwd` and `env` (None: this process's own), in this process.

    A `SystemExit` (argparse on a usage error) becomes its exit code, as it would for a process."""
    from grader.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _environment(env), _working_directory(cwd), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliRun(code, out.getvalue(), err.getvalue())
