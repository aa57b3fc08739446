"""The copying comparison's memory does not grow with what students write (issue 14).

Each student's evidence is reduced at once to compact fingerprints and let go: the comparison
never holds more than one student's text, keeps a few numpy arrays per student, and reads again
only the students whose pairs need details.
"""
from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np

from grader import heap, similarity
from grader.results import AnswerPrint
from grader.similarity import Evidence, Reduced, Template, Thresholds, compare_class, compare_stream

ROOT = Path(__file__).resolve().parents[1]


def _class(size: int) -> list[Evidence]:
    """Independent students (each its own functions and prose), one copying the first's code,
    two sharing an unusual wrong answer."""
    students = []
    for i in range(size):
        code = "".join(f"def f{i}_{j}(a, b):\n    return a * {i * 31 + j} + b ** {j + 2} - {i + 7 * j}\n"
                       for j in range(30))
        prose = " ".join(f"step {i}-{j} follows from the chain rule applied {j} times" for j in range(20))
        wrong = (AnswerPrint("1a/hidden/0", "1a", "hidden 0", f"{i:032x}", "[[1.0]]"),)
        students.append(Evidence(f"s{i:03d}", code, (("1a", prose),), wrong))
    students[1] = Evidence("s001", students[0].code, students[1].written, students[1].wrong)
    shared = tuple(AnswerPrint(f"1b/hidden/{c}", "1b", f"hidden {c}", f"{c:02x}" * 16, "[[0.3]]") for c in range(3))
    for at in (5, 6):
        s = students[at]
        students[at] = Evidence(s.student, s.code, s.written, s.wrong + shared)
    return students


def test_no_student_text_outlives_its_reduction():
    """Reading a class holds one student's Evidence at a time, and what is kept of each is the name
    and a few arrays of fixed-size numbers, smaller than the text they came from."""
    made: list[weakref.ref] = []
    sizes: dict[str, int] = {}

    def stream():
        for student in _class(12):
            gc.collect()
            assert sum(ref() is not None for ref in made) == 0      # the previous one is gone already
            copy = Evidence(student.student, "".join(student.code), tuple(student.written), student.wrong)
            sizes[copy.student] = len(copy.code) + sum(len(t) for _, t in copy.written)
            made.append(weakref.ref(copy))
            yield copy
            del copy

    # The test process's older objects are left out of the many collections (grader.heap): each
    # walked all of them, ~3 s of CPU for this test; the students' copies are all made inside.
    with heap.collecting_only_new_objects():
        reduced, _ = similarity.reduce_class(stream(), Template())
        gc.collect()
    assert all(ref() is None for ref in made)
    assert len(reduced) == 12
    for record in reduced:
        assert isinstance(record, Reduced) and not hasattr(record, "__dict__")     # slots: nothing else kept
        assert isinstance(record.student, str)
        for hashes in (record.code, record.text):
            assert isinstance(hashes, np.ndarray) and hashes.dtype == np.uint32
            assert np.all(np.diff(hashes.astype(np.int64)) > 0)                     # sorted, unique
        assert record.wrong.dtype == similarity.wrong_dtype() and record.wrong.dtype.hasobject is False
        assert record.code.size and record.text.size
        # nothing else is referenced: the name and three arrays
        assert {id(x) for x in gc.get_referents(record) if x is not Reduced} == {id(record.student), id(record.code), id(record.text),
                                                                                 id(record.wrong)}
        assert record.nbytes < 3 * sizes[record.student]    # a few bytes per character, whatever the text
    # the arrays are the students' parts of a few packed buffers (similarity._pack): what they keep
    # alive is exactly their own data, never a larger buffer (a temporary the hashes were cut from)
    owners = {id(owner): owner for record in reduced for a in (record.code, record.text, record.wrong)
              for owner in [a if a.base is None else a.base]}
    assert all(owner.base is None for owner in owners.values())
    assert sum(owner.nbytes for owner in owners.values()) == sum(record.nbytes for record in reduced)


def test_only_the_students_whose_pairs_need_details_are_read_again():
    students = _class(40)
    asked: list[tuple[set[str], set[str]]] = []

    def again(names, full):
        asked.append((set(names), set(full)))
        return (s for s in students if s.student in names)

    pairs = compare_stream(iter(students), again)
    assert len(asked) == 1
    names, full = asked[0]
    assert full == {"s000", "s001", "s005", "s006"} == {n for p in pairs if p.flagged for n in (p.a, p.b)}
    assert names == full
    assert [(p.a, p.b) for p in pairs] == [(p.a, p.b) for p in compare_class(students)]


def test_the_streamed_comparison_gives_the_same_pairs_as_the_held_one():
    students = _class(40)
    held = compare_class(students, Template(), Thresholds())
    streamed = compare_stream((s for s in students), lambda names, full: (s for s in students if s.student in names))
    assert len(held) == len(streamed) > 4
    for a, b in zip(held, streamed):
        assert (a.a, a.b, a.code, a.text, a.numbers, a.flagged, a.reasons, a.code_marks, a.text_parts) == \
               (b.a, b.b, b.code, b.text, b.numbers, b.flagged, b.reasons, b.code_marks, b.text_parts)
        assert [(x.case, x.digest, y.case) for x, y in a.shared_wrong] == [(x.case, x.digest, y.case) for x, y in b.shared_wrong]
    copy = next(p for p in held if (p.a, p.b) == ("s000", "s001"))
    assert copy.flagged and copy.code == 1.0 and copy.code_marks[0] and copy.code_marks[1]
    numbers = next(p for p in held if (p.a, p.b) == ("s005", "s006"))
    assert numbers.flagged and [w.question for w, _ in numbers.shared_wrong] == ["1b"] * 3


def test_pairs_without_details_are_array_rows_not_records():
    students = _class(40)
    pairs = compare_class(students)
    assert isinstance(pairs, similarity.PairList)
    assert len(pairs) > 10 * sum(p.flagged for p in pairs)          # most pairs are a fingerprint or two
    assert len(pairs._rich) == sum(p.flagged or bool(p.shared_wrong) for p in pairs)
    assert pairs[-1] == list(pairs)[-1] and pairs[0:2] == list(pairs)[:2]
