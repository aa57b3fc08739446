"""The job protocol module: every message both ways, and the sandbox side loading it standalone."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import jobwire, sandbox
from grader.jobwire import Ev, Op

GRADER = Path(jobwire.__file__).parent


def test_every_grader_message_parses_back_and_only_case_batches_are_relayed_unparsed():
    wire = jobwire.case_wire("q/0", "f", True, "array", [], [np.arange(3.0), {"k": np.ones(2)}, 2])
    messages = {
        Op.RUN: jobwire.run_message(4, {"kind": "module", "units": []}, [2, 1], None, {"cell_seconds": 3}),
        Op.CASES: jobwire.cases_message(4, "public", 1.5, [wire, wire]),
        Op.KILL: jobwire.kill_message(4, "ab" * 16),
        Op.QUIT: jobwire.QUIT,
    }
    for op, line in messages.items():
        assert "\n" not in line
        message = jobwire.parse_message(line.encode())
        assert message["op"] == op.value
        assert jobwire.is_cases(line.encode()) is (op is Op.CASES)
    batch = jobwire.parse_message(messages[Op.CASES])
    assert batch["job"] == 4 and batch["case_seconds"] == 1.5 and len(batch["cases"]) == 2
    args = jobwire.decode_args(batch["cases"][0]["args"])
    assert np.array_equal(args[0], np.arange(3.0)) and np.array_equal(args[1]["k"], np.ones(2)) and args[2] == 2
    assert jobwire.parse_message(messages[Op.RUN])["skip"] == [1, 2]
    assert jobwire.parse_message(b"[1, 2]") is None and jobwire.parse_message(b"{not json") is None


@pytest.mark.parametrize("ev, fields", [(Ev.CELL, {"index": 3, "phase": jobwire.START}), (Ev.LOADED, {"output": "x"}),
                                        (Ev.CASE, {"uid": "q/1", "status": "ok"}), (Ev.CLEAN, {"token": "t"}),
                                        (Ev.DONE, {})])
def test_every_event_of_a_job_carries_that_jobs_needle_and_no_other(ev, fields):
    for job in (1, 7, 10):
        line = jobwire.event_line(jobwire.event(ev, job, **fields))
        assert line.endswith(b"\n") and jobwire.parse_event(line) == {"ev": ev.value, "job": job, **fields}
        assert any(n in line for n in jobwire.job_needles(job))
        assert not any(n in line for n in jobwire.job_needles(job + 1))
    assert not any(n in jobwire.event_line(jobwire.event(ev, 11, **fields)) for n in jobwire.job_needles(1))


def test_an_event_without_a_job_and_a_fresh_line():
    line = jobwire.event_line(jobwire.event(Ev.READY, None, pid=1), fresh_line=True)
    assert line.startswith(b"\n{") and json.loads(line) == {"ev": "ready", "pid": 1}
    assert jobwire.parse_event(b"garbage") is None and jobwire.parse_event(b"[1]") is None


def _script_help(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-B", str(folder / "worker.py"), "--help"], capture_output=True,
                          text=True, timeout=60)


def test_the_worker_needs_only_the_protocol_and_shell_modules_beside_it(tmp_path):
    """Run with `python -I` from a folder holding the three files and nothing else of the grader;
    without jobwire.py or studentshell.py beside it, it cannot start (so this test can fail)."""
    shutil.copy(GRADER / "worker.py", tmp_path / "worker.py")
    alone = _script_help(tmp_path)
    assert alone.returncode != 0 and "jobwire.py" in alone.stderr
    shutil.copy(GRADER / "jobwire.py", tmp_path / "jobwire.py")
    without_shell = _script_help(tmp_path)
    assert without_shell.returncode != 0 and "studentshell.py" in without_shell.stderr
    shutil.copy(GRADER / "studentshell.py", tmp_path / "studentshell.py")
    assert _script_help(tmp_path).returncode == 0


def test_the_self_check_child_loads_the_protocol_module_by_path(tmp_path):
    for name in ("portable_child.py", "jobwire.py", "studentshell.py"):
        shutil.copy(GRADER / name, tmp_path / name)
    probe = ("import runpy, sys; sys.argv=['x']; g = runpy.run_path(sys.argv[0] if False else %r, run_name='probe');"
             "print(g['jobwire'].__name__, g['studentshell'].__name__, 'grader' in sys.modules)"
             ) % str(tmp_path / "portable_child.py")
    out = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["_grader_jobwire", "_grader_studentshell", "False"], out.stderr


def test_the_sandbox_binds_the_protocol_module_next_to_the_worker():
    argv, _ = sandbox.bwrap_argv("bwrap", 64)
    binds = [tuple(argv[i + 1:i + 3]) for i, a in enumerate(argv) if a == "--ro-bind"]
    assert (str(sandbox.WORKER), sandbox.SANDBOX_WORKER) in binds
    assert (str(sandbox.JOBWIRE), sandbox.SANDBOX_JOBWIRE) in binds
    assert (str(sandbox.STUDENTSHELL), sandbox.SANDBOX_STUDENTSHELL) in binds
    assert Path(sandbox.SANDBOX_JOBWIRE).parent == Path(sandbox.SANDBOX_WORKER).parent
    assert Path(sandbox.SANDBOX_STUDENTSHELL).parent == Path(sandbox.SANDBOX_WORKER).parent


def _double(x):
    return x


@pytest.mark.parametrize("change, changed", [
    (lambda x: None, []),                                     # untouched
    (lambda x: x.__setitem__(0, -0.0), []),                   # 0.0 -> -0.0: equal as numbers
    (lambda x: x.__setitem__(1, np.nan), []),                 # NaN -> NaN of another payload: equal
    (lambda x: x.__setitem__(2, 3.0), ["x"]),                 # a value changed
    (lambda x: setattr(x, "shape", (2, 2)), ["x"]),           # reshaped in place
    (lambda x: setattr(x, "dtype", np.int64), ["x"]),         # the same bytes read as other numbers
])
def test_changed_arguments_is_about_values_not_bytes(change, changed):
    """What "changed in place" means (the student is told): values, compared as numpy's
    array_equal(equal_nan=True) does, with the shape and the kind of numbers."""
    args = [np.array([0.0, np.float64("nan"), 2.0, 4.0])]
    before = jobwire.snapshot(args)
    args[0][1] = np.frombuffer(np.array([0x7FF8000000000001], dtype="<u8").tobytes(), dtype="<f8")[0]
    change(args[0])
    assert jobwire.changed_arguments(_double, args, before) == changed


@pytest.mark.parametrize("job, uid", [(0, "q1a-public-0"), (7, 'a "quoted" \\ uid'), (123456, "ü-中-\u2028"), (3, "")])
def test_the_case_start_line_is_the_event_line_of_a_case_start(job, uid):
    """The job writes a case's start through a shortcut: the same bytes as the general way."""
    general = jobwire.event_line(jobwire.event(Ev.CASE, job, uid=uid, phase=jobwire.START))
    assert jobwire.case_start_line(job, uid) == general
    assert jobwire.parse_event(general.decode()) == {"ev": "case", "job": job, "uid": uid, "phase": "start"}


@pytest.mark.parametrize("job, uid", [(0, "q1a-public-0"), (7, 'a "quoted" \\ uid'), (3, "")])
def test_a_case_answers_event_is_the_general_event_of_a_case(job, uid):
    """A job starts each call's answer from a dict made directly (~270 a job): the same keys, in
    the same order, as the general way."""
    general = jobwire.event(Ev.CASE, job, uid=uid)
    assert list(jobwire.case_event(job, uid).items()) == list(general.items())
