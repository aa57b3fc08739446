"""The code runs on every Python the project supports (`requires-python = ">=3.10"`), though CI and
this machine run 3.11: Gradescope's image ships 3.10. A call that only 3.11 accepts
(`binascii.a2b_base64(strict_mode=True)`) once made every answer unreadable on 3.10 while the whole
suite passed here. vermin reads the code and names any module, function, keyword or syntax that
needs a later Python than the oldest supported one."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLDEST = "3.10"
CODE = ["grader", "reference", "assignments", "tests", "benchmarks"]


def vermin(*paths: str | Path) -> subprocess.CompletedProcess:
    script = "import sys; from vermin import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", script, "--no-tips", "--violations", "--eval-annotations",
                           f"-t={OLDEST}-", *map(str, paths)], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_oldest_supported_python_is_the_projects():
    assert f'requires-python = ">={OLDEST}"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_every_module_runs_on_the_oldest_supported_python():
    proc = vermin(*CODE)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_a_call_only_a_later_python_accepts_is_found(tmp_path):
    """The check can fail: the very call that broke 3.10 is named."""
    later = tmp_path / "later.py"
    later.write_text("import binascii\nbinascii.a2b_base64('AAAA', strict_mode=True)\n", encoding="utf-8")
    proc = vermin(later)
    assert proc.returncode != 0 and "strict_mode" in proc.stdout, proc.stdout
