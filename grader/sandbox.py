"""How the worker is isolated: the command line that starts it, and what that command promises.

This module only *describes* the sandbox (an argv, an environment, an isolation level); it starts
no processes except a one-off probe of whether bubblewrap works here. `grader.runner` is the only
module that starts the worker.

Isolation levels, strongest first:
  "bwrap"    bubblewrap: own mount, PID, network, IPC and UTS namespaces; a read-only view of the
             Python installation with the grader's own packages (reference answers included) hidden;
             private size-limited tmpfs for scratch and /tmp; clean environment; rlimits; when the
             grader runs as root, the code runs as an unprivileged uid of its own.
  "rlimits"  no namespaces (bubblewrap missing or user namespaces blocked): rlimits, a private
             scratch directory, process-group and subreaper clean-up, and an unprivileged uid of its
             own when the grader runs as root. The reference code and the network stay reachable.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

BWRAP = "bwrap"
RLIMITS = "rlimits"
LEVELS = (BWRAP, RLIMITS)

WORKER = Path(__file__).with_name("worker.py")
SANDBOX_WORKER = "/opt/grader-worker/worker.py"
SANDBOX_SCRATCH = "/scratch"
# Each parallel worker slot gets a uid of its own, so that kill(-1) and RLIMIT_NPROC reach exactly
# one submission's processes. These uids need no passwd entry.
FIRST_UID = 61000
# Packages of this distribution that must not be readable from the sandbox.
HIDDEN_PACKAGES = ("reference", "assignments", "grader")
PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG")


class SandboxUnavailable(RuntimeError):
    """The isolation level that was required cannot be had on this machine."""


@dataclass(frozen=True)
class Launch:
    """Everything `runner` needs to start one worker: argv, environment, and what it promises."""

    argv: list[str]
    env: dict[str, str]
    level: str
    scratch: str | None = None       # host directory to remove afterwards (rlimits level only)
    uid: int | None = None
    notes: list[str] = field(default_factory=list)


def _worker_env(tmpdir: str, home: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmpdir,
        "IPYTHONDIR": os.path.join(tmpdir, ".ipython"),
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "LC_ALL": "C.UTF-8",
    }
    for name in PASSED_ENV:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _python_roots() -> list[str]:
    """The directories the interpreter and its libraries live in (a venv and its base included)."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            candidates.add(path)
    for entry in sys.path:
        if entry and os.path.isdir(entry) and ("site-packages" in entry or "dist-packages" in entry):
            candidates.add(entry)
    roots = sorted({os.path.realpath(p) for p in candidates if p and os.path.isdir(p)})
    # Drop nested ones: binding the parent is enough. /usr is bound anyway.
    kept: list[str] = []
    for path in roots:
        if path == "/usr" or path.startswith("/usr/"):
            continue
        if not any(path == k or path.startswith(k + "/") for k in kept):
            kept.append(path)
    return kept


def _hidden_dirs() -> list[str]:
    dirs = []
    for name in HIDDEN_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(os.path.realpath(location))
    return sorted(set(dirs))


def _bind_path_args(paths: list[str]) -> list[str]:
    """--ro-bind each path at its own place, creating traversable parents (e.g. /root is 0700)."""
    args: list[str] = []
    made: set[str] = {"/"}
    for path in paths:
        parents = []
        parent = os.path.dirname(path)
        while parent not in made and parent != "/":
            parents.append(parent)
            parent = os.path.dirname(parent)
        for p in reversed(parents):
            args += ["--perms", "0755", "--dir", p]
            made.add(p)
        args += ["--ro-bind", path, path]
        made.add(path)
    return args


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    return args


