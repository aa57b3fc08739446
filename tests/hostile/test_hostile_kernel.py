"""Kernel channels around the sandbox: keyrings, System V IPC, POSIX message queues, tracing, bpf,
namespaces, mounts.

Namespaces do not cover all the kernel shares. Keyrings belong to a uid and outlive its processes
(and uids are reused from job to job, submission to submission, grader run to grader run); System V
IPC and POSIX message queues are shared by every job of a zygote at the bwrap level and by everyone
at the rlimits levels; a grader that is not root shares its uid, hence its keyrings, with the
student. Promises: each of these calls fails with EPERM and the cell's or case's feedback says the
sandbox refused it; nothing stashed there reaches a later job, a later submission, another
student graded at the same time, or a later grader run; the next submission still gets full
marks; numpy, matplotlib, threads and IPython magics still work under the filter.
"""
from __future__ import annotations

import ctypes
import json
import platform
import threading

import pyseccomp
import pytest

from conftest import (CANARY_SECRET, CAROL, FULL, PLAIN_RLIMITS, assert_all_promises, assert_next_graded_fully,
                      assert_no_hidden_inputs, attack_config, hidden_numbers, module, new_session, notebook,
                      result_text, with_function)
from grader.session import Session
from nonroot import grade_as_nobody, nobody_dir  # noqa: F401 - a fixture

LEVELS = ["best", "rlimits"]
REFUSED = "grading sandbox does not allow"

CALLED = ("keyctl", "add_key", "request_key", "shmget", "semget", "msgget", "mq_open", "mq_timedsend",
          "mq_timedreceive", "ptrace", "process_vm_readv", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
          "unshare", "setns", "clone", "mount", "fsopen", "personality", "ioctl", "name_to_handle_at", "kcmp",
          "pidfd_open", "pidfd_getfd", "fanotify_init", "open_tree", "migrate_pages", "move_pages", "setsid",
          "socket", "memfd_create")
# This machine's numbers (libseccomp knows every architecture's), resolved on the trusted side: the
# sandbox may import only what the worker preloaded (the rlimits level, Python under /root).
NUMBERS = {name: pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name) for name in CALLED}

# Pasted into submissions: raw system calls by name, raising OSError with the errno, as a
# student's own ctypes code would.
SYSCALLS = r'''
import ctypes as _ct, os as _os
_libc = _ct.CDLL(None, use_errno=True)
_NUMBERS = %r

def _call(name, *args):
    number = _NUMBERS[name]
    _ct.set_errno(0)
    result = _libc.syscall(_ct.c_long(number), *[_ct.c_long(a) if isinstance(a, int) else a for a in args])
    if result == -1:
        err = _ct.get_errno()
        raise OSError(err, f"{name}: {_os.strerror(err)}")
    return result

KEY_SPEC_SESSION, KEY_SPEC_USER, KEY_SPEC_USER_SESSION = -3, -4, -5

def _find_keys(description):
    """The payload of a "user" key named `description` in any keyring this process can reach."""
    found = []
    for ring in (KEY_SPEC_SESSION, KEY_SPEC_USER, KEY_SPEC_USER_SESSION):
        try:
            serial = _call("keyctl", 10, ring, b"user", description, 0)       # KEYCTL_SEARCH
            buffer = _ct.create_string_buffer(1 << 16)
            size = _call("keyctl", 11, serial, buffer, 1 << 16)              # KEYCTL_READ
            found.append(buffer.raw[:size].decode("latin-1"))
        except OSError as exc:
            found.append(f"refused {exc.errno}")
    return found
''' % (NUMBERS,)


def _refused_cells(result, first: int) -> list[str]:
    """The errors of the cells from `first` on that were not reported as refused by the sandbox."""
    return [f"{c.index}: {c.status} {c.error[:160]}" for c in result.cells[first:]
            if c.status != "error" or REFUSED not in c.error]


# ------------------------------------------------------------------------------------------------
# Every kernel channel refused, with a clear message


