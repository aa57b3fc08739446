"""The runner's logic on scripted event streams: what student code reports is recorded only while
no hidden input has entered the sandbox, and what it returns is bounded.

The worker here is a script of the events each job's student process writes (with the job
number filled in), and a log of what the runner sent. Everything in a script is something a
hostile submission can write on the event pipe: it finds the pipe by walking the stack
(tests/hostile/test_hostile_leaks.py does it for real), and it can keep what it saw in a stash
that outlives its job.
"""
from __future__ import annotations

import base64
import json
from collections import deque

import numpy as np
import pytest

from grader.load import Program, Unit
from grader.protocol import grace
from grader.runner import (OVERSIZE, CallSpec, Limits, Phase, RawAnswer, Step, _Run, answer_size, run_program,
                           too_large)

LEAK = "HIDDEN-0.4837261950"      # stands for any text made from a hidden input
LIMITS = Limits(case_seconds=1, cell_seconds=3, submission_seconds=30)


class ScriptedWorker:
    """Plays one scripted event list per job; a script that runs out is a job that went quiet."""

    def __init__(self, jobs: list[list[dict]], limits: Limits = LIMITS):
        self.jobs = jobs
        self.limits = limits
        self.sent: list[dict] = []
        self.alive = True
        self.isolation = "scripted"
        self.launch = None
        self.student_uid = None
        self._job = 0
        self._events: deque[dict] = deque()
        self.hidden_sent_in: int | None = None   # the job in which the hidden batch went out

    def start(self) -> None:
        self.alive = True

    def close(self) -> None:
        self.alive = False

    def next_job(self) -> int:
        self._job += 1
        script = self.jobs[self._job - 1] if self._job <= len(self.jobs) else []
        self._events = deque({**e, "job": self._job} if e.get("ev") is not OVERSIZE else e for e in script)
        return self._job

    def send_text(self, line: str) -> None:
        message = json.loads(line)
        if message.get("batch") == "hidden" and self.hidden_sent_in is None:
            self.hidden_sent_in = self._job
        self.sent.append(message)

    def expect_starts(self, job: int, uids) -> None:
        """The scripted events are dicts already: nothing to recognise."""

    def event(self, job: int, deadline: float) -> dict | None:
        return self._events.popleft() if self._events else None

    def end_job(self, job: int) -> str:
        self.sent.append({"op": "kill", "job": job})
        return ""


def program(cells: int) -> Program:
    return Program("notebook", "attack.ipynb", [Unit(i, f"cell {i}") for i in range(cells)])


PUBLIC = [CallSpec(f"q/public/{i}", "q", "f", True, "array", (), (np.ones(2),)) for i in range(2)]
HIDDEN = [CallSpec(f"q/hidden/{i}", "q", "f", True, "array", (), (np.ones(2),), hidden=True) for i in range(3)]


def encoded(values) -> dict:
    plain = np.ascontiguousarray(values, dtype="<f8")
    return {"shape": list(plain.shape), "b64": base64.b64encode(plain.tobytes()).decode()}


def cell(index: int, status: str = "ok", error: str = "") -> list[dict]:
    return [{"ev": "cell", "index": index, "phase": "start"},
            {"ev": "cell", "index": index, "status": status, "error": error}]


def case(uid: str, status: str = "ok", error: str = "", seconds: float = 0.001, value=None) -> list[dict]:
    answer = {"ev": "case", "uid": uid, "status": status, "seconds": seconds}
    if status == "ok":
        answer["value"] = encoded(np.ones(2) if value is None else value)
    else:
        answer["error"] = error
    return [{"ev": "case", "uid": uid, "phase": "start"}, answer]


def loaded(output: str = "", shell: list[str] | None = None) -> list[dict]:
    return [{"ev": "loaded", "output": output, "shell": shell or []}]


def done(batch: str) -> list[dict]:
    return [{"ev": "done", "batch": batch}]


def crash(status: str = "killed by signal SIGKILL") -> list[dict]:
    return [{"ev": "exit", "status": status}]


def public_answers() -> list[dict]:
    return case("q/public/0") + case("q/public/1") + done("public")


def run(jobs: list[list[dict]], cells: int = 3, limits: Limits = LIMITS):
    worker = ScriptedWorker(jobs, limits)
    report = run_program(worker, program(cells), PUBLIC + HIDDEN)
    return report, worker


