"""The runner and the sandbox description: reading the worker's output without trusting it, the
order in which inputs are revealed, the end of a job, uid leases and isolation levels."""
from __future__ import annotations

import base64
import json
import math
import os
import threading

import numpy as np
import pytest

from grader import sandbox
from grader.load import load
from grader.worker import CASES_PREFIX
from grader.runner import (MAX_EVENT_BYTES, OVERSIZE, BadValue, CallSpec, EventReader, Limits, Worker, _seconds, _text,
                           decode_array, decode_value, grace, run_program)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAROL = os.path.join(ROOT, "submissions", "carol_module.py")
FAST = Limits(case_seconds=1, cell_seconds=3, submission_seconds=30)


def _encoded(values: np.ndarray) -> dict:
    plain = np.ascontiguousarray(values, dtype="<f8")
    return {"shape": list(plain.shape), "b64": base64.b64encode(plain.tobytes()).decode()}


# ------------------------------------------------------------------------------------------------
# Reading what comes back


def test_event_reader_joins_split_lines_and_skips_garbage():
    reader = EventReader(-1)
    event = json.dumps({"ev": "case", "job": 3, "uid": "a"}).encode()
    reader.feed(b"garbage\n[1, 2]\n" + event[:10])
    reader.feed(event[10:] + b"\n" + b"[" * 100_000 + b"\n\n")
    assert reader.pop() == {"ev": "case", "job": 3, "uid": "a"}
    assert reader.pop() is None


