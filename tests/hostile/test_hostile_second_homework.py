"""A second homework's answers are as unreadable as HW3's: the sandbox hides what a registry declares.

The registry here is not HW3's: `hw9_registry` declares `PRIVATE_PACKAGES = ("hw9_answers",)`, and
both live in a site-packages-like folder that the sandbox binds (as an installed grader's would
be). Nothing in the engine names them: the submission must still read neither the answers nor the
registry, while a neighbouring package stays importable.
"""
from __future__ import annotations

import importlib
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import CAROL, FULL, attack_config, module
from grader import sandbox
from grader.session import Session

LEVELS = ["best", "rlimits"]
REGISTRY = '''"""A second homework (for the test: HW3's questions under another name)."""
import dataclasses

from assignments.hw3 import ASSIGNMENT as _HW3

PRIVATE_PACKAGES = ("hw9_answers",)
ASSIGNMENT = dataclasses.replace(_HW3, name="hw9", title="Homework 9")
REGISTRY_SECRET = "registry-leaked"
'''


@pytest.fixture
def second_site(monkeypatch):
    """hw9_registry, hw9_answers and an innocent neighbour, world-readable, in a folder the sandbox
    binds and the grader imports from."""
    root = Path("/var/tmp") / f"hw9-site-{os.getpid()}-{time.monotonic_ns()}" / "site-packages"
    files = {"hw9_registry/__init__.py": REGISTRY, "hw9_answers/__init__.py": "ANSWER = 'answers-leaked'\n",
             "neighbour9/__init__.py": "VALUE = 'visible'\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for folder, _, names in os.walk(root.parent):
        os.chmod(folder, 0o755)
        for name in names:
            os.chmod(os.path.join(folder, name), 0o644)
    monkeypatch.syspath_prepend(str(root))
    original_roots = sandbox._python_roots
    monkeypatch.setattr(sandbox, "_python_roots", lambda: original_roots() + [str(root)])
    importlib.invalidate_caches()
    yield root
    for name in [n for n in sys.modules if n.split(".")[0] in ("hw9_registry", "hw9_answers", "neighbour9")]:
        del sys.modules[name]          # the next test's folder is another one
    shutil.rmtree(root.parent, ignore_errors=True)


@pytest.mark.parametrize("level", LEVELS)
def test_a_second_homework_hides_what_its_registry_declares(second_site, tmp_path, level):
    source = CAROL + f'''
import sys
sys.path.append({str(second_site)!r})
import neighbour9
print("neighbour", neighbour9.VALUE)
for name, attribute in (("hw9_answers", "ANSWER"), ("hw9_registry", "REGISTRY_SECRET")):
    try:
        print(name, getattr(__import__(name), attribute, "empty"))   # hidden: at most an empty folder
    except BaseException as exc:
        print(name, "hidden", type(exc).__name__)
for path in ({str(second_site / "hw9_answers" / "__init__.py")!r}, {str(second_site / "hw9_registry" / "__init__.py")!r}):
    try:
        print("read", open(path).read())
    except OSError as exc:
        print("read refused", type(exc).__name__)
'''
    config = replace(attack_config(None if level == "best" else level), assignment="hw9_registry")
    assert config.private_packages() == ("hw9_answers", "hw9_registry")
    with Session(config) as session:
        assert session.case_set.assignment.name == "hw9"
        result = session.grade(module(tmp_path, source))
    if level == "rlimits" and "landlock" not in result.isolation:
        pytest.skip("without Landlock the rlimits level cannot hide world-readable files (documented)")
    assert result.score == FULL
    assert "neighbour visible" in result.output, result.output[-800:]
    assert "leaked" not in result.output, result.output[-800:]
