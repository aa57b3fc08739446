"""Denial of service: hangs, bombs, crashes, floods, full disks, network.

Promises: the grader answers within a bound whatever the submission does; the attacked question
(or cell) is stopped and earns nothing; the other questions are graded in full; nothing of the
submission is left running; the machine stays usable; the next submission is graded in full.
Bounds are generous on purpose (ANSWER_BOUND): these tests check that the grader ends, not how fast.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from attack_tools import PIPES, STACK
from nonroot import grade_as_nobody, nobody_dir  # noqa: F401 - a fixture
from conftest import (ANSWER_BOUND, ATTACK_LIMITS, CAROL, FULL, PLAIN_RLIMITS, POINTS, assert_all_promises, assert_next_graded_fully,
                      attack_config, host_addresses, module, notebook, with_function)
from grader.results import UNREADABLE
from grader.runner import Limits
from grader.session import Session

LEVELS = ["best", "rlimits"]
# Most attacks in this family are waited out: time-outs shorter than the other families' keep it
# fast, and are still a hundred times what an honest call or cell of this homework takes. One
# time-out stops a question: its other cases would hang the same way (and each costs a busy
# half-second or more); stopping after a number of them is the runner's own tests' business.
DOS_LIMITS = replace(ATTACK_LIMITS, case_seconds=0.5, cell_seconds=2, timeouts_per_question=1)


@pytest.fixture
def attack_session(sessions):
    return sessions("best", DOS_LIMITS)


def _grade(session, tmp_path, qid: str, body: str):
    result = session.grade(module(tmp_path, with_function(qid, body)))
    assert_all_promises(result, session, tmp_path, attacked={qid})
    return result


def _statuses(result, qid: str) -> set[str]:
    return {c.status for q in result.questions if q.id == qid for c in q.cases}


def _machine_is_fine() -> None:
    assert subprocess.run(["true"], timeout=30).returncode == 0


def test_infinite_loop_at_top_level(attack_session, tmp_path):
    result = attack_session.grade(notebook(tmp_path, [CAROL, "while True:\n    pass", "AFTER = 1"]))
    assert_all_promises(result, attack_session, tmp_path)
    assert [c.status for c in result.cells] == ["ok", "timeout", "ok"]


def test_infinite_loop_in_a_function(attack_session, tmp_path):
    result = _grade(attack_session, tmp_path, "1a", '''
def sigmoid_jacobian(W, x):
    while True:
        pass
''')
    assert _statuses(result, "1a") <= {"timeout", "not-run"}


def test_a_cell_that_forges_its_own_start_is_stopped_like_any_other(attack_session, tmp_path):
    """The cell ignores the worker's alarm and, every half second, writes "cell 1 started" on the
    event pipe (found on the stack), for 3 cell time-outs in all: a fresh start used to give it a
    fresh deadline each time, so it ran to its end ("ok") with three times an honest cell's time.
    It is stopped at its first deadline like any hanging cell, and skipped."""
    forger = STACK + f"""
import signal, time
signal.signal(signal.SIGALRM, signal.SIG_IGN)
_channel, _job = _from_stack("channel"), _from_stack("job_id")
_end = time.monotonic() + {3 * DOS_LIMITS.cell_seconds}
while time.monotonic() < _end:
    _channel.send(ev="cell", job=_job, index=1, phase="start")
    time.sleep(0.5)
OUTLASTED = True
"""
    result = attack_session.grade(notebook(tmp_path, [CAROL, forger, "AFTER = 1"]))
    assert_all_promises(result, attack_session, tmp_path)
    assert [c.status for c in result.cells] == ["ok", "timeout", "ok"]


def test_sleeping_function(attack_session, tmp_path):
    result = _grade(attack_session, tmp_path, "1b", '''
import time
def bptt_grad(W, U, xs, h0, gs):
    time.sleep(10_000)
''')
    assert "timeout" in _statuses(result, "1b")


def test_alarm_ignored_then_busy_loop(attack_session, tmp_path):
    """The worker's own time-out is a SIGALRM: ignoring it leaves the grader's deadline and kill."""
    result = _grade(attack_session, tmp_path, "2a", '''
import signal
def bptt_terms(W, U, xs, h0, gs):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_REAL, 0)
    while True:
        pass
''')
    assert "timeout" in _statuses(result, "2a")


def test_sigterm_ignored_by_the_process_and_its_children(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "2b", '''
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
def matrix_power_eig(M, p):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        while True:
            time.sleep(1)
    while True:
        time.sleep(1)
''')


def test_stopping_itself(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "3c-carousel", '''
import os, signal
def cell_state_gradient(fs):
    os.killpg(os.getpgrp(), signal.SIGSTOP)
''')


def test_memory_bomb_in_a_function_and_at_top_level(attack_session, tmp_path):
    source = with_function("2b", '''
import numpy as np
def matrix_power_eig(M, p):
    hog = []
    while True:
        hog.append(np.ones(50_000_000))
''')
    path = notebook(tmp_path, [source, "hog = bytearray(10**12)", "AFTER = 1"])
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path, attacked={"2b"})
    assert [c.status for c in result.cells] == ["ok", "error", "ok"]
    assert "MemoryError" in result.cells[1].error
    _machine_is_fine()


@pytest.mark.parametrize("level", LEVELS)
def test_a_memory_bomb_across_processes_is_what_the_kernel_kills_first(sessions, tmp_path, level):
    """The address-space limit is per process: 32 processes of one job may together ask the machine
    for more memory than it has (a cap across them needs cgroups, not promised). When the kernel
    runs out, its OOM killer takes the process with the highest score: every process of a job, its
    children included, carries the highest adjustment (1000), so the job's are taken before the
    grader's, the writer's or the machine's own. As root the job cannot lower it again. (The bomb
    itself is not set off here: reading the score is the test.)"""
    session = sessions(level, DOS_LIMITS)
    probe = CAROL + """
