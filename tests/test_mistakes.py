"""The catalogue of known mistakes: complete, callable like the graded names, and every
variant far from the reference (and from its siblings) on generic inputs, so that a
student's wrong answer can be matched to exactly one variant."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import reference as ref
from assignments.hw3.mistakes import MISTAKES, NON_POSITIVE, Mistake, includes_non_positive

# question id -> graded name in reference (CONTRACT.md)
GRADED = {
    "1a": "sigmoid_jacobian",
    "1b": "bptt_grad",
    "2a": "bptt_terms",
    "2b": "matrix_power_eig",
    "2c": "W_30",
    "2c-regime": "gradient_regime",
    "3-step": "lstm_step",
    "3b": "ALWAYS_POSITIVE",
    "3c-gates": "lstm_gate_jacobians",
    "3c-cell": "lstm_cell_jacobian",
    "3c-carousel": "cell_state_gradient",
}
VALUE_QUESTIONS = {"2c", "3b"}

REQUIRED = {
    "1a": {"sigma-instead-of-derivative", "transposed", "missing-activation-derivative"},
    "1b": {"no-backprop-through-time", "W-not-transposed", "off-by-one-time-index"},
    "2a": {"t-k-swapped", "sigma-prime-not-per-step"},
    "2b": {"elementwise-power", "Q-transpose-instead-of-inverse", "off-by-one-power"},
    "2c": {"zero-instead-of-small", "rounded", "elementwise-power"},
    "2c-regime": {"signed-eigenvalue-instead-of-modulus"},
    "3-step": {"h-missing-tanh"},
    "3b": {"includes-non-positive-quantity"},
    "3c-gates": {"sigma-instead-of-derivative"},
    "3c-cell": {"forget-gate-only", "wrong-product-rule"},
    "3c-carousel": {"sum-instead-of-product", "identity-regardless-of-gates"},
}

ALL = [(q, m) for q, ms in MISTAKES.items() for m in ms]
ALL_IDS = [f"{q}:{m.id}" for q, m in ALL]
SEEDS = range(8)
FAR = 1e-3          # "far more than 1e-6": what every variant must differ by, relatively

# --------------------------------------------------------------------------------------------
# generic inputs per question (the conditions in mistakes.py's docstring: T >= 3,
# non-symmetric matrices, p != 1, t - k >= 2, forget gates < 1)
# --------------------------------------------------------------------------------------------


def _lstm_params(rng, n, d):
    return {k: rng.normal(size=(n, n) if k[0] == "W" else (n, d))
            for k in ("Wf", "Uf", "Wi", "Ui", "Wo", "Uo", "Wc", "Uc")}


def generic_args(qid, seed):
    rng = np.random.default_rng(1000 + seed)
    n, d = int(rng.integers(2, 5)), int(rng.integers(1, 5))
    if qid == "1a":
        return rng.normal(size=(n, d)), rng.normal(size=d)
    if qid in ("1b", "2a"):
        T = int(rng.integers(3, 6))
        return (rng.normal(size=(n, n)), rng.normal(size=(n, d)), rng.normal(size=(T, d)),
                rng.normal(size=n), rng.normal(size=(T, n)))
    if qid == "2b":
        S = np.eye(n) + 0.5 * rng.normal(size=(n, n))
        M = S @ np.diag(rng.uniform(-1.5, 1.5, size=n)) @ np.linalg.inv(S)
        if seed % 2:                                  # a complex pair in the mix
            M = M + 0.8 * np.pad(np.array([[0.0, -1.0], [1.0, 0.0]]), (0, n - 2))
        return M, [0, 2, 3, 5][seed % 4]
    if qid == "2c-regime":                            # dominant eigenvalue negative or complex
        return ([-1.5 * np.eye(n), -1.2 * np.eye(n), np.array([[0.0, -1.0], [1.0, 0.0]]),
                 1.2 * np.array([[np.cos(2.0), -np.sin(2.0)], [np.sin(2.0), np.cos(2.0)]]),
                 np.diag([-1.0, 0.5]), np.array([[0.3, 2.0], [-2.0, -0.4]])][seed % 6],)
    if qid == "3-step":
        return (_lstm_params(rng, n, d), rng.normal(size=d), rng.normal(size=n),
                rng.normal(size=n))
    if qid == "3c-gates":
        return _lstm_params(rng, n, d), rng.normal(size=d), rng.normal(size=n)
    if qid == "3c-cell":
        return (_lstm_params(rng, n, d), rng.normal(size=d), rng.normal(size=n),
                rng.uniform(0.05, 0.95, size=n))
    if qid == "3c-carousel":
        return (rng.uniform(0.1, 0.95, size=(int(rng.integers(2, 6)), n)),)
    if qid in VALUE_QUESTIONS:
        return ()
    raise KeyError(qid)


def call_reference(qid, args):
    obj = getattr(ref, GRADED[qid])
    return obj if qid in VALUE_QUESTIONS else obj(*args)


def rel_diff(a, b):
    """Largest relative difference between two answers; inf when they cannot be equal."""
    if isinstance(b, dict):
        if not isinstance(a, dict) or set(a) != set(b):
            return np.inf
        return max(rel_diff(a[k], b[k]) for k in b)
    if isinstance(b, (str, frozenset, set)):
        return 0.0 if a == b else np.inf
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return np.inf
    scale = max(np.abs(b).max(initial=0.0), np.finfo(float).tiny)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def snapshot(args):
    return [{k: v.copy() for k, v in a.items()} if isinstance(a, dict) else np.copy(a)
            for a in args]


# --------------------------------------------------------------------------------------------
# catalogue shape
# --------------------------------------------------------------------------------------------


def test_catalogue_covers_every_question_with_the_required_ids():
    assert set(MISTAKES) == set(GRADED)
    for qid, required in REQUIRED.items():
        ids = [m.id for m in MISTAKES[qid]]
        assert len(ids) == len(set(ids)), qid
        assert required <= set(ids), (qid, required - set(ids))


@pytest.mark.parametrize("qid, m", ALL, ids=ALL_IDS)
def test_mistake_entry_is_well_formed(qid, m):
    assert isinstance(m, Mistake)
    assert m.id and m.id == m.id.strip() and " " not in m.id
    assert 10 <= len(m.hint) <= 300 and m.hint.rstrip().endswith(".")
    with pytest.raises(Exception):
        m.id = "changed"                              # frozen


@pytest.mark.parametrize("qid, m", ALL, ids=ALL_IDS)
def test_signature_matches_graded_name(qid, m):
    params = list(inspect.signature(m.compute).parameters)
    if qid in VALUE_QUESTIONS:
        assert params == []
    else:
        expected = list(inspect.signature(getattr(ref, GRADED[qid])).parameters)
        assert params == expected


# --------------------------------------------------------------------------------------------
# every variant is matchable: well-formed output, far from the reference and from siblings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("qid, m", ALL, ids=ALL_IDS)
def test_variant_differs_from_reference(qid, m):
    for seed in SEEDS:
        args = generic_args(qid, seed)
        before = snapshot(args)
        got = m.compute(*args)
        for b, a in zip(before, args):                # the variant leaves its inputs alone
            if isinstance(a, dict):
                for k in a:
                    np.testing.assert_array_equal(a[k], b[k])
            else:
                np.testing.assert_array_equal(a, b)
        expected = call_reference(qid, args)
        if isinstance(got, dict):
            for v in got.values():
                assert np.all(np.isfinite(np.asarray(v, dtype=np.float64)))
        elif not isinstance(got, (str, frozenset, set)):
            assert np.all(np.isfinite(np.asarray(got, dtype=np.float64)))
        assert rel_diff(got, expected) > FAR, (seed, rel_diff(got, expected))


@pytest.mark.parametrize("qid", sorted(q for q in MISTAKES if len(MISTAKES[q]) > 1))
def test_variants_of_one_question_differ_from_each_other(qid):
    ms = MISTAKES[qid]
    for seed in SEEDS:
        args = generic_args(qid, seed)
        outs = [m.compute(*args) for m in ms]
        for i in range(len(ms)):
            for j in range(i + 1, len(ms)):
                assert rel_diff(outs[i], outs[j]) > FAR, (seed, ms[i].id, ms[j].id)


@pytest.mark.parametrize("qid, m", [(q, m) for q, m in ALL if q not in VALUE_QUESTIONS
                                     and q != "2c-regime"], ids=lambda v: getattr(v, "id", v))
def test_variant_shape_matches_reference_except_transposed(qid, m):
    rng_args = generic_args(qid, 0)
    got, expected = m.compute(*rng_args), call_reference(qid, rng_args)
    if isinstance(expected, dict):
        assert set(got) == set(expected)
        for k in expected:
            assert np.shape(got[k]) == np.shape(expected[k])
    elif m.id == "transposed":
        assert np.shape(got) == np.shape(expected)[::-1]
    else:
        assert np.shape(got) == np.shape(expected)


# --------------------------------------------------------------------------------------------
# specific variants, and the coincidences the docstring warns case generators about
# --------------------------------------------------------------------------------------------


def _by_id(qid, mid):
    return next(m for m in MISTAKES[qid] if m.id == mid)


def test_3b_variant_and_matcher():
    wrong = _by_id("3b", "includes-non-positive-quantity").compute()
    assert includes_non_positive(wrong)
    assert not includes_non_positive(ref.ALWAYS_POSITIVE)
    assert NON_POSITIVE == {"c_tilde", "c", "h"}
    assert includes_non_positive(["f", "i", "o", "h"])
    assert includes_non_positive(("c_tilde",))
    assert includes_non_positive({" C "})
    assert includes_non_positive("c_tilde")
    assert not includes_non_positive("f")            # a string is one name, not characters
    assert not includes_non_positive(["f", "i"])
    assert not includes_non_positive([])
    assert not includes_non_positive(None)
    assert not includes_non_positive(3)


def test_2c_values():
    zero = _by_id("2c", "zero-instead-of-small").compute()
    np.testing.assert_array_equal(zero, np.zeros((2, 2)))
    rounded = _by_id("2c", "rounded").compute()
    np.testing.assert_array_equal(rounded, np.round(ref.W_30, 2))
    elementwise = _by_id("2c", "elementwise-power").compute()
    np.testing.assert_allclose(elementwise, np.array([[0.58, 0.24], [0.24, 0.72]]) ** 30)


def test_2b_off_by_one_rule_is_p_plus_one():
    M = np.array([[2.0, 1.0], [0.5, -1.0]])
    wrong = _by_id("2b", "off-by-one-power").compute
    for p in range(5):
        np.testing.assert_allclose(wrong(M, p), np.linalg.matrix_power(M, p + 1), rtol=1e-10)


def test_3c_cell_variants_are_what_their_comments_say():
    rng = np.random.default_rng(7)
    n, d = 3, 2
    params = _lstm_params(rng, n, d)
    x, c_prev, o_prev = rng.normal(size=d), rng.normal(size=n), rng.uniform(0.1, 0.9, size=n)
    right = ref.lstm_cell_jacobian(params, x, c_prev, o_prev)
    f = ref.lstm_step(params, x, o_prev * np.tanh(c_prev), c_prev)["f"]
    gate_paths = right - np.diag(f)                   # [...] diag(o tanh'(C))
    dtanh = 1 - np.tanh(c_prev) ** 2
    np.testing.assert_allclose(_by_id("3c-cell", "forget-gate-only").compute(params, x, c_prev, o_prev),
                               np.diag(f))
    np.testing.assert_allclose(
        _by_id("3c-cell", "wrong-product-rule").compute(params, x, c_prev, o_prev),
        np.diag(f) + gate_paths / o_prev[None, :], rtol=1e-10)
    np.testing.assert_allclose(
        _by_id("3c-cell", "drops-tanh-derivative").compute(params, x, c_prev, o_prev),
        np.diag(f) + gate_paths / dtanh[None, :], rtol=1e-10)


def test_documented_coincidences():
    """The special inputs on which a variant equals the right answer (see mistakes.py)."""
    rng = np.random.default_rng(3)
    n, d = 3, 2
    W, U = rng.normal(size=(n, n)), rng.normal(size=(n, d))
    h0 = rng.normal(size=n)
    one = (W, U, rng.normal(size=(1, d)), h0, rng.normal(size=(1, n)))
    for mid in ("no-backprop-through-time", "W-not-transposed"):
        assert rel_diff(_by_id("1b", mid).compute(*one), ref.bptt_grad(*one)) < 1e-12, mid
    two = (W, U, rng.normal(size=(2, d)), h0, rng.normal(size=(2, n)))
    got = _by_id("2a", "sigma-prime-not-per-step").compute(*two)
    assert rel_diff(got, ref.bptt_terms(*two)) < 1e-12
    M = rng.normal(size=(3, 3))
    assert rel_diff(_by_id("2b", "elementwise-power").compute(M, 1), M) == 0.0
    fs1 = rng.uniform(0.1, 0.9, size=(1, n))
    assert rel_diff(_by_id("3c-carousel", "sum-instead-of-product").compute(fs1),
                    ref.cell_state_gradient(fs1)) < 1e-15
    assert _by_id("2c-regime", "signed-eigenvalue-instead-of-modulus").compute(np.diag([0.5, 0.3])) \
        == ref.gradient_regime(np.diag([0.5, 0.3]))
