"""Running a built autograder's `run_autograder` as Gradescope does, on a fake /autograder root."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_autograder(root: Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`bash root/source/run_autograder` with `python3` on PATH being this interpreter and no
    GRADER_* or PYTHON* variable of the test run's (Gradescope's image has neither)."""
    interpreter_dir = str(Path(sys.executable).parent)
    if not (Path(interpreter_dir) / "python3").exists():
        interpreter_dir = str(cwd / "bin")
        os.makedirs(interpreter_dir, exist_ok=True)
        os.symlink(sys.executable, Path(interpreter_dir) / "python3")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "PYTHON"))}
    env.update(AUTOGRADER_ROOT=str(root), PATH=interpreter_dir + os.pathsep + env.get("PATH", ""))
    return subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