import subprocess
def _adjustment():
    with open("/proc/self/oom_score_adj") as fh:
        return fh.read().strip()
child = subprocess.run(["cat", "/proc/self/oom_score_adj"], capture_output=True, text=True).stdout.strip()
try:
    with open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("-1000")
    lowered = "lowered to " + _adjustment()
except OSError as exc:
    lowered = f"refused ({exc.errno})"
print("oom adjustment:", _adjustment(), "child:", child, "lowering:", lowered)
"""
    result = session.grade(module(tmp_path, probe, "oom.py"))
    assert_all_promises(result, session, tmp_path)
    line = next(l for l in result.output.splitlines() if l.startswith("oom adjustment:"))
    assert line.startswith("oom adjustment: 1000 child: 1000 lowering: refused"), line


OOM_AS_OWNER = CAROL + """
import ctypes
def _adjustment():
    with open("/proc/self/oom_score_adj") as fh:
        return fh.read().strip()
_before = _adjustment()
_dumpable = ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0)   # PR_SET_DUMPABLE: /proc/self is then its own
try:
    with open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("0")
except OSError:
    pass
print("oom adjustment:", _before, "then", _adjustment())
"""


@pytest.mark.parametrize("level", ["", "rlimits", "rlimits-plain"])
def test_a_non_root_graders_jobs_are_first_for_the_oom_killer_and_stay_so(nobody_dir, level):
    """With a grader that is not root the jobs had the grader's adjustment (0), not 1000: the
    zygote, already non-dumpable, could not write its own /proc file. And a job that made itself
    dumpable again could lower the 1000 to the grader's (raising needs no privilege, so the kernel
    lets an unprivileged process go back down to where it was). The zygote now writes it first,
    and the kernel filter refuses PR_SET_DUMPABLE."""
    report = grade_as_nobody(nobody_dir, level, OOM_AS_OWNER, f"oom{level}.py")
    assert "oom adjustment: 1000 then 1000" in report["output"], report["output"][-500:]
    assert report["score"] == FULL


def test_fork_bomb(attack_session, tmp_path):
    """Bounded by RLIMIT_NPROC of the student uid. The bomb competes with the submission's own
    calls, so only no inflation is promised for its questions; nothing may be left, and the
    machine and the next submission must be fine."""
    bomb = '''
import os, time
if os.fork() == 0:
    try:
        os.setsid()         # refused by the filter: a job's processes share its session
    except OSError:
        pass
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.05)
'''
    result = attack_session.grade(notebook(tmp_path, [CAROL, bomb]))
    assert_all_promises(result, attack_session, tmp_path, attacked=dict(POINTS))
    _machine_is_fine()
    assert_next_graded_fully(attack_session, tmp_path)


def test_deep_recursion(attack_session, tmp_path):
    result = _grade(attack_session, tmp_path, "3-step", '''
import sys
_calls = [0]
def lstm_step(params, x, h_prev, c_prev):
    _calls[0] += 1
    if _calls[0] % 2:
        sys.setrecursionlimit(10**9)       # then the C stack overflows: a segfault
    def down(n):
        return down(n + 1) + 1
    return down(0)
''')
    assert _statuses(result, "3-step") <= {"error", "crashed", "not-run", "timeout"}


def test_cells_that_exhaust_the_compiler(attack_session, tmp_path):
    """Source that compiles to MemoryError or RecursionError (not a SyntaxError) is that cell's
    error, reported as such; the cell neither takes down its job nor costs the other cells."""
    cells = [CAROL, "x = " + "-" * 200000 + "1", "y = " + "+".join(["1"] * 500000), "AFTER = 1\nprint('after ran')"]
    result = attack_session.grade(notebook(tmp_path, cells))
    assert_all_promises(result, attack_session, tmp_path)
    assert [c.status for c in result.cells] == ["ok", "error", "error", "ok"]
    assert "MemoryError" in result.cells[1].error and "RecursionError" in result.cells[2].error
    assert "after ran" in result.output


def test_segfault_via_ctypes_in_a_function_and_in_a_cell(attack_session, tmp_path):
    source = with_function("3c-gates", '''
import ctypes
def lstm_gate_jacobians(params, x, h_prev):
    return ctypes.string_at(0)
''')
    path = notebook(tmp_path, [source, "import ctypes\nctypes.string_at(0)", "AFTER = 1"])
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path, attacked={"3c-gates"})
    assert [c.status for c in result.cells] == ["ok", "crashed", "ok"]
    assert "crashed" in _statuses(result, "3c-gates")


def test_gigabytes_of_output(attack_session, tmp_path):
    flood = '''
import os, sys
chunk = "\\x1b[31m<b>flood</b>\\x00" * 50_000
for _ in range(2_000):
    try:
        sys.stdout.write(chunk)
        os.write(1, chunk.encode())
        os.write(2, chunk.encode())
    except OSError:
        pass
'''
    result = attack_session.grade(notebook(tmp_path, [CAROL, flood, "AFTER = 1"]))
    assert_all_promises(result, attack_session, tmp_path)
    assert len(result.output) <= 25_000


FLOODS = 3                  # calls that flood: each is waited out (about a second), the later ones fail at once


def test_flooding_the_event_pipe(sessions, tmp_path):
    """Megabytes without a newline (several times the longest event line the grader reads, and
    several of its reads), then garbage lines until killed, on the grader's pipe, in each of the
    first FLOODS calls; the over-long line is counted past and refused as the answer of its case.
    (The first flood is a time-out: a second one must be allowed for the later floods to be called
    at all.) The answer limit is made small so that the over-long line is written well within the
    half-second a call has even on a saturated machine: at the default limit it is some 46 MB."""
    limits = replace(DOS_LIMITS, timeouts_per_question=2, answer_mb=0.1)
    session = sessions("best", limits)
    megabytes = 4 * limits.event_line_bytes // 2**20 + 1
    result = _grade(session, tmp_path, "3c-cell", PIPES + f'''
_CALLS = []
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    _CALLS.append(1)
    if len(_CALLS) > {FLOODS}:
        raise RuntimeError("flooded enough")
    writers = _pipes()[0]
    block = b"x" * (1 << 20)
    for _ in range({megabytes}):
        _write_all(writers, block)
    junk = b"not json\\n" * 100_000
    while True:
        _write_all(writers, junk)
''')
    public = [c.message for q in result.questions if q.id == "3c-cell" for c in q.public]
    assert any(m.startswith("answer too large") for m in public), public


@pytest.mark.parametrize("level", LEVELS + [PLAIN_RLIMITS])
def test_filling_the_disk(sessions, tmp_path, level):
    """Files of the file-size limit, one after another, in every folder a job may write: each
    folder holds at most its tmpfs's size. The red team's finding: at the plain rlimits level
    (root, no Landlock) the host's /tmp, /var/tmp and /dev/shm took all 64 MB offered, with a
    16 MB scratch (and /dev/shm is host memory, counted by no process's limit); the zygote now
    mounts capped tmpfs of its own there (worker.private_scratch)."""
    session = sessions(level, DOS_LIMITS)
    fill = '''
import json, os, tempfile
written = {}
for folder in (".", tempfile.gettempdir(), "/tmp", "/scratch", "/var/tmp", "/dev/shm"):
    real = os.path.realpath(folder)
    if real in written:
        continue
    written[real] = 0
    for i in range(64 // %d):
        try:
            with open(os.path.join(folder, f"fill{i}"), "wb") as fh:
                for _ in range(%d):
                    fh.write(b"\\0" * (1 << 20))
                    written[real] += 1
        except OSError:
            break
for folder in (".", "/tmp", "/var/tmp", "/dev/shm"):      # room for the printed output (in scratch)
    for i in range(64):
        try:
            os.unlink(os.path.join(folder, f"fill{i}"))
        except OSError:
            pass
print("written MB", json.dumps(written))
''' % (DOS_LIMITS.fsize_mb, DOS_LIMITS.fsize_mb)
    result = session.grade(module(tmp_path, CAROL + fill))
    assert_all_promises(result, session, tmp_path)
    assert "written MB" in result.output, (result.output[-500:], [(c.status, c.error[:300]) for c in result.cells])
    written = json.loads(result.output.split("written MB", 1)[1].splitlines()[0])
    assert written and all(mb <= DOS_LIMITS.tmpfs_mb for mb in written.values()), written
    _machine_is_fine()
    assert_next_graded_fully(session, tmp_path)


def test_deep_locked_directory_tree_in_scratch(attack_session, tmp_path):
    tree = '''
import os
os.chdir(os.environ.get("HOME", "."))
for i in range(3000):
    os.mkdir("d")
    os.chdir("d")
    with open("f", "w") as fh:
        fh.write("x")
for i in range(3000):
    os.chmod(".", 0)
    os.chdir("..")
'''
    result = attack_session.grade(notebook(tmp_path, [CAROL, tree]))
    assert_all_promises(result, attack_session, tmp_path)
    assert_next_graded_fully(attack_session, tmp_path)


CPU_HOG = CAROL + '''
import os, time
_pipe_r, _pipe_w = os.pipe()
_hogs = []
for _ in range(3):
    _pid = os.fork()
    if _pid == 0:
        try:
            os.setsid()          # a session, hence a share of the CPU, of its own: refused
            _how = "setsid worked"
        except OSError as _exc:
            _how = f"setsid refused: {_exc.errno}"
        os.write(_pipe_w, f"{os.getsid(0)} {_how}\\n".encode())
        _end = time.time() + 0.3
        while time.time() < _end:
            pass                 # busy, as a hog would be
        os._exit(0)
    _hogs.append(_pid)
for _pid in _hogs:
    os.waitpid(_pid, 0)
os.close(_pipe_w)
_seen = os.read(_pipe_r, 4096).decode().split("\\n")
print("job session:", os.getsid(0), "hogs:", sorted(l for l in _seen if l))
'''


@pytest.mark.parametrize("level", LEVELS)
def test_a_cpu_hog_shares_one_session_with_its_job(sessions, tmp_path, level):
    """The red team's finding: a submission busy in 30 processes, each in a session of its own,
    took 30 of the scheduler's autogroup shares (it shares the CPU fairly between sessions), and an
    honest student graded beside it by another worker lost 10% of the grade to time-outs. setsid
    is refused: every process a job forks stays in the session the zygote gave the job, so together
    they get one share. Checked on the mechanism (the sessions the hogs end up in), not by timing
    two students against each other under whatever load the machine has. (Where the kernel does not
    group by session, a CPU cap across processes needs cgroups: not promised, see the README.)"""
    session = sessions(level)
    result = session.grade(module(tmp_path, CPU_HOG, "hog.py"))
    assert_all_promises(result, session, tmp_path)
    line = next(l for l in result.output.splitlines() if l.startswith("job session:"))
    job_sid = line.split()[2]
    hogs = line.split("hogs:", 1)[1]
    assert hogs.count(f"'{job_sid} setsid refused") == 3, line
    assert result.score == FULL


@pytest.mark.parametrize("level", LEVELS)
def test_realtime_priority_and_negative_nice_refused_whatever_the_grader_may(tmp_path, level):
    """A grader started where real-time priority or a higher priority is allowed (a container run
    with `--ulimit rtprio=99`, a systemd unit with LimitRTPRIO=, LimitNICE=): its workers inherit
    those limits. A job at SCHED_FIFO that busy-loops, or at nice -20, would take a core from
    everyone else (the grader, the student graded beside it); the job's own limits allow neither."""
    import resource

    saved = {which: resource.getrlimit(which) for which in (resource.RLIMIT_RTPRIO, resource.RLIMIT_NICE)}
    try:
        resource.setrlimit(resource.RLIMIT_RTPRIO, (99, 99))
        resource.setrlimit(resource.RLIMIT_RTPRIO, saved[resource.RLIMIT_RTPRIO])
    except (OSError, ValueError):
        pytest.skip("this grader cannot raise its own limits (no CAP_SYS_RESOURCE); "
                    "test_the_job_limits_take_away_real_time_and_priority checks the worker's side")
    probe = CAROL + '''
import os, resource
tried = {}
for name, call in (("fifo", lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))),
                   ("nice", lambda: os.setpriority(os.PRIO_PROCESS, 0, -20)),
                   ("rtprio", lambda: resource.setrlimit(resource.RLIMIT_RTPRIO, (99, 99)))):
    try:
        call()
        tried[name] = "DONE"
    except (OSError, ValueError) as exc:
        tried[name] = type(exc).__name__
os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
print("tried:", sorted(tried.items()))
'''
    try:
        resource.setrlimit(resource.RLIMIT_RTPRIO, (99, 99))
        resource.setrlimit(resource.RLIMIT_NICE, (40, 40))
        with Session(attack_config(None if level == "best" else level)) as session:
            result = session.grade(module(tmp_path, probe))
            assert_all_promises(result, session, tmp_path)
    finally:
        for which, limits in saved.items():
            resource.setrlimit(which, limits)
    line = next(l for l in result.output.splitlines() if l.startswith("tried:"))
    assert "DONE" not in line, line
    assert result.score == FULL


def test_the_job_limits_take_away_real_time_and_priority(monkeypatch):
    """The worker's side of the test above, where the grader cannot raise its limits to show it: a
    job's limits set RLIMIT_RTPRIO and RLIMIT_NICE to zero, whatever they were."""
    import resource

    from grader import worker

    set_to = {}
    monkeypatch.setattr(worker.resource, "getrlimit", lambda which: (99, resource.RLIM_INFINITY))
    monkeypatch.setattr(worker.resource, "setrlimit", lambda which, limits: set_to.__setitem__(which, limits))
    worker._set_limits({"cpu_seconds": 10})
    assert set_to.get(resource.RLIMIT_RTPRIO) == (0, 0) and set_to.get(resource.RLIMIT_NICE) == (0, 0), set_to


def test_threads_left_running(attack_session, tmp_path):
    """Non-daemon threads that keep writing files, and must be gone with the job. (Threads
    writing on the event pipe can garble the submission's own answers: see the tampering family.)"""
    _grade(attack_session, tmp_path, "1a", '''
import threading, time
def _noise():
    n = 0
    while True:
        n += 1
        with open(f"thread-{threading.get_ident()}-{n % 50}.txt", "w") as fh:
            fh.write("x" * 1000)
        time.sleep(0.01)
def sigmoid_jacobian(W, x):
    threading.Thread(target=_noise).start()
    return W * 0
for _ in range(8):
    threading.Thread(target=_noise, daemon=False).start()
''')


def test_a_thread_that_ends_the_process_as_a_call_returns(attack_session, tmp_path):
    """A case's answer is held until the next case starts (worker.Channel): a thread the submission
    left running ends the process the moment a call returns, in every fresh process. A held answer
    lost so is a crash of the submission's own case: never a pass, never another student's or
    another case's value, and the grader still settles every case."""
    result = attack_session.grade(module(tmp_path, with_function("1a", '''
import os, threading
_returned = threading.Event()
def _end():
    _returned.wait()
    os._exit(0)
threading.Thread(target=_end, daemon=True).start()
def sigmoid_jacobian(W, x):
    answer = _correct_sigmoid_jacobian(W, x)
    _returned.set()
    return answer
''')))
    # The thread may also end the process while a later case of another question already runs
    # (it did so before answers were held): whatever case it ends is the submission's own, charged
    # as crashed. No question earns more than its points, and the grader finishes every case.
    assert_all_promises(result, attack_session, tmp_path, attacked=POINTS)
    statuses = {c.status for q in result.questions for c in q.cases}
    assert "crashed" in statuses and statuses <= {"passed", "crashed"}, statuses


def test_closing_every_descriptor(attack_session, tmp_path):
    """Without its event pipe the process can report nothing: the cell is stopped and skipped."""
    path = notebook(tmp_path, [CAROL, "import os\nos.closerange(0, 4096)\nwhile True:\n    pass", "AFTER = 1"])
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path)
    assert result.cells[1].status in ("timeout", "crashed")


