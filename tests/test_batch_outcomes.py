"""A batch's class files come from one list of per-student outcomes (issue 11, item 7): results.json
is encoded record by record (never spliced from texts), and a student is found by their identity,
never by the display name in their result."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from grader import batch
from grader.results import json_object_chunks, json_text
from grader.session import internal_error
from shared_cases import shared_case_set


@pytest.fixture(scope="module")
def case_set(config):
    return shared_case_set(config)


def _graded(tmp_path: Path, case_set, out: Path, entries: list[tuple[str, str]]) -> list[batch.Outcome]:
    """Outcomes of real results (the grader's own error result: no sandbox needed) written as a
    batch writes them; `entries`: (entry name in DIR, display name in the result)."""
    outcomes = []
    for entry, shown in entries:
        path = tmp_path / entry
        path.write_text("print('hello')\n")
        submission = batch.Submission(shown, path, entry)
        result = internal_error(path, shown, case_set, "all", RuntimeError("for the test"))
        outcomes.append(batch.write_student(out, submission, result, None))
    return outcomes


def test_json_object_chunks_is_json_text_in_pieces():
    head = {"assignment": "hw3", "incomplete": {"pending": 2}, "ü": [1.5, None]}
    records = [{"a": 1e-05, "b": "ü\u2028"}, {"c": [True, False]}, {}]
    assert "".join(json_object_chunks(head, "results", iter(records))) == json_text({**head, "results": records})
    assert "".join(json_object_chunks({}, "results", [])) == json_text({"results": []})


def test_results_json_holds_each_students_result_json(tmp_path, case_set):
    out = tmp_path / "out"
    outcomes = _graded(tmp_path, case_set, out, [("a.py", "a"), ("b.py", "b")])
    assert all({batch.RESULT, batch.REPORT} <= set(o.files) for o in outcomes)
    batch.write_class(out, outcomes, case_set)
    text = (out / "results.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert json_text(data) == text
    on_disk = [json.loads((batch.student_dir(out, o.submission) / batch.RESULT).read_text()) for o in outcomes]
    assert data["results"] == on_disk


def test_a_damaged_result_json_never_damages_results_json(tmp_path, case_set):
    """Spliced as text, one student's broken result.json made the whole class's results.json invalid."""
    out = tmp_path / "out"
    outcomes = _graded(tmp_path, case_set, out, [("a.py", "a"), ("b.py", "b")])
    (batch.student_dir(out, outcomes[0].submission) / batch.RESULT).write_text('{"submission": "a", ')
    batch.write_class(out, outcomes, case_set)
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [r["submission"] for r in data["results"]] == ["a", "b"]
    assert data["results"][0] == outcomes[0].result.to_dict()


def test_students_with_the_same_display_name_keep_their_own_files(tmp_path, case_set):
    """Two hand-ins whose results carry the same name (as a cleaned or truncated name can): each
    row of the class files is the student's own, found by identity."""
    out = tmp_path / "out"
    outcomes = _graded(tmp_path, case_set, out, [("same.ipynb", "same"), ("same.py", "same")])
    folders = [batch.student_dir(out, o.submission).name for o in outcomes]
    assert folders[0] != folders[1]
    batch.write_class(out, outcomes, case_set)
    summary = (out / "summary.html").read_text(encoding="utf-8")
    for folder in folders:
        assert f"students/{folder}/report.html" in summary
        assert f"students/{folder}/instructor.html" in summary
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 2


def test_outcomes_are_put_in_order_by_identity(tmp_path, case_set):
    out = tmp_path / "out"
    outcomes = _graded(tmp_path, case_set, out, [("x.py", "same"), ("y.py", "same"), ("z.py", "z")])
    submissions = [o.submission for o in outcomes]
    shuffled = [outcomes[2], outcomes[0], outcomes[1]]
    assert batch.in_order(shuffled, submissions) == outcomes
    assert batch.in_order(shuffled[:2], submissions) == [outcomes[0], outcomes[2]]   # y.py not graded yet
