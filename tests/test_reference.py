"""Checks of reference/ against first principles: finite differences, naive forward passes,
numpy.linalg.matrix_power and the numbers printed in HOMEWORK.md.

Property tests run derandomized with small shapes (n, d, T in 1..4, including 1) so the
suite is deterministic and fast.
"""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as ref

PROPS = settings(max_examples=100, deadline=None, derandomize=True)
FEW = settings(max_examples=30, deadline=None, derandomize=True)

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def naive_sigmoid(z):
    """Textbook formula; only used on bounded inputs where it cannot overflow."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def fd_jacobian(f, x, eps=1e-6):
    """Central-difference Jacobian of f at x: shape f(x).shape + x.shape."""
    x = np.array(x, dtype=float)
    y0 = np.asarray(f(x.copy()), dtype=float)
    J = np.zeros(y0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        J[(Ellipsis,) + idx] = (np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * eps)
    return J


def assert_close_fd(analytic, fd, rtol=1e-5, atol=1e-7):
    analytic = np.asarray(analytic)
    assert analytic.shape == fd.shape, (analytic.shape, fd.shape)
    np.testing.assert_allclose(analytic, fd, rtol=rtol, atol=atol)


def assert_float64_array(a, shape):
    assert isinstance(a, np.ndarray), type(a)
    assert a.dtype == np.float64, a.dtype
    assert a.shape == shape, (a.shape, shape)
    assert np.all(np.isfinite(a))


def call_unchanged(fn, *args):
    """Call fn and assert it wrote to none of its (array or dict-of-array) arguments."""
    def snap(a):
        if isinstance(a, dict):
            return {k: np.array(v, copy=True) for k, v in a.items()}
        return np.array(a, copy=True)

    before = [snap(a) for a in args]
    out = fn(*args)
    for b, a in zip(before, args):
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k], b[k])
        else:
            np.testing.assert_array_equal(a, b)
    return out


def arr(shape, bound=2.0):
    return hnp.arrays(
        np.float64,
        shape,
        elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False,
                           allow_subnormal=False),
    )


dims = st.integers(1, 4)


@st.composite
def rnn_cases(draw):
    n, d, T = draw(dims), draw(dims), draw(dims)
    return (draw(arr((n, n), 1.5)), draw(arr((n, d), 1.5)), draw(arr((T, d))),
            draw(arr((n,), 1.0)), draw(arr((T, n))))


@st.composite
def lstm_cases(draw):
    n, d = draw(dims), draw(dims)
    params = {}
    for g in "fioc":
        params["W" + g] = draw(arr((n, n), 1.5))
        params["U" + g] = draw(arr((n, d), 1.5))
    return params, draw(arr((d,))), draw(arr((n,), 1.0)), draw(arr((n,), 2.0))


def rnn_step_losses(Ws, U, xs, h0, gs):
    """Per-step losses L_t = g_t . h_t with a separate weight matrix Ws[t-1] at each step.

    d L_t / d Ws[k-1] is exactly term (t, k) of the BPTT sum, which lets every term be
    checked on its own by finite differences.
    """
    h = np.array(h0, dtype=float)
    out = []
    for t in range(xs.shape[0]):
        h = naive_sigmoid(Ws[t] @ h + U @ xs[t])
        out.append(gs[t] @ h)
    return np.array(out)


def rnn_loss(W, U, xs, h0, gs):
    return rnn_step_losses([W] * xs.shape[0], U, xs, h0, gs).sum()


def rotation(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


# --------------------------------------------------------------------------------------------
# the contract's names and signatures
# --------------------------------------------------------------------------------------------

SIGNATURES = {
    "sigmoid_jacobian": ["W", "x"],
    "bptt_grad": ["W", "U", "xs", "h0", "gs"],
    "bptt_terms": ["W", "U", "xs", "h0", "gs"],
    "matrix_power_eig": ["M", "p"],
    "gradient_regime": ["W"],
    "lstm_step": ["params", "x", "h_prev", "c_prev"],
    "lstm_gate_jacobians": ["params", "x", "h_prev"],
    "lstm_cell_jacobian": ["params", "x", "c_prev", "o_prev"],
    "cell_state_gradient": ["fs"],
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_graded_function_signature(name):
    params = list(inspect.signature(getattr(ref, name)).parameters)
    assert params == SIGNATURES[name]


def test_graded_values_present():
    assert_float64_array(ref.W_30, (2, 2))
    assert isinstance(ref.ALWAYS_POSITIVE, frozenset)


# --------------------------------------------------------------------------------------------
# sigmoid
# --------------------------------------------------------------------------------------------


@PROPS
@given(arr((7,), 30.0))
def test_sigmoid_matches_formula(z):
    s = ref.sigmoid(z)
    assert_float64_array(s, z.shape)
    np.testing.assert_allclose(s, naive_sigmoid(z), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(ref.sigmoid(-z), 1.0 - s, rtol=1e-12, atol=1e-15)


@pytest.mark.filterwarnings("error")
def test_sigmoid_saturated_has_no_warnings():
    z = np.array([-1e308, -1e4, -745.0, -710.0, -50.0, -30.5, 30.5, 50.0, 710.0, 1e4, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = ref.sigmoid(z)
            W = np.array([[1e3, -1e3], [800.0, 2.0]])
            J = ref.sigmoid_jacobian(W, np.array([5.0, -5.0]))
            params = {k: np.full((1, 1), 1e3) for k in ("Wf", "Uf", "Wi", "Ui", "Wo", "Uo", "Wc", "Uc")}
            step = ref.lstm_step(params, np.array([2.0]), np.array([1.0]), np.array([1.0]))
            gates = ref.lstm_gate_jacobians(params, np.array([-2.0]), np.array([1.0]))
            cell = ref.lstm_cell_jacobian(params, np.array([2.0]), np.array([1.0]), np.array([0.5]))
    assert np.all(np.isfinite(s))
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(s[z < 0] < 1e-13) and np.all(s[z > 0] > 1 - 1e-13)
    assert s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_array_equal(J, np.zeros((2, 2)))
    for v in list(step.values()) + list(gates.values()) + [cell]:
        assert np.all(np.isfinite(v))


def test_sigmoid_scalar_and_zero():
    assert float(ref.sigmoid(0.0)) == 0.5
    assert abs(float(ref.sigmoid(2.0)) - 1 / (1 + np.exp(-2.0))) < 1e-16


# --------------------------------------------------------------------------------------------
# 1(a) sigmoid_jacobian
# --------------------------------------------------------------------------------------------


@PROPS
@given(st.data(), dims, dims)
def test_sigmoid_jacobian_matches_fd(data, n, d):
    W = data.draw(arr((n, d)))
    x = data.draw(arr((d,)))
    J = call_unchanged(ref.sigmoid_jacobian, W, x)
    assert_float64_array(J, (n, d))
    assert_close_fd(J, fd_jacobian(lambda v: naive_sigmoid(W @ v), x))


def test_sigmoid_jacobian_known_value():
    W = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    x = np.array([0.5, 0.0, -1.0])
    s = naive_sigmoid(W @ x)
    np.testing.assert_allclose(ref.sigmoid_jacobian(W, x), np.diag(s * (1 - s)) @ W, rtol=1e-14)


# --------------------------------------------------------------------------------------------
# 1(b) bptt_grad and 2(a) bptt_terms
# --------------------------------------------------------------------------------------------


@PROPS
@given(rnn_cases())
def test_bptt_grad_matches_fd(case):
    W, U, xs, h0, gs = case
    G = call_unchanged(ref.bptt_grad, W, U, xs, h0, gs)
    assert_float64_array(G, W.shape)
    assert_close_fd(G, fd_jacobian(lambda w: rnn_loss(w, U, xs, h0, gs), W))


@PROPS
@given(rnn_cases())
def test_bptt_terms_sum_to_grad_and_vanish_above_diagonal(case):
    W, U, xs, h0, gs = case
    T, n = gs.shape
    terms = call_unchanged(ref.bptt_terms, W, U, xs, h0, gs)
    assert_float64_array(terms, (T, T, n, n))
    np.testing.assert_allclose(terms.sum((0, 1)), ref.bptt_grad(W, U, xs, h0, gs),
                               rtol=1e-12, atol=1e-14)
    for t in range(1, T + 1):
        for k in range(t + 1, T + 1):
            assert np.all(terms[t - 1, k - 1] == 0.0), (t, k)


@FEW
@given(rnn_cases())
def test_each_bptt_term_is_dLt_by_the_step_k_weight(case):
    """Term (t, k) = dL_t/dW_k when step k gets its own copy W_k of W: checks both indices."""
    W, U, xs, h0, gs = case
    T = xs.shape[0]
    terms = ref.bptt_terms(W, U, xs, h0, gs)
    for k in range(1, T + 1):
        def losses(Wk, k=k):
            Ws = [W] * T
            Ws = Ws[: k - 1] + [Wk] + Ws[k:]
            return rnn_step_losses(Ws, U, xs, h0, gs)

        fd = fd_jacobian(losses, W)            # (T, n, n): d L_t / d W_k for every t
        assert_close_fd(terms[:, k - 1], fd)


def test_bptt_terms_diagonal_is_immediate_derivative():
    rng = np.random.default_rng(0)
    n, d, T = 3, 2, 4
    W, U = rng.normal(size=(n, n)), rng.normal(size=(n, d))
    xs, h0, gs = rng.normal(size=(T, d)), rng.normal(size=n), rng.normal(size=(T, n))
    terms = ref.bptt_terms(W, U, xs, h0, gs)
    h = h0
    for t in range(1, T + 1):
        hn = naive_sigmoid(W @ h + U @ xs[t - 1])
        np.testing.assert_allclose(terms[t - 1, t - 1], np.outer(gs[t - 1] * hn * (1 - hn), h),
                                   rtol=1e-12)
        h = hn


def test_bptt_h0_has_no_W_dependence_and_T1():
    # T = 1: dL/dW = (g_1 * sigma'_1) h_0^T exactly; nothing flows into h0.
    W = np.array([[0.3, -0.2], [0.1, 0.4]])
    U = np.array([[1.0], [-1.0]])
    xs, h0, gs = np.array([[0.5]]), np.array([0.2, -0.7]), np.array([[1.0, 2.0]])
    s = naive_sigmoid(W @ h0 + U @ xs[0])
    expected = np.outer(gs[0] * s * (1 - s), h0)
    np.testing.assert_allclose(ref.bptt_grad(W, U, xs, h0, gs), expected, rtol=1e-14)
    np.testing.assert_allclose(ref.bptt_terms(W, U, xs, h0, gs)[0, 0], expected, rtol=1e-14)


# --------------------------------------------------------------------------------------------
# 2(b) matrix_power_eig
# --------------------------------------------------------------------------------------------


def repeated_product(M, p):
    out = np.eye(M.shape[0])
    for _ in range(p):
        out = out @ M
    return out


def check_power(M, p, cond=1.0):
    M = np.ascontiguousarray(M, dtype=float)
    got = call_unchanged(ref.matrix_power_eig, M, p)
    assert_float64_array(got, M.shape)
    rho = max(np.abs(np.linalg.eigvals(M)).max(), 1.0) if M.size else 1.0
    atol = 1e-10 * cond * rho ** p
    for expected in (np.linalg.matrix_power(M, p), repeated_product(M, p)):
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=atol)
    return got


@st.composite
def diagonalizable(draw):
    """Real M = S B S^-1 with B block-diagonal: real eigenvalues (either sign) and
    2x2 rotation-scaling blocks for complex-conjugate pairs; S well conditioned."""
    blocks = draw(st.lists(st.one_of(
        st.tuples(st.just("real"), st.floats(-1.5, 1.5)),
        st.tuples(st.just("pair"), st.floats(0.1, 1.5), st.floats(0.2, np.pi - 0.2)),
    ), min_size=1, max_size=3))
    B = []
    eigs = []
    for b in blocks:
        if b[0] == "real":
            B.append(np.array([[b[1]]]))
            eigs.append(b[1])
        else:
            B.append(b[1] * rotation(b[2]))
            eigs += [b[1] * np.exp(1j * b[2]), b[1] * np.exp(-1j * b[2])]
    eigs = np.array(eigs)
    gaps = np.abs(eigs[:, None] - eigs[None, :]) + np.eye(len(eigs)) * 10
    assume(gaps.min() > 0.05)                 # distinct eigenvalues: eig's Q is well defined
    m = len(eigs)
    Bm = np.zeros((m, m))
    i = 0
    for b in B:
        Bm[i:i + len(b), i:i + len(b)] = b
        i += len(b)
    S = np.eye(m) + draw(arr((m, m), 0.4))
    cond = np.linalg.cond(S)
    assume(cond < 20)
    return S @ Bm @ np.linalg.inv(S), cond


@PROPS
@given(diagonalizable(), st.integers(0, 12))
def test_matrix_power_eig_matches_matrix_power(Mc, p):
    M, cond = Mc
    check_power(M, p, cond ** 2)


@pytest.mark.parametrize("p", [0, 1, 2, 3, 7, 30])
@pytest.mark.parametrize("M", [
    np.array([[0.58, 0.24], [0.24, 0.72]]),                 # symmetric (HW 2(c))
    np.array([[2.0, 1.0], [0.5, -1.0]]),                    # non-symmetric, real eigenvalues
    np.array([[1.0, 2.0, 0.0], [0.0, 0.5, 1.0], [0.3, 0.0, -0.7]]),
    rotation(0.7),                                          # complex pair on the unit circle
    0.9 * rotation(2.0),                                    # complex pair, negative real part
    np.array([[0.0, -1.0], [1.0, 0.0]]),                    # purely imaginary eigenvalues
    -np.eye(2),                                             # negative, repeated
    np.diag([-1.2, 0.5, 3.0]),                              # negative eigenvalue
    np.diag([2.0, 2.0]),                                    # repeated eigenvalue
    np.array([[-0.5]]),                                     # 1 x 1
    np.zeros((2, 2)),
], ids=["sym", "nonsym", "nonsym3", "rot", "rot-neg", "rot90", "minus-I", "neg", "rep", "1x1", "zero"])
def test_matrix_power_eig_known_matrices(M, p):
    check_power(M, p)


def test_matrix_power_eig_p0_is_identity_and_p1_is_M():
    M = np.array([[2.0, 1.0], [0.5, -1.0]])
    np.testing.assert_array_equal(ref.matrix_power_eig(M, 0), np.eye(2))
    np.testing.assert_allclose(ref.matrix_power_eig(M, 1), M, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ref.matrix_power_eig(np.zeros((3, 3)), 0), np.eye(3))


def test_matrix_power_eig_rotation_returns_real_and_exact_cycle():
    R = np.array([[0.0, -1.0], [1.0, 0.0]])
    got = ref.matrix_power_eig(R, 4)
    assert not np.iscomplexobj(got)
    np.testing.assert_allclose(got, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(ref.matrix_power_eig(R, 2), -np.eye(2), atol=1e-12)


def test_matrix_power_eig_badly_scaled_matrix():
    """Found by hypothesis: numpy's eig (which balances) returns a wrong eigenvector here."""
    M = np.zeros((4, 4))
    M[:2, :2] = rotation(1.0)
    M[2:, 2:] = [[0.0, 0.25], [0.0, 1.0]]
    M[0, 2], M[1, 2], M[2, 0], M[3, 1] = 3.5e-39, -1.6e-38, 1.3e-38, -1.5e-38
    for p in (1, 2, 7):
        check_power(M, p)


