"""results.json takes each student's result.json text as it is, when it is the file the batch wrote.

The class's results.json holds every student's result as their result.json does. It was made by
parsing each student's file and encoding it again (~1.5 ms a student, in the batch's own process);
a file whose sha256 is the one the batch recorded for it is now taken as it is. These tests check
that the class file is the same either way, and that a file the batch did not write (indented by
hand, cut short) still goes through parsing and encoding, as before.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader import batch
from grader.results import json_object_chunks, json_text
from conftest import SUBMISSIONS

EXAMPLES = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "dave_broken.ipynb", "template.ipynb"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, session):
    folder = tmp_path_factory.mktemp("in")
    for name in EXAMPLES:
        shutil.copy(SUBMISSIONS / name, folder / name)
    out = tmp_path_factory.mktemp("out")
    report = batch.run_batch(folder, out, session.config, session=session, progress=False)
    return out, report.outcomes


def _parsed_and_encoded(out: Path, outcomes) -> list[str]:
    return [json_text(record) for record in batch.results_records(out, outcomes)]


def test_the_class_file_is_what_parsing_and_encoding_gave(graded):
    out, outcomes = graded
    assert all(o.result_sha256 for o in outcomes)
    assert list(batch.results_texts(out, outcomes)) == _parsed_and_encoded(out, outcomes)
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    head = {k: v for k, v in data.items() if k != "results"}
    assert (out / "results.json").read_text(encoding="utf-8") == "".join(
        json_object_chunks(head, "results", iter(json.loads(t) for t in _parsed_and_encoded(out, outcomes))))


def test_a_file_the_batch_did_not_write_is_parsed_and_encoded(graded, tmp_path):
    out, outcomes = graded
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    first = batch.student_dir(copy, outcomes[0].submission) / batch.RESULT
    first.write_text(json.dumps(json.loads(first.read_text(encoding="utf-8")), indent=1), encoding="utf-8")
    second = batch.student_dir(copy, outcomes[1].submission) / batch.RESULT
    second.write_text("{cut short", encoding="utf-8")            # its texts come from the resume record
    texts = list(batch.results_texts(copy, outcomes))
    assert texts == _parsed_and_encoded(copy, outcomes)
    assert "\n" not in texts[0] and json.loads(texts[0]) == json.loads(first.read_text(encoding="utf-8"))
    assert json.loads(texts[1])["submission"] == outcomes[1].result.submission
