"""The comparison is the heart of 'no score inflation': each check has its own failing test."""
from __future__ import annotations

import numpy as np
import pytest

from grader.compare import ERROR, FAILED, PASSED, NotAnAnswer, as_plain_array, compare, compare_arrays, describe
from grader.spec import ARRAY, ARRAY_DICT, LABEL, NAME_SET, Tolerance

TOL = Tolerance()


def test_equal_arrays_pass_and_lists_are_fine():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert compare_arrays(expected, [[1.0, 2.0], [3.0, 4.0 + 1e-9]], TOL).passed


def test_shape_is_exact_no_broadcasting():
    expected = np.ones((2, 2))
    verdict = compare_arrays(expected, np.ones((1, 2)), TOL)
    assert verdict.status == FAILED and "Wrong shape: expected (2, 2), got (1, 2)" in verdict.message
    assert compare_arrays(expected, 1.0, TOL).status == FAILED
    assert compare_arrays(np.ones(3), np.ones((3, 1)), TOL).status == FAILED
    assert compare_arrays(np.ones((0,)), np.ones((1,)), TOL).status == FAILED


def test_empty_answer_does_not_broadcast_against_anything():
    verdict = compare_arrays(np.ones((2, 2)), np.empty((0,)), TOL)
    assert verdict.status == FAILED and "shape" in verdict.message


def test_transposed_answer_fails_with_both_shapes_named():
    verdict = compare_arrays(np.ones((3, 2)), np.ones((2, 3)), TOL)
    assert "(3, 2)" in verdict.message and "(2, 3)" in verdict.message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_fail_even_where_expected_is_non_finite(bad):
    got = np.array([1.0, bad])
    verdict = compare_arrays(np.array([1.0, 2.0]), got, TOL)
    assert verdict.status == FAILED and "index (1)" in verdict.message
    # NaN never equals NaN: a NaN in the answer fails whatever the reference holds.
    assert compare_arrays(np.array([1.0, 2.0]), np.array([np.nan, np.nan]), TOL).status == FAILED


def test_zero_answer_never_passes_against_tiny_nonzero_reference():
    expected = np.full((2, 2), 1e-13)
    verdict = compare_arrays(expected, np.zeros((2, 2)), TOL)
    assert verdict.status == FAILED and "all zeros" in verdict.message


def test_tolerance_scales_with_the_reference_magnitude():
    expected = np.array([1e-12, 2e-12])
    assert compare_arrays(expected, expected * (1 + 1e-9), TOL).passed
    assert not compare_arrays(expected, expected * 1.01, TOL).passed
    big = np.array([1e12, 0.0])
    assert compare_arrays(big, np.array([1e12, 1e-3]), TOL).passed  # 1e-3 << atol * 1e12
    assert not compare_arrays(big, np.array([1.001e12, 0.0]), TOL).passed


def test_mismatch_message_is_as_precise_as_assert_allclose():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = np.array([[1.0, 2.0], [3.5, 4.0]])
    message = compare_arrays(expected, got, TOL).message
    assert "Mismatched elements: 1 / 4 (25%)" in message
    assert "Largest absolute difference: 0.5 at index (1, 0) (expected 3, got 3.5)" in message
    assert "Largest relative difference: 0.166667 at index (1, 0)" in message
    assert "rtol=1e-06" in message


def test_the_message_points_at_the_worst_violation_not_at_an_element_that_passes():
    """numpy's rule (assert_array_compare): the largest differences are taken among the violations.
    Here the first element differs more in absolute terms but is within rtol of 1e6; only the second
    fails, so it is the one named, with its own expected and got."""
    expected = np.array([1e6, 1e-3])
    got = np.array([1e6 + 0.5, 1e-3 + 0.02])
    message = compare_arrays(expected, got, TOL).message
    assert "Mismatched elements: 1 / 2 (50%)" in message
    assert "Largest absolute difference: 0.02 at index (1) (expected 0.001, got 0.021)" in message
    assert "Largest relative difference: 20 at index (1)." in message


def test_among_several_violations_the_largest_is_named():
    expected = np.array([1.0, 100.0, 1e7, 10.0])
    got = np.array([1.5, 100.0, 1e7 + 5, 13.0])      # violations at 0 (0.5) and 3 (3.0); 2 (5.0) is within rtol
    message = compare_arrays(expected, got, TOL).message
    assert "Mismatched elements: 2 / 4 (50%)" in message
    assert "Largest absolute difference: 3 at index (3) (expected 10, got 13)" in message
    assert "Largest relative difference: 0.5 at index (0)." in message


def test_expected_and_got_are_printed_with_the_digits_that_tell_them_apart():
    message = compare_arrays(np.array([1e6]), np.array([1e6 + 2]), TOL).message
    assert "(expected 1000000, got 1000002)" in message


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __array__(self, *args, **kwargs):
        raise TypeError("not an array")


class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __array_function__(self, func, types, args, kwargs):
        return True


def test_objects_that_claim_equality_are_not_trusted():
    assert compare_arrays(np.ones(2), AlwaysEqual(), TOL).status == ERROR
    liar = np.zeros(2).view(Liar)
    assert compare_arrays(np.ones(2), liar, TOL).status == FAILED