def test_matrix_power_eig_rejects_bad_input():
    with pytest.raises(ValueError):
        ref.matrix_power_eig(np.array([[1.0, 1.0], [0.0, 1.0]]), 5)   # defective (Jordan block)
    with pytest.raises(ValueError):
        ref.matrix_power_eig(np.eye(2), -1)
    with pytest.raises(ValueError):
        ref.matrix_power_eig(np.ones((2, 3)), 2)


# --------------------------------------------------------------------------------------------
# 2(c) W_30 and gradient_regime
# --------------------------------------------------------------------------------------------

HOMEWORK_W30 = np.array([[0.0152608170, 0.0203477560], [0.0203477560, 0.0271303413]])


def test_W30_matches_homework():
    assert_float64_array(ref.W_30, (2, 2))
    np.testing.assert_allclose(ref.W_30, HOMEWORK_W30, rtol=0, atol=1e-9)
    assert np.all(np.abs(ref.W_30) > 1e-3)            # small, but not zero
    W = np.array([[0.58, 0.24], [0.24, 0.72]])
    np.testing.assert_allclose(ref.W_30, np.linalg.matrix_power(W, 30), rtol=1e-12)
    Q = np.array([[-0.6, -0.8], [-0.8, 0.6]])
    np.testing.assert_allclose(ref.W_30, Q @ np.diag([0.9 ** 30, 0.4 ** 30]) @ Q, rtol=1e-12)


