"""Grading as an ordinary user: the findings of a grader that is not root (the student then shares
its uid) are checked by running a real grader as uid `nobody`, from a test that runs as root.

`nobody_dir` makes a directory that uid can read, holding a venv of the system Python whose
site-packages adds this interpreter's (which may live under /root, unreadable to it), and
`grade_as_nobody` grades one submission there and returns what the result says.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

NOBODY = 65534
ROOT = Path(__file__).resolve().parents[2]

GRADE = r'''
import ctypes, json, sys
sys.path.insert(0, sys.argv.pop(4))      # this checkout's grader, not the one the venv may have installed
from dataclasses import replace
from grader.config import load_config
from grader.session import Session

level, submission, secret = sys.argv[1] or None, sys.argv[2], sys.argv[3].encode()
if level == "rlimits-plain":
    # The plain rlimits level on a machine that has Landlock (conftest.PLAIN_RLIMITS): no ruleset.
    from grader import sandbox
    sandbox._landlock_args = lambda scratch, private=(): []
    level = "rlimits"
if secret:
    # The grader's own session and user keyrings hold a secret, which no submission may read.
    import pyseccomp
    libc = ctypes.CDLL(None, use_errno=True)
    def call(name, *args):
        number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
        return libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    call("keyctl", 1, None)                    # KEYCTL_JOIN_SESSION_KEYRING: a session keyring of this run's own
    for ring in (-3, -4):
        assert call("add_key", b"user", b"hw3-grader-key", secret, len(secret), ring) > 0
try:
    config = replace(load_config(env={}), isolation=level, workers=1)
    with Session(config) as session:
        result = session.grade(submission)
        print(json.dumps({"score": result.score, "isolation": result.isolation, "output": result.output,
                          "cells": [[c.status, c.error] for c in result.cells],
                          "student_uid": session._all[0].student_uid}))
finally:
    if secret:
        for ring in (-3, -4):
            call("keyctl", 7, ring)            # KEYCTL_CLEAR
'''


@pytest.fixture(scope="module")
def nobody_dir():
    system = shutil.which("python3", path="/usr/bin:/bin")
    ours = next((p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)), None)
    if os.geteuid() != 0 or not shutil.which("setpriv") or system is None or ours is None:
        pytest.skip("needs root, setpriv and a system python3 to run a grader as an ordinary uid")
    version = subprocess.run([system, "-c", "import sys; print(tuple(sys.version_info[:2]))"],
                             capture_output=True, text=True).stdout.strip()
    if version != str(tuple(sys.version_info[:2])):
        pytest.skip(f"the system python3 is {version}, not this interpreter's version")
    # Not under /tmp: a Python installation there keeps bwrap's own /tmp mount (no cap on files).
    folder = Path(tempfile.mkdtemp(prefix="hw3-nonroot-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    try:
        os.chmod(folder, 0o755)
        subprocess.run([system, "-m", "venv", "--without-pip", str(folder / "venv")], check=True)
        site = next((folder / "venv").glob("lib/python3*/site-packages"))
        (site / "hw3.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
        subprocess.run(["chmod", "-R", "a+rX", str(folder)], check=True)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def grade_as_nobody(folder: Path, level: str, source: str, name: str, secret: str = "") -> dict:
    """Grade `source` with a grader running as uid nobody at `level` ("" for the best there is,
    "rlimits-plain" for rlimits without Landlock); `secret`, when given, is in its keyrings and in
    its environment (GRADER_SECRET)."""
    submission = folder / name
    submission.write_text(source, encoding="utf-8")
    script = folder / "grade_as_nobody.py"
    script.write_text(GRADE)
    for path in (submission, script):
        os.chmod(path, 0o644)
    done = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
                           "env", "-i", "HOME=/tmp", "PATH=/usr/bin:/bin",
                           *([f"GRADER_SECRET={secret}"] if secret else []), str(folder / "venv" / "bin" / "python"),
                           "-I", str(script), level, str(submission), secret, str(ROOT)],
                          capture_output=True, text=True, cwd=str(ROOT), timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