def test_masked_arrays_are_refused():
    masked = np.ma.masked_array([1.0, 99.0], mask=[False, True])
    with pytest.raises(NotAnAnswer):
        as_plain_array(masked)
    assert compare_arrays(np.array([1.0, 2.0]), masked, TOL).status == ERROR


@pytest.mark.parametrize("value", [None, "1.0", {"a": 1}, {1.0, 2.0}, [[1.0], [1.0, 2.0]], ["a", "b"]])
def test_things_that_are_not_numbers_are_errors(value):
    assert compare_arrays(np.ones(2), value, TOL).status == ERROR


def test_plain_array_is_an_owned_copy():
    source = np.arange(3.0)
    plain = as_plain_array(source)
    source[0] = 99
    assert plain[0] == 0 and type(plain) is np.ndarray and plain.dtype == np.float64


def test_dict_answers_need_every_key_and_report_each_failure():
    expected = {"f": np.ones(2), "i": np.zeros(2)}
    assert compare(ARRAY_DICT, expected, {"f": [1, 1], "i": [0, 0], "extra": 5}, TOL, ("f", "i")).passed
    missing = compare(ARRAY_DICT, expected, {"f": [1, 1]}, TOL, ("f", "i"))
    assert missing.status == ERROR and "'i'" in missing.message
    wrong = compare(ARRAY_DICT, expected, {"f": [1, 2], "i": [0, 0]}, TOL, ("f", "i"))
    assert wrong.status == FAILED and wrong.message.startswith("['f']")
    assert compare(ARRAY_DICT, expected, [1, 2], TOL, ("f", "i")).status == ERROR


def test_labels_and_name_sets():
    assert compare(LABEL, "vanishing", " Vanishing ", TOL).passed
    assert compare(LABEL, "vanishing", "exploding", TOL).status == FAILED
    assert compare(LABEL, "vanishing", 3, TOL).status == ERROR
    names = frozenset({"f", "i", "o"})
    assert compare(NAME_SET, names, ["o", "i", "f"], TOL).passed
    assert compare(NAME_SET, names, frozenset({"f", "i", "o"}), TOL).passed
    assert compare(NAME_SET, names, {"f", "i", "o", "c"}, TOL).status == FAILED
    assert compare(NAME_SET, names, {"f", "i"}, TOL).status == FAILED
    assert compare(NAME_SET, names, "fio", TOL).status == ERROR


def test_tolerance_must_keep_zero_from_passing():
    with pytest.raises(ValueError):
        Tolerance(rtol=0.5, atol=0.5)


def test_describe_is_bounded():
    text = describe(ARRAY, np.zeros((200, 200)))
    assert text.startswith("shape (200, 200)") and len(text) <= 1500


def _slow_pass(expected: np.ndarray, got, tol: Tolerance) -> bool:
    """The definition, check by check: same shape, all finite, not all zero against a non-zero
    reference, every element within rtol*|expected| + atol*max|expected|."""
    got = np.array(got, dtype=np.float64)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return False
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if expected.size and scale > 0 and not np.any(got):
        return False
    with np.errstate(over="ignore"):
        return bool(np.all(np.abs(got - expected) <= tol.rtol * np.abs(expected) + tol.atol * scale))


SPECIAL = [0.0, -0.0, 1e-300, -1e-300, 1e308, -1e308, np.inf, -np.inf, np.nan, 1.0, 1.0 + 1e-7, 1.0 + 1e-5]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.filterwarnings("error")
def test_fast_pass_check_and_matches_agree_with_the_definition(seed):
    """compare_arrays decides a pass in one step and `matches` words no message: both must agree
    with the check-by-check definition on NaN, inf, zeros, huge values, shape changes."""
    from grader.compare import matches

    rng = np.random.default_rng(seed)
    tol = Tolerance(rtol=float(rng.choice([1e-6, 1e-3, 0.4])), atol=float(rng.choice([0.0, 1e-8, 0.3])))
    shape = tuple(int(n) for n in rng.integers(0, 4, size=rng.integers(0, 3)))
    expected = rng.choice(SPECIAL[:6] + [1.0, 2.5, -3.0], size=shape).astype(np.float64)
    for trial in range(30):
        got = expected.copy()
        if got.size and trial % 3:
            flat = got.reshape(-1)
            flat[rng.integers(0, got.size)] = rng.choice(SPECIAL)
        if trial % 7 == 0:
            got = np.zeros(shape)
        if trial % 11 == 0:
            got = got.reshape(-1)
        want = _slow_pass(expected, got, tol)
        assert compare_arrays(expected, got, tol).passed == want
        assert matches(ARRAY, expected, got, tol) == want
        assert matches(ARRAY_DICT, {"a": expected}, {"a": got, "b": 1}, tol, ("a",)) == want


def test_each_reference_is_judged_against_its_own_values_and_tolerance():
    """The bound of a reference array is kept while the array lives: a new array (which may get a
    freed one's id) and another tolerance on the same array are judged afresh."""
    loose, tight = Tolerance(rtol=1e-2, atol=0.0), Tolerance(rtol=1e-9, atol=0.0)
    for scale in (1.0, 1e6, 1e-6, 3.0, 1.0):
        expected = np.array([1.0, -2.0, 4.0]) * scale
        near = expected * (1 + 1e-4)
        assert compare_arrays(expected, near, loose).passed
        assert not compare_arrays(expected, near, tight).passed
        assert compare_arrays(expected, near, loose).passed
        del expected, near