def test_W30_cannot_be_overwritten_in_place():
    with pytest.raises(ValueError):
        ref.W_30[0, 0] = 0.0


@pytest.mark.parametrize("W, regime", [
    (np.diag([0.5, 0.3]), "vanishing"),
    (np.diag([1.5, 0.2]), "exploding"),
    (rotation(0.3), "preserved"),
    (-np.eye(2), "preserved"),
    (np.eye(3), "preserved"),
    (np.diag([1.0, 0.5]), "preserved"),
    (np.array([[0.58, 0.24], [0.24, 0.72]]), "vanishing"),
    (-1.5 * np.eye(2), "exploding"),         # signed max would say "vanishing"
    (-0.5 * np.eye(2), "vanishing"),
    (1.1 * rotation(2.5), "exploding"),      # real parts < 1, modulus 1.1
    (np.diag([1 + 1e-12, 0.5]), "preserved"),
    (np.diag([1 + 1e-6, 0.5]), "exploding"),
    (np.diag([1 - 1e-6, 0.5]), "vanishing"),
    (np.array([[0.0]]), "vanishing"),
])
def test_gradient_regime(W, regime):
    assert call_unchanged(ref.gradient_regime, W) == regime


@PROPS
@given(st.floats(0.05, 3.0), st.floats(0.0, 2 * np.pi), arr((2, 2), 0.3))
def test_gradient_regime_follows_modulus(r, theta, E):
    S = np.eye(2) + E
    assume(np.linalg.cond(S) < 10)
    W = S @ (r * rotation(theta)) @ np.linalg.inv(S)
    expected = "vanishing" if r < 1 - 1e-6 else "exploding" if r > 1 + 1e-6 else None
    assume(expected is not None)
    assert ref.gradient_regime(W) == expected