@pytest.mark.parametrize("level", LEVELS)
def test_network_is_unreachable(sessions, tmp_path, level, listener):
    session = sessions(level, DOS_LIMITS)
    targets = ["127.0.0.1"] + host_addresses()
    attack = f'''
import socket
for host in {targets!r}:
    try:
        socket.create_connection((host, {listener.port}), timeout=0.5).close()
        print("CONNECTED", host)
    except OSError as exc:
        print("blocked", host, type(exc).__name__, exc)
try:
    socket.create_connection(("1.1.1.1", 53), timeout=0.5).close()
    print("CONNECTED outside")
except OSError as exc:
    print("blocked outside", type(exc).__name__, exc)
'''
    result = session.grade(module(tmp_path, CAROL + attack))
    if level == "rlimits" and "landlock" not in result.isolation:
        pytest.skip("without Landlock the rlimits level does not cut the network (documented)")
    assert_all_promises(result, session, tmp_path)
    assert "CONNECTED" not in result.output and "blocked 127.0.0.1" in result.output, result.output
    assert listener.accepted == 0


FILE_BOMB = '''
import json, os, tempfile, time
counts = {}
deadline = time.time() + 3
for folder in dict.fromkeys(["/", "/dev/shm", os.path.realpath("."), os.path.realpath(tempfile.gettempdir()), "/tmp"]):
    made = 0
    try:
        os.mkdir(os.path.join(folder, "bomb"))
        while time.time() < deadline:
            for _ in range(1000):
                os.close(os.open(os.path.join(folder, "bomb", str(made)), os.O_CREAT | os.O_WRONLY, 0o600))
                made += 1
        counts[folder] = [made, "time"]
    except OSError as exc:
        counts[folder] = [made, exc.strerror]
print("FILES " + json.dumps(counts))
'''


