"""Denial of service: hangs, bombs, crashes, floods, full disks, network.

Promises: the grader answers within a bound whatever the submission does; the attacked question
(or cell) is stopped and earns nothing; the other questions are graded in full; nothing of the
submission is left running; the machine stays usable; the next submission is graded in full.
Bounds are generous on purpose (ANSWER_BOUND): these tests check that the grader ends, not how fast.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import pytest

from attack_tools import PIPES, STACK
from nonroot import grade_as_nobody, nobody_dir  # noqa: F401 - a fixture
from conftest import (ATTACK_LIMITS, CAROL, DOS_LIMITS, FULL, PLAIN_RLIMITS, POINTS, assert_all_promises, assert_next_graded_fully,
                      attack_config, host_addresses, module, new_session, notebook, with_function)
from grader.runner import Limits

LEVELS = ["best", "rlimits"]


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
    error, reported as such; the cell neither takes down its job nor costs the other cells.

    Compiling the 500,000 terms takes ~1 s on a quiet machine and can outlast the 2 s cell limit on
    a busy one: either way that cell alone fails (its error, or its time-out), and the rest runs."""
    cells = [CAROL, "x = " + "-" * 200000 + "1", "y = " + "+".join(["1"] * 500000), "AFTER = 1\nprint('after ran')"]
    result = attack_session.grade(notebook(tmp_path, cells))
    assert_all_promises(result, attack_session, tmp_path)
    statuses = [c.status for c in result.cells]
    assert statuses[:2] == ["ok", "error"] and statuses[3] == "ok", statuses
    assert "MemoryError" in result.cells[1].error
    assert statuses[2] in ("error", "timeout"), statuses
    if statuses[2] == "error":
        assert "RecursionError" in result.cells[2].error
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
        with new_session(attack_config(None if level == "best" else level)) as session:
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
