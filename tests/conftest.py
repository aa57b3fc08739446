"""Shared fixtures: one warm grading session for the whole test run (starting a worker costs ~0.4 s)."""
from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path
from typing import Callable

import pytest

from grader.config import load_config
from grader.session import Session

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"

# pytest keeps each test module with its assertions rewritten in __pycache__ (ignored by git), unless
# bytecode writing is off (PYTHONDONTWRITEBYTECODE, as in some shells and CI images): then every
# xdist worker parses and rewrites all the test modules again, 2-3 s of CPU each on every run (a
# first run in a fresh clone pays that either way). The cache is the test run's own, so it is kept
# whatever the environment says; subprocesses and the sandboxed workers still follow it (and -B).
sys.dont_write_bytecode = False


@pytest.fixture(scope="session")
def config():
    return load_config(env={})


@pytest.fixture(scope="session")
def session(config):
    """Instructor view: public and hidden cases (demo secret)."""
    with Session(config) as s:
        yield s


@pytest.fixture(scope="session")
def public_session(config):
    """Student self-check view: public cases only."""
    with Session(config, visibility="public") as s:
        yield s


@pytest.fixture(scope="session")
def made_once(tmp_path_factory) -> Callable[[str, Callable[[Path], None]], Path]:
    """`made_once(name, make)`: a folder that `make` fills once per test run, shared by the xdist workers.

    For what costs seconds to make and is only read afterwards (a virtualenv with a pip install): as
    a module fixture, each worker that runs one of its tests would make its own. The first worker
    makes it under a lock, the others wait for it; one that fails to make it leaves nothing behind,
    so the next one tries again (and fails the same way, with its own message)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent            # this run's folder, shared by its workers (never another run's)

    def make_once(name: str, make: Callable[[Path], None]) -> Path:
        folder = base / name
        with open(base / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / ".made").is_file():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                try:
                    make(folder)
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
                (folder / ".made").touch()
        return folder

    return make_once


@pytest.fixture()
def collector_unfrozen() -> None:
    """Wait until no block of grader.heap runs in this process and nothing is frozen, so that a
    test can assert the collector's state. A batch stopped by Ctrl-C lets its grading threads
    finish their current grade in the background (each inside such a block), and the test
    process that ran it may run this test next. Fails if that does not happen within 60 s."""
    import gc
    import time

    from grader import heap

    deadline = time.monotonic() + 60
    while heap.blocks_running() or gc.get_freeze_count():
        assert time.monotonic() < deadline, "a grade or batch of an earlier test is still running"
        time.sleep(0.05)
