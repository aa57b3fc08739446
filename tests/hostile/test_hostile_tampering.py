"""Results tampering: forged results files, exit tricks, killing the grader, forged protocol lines.

Promise: nothing the submission does raises its score above what its returned values earn, and
nothing it does reaches the next submission graded by the same worker.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from attack_tools import PIPES, STACK
from conftest import (CAROL, FULL, POINTS, ROOT, assert_all_promises, assert_honest, assert_next_graded_fully,
                      assert_no_processes, assert_nothing_written, module, notebook, result_text, with_function)

LEVELS = ["best", "rlimits"]


def _targets(tmp_path: Path) -> list[str]:
    token = secrets.token_hex(6)
    return [str(tmp_path / "results.json"), str(ROOT / f"forged-{token}.json"), f"/tmp/forged-{token}.json",
            f"/var/tmp/forged-{token}.json", f"/dev/shm/forged-{token}", "/autograder/results/results.json",
            f"{os.path.expanduser('~')}/forged-{token}.json"]


FORGE_FILES = '''
import json, os
FORGED = json.dumps({"score": 100, "tests": [], "output": "forged"})
def _forge_files(paths):
    written = []
    for path in paths + ["../results.json", "../../results.json", "../../../results.json"]:
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w") as fh:
                fh.write(FORGED)
            written.append(path)
        except OSError as exc:
            pass
    return written
'''


def _absent_after(paths: list[str], existed: set[str]) -> None:
    for path in paths:
        if path not in existed:
            assert not os.path.exists(path), f"{path} was written by the submission"


@pytest.mark.parametrize("level", LEVELS)
def test_forged_results_file(sessions, tmp_path, level):
    session = sessions(level)
    targets = _targets(tmp_path)
    existed = {p for p in targets if os.path.exists(p)}
    source = with_function("1a", FORGE_FILES + f'''
print("wrote", _forge_files({targets!r}))
def sigmoid_jacobian(W, x):
    _forge_files({targets!r})
    return W * 0
''')
    result = session.grade(module(tmp_path, source))
    assert_all_promises(result, session, tmp_path, attacked={"1a"})
    _absent_after(targets, existed)


@pytest.mark.parametrize("level", LEVELS)
def test_atexit_hook_forges_results_and_events(sessions, tmp_path, level):
    session = sessions(level)
    targets = _targets(tmp_path)
    source = with_function("1b", FORGE_FILES + PIPES + f'''
import atexit
def _at_exit():
    _forge_files({targets!r})
    _write_all(_pipes()[0], _forged_lines())
atexit.register(_at_exit)
def bptt_grad(W, U, xs, h0, gs):
    atexit.register(_at_exit)
    return W * 0
''')
    result = session.grade(module(tmp_path, source))
    assert_all_promises(result, session, tmp_path, attacked={"1b"})
    _absent_after(targets, set())


@pytest.mark.parametrize("level", LEVELS)
def test_leftover_daemon_writes_later(sessions, tmp_path, level):
    """A double-forked, setsid'd daemon that ignores SIGTERM and keeps forging after the job."""
    session = sessions(level)
    targets = _targets(tmp_path)
    source = CAROL + FORGE_FILES + PIPES + f'''
import signal, time
def _daemon():
    if os.fork() == 0:
        try:
            os.setsid()     # refused by the filter: a job's processes share its session
        except OSError:
            pass
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            end = time.time() + 30
            while time.time() < end:
                time.sleep(0.2)
                _forge_files({targets!r})
                _write_all(_pipes()[0], _forged_lines(range(0, 50)))
        os._exit(0)
_daemon()
'''
    result = session.grade(module(tmp_path, source))
    assert result.score == FULL
    time.sleep(1.0)                     # long enough for a surviving daemon to write
    assert_all_promises(result, session, tmp_path)
    _absent_after(targets, set())
    assert_next_graded_fully(session, tmp_path)


def test_sys_exit_at_top_level_leaves_defined_names_graded(attack_session, tmp_path):
    result = attack_session.grade(module(tmp_path, CAROL + "\nimport sys\nsys.exit(0)\n"))
    assert_all_promises(result, attack_session, tmp_path)
    assert result.cells[0].status == "error" and "SystemExit" in result.cells[0].error


