"""How the worker is isolated: the command line that starts it, and what that command promises.

This module only *describes* the sandbox (an argv, an environment, an isolation level); it starts
no processes. `grader.runner` is the only module that starts the worker, and tells `VERDICTS`
whether the first bwrap worker came up.

Isolation levels, strongest first:
  "bwrap"    bubblewrap: own mount, PID, network, IPC and UTS namespaces; a read-only view of the
             Python installation with the grader's packages and the assignment's declared private
             ones (its reference answers, its registry) hidden;
             private size-limited tmpfs for scratch and /tmp; clean environment; rlimits; when the
             grader runs as root, the code runs as an unprivileged uid of its own.
  "rlimits"  no namespaces (bubblewrap missing or user namespaces blocked): rlimits, a private
             scratch directory, clean-up of every process of the student uid and of its files in
             the shared temporary directories, a clean environment. Where the kernel has Landlock
             (reported as "rlimits+landlock"), the job can read only the Python installation (minus
             those packages) and a few system files, write only its scratch directory, and
             open no TCP connection. Without Landlock it cannot hide files that are readable by
             everyone (the reference code, if world-readable), cut the network, or bound the disk
             space used outside scratch other than per file; UDP stays open even with Landlock,
             except as root, where the zygote takes a network namespace and a /proc (hidepid) of
             its own (`worker.private_processes_and_network`).

At every level each job runs under a seccomp filter (`worker.KernelFilter`) that denies, with
EPERM, the kernel's shared channels (keyrings, System V IPC, message queues, ptrace, bpf, mounts,
namespaces...), and scratch and /tmp hold at most `tmpfs_inodes` files where the level can cap them
(bwrap; rlimits as root: scratch).

When the grader runs as root, each worker takes two uids that no other worker on this machine is
using at the same time (see `UidLease`): one for the zygote, one for the student code. Everything
that kills "all processes of the student" or counts them (kill(-1), RLIMIT_NPROC) relies on that
uid belonging to exactly one running submission.
"""
from __future__ import annotations

import errno
import fcntl
import importlib.util
import os
import re
import stat
import shutil
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

BWRAP = "bwrap"
RLIMITS = "rlimits"
LEVELS = (BWRAP, RLIMITS)

WORKER = Path(__file__).with_name("worker.py")
SANDBOX_WORKER = "/opt/grader-worker/worker.py"
# The modules the worker loads from beside itself (jobwire.py says why): the job protocol, and how
# student code runs (studentshell.py).
JOBWIRE = Path(__file__).with_name("jobwire.py")
SANDBOX_JOBWIRE = "/opt/grader-worker/jobwire.py"
STUDENTSHELL = Path(__file__).with_name("studentshell.py")
SANDBOX_STUDENTSHELL = "/opt/grader-worker/studentshell.py"
SANDBOX_SCRATCH = "/scratch"
# How the worker's interpreter starts. Not `-I`: that implies -E, which ignores every PYTHON*
# variable, PYTHONHASHSEED=0 of `_worker_env` included, and then each worker salted its string
# hashes afresh: a set a student printed or iterated into an answer came out in another order in
# each worker and run (a regrade showing a change no one made). The environment is the grader's
# own anyway (bubblewrap's --clearenv, or exactly `_worker_env` at the rlimits level), so honouring
# it lets nothing in. The rest of -I stays: -s (no user site-packages) and, where Python has it
# (3.11+), -P (the script's folder not on sys.path; on 3.10 the worker removes it itself before
# any student code runs). -B: no bytecode written.
WORKER_PYTHON_FLAGS = ["-s", "-B"] + (["-P"] if sys.version_info >= (3, 11) else [])
# Student code of worker number i runs as FIRST_UID + i, its zygote as ZYGOTE_UID_OFFSET above
# that. These uids need no passwd entry.
FIRST_UID = 61000
ZYGOTE_UID_OFFSET = 1000
MAX_LEASES = 100
# With the rlimits fallback the student uid can write to these host directories; its entries there
# are removed after every job.
SHARED_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
MQUEUE = "/dev/mqueue"
SCRATCH_PREFIX = "grader-scratch-"
# The engine's own package, never readable from the sandbox. An assignment's packages (its reference
# answers, its registry) are hidden because the assignment declares them (`PRIVATE_PACKAGES` in its
# registry, see grader.config.Config.private_packages), and passed to `launch`.
ENGINE_PACKAGES = ("grader",)
PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG")


