"""Constant memory (issue 14): what a batch keeps per student until the class files are written
is a small, fixed amount, whatever the class size; the rest (case texts, written answers) is read
back from the students' files one student at a time.

Measured on the data, not on time or on the process's resident size: the bytes of every object
reachable from the batch's outcomes, each object counted once (what students share, such as the
questions every correct student got the same, counts once for the class).
"""
from __future__ import annotations

import gc
import json
import sys
import types
from pathlib import Path

from markupsafe import escape

from batch_input import round_robin_class
from grader import batch
from grader.results import Result, Student

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
# Three kinds of hand-in, each with written answers (the largest part of a result the class view
# does not show): a correct notebook, one with seeded mistakes, a module with a write-up.
KINDS = ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py"]
SMALL, LARGE = 3, 12
# What one more student may cost: their Outcome, Submission, Stamp and slim Result (its own
# top-level fields, Student, lists), the written answers without their texts: ~2.5 KB here. With
# the written answers' texts held (as before issue 14's change) it was ~5.6 KB: that fails.
# Python 3.10 (Gradescope's image) keeps each instance's attributes in a dict of its own, which
# 3.11 inlines: the same objects are ~4.4 KB there (2 KB of dicts), and holding the texts ~7.5 KB.
PER_STUDENT_BYTES = 3072 if sys.version_info >= (3, 11) else 5120

_SKIPPED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def reachable_bytes(roots: list) -> int:
    """The bytes of every object reachable from `roots`, each counted once (classes, modules and
    functions left out: they belong to the program, not to the class)."""
    seen: set[int] = set()
    total = 0
    todo = list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, _SKIPPED):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        todo.extend(gc.get_referents(obj))
    return total


def class_of(folder: Path, students: int) -> Path:
    return round_robin_class(folder, students, KINDS, digits=3)


def test_what_a_batch_keeps_per_student_is_bounded_as_the_class_grows(tmp_path: Path, session):
    folder = class_of(tmp_path / "in", LARGE)
    report = batch.run_batch(folder, tmp_path / "out", session.config, session=session, progress=False)
    outcomes = report.outcomes
    assert len(outcomes) == LARGE and all(o.result.status == "graded" for o in outcomes)
    assert any(w.found for o in outcomes for w in o.result.written)     # written answers were handed in
    small, large = reachable_bytes(outcomes[:SMALL]), reachable_bytes(outcomes)
    per_student = (large - small) / (LARGE - SMALL)
    assert per_student <= PER_STUDENT_BYTES, f"{per_student:.0f} bytes kept per student"
    # ... and nothing the class files show is lost: the texts are read back from the students' files
    review = (tmp_path / "out" / "review.html").read_text(encoding="utf-8")
    whole = batch.texts_back(tmp_path / "out", outcomes[0])
    answered = [w for w in whole.written if w.found and w.text.strip()]
    assert answered and all(str(escape(w.text.strip().splitlines()[0][:40])) in review for w in answered)


def test_the_same_bound_holds_for_a_resumed_batch(tmp_path: Path, session):
    """A re-run keeps the students it does not grade again from their records: slim the same way."""
    folder = class_of(tmp_path / "in", LARGE)
    batch.run_batch(folder, tmp_path / "out", session.config, session=session, progress=False)
    report = batch.run_batch(folder, tmp_path / "out", session.config, session=session, progress=False)
    assert report.reused == LARGE
    per_student = (reachable_bytes(report.outcomes) - reachable_bytes(report.outcomes[:SMALL])) / (LARGE - SMALL)
    assert per_student <= PER_STUDENT_BYTES, f"{per_student:.0f} bytes kept per student"


def test_a_damaged_result_json_still_gives_the_written_texts_from_the_record(tmp_path: Path, session):
    """The texts a slim result leaves on disk are never lost with one file: the resume record holds them too."""
    folder = class_of(tmp_path / "in", 2)
    report = batch.run_batch(folder, tmp_path / "out", session.config, session=session, progress=False)
    outcome = report.outcomes[0]
    texts = [w.text for w in batch.texts_back(tmp_path / "out", outcome).written]
    assert any(texts) and not any(w.text for w in outcome.result.written)
    (batch.student_dir(tmp_path / "out", outcome.submission) / batch.RESULT).write_text("{cut short", encoding="utf-8")
    assert [w.text for w in batch.texts_back(tmp_path / "out", outcome).written] == texts
    records = list(batch.results_records(tmp_path / "out", report.outcomes))
    assert [w["text"] for w in records[0]["written"]] == texts


def test_the_review_is_made_from_students_read_once_one_at_a_time(session):
    """The review page takes the class as a stream (each student's texts read back from their files
    in turn), reads it once, and is the same page as from a list of whole results."""
    from grader.render import review

    graded = [session.grade(SUBMISSIONS / kind) for kind in KINDS]
    assignment = session.case_set.assignment
    read: list[int] = []

    def students():
        for at, result in enumerate(graded):
            read.append(at)
            yield result, None

    page = "".join(review.review_stream(students(), assignment))
    assert read == [0, 1, 2]
    assert page == review.review(graded, assignment)
    assert all(str(escape(w.text.strip().splitlines()[0][:40])) in page
               for r in graded for w in r.written if w.found and w.text.strip())


def test_written_texts_are_found_in_the_file_as_a_full_decoding_finds_them(tmp_path: Path):
    """The read-back of the written texts skips decoding the whole file; whatever a student
    wrote (even the key's own characters), it finds what decoding the whole file finds."""
    from grader.results import WrittenAnswer, json_text
    from grader.slim import _written_texts

    tricky = ['"written": [{"id": "x", "text": "forged"}]', 'plain', '\\"written\\":[]', '']
    result = Result("s", "graded", 1.0, 2.0, written=[
        WrittenAnswer(f"p{i}", "t", 1.0, text) for i, text in enumerate(tricky)])
    result.student = Student(id="s", name='"written": [] \\', lms="folder")
    text = json_text(result.to_dict())
    assert _written_texts(text) == {f"p{i}": t for i, t in enumerate(tricky)}
    record = json_text({"stamp": {}, "source": '"written": [', "result": result.to_dict()})
    assert _written_texts(record) == _written_texts(text)
    indented = json.dumps(result.to_dict(), indent=2, sort_keys=True)      # laid out by another tool
    assert _written_texts(indented) == _written_texts(text)
    assert _written_texts("{cut short") is None