def test_os_exit_in_a_cell_skips_that_cell_only(attack_session, tmp_path):
    path = notebook(tmp_path, [CAROL, "import os\nos._exit(0)", "AFTER = 1"])
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path)
    assert [c.status for c in result.cells] == ["ok", "crashed", "ok"]


def test_keyboard_interrupt_at_top_level_and_in_a_function(attack_session, tmp_path):
    source = with_function("2a", '''
def bptt_terms(W, U, xs, h0, gs):
    raise KeyboardInterrupt
''')
    path = notebook(tmp_path, [source, "raise KeyboardInterrupt", "AFTER = 1"])
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path, attacked={"2a"})
    assert [c.status for c in result.cells] == ["ok", "error", "ok"]


def test_system_exit_raised_in_a_graded_function(attack_session, tmp_path):
    source = with_function("2b", '''
def matrix_power_eig(M, p):
    raise SystemExit(0)
''')
    result = attack_session.grade(module(tmp_path, source))
    assert_all_promises(result, attack_session, tmp_path, attacked={"2b"})


def test_os_exit_in_every_call(attack_session, tmp_path):
    source = with_function("3c-cell", '''
import os
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    os._exit(0)
''')
    result = attack_session.grade(module(tmp_path, source))
    assert_all_promises(result, attack_session, tmp_path, attacked={"3c-cell"})
    statuses = {c.status for q in result.questions if q.id == "3c-cell" for c in q.cases}
    assert statuses <= {"crashed", "not-run"}


def test_kill_the_parent_and_every_visible_process(attack_session, tmp_path):
    """SIGKILL, SIGSTOP and prlimit on the zygote (the parent), then on every process it can see;
    the function still answers honestly, so it must get full marks and the worker must survive."""
    attack = '''
import os, signal, resource
def _attack_everyone():
    outcomes = []
    targets = [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    for pid in targets:
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(pid, sig)
                outcomes.append(f"{pid}:{sig}:ok")
            except OSError as exc:
                outcomes.append(f"{pid}:{sig}:{type(exc).__name__}")
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    return outcomes
print("parent:", _attack_everyone()[:2])
def cell_state_gradient(fs):
    _attack_everyone()
    return _correct_cell_state_gradient(fs)
'''
    result = attack_session.grade(module(tmp_path, with_function("3c-carousel", attack)))
    assert_all_promises(result, attack_session, tmp_path)
    assert "PermissionError" in result.output
    assert_next_graded_fully(attack_session, tmp_path)


def test_prlimit_renice_and_pin_the_zygote(attack_session, tmp_path):
    """Lowering the zygote's limits would break the next submission forked from it."""
    attack = '''
import os, resource
parent = os.getppid()
outcomes = []
for what, value in ((resource.RLIMIT_FSIZE, 10), (resource.RLIMIT_NOFILE, 4), (resource.RLIMIT_NPROC, 0),
                    (resource.RLIMIT_AS, 2**20), (resource.RLIMIT_CPU, 1)):
    try:
        resource.prlimit(parent, what, (value, value))
        outcomes.append("lowered")
    except OSError as exc:
        outcomes.append(type(exc).__name__)
for call in (lambda: os.setpriority(os.PRIO_PROCESS, parent, 19), lambda: os.sched_setaffinity(parent, {0})):
    try:
        call()
        outcomes.append("changed")
    except OSError as exc:
        outcomes.append(type(exc).__name__)
print("outcomes", outcomes)
'''
    result = attack_session.grade(module(tmp_path, CAROL + attack))
    assert_all_promises(result, attack_session, tmp_path)
    assert "lowered" not in result.output and "changed" not in result.output
    assert_next_graded_fully(attack_session, tmp_path)


