"""Leaks: the reference, the secret and the hidden cases must not reach student code or a report.

Promises: the reference module and the grader's configuration are not importable or readable in
the sandbox; the secret never appears in a result; hidden inputs are shown only as pass/fail,
whatever channel the submission tries (exception messages, prints, public cases answered after
hidden ones, files or shared memory left for a later job or a colluding next submission).

The invariant behind the re-run tests: nothing student code could have seen after the first hidden
input entered the sandbox reaches a student-visible field. A job that crashes in a hidden case is
re-run, and the re-run's student code may know the hidden inputs (from a stash that outlived the
job: a kernel keyring, a message queue...). The tests make that knowledge visible without depending
on any one stash: each job reports its own job number (read off the worker's stack), so any text
from a re-run shows as a job number other than the first run's; or the test tells the program which
job is its first run, as a stash would.
"""
from __future__ import annotations

import pytest

import json
import re
from dataclasses import replace

from attack_tools import PIPES, STACK
from conftest import (ATTACK_LIMITS, CANARY_SECRET, CAROL, FULL, POINTS, assert_all_promises,
                      assert_next_graded_fully, assert_no_hidden_inputs, hidden_numbers, module, notebook,
                      result_text, with_function)
from grader.config import DEMO_SECRET
from markupsafe import escape

LEVELS = ["best", "rlimits"]
# For the attacks that are waited out: a cell time-out of 1 s (the runner stops a cell a second
# later) is still fifty times what an honest cell of this homework takes (the pipeline's tests
# grade the correct module as one cell under the same limit).
HANG_LIMITS = replace(ATTACK_LIMITS, cell_seconds=1)


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


# ------------------------------------------------------------------------------------------------
# Re-runs after a crash in a hidden case: numbers for hidden cases, nothing else


CRASH_IN_HIDDEN = """
import os as _os
_correct_cell = lstm_cell_jacobian
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    if _from_stack("batch", {}).get("batch") == "hidden":
        _os._exit(3)              # every hidden call: one re-run per hidden case of this question
    return _correct_cell(params, x, c_prev, o_prev)
"""


def _first_job(session) -> int:
    """The job number the next submission's first run gets (the session has one worker)."""
    (worker,) = session._all
    return worker._jobs + 1


def _jobs_named(result) -> set[int]:
    return {int(n) for n in re.findall(r"by job (\d+)", result_text(result))}


@pytest.mark.parametrize("level", LEVELS)
def test_a_forged_loaded_cannot_let_a_rerun_report_the_later_cells(sessions, tmp_path, level):
    """Cell 1 forges "loaded" in the first run (the event channel is a local of the worker's
    frames), so the runner sends the public cases while the later cells still run; then every
    hidden call crashes, and each re-run's cells raise with what they know (here: their job
    number). The cells' results must be the first run's."""
    session = sessions(level)
    first = _first_job(session)
    cells = [CAROL + STACK + f"""
_JOB = _from_stack("job_id")
if _JOB == {first}:                 # in the first run only (a stash tells a re-run it is one)
    _from_stack("channel").send(ev="loaded", job=_JOB, output=f"output forged by job {{_JOB}}")
""", 'raise RuntimeError(f"raised by job {_JOB}")', 'print(f"printed by job {_JOB}")', CRASH_IN_HIDDEN]
    result = session.grade(notebook(tmp_path, cells))
    crashed = [c for q in result.questions if q.id == "3c-cell" for c in q.hidden]
    assert crashed and all(c.status == "crashed" for c in crashed)       # it was re-run that often
    assert _jobs_named(result) == {first}, result.cells
    assert result.cells[1].error.split("\n")[0] == f"line 1 (cell 2): RuntimeError: raised by job {first}"
    assert result.output == f"output forged by job {first}"
    from grader.render.gradescope import results_json

    shown = json.dumps(results_json(result), ensure_ascii=False)
    assert f"raised by job {first}" in shown and f"by job {first + 1}" not in shown
    assert_all_promises(result, session, tmp_path, attacked={"3c-cell": POINTS["3c-cell"]})
    assert_next_graded_fully(session, tmp_path)


@pytest.mark.parametrize("how", ["exit", "hang"])
@pytest.mark.parametrize("level", LEVELS)
def test_a_rerun_cannot_report_a_cell_as_crashed_or_hung(sessions, tmp_path, level, how):
    """A cell that ran in the first run dies in every re-run, with an exit code of its choosing
    (what a stash of hidden inputs would choose), or hangs until the runner stops it: it is
    skipped from then on, and the report keeps the first run's "ok". (The hang is waited out:
    a shorter cell time-out keeps that cheap.)"""
    session = sessions(level, HANG_LIMITS if how == "hang" else ATTACK_LIMITS)
    first = _first_job(session)
    # The hang ignores the worker's own alarm, so that the runner stops it and skips the cell.
    act = ("os._exit(40 + (_JOB - FIRST) % 50)" if how == "exit"
           else "import signal\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass")
    cells = [CAROL + STACK, f"""
import os
_JOB, FIRST = _from_stack("job_id"), {first}
if _JOB != FIRST:                   # a stash would tell it as much
    {act}
""", CRASH_IN_HIDDEN]
    result = session.grade(notebook(tmp_path, cells))
    assert [(c.status, c.error) for c in result.cells] == [("ok", "")] * 3, result.cells
    assert "exited with code" not in result_text(result) and "longer than" not in result_text(result)
    assert_all_promises(result, session, tmp_path, attacked={"3c-cell": POINTS["3c-cell"]})
    assert_next_graded_fully(session, tmp_path)


