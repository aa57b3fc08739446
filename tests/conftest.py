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
    """The folder of reports (OUT/students/<...>/, see grader.batch.student_dir) of the student whose
    display name is `name` in a batch's OUT, found by what their result.json says."""
    import json

    found = []
    for folder in (Path(out) / "students").iterdir():
        try:
            if json.loads((folder / "result.json").read_text(encoding="utf-8"))["submission"] == name:
                found.append(folder)
        except (OSError, ValueError, KeyError):
            continue
    assert len(found) == 1, f"{name}: {found}"
    return found[0]
