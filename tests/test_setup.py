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