ATTEMPTS = {
    "keyctl": '_call("keyctl", 0, KEY_SPEC_USER, 1)',                                   # get (create) @u
    "add_key": '_call("add_key", b"user", b"hw3-probe", b"x", 1, KEY_SPEC_USER)',
    "request_key": '_call("request_key", b"user", b"hw3-probe", None, 0)',
    "shmget": '_call("shmget", 0, 4096, 0o1600)',
    "semget": '_call("semget", 0, 1, 0o1600)',
    "msgget": '_call("msgget", 0, 0o1600)',
    "mq_open": '_call("mq_open", b"hw3-probe", _os.O_CREAT | _os.O_RDWR, 0o600, None)',
    "ptrace": '_call("ptrace", 0, 0, 0, 0)',                                           # PTRACE_TRACEME
    "process_vm_readv": '''
class _Iovec(_ct.Structure):
    _fields_ = [("base", _ct.c_void_p), ("len", _ct.c_size_t)]
_source, _target = _ct.create_string_buffer(b"x" * 64), _ct.create_string_buffer(64)
_local = _Iovec(_ct.cast(_target, _ct.c_void_p), 64)
_remote = _Iovec(_ct.cast(_source, _ct.c_void_p), 64)
_call("process_vm_readv", _os.getpid(), _ct.byref(_local), 1, _ct.byref(_remote), 1, 0)''',
    "bpf": '_call("bpf", 0, _ct.create_string_buffer(128), 128)',                     # BPF_MAP_CREATE
    "perf_event_open": '''
_attr = _ct.create_string_buffer(128)
_ct.memmove(_ct.addressof(_attr) + 4, _ct.byref(_ct.c_uint32(128)), 4)            # attr.size; software clock
_ct.memmove(_ct.addressof(_attr), _ct.byref(_ct.c_uint32(1)), 4)                  # PERF_TYPE_SOFTWARE
_call("perf_event_open", _ct.byref(_attr), 0, -1, -1, 0)''',
    "userfaultfd": '_call("userfaultfd", 1)',                                          # UFFD_USER_MODE_ONLY
    "io_uring_setup": '_call("io_uring_setup", 4, _ct.create_string_buffer(120))',
    "unshare": '_call("unshare", 0x10000000)',                                         # CLONE_NEWUSER
    "setns": '''
_fd = _os.open("/proc/self/ns/uts", _os.O_RDONLY)
_call("setns", _fd, 0)''',
    "clone-newuser": '''
_pid = _call("clone", 0x10000000 | 17, None, None, None, None)                    # CLONE_NEWUSER | SIGCHLD
if _pid == 0:
    _os._exit(0)
_os.waitpid(_pid, 0)''',
    "mount": '_call("mount", b"none", b".", b"tmpfs", 0, None)',
    "fsopen": '_call("fsopen", b"tmpfs", 0)',
    "personality": '_call("personality", 0x0040000)',                                 # ADDR_NO_RANDOMIZE
    # TIOCSTI (type into a terminal), its high 32 bits set: the kernel ignores them, a filter may not.
    "ioctl-TIOCSTI": '_call("ioctl", 0, 0x1_0000_5412, _ct.create_string_buffer(b"x"))',
    # Each of the following succeeds for an unprivileged process on itself (checked as uid nobody
    # on this project's kernel): without the filter the cell would run, not be refused.
    # A file handle of "/" (what open_by_handle_at would reopen, beyond the sandbox's paths).
    "name_to_handle_at": '''
_handle = _ct.create_string_buffer(8 + 128)
_ct.memmove(_handle, _ct.byref(_ct.c_uint32(128)), 4)                              # handle_bytes
_call("name_to_handle_at", -100, b"/", _handle, _ct.byref(_ct.c_int()), 0)''',
    # Comparing kernel objects of two processes (here its own stdout with itself).
    "kcmp": '_call("kcmp", _os.getpid(), _os.getpid(), 0, 1, 1)',                      # KCMP_FILE
    # Copying a descriptor out of a process (here itself): the zygote's pipes, with its rights.
    "pidfd_getfd": '''
_pidfd = _call("pidfd_open", _os.getpid(), 0)
_os.close(_call("pidfd_getfd", _pidfd, 1, 0))''',
    # Watching the file system (unprivileged since Linux 5.13, with file handles).
    "fanotify_init": '_os.close(_call("fanotify_init", 0x200, 0))',                     # FAN_REPORT_FID
    # The new mount API without a clone: an O_PATH of "/" that needs no privilege.
    "open_tree": '_os.close(_call("open_tree", -100, b"/", 0o2000000))',                # O_CLOEXEC
    # A virtual machine's socket to its host (AF_VSOCK, 40): no network namespace covers it, so a
    # grader in a VM (Firecracker, Kata, a cloud VM's agents) would leave the host's vsock services
    # reachable from a sandbox without network. Docker's default profile refuses it too.
    "socket-vsock": '_os.close(_call("socket", 40, 1, 0))',                             # AF_VSOCK, SOCK_STREAM
    # Memory that no address-space limit counts: a memfd written with write() and never mapped holds
    # its pages in the kernel, up to the file-size limit each, as many as there are descriptors
    # (128 x 16 MB by default: 2 GB a process beside RLIMIT_AS, times the process limit).
    "memfd_create": '''
_fd = _os.memfd_create("stash")
_os.write(_fd, b"x" * 65536)''',
    "memfd_create-raw": '_os.close(_call("memfd_create", b"stash", 0))',
    # Moving its own pages between NUMA nodes.
    "migrate_pages": '_call("migrate_pages", 0, 64, _ct.byref(_ct.c_ulong(1)), _ct.byref(_ct.c_ulong(1)))',
    "move_pages": '_call("move_pages", 0, 0, None, None, None, 0)',
    # A session (hence a share of the CPU, see the DoS family) of its own, from a child (the job
    # itself leads its session already, where setsid fails anyway).
    "setsid": '''
_pid = _os.fork()
if _pid == 0:
    try:
        _call("setsid")
        _os._exit(0)
    except OSError as exc:
        _os._exit(exc.errno)
_status = _os.waitstatus_to_exitcode(_os.waitpid(_pid, 0)[1])
if _status:
    raise OSError(_status, f"setsid: {_os.strerror(_status)}")''',
}
if platform.machine() == "x86_64":
    # keyctl(KEYCTL_GET_KEYRING_ID, @u, create) through the i386 ABI (int 0x80), which a filter that
    # knows only the native architecture's numbers would let through.
    ATTEMPTS["keyctl-i386"] = '''
_libc.mmap.restype = _ct.c_void_p
_libc.mmap.argtypes = [_ct.c_void_p, _ct.c_size_t, _ct.c_int, _ct.c_int, _ct.c_int, _ct.c_long]
_page = _libc.mmap(None, 4096, 7, 0x22, -1, 0)                # read, write, exec; private, anonymous
_code = bytes.fromhex("b820010000" "bb00000000" "b9fcffffff" "ba01000000" "cd80" "c3")
_ct.memmove(_page, _code, len(_code))
_result = _ct.CFUNCTYPE(_ct.c_int)(_page)()
if _result < 0:
    raise OSError(-_result, _os.strerror(-_result))'''