class SandboxUnavailable(RuntimeError):
    """The isolation level that was required cannot be had on this machine."""


class UidLease:
    """The exclusive use of one student uid (and its zygote uid) on this machine, while held.

    Two graders on one machine (two test runs, a batch and a self-check) would otherwise give
    their first workers the same uid, and then one submission's kill(-1) or fork bomb would reach
    the other's processes. A lease is an flock on a file in a root-only directory; the kernel
    drops it when the holder exits, however it exits.
    """

    def __init__(self, index: int, fd: int):
        self.index = index
        self.uid = FIRST_UID + index
        self.zygote_uid = self.uid + ZYGOTE_UID_OFFSET
        self._fd: int | None = fd

    @classmethod
    def claim(cls, preferred: int = 0) -> "UidLease":
        directory = _lease_dir()
        for step in range(MAX_LEASES):
            index = (preferred + step) % MAX_LEASES
            fd = os.open(os.path.join(directory, f"{index}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    continue
                raise
            return cls(index, fd)
        raise SandboxUnavailable(f"all {MAX_LEASES} sandbox uids of this machine are in use")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _lease_dir() -> str:
    """A directory only root can write to, shared by every grader on this machine."""
    directory = os.path.join(tempfile.gettempdir(), "hw3-grader-uids")
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxUnavailable(f"{directory} is not a private directory of this user; remove it")
    return directory


# matplotlib's list of the machine's fonts, made once by the grader (trusted, outside any sandbox)
# and handed to each zygote read-only: a zygote that imports matplotlib otherwise rebuilds it
# from the font files (~0.1 s of CPU, ~0.6 s of wall time a worker). Kept in a folder of the
# grader's uid only, one entry per Python, matplotlib and font folders (`_font_key`).
FONT_CACHE_PREFIX = "hw3-grader-fonts-"
FONT_LIST_NAME = re.compile(r"fontlist-v[0-9A-Za-z.]+\.json")
FONT_BUILD_PREFIX = ".build-"       # a build's own folder, renamed to the list's key when done
FONT_BUILD_SECONDS = 300            # longest a build may run (then it is given up)
FONT_LIST_BYTES = 8 * 2**20
FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "/etc/fonts")
_BUILD_FONT_LIST = "import matplotlib.font_manager"


def font_cache_root() -> str:
    """The grader's own folder for the font list (tests point it elsewhere)."""
    return os.path.join(tempfile.gettempdir(), f"{FONT_CACHE_PREFIX}{os.geteuid()}")


def _font_key() -> str | None:
    """What the font list depends on: this Python, matplotlib's own files and the font folders
    (their times change when fonts are installed); None without matplotlib."""
    import hashlib

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.origin:
        return None
    parts = [os.path.realpath(sys.executable), os.path.realpath(spec.origin)]
    for path in [os.path.join(os.path.dirname(spec.origin), "font_manager.py"), *FONT_FOLDERS]:
        try:
            info = os.stat(path)
            parts.append(f"{path}:{info.st_mtime_ns}:{info.st_size}")
        except OSError:
            parts.append(f"{path}:-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _private_folder(path: str) -> bool:
    """A folder of this uid that no one else may write to (or read: nothing else needs to)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def _cached_font_list(folder: str) -> str | None:
    try:
        names = [n for n in os.listdir(folder) if FONT_LIST_NAME.fullmatch(n)]
    except OSError:
        return None
    if len(names) != 1:
        return None
    path = os.path.join(folder, names[0])
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or not 0 < info.st_size <= FONT_LIST_BYTES:
        return None
    return path


def font_list(make: bool = False) -> str | None:
    """The path of matplotlib's font list for the workers, or None: they then make their own, as
    a zygote always did.

    The list made already on this machine is found by a few `stat`s. With `make`, a missing one is
    made now, by a fresh `python -I` of the grader's own (never by a worker), ~0.5 s of CPU: five
    zygotes' worth of what it saves, so only a session of several workers (a batch) asks for it;
    a single grade (Gradescope's run, in a fresh machine each time; `grader grade`) only looks.
    """
    key = _font_key()
    if key is None:
        return None
    root = font_cache_root()
    folder = os.path.join(root, key)
    if _private_folder(root) and _private_folder(folder):
        found = _cached_font_list(folder)
        if found is not None:
            return found
    return _make_font_list(key) if make else None


def _remove_abandoned_builds(root: str) -> None:
    """Remove the build folders of graders killed while they built (a build removes its own folder
    however it ends, short of SIGKILL): those older than any build can last, so never one that
    another grader is still building in."""
    deadline = time.time() - 2 * FONT_BUILD_SECONDS
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        path = os.path.join(root, name)
        try:
            if name.startswith(FONT_BUILD_PREFIX) and os.lstat(path).st_mtime < deadline:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _make_font_list(key: str) -> str | None:
    root = font_cache_root()
    try:
        os.mkdir(root, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    if not _private_folder(root):
        return None
    folder = os.path.join(root, key)
    if _private_folder(folder):
        found = _cached_font_list(folder)
        if found is not None:
            return found
        shutil.rmtree(folder, ignore_errors=True)
    import subprocess

    _remove_abandoned_builds(root)
    work = tempfile.mkdtemp(prefix=FONT_BUILD_PREFIX, dir=root)
    try:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "MPLCONFIGDIR": work, "LC_ALL": "C.UTF-8"}
        done = subprocess.run([sys.executable, "-I", "-c", _BUILD_FONT_LIST], env=env, cwd=work,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=FONT_BUILD_SECONDS, check=False)
        if done.returncode != 0 or _cached_font_list(work) is None:
            return None
        for name in os.listdir(work):
            if not FONT_LIST_NAME.fullmatch(name):
                shutil.rmtree(os.path.join(work, name), ignore_errors=True)
        try:
            os.rename(work, folder)           # another grader may have made it meanwhile: theirs stands
        except OSError:
            pass
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _cached_font_list(folder) if _private_folder(folder) else None


@dataclass(frozen=True)
class Launch:
    """Everything `runner` needs to start one worker: argv, environment, and what it promises."""

    argv: list[str]
    env: dict[str, str]
    level: str
    scratch: str | None = None       # host directory to remove afterwards (rlimits level only)
    uid: int | None = None           # the student uid (None: the grader's own, when not root)
    notes: list[str] = field(default_factory=list)
    lease: UidLease | None = None
    bwrap: str = ""                  # the bubblewrap binary (bwrap level), whose verdict a start decides
    tmpfs_mb: int = 0

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()


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


def _hidden_dirs(private: Sequence[str] = ()) -> list[str]:
    """Where the engine's packages and the assignment's `private` ones live on this machine."""
    dirs = []
    for name in dict.fromkeys((*ENGINE_PACKAGES, *private)):
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
    made: set[str] = {"/", "/tmp"}
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


# Read-only at the rlimits level (with Landlock), besides the Python installation.
LANDLOCK_READ = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/proc", "/sys/devices/system/cpu",
                 "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd",
                 "/etc/group", "/etc/nsswitch.conf")
LANDLOCK_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def _landlock_args(scratch: str, private: Sequence[str] = ()) -> list[str]:
    """What a job may touch at the rlimits level, for the worker's Landlock ruleset (if the kernel
    has Landlock; the worker reports whether it could apply it)."""
    args = []
    for path in list(_python_roots()) + [p for p in LANDLOCK_READ if os.path.exists(p)]:
        args += ["--landlock-read", path]
    for path in LANDLOCK_FILES:
        if os.path.exists(path):
            args += ["--landlock-file", path]
    for path in _hidden_dirs(private):
        args += ["--landlock-hide", path]
    return args + ["--landlock-write", scratch]


def own_tmpfs_possible(bwrap: str) -> bool:
    """Whether the zygote may mount its own tmpfs (with an inode cap) in the sandbox: as an ordinary
    user with a bubblewrap that is not setuid (which refuses --cap-add), it is given CAP_SYS_ADMIN
    in its user namespace, mounts them, and drops every capability before warming up."""
    try:
        return os.geteuid() != 0 and not os.stat(bwrap).st_mode & stat.S_ISUID
    except OSError:
        return False


def bwrap_argv(bwrap: str, tmpfs_mb: int, private: Sequence[str] = (),
               fonts: str | None = None) -> tuple[list[str], list[str]]:
    """The bubblewrap command line (up to the "--" before the inner command), and notes; the
    assignment's `private` packages are hidden like the engine's; `fonts` (the grader's font list,
    `font_list`) is bound read-only beside the worker."""
    running_as_root = os.geteuid() == 0
    args = [bwrap]
    if running_as_root:
        # A user namespace made by root maps only root; instead the worker drops to its own uids.
        args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        args += ["--unshare-all"]
    args += ["--die-with-parent", "--new-session"]
    if not running_as_root:
        args += ["--cap-drop", "ALL"] + (["--cap-add", "CAP_SYS_ADMIN"] if own_tmpfs_possible(bwrap) else [])
    # As root the zygote keeps only CAP_SETUID/CAP_SETGID after warming up, and each job child
    # drops every capability before any student code exists (see worker.become_student).
    args += _system_args()
    # The private /tmp first: a Python installation under /tmp (a CI checkout's venv) is then
    # bound on top of it, instead of being hidden under it.
    size = str(tmpfs_mb * 2**20)
    # The sandbox's POSIX message queues, listed read-only at /dev/mqueue: the kernel filter denies
    # mq_open, and the clean-up after each job removes any queue there is (a second wall).
    args += ["--proc", "/proc", "--dev", "/dev", "--mqueue", MQUEUE, "--remount-ro", MQUEUE,
             "--size", size, "--perms", "1777", "--tmpfs", "/tmp",
             "--size", size, "--perms", "0700", "--tmpfs", SANDBOX_SCRATCH]
    roots = _python_roots()
    args += _bind_path_args(roots)
    notes = []
    for hidden in _hidden_dirs(private):
        if any(hidden == r or hidden.startswith(r + "/") for r in roots + ["/usr"]):
            args += ["--tmpfs", hidden, "--remount-ro", hidden]
            notes.append(f"hidden: {hidden}")
    args += ["--dir", os.path.dirname(SANDBOX_WORKER),
             "--ro-bind", str(WORKER), SANDBOX_WORKER, "--ro-bind", str(JOBWIRE), SANDBOX_JOBWIRE,
             "--ro-bind", str(STUDENTSHELL), SANDBOX_STUDENTSHELL]
    if fonts is not None:
        args += ["--ro-bind", fonts, sandbox_font_list(fonts)]
    # bubblewrap's own root and /dev are tmpfs mounts without a size limit; when the grader is not
    # root they belong to its uid, which is the student's: read-only, so that only the size- and
    # inode-limited scratch and /tmp are writable (and emptied after every job).
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/", "--clearenv"]
    return args, notes


class BwrapVerdicts:
    """Whether bubblewrap can start the worker on this machine, as learnt from starting one.

    There is no separate probe (a probe is one more interpreter start before the first
    submission): the first bwrap worker is the test. Whether it came up ready or not is a fact
    about this machine and this process, recorded here once: a failure before any bwrap worker
    ever came up means "bwrap does not work here" (fall back, or refuse when bwrap is required);
    a failure after one did is an error, never a reason to weaken the sandbox, so nothing a
    submission does can downgrade the isolation of the ones after it.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def known(self, bwrap: str, tmpfs_mb: int) -> str | None:
        """"" when a bwrap worker has started here, why not when one could not, None when untried."""
        with self._lock:
            return self._known.get((bwrap, tmpfs_mb))

    def record(self, bwrap: str, tmpfs_mb: int, why_not: str) -> bool:
        """Record the outcome of a start; False (and nothing recorded) when it was known already."""
        with self._lock:
            if (bwrap, tmpfs_mb) in self._known:
                return False
            self._known[(bwrap, tmpfs_mb)] = why_not
            return True


VERDICTS = BwrapVerdicts()


def bwrap_why_not(tmpfs_mb: int = 64) -> str:
    """"" when bubblewrap is installed and not known to fail here, else why it cannot be used."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    return VERDICTS.known(bwrap, tmpfs_mb) or ""


PR_SET_DUMPABLE = 4


def keep_to_itself() -> None:
    """A grader that is not root makes itself non-dumpable before any job exists.

    Its jobs then run as its own uid, and where no PID namespace and no Landlock stand between
    them (the plain rlimits level) a job read /proc/<grader>/environ (the secret the hidden inputs
    are made from), /proc/<grader>/mem (the hidden cases' expected values) and its open files: a
    process's /proc files are its uid's only while it is dumpable. A grader running as root needs
    none of this (its jobs have uids of their own) and keeps its core dumps."""
    if os.geteuid() == 0 or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def sandbox_font_list(fonts: str) -> str:
    """Where the bwrap sandbox shows the grader's font list: beside the worker, read-only."""
    return os.path.join(os.path.dirname(SANDBOX_WORKER), os.path.basename(fonts))


def launch(slot: int, level: str | None, tmpfs_mb: int = 64, tmpfs_inodes: int = 0,
           private: Sequence[str] = (), fonts: str | None = None) -> Launch:
    """Describe how to start worker number `slot` at the strongest isolation level available.

    `level=None` means "the best there is"; naming a level makes it a requirement. `private` names
    the assignment's packages to hide besides the engine's; `fonts`, the grader's font list
    (`font_list`), is handed to the zygote read-only where no job can write it. As root, the
    returned Launch holds a `UidLease` that the caller releases (`Launch.release`) when the worker
    is gone. `tmpfs_inodes`
    caps the files in scratch and /tmp where this level can (bwrap as root: the zygote remounts its
    tmpfs; rlimits as root: the zygote mounts a private tmpfs on scratch).
    """
    if level not in (None, BWRAP, RLIMITS):
        raise ValueError(f"unknown isolation level {level!r}; choose one of {LEVELS}")
    why_not = bwrap_why_not(tmpfs_mb) if level in (None, BWRAP) else "not requested"
    if level == BWRAP and why_not:
        raise SandboxUnavailable(f"the bwrap sandbox is required but unavailable: {why_not}")
    keep_to_itself()
    lease = UidLease.claim(slot) if os.geteuid() == 0 else None
    uid_args = ["--uid", str(lease.uid), "--zygote-uid", str(lease.zygote_uid)] if lease else []
    uid = lease.uid if lease else None
    if tmpfs_inodes and lease is not None:
        uid_args += ["--tmpfs-inodes", str(tmpfs_inodes)]
    if not why_not:
        # Jobs never see the grader's folders here: only this read-only copy of the font list.
        argv, _ = bwrap_argv(shutil.which("bwrap") or "bwrap", tmpfs_mb, private, fonts)
        inner = [sys.executable, *WORKER_PYTHON_FLAGS, SANDBOX_WORKER, "--zygote", "--scratch", SANDBOX_SCRATCH,
                 "--tmp", "/tmp"] + uid_args
        if fonts is not None:
            inner += ["--fontlist", sandbox_font_list(fonts)]
        if lease is None:
            inner.append("--kill-all")     # alone in its PID namespace
            if tmpfs_inodes and own_tmpfs_possible(argv[0]):
                inner += ["--tmpfs-inodes", str(tmpfs_inodes), "--own-tmpfs-mb", str(tmpfs_mb)]
        env = _worker_env("/tmp", SANDBOX_SCRATCH)
        flat = [a for k, v in env.items() for a in ("--setenv", k, v)]
        return Launch(argv + flat + ["--"] + inner, {}, BWRAP, None, uid, [], lease, argv[0], tmpfs_mb)

    # The scratch directory sits in a root-owned one, so the student can empty it but not remove,
    # rename or replace it for the next job.
    holder = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
    os.chmod(holder, 0o711)
    scratch = os.path.join(holder, "work")
    os.mkdir(scratch, 0o700)
    inner = [sys.executable, *WORKER_PYTHON_FLAGS, str(WORKER), "--zygote", "--scratch", scratch] + uid_args
    if tmpfs_inodes and lease is not None:
        # The shared temporary directories get a capped tmpfs of the zygote's own too; what the
        # jobs read beneath them (an installation in a checkout under /tmp) is bound back.
        inner += ["--private-scratch-mb", str(tmpfs_mb)]
        inner += [arg for path in _python_roots() + [str(WORKER.parent)] for arg in ("--keep", path)]
    inner += _landlock_args(scratch, private)
    if lease is not None:
        # Only with a uid of its own may the clean-up touch shared directories: it removes the
        # student uid's entries there, which belong to this worker alone.
        inner += [arg for d in SHARED_TMP_DIRS if os.path.isdir(d) for arg in ("--tmp", d)]
        # The font list too: its folder is root's alone, read by the zygote before it drops root.
        # (A grader that is not root shares its uid with the jobs here: they could write it.)
        if fonts is not None:
            inner += ["--fontlist", fonts]
    notes = [f"bubblewrap unavailable ({why_not}); ran with rlimits only"] if why_not and level is None else []
    if lease is not None and not all(_others_can_traverse(root) for root in _python_roots()):
        notes.append("the Python installation is not readable by the student uid here; "
                     "only preloaded modules (numpy and common standard ones) can be imported")
    return Launch(inner, _worker_env(scratch, scratch), RLIMITS, holder, uid, notes, lease)


def _others_can_traverse(path: str) -> bool:
    """Whether a uid with no special rights can reach `path` (every ancestor has o+x)."""
    path = os.path.realpath(path)
    while True:
        try:
            if not os.stat(path).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)