def _assert_files_capped(output: str, cap: int) -> None:
    """Every folder the bomb could write to stopped it with ENOSPC at the cap, not at the deadline."""
    counts = json.loads(next(l for l in output.splitlines() if l.startswith("FILES "))[6:])
    writable = {k: v for k, v in counts.items() if v[0] or v[1] not in ("Permission denied", "Read-only file system")}
    assert writable and all(made <= cap and why == "No space left on device" for made, why in writable.values()), counts


@pytest.mark.parametrize("level", LEVELS)
def test_millions_of_empty_files(sessions, tmp_path, level):
    """A size limit bounds bytes, not files: millions of empty files in scratch or /tmp cost kernel
    memory (tmpfs inodes and dentries cannot be reclaimed) and minutes of clean-up. Where the grader
    runs as root, each is capped at `Limits.tmpfs_inodes` files; creating more fails with ENOSPC."""
    session = sessions(level)
    result = session.grade(notebook(tmp_path, [CAROL, FILE_BOMB]))
    assert_all_promises(result, session, tmp_path)
    _assert_files_capped(result.output, ATTACK_LIMITS.tmpfs_inodes)
    _machine_is_fine()
    assert_next_graded_fully(session, tmp_path)


def test_millions_of_empty_files_with_a_grader_that_is_not_root(nobody_dir):
    """The same at the bwrap level with a grader that is not root: the zygote mounts its own capped
    tmpfs, and bubblewrap's own root and /dev (which then belong to the student's uid) are read-only.
    (The rlimits level cannot cap files for a grader that is not root; see the README.)"""
    report = grade_as_nobody(nobody_dir, "bwrap", CAROL + FILE_BOMB, "bomb.py")
    assert report["score"] == FULL and report["isolation"] == "bwrap"
    _assert_files_capped(report["output"], Limits().tmpfs_inodes)