@pytest.mark.parametrize("level", LEVELS)
def test_kernel_calls_are_refused_with_a_clear_message(sessions, tmp_path, level):
    session = sessions(level)
    cells = [CAROL, SYSCALLS] + [f"# {name}\n{code.strip()}\n" for name, code in ATTEMPTS.items()]
    result = session.grade(notebook(tmp_path, cells))
    assert_all_promises(result, session, tmp_path)
    assert [c.status for c in result.cells[:2]] == ["ok", "ok"], result.cells[:2]
    assert not _refused_cells(result, 2)
    assert_next_graded_fully(session, tmp_path)


@pytest.mark.parametrize("level", LEVELS)
def test_a_refusal_inside_a_case_is_explained_in_its_feedback(sessions, tmp_path, level):
    session = sessions(level)
    source = with_function("3c-carousel", SYSCALLS + '''
def cell_state_gradient(fs):
    _call("add_key", b"user", b"hw3-probe", b"x", 1, KEY_SPEC_USER)
    return _correct_cell_state_gradient(fs)
''')
    result = session.grade(module(tmp_path, source))
    assert_all_promises(result, session, tmp_path, attacked={"3c-carousel"})
    question = next(q for q in result.questions if q.id == "3c-carousel")
    public = [c for c in question.cases if c.visibility == "public"]
    assert public and all(REFUSED in c.message for c in public), [c.message[:200] for c in public]


# ------------------------------------------------------------------------------------------------
# Keyrings: between jobs, between submissions, between grader runs


STASH = SYSCALLS + '''
_before = [t for t in _find_keys(b"hw3-stash") if not t.startswith("refused")]
if _before:
    print("stash found:", _before)
    raise RuntimeError("stash " + " ".join(_before))

def _numbers(value):
    import numpy as np
    return ",".join(repr(float(v)) for v in np.ravel(np.asarray(value, dtype=float)))

def cell_state_gradient(fs):
    """Stash the inputs in every keyring there is, then crash: the grader re-runs the program,
    whose first lines raise with what they find (the report would show it)."""
    stashed = False
    for ring in (KEY_SPEC_SESSION, KEY_SPEC_USER, KEY_SPEC_USER_SESSION):
        try:
            payload = _numbers(fs).encode()[:16000]
            _call("add_key", b"user", b"hw3-stash", payload, len(payload), ring)
            stashed = True
        except OSError:
            pass
    if stashed:
        _os._exit(3)
    return _correct_cell_state_gradient(fs)
'''

READER = CAROL + SYSCALLS + '''
print("keyring finds:", [t for t in _find_keys(b"hw3-stash") if not t.startswith("refused")])
'''


def _assert_reader_found_nothing(result) -> None:
    assert result.score == FULL
    line = next(l for l in result.output.splitlines() if l.startswith("keyring finds:"))
    assert line == "keyring finds: []", line[:300]