# --------------------------------------------------------------------------------------------
# 3 lstm_step, 3(b) ALWAYS_POSITIVE
# --------------------------------------------------------------------------------------------


@PROPS
@given(lstm_cases())
def test_lstm_step_consistency(case):
    params, x, h_prev, c_prev = case
    n = h_prev.shape[0]
    out = call_unchanged(ref.lstm_step, params, x, h_prev, c_prev)
    assert set(out) == {"f", "i", "o", "c_tilde", "c", "h"}
    for v in out.values():
        assert_float64_array(v, (n,))
    z = {g: params["W" + g] @ h_prev + params["U" + g] @ x for g in "fioc"}
    for g in "fio":
        np.testing.assert_allclose(out[g], naive_sigmoid(z[g]), rtol=1e-13)
        assert np.all((out[g] > 0) & (out[g] < 1))
    np.testing.assert_allclose(out["c_tilde"], np.tanh(z["c"]), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(out["c"], out["f"] * c_prev + out["i"] * out["c_tilde"],
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(out["h"], out["o"] * np.tanh(out["c"]), rtol=1e-13, atol=1e-15)


def test_always_positive():
    assert ref.ALWAYS_POSITIVE == frozenset({"f", "i", "o"})
    # and the others really can be negative
    params = {k: np.full((1, 1), -1.0) for k in ("Wf", "Uf", "Wi", "Ui", "Wo", "Uo", "Wc", "Uc")}
    out = ref.lstm_step(params, np.array([1.0]), np.array([1.0]), np.array([-1.0]))
    for g in ("c_tilde", "c", "h"):
        assert out[g][0] < 0, g
    for g in ref.ALWAYS_POSITIVE:
        assert out[g][0] > 0, g


# --------------------------------------------------------------------------------------------
# 3(c) lstm_gate_jacobians, lstm_cell_jacobian, cell_state_gradient
# --------------------------------------------------------------------------------------------


@PROPS
@given(lstm_cases())
def test_lstm_gate_jacobians_match_fd(case):
    params, x, h_prev, c_prev = case
    n = h_prev.shape[0]
    J = call_unchanged(ref.lstm_gate_jacobians, params, x, h_prev)
    assert set(J) == {"f", "i", "o", "c_tilde"}
    for g, Jg in J.items():
        assert_float64_array(Jg, (n, n))
        fd = fd_jacobian(lambda h, g=g: ref.lstm_step(params, x, h, c_prev)[g], h_prev)
        assert_close_fd(Jg, fd)


@PROPS
@given(lstm_cases(), st.data())
def test_lstm_cell_jacobian_matches_fd(case, data):
    params, x, _, c_prev = case
    n = c_prev.shape[0]
    o_prev = data.draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.01, 0.99)))
    J = call_unchanged(ref.lstm_cell_jacobian, params, x, c_prev, o_prev)
    assert_float64_array(J, (n, n))

    def c_t(c):                                # h_prev follows c_prev; o_prev is held fixed
        return ref.lstm_step(params, x, o_prev * np.tanh(c), c)["c"]

    assert_close_fd(J, fd_jacobian(c_t, c_prev))


