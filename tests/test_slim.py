"""Constant memory: a batch keeps slim results (grader.slim) and every file it writes is still whole."""
from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

from grader import batch, late
from grader.results import Result, WrittenAnswer
from grader.slim import Reduced, SlimWritten, StandIn, inflate, is_slim, slim, with_texts
from batch_output import student_folder

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"


def graded(session, name: str) -> Result:
    return session.grade(SUBMISSIONS / name)


def test_slim_keeps_what_the_class_files_need_and_inflate_restores_the_rest(session, tmp_path: Path):
    full = graded(session, "bob_seed_mistakes.ipynb")
    small = slim(full)
    assert is_slim(small) and not is_slim(full)
    assert small.score == full.score and [q.score for q in small.questions] == [q.score for q in full.questions]
    for a, b in zip(small.questions, full.questions):
        assert [c.status for c in a.cases] == [c.status for c in b.cases]
        assert a.diagnosis == b.diagnosis and a.hints == b.hints
        for reduced, whole in zip(a.cases, b.cases):
            assert reduced.got is None and reduced.message == "" and reduced.inputs is None
            if whole.passed:
                assert type(reduced) is StandIn
            else:   # what the class view's "most failed cases" needs
                assert type(reduced) is Reduced and (reduced.label, reduced.diagnosis) == (whole.label, whole.diagnosis)
    assert small.problems == full.problems
    # the written answers keep all but their texts (on disk: the review and the comparison read them back)
    assert full.written and any(w.text for w in full.written)
    assert [dataclasses.replace(w, text="") for w in full.written] == \
        [WrittenAnswer(**{f.name: getattr(w, f.name) for f in dataclasses.fields(w)}) for w in small.written]
    assert all(type(w) is SlimWritten for w, whole in zip(small.written, full.written) if whole.text)
    shared = next(c for q in small.questions for c in q.cases if type(c) is StandIn)
    assert copy.deepcopy(shared) is shared                                             # shared, even copied
    path = tmp_path / "result.json"
    path.write_text(json.dumps(full.to_dict()), encoding="utf-8")
    assert inflate(small, path).to_dict() == full.to_dict()
    assert inflate(small, tmp_path / "missing.json") is small
    texts = with_texts(small, path)
    assert texts.written == full.written and texts.questions is small.questions
    assert with_texts(small, tmp_path / "missing.json") is small


def test_students_who_fail_a_case_the_same_way_share_one_reduced_case(session):
    """What a class keeps per failed case is a reference: the reduced copies are bounded by the
    assignment (its cases, statuses and mistakes), not by the number of students."""
    bob = graded(session, "bob_seed_mistakes.ipynb")
    shared: dict = {}
    first, second = slim(bob, shared), slim(dataclasses.replace(bob, submission="bob-again"), shared)
    failed = [(a, b) for qa, qb in zip(first.questions, second.questions) for a, b in zip(qa.cases, qb.cases)
              if type(a) is Reduced]
    assert failed and all(a is b for a, b in failed)
    assert all(a is b for a, b in zip(first.questions, second.questions))       # the same outcome: one object
    assert first.case_set is second.case_set and first.assignment is second.assignment
    assert len([k for k in shared if k[0] not in ("question", "problem")]) == len(failed)
    assert first.problems and all(a is b for a, b in zip(first.problems, second.problems))   # one per class
    assert copy.deepcopy(failed[0][0]) is failed[0][0]
    alone = slim(bob)                                         # without a table: copies of its own
    assert next(c for q in alone.questions for c in q.cases if type(c) is Reduced) is not failed[0][0]


def test_a_slim_result_is_a_fraction_of_a_whole_one(session):
    text = json.dumps(graded(session, "bob_seed_mistakes.ipynb").to_dict())

    def size(make) -> int:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            kept = [make(Result.from_dict(json.loads(text))) for _ in range(20)]
            return (tracemalloc.get_traced_memory()[0] - before) // len(kept)
        finally:
            tracemalloc.stop()

    assert size(slim) * 4 < size(lambda r: r)


def test_files_written_after_slimming_are_whole(tmp_path: Path, session):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    scores = tmp_path / "scores.csv"
    scores.write_text("student,part,score,comment\nbob,2b-proof,3,ok\n", encoding="utf-8")
    config = dataclasses.replace(session.config, late=late.LatePolicy(due=datetime(2000, 1, 1, tzinfo=timezone.utc)))
    out = tmp_path / "out"
    batch.run_batch(folder, out, config, session=session, progress=False)
    report = batch.run_batch(folder, out, config, session=session, progress=False, manual_scores=scores)
    assert report.reused == 1 and is_slim(report.results[0])
    saved = json.loads((student_folder(out, "bob") / "result.json").read_text(encoding="utf-8"))
    assert next(w for w in saved["written"] if w["id"] == "2b-proof")["score"] == 3      # merged ...
    public = [c for q in saved["questions"] for c in q["cases"] if c["visibility"] == "public"]
    assert public and all(c["inputs"] is not None and c["expected"] is not None for c in public)  # ... and whole
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["results"] == [saved]
    page = (student_folder(out, "bob") / "report.html").read_text(encoding="utf-8")
    assert public[0]["label"] in page