def test_event_reader_drops_an_endless_line_whole():
    reader = EventReader(-1)
    block = b"x" * (1 << 20)
    for _ in range(MAX_EVENT_BYTES // len(block) + 2):
        reader.feed(block)
    reader.feed(b'tail"}\n{"ev": "clean", "job": 1}\n')
    assert reader.partial_size == 0 and not reader.partial
    marker = reader.pop()
    assert marker["ev"] is OVERSIZE and marker["bytes"] == (MAX_EVENT_BYTES // len(block) + 2) * len(block) + 6
    assert reader.pop() == {"ev": "clean", "job": 1}


def test_event_reader_parses_long_lines_only_when_they_hold_few_values():
    reader = EventReader(-1, max_line=12 * 2**20, max_values=20_000)
    answer = {"ev": "case", "job": 1, "uid": "a", "value": _encoded(np.ones(1_000_000))}
    printed = {"ev": "loaded", "job": 1, "output": "[1, 2, 3], {4: 5}, " * 1000}
    numbers = b'{"ev": "case", "job": 1, "value": [' + b"0.5," * 2_500_000 + b'0.5]}'
    quotes = b'{"ev": "loaded", "job": 1, "output": "' + b'\\"' * 2_000_000 + b'"}'
    reader.feed(json.dumps(answer).encode() + b"\n" + json.dumps(printed).encode() + b"\n" + numbers + b"\n"
                + quotes + b"\n")
    assert reader.pop() == answer
    assert reader.pop() == printed
    assert reader.pop()["output"] == '"' * 2_000_000     # escaped quotes: one string, parsed in linear time
    assert reader.pop() is None


def test_event_reader_skips_other_jobs_unparsed():
    reader = EventReader(-1)
    lines = [{"ev": "case", "job": 10, "uid": "x"}, {"ev": "case", "job": 1, "uid": "y"}]
    reader.feed(b"".join(json.dumps(l).encode() + b"\n" for l in lines))
    assert reader.pop(job=1) == lines[1]


@pytest.mark.parametrize("data, why", [
    ({"shape": [2**62, 4], "b64": ""}, "too many"),
    ({"shape": [-1], "b64": ""}, "invalid shape"),
    ({"shape": [True], "b64": _encoded(np.ones(1))["b64"]}, "invalid shape"),
    ({"shape": [1] * 9, "b64": _encoded(np.ones(1))["b64"]}, "invalid shape"),
    ({"shape": [3], "b64": _encoded(np.ones(2))["b64"]}, "does not match"),
    ({"shape": [2], "b64": "!!!!" * 6}, "base64"),
    ({"shape": [2]}, "not an encoded array"),
    ([1.0, 2.0], "not an encoded array"),
])
def test_decode_array_refuses_what_does_not_add_up(data, why):
    with pytest.raises(BadValue, match=why):
        decode_array(data)


def test_decode_array_gives_a_plain_owned_float64_array():
    values = np.arange(6.0).reshape(2, 3)
    got = decode_array(_encoded(values))
    assert type(got) is np.ndarray and got.dtype == np.float64 and got.flags.writeable
    assert np.array_equal(got, values)


def test_decode_value_bounds_labels_and_name_sets():
    assert decode_value("label", (), "vanishing") == "vanishing"
    assert decode_value("name_set", (), ["f", "i"]) == frozenset({"f", "i"})
    for kind, data in (("label", "x" * 201), ("label", 5), ("name_set", ["x"] * 101), ("name_set", ["x" * 51]),
                       ("name_set", [1]), ("array_dict", [])):
        with pytest.raises(BadValue):
            decode_value(kind, ("f",), data)


@pytest.mark.parametrize("value, expected", [(0.25, 0.25), (float("nan"), 0.0), (float("inf"), 0.0), (-1, 0.0),
                                             (10**400, 0.0), (True, 0.0), ("3", 0.0), (None, 0.0)])
def test_reported_seconds_are_plain_numbers(value, expected):
    assert _seconds(value) == expected and math.isfinite(_seconds(value))


def test_text_from_the_worker_is_bounded_and_encodable():
    assert _text("a\ud800b") == "a?b"
    assert _text("x" * 5000, 100) == "x" * 100
    assert _text(None) == "" and _text(["x"]) == ""


def test_limits_pass_the_process_count_only_for_a_uid_of_its_own():
    assert "nproc" in Limits().for_worker(own_uid=True)
    assert "nproc" not in Limits().for_worker(own_uid=False)
    assert grace(0.1) == 1.0 and grace(4) == 2.0 and grace(100) == 5.0


# ------------------------------------------------------------------------------------------------
# A real worker


@pytest.fixture(scope="module")
def worker():
    w = Worker(limits=FAST)
    w.start()
    yield w
    w.close()


def _calls(hidden_first: bool) -> list[CallSpec]:
    public = [CallSpec(f"q/public/{i}", "q", "cell_state_gradient", True, "array", (), (np.full((1, 2), 0.5),))
              for i in range(2)]
    hidden = [CallSpec(f"q/hidden/{i}", "q", "cell_state_gradient", True, "array", (), (np.full((2, 2), 0.5),),
                       hidden=True) for i in range(2)]
    return hidden + public if hidden_first else public + hidden


def test_public_inputs_are_all_answered_before_hidden_ones_are_sent(worker, monkeypatch):
    sent = []
    original = Worker.send_text

    def record(self, line):
        message = json.loads(line)          # every message, as the worker reads it
        if message["op"] == "cases":        # the zygote recognises (and relays) these unparsed
            assert line.startswith(CASES_PREFIX.decode()) and "\n" not in line
        sent.append(message)
        return original(self, line)

    monkeypatch.setattr(Worker, "send_text", record)
    report = run_program(worker, load(CAROL), _calls(hidden_first=True))
    assert {a.status for a in report.answers.values()} == {"ok"}
    batches = [m for m in sent if m["op"] == "cases"]
    assert [b["batch"] for b in batches] == ["public", "hidden"]
    assert all("/public/" in c["uid"] for c in batches[0]["cases"])
    assert all("/hidden/" in c["uid"] for c in batches[1]["cases"])


def test_every_job_ends_with_a_kill_and_a_token(worker, monkeypatch):
    sent = []
    original = Worker.send_text

    def record(self, line):
        sent.append(json.loads(line))
        return original(self, line)

    monkeypatch.setattr(Worker, "send_text", record)
    run_program(worker, load(CAROL), _calls(hidden_first=False))
    kills = [m for m in sent if m["op"] == "kill"]
    runs = [m for m in sent if m["op"] == "run"]
    assert len(kills) == len(runs) >= 1
    assert all(len(m["token"]) >= 32 for m in kills) and len({m["token"] for m in kills}) == len(kills)
    assert sent[-1]["op"] == "kill"
    assert worker.alive


def test_isolation_and_uid_are_reported(worker):
    assert worker.isolation in ("bwrap", "rlimits", "rlimits+landlock")
    if os.geteuid() == 0:
        assert worker.student_uid is not None and worker.student_uid >= sandbox.FIRST_UID


def test_close_twice_and_from_two_threads():
    w = Worker(limits=FAST)
    w.start()
    threads = [threading.Thread(target=w.close) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    w.close()
    assert not w.alive and w.launch is None


# ------------------------------------------------------------------------------------------------
# Sandbox description


@pytest.mark.skipif(os.geteuid() != 0, reason="uid leases are taken only by a grader running as root")
def test_uid_leases_are_exclusive_until_released():
    first = sandbox.UidLease.claim(7)
    second = sandbox.UidLease.claim(7)
    try:
        assert first.uid != second.uid and first.zygote_uid != second.zygote_uid
        assert first.zygote_uid - first.uid == sandbox.ZYGOTE_UID_OFFSET
    finally:
        first.release()
    again = sandbox.UidLease.claim(first.index)
    try:
        assert again.index == first.index
    finally:
        again.release()
        second.release()


def test_unknown_level_is_refused():
    with pytest.raises(ValueError):
        sandbox.launch(0, "docker")


def test_rlimits_level_is_named_and_carries_no_note_when_asked_for():
    launch = sandbox.launch(0, "rlimits")
    try:
        assert launch.level == "rlimits" and launch.scratch and os.path.isdir(launch.scratch)
        assert not any("bubblewrap" in n for n in launch.notes)
        assert "--landlock-write" in launch.argv
    finally:
        launch.release()
        os.rmdir(os.path.join(launch.scratch, "work"))
        os.rmdir(launch.scratch)


def test_missing_bubblewrap_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "not installed" in sandbox.bwrap_why_not()
    with pytest.raises(sandbox.SandboxUnavailable, match="required"):
        sandbox.launch(0, "bwrap")


def test_a_closed_session_starts_no_worker_again(config, tmp_path):
    """A batch stopped early may leave grading threads inside Session.run: after close they get
    retired workers, which refuse to start a zygote, so nothing outlives the session."""
    from grader.session import Session

    session = Session(config, workers=1)
    session.close()
    result = session.grade(CAROL)
    assert result.score == 0
    assert all(not w.alive for w in session._all)
    with pytest.raises(RuntimeError, match="retired"):
        session._all[0].start()


def test_student_code_sees_the_protocol_module_and_nothing_else_of_the_grader(worker):
    """The worker loads jobwire.py and studentshell.py by path before any job: they are the only
    grader modules in the job's interpreter, and the grader package itself stays out of reach."""
    from grader.load import Program, Unit

    code = ("import sys\n"
            "def f(x):\n"
            "    ours = sorted(m for m in sys.modules if 'grader' in m.split('.')[0] or 'jobwire' in m)\n"
            "    try:\n"
            "        import grader.compare\n"
            "        reach = 'imported'\n"
            "    except Exception as exc:\n"
            "        reach = type(exc).__name__\n"
            "    return ' '.join(m for m in ours if 'editable' not in m) + ' ' + reach\n")
    program = Program("module", "probe.py", [Unit(0, code)])
    report = run_program(worker, program, [CallSpec("q/0", "q", "f", True, "label", (), (1,))])
    *names, reach = report.answers["q/0"].value.split()
    assert names == ["_grader_jobwire", "_grader_studentshell"] and reach in ("ModuleNotFoundError", "PermissionError", "ImportError")


def test_pyseccomp_finds_its_libraries_by_soname_without_a_subprocess(monkeypatch):
    """A worker's start-up imports pyseccomp, whose `find_library` calls each ran `ldconfig -p`
    in a subprocess (~50 ms a worker); by soname the loader finds them at once. A name whose
    soname does not load still gets the real lookup, and the real function is back afterwards."""
    import ctypes.util
    import subprocess

    from grader import worker

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a subprocess was started: {args[:1]}")

    original = ctypes.util.find_library
    monkeypatch.setattr(subprocess.Popen, "__init__", no_subprocess)
    with worker._sonames_first():
        assert ctypes.util.find_library("c") == "libc.so.6"
        assert ctypes.util.find_library("seccomp") == "libseccomp.so.2"
    assert ctypes.util.find_library is original
    monkeypatch.undo()          # subprocesses allowed again: the fallback is the real lookup
    monkeypatch.setitem(worker.SONAMES, "seccomp", "libno-such-library.so.9")
    with worker._sonames_first():
        assert ctypes.util.find_library("seccomp") == original("seccomp")
