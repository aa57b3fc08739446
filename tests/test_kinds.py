"""The answer kinds: one table on the trusted side (grader.kinds), one on the sandbox side
(jobwire.ENCODERS), and every step of an answer's way goes through them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from grader import jobwire
from grader.compare import ComplexArray, compare, describe, matches
from grader.kinds import KINDS, Kind, kind_of
from grader.protocol import BadValue, decode_value
from grader.runner import answer_size
from grader.spec import Question, Tolerance

TOL = Tolerance()
SAMPLES = {
    "array": np.arange(6.0).reshape(2, 3),
    "array_dict": {"a": np.ones(2), "b": np.zeros((1, 2))},
    "label": "tanh",
    "name_set": {"W", "b"},
}
KEYS = {"array_dict": ("a", "b")}


def test_both_halves_know_the_same_kinds():
    assert set(KINDS) == set(jobwire.ENCODERS) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_an_answer_travels_out_and_is_judged_through_its_kind(name):
    kind, keys = kind_of(name), KEYS.get(name, ())
    wire = json.loads(json.dumps(jobwire.encode_answer(name, list(keys), SAMPLES[name])))
    value = decode_value(name, keys, wire)
    expected = kind.normalise(SAMPLES[name])
    assert answer_size(name, keys, wire) == kind.declared_bytes(keys, wire)
    assert compare(name, expected, value, TOL, keys).passed
    assert matches(name, expected, value, TOL, keys)
    assert describe(name, value)


def test_complex_arrays_go_through_the_array_kind():
    wire = jobwire.encode_answer("array", [], np.array([1 + 0.5j, 2]))
    value = decode_value("array", (), wire)
    assert isinstance(value, ComplexArray) and answer_size("array", (), wire) == 32
    assert not compare("array", np.array([1.0, 2.0]), value, TOL).passed
    assert "complex" in describe("array", value)


def test_unknown_kinds_are_refused_everywhere():
    with pytest.raises(ValueError):
        kind_of("matrix")
    with pytest.raises(BadValue):
        decode_value("matrix", (), {})
    with pytest.raises(jobwire.Unconvertible):
        jobwire.encode_answer("matrix", [], 1)
    assert answer_size("matrix", (), {"shape": [10]}) == 0
    with pytest.raises(ValueError, match="unknown answer kind"):
        Question("q", "Q", 1.0, "f", "matrix")


class Integer(Kind):
    """A kind nobody has yet: one entry in each table, nothing else."""

    name = "integer"

    def decode(self, keys, data):
        if not isinstance(data, int) or isinstance(data, bool):
            raise BadValue("expected an integer")
        return data

    def compare(self, expected, got, tol, keys=()):
        from grader.compare import FAILED, PASSED, Verdict

        return Verdict(PASSED) if got == expected else Verdict(FAILED, f"Expected {expected}, got {got}.")


def _encode_integer(obj, keys, limit):
    if not isinstance(obj, int):
        raise jobwire.Unconvertible(f"returned {type(obj).__name__}; expected an integer")
    return int(obj)


def test_a_new_kind_is_one_entry_in_each_table(monkeypatch):
    monkeypatch.setitem(KINDS, "integer", Integer())
    monkeypatch.setitem(jobwire.ENCODERS, "integer", _encode_integer)
    question = Question("q", "Q", 1.0, "f", "integer")
    got = decode_value(question.kind, (), json.loads(json.dumps(jobwire.encode_answer("integer", [], 5))))
    verdict = compare(question.kind, 4, got, TOL)
    assert verdict.status == "failed" and verdict.message == "Expected 4, got 5."
    assert matches("integer", 5, got, TOL) and describe("integer", got) == "5"


def test_a_kind_without_relations_or_blocks_is_diagnosed_without_them(monkeypatch):
    from grader.diagnose import relations

    monkeypatch.setitem(KINDS, "integer", Integer())
    question = Question("q", "Q", 1.0, "f", "integer")
    assert relations(question, 4, -4) == [] and not kind_of("integer").numeric
    assert not kind_of("integer").has_blocks and kind_of("array").has_blocks
