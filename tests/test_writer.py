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