@pytest.mark.parametrize("level", LEVELS)
def test_keyring_stash_between_jobs_submissions_and_grader_runs(sessions, tmp_path, level):
    config = attack_config(None if level == "best" else level)
    with new_session(config) as first_run:
        result = first_run.grade(module(tmp_path, with_function("3c-carousel", STASH), "stash.py"))
        assert_all_promises(result, first_run, tmp_path, attacked={"3c-carousel": 5})
        assert_no_hidden_inputs(result, first_run)
        assert "stash found" not in result.output and "RuntimeError: stash" not in result_text(result)
        # The same worker, the next submission.
        _assert_reader_found_nothing(first_run.grade(module(tmp_path, READER, "reader.py")))
        numbers = hidden_numbers(first_run)
    # A new grader run: its workers lease the uids the first one just released.
    with new_session(config) as second_run:
        result = second_run.grade(module(tmp_path, READER, "reader2.py"))
        _assert_reader_found_nothing(result)
        assert not any(n in result.output for n in numbers)


# ------------------------------------------------------------------------------------------------
# System V shared memory between two students graded at the same time; POSIX message queues


SHM_KEY = 0x4877_5348
MQ_NAME = b"hw3-mq-stash"

SHM_WRITER = CAROL + SYSCALLS + f'''
import time
_shmid = _call("shmget", {SHM_KEY}, 4096, 0o1666)
_libc.shmat.restype = _ct.c_void_p
_addr = _libc.shmat(_shmid, None, 0)
_ct.memmove(_addr, b"hw3-shm-from-student-a", 22)
_deadline = time.time() + 3
while time.time() < _deadline and _ct.string_at(_addr + 100, 3) != b"ack":
    time.sleep(0.02)
print("writer: acknowledged" if _ct.string_at(_addr + 100, 3) == b"ack" else "writer: nobody came")
'''

SHM_READER = CAROL + SYSCALLS + f'''
import time
_seen = "nothing"
_deadline = time.time() + 3
while time.time() < _deadline:
    try:
        _shmid = _call("shmget", {SHM_KEY}, 0, 0)
    except OSError as exc:
        _seen = f"refused {{exc.errno}}"
        time.sleep(0.02)
        continue
    _libc.shmat.restype = _ct.c_void_p
    _addr = _libc.shmat(_shmid, None, 0)
    _seen = _ct.string_at(_addr, 22).decode("latin-1")
    _ct.memmove(_addr + 100, b"ack", 3)
    break
print("reader saw:", _seen)
'''