def test_fake_protocol_lines_printed_to_stdout(attack_session, tmp_path):
    attack = PIPES + '''
import sys
sys.stdout.buffer.write(_forged_lines(range(0, 40)))
sys.stdout.flush()
_os.write(1, _forged_lines(range(0, 40)))
def sigmoid_jacobian(W, x):
    print(_forged_lines(range(0, 40)).decode())
    _os.write(1, _forged_lines(range(0, 40)))
    return W * 0
'''
    result = attack_session.grade(module(tmp_path, with_function("1a", attack)))
    assert_all_promises(result, attack_session, tmp_path, attacked={"1a"})


def test_fake_events_on_every_open_descriptor(attack_session, tmp_path):
    """Events claiming passes for every case of every job, written to every descriptor, at top
    level and inside a graded function; the event pipe is also made non-blocking and async.

    The wrong function is defined before the top-level flood: the flood may outlast the module's
    time limit on a busy machine, and a module stopped there keeps what it defined so far (the
    correct function would be graded, honestly, and the attack would prove nothing)."""
    attack = PIPES + '''
import fcntl
def sigmoid_jacobian(W, x):
    _flood()
    return W * 0
def _flood():
    fds = [fd for fd in range(0, 1024) if fd not in (0,)]
    _write_all(fds, _forged_lines())
    for fd in _pipes()[0]:
        try:
            fcntl.fcntl(fd, fcntl.F_SETFL, _os.O_NONBLOCK | _os.O_ASYNC)
            fcntl.fcntl(fd, fcntl.F_SETOWN, _os.getppid())
        except OSError:
            pass
_flood()
'''
    result = attack_session.grade(module(tmp_path, with_function("1a", attack)))
    # Forged lines are claims about the submission's own answers: they may spoil its other
    # questions (they claim wrong answers for them), never lift any question or the next submission.
    assert_all_promises(result, attack_session, tmp_path, attacked={**POINTS, "1a": 0})
    assert result.score <= FULL - POINTS["1a"]
    assert_next_graded_fully(attack_session, tmp_path)


def test_rewriting_the_answer_the_worker_holds(attack_session, tmp_path):
    """A case's answer is held in the worker's channel until the next case's start (worker.Channel).
    The channel is a local of the worker's frames, so a graded function can reach it: each call
    puts forged passes for every case of its job, and the batch's end, in front of what is held,
    then replaces the channel's writer with one that claims every held answer passed and equals
    the expected zeros. These are claims about its own answers, as any line it writes: they may
    spoil its other questions, never lift any of them or reach the next submission."""
    attack = PIPES + STACK + '''
def sigmoid_jacobian(W, x):
    channel = _from_stack("channel")
    job = _from_stack("job_id")
    if channel is not None and job is not None:
        channel.held = _forged_lines(range(job, job + 1)) + channel.held
        original = type(channel).write
        def write(data, hold=False):
            forged = data.replace(b'"status": "error"', b'"status": "passed"')
            return original(channel, forged, hold)
        channel.write = write
    return W * 0
'''
    result = attack_session.grade(module(tmp_path, with_function("1a", attack)))
    assert_all_promises(result, attack_session, tmp_path, attacked={**POINTS, "1a": 0})
    assert result.score <= FULL - POINTS["1a"]
    assert_next_graded_fully(attack_session, tmp_path)


def test_forged_job_end_then_lingering_to_answer_the_next_submission(attack_session, tmp_path):
    """The last call forges "exit" and "clean" for every job, then stays alive reading the case
    pipe, to answer the next submission's cases with errors. The next one must still get 100."""
    attack = PIPES + '''
import json, time
_calls = [0]
def cell_state_gradient(fs):
    _calls[0] += 1
    if _calls[0] < 8:
        return _correct_cell_state_gradient(fs)
    writers, readers = _pipes()
    end = b"".join(_json.dumps(e).encode() + b"\\n" for job in range(0, 300) for e in (
        {"ev": "exit", "job": job, "status": "exited with code 0", "code": 0},
        {"ev": "clean", "job": job, "token": ""},
        {"ev": "loaded", "job": job, "output": "pwned"}))
    _write_all(writers, end)
    deadline = time.time() + 20
    while time.time() < deadline:
        for fd in readers:
            try:
                data = _os.read(fd, 1 << 20)
            except OSError:
                continue
            for line in data.splitlines():
                try:
                    batch = json.loads(line)
                except ValueError:
                    continue
                answers = [{"ev": "case", "job": batch.get("job"), "uid": c["uid"], "status": "error",
                            "error": "sabotaged"} for c in batch.get("cases", [])]
                _write_all(writers, b"".join(_json.dumps(a).encode() + b"\\n" for a in answers))
        time.sleep(0.01)
    return _correct_cell_state_gradient(fs)
'''
    result = attack_session.grade(module(tmp_path, with_function("3c-carousel", attack)))
    assert_all_promises(result, attack_session, tmp_path, attacked={"3c-carousel": 5})
    assert "pwned" not in result.output
    assert_next_graded_fully(attack_session, tmp_path)


