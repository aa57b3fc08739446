"""The untrusted side: runs inside the sandbox, executes a submission and calls what it defines.

This file is started as a standalone script (``python -s -B -P worker.py --zygote``) by `grader.runner`,
inside the sandbox that `grader.sandbox` describes. It imports nothing from the grader: it must not
be able to reach anything that knows an expected value, and it never decides whether an answer is
right. It only reports what the submission did and returned, as plain data (JSON lines; arrays as
base64 of little-endian float64 with their shape).

Why a "zygote": starting Python and importing numpy and IPython costs ~0.6 s, executing a small
notebook a few milliseconds. The zygote pays the start-up once, then forks a fresh child per job,
so every submission starts from the same clean, warm state at the cost of a fork.

Who runs as whom (when the grader runs as root): the zygote drops to a uid of its own and keeps
only the capabilities to change uid; every job child, and every process it starts, runs as a
second, separate *student* uid with no capabilities at all. So student code cannot signal, trace
or `prlimit` the zygote that the next submission will be forked from, and "every process of the
student uid" is exactly "every process this submission started": after each job the zygote takes
the student uid as its effective uid (`_as_student`), kills them all with kill(-1), empties the
scratch directories, and is itself again before it says the job is clean.

Protocol: one JSON object per line, every message built and recognised by `jobwire.py`, the one
other file of the grader this script loads (from beside itself, before any student code exists).
The child writes its events straight to the grader; anything it writes there is its own claim
about its own answers, which the grader checks like any other returned value. The grader trusts
no line for the life cycle of a job except "clean" carrying the token it chose after the child
was forked (so the child cannot know it); the zygote starts each of its own lines on a fresh
line, so a half line left by a killed child cannot swallow it.
"""
from __future__ import annotations

import base64
import contextlib
import ctypes
import errno
import fcntl
import os
import re
import resource
import select
import signal
import stat
import sys
import time
import traceback
from typing import Callable