def _remove_test_ipc() -> None:
    """If an attack got through, its segment and queue outlive the test: remove them (as root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget(SHM_KEY, 0, 0)
    if shmid >= 0:
        libc.shmctl(shmid, 0, None)
    try:
        libc.mq_unlink(b"/" + MQ_NAME)
    except AttributeError:
        pass


def _graded_at_once(first: Session, second: Session, tmp_path, first_source: str, second_source: str):
    """Two submissions graded at the same moment by two workers, as in a batch: `second`'s (warmed
    first, so that both run at once) in a thread, `first`'s here. Both results, each checked against
    every promise while its session is open."""
    results = {}
    second.grade(module(tmp_path, CAROL, "warm.py"))
    other = threading.Thread(target=lambda: results.update(second=second.grade(module(tmp_path, second_source,
                                                                                     "second.py"))))
    other.start()
    results["first"] = first.grade(module(tmp_path, first_source, "first.py"))
    other.join()
    assert_all_promises(results["second"], second, tmp_path)
    assert_all_promises(results["first"], first, tmp_path)
    return results["first"], results["second"]


@pytest.mark.parametrize("level", LEVELS)
def test_shared_memory_between_two_students_graded_at_once(sessions, tmp_path, level):
    try:
        writer, reader_result = _graded_at_once(sessions(level), sessions(level, twin=True), tmp_path, SHM_WRITER,
                                                SHM_READER)
    finally:
        _remove_test_ipc()
    assert "hw3-shm-from-student-a" not in reader_result.output, reader_result.output[-300:]
    assert REFUSED in writer.cells[0].error, writer.cells[0].error[:300]
    assert reader_result.score == FULL and writer.score == FULL


MQ_SEND = CAROL + SYSCALLS + f'''
_mq = _call("mq_open", {MQ_NAME!r}, _os.O_CREAT | _os.O_RDWR | _os.O_NONBLOCK, 0o666, None)
_call("mq_timedsend", _mq, b"hw3-mq-from-an-earlier-job", 26, 0, None)
'''

MQ_RECEIVE = CAROL + SYSCALLS + f'''
try:
    _mq = _call("mq_open", {MQ_NAME!r}, _os.O_RDWR | _os.O_NONBLOCK, 0, None)
    _buffer = _ct.create_string_buffer(1 << 16)
    _size = _call("mq_timedreceive", _mq, _buffer, 1 << 16, None, None)
    print("queue held:", _buffer.raw[:_size].decode("latin-1"))
except OSError as exc:
    print("queue:", exc)
'''


@pytest.mark.parametrize("level", LEVELS)
def test_posix_message_queue_between_jobs(sessions, tmp_path, level):
    session = sessions(level)
    try:
        sender = session.grade(module(tmp_path, MQ_SEND, "send.py"))
        receiver = session.grade(module(tmp_path, MQ_RECEIVE, "receive.py"))
    finally:
        _remove_test_ipc()
    assert_all_promises(sender, session, tmp_path)
    assert REFUSED in sender.cells[0].error, sender.cells[0].error[:300]
    assert "hw3-mq-from-an-earlier-job" not in receiver.output
    assert receiver.score == FULL


# ------------------------------------------------------------------------------------------------
# What homework does still works under the filter


HOMEWORK_CELLS = [CAROL, '''
import numpy as np
a = np.random.default_rng(0).standard_normal((200, 200))
assert abs(np.linalg.det(a @ a.T)) > 0 and np.linalg.eigvals(a).shape == (200,)
''', '''
import threading, concurrent.futures
out = []
threads = [threading.Thread(target=out.append, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
with concurrent.futures.ThreadPoolExecutor(2) as pool:
    assert list(pool.map(abs, [-1, -2])) == [1, 2]
assert sorted(out) == [0, 1, 2, 3]
''', '''
import ctypes
import scipy.integrate, scipy.linalg, scipy.optimize
twice = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(lambda x: 2 * x)    # a libffi closure
assert twice(1.5) == 3.0
assert abs(scipy.integrate.quad(lambda x: x * x, 0, 1)[0] - 1 / 3) < 1e-12
assert abs(scipy.optimize.minimize(lambda x: ((x - 1) ** 2).sum(), [0.0]).x[0] - 1) < 1e-4
assert scipy.linalg.expm(np.zeros((2, 2)))[0, 0] == 1.0
''', '''
import subprocess, sys
assert subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout.strip() == "42"
''', '''
%matplotlib inline
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [1, 4, 9])
fig.savefig("plot.png")
''', '''
%time _ = sum(range(1000))
%timeit -n 1 -r 1 sum(range(100))
''']


@pytest.mark.parametrize("level", LEVELS)
def test_numerical_libraries_threads_and_magics_work_under_the_filter(sessions, tmp_path, level):
    pytest.importorskip("matplotlib")
    session = sessions(level)
    session.grade(module(tmp_path, CAROL, "warm.py"))
    if any("not readable by the student uid" in n for w in session._all for n in w.launch.notes):
        pytest.skip("the student uid cannot read the Python installation here (only preloaded modules; "
                    "the test with a grader that is not root covers this level)")
    result = session.grade(notebook(tmp_path, HOMEWORK_CELLS))
    assert_all_promises(result, session, tmp_path)
    assert [c.status for c in result.cells] == ["ok"] * len(HOMEWORK_CELLS), [(c.index, c.error[:200])
                                                                              for c in result.cells]


@pytest.mark.parametrize("level", ["", "rlimits"])
def test_numerical_libraries_work_under_the_filter_with_a_grader_that_is_not_root(nobody_dir, tmp_path, level):
    pytest.importorskip("matplotlib")
    source = notebook(tmp_path, HOMEWORK_CELLS).read_text(encoding="utf-8")
    report = grade_as_nobody(nobody_dir, level, source, f"homework{level}.ipynb")
    assert report["score"] == FULL
    assert [c[0] for c in report["cells"]] == ["ok"] * len(HOMEWORK_CELLS), report["cells"]


# ------------------------------------------------------------------------------------------------
# A grader that is not root: the student shares its uid, hence its keyrings


@pytest.mark.parametrize("level", ["", "rlimits"])
def test_a_non_root_graders_keyrings_and_memory_are_out_of_reach(nobody_dir, level):
    """The student runs as the grader's own uid: its keyrings, and (without the filter, at the
    rlimits level) its memory through ptrace or process_vm_readv, were the student's to read."""
    probe = CAROL + SYSCALLS + '''
def _status(pid):
    return dict(l.split(":", 1) for l in open(f"/proc/{pid}/status").read().splitlines() if ":" in l)
_grader = int(_status(int(_status(_os.getpid())["PPid"]))["PPid"])    # the zygote's parent
_tried = {}
for _name, _args in (("ptrace", (16, _grader, 0, 0)), ("process_vm_readv", (_grader, None, 0, None, 0, 0))):
    try:
        _call(_name, *_args)
        _tried[_name] = "DONE"
        if _name == "ptrace":
            _os.waitpid(_grader, 0x40000000)                 # __WALL
            _call("ptrace", 17, _grader, 0, 0)               # PTRACE_DETACH
    except OSError as exc:
        _tried[_name] = f"refused {exc.errno}"
print("tried:", _tried)
print("grader keys:", [t for t in _find_keys(b"hw3-grader-key") if not t.startswith("refused")])
_call("keyctl", 0, KEY_SPEC_USER, 0)
'''
    report = grade_as_nobody(nobody_dir, level, probe, f"probe{level}.py", secret=CANARY_SECRET)
    assert report["student_uid"] is None                  # the student shares the grader's uid
    assert CANARY_SECRET not in json.dumps(report)
    assert "grader keys: []" in report["output"], report["output"][-500:]
    assert "DONE" not in report["output"], report["output"][-500:]
    assert report["score"] == FULL
    status, error = report["cells"][0]
    assert status == "error" and REFUSED in error, error[:300]


