"""Leaks: the reference, the secret and the hidden cases must not reach student code or a report.

Promises: the reference module and the grader's configuration are not importable or readable in
the sandbox; the secret never appears in a result; hidden inputs are shown only as pass/fail,
whatever channel the submission tries (exception messages, prints, public cases answered after
hidden ones, files or shared memory left for a later job or a colluding next submission).
"""
from __future__ import annotations

import pytest

from attack_tools import PIPES
from conftest import (CANARY_SECRET, CAROL, FULL, POINTS, assert_all_promises, assert_no_hidden_inputs,
                      hidden_numbers, module, with_function)
from grader.config import DEMO_SECRET

LEVELS = ["best", "rlimits"]


@pytest.mark.parametrize("level", LEVELS)
def test_importing_the_reference_and_the_grader(sessions, tmp_path, level):
    session = sessions(level)
    source = with_function("1a", '''
import importlib, sys
for extra in ("/work/main", "/work", "..", "/opt", "/opt/grader-worker", "/app", "/autograder/source"):
    sys.path.append(extra)
found = {}
for name in ("reference", "assignments.hw3", "assignments", "grader", "grader.caseset", "grader.config",
             "caseset", "config", "sandbox", "runner"):
    try:
        importlib.import_module(name)
        found[name] = "IMPORTED"
    except BaseException as exc:
        found[name] = type(exc).__name__
print("imports:", found)
def sigmoid_jacobian(W, x):
    import reference
    return reference.sigmoid_jacobian(W, x)
''')
    result = session.grade(module(tmp_path, source))
    assert_all_promises(result, session, tmp_path, attacked={"1a"})
    assert "IMPORTED" not in result.output and "imports:" in result.output


def test_searching_the_disk_for_the_reference_and_the_secret(attack_session, tmp_path):
    source = CAROL + f'''
import os, time
needles = [b"def bptt_grad", b"def lstm_cell_jacobian", b"hw3-demo-secret", {CANARY_SECRET.encode()!r},
           b"GRADER_SECRET", b"secret_file"]
own = os.path.realpath(".")
found, seen, deadline = [], 0, time.time() + 1.5
for root, dirs, files in os.walk("/"):
    if time.time() > deadline:
        break
    if root.startswith(("/proc", "/sys", "/dev", "/usr/share", "/usr/lib", "/usr/include")) or root.startswith(own):
        dirs[:] = []
        continue
    for name in ("reference", "assignments", "grader"):      # an installed grader, if any, is hidden
        if "site-packages" in root and os.path.isfile(os.path.join(root, name, "__init__.py")):
            try:
                open(os.path.join(root, name, "__init__.py")).read(1)
                found.append(os.path.join(root, name))
            except OSError:
                pass
    dirs[:] = [d for d in dirs if d != "__pycache__" and not (root.endswith("site-packages") and d != "reference")]
    for name in files:
        path = os.path.join(root, name)
        if name.endswith((".so", ".a", ".pyc")):
            continue
        try:
            with open(path, "rb") as fh:
                data = fh.read(1 << 20)
        except OSError:
            continue
        seen += 1
        if any(n in data for n in needles):
            found.append(path)
print("searched", seen, "found", found[:20])
'''
    result = attack_session.grade(module(tmp_path, source))
    assert_all_promises(result, attack_session, tmp_path)
    assert "found []" in result.output, result.output[-2000:]
    assert int(result.output.split("searched")[1].split()[0]) > 50   # it did look


@pytest.mark.parametrize("level", LEVELS)
def test_proc_environ_cmdline_and_memory_maps(sessions, tmp_path, level):
    session = sessions(level)
    source = CAROL + '''
import os
loot = {"env": dict(os.environ)}
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for what in ("environ", "cmdline", "maps", "status", "mem"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as fh:
                loot[f"{pid}/{what}"] = fh.read(100000).decode("latin-1")
        except OSError as exc:
            loot[f"{pid}/{what}"] = type(exc).__name__
text = repr(loot)
print("secret found" if ("GRADER_SECRET" in text or "hw3-demo" in text) else "secret not found")
print(text[:15000])
'''
    result = session.grade(module(tmp_path, source))
    assert_all_promises(result, session, tmp_path)
    assert "secret not found" in result.output
    assert DEMO_SECRET not in result.output


def test_echoing_inputs_through_exceptions_and_exit_codes(attack_session, tmp_path):
    """Every function raises (or exits) with its inputs in the message, or prints them."""
    source = CAROL + '''
import os
def _echo(*args):
    text = repr([a.tolist() if hasattr(a, "tolist") else a for a in args])
    print(text)
    raise ValueError(text)
def sigmoid_jacobian(W, x): _echo(W, x)
def bptt_grad(W, U, xs, h0, gs): _echo(W, U, xs, h0, gs)
def bptt_terms(W, U, xs, h0, gs): os._exit(int(abs(float(W.ravel()[0])) * 1000) % 256)
def matrix_power_eig(M, p): raise KeyError(repr(M.tolist()))
def lstm_step(params, x, h_prev, c_prev): raise RuntimeError(repr({k: v.tolist() for k, v in params.items()}))
'''
    result = attack_session.grade(module(tmp_path, source))
    assert_all_promises(result, attack_session, tmp_path, attacked={"1a", "1b", "2a", "2b", "3-step"})