def bwrap_argv(slot: int, tmpfs_mb: int) -> tuple[list[str], int | None, list[str]]:
    """The bubblewrap command line for one worker slot, and the uid the code will run as."""
    running_as_root = os.geteuid() == 0
    args = [shutil.which("bwrap") or "bwrap"]
    if running_as_root:
        # A user namespace made by root maps only root; instead the worker drops to its own uid.
        args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        args += ["--unshare-all"]
    args += ["--die-with-parent", "--new-session"]
    if not running_as_root:
        args += ["--cap-drop", "ALL"]
    # As root the worker keeps its capabilities only until it drops to its own uid (which clears
    # them all), right after warming up and before any student code exists.
    args += _system_args()
    roots = _python_roots()
    args += _bind_path_args(roots)
    notes = []
    for hidden in _hidden_dirs():
        if any(hidden == r or hidden.startswith(r + "/") for r in roots + ["/usr"]):
            args += ["--tmpfs", hidden]
            notes.append(f"hidden: {hidden}")
    size = str(tmpfs_mb * 2**20)
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", size, "--perms", "0777", "--tmpfs", "/tmp",
             "--size", size, "--perms", "0777", "--tmpfs", SANDBOX_SCRATCH,
             "--dir", os.path.dirname(SANDBOX_WORKER),
             "--ro-bind", str(WORKER), SANDBOX_WORKER,
             "--chdir", SANDBOX_SCRATCH, "--clearenv"]
    uid = FIRST_UID + slot if running_as_root else None
    return args, uid, notes


@functools.lru_cache(maxsize=None)
def bwrap_works(tmpfs_mb: int = 64) -> str:
    """Return "" when bubblewrap can start Python here, else why not (cached per process)."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    argv, uid, _ = bwrap_argv(0, tmpfs_mb)
    inner = [sys.executable, "-I", "-c", "import numpy"]
    if uid is not None:
        inner = [sys.executable, "-I", "-c",
                 f"import os; os.setgroups([]); os.setresgid({uid},{uid},{uid}); "
                 f"os.setresuid({uid},{uid},{uid}); import numpy"]
    try:
        proc = subprocess.run(argv + ["--"] + inner, capture_output=True, timeout=30,
                              env=_worker_env("/tmp", SANDBOX_SCRATCH))
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap could not start: {exc}"
    if proc.returncode != 0:
        return "bubblewrap could not start Python: " + proc.stderr.decode(errors="replace").strip()[-300:]
    return ""


def launch(slot: int, level: str | None, tmpfs_mb: int = 64) -> Launch:
    """Describe how to start worker number `slot` at the strongest isolation level available.

    `level=None` means "the best there is"; naming a level makes it a requirement.
    """
    if level not in (None, BWRAP, RLIMITS):
        raise ValueError(f"unknown isolation level {level!r}; choose one of {LEVELS}")
    why_not = bwrap_works(tmpfs_mb) if level in (None, BWRAP) else "not requested"
    if level == BWRAP and why_not:
        raise SandboxUnavailable(f"the bwrap sandbox is required but unavailable: {why_not}")
    if not why_not:
        argv, uid, notes = bwrap_argv(slot, tmpfs_mb)
        inner = [sys.executable, "-I", "-B", SANDBOX_WORKER, "--zygote", "--scratch", SANDBOX_SCRATCH,
                 "--kill-all"]
        if uid is not None:
            inner += ["--uid", str(uid), "--gid", str(uid)]
        env = _worker_env("/tmp", SANDBOX_SCRATCH)
        flat = [a for k, v in env.items() for a in ("--setenv", k, v)]
        return Launch(argv + flat + ["--"] + inner, {}, BWRAP, None, uid, notes)

    scratch = tempfile.mkdtemp(prefix="grader-scratch-")
    uid = FIRST_UID + slot if os.geteuid() == 0 else None
    if uid is not None:
        os.chown(scratch, uid, uid)
    os.chmod(scratch, 0o700)
    inner = [sys.executable, "-I", "-B", str(WORKER), "--zygote", "--scratch", scratch]
    if uid is not None:
        # Only this slot's submission runs as this uid, so kill(-1) reaches nothing else.
        inner += ["--uid", str(uid), "--gid", str(uid), "--kill-all"]
    notes = [f"bubblewrap unavailable: {why_not}"] if why_not and level is None else []
    return Launch(inner, _worker_env(scratch, scratch), RLIMITS, scratch, uid, notes)
