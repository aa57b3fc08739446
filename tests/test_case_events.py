"""A job's per-case work in the sandboxed child, made cheaper without changing a byte it reports."""
from __future__ import annotations

import os
import signal

import numpy as np

from grader import jobwire, worker


class _CountingSources(dict):
    """A job's sources that count how often a source's text is asked for."""

    def __init__(self, *args):
        super().__init__(*args)
        self.asked = 0

    def __getitem__(self, key):
        self.asked += 1
        return super().__getitem__(key)


def test_a_failing_calls_place_splits_its_cell_once_per_job(tmp_path):
    """A blank template fails ~270 calls, and the place of each split its cell's whole text into
    lines again: the lines are kept for the job."""
    source = "def f(W):\n    x = 1\n    raise NotImplementedError\n"
    sources = _CountingSources({"<cell 2>": source})
    code = worker.StudentCode(sources, "submission.py", str(tmp_path))
    namespace: dict = {}
    exec(compile(source, "<cell 2>", "exec"), namespace)
    accounts = []
    for _ in range(5):
        try:
            namespace["f"](None)
        except NotImplementedError as exc:
            accounts.append(code.explain(exc))
    assert all(account == accounts[0] for account in accounts)
    assert "line 3 in `f` (cell 2)" in accounts[0][0] and "raise NotImplementedError" in accounts[0][0]
    assert sources.asked == 1


def _answer_lines(monkeypatch, namespace: dict, cases: list[dict]) -> tuple[list[bytes], int]:
    """The lines `_answer_batch` writes for `cases`, and how many times event fields were made plain."""
    read, write = os.pipe()
    plain_calls = []
    real_plain = jobwire._plain
    monkeypatch.setattr(jobwire, "_plain", lambda message: plain_calls.append(1) or real_plain(message))
    signal.signal(signal.SIGALRM, worker._alarm)
    try:
        worker._answer_batch({"op": "cases", "batch": "public", "case_seconds": 5, "cases": cases},
                             namespace, worker.Channel(write), 7)
    finally:
        os.close(write)
        monkeypatch.setattr(jobwire, "_plain", real_plain)
    data = b""
    while chunk := os.read(read, 1 << 16):
        data += chunk
    os.close(read)
    return data.splitlines(), len(plain_calls)


def test_a_cases_answer_is_the_same_line_made_plain_once(monkeypatch):
    """Each answer's fields were made plain twice (in `jobwire.event`, then again in `event_line`):
    the line is byte for byte what the second pass wrote."""
    def double(x):
        return 2 * x

    def broken(x):
        raise ValueError("no")

    wire = jobwire.encode_args([np.array([1.0, 2.0])])
    cases = [{"uid": "q/public/0", "name": "double", "call": True, "kind": "array", "keys": [], "args": wire},
             {"uid": "q/public/1", "name": "broken", "call": True, "kind": "array", "keys": [], "args": wire},
             {"uid": "q/public/2", "name": "absent", "call": True, "kind": "array", "keys": [], "args": wire}]
    lines, plain = _answer_lines(monkeypatch, {"double": double, "broken": broken}, cases)
    answers = [jobwire.parse_event(line) for line in lines if b'"phase": "start"' not in line]
    assert [a.get("status") for a in answers] == ["ok", "error", "missing", None]     # the last is "done"
    for line, answer in zip([l for l in lines if b'"phase": "start"' not in l], answers[:3]):
        assert line + b"\n" == jobwire.event_line(dict(answer))                        # as the second pass made it
    assert plain == 2          # no case's fields (`case_event` makes them plain; once a case before, twice before
                               # that), and "done" as every other event
