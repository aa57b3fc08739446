"""An answer seen before on a case is judged and located once (pipeline.Judgments), with the same result.

The judgment of an answered case (verdict, message, description, catalogued mistakes, copying
digest) and where a wrong one goes wrong (diagnose.locate, given its probes' verdicts) depend on
the case and the exact value alone. The batch keeps them by the value's wire form
(`kinds.Kind.wire_key`), so an answer the class gave before is neither decoded into a new
verdict, nor compared, described or diagnosed again. These tests check that the key holds all that
decoding reads, that the table is used and bounded, and that grading with it gives exactly the
results, staff data and copying evidence that grading without it does.
"""
from __future__ import annotations

import base64
import dataclasses

import numpy as np
import pytest

from grader import pipeline
from grader.kinds import KINDS
from grader.protocol import RawAnswer, RunStatus, decode_keyed
from grader.spec import ARRAY, ARRAY_DICT, LABEL, NAME_SET
from test_diagnosis import MUTANTS, student_module
from conftest import SUBMISSIONS


def _wire(values, shape=None) -> dict:
    arr = np.asarray(values, dtype="<f8")
    return {"shape": list(arr.shape if shape is None else shape), "b64": base64.b64encode(arr.tobytes()).decode()}


def test_equal_keys_only_for_data_that_decodes_alike():
    one = _wire([1.0, 2.0])
    value, key = decode_keyed(ARRAY, (), one)
    again, same = decode_keyed(ARRAY, (), dict(one, extra="ignored by decode"))
    assert key == same and np.array_equal(value, again)
    _, other = decode_keyed(ARRAY, (), _wire([1.0, 2.0], shape=[2, 1]))
    assert other != key                                  # same bytes, another shape
    complex_ = dict(one, imag_b64=_wire([0.0, 1e-20])["b64"])
    assert decode_keyed(ARRAY, (), complex_)[1] != key   # an imaginary part is part of the value
    # a bool is not a shape (decode refuses it) although True == 1: no key, so nothing is shared
    assert KINDS[ARRAY].wire_key((), {"shape": [True], "b64": _wire([1.0])["b64"]}) is None
    assert KINDS[ARRAY].wire_key((), {"shape": [1], "b64": _wire([1.0])["b64"]}) is not None


def test_keys_of_the_other_kinds():
    keys = ("a", "b")
    both = {"a": _wire([1.0]), "b": _wire([2.0])}
    _, key = decode_keyed(ARRAY_DICT, keys, both)
    assert decode_keyed(ARRAY_DICT, keys, {"b": both["b"], "a": both["a"]})[1] == key     # key order
    assert decode_keyed(ARRAY_DICT, keys, {"a": both["a"]})[1] != key                      # a key missing
    assert decode_keyed(LABEL, (), "vanishing")[1] != decode_keyed(LABEL, (), "Vanishing")[1]
    assert decode_keyed(NAME_SET, (), ["f", "i"])[1] == decode_keyed(NAME_SET, (), ["i", "f"])[1]


def _answer(case, value) -> RawAnswer:
    kind = KINDS[ARRAY]
    data = _wire(value)
    return RawAnswer(case.uid, RunStatus.OK, kind.decode((), data), key=kind.wire_key((), data))


def test_the_same_value_on_the_same_case_is_judged_once(session):
    case_set = session.case_set
    case = next(c for c in case_set.cases if c.probe is None and c.visibility == "public"
                and case_set.assignment.question(c.question_id).kind == ARRAY)
    question = case_set.assignment.question(case.question_id)
    memo: dict = {}
    wrong = np.asarray(case.expected, dtype=np.float64) + 1.0
    first = pipeline.judgment(question, case, _answer(case, wrong), memo)
    assert pipeline.judgment(question, case, _answer(case, wrong), memo) is first
    assert first.status == pipeline.FAILED and first.digest is not None and first.shown
    right = pipeline.judgment(question, case, _answer(case, case.expected), memo)
    assert right.status == pipeline.PASSED and right is not first
    # without a key (a value that came another way) it is judged afresh, alike
    unkeyed = pipeline.judgment(question, case, RawAnswer(case.uid, RunStatus.OK, wrong), memo)
    assert unkeyed is not first and unkeyed == first


def test_the_table_is_bounded(monkeypatch):
    monkeypatch.setattr(pipeline.Judgments, "SIZE", 3)
    monkeypatch.setattr(pipeline.Judgments, "CHARS", 150)
    table = pipeline.Judgments()
    found = pipeline.Judgment(pipeline.PASSED, "", None)
    for i in range(5):
        table.put("case", ((1,), f"{i:02d}", None), found)
    assert table.get("case", ((1,), "00", None)) is None and table.get("case", ((1,), "04", None)) is found
    assert len(table._found) == 3
    table.put("case", ((1,), "x" * 90, None), found)        # 122 with its shape: the others make room
    assert len(table._found) == 1 and table._chars <= 150
    table.put("case", ((1,), "y" * 200, None), found)       # larger than the whole table: not kept
    assert table.get("case", ((1,), "y" * 200, None)) is None


def _seen(result) -> dict:
    """What a grade gives, every duration left out, and the printed output (a %time cell prints its own)."""
    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k not in ("seconds", "output")}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value
    return plain({"result": result.to_dict(), "staff": [dataclasses.asdict(s) for s in result.staff],
                  "wrong": [dataclasses.asdict(w) for w in result.wrong_answers]})


@pytest.mark.parametrize("source", ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "mutants"])
def test_grading_with_the_table_gives_what_grading_without_it_does(session, tmp_path, source):
    if source == "mutants":
        paths = []
        for number, mutant in enumerate(MUTANTS[::6]):
            path = tmp_path / f"m{number}.py"
            path.write_text(student_module(mutant))
            paths.append(path)
    else:
        paths = [SUBMISSIONS / source]
    memo = session.case_set.memo
    for path in paths:
        memo.pop(("judgments",), None)
        memo.pop(("findings",), None)
        afresh = _seen(session.grade(path))             # every answer judged (and located) now
        assert memo[("judgments",)]._found              # ... and kept
        located = memo.get(("findings",))
        assert bool(located and located._found) == bool(afresh["wrong"])    # each wrong value located
        assert bool(afresh["wrong"]) == (source != "alice_correct.ipynb") or source == "mutants"
        again = _seen(session.grade(path))              # every answer found in the tables
        assert again == afresh