def test_public_cases_answered_after_hidden_ones_cannot_carry_them(attack_session, tmp_path):
    """Inputs seen so far are kept and put into every later message: public cases must all be
    answered before any hidden input reaches the process."""
    source = CAROL + '''
SEEN = []
def _remember(*args):
    SEEN.append(repr([a.tolist() if hasattr(a, "tolist") else a for a in args]))
    raise ValueError(" ".join(SEEN)[-1500:])
def sigmoid_jacobian(W, x): _remember(W, x)
def matrix_power_eig(M, p): _remember(M, p)
def cell_state_gradient(fs): _remember(fs)
def lstm_cell_jacobian(params, x, c_prev, o_prev): _remember(x, c_prev, o_prev)
'''
    result = attack_session.grade(module(tmp_path, source))
    assert_all_promises(result, attack_session, tmp_path, attacked={"1a", "2b", "3c-carousel", "3c-cell"})


def test_reading_the_hidden_cases_early_from_the_case_pipe(attack_session, tmp_path):
    """At top level, forge "loaded" and public answers to have the hidden batch sent while the
    program is still being executed, then print the hidden inputs as top-level output."""
    source = CAROL + PIPES + '''
import json, select, time
def _steal():
    writers, readers = _pipes()
    jobs = range(0, 60)
    _write_all(writers, b"".join(_json.dumps({"ev": "loaded", "job": j, "output": "early"}).encode() + b"\\n"
                                 for j in jobs))
    stolen, deadline, buf = [], time.time() + 2.0, b""
    while time.time() < deadline:
        ready, _, _ = select.select(readers, [], [], 0.1)
        for fd in ready:
            buf += _os.read(fd, 1 << 20)
        while b"\\n" in buf:
            line, buf = buf.split(b"\\n", 1)
            try:
                batch = json.loads(line)
            except ValueError:
                continue
            stolen.append(line.decode()[:5000])
            # answer this batch at once, so that the next (hidden) one is sent
            answers = [{"ev": "case", "job": batch["job"], "uid": c["uid"], "status": "error", "error": "x"}
                       for c in batch["cases"]]
            answers.append({"ev": "done", "job": batch["job"], "batch": batch.get("batch")})
            _write_all(writers, b"".join(_json.dumps(a).encode() + b"\\n" for a in answers))
    return stolen
STOLEN = _steal()
print("stolen batches:", len(STOLEN))
for text in STOLEN:
    print(text)
'''
    result = attack_session.grade(module(tmp_path, source))
    # It answered its own public cases with errors: those are its claims. Nothing hidden may show.
    assert_all_promises(result, attack_session, tmp_path, attacked=dict(POINTS))
    assert_no_hidden_inputs(result, attack_session)


@pytest.mark.parametrize("level", LEVELS)
def test_hidden_inputs_left_behind_for_the_next_submission(sessions, tmp_path, level):
    """One submission stores every input it sees in files, System V shared memory and message
    queues; the next one, graded by the same worker, prints whatever it finds. Nothing hidden
    may reach the second one's report."""
    session = sessions(level)
    stash = '''
import ctypes, os, glob
_libc = ctypes.CDLL(None, use_errno=True)
_KEY = 0x5EC2E7
def _stash(text):
    data = text.encode()[:60000]
    for path in ("/tmp/stash.txt", "stash.txt", "/scratch/stash.txt", "/var/tmp/stash.txt", "/dev/shm/stash.txt",
                 os.path.expanduser("~/stash.txt"), "../stash.txt"):
        try:
            with open(path, "ab") as fh:
                fh.write(data + b"\\n")
        except OSError:
            pass
    shmid = _libc.shmget(_KEY, 1 << 16, 0o1666)
    if shmid >= 0:
        _libc.shmat.restype = ctypes.c_void_p
        addr = _libc.shmat(shmid, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            ctypes.memmove(addr, data, len(data))
'''
    first = with_function("3c-carousel", stash + '''
_seen = []
def cell_state_gradient(fs):
    _seen.append(repr(fs.tolist()))
    _stash(" ".join(_seen))
    return _correct_cell_state_gradient(fs)
''')
    result = session.grade(module(tmp_path, first, "first.py"))
    assert_all_promises(result, session, tmp_path, attacked={"3c-carousel": 5})

    second = CAROL + '''
import ctypes, glob, os
found = []
for pattern in ("/tmp/*", "/tmp/.*", "*", "/scratch/*", "/var/tmp/*", "/dev/shm/*", os.path.expanduser("~/*"), "../*"):
    for path in glob.glob(pattern):
        try:
            with open(path, "rb") as fh:
                found.append(path + ": " + fh.read(20000).decode("latin-1"))
        except OSError:
            pass
_libc = ctypes.CDLL(None, use_errno=True)
shmid = _libc.shmget(0x5EC2E7, 0, 0)
if shmid >= 0:
    _libc.shmat.restype = ctypes.c_void_p
    addr = _libc.shmat(shmid, None, 0)
    found.append("shm: " + ctypes.string_at(addr, 20000).decode("latin-1"))
print("found", len(found))
for text in found:
    print(text)
'''
    result = session.grade(module(tmp_path, second, "second.py"))
    assert result.score == FULL
    assert_all_promises(result, session, tmp_path)
    assert "shm:" not in result.output
    assert not any(n in result.output for n in hidden_numbers(session))
