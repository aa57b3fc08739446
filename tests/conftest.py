"""Shared fixtures: one warm grading session for the whole test run (starting a worker costs ~0.4 s)."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.config import load_config
from grader.session import Session

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"


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