def test_lstm_cell_jacobian_without_gate_paths_is_diag_f():
    rng = np.random.default_rng(1)
    n, d = 3, 2
    params = {k: rng.normal(size=(n, n) if k[0] == "W" else (n, d))
              for k in ("Wf", "Uf", "Wi", "Ui", "Wo", "Uo", "Wc", "Uc")}
    for k in ("Wf", "Wi", "Wc"):
        params[k] = np.zeros((n, n))
    x, c_prev, o_prev = rng.normal(size=d), rng.normal(size=n), rng.uniform(size=n)
    f = naive_sigmoid(params["Uf"] @ x)
    np.testing.assert_allclose(ref.lstm_cell_jacobian(params, x, c_prev, o_prev), np.diag(f),
                               rtol=1e-14)


@PROPS
@given(st.integers(0, 5), dims, st.data())
def test_cell_state_gradient_is_product_of_diag_f(steps, n, data):
    fs = data.draw(hnp.arrays(np.float64, (steps, n), elements=st.floats(0.0, 1.0)))
    got = call_unchanged(ref.cell_state_gradient, fs)
    assert_float64_array(got, (n, n))
    expected = functools.reduce(np.matmul, [np.diag(f) for f in fs], np.eye(n))
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("steps", [0, 1, 5])
def test_cell_state_gradient_identity_when_forget_gates_are_one(steps):
    np.testing.assert_array_equal(ref.cell_state_gradient(np.ones((steps, 3))), np.eye(3))


def test_cell_state_gradient_is_chain_of_cell_jacobians_when_gate_paths_vanish():
    """With Wf = Wi = Wc = 0 each one-step Jacobian is diag(f_i): the chain is the carousel."""
    rng = np.random.default_rng(2)
    n, d, steps = 2, 2, 4
    params = {k: rng.normal(size=(n, n) if k[0] == "W" else (n, d))
              for k in ("Wf", "Uf", "Wi", "Ui", "Wo", "Uo", "Wc", "Uc")}
    for k in ("Wf", "Wi", "Wc"):
        params[k] = np.zeros((n, n))
    c, o = rng.normal(size=n), rng.uniform(size=n)
    J, fs = np.eye(n), []
    for _ in range(steps):
        x = rng.normal(size=d)
        J = ref.lstm_cell_jacobian(params, x, c, o) @ J
        out = ref.lstm_step(params, x, o * np.tanh(c), c)
        fs.append(out["f"])
        c, o = out["c"], out["o"]
    np.testing.assert_allclose(ref.cell_state_gradient(np.array(fs)), J, rtol=1e-13)