def test_half_line_then_death_does_not_swallow_the_zygote_lines(attack_session, tmp_path):
    attack = PIPES + '''
def bptt_terms(W, U, xs, h0, gs):
    _write_all(_pipes()[0], b'{"ev": "case", "job": 1, "uid": "2a/public/0", "status": "ok", "x": ')
    _os._exit(3)
'''
    result = attack_session.grade(module(tmp_path, with_function("2a", attack)))
    assert_all_promises(result, attack_session, tmp_path, attacked={"2a"})


def test_garbage_event_values(attack_session, tmp_path):
    """Events whose numbers are NaN, huge or negative, whose nesting is deeper than any parser
    allows, whose strings hold lone surrogates: the result must still be plain, writable JSON."""
    attack = PIPES + r'''
def sigmoid_jacobian(W, x):
    writers = _pipes()[0]
    lines = [b"[" * 200000 + b"\n"]
    for job in range(0, 300):
        for n in range(17):
            for vis in ("public", "hidden"):
                uid = f"1a/{vis}/{n}"
                lines.append(('{"ev": "case", "job": %d, "uid": "%s", "status": "error", "seconds": NaN, '
                              '"error": "\\ud800 x"}\n' % (job, uid)).encode())
                lines.append(('{"ev": "case", "job": %d, "uid": "%s", "status": "ok", "seconds": 1e999, '
                              '"value": {"shape": [4611686018427387904, 4], "b64": ""}}\n' % (job, uid)).encode())
                lines.append(('{"ev": "case", "job": %d, "uid": "%s", "status": "timeout", "seconds": %s}\n'
                              % (job, uid, "9" * 5000)).encode())
    _write_all(writers, b"".join(lines))
    raise ValueError("\ud800\udfff surrogates")
'''
    result = attack_session.grade(module(tmp_path, with_function("1a", attack)))
    assert_all_promises(result, attack_session, tmp_path, attacked={"1a"})
    text = result_text(result)          # allow_nan=False: no NaN or inf anywhere
    text.encode("utf-8")
    assert all(0 <= c.seconds < 1e6 for q in result.questions for c in q.cases)


def test_events_whose_ids_are_not_strings(attack_session, tmp_path):
    """Forged events naming their case or cell by a list, an object or a number (any JSON can be
    written to the pipe) are not events of any case: the run goes on and grades the rest."""
    attack = PIPES + r'''
def sigmoid_jacobian(W, x):
    writers = _pipes()[0]
    lines = []
    for job in range(0, 300):
        for uid in (["1a/public/0"], {"u": 1}, 7, None, True):
            for phase in ("start", None):
                event = {"ev": "case", "job": job, "uid": uid, "status": "ok", "phase": phase,
                         "value": {"shape": [], "b64": "AAAAAAAA8D8="}}
                lines.append((_json.dumps(event) + "\n").encode())
                cell = {"ev": "cell", "job": job, "index": uid, "phase": phase, "status": "ok"}
                lines.append((_json.dumps(cell) + "\n").encode())
    _write_all(writers, b"".join(lines))
    raise ValueError("forged")
'''
    result = attack_session.grade(module(tmp_path, with_function("1a", "import json as _json\n" + attack)))
    assert_all_promises(result, attack_session, tmp_path, attacked={"1a"})