# ------------------------------------------------------------------------------------------------
# The trusted side's memory: whatever a submission returns, the grader stays small


PEAK_MB = 300                     # the grader's own peak resident memory, whatever a submission returns
HERE = Path(__file__).resolve().parent
# The answers' attacks are sized against the answer limit, which the child grader is given at a
# quarter of its default (ANSWER_MB: 2 MiB for one answer, 16 MiB for a submission's together): they
# move a quarter of the data (at the default 8 MiB the three tests took ~20 s of CPU, most of it
# making, sending and refusing answers, now ~12 s), and the memory they may add to the grader's own
# warm size scales with the limit: 15 MB plus 28 MB per MiB of it, the ~240 MB that PEAK_MB left
# over a warm size of ~60 MB at the default. Measured on the batch of four: 123 MB added at 8 MiB
# and 48 MB at 2 MiB; with every answer read kept to the end (a leak, made on purpose), 252 MB and
# 81 MB, which fail at either size.
ANSWER_MB = 2.0
GROWTH_MB = 15 + 28 * ANSWER_MB
SCALE = ANSWER_MB / ATTACK_LIMITS.answer_mb
ELEMENTS = int(5_000_000 * SCALE)     # the red team's answer size (40 MB of float64 per array), scaled: 9.5 MB
LARGEST = int(ANSWER_MB * 2**20) // 8     # numbers in the largest answer allowed

