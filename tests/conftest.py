"""Shared fixtures: one warm grading session for the whole test run (starting a worker costs ~0.4 s)."""
from __future__ import annotations

import sys
from pathlib import Path

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