def shown(report) -> str:
    """Every student-visible text a run report carries."""
    return json.dumps({"cells": {i: (c.status, c.error) for i, c in report.cells.items()},
                       "output": report.output, "shell": report.shell_escapes,
                       "answers": {u: (a.message, a.seconds) for u, a in report.answers.items()}})


# ------------------------------------------------------------------------------------------------
# The invariant


def test_the_phase_changes_exactly_when_the_hidden_batch_is_sent():
    worker = ScriptedWorker([cell(0) + loaded() + public_answers() + case("q/hidden/0") + case("q/hidden/1")
                             + case("q/hidden/2") + done("hidden")])
    phases = []
    state = _Run(worker, program(1), PUBLIC + HIDDEN)
    original = worker.send_text

    def watch(line: str) -> None:
        message = json.loads(line)
        if message["op"] == "cases":
            phases.append((message["batch"], state.phase))
        original(line)

    worker.send_text = watch
    report = state.run()
    assert phases == [("public", Phase.BEFORE_HIDDEN), ("hidden", Phase.HIDDEN_SENT)]
    assert state.phase is Phase.HIDDEN_SENT
    assert {a.status for a in report.answers.values()} == {"ok"}


def test_a_forged_loaded_does_not_let_a_rerun_fill_in_the_later_cells():
    """Cell 0 forges "loaded": the runner sends the public batch while cells 1 and 2 still run.
    Their results (arriving during the public batch) are recorded; a re-run after a crash in a
    hidden case reports them again with the stash, and that is ignored."""
    first = (cell(0)[:1] + loaded("forged") + cell(0)[1:] + cell(1) + cell(2) + loaded("real")
             + public_answers() + case("q/hidden/0")[:1] + crash())
    rerun = (cell(0) + cell(1, "error", f"ValueError: {LEAK}") + cell(2, "error", LEAK) + loaded(LEAK, [LEAK])
             + case("q/hidden/1") + case("q/hidden/2") + done("hidden"))
    report, worker = run([first, rerun])
    assert worker.hidden_sent_in == 1
    assert LEAK not in shown(report)
    assert {i: c.status for i, c in report.cells.items()} == {0: "ok", 1: "ok", 2: "ok"}
    assert report.answers["q/hidden/1"].status == "ok" and report.answers["q/hidden/0"].status == "crashed"


def test_cells_never_reported_before_hidden_inputs_stay_unreported():
    """The first run's later cells never report (the program forged "loaded" and stopped them):
    a re-run cannot supply them."""
    first = cell(0)[:1] + loaded("forged") + public_answers() + case("q/hidden/0")[:1] + crash()
    rerun = (cell(0) + cell(1, "error", LEAK) + cell(2, "error", LEAK) + loaded(LEAK)
             + case("q/hidden/1") + case("q/hidden/2") + done("hidden"))
    report, _ = run([first, rerun])
    assert LEAK not in shown(report)
    assert set(report.cells) <= {0}


@pytest.mark.parametrize("how", ["exit", "timeout"])
def test_a_rerun_cannot_mark_a_cell_crashed_or_hung(how):
    """A cell that ran fine in the first run dies (with an exit code of its choosing) or hangs in
    the re-run: it is skipped from then on, but the report keeps the first run's record."""
    first = cell(0) + cell(1) + loaded() + public_answers() + case("q/hidden/0")[:1] + crash()
    if how == "exit":
        rerun = cell(0) + cell(1)[:1] + crash("exited with code 48")
        after = cell(0) + loaded() + case("q/hidden/1") + case("q/hidden/2") + done("hidden")
        jobs = [first, rerun, after]
    else:
        rerun = cell(0) + cell(1)[:1]          # then silence: the cell time-out fires
        after = cell(0) + loaded() + case("q/hidden/1") + case("q/hidden/2") + done("hidden")
        jobs = [first, rerun, after]
    report, worker = run(jobs, cells=2)
    assert {i: (c.status, c.error) for i, c in report.cells.items()} == {0: ("ok", ""), 1: ("ok", "")}
    assert "48" not in shown(report)
    assert [m["skip"] for m in worker.sent if m["op"] == "run"] == [[], [], [1]]
    assert report.answers["q/hidden/2"].status == "ok"