GRADER_REACH = CAROL + '''
import os as _os, signal as _signal
def _status(pid):
    return dict(l.split(":", 1) for l in open(f"/proc/{pid}/status").read().splitlines() if ":" in l)
_grader = int(_status(int(_status(_os.getpid())["PPid"]))["PPid"])    # the zygote's parent
_reached = []
for _what in ("environ", "maps", "mem", "fd"):
    try:
        if _what == "fd":
            _os.listdir(f"/proc/{_grader}/fd")
        else:
            with open(f"/proc/{_grader}/{_what}", "rb") as _fh:
                if _what == "mem":
                    _fh.seek(int(open(f"/proc/{_grader}/maps").readline().split("-")[0], 16))
                _fh.read(4096)
        _reached.append(_what)
    except OSError:
        pass
for _target in (_grader, -_os.getpgid(_grader), -1):
    try:
        _os.kill(_target, 0)                    # 0: may it signal? (SIGKILL here stopped the batch)
        _reached.append(f"signal {'grader' if _target == _grader else 'group' if _target != -1 else 'everyone'}")
    except OSError:
        pass
print("reached:", _reached)
'''


@pytest.mark.parametrize("level", ["rlimits", "rlimits-plain"])
def test_a_non_root_grader_cannot_be_read_or_signalled_by_its_jobs(nobody_dir, level):
    """The student shares a non-root grader's uid. Without Landlock (an older kernel, or none) a
    job read the grader's environment (the secret that makes the hidden inputs), its memory
    (/proc/PID/mem: the hidden cases' expected values) and its open files, and could send it
    SIGKILL or SIGSTOP, alone, as its process group or with kill(-1): the batch of the whole class
    stopped. The grader now makes itself non-dumpable (its /proc files are then root's), and the
    kernel filter refuses a signal to the grader, its group or every process (kill(-1)). (At the
    bwrap level the grader is outside the job's PID namespace: test_own_pid_namespace.)"""
    report = grade_as_nobody(nobody_dir, level, GRADER_REACH, f"reach{level}.py", secret=CANARY_SECRET)
    assert CANARY_SECRET not in json.dumps(report)
    assert "reached: []" in report["output"], report["output"][-500:]
    assert report["score"] == FULL


# ------------------------------------------------------------------------------------------------
# A rendezvous between two students graded at the same time, through what the kernel shows to all


RENDEZVOUS = "hw3-rdv-7c1d"