RETURN_EVERYTHING = '''
import numpy as _np
_N = {n}
_TEXT = {text}
def _big(*args, **kwargs):
    return _np.ones(_N)
def _big_dict(*args, **kwargs):
    keys = ("f", "i", "o", "c_tilde", "c", "h")
    return {{k: _np.ones(_N // len(keys)) for k in keys}}
sigmoid_jacobian = bptt_grad = bptt_terms = matrix_power_eig = lstm_cell_jacobian = cell_state_gradient = _big
lstm_step = lstm_gate_jacobians = _big_dict
gradient_regime = lambda W: "x" * _TEXT
W_30 = _np.ones(_N)
ALWAYS_POSITIVE = ["f"] * _TEXT
'''


def returning_everything(elements: int) -> str:
    """Every function and value of the homework answered with `elements` numbers (and a label and a
    list of gate names far over the answer limit)."""
    return RETURN_EVERYTHING.format(n=elements, text=int(10_000_000 * SCALE))


def _in_child(level: str, *args: str, case_seconds: float | None = None, answer_mb: float | None = None) -> dict:
    """Run tests/hostile/peak_memory.py: what it graded, and its own peak resident memory (and, with
    `answer_mb`, its warm size before the attacks: base_mb)."""
    env = {**os.environ, **({"CASE_SECONDS": str(case_seconds)} if case_seconds else {}),
           **({"ANSWER_MB": str(answer_mb)} if answer_mb else {})}
    proc = subprocess.run([sys.executable, str(HERE / "peak_memory.py"), level, *map(str, args)],
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def _messages(summary: dict) -> list[str]:
    return [message for status, message in summary["cases"].values()]


def _assert_small(report: dict) -> None:
    """What the attacks added to the child's warm size is bounded by the answer limit it had."""
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    grown = report["peak_mb"] - report["base_mb"]
    assert grown < GROWTH_MB, f"{grown:.0f} MB over a warm {report['base_mb']:.0f} MB"


@pytest.mark.parametrize("elements", [ELEMENTS, LARGEST], ids=["5M", "largest-allowed"])
def test_huge_answers_for_every_case_keep_the_grader_small(tmp_path, elements):
    """Every function returns arrays of 5M elements (scaled with the limit: far over it) or the
    largest answer allowed, for every case."""
    path = module(tmp_path, returning_everything(elements), "huge.py")
    report = _in_child("best", "grade", path, answer_mb=ANSWER_MB)
    _assert_small(report)
    attack, after = report["results"]
    assert attack["score"] == 0
    public = [m for uid, (s, m) in attack["cases"].items() if "/public/" in uid]
    if elements == ELEMENTS:
        assert any(m.startswith("answer too large: 9.54 MB, limit 2 MB") for m in public), public[:5]
    else:
        assert any("limit for one submission" in m for m in public), public[:5]
    assert after["score"] == FULL, "the next submission, graded by the same worker"


def test_a_batch_of_huge_submissions_keeps_the_grader_small(tmp_path):
    """Four such submissions graded at once, each worker's answers read by its own thread, three of
    them sending the largest answers allowed at the same time. (Two workers run the same code with
    fewer answers in flight: four covers it, and a second batch would cost ~6 s of CPU.)"""
    workers = 4
    folder = tmp_path / "class"
    folder.mkdir()
    huge = [f"s{i}" for i in range(workers)]
    for i, name in enumerate(huge):
        (folder / f"{name}.py").write_text(returning_everything(ELEMENTS if i == 0 else LARGEST), encoding="utf-8")
    (folder / "zz_correct.py").write_text(CAROL, encoding="utf-8")
    report = _in_child("best", "batch", folder, tmp_path / "out", workers, answer_mb=ANSWER_MB)
    _assert_small(report)
    scores = {r["submission"]: r["score"] for r in report["results"]}
    assert scores == {**{name: 0 for name in huge}, "zz_correct": FULL}


FORGED_LINES = PIPES + '''
import base64 as _b64
_CALLS = []
def _case_line(megabytes):
    """A well-formed answer event for the case being called, `megabytes` of numbers long."""
    case = _from_stack("case")
    job = _from_stack("job_id")
    b64 = _b64.b64encode(bytes(megabytes * 2**20)).decode()
    return (_json.dumps({"ev": "case", "job": job, "uid": case["uid"], "status": "ok",
                         "value": {"shape": [megabytes * 2**20 // 8], "b64": ""}})[:-3] + b64 + '"}}\\n').encode()
def sigmoid_jacobian(W, x):
    _CALLS.append(1)
    writers = _pipes()[0]
    if len(_CALLS) == 1:
        _write_all(writers, b"[" + b"0.5," * 2_500_000 + b"0.5]\\n")     # 10 MB of small numbers: not an event
        _write_all(writers, _case_line(40))                                # the red team's answer
    elif len(_CALLS) == 2:
        _write_all(writers, _case_line(18))                                # a 24 MB line
    return _correct_sigmoid_jacobian(W, x)
''' + STACK


def test_forged_huge_event_lines_fail_their_case_and_keep_the_grader_small(tmp_path):
    """The worker refuses to send an answer over the limit; the trusted side must not rely on it:
    the submission writes 53 MB and 24 MB answer lines (and a line of millions of numbers) straight
    onto the event pipe."""
    path = module(tmp_path, with_function("1a", FORGED_LINES), "forged.py")
    # 77 MB through the pipe in the first call: on a saturated machine that outlasted the usual 2 s,
    # and the alarm cut the forged line short (its size, not the time, is what is tested here)
    report = _in_child("best", "grade", path, case_seconds=30)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    attack, after = report["results"]
    messages = _messages(attack)
    assert "answer too large: 40 MB, limit 8 MB" in messages
    assert "answer too large: 18 MB, limit 8 MB" in messages
    assert {q: s for q, s in attack["questions"].items() if q != "1a"} == {q: p for q, p in POINTS.items() if q != "1a"}
    assert 0 < attack["questions"]["1a"] < POINTS["1a"]
    assert after["score"] == FULL


def test_answers_over_the_limit_fail_and_the_rest_is_graded(sessions, tmp_path):
    """In the sandbox itself: a too large answer fails its case, with the sizes, and nothing else.

    With the usual limits, not this family's half-second calls: nothing here is waited out, and
    making and measuring 38 MB outlasted half a second on a loaded machine (the case then timed
    out instead, and the size was never looked at)."""
    attack_session = sessions("best")
    result = _grade(attack_session, tmp_path, "3c-carousel", '''
import numpy as _np
def cell_state_gradient(fs):
    return _np.ones(5_000_000)
''')
    public = [c for q in result.questions if q.id == "3c-carousel" for c in q.public]
    assert public and all(c.message == "answer too large: 38.1 MB, limit 8 MB" for c in public), public[0].message
    assert_next_graded_fully(attack_session, tmp_path)


# 6 MB of import statements, under the hand-in cap (20 MB): the grader reads a hand-in's imports in
# its own process (to tell the student which module the graded environment lacks), and a parse of
# all of it built a tree of every statement there (15 MB of them: 2.6 GB and 13 s of the trusted
# process's CPU; these 6 MB: over 1 GB). Smaller than the cap so that the bound holds with room
# for what a hand-in's own size costs (read, sent to the worker: ~120 MB for 15 MB, and twice
# that once in a loaded suite run).
IMPORT_FLOOD = "import os\n" * 600_000


def test_a_flood_of_import_statements_keeps_the_grader_small(tmp_path):
    """As a module, and as a notebook of sixteen 250 kB cells (each small, 4 MB together)."""
    flood_module = module(tmp_path, CAROL + IMPORT_FLOOD, "imports.py")
    cells = [CAROL] + ["import os\n" * 25_000] * 16
    flood_notebook = notebook(tmp_path, cells, "imports.ipynb")
    report = _in_child("best", "grade", flood_module, flood_notebook)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    as_module, as_notebook, after = report["results"]
    assert as_module["status"] and as_notebook["status"]          # each an answer
    assert after["score"] == FULL, "the next submission, graded by the same worker"


def test_a_source_the_graders_parser_cannot_take_costs_only_its_own_grade(attack_session, tmp_path):
    """Sources that make the grader's own parse of their imports fail (nested 200,000 deep: a
    MemoryError; 300 parentheses: a SyntaxError), in a batch: the parse is process-wide and one
    thread at a time (grader.pysource), so a failed one must release it; the students after them
    are parsed and graded in full, and the attackers get their own answers."""
    import threading

    from grader.batch import run_batch

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a_deep.py").write_text(CAROL + "import os\nx = " + "-" * 200_000 + "1\n", encoding="utf-8")
    (folder / "b_parens.py").write_text(CAROL + "import os\nx = " + "(" * 300 + "1" + ")" * 300 + "\n",
                                        encoding="utf-8")
    (folder / "c_torch.py").write_text(CAROL + "import torch_is_not_here\n", encoding="utf-8")
    (folder / "d_correct.py").write_text(CAROL, encoding="utf-8")
    # In a thread of its own: a parse lock left held would stop the batch's next parse forever.
    done: list = []
    batch = threading.Thread(daemon=True, target=lambda: done.append(run_batch(
        folder, tmp_path / "out", attack_session.config, session=attack_session, progress=False)))
    batch.start()
    batch.join(ANSWER_BOUND)
    assert done, f"the batch did not finish within {ANSWER_BOUND:g} s"
    by_name = {r.submission: r for r in done[0].results}
    assert set(by_name) == {"a_deep", "b_parens", "c_torch", "d_correct"}
    assert by_name["d_correct"].score == FULL
    assert all(r.status for r in by_name.values())
    # parsed after the failures: its import of a module the environment lacks is still read ahead
    assert any("torch_is_not_here" in p.message for p in by_name["c_torch"].problems)


def _wide_notebook(path: Path, megabytes: int = 19) -> Path:
    """A correct notebook whose metadata holds `megabytes` of empty JSON objects (`{},{},...`): three
    characters of text each, ~70 bytes each once parsed (20 MB of them took the grader to 550 MB)."""
    nb = {"cells": [{"cell_type": "code", "source": CAROL, "metadata": {}, "outputs": [], "execution_count": 1}],
          "metadata": {"kernelspec": {"name": "python3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    head = json.dumps(nb)[:-1]
    count = (megabytes * 2**20 - len(head)) // 3
    path.write_text(head + ', "junk": [' + ",".join(["{}"] * count) + "]}", encoding="utf-8")
    return path


def test_a_notebook_of_millions_of_empty_objects_keeps_the_grader_small(tmp_path):
    """Within the 20 MB a hand-in may be, JSON whose values are tiny (`{}`, `[]`, `1.5`) is 10-25 times
    larger parsed than as text: the trusted side reads it (the grading, the work view, the copying
    evidence) in bounded memory, refuses it with a plain message, and grades the next student."""
    folder = tmp_path / "class"
    folder.mkdir()
    _wide_notebook(folder / "wide.ipynb")
    (folder / "zz_correct.py").write_text(CAROL, encoding="utf-8")
    report = _in_child("best", "batch", folder, tmp_path / "out", 1)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    by_name = {r["submission"]: r for r in report["results"]}
    assert by_name["wide"]["score"] == 0 and by_name["wide"]["status"] == UNREADABLE
    assert by_name["zz_correct"]["score"] == FULL


def test_markdown_that_grows_twentyfold_when_drawn_keeps_the_work_page_and_the_grader_small(tmp_path):
    """The work view draws every cell of a notebook: 1,000 markdown cells of `$a$a$a...` (18 MB, within
    the 20 MB limit) became 392 MB of MathML in work.html, and 1.6 GB in the grader's process. The
    page is bounded as a whole: past its bound, the cells left are named, not drawn."""
    folder = tmp_path / "class"
    folder.mkdir()
    cells = [{"cell_type": "code", "source": CAROL, "metadata": {}, "outputs": [], "execution_count": 1}]
    cells += [{"cell_type": "markdown", "source": "$a" * 9000, "metadata": {}} for _ in range(1000)]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (folder / "dollars.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (folder / "zz_correct.py").write_text(CAROL, encoding="utf-8")
    out = tmp_path / "out"
    report = _in_child("best", "batch", folder, out, 1)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    assert {r["submission"]: r["score"] for r in report["results"]} == {"dollars": FULL, "zz_correct": FULL}
    page = next(out.glob("students/dollars-*/work.html"))
    assert page.stat().st_size < 40 * 2**20, page.stat().st_size
    assert "not shown" in page.read_text(encoding="utf-8")[-20000:]


def test_a_huge_string_literal_keeps_the_copying_comparison_small(tmp_path):
    """The copying evidence reads every student's code in the grader's own process: a module holding
    one 16 MB string literal (escapes in it) took that process to 2.1 GB, in the regular expression
    that finds the code's strings (a backtracking state per character) and the map from each
    compared character back to the code. Both are bounded now: the module is graded, and the batch
    stays small."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "bigstr.py").write_text(CAROL + '\n_s = "' + "ab\\n" * (4 * 2**20) + '"\n', encoding="utf-8")
    (folder / "zz_correct.py").write_text(CAROL, encoding="utf-8")
    report = _in_child("best", "batch", folder, tmp_path / "out", 1)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    assert {r["submission"]: r["score"] for r in report["results"]} == {"bigstr": FULL, "zz_correct": FULL}
    assert (tmp_path / "out" / "similarity.html").is_file()


def test_the_work_view_draws_a_bounded_amount_of_markdown():
    """Markdown is drawn by pure-Python parsers that take up to a third of a second for one 20,000-
    character cell of `![![![...` (what one cell may show): 800 such cells, within the 20 MB limit,
    held the writer for four minutes on one student. Past a bound on the markdown drawn, the
    cells are shown as their source (escaped), which costs nothing. (Plain prose here: the bound
    is on characters, and prose keeps the test fast.)"""
    from grader.render import notebook as work

    distinct = [f"cell {i}: $a_{{{i}}}$ " + "lorem ipsum " * 1500 for i in range(200)]
    text = json.dumps({"cells": [{"cell_type": "markdown", "source": s, "metadata": {}} for s in distinct],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    page = str(work.notebook_html(text, {}))
    drawn = [i for i in range(200) if f'cell {i}: <span class="math' in page]
    as_source = [i for i in range(200) if f"cell {i}: $a_{{{i}}}$" in page]
    assert drawn and drawn == list(range(len(drawn))) and len(drawn) * 18_000 <= 2 * work.MARKDOWN_LIMIT
    assert as_source == list(range(len(drawn), 200))