def test_before_hidden_inputs_a_crashing_cell_is_reported_and_skipped():
    first = cell(0) + cell(1)[:1] + crash("killed by signal SIGSEGV")
    second = cell(0) + loaded("printed") + public_answers() + case("q/hidden/0") + case("q/hidden/1") \
        + case("q/hidden/2") + done("hidden")
    report, worker = run([first, second], cells=2)
    assert report.cells[1].status == "crashed" and "SIGSEGV" in report.cells[1].error
    assert report.output == "printed"
    assert [m["skip"] for m in worker.sent if m["op"] == "run"] == [[], [1]]


def test_cell_events_sent_during_hidden_cases_are_ignored():
    """A hidden case's function writes cell results (with the inputs it was given) itself."""
    first = (cell(0) + cell(1) + loaded("ok") + public_answers() + case("q/hidden/0")[:1]
             + cell(1, "error", LEAK)[1:] + cell(5, "error", LEAK)[1:] + loaded(LEAK)
             + case("q/hidden/0")[1:] + case("q/hidden/1") + case("q/hidden/2") + done("hidden"))
    report, _ = run([first], cells=2)
    assert LEAK not in shown(report)
    assert report.output == "ok"


def test_hidden_answers_carry_no_message_and_no_claimed_duration():
    first = (cell(0) + loaded() + case("q/public/0", "error", "ValueError: public text", seconds=0.25)
             + case("q/public/1") + done("public")
             + case("q/hidden/0", "error", f"ValueError: {LEAK}", seconds=0.4837261950)
             + case("q/hidden/1", seconds=123.456789) + case("q/hidden/2")[:1] + crash("exited with code 48"))
    report, _ = run([first, cell(0) + loaded()], cells=1)
    assert report.answers["q/public/0"].message == "ValueError: public text"
    assert report.answers["q/public/0"].seconds == 0.25
    for uid in ("q/hidden/0", "q/hidden/1", "q/hidden/2"):
        answer = report.answers[uid]
        assert answer.message == "" and answer.seconds == 0.0, answer
    assert [report.answers[u].status for u in ("q/hidden/0", "q/hidden/1", "q/hidden/2")] == ["error", "ok", "crashed"]


def test_no_public_case_is_pending_when_hidden_inputs_are_sent():
    """A public case that crashes ends the job before the hidden batch; it is resumed first."""
    first = cell(0) + loaded() + case("q/public/0")[:1] + crash()
    second = (cell(0) + loaded() + case("q/public/1") + done("public") + case("q/hidden/0") + case("q/hidden/1")
              + case("q/hidden/2") + done("hidden"))
    report, worker = run([first, second], cells=1)
    batches = [(m["job"], m["batch"], [c["uid"] for c in m["cases"]]) for m in worker.sent if m["op"] == "cases"]
    assert batches == [(1, "public", ["q/public/0", "q/public/1"]), (2, "public", ["q/public/1"]),
                       (2, "hidden", ["q/hidden/0", "q/hidden/1", "q/hidden/2"])]
    assert report.answers["q/public/0"].status == "crashed"


# ------------------------------------------------------------------------------------------------
# Sizes


def test_an_answer_over_the_cap_fails_without_being_decoded(monkeypatch):
    import grader.protocol as protocol

    decoded = []      # the runner settles answers through protocol._raw_answer, which decodes them
    monkeypatch.setattr(protocol, "decode_value", lambda *a: decoded.append(a) or np.ones(2))
    limits = Limits(case_seconds=1, cell_seconds=3, submission_seconds=30, answer_mb=1)
    huge = {"shape": [1000, 1000], "b64": "AAAA"}       # declares 8 MB; the text is never looked at
    first = (cell(0) + loaded() + case("q/public/0")[:1] + [{"ev": "case", "uid": "q/public/0", "status": "ok",
                                                             "value": huge}]
             + case("q/public/1") + done("public") + case("q/hidden/0") + case("q/hidden/1") + case("q/hidden/2")
             + done("hidden"))
    report, _ = run([first], cells=1, limits=limits)
    assert report.answers["q/public/0"].status == "unconvertible"
    assert report.answers["q/public/0"].message == "answer too large: 7.63 MB, limit 1 MB"
    assert len(decoded) == 4