@pytest.mark.parametrize("level", LEVELS)
def test_a_stash_of_hidden_inputs_in_the_keyring_cannot_reach_the_cells(sessions, tmp_path, level):
    """The red team's finding: hidden inputs stashed in the user keyring, a crash in a hidden case,
    and cells that raise with the stash in the re-run, after a forged "loaded". (Where keyrings are
    closed to student code the stash is empty; the invariant holds either way.)"""
    session = sessions(level)
    keyring = STACK + """
import ctypes as _ct, os as _os
_libc = _ct.CDLL(None, use_errno=True)
_NAME = b"hw3-stash-%d" % _os.getuid()
def _stash(text):
    data = text.encode()[:30000]
    key = _libc.syscall(248, b"user", _NAME, data, len(data), -4)        # add_key(..., @u)
    if key > 0:
        _libc.syscall(250, 5, key, 0x3F3F0000)                            # SETPERM: the uid may read it
        _libc.syscall(250, 15, key, 20)                                   # expires in 20 s
def _read_stash():
    key = _libc.syscall(250, 10, -4, b"user", _NAME, 0)                   # keyctl SEARCH
    if key <= 0:
        return "nothing"
    buf = _ct.create_string_buffer(30000)
    size = _libc.syscall(250, 11, key, buf, 30000)                        # keyctl READ
    return buf.raw[:max(0, size)].decode("latin-1")
"""
    cells = [CAROL + keyring + """
if _read_stash() == "nothing":      # the first run: stop the runner recording the later cells
    _from_stack("channel").send(ev="loaded", job=_from_stack("job_id"), output="forged")
""", 'raise RuntimeError("stash: " + _read_stash())', """
import os as _os
_correct_cell = lstm_cell_jacobian
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    if _from_stack("batch", {}).get("batch") == "hidden":
        _stash(repr([x.tolist(), c_prev.tolist(), o_prev.tolist()]))
        _os._exit(3)
    return _correct_cell(params, x, c_prev, o_prev)
"""]
    result = session.grade(notebook(tmp_path, cells))
    assert result.cells[1].error.split("\n")[0].endswith("(cell 2): RuntimeError: stash: nothing"), \
        result.cells[1].error[:300]
    assert_all_promises(result, session, tmp_path, attacked={"3c-cell": POINTS["3c-cell"]})
    assert_next_graded_fully(session, tmp_path)


def test_hidden_cases_carry_no_claimed_duration_or_message(attack_session, tmp_path):
    """A hidden call writes its own answer event, with the inputs as its error and a number made
    from them as its duration (result.json shows every case's duration)."""
    source = with_function("3c-carousel", STACK + """
def cell_state_gradient(fs):
    if _from_stack("batch", {}).get("batch") == "hidden":
        case = _from_stack("case")
        _from_stack("channel").send(ev="case", job=_from_stack("job_id"), uid=case["uid"], status="error",
                                    error=repr(fs.tolist()), seconds=round(abs(float(fs.ravel()[0])) * 1000, 6))
    return _correct_cell_state_gradient(fs)
""")
    result = attack_session.grade(module(tmp_path, source))
    hidden = [c for q in result.questions for c in q.hidden]
    assert all(c.seconds == 0.0 for c in hidden), sorted({c.seconds for c in hidden})[:5]
    assert all(c.status != "passed" for q in result.questions if q.id == "3c-carousel" for c in q.hidden)
    assert_all_promises(result, attack_session, tmp_path, attacked={"3c-carousel": POINTS["3c-carousel"]})
    assert_next_graded_fully(attack_session, tmp_path)


def test_case_blocks_shared_by_a_runs_pages_never_carry_hidden_values_into_a_report(attack_session, tmp_path):
    """One run's reports and instructor pages share a table of drawn case blocks (grader.render.html
    .CaseBlocks). A submission wrong everywhere has every hidden case drawn in full on its instructor
    page, inputs and expected values included; its report, drawn after that page from the same
    table, and again once the table holds both, shows none of them."""
    from grader.render import html, instructor

    wrong = "".join(f"def {name}(*args):\n    return 0\n" for name in
                    ("sigmoid_jacobian", "bptt_grad", "bptt_terms", "matrix_power_eig", "lstm_step"))
    result = attack_session.grade(module(tmp_path, with_function("1a", wrong)))
    public = {text for q in result.questions for c in q.public
              for text in [*(c.inputs or {}).values(), c.expected] if text}
    hidden = {text for s in result.staff if s.uid.split("/")[1] == "hidden"
              for text in [*s.inputs.values(), s.expected] if text and text not in public and len(text) > 40}
    assert len(hidden) > 50
    env = html.environment()
    for _ in range(2):
        page = instructor.instructor_html(result, env=env)
        report = html.report(result, env)
        shown = [text for text in hidden if escape(text) in page]
        assert len(shown) == len(hidden)                  # the instructor page holds them all
        assert not [text for text in hidden if escape(text) in report]
    assert len(env.globals["case_blocks"]) > 0
