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


def student_folder(out: Path, name: str) -> Path:
    """The folder of reports of the student whose display name is `name` in a batch's OUT
    (OUT/students/<name>-<10 hex digits>/: see grader.batch.student_dir)."""
    import re

    found = [p for p in (Path(out) / "students").iterdir()
             if re.fullmatch(re.escape(name) + r"-[0-9a-f]{10}", p.name)]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]