def test_an_over_long_line_fails_the_case_being_called():
    limits = Limits(case_seconds=1, cell_seconds=3, submission_seconds=30, answer_mb=8)
    first = (cell(0) + loaded() + case("q/public/0")[:1] + [{"ev": OVERSIZE, "bytes": 40 * 2**20 * 4 // 3}]
             + case("q/public/1") + done("public") + case("q/hidden/0") + case("q/hidden/1") + case("q/hidden/2")
             + done("hidden"))
    report, _ = run([first], cells=1, limits=limits)
    assert report.answers["q/public/0"].message == "answer too large: 40 MB, limit 8 MB"
    assert report.answers["q/public/1"].status == "ok"


def test_the_submission_total_cap_ends_the_run():
    limits = Limits(case_seconds=1, cell_seconds=3, submission_seconds=30, answer_mb=1, answers_mb=1.5)
    big = np.zeros(100_000)          # 0.76 MB each: the second one crosses 1.5 MB
    first = (cell(0) + loaded() + case("q/public/0", value=big) + case("q/public/1", value=big) + done("public")
             + case("q/hidden/0") + case("q/hidden/1") + case("q/hidden/2") + done("hidden"))
    report, worker = run([first], cells=1, limits=limits)
    assert report.answers["q/public/0"].status == "ok"
    assert report.answers["q/public/1"].status == "unconvertible"
    assert "more than 1.5 MB" in report.answers["q/public/1"].message
    assert {report.answers[c.uid].status for c in HIDDEN} == {"not-run"}
    assert not any(m.get("batch") == "hidden" for m in worker.sent)      # never even sent
    assert len([m for m in worker.sent if m["op"] == "run"]) == 1


def test_answers_go_to_the_sink_one_by_one_and_are_not_kept():
    seen: list[RawAnswer] = []
    first = (cell(0) + loaded() + public_answers() + case("q/hidden/0") + case("q/hidden/1") + case("q/hidden/2")
             + done("hidden"))
    worker = ScriptedWorker([first])
    report = run_program(worker, program(1), PUBLIC + HIDDEN, seen.append)
    assert [a.uid for a in seen] == [c.uid for c in PUBLIC + HIDDEN]
    assert report.answers == {}


def test_answer_size_reads_the_declared_shapes():
    assert answer_size("array", (), {"shape": [1000, 1000], "b64": ""}) == 8_000_000
    declared = {"a": {"shape": [10]}, "b": {"shape": [2, 5]}, "c": {"shape": [10**9]}}
    assert answer_size("array_dict", ("a", "b"), declared) == 160
    assert answer_size("array", (), {"shape": [True, -1]}) == 0
    assert answer_size("label", (), "x" * 100) == 0
    assert too_large(40 * 2**20, 8 * 2**20) == "answer too large: 40 MB, limit 8 MB"


def test_the_line_cap_always_leaves_room_for_the_printed_output():
    """However small the answer limit, a `loaded` event with the most output allowed (escaped
    at 6 bytes a character) is still read."""
    from grader.runner import MAX_VALUES, EventReader

    limits = Limits(answer_mb=0.01, output_bytes=65536)
    event = {"ev": "loaded", "job": 1, "output": "\ufffd{[," * (limits.output_bytes // 4), "shell": ["x" * 200] * 20}
    reader = EventReader(-1, limits.event_line_bytes, MAX_VALUES + limits.output_bytes)
    reader.feed(json.dumps(event).encode() + b"\n")
    assert reader.pop() == event


# ------------------------------------------------------------------------------------------------
# Time, on a scripted clock (the run takes its clock from the worker, or as an argument)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TimedWorker(ScriptedWorker):
    """A script whose numbers are seconds that pass in silence; a script that runs out is silence
    until the deadline the runner waits for."""

    def __init__(self, jobs: list[list], limits: Limits = LIMITS):
        super().__init__(jobs, limits)
        self.clock = Clock()

    def next_job(self) -> int:
        self._job += 1
        script = self.jobs[self._job - 1] if self._job <= len(self.jobs) else []
        self._events = deque(e if isinstance(e, (int, float)) else {**e, "job": self._job} for e in script)
        return self._job

    def event(self, job: int, deadline: float) -> dict | None:
        while self._events:
            item = self._events.popleft()
            if not isinstance(item, (int, float)):
                return item
            self.clock.now += item
            if self.clock.now >= deadline:
                self.clock.now = deadline
                return None
        self.clock.now = max(self.clock.now, deadline)
        return None


@pytest.mark.parametrize("silence, status", [(0.2, "error"), (1.5, "timeout")])
def test_a_case_whose_answer_never_came_fails_by_how_long_it_ran(silence, status):
    """The child starts public case 0, goes quiet, then starts case 1 (it garbled its own pipe):
    case 0 counts as a time-out only if it ran for `case_seconds` (1 s) or more."""
    first = (cell(0) + loaded() + case("q/public/0")[:1] + [silence] + case("q/public/1") + done("public")
             + case("q/hidden/0") + case("q/hidden/1") + case("q/hidden/2") + done("hidden"))
    worker = TimedWorker([first])
    report = run_program(worker, program(1), PUBLIC + HIDDEN)
    assert report.answers["q/public/0"].status == status
    assert report.answers["q/public/1"].status == "ok"


def test_the_submission_budget_is_measured_on_the_run_clock():
    """A hidden case hangs, then a re-run hangs in a cell: the budget of 3 s is used up exactly
    then, and the rest is not run (no real second passes)."""
    limits = Limits(case_seconds=1, cell_seconds=3, submission_seconds=3)
    first = cell(0) + loaded() + public_answers() + case("q/hidden/0")[:1] + [10]
    rerun = cell(0)[:1] + [10]
    worker = TimedWorker([first, rerun], limits)
    report = run_program(worker, program(1), PUBLIC + HIDDEN)
    assert report.answers["q/hidden/0"].status == "timeout"
    assert {report.answers[u].status for u in ("q/hidden/1", "q/hidden/2")} == {"not-run"}
    assert report.seconds == 3.0 and report.restarts == 2
    assert len([m for m in worker.sent if m["op"] == "run"]) == 2


def test_a_job_ends_in_a_step_not_a_boolean():
    worker = TimedWorker([cell(0) + loaded() + public_answers() + case("q/hidden/0")[:1] + crash(),
                          cell(0) + loaded() + case("q/hidden/1") + case("q/hidden/2") + done("hidden")])
    state = _Run(worker, program(1), PUBLIC + HIDDEN, clock=worker.clock)
    assert state._job(worker.next_job()) is Step.RESUME
    assert state._job(worker.next_job()) is Step.FINISHED


def _honest_finish() -> list:
    return loaded() + public_answers() + case("q/hidden/0") + case("q/hidden/1") + case("q/hidden/2") + done("hidden")


@pytest.mark.parametrize("forged", ["same cell", "every cell"])
def test_forged_cell_starts_give_a_job_no_more_time_than_its_cells_honestly_have(forged):
    """Cell 0 never ends; every 4 s (less than cell_seconds plus its grace, 4.5 s) it writes a
    forged "cell started" event on the event pipe: for itself again, or for each cell of the
    program in turn. An honest cell is stopped 4.5 s after it starts, and a job's cells together
    can have at most one such stretch each: the forger's job may not outlast that."""
    cells = 3
    per_cell = LIMITS.cell_seconds + grace(LIMITS.cell_seconds)
    starts = [0] * 12 if forged == "same cell" else [1, 2] * 6
    first = cell(0)[:1] + [x for index in starts for x in (4.0, cell(index)[0])]
    worker = TimedWorker([first, cell(1) + cell(2) + _honest_finish()])
    report = run_program(worker, program(cells), PUBLIC + HIDDEN)
    assert report.seconds <= (1 if forged == "same cell" else cells) * per_cell
    assert report.cells[0 if forged == "same cell" else 2].status == "timeout"
    assert all(report.answers[c.uid].status == "ok" for c in PUBLIC + HIDDEN)


def test_a_forged_case_start_gives_the_call_no_second_stretch():
    """A public call that never answers writes a forged "case started" for itself every 1.2 s
    (less than case_seconds plus its grace, 2 s): it is stopped 2 s after it started."""
    per_case = LIMITS.case_seconds + grace(LIMITS.case_seconds)
    first = cell(0) + loaded() + case("q/public/0")[:1] + [x for _ in range(10) for x in (1.2, case("q/public/0")[0])]
    worker = TimedWorker([first, cell(0) + loaded() + case("q/public/1") + done("public") + case("q/hidden/0")
                          + case("q/hidden/1") + case("q/hidden/2") + done("hidden")])
    report = run_program(worker, program(1), PUBLIC + HIDDEN)
    assert report.answers["q/public/0"].status in ("timeout", "error")
    assert report.seconds <= per_case
    assert all(report.answers[c.uid].status == "ok" for c in PUBLIC[1:] + HIDDEN)
