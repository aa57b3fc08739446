"""The writer process (grader.writer): students' files written beside the grading, never lost.

The promises: a batch that writes through the writer leaves exactly the files, results and class
files it leaves writing in its own process; a writer that dies mid-batch costs nothing (its
students are written by the batch itself); a class too small to pay for it never starts one.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import threading
from pathlib import Path

import pytest

from batch_input import round_robin_class
from grader import batch, writer
from grader.results import Result

EXAMPLES = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py", "dave_broken.ipynb"]


def _class(folder: Path, students: int) -> Path:
    return round_robin_class(folder, students, EXAMPLES)


def _scores(out: Path) -> dict[str, tuple]:
    found = {}
    for path in (out / batch.STUDENTS).glob("*/result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        folder = path.parent
        found[data["submission"]] = (data["score"], data["status"],
                                     sorted(p.name for p in folder.iterdir() if p.is_file()))
    return found


def _untimed(value):
    """`value` without what differs between two runs of the same grading: how long things took
    (and the output, where a notebook prints its own timings: `%time`)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if "second" not in k and k != "output"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _grade(folder: Path, out: Path, session, monkeypatch, smallest: int, on_result=None):
    """A batch with its own session (a writer is only ever started then), the writer's threshold set.
    Its Session builds its case set through `caseset.build`: the tests take `shared_builds`."""
    monkeypatch.setattr(writer, "MIN_CLASS", smallest)
    return batch.run_batch(folder, out, session.config, workers=1, progress=False, on_result=on_result)


@pytest.mark.skipif(not writer.usable(), reason="no fork on this system: the batch writes in its own process")
def test_the_writer_leaves_the_same_files_as_writing_here(tmp_path: Path, session, monkeypatch, shared_builds):
    folder = _class(tmp_path / "in", 5)
    started = []
    real_start = writer.start
    monkeypatch.setattr(writer, "start", lambda n: started.append(real_start(n)) or started[-1])
    with_writer = _grade(folder, tmp_path / "a", session, monkeypatch, smallest=2)
    assert started and started[0] is not None
    without = _grade(folder, tmp_path / "b", session, monkeypatch, smallest=10_000)
    assert started[1] is None
    assert with_writer.graded == without.graded == 5
    assert _scores(tmp_path / "a") == _scores(tmp_path / "b") and len(_scores(tmp_path / "a")) == 5
    assert (tmp_path / "a" / "grades.csv").read_text(encoding="utf-8") == \
        (tmp_path / "b" / "grades.csv").read_text(encoding="utf-8")
    assert _untimed(json.loads((tmp_path / "a" / "results.json").read_text(encoding="utf-8"))) == \
        _untimed(json.loads((tmp_path / "b" / "results.json").read_text(encoding="utf-8")))
    assert [o.identity for o in with_writer.outcomes] == [o.identity for o in without.outcomes]
    assert all(isinstance(o.result, Result) for o in with_writer.outcomes)
    assert not multiprocessing.active_children()          # the writer is gone when the batch is


@pytest.mark.skipif(not writer.usable(), reason="no fork on this system: the batch writes in its own process")
def test_a_writer_that_dies_mid_batch_loses_no_student(tmp_path: Path, session, monkeypatch, shared_builds):
    folder = _class(tmp_path / "in", 6)
    killed = []

    def kill_the_writer(submission, result):
        if not killed:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    report = _grade(folder, tmp_path / "out", session, monkeypatch, smallest=2, on_result=kill_the_writer)
    assert killed
    assert report.graded == 6 and len(report.outcomes) == 6
    scores = _scores(tmp_path / "out")
    assert len(scores) == 6 and all("report.html" in files and "batch.json" in files
                                    for _, status, files in scores.values() if status == "graded")
    again = _grade(folder, tmp_path / "out", session, monkeypatch, smallest=2)
    assert (again.graded, again.reused) == (0, 6)


def test_a_small_class_starts_no_writer():
    assert writer.start(writer.MIN_CLASS - 1) is None


# ------------------------------------------------------------------------------------------------
# What the writer does for each student, made cheaper: the same files, byte for byte


@pytest.fixture(scope="module")
def graded(session) -> list[tuple[batch.Submission, Result]]:
    """Two students graded in full (every case, staff data): one right, one with the seed's mistakes."""
    root = Path(__file__).resolve().parent.parent / "submissions"
    found = []
    for name in ("alice_correct.ipynb", "bob_seed_mistakes.ipynb"):
        submission = batch.Submission(name.split(".")[0], root / name, name)
        found.append((submission, session.grade(submission.path, submission.name)))
    return found