# Student A offers a message on every channel it can open, and keeps them open for 3 s (or until
# student B, graded at the same moment by another worker, takes it): an abstract Unix socket, a
# Unix socket, a FIFO and a file in /tmp, a UDP port on the loopback, its own process name, and the
# command line of a process it starts.
RDV_OFFER = CAROL + f'''
import ctypes, os, socket, subprocess, threading, time
_MARK = "{RENDEZVOUS}-from-a"
_opened = []
def _serve(sock):
    sock.settimeout(3)
    try:
        conn, _ = sock.accept()
        conn.sendall(_MARK.encode())
        conn.close()
    except OSError:
        pass
def _offer(name, make):
    try:
        make()
        _opened.append(name)
    except Exception as exc:
        _opened.append(f"{{name}} refused: {{type(exc).__name__}}")
def _abstract():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(b"\\0" + _MARK.encode())
    sock.listen(4)
    threading.Thread(target=_serve, args=(sock,), daemon=True).start()
def _unix():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind("/tmp/{RENDEZVOUS}.sock")
    os.chmod("/tmp/{RENDEZVOUS}.sock", 0o777)
    sock.listen(4)
    threading.Thread(target=_serve, args=(sock,), daemon=True).start()
def _fifo():
    os.mkfifo("/tmp/{RENDEZVOUS}.fifo")
    os.chmod("/tmp/{RENDEZVOUS}.fifo", 0o666)
    fd = os.open("/tmp/{RENDEZVOUS}.fifo", os.O_RDWR | os.O_NONBLOCK)
    os.write(fd, _MARK.encode())
def _file():
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        with open(f"{{folder}}/{RENDEZVOUS}.txt", "w") as fh:
            fh.write(_MARK)
        os.chmod(f"{{folder}}/{RENDEZVOUS}.txt", 0o644)
def _udp():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 47613))
    def answer():
        sock.settimeout(3)
        try:
            _, peer = sock.recvfrom(100)
            sock.sendto(_MARK.encode(), peer)
        except OSError:
            pass
    threading.Thread(target=answer, daemon=True).start()
def _name():
    ctypes.CDLL(None).prctl(15, b"hw3-rdv-7c1d", 0, 0, 0)          # PR_SET_NAME
def _argv():
    subprocess.Popen(["/bin/sh", "-c", "sleep 3", _MARK])
for _name_, _make in (("abstract", _abstract), ("unix", _unix), ("fifo", _fifo), ("file", _file), ("udp", _udp),
                      ("name", _name), ("argv", _argv)):
    _offer(_name_, _make)
print("offered:", _opened)
time.sleep(3)
'''

# Student B looks for it on each of them for up to 3 s, and prints whatever it finds.
RDV_LOOK = CAROL + f'''
import os, socket, time
_found = set()
def _look():
    def attempt(name, how):
        try:
            text = how()
        except Exception:
            return
        if text and "{RENDEZVOUS}" in text:
            _found.add(f"{{name}}: {{text[:600]}}")
    def connect(address):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(0.2)
        sock.connect(address)
        return sock.recv(100).decode("latin-1")
    attempt("abstract", lambda: connect(b"\\0{RENDEZVOUS}-from-a"))
    attempt("unix", lambda: connect("/tmp/{RENDEZVOUS}.sock"))
    def fifo():
        fd = os.open("/tmp/{RENDEZVOUS}.fifo", os.O_RDONLY | os.O_NONBLOCK)
        try:
            return os.read(fd, 100).decode("latin-1")
        finally:
            os.close(fd)
    attempt("fifo", fifo)
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        attempt(f"file {{folder}}", lambda: open(f"{{folder}}/{RENDEZVOUS}.txt").read())
    def udp():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.2)
        sock.sendto(b"ack", ("127.0.0.1", 47613))
        return sock.recv(100).decode("latin-1")
    attempt("udp", udp)
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        for what in ("comm", "cmdline", "stat", "status"):
            attempt(f"/proc/{{what}}", lambda: open(f"/proc/{{pid}}/{{what}}", "rb").read().decode("latin-1"))
    for table in ("unix", "udp", "tcp"):
        attempt(f"/proc/net/{{table}}", lambda: "\\n".join(line for line in open(f"/proc/net/{{table}}").read().splitlines()
                                                          if "{RENDEZVOUS}" in line))
_deadline = time.time() + 3
while time.time() < _deadline and len(_found) < 3:
    _look()
    time.sleep(0.05)
import json
print("B found:", json.dumps(sorted(_found)))
'''


@pytest.mark.parametrize("level", LEVELS + [PLAIN_RLIMITS])
def test_no_rendezvous_between_two_students_graded_at_once(sessions, tmp_path, level):
    """Two accounts of one student graded by two workers at the same moment (as in a batch): the
    one whose job holds hidden inputs offers them on every channel a process can open without a
    kernel call the filter denies; the other, still running its cells (whose output its report
    shows), must find nothing on any of them. The red team's finding: at the rlimits level (root,
    Landlock) the other read them in /proc (the process's name, the command line of a process it
    started, the abstract socket's name in /proc/net/unix) and over UDP; the zygote now takes a
    network namespace and a /proc with hidepid of its own (worker.private_processes_and_network).
    Round five: at the plain rlimits level (root, no Landlock) the file, the FIFO and the socket
    left in the host's /tmp, /var/tmp and /dev/shm were read too; the zygote now mounts capped
    tmpfs of its own on them (worker.private_scratch)."""
    offer, look = _graded_at_once(sessions(level), sessions(level, twin=True), tmp_path, RDV_OFFER, RDV_LOOK)
    offered = next(l for l in offer.output.splitlines() if l.startswith("offered:"))
    assert "abstract'" in offered and "argv'" in offered, offered        # the offer was made
    found = json.loads(next(l for l in look.output.splitlines() if l.startswith("B found:"))[len("B found:"):])
    if level == PLAIN_RLIMITS:
        assert offer.isolation == look.isolation == "rlimits"
    assert found == [], found
    assert offer.score == FULL and look.score == FULL