def _load_beside(stem: str):
    """A module beside this file (`jobwire`, then `studentshell`, which uses it), loaded by path:
    the worker starts with `-P` (`sandbox.WORKER_PYTHON_FLAGS`; on Python 3.10, `main` takes this
    directory off sys.path before any student code runs), and nothing else of the grader may become
    importable from here."""
    import importlib.util

    name = f"_grader_{stem}"
    if name not in sys.modules:
        path = os.path.join(os.path.dirname(os.path.realpath(__file__)), f"{stem}.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


if __package__:
    from . import jobwire, studentshell     # imported as grader.worker (tests, tools)
else:
    jobwire = _load_beside("jobwire")       # the standalone script, in the sandbox or at the rlimits level
    studentshell = _load_beside("studentshell")
Ev, Op, RunStatus = jobwire.Ev, jobwire.Op, jobwire.RunStatus
Timeout, Shell = studentshell.Timeout, studentshell.Shell
run_cell, run_module = studentshell.run_cell, studentshell.run_module

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
CAP_SETGID = 6
CAP_SETUID = 7
_CAPABILITY_VERSION_3 = 0x20080522

# Standard modules a homework may import, loaded once in the zygote: every job gets them for free,
# and they work even where the student uid cannot read the Python installation (rlimits level
# with Python under /root).
PRELOAD = ("math", "cmath", "random", "itertools", "functools", "collections", "fractions", "decimal",
           "statistics", "typing", "dataclasses", "copy", "time", "datetime", "string", "textwrap",
           "pprint", "warnings", "socket", "encodings.idna", "numpy.linalg", "numpy.random", "numpy.testing")
MAX_ELEMENTS = jobwire.MAX_ELEMENTS
ANSWER_BYTES = jobwire.ANSWER_BYTES
CASES_PREFIX = jobwire.CASES_PREFIX
MAX_TEXT = jobwire.MAX_TEXT   # characters of any error message the child reports
MAX_FIGURES = 8               # the most plots kept per submission (Limits.figures; PNG, for a person)
MAX_FIGURE_BYTES = 120_000    # a larger PNG is counted, not kept
FIGURE_DPI = 50
MAX_FIGURE_PIXELS = 2_000_000  # a figure larger than this at FIGURE_DPI is counted, not drawn
CLEAN_SECONDS = 10.0          # longest a job's clean-up may take before the zygote gives up on itself
EXIT_UNCLEAN = 75             # the zygote exits with this when it cannot guarantee a clean next job

_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def _prctl(option: int, arg: int) -> None:
    _libc().prctl(option, arg, 0, 0, 0)


_short = jobwire.short      # one way to cut a message, on both sides of the sandbox


class Channel:
    """Writes event lines to the grader on a file descriptor nobody else is meant to use.

    The job child shares this pipe with the zygote. It can change the pipe's flags (make it
    non-blocking, for instance), so writing copes with EAGAIN, and the zygote resets the flags
    before each job so that one job's tampering cannot break the next job's writes.

    A line may be held (`hold=True`) to go out with the next one in a single write: a case's answer
    waits for the next case's start or the batch's end, both written before the next student call,
    so each case costs one write (and one wake-up of the grader) instead of two. Only a thread the
    submission left running can end the process in between: then the case whose answer was held
    is charged as crashed, as the next one would have been (tests/hostile/test_hostile_dos.py).
    """

    def __init__(self, fd: int):
        self.fd = fd
        self.held = b""

    def emit(self, ev: "jobwire.Ev", job, fresh_line: bool = False, hold: bool = False, **fields) -> None:
        """Send one event of the protocol (see jobwire.event)."""
        self.write(jobwire.event_line(jobwire.event(ev, job, **fields), fresh_line), hold)

    def send(self, fresh_line: bool = False, hold: bool = False, **event) -> None:
        """Send an event given as its fields, "ev" included."""
        self.write(jobwire.event_line(event, fresh_line), hold)

    def write(self, data: bytes, hold: bool = False) -> None:
        if hold:
            self.held += data
            return
        view = memoryview(self.held + data if self.held else data)
        self.held = b""
        while view:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                select.select([], [self.fd], [], 1.0)
                continue
            except InterruptedError:
                continue
            view = view[written:]

    def reset(self) -> None:
        """Plain blocking writes again, no signal-driven I/O, whatever the last job set."""
        try:
            fcntl.fcntl(self.fd, fcntl.F_SETFL, 0)
        except OSError:
            pass


# ----------------------------------------------------------------------------------------------
# Identities: the zygote's and the student's


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _set_capabilities(mask: int) -> None:
    """Make `mask` the effective and permitted capability sets (and nothing inheritable)."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for word in (0, 1):
        part = (mask >> (32 * word)) & 0xFFFFFFFF
        data[word].effective = data[word].permitted = part
    if _libc().capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset failed: {os.strerror(err)}")


def _drop_bounding_set(keep: set[int]) -> None:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            last = int(fh.read())
    except (OSError, ValueError):
        last = 40
    for cap in range(last + 1):
        if cap not in keep:
            _prctl(PR_CAPBSET_DROP, cap)


def become_zygote(uid: int, gid: int) -> None:
    """From root to `uid`, keeping only the capabilities to set the student's uid in each child."""
    keep = {CAP_SETUID, CAP_SETGID}
    _drop_bounding_set(keep)
    _prctl(PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _set_capabilities(sum(1 << c for c in keep))
    _prctl(PR_SET_KEEPCAPS, 0)
    if os.getresuid() != (uid, uid, uid):
        raise SystemExit("the zygote could not change its uid")


def become_student(uid: int, gid: int, groups: tuple[int, ...] = ()) -> None:
    """Take the student uid for good: no capabilities, checked; no supplementary groups but
    `groups` (only the clean-up is given one: the group that sees every process, see
    `private_processes_and_network`)."""
    os.setgroups(list(groups))
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _set_capabilities(0)
    status = _proc_status("self")
    wanted = f"{uid}\t{uid}\t{uid}\t{uid}"
    caps_zero = all(int(status.get(k, "1"), 16) == 0 for k in ("CapPrm", "CapEff", "CapAmb"))
    if not status.get("Uid", "").startswith(wanted) or not caps_zero:
        raise RuntimeError("could not drop to the student uid")


def _proc_status(pid: str) -> dict[str, str]:
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    except OSError:
        pass
    return fields


# ----------------------------------------------------------------------------------------------
# Landlock: what a job may touch, where there are no namespaces


class Landlock:
    """A Landlock ruleset (Linux 5.13+, unprivileged): the kernel confines a job, and everything it
    starts, to reading the Python installation (minus the grader's own packages) and a few system
    files, writing only its scratch directory, and (ABI 4+) no TCP connect or bind; (ABI 6+) no
    signals or abstract Unix sockets outside itself. Used at the rlimits level, where there is no
    mount or network namespace; the ruleset is built once, as root (paths under /root are
    reachable only then), and each job child enforces it on itself before any student code runs.
    """

    SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
    EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
    DIR_WRITES = sum(1 << bit for bit in range(4, 13))        # remove, make dir/file/sock/fifo/...
    REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
    NET_ALL = (1 << 0) | (1 << 1)                             # TCP bind and connect
    SCOPE_ALL = (1 << 0) | (1 << 1)                           # abstract unix sockets, signals

    def __init__(self, read: list[str], write: list[str], files: list[str], hide: list[str]):
        self.read, self.write, self.files = read, write, files
        self.hide = [os.path.realpath(h) for h in hide]
        self.fd: int | None = None
        self.abi = self._abi()

    @classmethod
    def _numbers(cls) -> tuple[int, int, int] | None:
        return cls.SYSCALLS.get(os.uname().machine)

    @classmethod
    def _abi(cls) -> int:
        numbers = cls._numbers()
        if numbers is None:
            return 0
        version = _libc().syscall(numbers[0], None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        return max(0, version)

    def _fs_rights(self) -> int:
        rights = self.EXECUTE | self.WRITE_FILE | self.READ_FILE | self.READ_DIR | self.DIR_WRITES
        if self.abi >= 2:
            rights |= self.REFER
        if self.abi >= 3:
            rights |= self.TRUNCATE
        if self.abi >= 5:
            rights |= self.IOCTL_DEV
        return rights

    def build(self) -> bool:
        """Create the ruleset (before dropping privileges). False where Landlock is unavailable."""
        numbers = self._numbers()
        if not self.abi or numbers is None:
            return False

        class Attr(ctypes.Structure):
            _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

        attr = Attr(self._fs_rights(), self.NET_ALL if self.abi >= 4 else 0, self.SCOPE_ALL if self.abi >= 6 else 0)
        size = 8 if self.abi < 4 else 16 if self.abi < 6 else 24
        fd = _libc().syscall(numbers[0], ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        if fd < 0:
            return False
        self.fd = fd
        read = self.EXECUTE | self.READ_FILE | self.READ_DIR
        for path in self.read:
            self._allow_except_hidden(path, read)
        for path in self.files:
            self._allow(path, self.READ_FILE | self.WRITE_FILE | (self.TRUNCATE if self.abi >= 3 else 0))
        for path in self.write:
            self._allow(path, self._fs_rights())
        return True

    def _allow_except_hidden(self, path: str, rights: int) -> None:
        """Allow `rights` beneath `path`, except beneath the hidden packages (whose names may be
        listed, but whose files cannot be read)."""
        real = os.path.realpath(path)
        if any(real == h for h in self.hide):
            return
        if not any(h.startswith(real.rstrip("/") + "/") for h in self.hide):
            self._allow(path, rights)
            return
        self._allow(path, self.READ_DIR)
        try:
            names = os.listdir(real)
        except OSError:
            return
        for name in names:
            self._allow_except_hidden(os.path.join(real, name), rights)

    def _allow(self, path: str, rights: int) -> None:
        class PathBeneath(ctypes.Structure):
            _pack_ = 1
            _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                rights &= self.EXECUTE | self.WRITE_FILE | self.READ_FILE | self.TRUNCATE | self.IOCTL_DEV
            rule = PathBeneath(rights, fd)
            _libc().syscall(self._numbers()[1], ctypes.c_int(self.fd), ctypes.c_int(1), ctypes.byref(rule),
                            ctypes.c_uint32(0))
        finally:
            os.close(fd)

    def enforce(self) -> None:
        """In a job child, before student code: from now on only the ruleset's paths exist."""
        if self.fd is None:
            return
        if _libc().syscall(self._numbers()[2], ctypes.c_int(self.fd), ctypes.c_uint32(0)) != 0:
            raise RuntimeError(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
        os.close(self.fd)
        self.fd = None


# ----------------------------------------------------------------------------------------------
# Seccomp: the kernel's shared channels, closed at every isolation level


class KernelFilter:
    """A seccomp filter that makes the system calls numerical homework never needs fail with EPERM.

    Modelled on Docker's default profile. Namespaces do not cover everything the kernel shares:
    keyrings belong to a uid (and outlive its processes; uids are reused from job to job), System
    V IPC and POSIX message queues are shared by everyone at the rlimits levels and by every job
    of one zygote at the bwrap level, and a grader that is not root shares its uid (hence ptrace,
    its keyring) with the student. Rather than listing leftovers after each job, the calls that
    make these channels fail: keyrings, System V IPC, POSIX message queues, ptrace and cross-
    process memory access, memory no address-space limit counts (memfd_create), locks and watches
    on the files every sandbox shares (flock, fcntl's locks, leases and notices, inotify), bpf, perf_event_open, userfaultfd, io_uring, sockets to a virtual
    machine's host (AF_VSOCK, which no network namespace covers), the mount API, namespaces
    (unshare, setns, clone with a CLONE_NEW* flag), a new session (`setsid`: with the scheduler's
    autogroups, the CPU is shared fairly between sessions, so each job's processes together get
    one session's share), and the machine's administration (modules, kexec, reboot, swap,
    accounting, quotas, clocks, syslog, file handles, personality).

    The default action is ALLOW (a deny list, not Docker's allow list): numpy, scipy, matplotlib,
    IPython and threads use many calls, new kernels and libcs add more, and a call that fails
    where the homework needed it would be a wrong grade; the calls denied here are the ones that
    reach outside the process. clone3 fails with ENOSYS (its flags are in memory, which a filter
    cannot read), so that the C library falls back to clone, whose flags it can. System calls of
    another ABI (i386 `int 0x80`, x32) fail with EPERM as well.

    Built once with libseccomp (PyPI `pyseccomp`, a ctypes wrapper of libseccomp.so.2) in the
    zygote, kept as the BPF program libseccomp generated; each job child hands that program to the
    kernel (one prctl) after dropping its uid and before any student code exists. Its children
    inherit it, and no process can remove it.
    """

    DENIED = (
        # kernel keyrings: per uid, not namespaced, outlive the job
        "keyctl", "add_key", "request_key",
        # System V IPC and POSIX message queues
        "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
        "msgget", "msgsnd", "msgrcv", "msgctl", "ipc",
        "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
        # other processes' memory, tracing, kernel programs and counters
        "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
        "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "lookup_dcookie", "fanotify_init", "move_pages", "migrate_pages",
        # memory that RLIMIT_AS does not count: a memfd written with write() and never mapped holds
        # its pages in the kernel (up to RLIMIT_FSIZE each, one per descriptor: 2 GB a process by
        # default); secret memory is unmapped from the kernel itself. Scratch and /tmp are sized
        # tmpfs mounts instead; libffi, which may try a memfd for closures, falls back to them.
        "memfd_create", "memfd_secret",
        # marks on a file that every sandbox shares as the same inode (the Python installation is
        # bound read-only into each): a lock or a watch belongs to the inode, not to a mount or a
        # namespace, so a job could signal another student's job graded at the same time, bit by
        # bit (which files are locked, which are opened). fcntl's locks, leases and F_NOTIFY: below.
        "flock", "inotify_init", "inotify_init1", "inotify_add_watch",
        # a session of its own: the kernel's scheduler gives each session (autogroup) an equal share
        # of the CPU, so a job whose processes each took one would starve another student's job
        # graded at the same time (the job child is made a session leader before the filter)
        "setsid",
        # mounts and namespaces
        "mount", "umount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig",
        "fsmount", "fspick", "mount_setattr", "unshare", "setns",
        # the machine itself
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
        "query_module", "get_kernel_syms", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
        "name_to_handle_at", "open_by_handle_at", "clock_settime", "clock_adjtime", "settimeofday", "stime",
        "syslog", "personality", "vhangup", "iopl", "ioperm", "nfsservctl", "uselib", "ustat", "sysfs",
        "_sysctl", "vm86", "vm86old",
    )
    CLONE_NEW = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
    TIOCSTI, TIOCLINUX = 0x5412, 0x541C
    # fcntl commands that put a mark on an inode another sandbox sees: record locks (classic and
    # open-file-description ones, and the query, which reads another's), leases, directory notices.
    F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 5, 6, 7, 36, 37, 38
    F_SETLEASE, F_GETLEASE, F_NOTIFY = 1024, 1025, 1026
    FCNTL_MARKS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLEASE, F_GETLEASE,
                   F_NOTIFY)
    AF_VSOCK = 40
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2

    def __init__(self, program: bytes):
        self.program = program
        # The kernel's struct sock_fprog, made here (in the zygote, once) rather than in every job.
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(len(program) // 8, ctypes.cast(self._buffer, ctypes.c_void_p))

    # Signals to a process named by its first argument (a pid, a thread group's id, or -pgid for kill).
    SIGNAL_CALLS = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open")

    @classmethod
    def build(cls, grader: int = 0) -> "KernelFilter":
        """Generate the filter with libseccomp (raises when libseccomp or the kernel lacks it).

        `grader`: the zygote's parent (the grader at the rlimits levels), which no job may signal."""
        import errno

        with _sonames_first():
            import pyseccomp as sc

        deny = sc.ERRNO(errno.EPERM)
        rules = sc.SyscallFilter(sc.ALLOW)
        rules.set_attr(sc.Attr.ACT_BADARCH, deny)
        for name in cls.DENIED:
            cls._add(rules, deny, name)
        cls._add(rules, sc.ERRNO(errno.ENOSYS), "clone3")
        # clone's flags are its first argument on most architectures, its second on s390.
        flags_arg = 1 if sc.system_arch() in (sc.Arch.S390, sc.Arch.S390X) else 0
        for flag in cls.CLONE_NEW:
            cls._add(rules, deny, "clone", sc.Arg(flags_arg, sc.MASKED_EQ, flag, flag))
        # A virtual machine's sockets to its host (AF_VSOCK): no network namespace covers them, so
        # in a VM (Firecracker, Kata, a cloud VM's agents) the host's vsock services would be
        # reachable from a sandbox without network. Docker's default profile refuses them too.
        cls._add(rules, deny, "socket", sc.Arg(0, sc.EQ, cls.AF_VSOCK))
        # Only its own limits: prlimit on another process of the same uid (the grader itself,
        # when it is not root) would change the grader's.
        cls._add(rules, deny, "prlimit64", sc.Arg(0, sc.NE, 0))
        # Typing into a terminal it shares with the grader. The kernel reads the request as 32
        # bits: compare those only, or a request with high bits set would slip past.
        for request in (cls.TIOCSTI, cls.TIOCLINUX):
            cls._add(rules, deny, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
        for command in cls.FCNTL_MARKS:        # an int: the kernel reads 32 bits, as for ioctl
            cls._add(rules, deny, "fcntl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, command))
        cls._signals(rules, deny, grader)
        # A job stays non-dumpable (the zygote's, inherited): its /proc files are then not its
        # own to write, so with a grader that is not root it cannot take oom_score_adj back down
        # from the zygote's 1000 (the kernel lets an unprivileged process lower it to where it was).
        cls._add(rules, deny, "prctl", sc.Arg(0, sc.MASKED_EQ, 0xFFFFFFFF, PR_SET_DUMPABLE))
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            rules.export_bpf(_FileNo(fd))
            size = os.lseek(fd, 0, os.SEEK_END)
            program = os.pread(fd, size, 0)
        finally:
            os.close(fd)
        if not program or len(program) % 8:
            raise RuntimeError("libseccomp produced no filter")
        return cls(program)

    @classmethod
    def _signals(cls, rules, deny: int, grader: int) -> None:
        """No signal to every process at once (kill(-1)), to the grader or its process group, and
        no tkill (a thread's id alone; the C library uses tgkill). A grader that is not root shares
        its uid with the jobs: kill(-1, SIGKILL) or kill(grader, SIGSTOP) stopped the whole class's
        batch where no PID namespace or Landlock's signal scope (Linux 6.12) stands between them.
        A pid_t is 32 bits to the kernel: those are compared."""
        import pyseccomp as sc

        cls._add(rules, deny, "tkill")
        cls._add(rules, deny, "kill", sc.Arg(0, sc.MASKED_EQ, 0xFFFFFFFF, 0xFFFFFFFF))
        if grader <= 1:
            return
        try:
            group = os.getpgid(grader)
        except OSError:
            group = 0
        for name in cls.SIGNAL_CALLS:
            cls._add(rules, deny, name, sc.Arg(0, sc.MASKED_EQ, 0xFFFFFFFF, grader))
        if group > 1:
            cls._add(rules, deny, "kill", sc.Arg(0, sc.MASKED_EQ, 0xFFFFFFFF, -group & 0xFFFFFFFF))

    @staticmethod
    def _add(rules, action: int, name: str, *args) -> None:
        """Add one rule; a call this architecture or this libseccomp does not know is skipped."""
        import pyseccomp as sc

        number = sc.resolve_syscall(sc.Arch.NATIVE, name)
        if number == -1:          # __NR_SCMP_ERROR: a name libseccomp has never heard of
            return
        rules.add_rule(action, number, *args)

    def enforce(self) -> None:
        """In a job child, before student code: from now on the denied calls fail with EPERM."""
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        if _libc().prctl(self.PR_SET_SECCOMP, self.SECCOMP_MODE_FILTER, ctypes.byref(self._fprog), 0, 0) != 0:
            raise RuntimeError(f"the seccomp filter could not be installed: {os.strerror(ctypes.get_errno())}")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _FileNo:
    """What libseccomp's export needs of a file: its descriptor."""

    def __init__(self, fd: int):
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


KEYCTL = {"x86_64": 250, "aarch64": 219}
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR = 1, 7
KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -4, -5


def _keyctl(operation: int, argument) -> int:
    number = KEYCTL.get(os.uname().machine)
    if number is None:
        return -1
    return _libc().syscall(ctypes.c_long(number), ctypes.c_int(operation), argument)


def _join_new_session_keyring() -> None:
    """Where there is no filter: the job gets an empty session keyring of its own, which dies with
    its last process, instead of holding the zygote's (inherited from the grader)."""
    _keyctl(KEYCTL_JOIN_SESSION_KEYRING, None)


def _clear_student_keyrings() -> None:
    """A second wall behind the filter, run by the clean-up as the student uid: the uid's own
    keyrings outlive its processes, and the uid is the next job's too."""
    for keyring in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
        _keyctl(KEYCTL_CLEAR, ctypes.c_int(keyring))


# The libraries pyseccomp looks up by name when it is imported, as their usual sonames.
SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}


@contextlib.contextmanager
def _sonames_first():
    """While pyseccomp is imported, `ctypes.util.find_library` tries the usual soname first.

    pyseccomp finds libc and libseccomp with `find_library`, which on Linux runs `ldconfig -p`
    (and more) in a subprocess each time: ~50 ms of every worker's start-up. The dynamic loader
    finds a library by its soname at once; where it cannot, the real lookup runs as before."""
    import ctypes.util

    original = ctypes.util.find_library

    def find_library(name: str):
        soname = SONAMES.get(name)
        if soname is not None:
            try:
                ctypes.CDLL(soname)
                return soname
            except OSError:
                pass
        return original(name)

    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = original


def _kernel_filter(grader: int = 0) -> tuple[KernelFilter | None, str]:
    """The filter, or why there is none (reported to the grader, which says so in every result)."""
    try:
        return KernelFilter.build(grader), ""
    except Exception as exc:  # noqa: BLE001 - libseccomp missing, too old, or the kernel without seccomp
        return None, _short(f"{type(exc).__name__}: {exc}", 300)


# ----------------------------------------------------------------------------------------------
# Values in and out


# The sandbox's half of the answer kinds, and case arguments, live in the protocol module.
Unconvertible = jobwire.Unconvertible
TooLarge = jobwire.TooLarge
encode_array = jobwire.encode_array
encode_answer = jobwire.encode_answer


# ----------------------------------------------------------------------------------------------
# The child: one job


def _alarm(signum, frame):
    raise Timeout()


def _set_limits(limits: dict) -> None:
    def cap(which, value):
        try:
            soft, hard = resource.getrlimit(which)
            value = int(value)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CORE, 0)
    # No real-time scheduling and no raised priority, whatever the grader was started with (a
    # container's `--ulimit rtprio=`, a unit's LimitRTPRIO=/LimitNICE=): a busy loop at SCHED_FIFO
    # or nice -20 would take a core from the grader and from the student graded beside it.
    cap(resource.RLIMIT_RTPRIO, 0)
    cap(resource.RLIMIT_NICE, 0)
    cap(resource.RLIMIT_CPU, limits.get("cpu_seconds", 300))
    cap(resource.RLIMIT_FSIZE, limits.get("fsize_mb", 16) * 2**20)
    cap(resource.RLIMIT_NOFILE, limits.get("nofile", 64))
    if limits.get("nproc"):
        cap(resource.RLIMIT_NPROC, limits["nproc"])
    if limits.get("memory_mb"):
        # Address space on top of what the warm zygote already maps (numpy, IPython).
        with open("/proc/self/statm") as fh:
            vm_pages = int(fh.read().split()[0])
        base = vm_pages * os.sysconf("SC_PAGE_SIZE")
        cap(resource.RLIMIT_AS, base + limits["memory_mb"] * 2**20)


def _describe(exc: BaseException) -> str:
    """`Type: message` (jobwire.describe); when the error is the sandbox's refusal (EPERM, EROFS), the
    message says so, since "Operation not permitted" alone reads like the student's own bug."""
    text = jobwire.describe(exc)
    if _refused_by_sandbox(exc):
        return _short(text, MAX_TEXT - len(SANDBOX_REFUSED) - 3) + " - " + SANDBOX_REFUSED
    return _short(text)


SANDBOX_REFUSED = ("the grading sandbox does not allow this operation (it blocks what numerical homework never "
                   "needs: kernel keyrings, shared memory and message queues between processes, tracing, "
                   "namespaces and mounts, and anything outside the submission's own files and processes)")


REFUSALS = (errno.EPERM, errno.EROFS)


def _refused_by_sandbox(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from or while handling, is an OSError with
    EPERM: what every call the kernel filter denies returns, and what the sandbox's other walls
    (another uid's processes, files outside scratch) answer too; or with EROFS: the sandbox's
    read-only mounts (a process pool's semaphores in /dev/shm, a file written outside scratch),
    which a student's own machine answers with EACCES or not at all."""
    seen = 0
    current = exc
    try:
        while current is not None and seen < 8:
            if isinstance(current, OSError) and BaseException.__getattribute__(current, "errno") in REFUSALS:
                return True
            current = (BaseException.__getattribute__(current, "__cause__")
                       or BaseException.__getattribute__(current, "__context__"))
            seen += 1
    except BaseException:  # noqa: BLE001 - a hostile exception is simply not recognised
        return False
    return False


class Figures:
    """The plots a notebook draws, as Jupyter's inline backend shows them, kept small for a person.

    After every cell (and at every `plt.show()`), the open figures are rendered to PNG at a low
    resolution and closed, as the inline backend does; the first few are kept in the cell's
    record, the others are only counted, so a loop that draws a hundred figures costs a hundred
    cheap `close`s, not a hundred renderings. Nothing is ever sent anywhere but to the grader.
    Figures are drawn while the notebook's cells run, before any case input exists.
    """

    def __init__(self, keep: int = MAX_FIGURES):
        self.room = keep
        self.bytes_left = MAX_FIGURE_BYTES * keep
        self.cell: list[str] = []
        self.dropped = 0

    def take(self) -> tuple[list[str], int]:
        """The figures of the cell that just ran (base64 PNGs), and how many more were not kept."""
        self.flush()
        kept, dropped = self.cell, self.dropped
        self.cell, self.dropped = [], 0
        return kept, dropped

    def flush(self) -> None:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return
        self.patch(pyplot)
        try:
            from matplotlib._pylab_helpers import Gcf
            managers = list(Gcf.get_all_fig_managers())
        except Timeout:
            raise
        except Exception:  # noqa: BLE001 - the student may have broken matplotlib's internals
            return
        try:
            for manager in managers:
                self._keep(getattr(getattr(manager, "canvas", None), "figure", None))
        finally:
            # Closed even when drawing one ran out of time: it must not hang the next cell too.
            try:
                pyplot.close("all")
            except Timeout:
                raise
            except Exception:  # noqa: BLE001
                pass

    def _keep(self, figure) -> None:
        if figure is None:
            return
        if self.room <= 0:
            self.dropped += 1
            return
        import io

        buffer = io.BytesIO()
        try:
            width, height = (float(v) for v in figure.get_size_inches())
            if not 0 < width * height * FIGURE_DPI ** 2 <= MAX_FIGURE_PIXELS:
                self.dropped += 1      # a poster-sized figure is not worth the time it takes to draw
                return
            figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
        except Timeout:
            raise                      # drawing counts against the cell's (or the case's) time
        except Exception:  # noqa: BLE001 - a figure that cannot be drawn is not kept
            self.dropped += 1
            return
        data = buffer.getvalue()
        if len(data) > min(MAX_FIGURE_BYTES, self.bytes_left):
            self.dropped += 1
            return
        self.room -= 1
        self.bytes_left -= len(data)
        self.cell.append(base64.b64encode(data).decode())

    def patch(self, pyplot) -> None:
        """`plt.show()` keeps and closes the open figures (it never blocks, and a loop that shows a
        figure per step does not pile them up)."""
        _keep_agg(pyplot)
        if getattr(pyplot.show, "_grader_figures", None) is self:
            return

        def show(*args, **kwargs):
            self.flush()
        show._grader_figures = self
        show.__doc__ = getattr(pyplot.show, "__doc__", None)
        pyplot.show = show


def _keep_agg(pyplot) -> None:
    """`matplotlib.use("TkAgg")` or `plt.switch_backend(...)` (written on a desktop) keep Agg: no
    window can open here, and a notebook must not fail for asking for one. Likewise for what only
    changes how plots look: a style this matplotlib no longer knows (`seaborn-whitegrid`, renamed
    in 3.6) is ignored with a warning, and `matplotlib.cm.get_cmap` (removed in 3.9) is pyplot's."""
    matplotlib = sys.modules.get("matplotlib")
    style = getattr(matplotlib, "style", None)
    if style is not None and not getattr(style.use, "_grader_agg", False):
        def use_style(*args, _original=style.use, **kwargs):
            try:
                return _original(*args, **kwargs)
            except (OSError, ValueError, KeyError) as exc:
                import warnings
                warnings.warn(f"plot style not applied: {_short(str(exc), 200)}", stacklevel=2)
        use_style._grader_agg = True
        use_style.__doc__ = getattr(style.use, "__doc__", None)
        style.use = use_style
    cm = sys.modules.get("matplotlib.cm")
    if cm is not None and not hasattr(cm, "get_cmap") and hasattr(pyplot, "get_cmap"):
        cm.get_cmap = pyplot.get_cmap
    for owner, name in ((matplotlib, "use"), (pyplot, "switch_backend")):
        original = getattr(owner, name, None)
        if original is None or getattr(original, "_grader_agg", False):
            continue

        def agg_only(*args, _original=original, **kwargs):
            kwargs.pop("force", None)
            return _original("agg")
        agg_only._grader_agg = True
        agg_only.__doc__ = getattr(original, "__doc__", None)
        setattr(owner, name, agg_only)


def preload_matplotlib(fonts: tuple[str, bytes] | None = None) -> bool:
    """Import matplotlib (Agg) and pyplot once in the zygote, so that every job gets them warm.

    Done on demand (the first program that mentions matplotlib), not at start-up: importing
    pyplot costs ~0.3 s, which a class that plots nothing should not pay. Its font cache goes to
    a directory of the zygote's own outside the job's scratch (which is emptied after each job);
    `fonts` (the grader's font list, `read_font_list`) is put there first, so that matplotlib
    reads it instead of opening every font file of the machine (~0.1 s of CPU, ~0.6 s of wall).
    """
    if "matplotlib.pyplot" in sys.modules:
        return True
    import shutil
    import tempfile

    config_dir = None
    try:
        base = "/tmp" if os.access("/tmp", os.W_OK | os.X_OK) else None
        config_dir = tempfile.mkdtemp(prefix="grader-mpl-", dir=base)
        if fonts is not None:
            with open(os.path.join(config_dir, fonts[0]), "xb") as fh:
                fh.write(fonts[1])
        os.environ["MPLCONFIGDIR"] = config_dir
        import matplotlib
        matplotlib.use("Agg")
        import io
        import matplotlib.pyplot as pyplot
        # One small drawing loads the fonts and the PNG writer once for every job (~30 ms each).
        figure = pyplot.figure(figsize=(1, 1))
        figure.gca().set_title("x")
        figure.savefig(io.BytesIO(), format="png", dpi=FIGURE_DPI)
        pyplot.close("all")
    except Exception:  # noqa: BLE001 - not installed or broken: the job imports it (and fails) itself
        traceback.print_exc()          # the zygote's stderr: the grader shows it if the worker fails
        return False
    finally:
        # matplotlib has read (or written) its font cache and keeps it in memory: the directory
        # and the variable go, so nothing of the zygote's is left on disk or in a job's environment.
        os.environ.pop("MPLCONFIGDIR", None)
        if config_dir is not None:
            shutil.rmtree(config_dir, ignore_errors=True)
    return True


FONT_LIST_NAME = re.compile(r"fontlist-v[0-9A-Za-z.]+\.json")   # as grader.sandbox names it
FONT_LIST_BYTES = 8 * 2**20


def read_font_list(path: str) -> tuple[str, bytes] | None:
    """The grader's font list (`sandbox.font_list`), read once at start-up, before any job exists
    and before the zygote drops root or mounts its private /tmp: a regular file of a plausible name
    and size, else None (matplotlib then makes its own, as without one)."""
    name = os.path.basename(path)
    if not FONT_LIST_NAME.fullmatch(name):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not 0 < info.st_size <= FONT_LIST_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(FONT_LIST_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return (name, data) if len(data) <= FONT_LIST_BYTES else None


ImportGate = studentshell.ImportGate     # shared with the self-check's child


def _forget_directory_listing() -> None:
    """What `importlib.invalidate_caches()` does for the current directory alone (all of it costs
    ~35 µs a cell, walking every path entry of the installation; this ~1 µs)."""
    try:
        finder = sys.path_importer_cache.get(os.getcwd())
    except OSError:
        return
    if finder is not None and hasattr(finder, "invalidate_caches"):
        finder.invalidate_caches()


class StudentCode:
    """Where the student's code is, so that a traceback can show exactly their frames.

    Student code is a notebook cell (compiled as "<cell N>", N its number as the student counts it: `grader.load.FIRST_CELL`), the
    submitted module, a cell magic's body (`%%time` compiles it as "<timed exec>": it is the body
    of the cell that is running), or a file the notebook wrote into its directory (`%%writefile`).
    Every other frame (the grader's, IPython's, numpy's) is left out of what the student sees.
    """

    TIMED = ("<timed exec>", "<timed eval>")

    def __init__(self, sources: dict[str, str], module_name: str, workdir: str):
        self.sources = sources
        self.module_name = module_name
        self.workdir = workdir.rstrip("/") + "/"
        self.current = ""             # the cell running now ("<cell N>")
        self.timed_lines = lambda: 1                          # the cell's lines above the code `%time` ran
        self.shown: dict[str, bool] = {}   # file name -> is_student, for tracebacks (see frame_is_student)
        self.lines: dict[str, list[str]] = {}   # a source's lines, for the places of tracebacks (see place)

    def is_student(self, filename: str) -> bool:
        if filename in self.sources or filename in self.TIMED:
            return True
        if not filename or filename.startswith("<"):
            return False
        return os.path.realpath(filename).startswith(self.workdir)

    def frame_is_student(self, filename: str) -> bool:
        """`is_student`, asked once per file name in a job, for the frames of a traceback.

        A failing case's traceback passes through the worker's own file and numpy's: `realpath`
        of each is an lstat per path component (~860 a job for a blank template's 270 failing
        calls, a quarter of its case-handling CPU). Only what the student is shown of their own
        traceback depends on it (ImportGate asks `is_student` itself, every time).
        """
        known = self.shown.get(filename)
        if known is None:
            known = self.shown[filename] = self.is_student(filename)
        return known

    def place(self, filename: str, line: int | None) -> tuple[str, int | None, str]:
        """(the file's name for people, the line in it, that line's text)."""
        if filename in self.TIMED and line:
            # `%%time`'s body starts below the magic's line; `%time`'s statement is on that line
            filename, line = self.current, line + self.timed_lines()
        if filename in self.sources:
            lines = self.lines.get(filename)
            if lines is None:                 # once per file in a job, not per failing call's frame
                lines = self.lines[filename] = self.sources[filename].splitlines()
            text = lines[line - 1] if line and 0 < line <= len(lines) else ""
            label = filename[1:-1] if filename.startswith("<cell ") else ""
        else:
            import linecache
            text = linecache.getline(filename, line) if line and not filename.startswith("<") else ""
            label = os.path.basename(filename)
        return label, line, _short(text.strip(), 200)

    def where(self, filename: str, line: int | None, function: str) -> tuple[str, str]:
        """("line 7 in `some_function` (cell 4)", the line's text): the place in the student's words."""
        label, line, text = self.place(filename, line)
        return jobwire.place(line, function, label), text

    def explain(self, exc: BaseException) -> tuple[str, str]:
        """(a one-line account of `exc` at its innermost student frame, the printable traceback).

        Only the student's frames are shown; a SyntaxError is placed at its own line, once. An
        exception too odd to place (a SyntaxError subclass with a strange `filename`, say) is
        still described.
        """
        try:
            return self._explain(exc, printed=True)
        except Timeout:
            raise
        except BaseException:  # noqa: BLE001 - student exceptions can be anything
            summary = _describe(exc)
            return summary, summary

    def summary(self, exc: BaseException) -> str:
        """`explain(exc)[0]`, the account a failing case reports, without the printable traceback
        beside it (every student frame placed and joined, for a cell's output only): a blank
        template fails ~270 calls a job."""
        try:
            return self._explain(exc, printed=False)[0]
        except Timeout:
            raise
        except BaseException:  # noqa: BLE001 - student exceptions can be anything
            return _describe(exc)

    def _explain(self, exc: BaseException, printed: bool) -> tuple[str, str]:
        """(the account, the printable traceback when `printed`, else "")."""
        frames = []                     # the student's frames, innermost last: (file, line, function)
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if self.frame_is_student(code.co_filename):
                frames.append((code.co_filename, tb.tb_lineno, code.co_name))
            tb = tb.tb_next
        summary = _describe(exc)
        if isinstance(exc, SyntaxError):
            filename, line = exc.filename, exc.lineno
            if isinstance(filename, str) and self.is_student(filename):
                frames.append((filename, line if type(line) is int else None, "<module>"))
            if isinstance(exc.msg, str):
                summary = _short(f"{type(exc).__name__}: {exc.msg}")      # its place is said once, above
        if not frames:
            return summary, summary if printed else ""
        placed = [self.where(*frame) for frame in (frames if printed else frames[-1:])]
        where, text = placed[-1]
        if not printed:
            return jobwire.error_message(where, summary, text), ""
        lines = ["Traceback (the student's code only):"]
        for where_, text_ in placed:
            lines += ["  " + where_] + (["    " + text_] if text_ else [])
        lines.append(summary)
        return jobwire.error_message(where, summary, text), _short("\n".join(lines), 4 * MAX_TEXT)


missing_module = studentshell.missing_module


# ----------------------------------------------------------------------------------------------
# The child: one job


class LineReader:
    """Whole lines from a pipe, however the writes were split."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""

    def line(self) -> str | None:
        searched = 0
        while (end := self.buffer.find(b"\n", searched)) < 0:
            try:
                chunk = os.read(self.fd, PIPE_BYTES)
            except InterruptedError:
                continue
            if not chunk:
                return None
            searched = len(self.buffer)
            self.buffer = self.buffer + chunk if self.buffer else chunk
        with memoryview(self.buffer) as view:
            line = str(view[:end], "utf-8")
        self.buffer = self.buffer[end + 1:] if end + 1 < len(self.buffer) else b""
        return line


OOM_SCORE_ADJ = "/proc/self/oom_score_adj"


def _first_for_the_oom_killer() -> None:
    """The sandbox's processes are the ones the kernel kills first when memory runs out.

    RLIMIT_AS bounds each process, not their sum: the processes of one job may together ask for
    more than the machine has. The OOM killer then picks the highest score; the zygote, hence
    every job it forks and their children, carry the highest adjustment, so they go before the
    grader, its writer and the machine's own (among them, the largest first: the bomb). Written
    by the zygote before it drops root: a write with CAP_SYS_RESOURCE also sets the floor a job
    cannot go below (raising needs no privilege, so with a grader that is not root the jobs get
    the score too; they could lower it to the grader's again through their /proc file, which is
    not theirs to write while they are non-dumpable, and the kernel filter keeps them so)."""
    try:
        with open(OOM_SCORE_ADJ, "w") as fh:
            fh.write("1000")
    except OSError:
        pass                  # no /proc, or one that refuses: the kernel's own choice stands


def _setup_child(job: dict, channel_fd: int, cases_fd: int, identity: tuple[int, int] | None,
                 scratch: str, landlock: Landlock | None, kernel_filter: KernelFilter | None = None) -> str:
    """Make this fresh fork a job process: own session, student uid, confinement, scratch, output
    file, limits: all before any student code exists."""
    os.setsid()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE, signal.SIGIO, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, _alarm)
    if identity is not None:
        become_student(*identity)
    if landlock is not None:
        landlock.enforce()
    if kernel_filter is not None:
        kernel_filter.enforce()
    else:
        _join_new_session_keyring()          # no filter: at least not the zygote's keyring (0.14 ms)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)   # after the uid change, which clears it
    workdir = os.path.join(scratch, "job")
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    out_path = os.path.join(workdir, ".output")
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # Nothing of the zygote's but these two pipes stays open in student code.
    keep = sorted({channel_fd, cases_fd})
    low = 3
    for fd in keep:
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)
    _set_limits(job.get("limits", {}))
    return out_path


def job_ipython_dir(scratch: str) -> str:
    """IPython's directory in a job: in its scratch directory, the student's, emptied after each job."""
    return os.path.join(scratch, ".ipython")


def _child(job: dict, channel: Channel, cases_fd: int, shell: Shell | None, scratch: str,
           identity: tuple[int, int] | None, landlock: Landlock | None,
           kernel_filter: KernelFilter | None = None) -> None:
    import numpy  # noqa: F401 - already imported by the zygote; here for clarity

    job_id = job["job"]
    limits = job.get("limits", {})
    program = job["program"]
    out_path = _setup_child(job, channel.fd, cases_fd, identity, scratch, landlock, kernel_filter)

    # --- execute the program, unit by unit
    skip = set(job.get("skip", []))
    cell_seconds = float(limits.get("cell_seconds", 10))
    notebook = program["kind"] == "notebook" and shell is not None
    module_name = program.get("filename", "submission.py")
    workdir = os.path.dirname(out_path)
    import builtins
    builtins.input = studentshell.no_input
    sys.argv = [module_name]            # not the worker's own command line (argparse in a cell sees nothing)
    if notebook:
        code = StudentCode({f"<cell {u['index']}>": u["source"] for u in program["units"]}, module_name, workdir)
        namespace = shell.namespace
        namespace["__name__"] = "__main__"
        shell.for_job(code, job_ipython_dir(scratch))
        code.timed_lines = lambda: shell.timed_lines
        shell.keep_history([u["source"] for u in program["units"]])
        sys.path.insert(0, "")          # as in Jupyter: the current directory, whatever %cd made it
    else:
        code = StudentCode({module_name: u["source"] for u in program["units"]}, module_name, workdir)
        namespace = {"__name__": "submission", "__file__": module_name, "__builtins__": builtins}
        if shell is not None:
            namespace["get_ipython"] = studentshell.ipython_for_module(
                lambda: shell, namespace, lambda it: it.for_job(code, job_ipython_dir(scratch)))
        sys.path.insert(0, workdir)     # as `python submission.py`: the module's own directory
    if isinstance(job.get("imports"), list):
        sys.meta_path.insert(0, ImportGate(job["imports"], code.is_student))
    figures = Figures(max(0, min(int(limits.get("figures", 3)), MAX_FIGURES)))
    if "matplotlib.pyplot" in sys.modules:      # preloaded: `from matplotlib.pyplot import show` gets ours
        figures.patch(sys.modules["matplotlib.pyplot"])

    for unit in program["units"]:
        index = unit["index"]
        if index in skip:
            if notebook:
                shell.skipped()
            continue
        channel.emit(Ev.CELL, job_id, index=index, phase=jobwire.START)
        signal.setitimer(signal.ITIMER_REAL, cell_seconds)
        status, error, kept, dropped, ipython_line = RunStatus.OK, "", [], 0, 0
        code.current = f"<cell {index}>"
        try:
            _forget_directory_listing()      # a module the last cell wrote (%%writefile) is found
            if notebook:
                exc = run_cell(shell, unit["source"], namespace, f"<cell {index}>")
            else:
                exc, ipython_line = run_module(lambda: shell, unit["source"], namespace, module_name)
            kept, dropped = figures.take()
        except Timeout as e:  # raised outside IPython's own handling
            exc = e
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        missing = ""
        if isinstance(exc, Timeout):
            status, error = RunStatus.TIMEOUT, f"the cell ran longer than {cell_seconds:g} s"
        elif exc is not None:
            error, printed = code.explain(exc)
            missing = missing_module(exc)
            if missing:
                error += f"\n`{missing}` is not available when this is graded"
            status = RunStatus.ERROR
            if not (notebook and shell.shown is exc):
                try:
                    sys.stdout.flush()
                    print(printed, file=sys.stderr)
                except Exception:  # noqa: BLE001 - the student may have replaced sys.stderr
                    pass
        channel.emit(Ev.CELL, job_id, index=index, status=status, error=error, missing_module=missing,
                     figures=kept, figures_dropped=dropped, ipython_line=ipython_line)

    figures.room = 0      # from here on plt.show() only closes figures: nothing drawn in a case is kept
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    output = ""
    try:
        with open(out_path, "rb") as fh:
            output = fh.read(int(limits.get("output_bytes", 65536))).decode("utf-8", "replace")
    except OSError:
        pass
    # From here on, nothing the student prints is shown to anyone: it could echo hidden inputs.
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    channel.emit(Ev.LOADED, job_id, output=output, shell=list(shell.escapes) if shell is not None else [])

    # --- answer batches of cases until the grader ends the job
    reader = LineReader(cases_fd)
    while True:
        message = reader.line()
        if message is None:
            os._exit(0)
        batch = jobwire.parse_message(message)
        if batch is None or batch.get("op") != Op.CASES.value:
            continue
        _answer_batch(batch, namespace, channel, job_id, code.summary, int(limits.get("answer_bytes", ANSWER_BYTES)))


def _answer_batch(batch: dict, namespace: dict, channel: Channel, job_id: int, explain=None,
                  answer_bytes: int = ANSWER_BYTES) -> None:
    explain = explain or _describe
    case_seconds = float(batch.get("case_seconds", 5))
    for case in batch["cases"]:
        uid = case["uid"]
        channel.write(jobwire.case_start_line(job_id, uid))
        started = time.perf_counter()
        event = jobwire.case_event(job_id, uid)
        if case["name"] not in namespace:
            event.update(status=RunStatus.MISSING, error=f"`{case['name']}` is not defined")
        else:
            signal.setitimer(signal.ITIMER_REAL, case_seconds)
            try:
                target = namespace[case["name"]]
                if case["call"]:
                    if not callable(target):
                        raise Unconvertible(f"`{case['name']}` is not a function")
                    args, before = jobwire.call_arguments(case["args"])
                    returned = target(*args)
                else:
                    returned = jobwire.read_value(case["name"], target)
                # Still under the alarm: converting a student object runs its code too.
                event.update(status=RunStatus.OK, value=encode_answer(case["kind"], case.get("keys", []), returned,
                                                              answer_bytes))
                if case["call"]:
                    changed = jobwire.changed_arguments(target, args, before)
                    if changed:
                        event["changed"] = changed
            except Timeout:
                event.update(status=RunStatus.TIMEOUT, error=f"took longer than {case_seconds:g} s")
            except Unconvertible as exc:
                event.update(status=RunStatus.UNCONVERTIBLE, error=_short(str(exc)))
            except RecursionError:
                event.update(status=RunStatus.ERROR, error="RecursionError: maximum recursion depth exceeded")
            except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
                try:
                    hint = jobwire.call_hint(namespace.get(case["name"]), exc)
                    event.update(status=RunStatus.ERROR, error=explain(exc) + (f"\n{hint}" if hint else ""))
                except Timeout:
                    event.update(status=RunStatus.TIMEOUT, error=f"took longer than {case_seconds:g} s")
                except BaseException:  # noqa: BLE001 - describing must not lose the case
                    event.update(status=RunStatus.ERROR, error=_describe(exc))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        event["seconds"] = round(time.perf_counter() - started, 6)
        if isinstance(event.get("status"), RunStatus):
            event["status"] = event["status"].value       # the one enum added since `jobwire.event`
        try:
            # Goes out with the next case's start, or with "done".
            channel.write(jobwire.event_line(event, plain=True), hold=True)
        except (TypeError, ValueError) as exc:
            channel.emit(Ev.CASE, job_id, uid=uid, status=RunStatus.UNCONVERTIBLE, error=_describe(exc), hold=True)
    channel.emit(Ev.DONE, job_id, batch=batch.get("batch"))


# ----------------------------------------------------------------------------------------------
# The zygote


class Zygote:
    """Forks one child per job from a warm interpreter, and leaves nothing of a job for the next.

    `identity` is the student's (uid, gid) when the grader runs as root: then every job process
    runs as that uid and the zygote cleans up acting as that uid (see `Cleanup`). Without it
    (grader not root), children share the zygote's uid and the zygote cleans up itself.
    """

    def __init__(self, cleanup: "Cleanup", identity: tuple[int, int] | None, landlock: Landlock | None = None,
                 kernel_filter: KernelFilter | None = None, no_filter: str = ""):
        self.cleanup = cleanup
        self.identity = identity
        self.landlock = landlock
        self.kernel_filter = kernel_filter
        self.no_filter = no_filter            # why there is no kernel filter ("" when there is one)
        self.inodes = 0                       # the cap on files in scratch and /tmp (0: none)
        self.channel = Channel(os.dup(1))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        self.shell: Shell | None = None
        self.plots_tried = False
        self.fonts: tuple[str, bytes] | None = None     # the grader's font list (read_font_list)
        self.child: int | None = None
        self.job: int | None = None
        self.relay: Relay | None = None      # the case batches on their way to the job's child
        _hold_a_batch(0)                     # the grader's pipe to us
        self.snapshot: tuple = ()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGPIPE, signal.SIGIO, signal.SIGHUP, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_IGN)
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        _prctl(PR_SET_DUMPABLE, 0)

    def warm(self) -> None:
        import importlib

        import numpy  # noqa: F401
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a module this Python lacks is simply not preloaded
                pass
        try:
            self.shell = Shell()
            self.shell.warm()
            self.shell.prepare_directory(job_ipython_dir(self.cleanup.scratch))
        except Exception:  # noqa: BLE001 - modules still run without IPython
            traceback.print_exc()
            self.shell = None
        if self.identity is not None and not _others_can_read(os.path.dirname(os.__file__)):
            # The zygote's own uid will not be able to read the standard library (a Python under
            # /root, at the rlimits level): matplotlib can only be had now, while we are root.
            self.plots_tried = True
            preload_matplotlib(self.fonts)

    def announce(self) -> None:
        self.snapshot = _own_state()
        self.channel.emit(Ev.READY, None, pid=os.getpid(), uid=os.getuid(),
                          student_uid=self.identity[0] if self.identity else None,
                          landlock=self.landlock.abi if self.landlock is not None else 0,
                          seccomp=self.kernel_filter is not None, no_seccomp=self.no_filter, inodes=self.inodes,
                          ipython=self.shell is not None)

    def serve(self) -> None:
        """Answer the grader's messages until it says quit or goes away.

        Messages are read from fd 0 into our own buffer (never a buffered reader under select,
        which would hide a second message that arrived with the first).
        """
        inbox = b""
        while True:
            relay = [self.relay.fd] if self.relay is not None and self.relay.waiting else []
            readable, writable, _ = select.select([0, self.wake_r], relay, [])
            if writable and self.relay is not None:
                self.relay.push()
            if self.wake_r in readable:
                try:
                    os.read(self.wake_r, 4096)
                except BlockingIOError:
                    pass
                self._reap()
            if 0 not in readable:
                continue
            chunk = os.read(0, 1 << 20)
            if not chunk:
                self._end_job(None)
                return
            lines, inbox = split_lines(inbox + chunk if inbox else chunk)
            for line in lines:
                if not self._handle(line):
                    return

    def _handle(self, line: bytes) -> bool:
        """Act on one message (a line, with its newline); False when the zygote is to stop."""
        if jobwire.is_cases(line):
            # Case batches are the long messages (100 kB); the zygote only passes them on, so it
            # does not parse them (only the grader writes here, always in this form).
            if self.child is not None and self.relay is not None:
                self.relay.add(line)
            return True
        message = jobwire.parse_message(line)
        op = message.get("op") if message is not None else None
        if op == Op.RUN.value:
            if self.job is not None:
                self._end_job(None)
            self._start(message)
        elif op == Op.KILL.value:
            self._end_job(str(message.get("token", "")), message.get("job"))
        elif op == Op.QUIT.value:
            self._end_job(None)
            return False
        return True

    def _start(self, message: dict) -> None:
        changed = _own_state() != self.snapshot
        if changed:
            _give_up("the zygote's own limits, priority or identity were changed; it cannot be trusted")
        self.channel.reset()
        if not self.plots_tried and _mentions_matplotlib(message):
            self.plots_tried = True        # once: where it cannot be imported, each job fails alone
            preload_matplotlib(self.fonts)
        cases_r, cases_w = os.pipe()
        _hold_a_batch(cases_w)
        self.job = message["job"]
        pid = os.fork()
        if pid == 0:
            try:
                os.close(cases_w)
                os.close(self.wake_r)
                os.close(self.wake_w)
                signal.set_wakeup_fd(-1)
                _child(message, self.channel, cases_r, self.shell, self.cleanup.scratch, self.identity,
                       self.landlock, self.kernel_filter)
            except BaseException:  # noqa: BLE001
                try:
                    self.channel.emit(Ev.INTERNAL, message["job"], fresh_line=True,
                                      error=_short(traceback.format_exc()))
                finally:
                    os._exit(70)
            os._exit(0)
        os.close(cases_r)
        self.child, self.relay = pid, Relay(cases_w)

    def _reap(self) -> None:
        """Collect every finished child; report the job child's end as soon as it is seen."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.child = None
                if self.job is not None:
                    self.channel.emit(Ev.EXIT, self.job, fresh_line=True, status=_describe_status(status),
                                      code=status)

    def _end_job(self, token: str | None, job=None) -> None:
        """Kill every process of the job, empty the scratch directories, then (if asked) say so."""
        if self.relay is not None:
            self.relay.close()
        problem = self.cleanup.run(self.identity, self.child)
        if problem:
            _give_up(problem)
        self._reap()
        if not _wait_no_children(2.0):
            _give_up("a process of the job could not be collected")
        if token is not None:
            self.channel.emit(Ev.CLEAN, job if job is not None else self.job, fresh_line=True, token=token)
        self.child, self.relay, self.job = None, None, None


def split_lines(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The whole lines at the start of `buffer`, each with its newline, and what follows them.

    A buffer that is exactly one line (a case batch read at once) is that line, not a copy: every
    copy the zygote makes of a batch (~160 kB) is written into pages it shares copy-on-write with
    the job's child, and costs a page fault per 4 kB."""
    end = buffer.find(b"\n")
    if end == len(buffer) - 1:
        return [buffer], b""
    lines, start = [], 0
    while end >= 0:
        lines.append(buffer[start:end + 1])
        start = end + 1
        end = buffer.find(b"\n", start)
    return lines, buffer[start:] if start else buffer


PIPE_BYTES = 1 << 20     # a pipe that holds a whole case batch (Linux lets any process ask for 1 MB)


def _hold_a_batch(fd: int) -> None:
    """Make the pipe at `fd` hold PIPE_BYTES (from 64 kB): a case batch then crosses it in one write and
    one read, instead of 64 kB pieces that were joined again, a copy each, on the other side."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (OSError, AttributeError):
        pass                 # not a pipe, or a lower limit: smaller pieces, as before


class Relay:
    """Case batches on their way to the job's child, passed on as far as it reads them: a child
    that does not read (it is still busy, or hostile) must not keep the zygote from serving the
    grader, so the pipe does not block and what it did not take waits here.

    What waits is written from where the last write stopped (a view, not a copy of the rest)."""

    def __init__(self, fd: int):
        self.fd = fd
        os.set_blocking(fd, False)
        self.pending = b""
        self.sent = 0            # bytes of `pending` the child has been given

    @property
    def waiting(self) -> bool:
        return self.sent < len(self.pending)

    def add(self, line: bytes) -> None:
        self.pending = self.pending[self.sent:] + line if self.waiting else line
        self.sent = 0
        self.push()

    def push(self) -> None:
        try:
            with memoryview(self.pending) as view:
                self.sent += os.write(self.fd, view[self.sent:])
        except BlockingIOError:
            return
        except OSError:
            self.pending, self.sent = b"", 0
            return
        if not self.waiting:
            self.pending, self.sent = b"", 0

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def _mentions_matplotlib(message: dict) -> bool:
    """Whether a job's program may plot (then the zygote imports matplotlib once, for every job)."""
    try:
        return any("matplotlib" in unit["source"] or "pylab" in unit["source"]
                   for unit in message["program"]["units"])
    except (KeyError, TypeError):
        return False


def _others_can_read(path: str) -> bool:
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


def _own_state() -> tuple:
    """What a job must not be able to change about the zygote (checked before every fork)."""
    limits = tuple(resource.getrlimit(getattr(resource, name)) for name in dir(resource)
                   if name.startswith("RLIMIT_"))
    try:
        affinity = tuple(sorted(os.sched_getaffinity(0)))
    except OSError:
        affinity = ()
    return (os.getresuid(), os.getresgid(), limits, os.getpriority(os.PRIO_PROCESS, 0), affinity)


def _give_up(reason: str) -> None:
    """The zygote cannot promise a clean next job: it says why and ends; the grader starts a new one."""
    try:
        os.write(2, f"worker: {reason}\n".encode())
    finally:
        os._exit(EXIT_UNCLEAN)


def _wait_no_children(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)


# ----------------------------------------------------------------------------------------------
# Clean-up after a job


class Cleanup:
    """Everything that makes the next job start as if it were the first.

    scratch     the job's private directory: emptied completely.
    tmp_dirs    temporary directories the job may write to besides scratch (the sandbox's /tmp;
                with the rlimits fallback the host's /tmp, /var/tmp, /dev/shm): every entry the
                student uid owns is removed.
    kill_all    (no student uid) the zygote is alone in its PID namespace, so kill(-1) from it
                reaches exactly the job's processes.
    """

    def __init__(self, scratch: str, tmp_dirs: list[str], kill_all: bool):
        self.scratch = scratch
        self.tmp_dirs = [d for d in tmp_dirs if d and os.path.realpath(d) != os.path.realpath(scratch)]
        self.kill_all = kill_all
        self.groups: tuple[int, ...] = ()     # the clean-up's groups (the one that sees every process)

    def run(self, identity: tuple[int, int] | None, child: int | None = None) -> str:
        """Clean up; return "" when done, else what is left. `child`: the job's process, when it
        has not been collected yet (the clean-up waits for its end before it looks for the rest).

        With a student uid the zygote does it itself, acting as the student for the while (see
        `_as_student`): it used to fork a clean-up process for it, which copied the warm zygote's
        page tables, faulted its pages in copy-on-write and tore them down again, ~4 ms of CPU
        of a blank template's ~21 ms in the sandbox, and more than the work itself.
        """
        if identity is None:
            return self._work(None)
        # The time limit is inside: its alarm is off before the zygote takes its own ids back, so
        # that it can never cut that short (and leave the zygote with the student's gid or groups).
        with _ending(child) as ended, _as_student(*identity, groups=self.groups):
            try:
                with _time_limit(CLEAN_SECONDS):
                    return self._work(identity[0], ended)
            except _TooLong:
                return "cleaning up after the job took too long"

    def _work(self, uid: int | None, ended: Callable[[float], None] | None = None) -> str:
        if uid is not None:
            if not _kill_uid_processes(uid, ended):
                return "processes of the job are still running"
            _remove_ipc(uid)
            _remove_message_queues(uid)
            _keyrings_as_student(uid)
        else:
            _kill_descendants(os.getpid(), self.kill_all)
            if self.kill_all:
                _remove_message_queues(None)    # alone in its IPC namespace: every queue is the job's
        problem = ""
        if not _empty_dir(self.scratch):
            problem = f"{self.scratch} could not be emptied"
        me = uid if uid is not None else os.getuid()
        for root in self.tmp_dirs:
            if not _remove_owned_entries(root, me):
                problem = problem or f"files of the job are left in {root}"
        os.chdir("/")
        return problem


class _TooLong(Exception):
    """The clean-up's time ran out (raised from SIGALRM in the zygote)."""


def _too_long(signum, frame):
    raise _TooLong()


@contextlib.contextmanager
def _time_limit(seconds: float):
    """SIGALRM after `seconds` raises `_TooLong` in the zygote, which is not otherwise timed."""
    previous = signal.signal(signal.SIGALRM, _too_long)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _as_student(uid: int, gid: int, groups: tuple[int, ...] = ()):
    """The zygote acts as the student uid for a while, then is itself again (checked: if it cannot
    be, it gives up rather than fork a next job from a changed identity).

    Only the effective ids change at first: every process of the student uid may be signalled
    (kill(-1) reaches exactly them; the zygote's own uid is its alone) and the job's files and IPC
    objects are the zygote's to remove, while the real and saved ids stay the zygote's, so that no
    process of the job can signal the zygote while they are being killed. The real uid is the
    student's only once `student_keyrings` is asked for, which the kernel finds by the real uid:
    by then no process of the job is left. The zygote keeps CAP_SETUID and CAP_SETGID throughout
    (no id is 0), which gives it no access to any file; `groups` is the group that sees every
    process behind /proc's hidepid, as the clean-up process had.
    """
    own_uids, own_gids, own_groups = os.getresuid(), os.getresgid(), os.getgroups()
    try:
        os.setgroups(list(groups))
        os.setresgid(-1, gid, -1)
        os.setresuid(-1, uid, -1)
        _prctl(PR_SET_DUMPABLE, 0)          # a change of ids may make it the system's default
        yield
    finally:
        try:
            os.setresuid(*own_uids)
            os.setresgid(*own_gids)
            os.setgroups(own_groups)
            _prctl(PR_SET_DUMPABLE, 0)
        except OSError as exc:
            _give_up(f"the zygote could not take its own identity back: {exc}")
        if (os.getresuid(), os.getresgid(), sorted(os.getgroups())) != (own_uids, own_gids, sorted(own_groups)):
            _give_up("the zygote could not take its own identity back")


def _keyrings_as_student(uid: int) -> None:
    """The student uid's keyrings are found by the real uid: take it (no process of the job is left
    to signal the zygote by it), clear them, and give it back to the zygote's saved uid."""
    own = os.getresuid()
    os.setresuid(uid, -1, -1)
    try:
        _clear_student_keyrings()
    finally:
        os.setresuid(own[0], -1, -1)


def _kill_uid_processes(uid: int, ended: Callable[[float], None] | None = None) -> bool:
    """As the student uid: kill every process of this uid but ourselves, until none is left alive.

    `ended(seconds)` waits at most that long for the job's process to end (`_ending`): its exit,
    the unmapping of what it inherited from the zygote, takes the kernel milliseconds, and each
    look through /proc while it dies cost ~0.3 ms of the zygote's CPU (a blank template's clean-up
    looked 1 to 6 times). Whatever else of the uid is left is looked for and killed as before."""
    me = os.getpid()
    for attempt in range(500):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if attempt == 0 and ended is not None:
            ended(CHILD_EXIT_SECONDS)
        if not _live_processes_of(uid, exclude=me):
            return True
        time.sleep(0.0005 * min(attempt, 20))
    return False


CHILD_EXIT_SECONDS = 1.0      # the longest the clean-up waits for the killed job's process before it looks


@contextlib.contextmanager
def _ending(pid: int | None):
    """A wait for the end of process `pid` (a child of ours not collected yet, so its pid cannot
    be another's), through a pidfd: `wait(seconds)` returns as soon as it has ended (is a zombie),
    or after `seconds`. None when there is no such process or no pidfd (Linux before 5.3)."""
    fd = None
    if pid is not None:
        try:
            fd = os.pidfd_open(pid)
        except (OSError, AttributeError):
            fd = None
    if fd is None:
        yield None
        return

    def wait(seconds: float) -> None:
        try:
            select.select([fd], [], [], seconds)
        except InterruptedError:
            pass

    try:
        yield wait
    finally:
        os.close(fd)


def _live_processes_of(uid: int, exclude: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == exclude:
            continue
        status = _proc_status(name)
        uids = status.get("Uid", "").split()
        if uids and int(uids[0]) == uid and not status.get("State", "").startswith(("Z", "X")):
            found.append(int(name))
    return found


def _kill_descendants(me: int, kill_all: bool) -> None:
    """Without a uid of its own: kill our children until none are left (we are their subreaper,
    so a daemonised grandchild becomes our child when its parent dies)."""
    for _ in range(500):
        if kill_all:
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        children = _children_of(me)
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if not _children_of(me):
                break


def _remove_ipc(uid: int) -> None:
    """System V shared memory, semaphores and message queues of the uid outlive its processes."""
    removers = {"shm": ("shmid", lambda i: _libc().shmctl(i, 0, None)),
                "sem": ("semid", lambda i: _libc().semctl(i, 0, 0)),
                "msg": ("msqid", lambda i: _libc().msgctl(i, 0, None))}
    for kind, (id_column, remove) in removers.items():
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                header = fh.readline().split()
                rows = [line.split() for line in fh]
        except OSError:
            continue
        if id_column not in header or "uid" not in header:
            continue
        at_id, at_uid = header.index(id_column), header.index("uid")
        for row in rows:
            try:
                if int(row[at_uid]) == uid:
                    remove(int(row[at_id]))
            except (IndexError, ValueError):
                continue


def _remove_message_queues(uid: int | None, mqueue: str = "/dev/mqueue") -> None:
    """POSIX message queues outlive their processes too. Where the queues are listed (the sandbox's
    own, read-only, at the bwrap level; the host's, if mounted, at the rlimits level), remove those
    of `uid` (None: all of them)."""
    try:
        entries = list(os.scandir(mqueue))
    except OSError:
        return
    unlink = getattr(_libc(), "mq_unlink", None)
    for entry in entries:
        try:
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            if unlink is None or unlink(("/" + entry.name).encode()) != 0:
                os.unlink(entry.path)
        except OSError:
            continue


def _empty_dir(root: str, budget: int = 1_000_000) -> bool:
    """Remove everything inside `root` (not `root` itself), however deep or locked-down.

    Walks by changing directory, so depth is bounded neither by PATH_MAX nor by open files nor by
    Python's recursion limit. Only ever called when no process of the job is left.
    """
    try:
        os.chmod(root, 0o700)
        os.chdir(root)
    except OSError:
        return False
    names: list[str] = []          # the directories we are inside, below root
    stuck: set[tuple[int, str]] = set()
    while budget > 0:
        budget -= 1
        descended = False
        try:
            entries = list(os.scandir("."))
        except OSError:
            entries = []
        for entry in entries:
            key = (len(names), entry.name)
            if key in stuck:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    os.chmod(entry.name, 0o700)
                    try:
                        os.rmdir(entry.name)
                        continue
                    except OSError:
                        pass
                    os.chdir(entry.name)
                    names.append(entry.name)
                    descended = True
                    break
                os.unlink(entry.name)
            except OSError:
                stuck.add(key)
        if descended:
            continue
        if not names:
            break
        done = names.pop()
        os.chdir("..")
        try:
            os.rmdir(done)
        except OSError:
            stuck.add((len(names), done))
    try:
        left = os.listdir(root)
    except OSError:
        return False
    return not left


def _remove_owned_entries(root: str, uid: int) -> bool:
    """Remove the entries of a shared directory (like /tmp) that belong to `uid`."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return True
    ok = True
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            path = os.path.join(root, entry.name)
            if entry.is_dir(follow_symlinks=False):
                ok = _empty_dir(path) and ok
                os.chdir("/")
                os.rmdir(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            continue
        except OSError:
            ok = False
    return ok


def _children_of(parent: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat_line = fh.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: the ppid follows the last ')'.
        fields = stat_line[stat_line.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(name))
    return found


# ----------------------------------------------------------------------------------------------
# Inodes: a bounded number of files in scratch and /tmp

MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 32, 4096, 1 << 14, 1 << 18
MNT_DETACH = 2
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> str:
    """mount(2); "" when it worked, else why not."""
    encode = (lambda v: None if v is None else v.encode())
    if _libc().mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)) == 0:
        return ""
    return f"mount {target}: {os.strerror(ctypes.get_errno())}"


def cap_inodes(paths: list[str], inodes: int) -> str:
    """Bound the number of files on the tmpfs mounts at `paths` (the bwrap level, root).

    A tmpfs's size limits bytes, not files: five million empty files cost gigabytes of kernel
    memory (inodes and dentries, which a tmpfs cannot give back) and minutes of clean-up, within
    any size. bubblewrap 0.8 mounts its tmpfs with a size only; the zygote, still holding
    CAP_SYS_ADMIN in its own mount namespace, remounts each with `nr_inodes` before it drops its
    privileges. Returns "" when every mount is capped, else why not.
    """
    for path in paths:
        why = _mount(None, path, None, MS_REMOUNT | MS_NOSUID | MS_NODEV, f"nr_inodes={int(inodes)}")
        if why:
            return why
    return ""


def private_scratch(scratch: str, megabytes: int, inodes: int, tmp: list[str] | tuple[str, ...] = (),
                    keep: list[str] | tuple[str, ...] = ()) -> str:
    """Put a tmpfs of its own, bounded in bytes and files, on `scratch` and on each shared
    temporary directory in `tmp` (the rlimits level, root).

    The zygote moves to a mount namespace of its own (nothing else of the host's mounts changes,
    and the tmpfs goes away with the zygote's last process); the host's directories stay as they
    were. Without the temporary directories' own tmpfs, a job without Landlock wrote into the
    host's /dev/shm (host memory, outside every per-process limit: 16 files of the file-size limit
    each held 64 MB with a 16 MB scratch) and /tmp, where a student graded at the same time by
    another worker read it. What the job must still reach beneath them (scratch, the Python
    installation of a checkout under /tmp: `keep`) is bound back. Returns "" when done, else why not.
    """
    if _libc().unshare(ctypes.c_int(CLONE_NEWNS)) != 0:
        return f"unshare: {os.strerror(ctypes.get_errno())}"
    why = _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    why = why or _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
                        f"size={int(megabytes)}m,nr_inodes={int(inodes)},mode=0700")
    for path in ([] if why else tmp):
        _private_tmp(path, megabytes, inodes, keep)
    return why


def _private_tmp(path: str, megabytes: int, inodes: int, keep: list[str] | tuple[str, ...]) -> str:
    """A capped tmpfs on the shared temporary directory `path`, with the mounts and the `keep`
    paths beneath it bound back; when that cannot be done, the host's directory is left as it was
    (as before: shared, and emptied of the student's files after each job). "" when done."""
    try:
        with open("/proc/self/mountinfo") as fh:
            points = [_unescape_mount_point(line.split()[4]) for line in fh]
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    inside = path.rstrip("/") + "/"
    beneath = _outermost([p for p in points + [os.path.realpath(k) for k in keep] if p.startswith(inside)])
    return _capped_tmpfs(path, "1777", megabytes, inodes, beneath, undo=True)


def private_processes_and_network(see_all_gid: int) -> str:
    """In the zygote's own mount namespace (`private_scratch`, the rlimits level as root): a network
    namespace of its own, and a /proc that shows each uid only its own processes. Returns "" when
    done, else why not.

    Without namespaces, two submissions graded at the same time by two workers share what the
    kernel shows everyone: every process's name and command line in /proc (a job sets its own, or
    starts a process whose arguments are hidden inputs), the abstract Unix socket names in
    /proc/net/unix, and UDP on the loopback. With this, another worker's jobs are neither visible
    nor reachable (the new network namespace has only a loopback, down). Members of `see_all_gid`
    (the clean-up, which must see every process of the student uid, even one that made itself
    non-dumpable) see every process. Before Linux 5.8 every /proc mount of a PID namespace shared
    its options: mounting one with `hidepid` would hide the host's processes from its users too,
    so there it is not done.
    """
    try:
        release = tuple(int(n) for n in re.findall(r"\d+", os.uname().release)[:2])
    except ValueError:
        release = (0, 0)
    if _libc().unshare(ctypes.c_int(CLONE_NEWNET)) != 0:
        return f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}"
    if release < (5, 8):
        return f"a private /proc needs Linux 5.8 (this is {os.uname().release})"
    return _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"hidepid=2,gid={int(see_all_gid)}")


def own_tmpfs(scratch: str, tmp: list[str], megabytes: int, inodes: int) -> str:
    """Mount fresh tmpfs mounts, bounded in bytes and files, on scratch and the temporary
    directories, then drop every capability (the bwrap level, grader not root).

    bubblewrap made the sandbox's mounts in a user namespace of its own and runs the zygote in a
    nested one, where they cannot be remounted; with CAP_SYS_ADMIN there (given for this only) the
    zygote makes a mount namespace of its own and mounts over them. A temporary directory with
    something mounted beneath it (a Python installation under /tmp, as in a CI checkout) gets the
    same capped tmpfs, with what was mounted beneath it bound back at the same places (through
    descriptors opened before the new tmpfs hides them). Returns "" when every mount is capped,
    else why not.
    """
    try:
        if _libc().unshare(ctypes.c_int(CLONE_NEWNS)) != 0:
            return f"unshare: {os.strerror(ctypes.get_errno())}"
        why = _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
        with open("/proc/self/mountinfo") as fh:
            points = [_unescape_mount_point(line.split()[4]) for line in fh]
        for path, mode in [(scratch, "0700")] + [(t, "1777") for t in tmp]:
            beneath = _outermost([p for p in points if p.startswith(path.rstrip("/") + "/")])
            why = _capped_tmpfs(path, mode, megabytes, inodes, beneath) or why
        return why
    finally:
        _set_capabilities(0)


def _unescape_mount_point(text: str) -> str:
    """/proc/self/mountinfo writes a space, a tab, a newline and a backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text) if "\\" in text else text


def _outermost(points: list[str]) -> list[str]:
    """The mount points not beneath another one of the list (binding those back recursively
    brings the rest)."""
    kept: list[str] = []
    for point in sorted(set(points), key=len):
        if not any(point.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(point)
    return kept


def _capped_tmpfs(path: str, mode: str, megabytes: int, inodes: int, beneath: list[str], undo: bool = False) -> str:
    """A tmpfs bounded in bytes and files on `path`, with the mounts `beneath` it bound back; with
    `undo`, a tmpfs whose mounts cannot all be bound back is taken away again."""
    held = []
    try:
        for point in beneath:
            held.append((point, os.open(point, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)))
        folders = _folders_between(path, beneath)
    except OSError as exc:
        for _, fd in held:
            os.close(fd)
        return f"{path}: {exc.filename or ''}: {exc.strerror}"
    try:
        why = _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV,
                     f"size={int(megabytes)}m,nr_inodes={int(inodes)},mode={mode}")
        if why:
            return why
        try:
            _make_folders(folders)
        except OSError as exc:
            why = f"{path}: {exc.filename or ''}: {exc.strerror}"
        for point, fd in ([] if why else held):
            why = _mount(f"/proc/self/fd/{fd}", point, None, MS_BIND | MS_REC, None)
            if why:
                break
        if why and undo:
            _libc().umount2(path.encode(), ctypes.c_int(MNT_DETACH))
        return why      # without undo, the caller's zygote fails to start rather than run without them
    finally:
        for _, fd in held:
            os.close(fd)


def _folders_between(path: str, points: list[str]) -> list[tuple[str, os.stat_result]]:
    """The folders from beneath `path` down to each of `points`, with their modes and owners as
    they are before a tmpfs hides them, parents first."""
    inside = path.rstrip("/") + "/"
    folders: dict[str, os.stat_result] = {}
    for point in points:
        parts = point[len(inside):].split("/")
        for depth in range(1, len(parts) + 1):
            folder = inside + "/".join(parts[:depth])
            if folder not in folders:
                folders[folder] = os.stat(folder)
    return list(folders.items())


def _make_folders(folders: list[tuple[str, os.stat_result]]) -> None:
    """Make the folders again on the fresh tmpfs with their own modes and owners (a scratch
    directory's root-owned holder stays 0711: the student can reach scratch, not replace it)."""
    for folder, info in folders:
        os.makedirs(folder, exist_ok=True)
        os.chmod(folder, stat.S_IMODE(info.st_mode))
        try:
            os.chown(folder, info.st_uid, info.st_gid)
        except OSError:
            pass             # a uid this user namespace does not map: the folder stays the zygote's


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by signal {name}"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return f"ended ({status})"


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zygote", action="store_true", required=True)
    parser.add_argument("--scratch", required=True)
    parser.add_argument("--tmp", action="append", default=[],
                        help="a shared temporary directory to clear of the student's files after each job")
    parser.add_argument("--uid", type=int, help="the student uid (the grader runs as root)")
    parser.add_argument("--zygote-uid", type=int, help="the zygote's own uid (the grader runs as root)")
    parser.add_argument("--kill-all", action="store_true", help="we are alone in our PID namespace")
    parser.add_argument("--landlock-read", action="append", default=[], help="confine jobs: readable tree")
    parser.add_argument("--landlock-write", action="append", default=[], help="confine jobs: writable tree")
    parser.add_argument("--landlock-file", action="append", default=[], help="confine jobs: usable device or file")
    parser.add_argument("--landlock-hide", action="append", default=[], help="confine jobs: unreadable tree")
    parser.add_argument("--tmpfs-inodes", type=int, default=0, help="at most this many files in scratch and --tmp")
    parser.add_argument("--private-scratch-mb", type=int, default=0,
                        help="(root, no namespaces) mount a tmpfs of this size on scratch first")
    parser.add_argument("--keep", action="append", default=[],
                        help="(with --private-scratch-mb) a path beneath a --tmp directory that jobs still reach")
    parser.add_argument("--own-tmpfs-mb", type=int, default=0,
                        help="(bwrap, not root) mount tmpfs of this size on scratch and --tmp, then drop capabilities")
    parser.add_argument("--fontlist", help="matplotlib's font list, made by the grader (read now, read-only)")
    args = parser.parse_args(argv)
    fonts = read_font_list(args.fontlist) if args.fontlist else None
    # Student code must not import the grader's modules that sit next to this file.
    here = os.path.dirname(os.path.realpath(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != here]
    os.umask(0o077)
    os.chdir("/")
    identity = (args.uid, args.uid) if args.uid is not None else None
    # Before Landlock: its rule for scratch must name the tmpfs, not the directory beneath it.
    if args.own_tmpfs_mb:
        inodes_why = own_tmpfs(args.scratch, args.tmp, args.own_tmpfs_mb, args.tmpfs_inodes)
    elif not args.tmpfs_inodes:
        inodes_why = "not asked"
    elif args.private_scratch_mb:
        inodes_why = private_scratch(args.scratch, args.private_scratch_mb, args.tmpfs_inodes, args.tmp, args.keep)
    else:
        inodes_why = cap_inodes([args.scratch] + args.tmp, args.tmpfs_inodes)
    # Root without namespaces, in a mount namespace of its own by now: the other workers' jobs
    # out of sight and out of reach (before Landlock, whose rule for /proc must name the new one).
    private_view = 0
    if args.private_scratch_mb and not inodes_why and args.zygote_uid is not None:
        if not private_processes_and_network(args.zygote_uid):
            private_view = args.zygote_uid
    if identity is None:
        _set_capabilities(0)      # whatever bubblewrap gave for mounting (nothing else needs any)
    landlock = None
    if args.landlock_read or args.landlock_write:
        landlock = Landlock(args.landlock_read, args.landlock_write, args.landlock_file, args.landlock_hide)
        if not landlock.build():
            landlock = None
    kernel_filter, no_filter = _kernel_filter(os.getppid())
    cleanup = Cleanup(args.scratch, args.tmp, args.kill_all)
    if private_view:
        cleanup.groups = (private_view,)
    # Inherited by every job (and the clean-up) it forks; before the Zygote makes itself
    # non-dumpable, which makes its /proc files root's: a zygote that is not root could not write it.
    _first_for_the_oom_killer()
    zygote = Zygote(cleanup, identity, landlock, kernel_filter, no_filter)
    zygote.inodes = 0 if inodes_why else args.tmpfs_inodes
    zygote.fonts = fonts
    # Warm up before dropping privileges: the interpreter may live where only root can read
    # (e.g. under /root), and no student code has run yet.
    zygote.warm()
    if identity is not None:
        # Whatever warming up left in scratch (IPython's directory, say) becomes the student's,
        # so that clean-up, which runs as the student, can empty it.
        for folder, dirs, files in os.walk(args.scratch):
            for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
                os.lchown(name, *identity)
        os.chmod(args.scratch, 0o700)
        zygote_uid = args.zygote_uid if args.zygote_uid is not None else identity[0]
        if zygote_uid == identity[0]:
            raise SystemExit("the zygote and the student need different uids")
        become_zygote(zygote_uid, zygote_uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    zygote.announce()
    zygote.serve()
    # Every job is cleaned up by now; tearing down the interpreter (IPython's atexit hooks, numpy's
    # modules) would only keep the grader waiting, once per worker at the end of every batch.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