def test_the_resume_record_holds_the_result_json_text_encoded_once(tmp_path: Path, graded, monkeypatch):
    from grader import results

    encoded = []
    real_dumps = results.json.dumps

    def counting(data, **kwargs):
        if isinstance(data, dict) and ("cells" in data or isinstance(data.get("result"), dict)):
            encoded.append(data)            # a whole result, alone (result.json) or inside the record
        return real_dumps(data, **kwargs)

    monkeypatch.setattr(results.json, "dumps", counting)
    stamp = batch.Stamp("0" * 64, "version", "case-set", "settings")
    for submission, result in graded:
        encoded.clear()
        outcome = batch.write_student(tmp_path, submission, result, stamp, pages=False)
        assert len(encoded) == 1            # result.json's text is the record's too
        folder = batch.student_dir(tmp_path, submission)
        text = (folder / batch.RESULT).read_text(encoding="utf-8")
        record = {"stamp": stamp.to_dict(), "source": str(submission.path),
                  "result_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "result": json.loads(text)}
        assert (folder / batch.RECORD).read_text(encoding="utf-8") == results.json_text(record)
        assert outcome.result_sha256 == record["result_sha256"]
        assert batch.load_record(folder).result_sha256 == outcome.result_sha256


def _drawn_case_by_case(source: str) -> str:
    """A page template as it was, drawing its cases one `{{ }}` at a time in a template loop."""
    return (source.replace("{{ case_blocks.staff_all(cases) -}}\n",
                           "  {% for c in cases %}\n  {{ case_blocks.staff(c) }}\n  {% endfor %}\n")
                  .replace("{{ case_blocks.public_all(v.public) -}}\n",
                           "  {% for c in v.public %}\n  {{ case_blocks.public(c) }}\n  {% endfor %}\n"))


def test_a_question_s_cases_drawn_at_once_make_the_same_pages(graded):
    import jinja2

    from grader.render import html, instructor

    folder = html.template_dir()
    assert folder is not None
    old = {name: _drawn_case_by_case((folder / name).read_text(encoding="utf-8")) for name in ("report.html", "staff.html")}
    assert all("case_blocks.staff(c)" in t or "case_blocks.public(c)" in t for t in old.values())
    before = html.make_environment(jinja2.ChoiceLoader([jinja2.DictLoader(old), html.loader(folder)]))
    now = html.environment()
    for _, result in graded:
        assert html.report(result, now, work_href="work.html") == html.report(result, before, work_href="work.html")
        assert instructor.instructor_html(result, env=now) == instructor.instructor_html(result, env=before)


def test_instructor_json_with_the_run_s_case_table_is_the_same_text(graded):
    from grader.render import html, instructor
    from grader.results import json_text

    env = html.environment()
    for _ in range(2):                      # the cases' texts made, then taken from the table
        for _, result in graded:
            views = instructor.case_views(result)
            expected = json_text(instructor.instructor_data(result, views))
            assert instructor.instructor_json(result, views, env=env) == expected
            assert instructor.instructor_json(result, env=env) == expected == instructor.instructor_json(result)
    assert any(key[0] == "staff_json" for key in env.globals["case_blocks"]._blocks)


# ------------------------------------------------------------------------------------------------
# The writer's death is seen whatever it was doing (a ProcessPoolExecutor left the batch waiting
# forever when its process died while sending a reply, or with the pipe of students full)


def _finishes(action, seconds: float = 20.0):
    """Run `action` in a thread; what it returned or raised, or a failure if it is still waiting."""
    box: dict = {}

    def run():
        try:
            box["value"] = action()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "still waiting for a writer that is gone"
    return box


class _Written:
    result_sha256 = "0" * 64
    files = ("result.json",)


@pytest.mark.skipif(not writer.usable(), reason="no fork on this system: the batch writes in its own process")
def test_a_writer_killed_in_the_middle_of_its_reply_is_seen_gone(monkeypatch, tmp_path):
    batch_pid = os.getpid()
    real_send = writer._send

    def half_then_die(fd, payload):
        if os.getpid() == batch_pid:
            return real_send(fd, payload)
        framed = len(payload).to_bytes(writer.LENGTH_BYTES, "big") + payload
        os.write(fd, framed[:len(framed) // 2])
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(writer, "_send", half_then_die)
    monkeypatch.setattr(writer, "_write", lambda *args: _Written())
    started = writer.Writer()
    try:
        pending = started.submit(tmp_path, "student", "result", None, True)
        outcome = _finishes(pending.result)
        assert isinstance(outcome.get("error"), writer.WriterGone)
        assert writer.broken(outcome["error"])
        assert pending.done()
    finally:
        started.close(wait=False)
    assert not multiprocessing.active_children()


@pytest.mark.skipif(not writer.usable(), reason="no fork on this system: the batch writes in its own process")
def test_a_writer_killed_while_the_batch_waits_to_hand_it_a_student_is_seen_gone(tmp_path):
    started = writer.Writer()
    try:
        os.kill(started._process.pid, signal.SIGSTOP)      # reads nothing: the pipe of students fills
        big = "x" * 300_000

        def hand_over():
            for _ in range(4):
                started.submit(tmp_path, "student", big, None, True)

        killer = threading.Timer(0.3, os.kill, (started._process.pid, signal.SIGKILL))
        killer.start()
        outcome = _finishes(hand_over)
        killer.join()
        assert isinstance(outcome.get("error"), writer.WriterGone)
    finally:
        started.close(wait=False)
    assert not multiprocessing.active_children()


@pytest.mark.skipif(not writer.usable(), reason="no fork on this system: the batch writes in its own process")
def test_what_writing_raises_in_the_writer_is_raised_in_the_batch(monkeypatch, tmp_path):
    def fails(*args):
        raise ValueError("a template broke")

    monkeypatch.setattr(writer, "_write", fails)
    started = writer.Writer()
    try:
        outcome = _finishes(started.submit(tmp_path, "student", "result", None, True).result)
        assert isinstance(outcome.get("error"), ValueError) and "a template broke" in str(outcome["error"])
        assert not writer.broken(outcome["error"])
    finally:
        started.close()
    assert not multiprocessing.active_children()