# Files every sandbox sees, as the same inodes: the Python installation, bound read-only into each.
# Locks and watches belong to an inode, not to a mount or a namespace.
_SHARED_FILES = '''
import json as _json_module, os as _os2, numpy as _numpy
_LIB = _os2.path.dirname(_numpy.__file__)         # readable by the student uid at every level here
_FILES = sorted(_os2.path.join(d, n) for d, _, names in _os2.walk(_LIB) for n in names if n.endswith(".py"))[:32]
_MESSAGE = int.from_bytes(b"rdv7", "big")              # 32 bits, one a file
'''

# Student A, holding hidden inputs, offers 32 bits: a shared lock (flock, then an fcntl read lock)
# on file i for a 1 in bit i, held for 3 s; and it opens those files again and again, for anyone
# watching them (inotify) to count.
LOCK_OFFER = CAROL + _SHARED_FILES + '''
import fcntl, time
_held, _said = [], []
for _kind in ("flock", "lockf"):
    try:
        for _i, _path in enumerate(_FILES):
            if _MESSAGE >> _i & 1:
                _fd = _os2.open(_path, _os2.O_RDONLY)
                fcntl.flock(_fd, fcntl.LOCK_SH) if _kind == "flock" else fcntl.lockf(_fd, fcntl.LOCK_SH)
                _held.append(_fd)
        _said.append(_kind)
    except OSError as exc:
        _said.append(f"{_kind} refused: {exc}")
print("offered:", _said)
_end = time.time() + 3
while time.time() < _end:
    for _i, _path in enumerate(_FILES):
        if _MESSAGE >> _i & 1:
            _os2.close(_os2.open(_path, _os2.O_RDONLY))
    time.sleep(0.01)
'''

# Student B reads them for up to 3 s: which files are locked, which are being opened.
LOCK_LOOK = CAROL + _SHARED_FILES + '''
import ctypes, fcntl, struct, time
def _locked_flock(path):
    fd = _os2.open(path, _os2.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        _os2.close(fd)
def _locked_fcntl(path):
    fd = _os2.open(path, _os2.O_RDONLY)
    try:
        probe = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
        return struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0] != fcntl.F_UNLCK
    finally:
        _os2.close(fd)
def _watched():
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(_os2.O_NONBLOCK)
    if fd < 0:
        return None
    watches = {libc.inotify_add_watch(fd, p.encode(), 0x20): i for i, p in enumerate(_FILES)}   # IN_OPEN
    time.sleep(0.5)
    seen = set()
    try:
        data = _os2.read(fd, 1 << 16)
    except BlockingIOError:
        data = b""
    while data:
        wd, _, _, size = struct.unpack_from("iIII", data)
        seen.add(watches.get(wd))
        data = data[16 + size:]
    _os2.close(fd)
    return sum(1 << i for i in seen if i is not None)
_got = {}
_end = time.time() + 3
while time.time() < _end and len(_got) < 3:
    for _name, _read in (("flock", _locked_flock), ("fcntl", _locked_fcntl)):
        try:
            _bits = sum(1 << i for i, p in enumerate(_FILES) if _read(p))
        except OSError:
            continue
        if _bits == _MESSAGE:
            _got[_name] = _bits.to_bytes(4, "big").decode("latin-1")
    _bits = _watched()
    if _bits is not None and _bits & _MESSAGE == _MESSAGE:
        _got["inotify"] = _bits.to_bytes(4, "big").decode("latin-1")
print("B got:", _json_module.dumps(sorted(_got.items())))
'''


@pytest.mark.parametrize("level", LEVELS)
def test_no_rendezvous_through_locks_or_watches_on_the_shared_installation(sessions, tmp_path, level):
    """The sandboxes of two students graded at once share the Python installation's files (bound
    read-only: the same inodes), and a lock or an inotify watch belongs to the inode: student A
    locks the files whose bit is 1 and opens them over and over; student B, still running its cells,
    reads the 32 bits back from which files are locked or opened. It must read nothing."""
    offer, look = _graded_at_once(sessions(level), sessions(level, twin=True), tmp_path, LOCK_OFFER, LOCK_LOOK)
    offered = next(l for l in offer.output.splitlines() if l.startswith("offered:"))
    got = json.loads(next(l for l in look.output.splitlines() if l.startswith("B got:"))[len("B got:"):])
    assert got == [], (offered, got)
    assert offer.score == FULL and look.score == FULL
