"""The README's two commands: setup.sh and the test command, and CI running exactly them."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT


def readme_commands() -> list[str]:
    """The commands of the first shell block under "## The two commands", without their comments."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The two commands", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def test_the_readme_gives_two_commands_setup_then_tests():
    assert readme_commands() == ["./setup.sh", ".venv/bin/python -m pytest"]


def test_ci_runs_exactly_the_readme_commands():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    commands = [line for line in lines if line and not line.startswith(("#", "set ", "cd "))]
    assert commands == readme_commands()


def test_setup_is_an_executable_bash_script_ending_with_the_main_job():
    script = ROOT / "setup.sh"
    assert os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True)
    main = script.read_text(encoding="utf-8").split("\nmain() {\n", 1)[1].split("\n}\n", 1)[0]
    steps = [line.strip() for line in main.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert steps[-1] == ".venv/bin/grader batch submissions/ --out reports/"


# ------------------------------------------------------------------------------------------------
# System packages: apt-get as root, through sudo otherwise, skipped (not failed) without either


def _fake_path(tmp_path: Path, sudo: bool) -> Path:
    """A PATH with what setup.sh's package step uses, a python3 with venv, no bwrap and no chromium,
    and a logging apt-get (and sudo) that install nothing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "env", "bash"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    log = tmp_path / "log"
    fakes = {"python3": "exit 0", "apt-get": f'echo "apt-get $*" >> {log}'}
    if sudo:
        fakes["sudo"] = f'echo "sudo $*" >> {log}\nexec "$@"'
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    log.touch()
    log.chmod(0o666)
    return bin_dir


def _install_packages(bin_dir: Path, as_uid: int | None = None) -> subprocess.CompletedProcess:
    command = ["bash", "-c", f"source {ROOT / 'setup.sh'} && install_system_packages"]
    if as_uid is not None:
        command = [shutil.which("setpriv"), f"--reuid={as_uid}", f"--regid={as_uid}", "--clear-groups", *command]
    return subprocess.run(command, env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=60)


@pytest.fixture
def tmp_path(tmp_path_factory):
    """A folder that another user can enter too (pytest's own are private to their owner)."""
    with tempfile.TemporaryDirectory(prefix="setup-test-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)


needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="trying setup.sh as root and as another user needs root (and setpriv)")


@needs_root
def test_as_root_apt_get_is_run_directly_even_when_sudo_exists(tmp_path):
    bin_dir = _fake_path(tmp_path, sudo=True)
    proc = _install_packages(bin_dir)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "log").read_text().splitlines()
    assert "apt-get install -y -qq bubblewrap" in log and "apt-get install -y -qq chromium-driver" in log
    assert not any(line.startswith("sudo") for line in log)


@needs_root
def test_as_a_user_with_sudo_apt_get_goes_through_sudo(tmp_path):
    bin_dir = _fake_path(tmp_path, sudo=True)
    proc = _install_packages(bin_dir, as_uid=65534)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "log").read_text().splitlines()
    assert "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap" in log


@needs_root
def test_as_a_user_without_sudo_the_packages_are_skipped_not_failed(tmp_path):
    bin_dir = _fake_path(tmp_path, sudo=False)
    proc = _install_packages(bin_dir, as_uid=65534)
    assert proc.returncode == 0, proc.stderr
    assert "neither root nor sudo" in proc.stderr and "bubblewrap" in proc.stderr
    assert (tmp_path / "log").read_text() == ""


# ------------------------------------------------------------------------------------------------
# The Python .venv is made from: $PYTHON, else the fastest Python 3.10+ with venv found here


def _fake_python(folder: Path, name: str, seconds: float | None, real: str | None = None) -> str:
    """A program that answers setup.sh's timing as a Python would (`None`: as an unfit one does)."""
    path = folder / name
    answer = "exit 1" if seconds is None else f'echo "{seconds:.4f} {real or path}"'
    path.write_text(f"#!/bin/sh\ncat > /dev/null\n{answer}\n")
    path.chmod(0o755)
    return str(path)


def _choose(candidates: list[str], python: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "SETUP_PYTHON_CANDIDATES": " ".join(candidates)}
    if python is not None:
        env["PYTHON"] = python
    return subprocess.run(["bash", "-c", f"source {ROOT / 'setup.sh'} && choose_python"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_python_a_tenth_faster_than_the_one_on_path_is_taken(tmp_path):
    first = _fake_python(tmp_path, "first", 0.100)
    fast = _fake_python(tmp_path, "fast", 0.080)
    proc = _choose([first, fast])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == fast
    assert fast in proc.stderr and first in proc.stderr     # it says what it took and against what


def test_the_python_on_path_keeps_its_place_against_one_barely_faster(tmp_path):
    first = _fake_python(tmp_path, "first", 0.100)
    close = _fake_python(tmp_path, "close", 0.095)
    proc = _choose([first, close])
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, first, "")


def test_unfit_and_missing_pythons_are_passed_over_and_one_python_is_timed_once(tmp_path):
    unfit = _fake_python(tmp_path, "old", None)
    slow = _fake_python(tmp_path, "slow", 0.200)
    # Another name for the slow one (a shim, a symlink) reporting itself faster must not take over.
    alias = _fake_python(tmp_path, "alias", 0.010, real=slow)
    proc = _choose([str(tmp_path / "absent"), unfit, slow, alias])
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, slow, "")
    assert _choose([unfit, str(tmp_path / "absent")]).returncode != 0


def test_python_named_in_the_environment_wins_without_timing_and_must_be_fit(tmp_path):
    slow = _fake_python(tmp_path, "slow", 0.500)
    fast = _fake_python(tmp_path, "fast", 0.010)
    assert _choose([fast], python=slow).stdout.strip() == slow
    unfit = _fake_python(tmp_path, "old", None)
    proc = _choose([fast], python=unfit)
    assert proc.returncode != 0 and "PYTHON=" + unfit in proc.stderr and proc.stdout == ""


def test_the_python_chosen_on_this_machine_is_a_real_one_that_can_make_a_venv():
    proc = subprocess.run(["bash", "-c", f"source {ROOT / 'setup.sh'} && choose_python"],
                          env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    chosen = proc.stdout.strip()
    check = subprocess.run([chosen, "-c", "import sys, ensurepip, venv; assert sys.version_info >= (3, 10)"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
