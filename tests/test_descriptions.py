"""Answers are described once per distinct value (pipeline.Descriptions): the text must always be
the one `compare.describe` makes of that very value (cleaned and bounded for a report), however
many values came before."""
from __future__ import annotations

import numpy as np
import pytest

from grader.compare import ComplexArray
from grader.compare import describe as describe_now
from grader.pipeline import SHOWN_LIMIT, Descriptions, _exact_key
from grader.spec import ARRAY, ARRAY_DICT, LABEL
from grader.text import clean


def describe(kind, value) -> str:
    return clean(describe_now(kind, value), SHOWN_LIMIT)


def test_a_value_seen_again_reads_as_it_did_and_a_last_bit_apart_gets_its_own_text():
    table = Descriptions()
    a = np.array([[0.1, 0.2], [0.3, 1e-9]])
    b = a.copy()
    b[1, 1] = np.nextafter(b[1, 1], 1.0)          # one ulp apart: another value
    assert table(ARRAY, a) == describe(ARRAY, a)
    assert table(ARRAY, a.copy()) == describe(ARRAY, a)
    assert _exact_key(ARRAY, a) != _exact_key(ARRAY, b)
    assert table(ARRAY, b) == describe(ARRAY, b)


@pytest.mark.parametrize("first, second", [
    (np.array([0.0, 1.0]), np.array([-0.0, 1.0])),              # printed "0." and "-0."
    (np.zeros(4), np.zeros((2, 2))),                            # same bytes, another shape
    (np.zeros((1, 4)), np.zeros((4, 1))),
])
def test_values_with_the_same_bytes_but_not_the_same_numbers_or_shape_are_told_apart(first, second):
    table = Descriptions()
    assert table(ARRAY, first) == describe(ARRAY, first)
    assert table(ARRAY, second) == describe(ARRAY, second)
    assert table(ARRAY, first) != table(ARRAY, second)


def test_dicts_are_keyed_by_their_names_and_complex_answers_by_both_parts():
    table = Descriptions()
    x = np.arange(3.0)
    one, other = {"f": x, "i": x + 1}, {"i": x, "f": x + 1}
    assert table(ARRAY_DICT, one) == describe(ARRAY_DICT, one)
    assert table(ARRAY_DICT, other) == describe(ARRAY_DICT, other)
    real = ComplexArray(x, np.zeros(3))
    twisted = ComplexArray(x, np.full(3, 1e-3))
    assert table(ARRAY, real) == describe(ARRAY, real)
    assert table(ARRAY, twisted) == describe(ARRAY, twisted)
    assert _exact_key(ARRAY, real) != _exact_key(ARRAY, x)


def test_what_is_not_a_float64_array_is_described_directly():
    assert _exact_key(LABEL, "forget") is None
    assert _exact_key(ARRAY, np.arange(3)) is None            # ints: not what the runner decodes
    assert _exact_key(ARRAY, [0.5, 0.25]) is None
    assert Descriptions()(LABEL, "forget") == describe(LABEL, "forget")


def test_the_table_is_bounded():
    table = Descriptions()
    for i in range(Descriptions.SIZE + 50):
        value = np.array([float(i)])
        assert table(ARRAY, value) == describe(ARRAY, value)
    assert len(table._texts) == Descriptions.SIZE
