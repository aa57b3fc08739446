"""Reference answers for HW3 (RNNs, BPTT, vanishing gradients, LSTMs).

Plain numpy, one module, no knowledge of the grader. Every graded name of
``shared/CONTRACT.md`` is defined here at top level with the contract's exact
signature. Each function reads its arguments as float64 arrays, never writes to
them, and returns new float64 ndarrays (dicts of them for the LSTM questions).

Notation (CONTRACT.md): h_t = sigma(W h_{t-1} + U x_t), xs[t-1] = x_t,
L = sum_t g_t . h_t with gs[t-1] = g_t, and h0 does not depend on W.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "sigmoid",
    "sigmoid_jacobian",
    "bptt_grad",
    "bptt_terms",
    "matrix_power_eig",
    "W_2C",
    "W_30",
    "gradient_regime",
    "REGIME_TOL",
    "lstm_step",
    "ALWAYS_POSITIVE",
    "GATE_NAMES",
    "lstm_gate_jacobians",
    "lstm_cell_jacobian",
    "cell_state_gradient",
]

_F = np.float64

#: Gate names of ``lstm_step``'s result, in the contract's order.
GATE_NAMES = ("f", "i", "o", "c_tilde", "c", "h")

#: How close to 1 the spectral radius must be for ``gradient_regime`` to say "preserved".
REGIME_TOL = 1e-9

# Relative size of the imaginary part of Q Lambda^p Q^-1 that we still call rounding noise.
_IMAG_RTOL = 1e-8
# Above this condition number of Q the eigendecomposition cannot be trusted to ~1e-8:
# M is defective or nearly so (e.g. [[1, 1], [0, 1]]), and Q Lambda^p Q^-1 would be silently wrong.
_COND_MAX = 1e8
# Largest relative residual |M Q - Q Lambda| / |M| accepted from the eigendecomposition.
_RESID_RTOL = 1e-10


def _arr(a, ndim: int, name: str) -> np.ndarray:
    """Read an argument as float64 without copying it; shape errors say which argument."""
    out = np.asarray(a, dtype=_F)
    if out.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {out.shape}")
    return out


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------

def sigmoid(z):
    """Logistic sigmoid 1/(1+e^-z), stable for any |z|.

    Only e^{-|z|} is ever evaluated, which lies in (0, 1], so nothing overflows and
    saturated inputs (|z| > 30, or 1e300) give exactly 0 or 1 without a warning.
    """
    z = np.asarray(z, dtype=_F)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _dsigmoid(z) -> np.ndarray:
    """sigma'(z) = sigma(z)(1 - sigma(z)); computed from sigma so it is 0, not NaN, when saturated."""
    s = sigmoid(z)
    return s * (1.0 - s)


def _dtanh(z) -> np.ndarray:
    """tanh'(z) = 1 - tanh(z)^2."""
    t = np.tanh(z)
    return 1.0 - t * t


# --------------------------------------------------------------------------------------------
# Exercise 1: backpropagation through time
# --------------------------------------------------------------------------------------------

def sigmoid_jacobian(W, x) -> np.ndarray:
    """1(a): dy/dx for y = sigma(W x) is diag(sigma'(W x)) W, shape (n, d).

    Row j of W is scaled by sigma' of the j-th pre-activation (chain rule per output).
    """
    W = _arr(W, 2, "W")
    x = _arr(x, 1, "x")
    if W.shape[1] != x.shape[0]:
        raise ValueError(f"W {W.shape} and x {x.shape} do not fit")
    return _dsigmoid(W @ x)[:, None] * W


def _rnn_forward(W, U, xs, h0):
    """Run the RNN; return hs (T+1, n) with hs[0] = h0, and sigma' at each step (T, n)."""
    W = _arr(W, 2, "W")
    U = _arr(U, 2, "U")
    xs = _arr(xs, 2, "xs")
    h0 = _arr(h0, 1, "h0")
    n = h0.shape[0]
    if W.shape != (n, n) or U.shape[0] != n or xs.shape[1] != U.shape[1]:
        raise ValueError(f"shapes do not fit: W {W.shape}, U {U.shape}, xs {xs.shape}, h0 {h0.shape}")
    T = xs.shape[0]
    hs = np.empty((T + 1, n), dtype=_F)
    ds = np.empty((T, n), dtype=_F)
    hs[0] = h0
    for t in range(1, T + 1):
        a = W @ hs[t - 1] + U @ xs[t - 1]
        hs[t] = sigmoid(a)
        ds[t - 1] = hs[t] * (1.0 - hs[t])
    return W, hs, ds


def _check_gs(gs, T: int, n: int) -> np.ndarray:
    gs = _arr(gs, 2, "gs")
    if gs.shape != (T, n):
        raise ValueError(f"gs must have shape {(T, n)}, got {gs.shape}")
    return gs


def bptt_grad(W, U, xs, h0, gs) -> np.ndarray:
    """1(b): dL/dW for L = sum_t g_t . h_t, shape (n, n).

    One backward sweep: delta_t = dL/dh_t collects g_t plus what flows back from step t+1
    through W^T, and step t adds (sigma'_t * delta_t) h_{t-1}^T. This is independent of
    ``bptt_terms`` (which expands the same sum term by term) so the two check each other.
    """
    W, hs, ds = _rnn_forward(W, U, xs, h0)
    T, n = ds.shape
    gs = _check_gs(gs, T, n)
    grad = np.zeros((n, n), dtype=_F)
    delta = np.zeros(n, dtype=_F)
    for t in range(T, 0, -1):
        delta = delta + gs[t - 1]
        r = ds[t - 1] * delta          # dL/da_t, a_t the pre-activation
        grad += np.outer(r, hs[t - 1])  # immediate derivative: h_{t-1} held fixed
        delta = W.T @ r                # carry dL/dh_{t-1} back through W^T
    return grad


def bptt_terms(W, U, xs, h0, gs) -> np.ndarray:
    """2(a): every term (t, k) of dL/dW = sum_t sum_{k<=t} (dL_t/dh_t)(dh_t/dh_k)(d+h_k/dW).

    Returns (T, T, n, n); [t-1, k-1] is term (t, k), zero for k > t. For each t the row
    vector g_t^T dh_t/dh_k is built by walking k down from t, one factor diag(sigma'_i) W
    per step, with sigma' taken at its own step i (the factors do not commute).
    """
    W, hs, ds = _rnn_forward(W, U, xs, h0)
    T, n = ds.shape
    gs = _check_gs(gs, T, n)
    terms = np.zeros((T, T, n, n), dtype=_F)
    for t in range(1, T + 1):
        v = gs[t - 1].copy()                       # g_t^T dh_t/dh_k, starting at k = t
        for k in range(t, 0, -1):
            r = ds[k - 1] * v
            terms[t - 1, k - 1] = np.outer(r, hs[k - 1])
            v = W.T @ r                            # v <- v diag(sigma'_k) W (as a row vector)
    return terms


# --------------------------------------------------------------------------------------------
# Exercise 2: vanishing and exploding gradients
# --------------------------------------------------------------------------------------------

def _eigendecomposition(M: np.ndarray):
    """Eigenvalues and unit eigenvectors of M, checked: M Q = Q Lambda and Q invertible.

    numpy's eig balances M first, which on badly scaled matrices (entries of 1e-38 next to
    0.25) can return eigenvectors that are not eigenvectors at all. Then each eigenvector is
    recomputed as the null vector of M - lambda I (smallest right singular vector); if that
    does not satisfy the check either, M is refused rather than powered wrongly.
    """
    lam, Q = np.linalg.eig(M)
    scale = max(np.abs(M).max(), np.finfo(_F).tiny)

    def ok(Q):
        resid = np.abs(M @ Q - Q * lam).max() / scale
        return resid <= _RESID_RTOL and np.linalg.cond(Q) <= _COND_MAX  # False for NaN / inf

    if ok(Q):
        return lam, Q
    eye = np.eye(M.shape[0])
    Q = np.stack([np.linalg.svd(M - l * eye)[2][-1].conj() for l in lam], axis=1)
    if ok(Q):
        return lam, Q
    raise ValueError("M is not (numerically) diagonalizable: no reliable eigenvector basis")


def matrix_power_eig(M, p) -> np.ndarray:
    """2(b): M^p as Q Lambda^p Q^-1 from the eigendecomposition, returned as a real array.

    The eigenvalues of a real M may be complex (rotations) or negative; they come in
    conjugate pairs, so the product is real up to rounding. We drop the imaginary part only
    after checking it is negligible relative to the result; otherwise M was not
    diagonalizable to working precision and we say so instead of returning garbage; the
    same for a (nearly) singular eigenvector matrix Q. p = 0 gives the identity exactly.
    """
    M = _arr(M, 2, "M")
    m = M.shape[0]
    if M.shape != (m, m):
        raise ValueError(f"M must be square, got shape {M.shape}")
    if isinstance(p, (bool, np.bool_)) or int(p) != p or p < 0:
        raise ValueError(f"p must be an integer >= 0, got {p!r}")
    p = int(p)
    if p == 0 or m == 0:
        return np.eye(m, dtype=_F)
    lam, Q = _eigendecomposition(M)
    scaled = Q * lam**p                            # Q Lambda^p (scales the columns)
    # (Q Lambda^p) Q^-1 without forming Q^-1: solve X Q = Q Lambda^p, i.e. Q^T X^T = (Q Lambda^p)^T.
    P = np.linalg.solve(Q.T, scaled.T).T
    real = np.ascontiguousarray(P.real, dtype=_F)
    imag = np.abs(P.imag).max(initial=0.0)
    if imag > _IMAG_RTOL * np.abs(real).max(initial=0.0):
        raise ValueError(
            f"M^{p} has an imaginary part of {imag:.3g}: M is not (numerically) diagonalizable"
        )
    return real


#: The matrix of HW3 2(c).
W_2C = np.array([[0.58, 0.24], [0.24, 0.72]], dtype=_F)
W_2C.setflags(write=False)

#: 2(c): W^30 -- small (0.9^30 ~ 0.042 dominates) but not zero.
W_30 = matrix_power_eig(W_2C, 30)
W_30.setflags(write=False)


def gradient_regime(W) -> str:
    """2(c): what repeated multiplication by W does, judged by the spectral radius rho.

    rho = max |lambda_i| (modulus, so negative and complex eigenvalues count by size):
    "vanishing" if rho < 1, "exploding" if rho > 1, "preserved" if |rho - 1| <= 1e-9.
    """
    W = _arr(W, 2, "W")
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    if W.size == 0:
        raise ValueError("W must not be empty")
    rho = float(np.abs(np.linalg.eigvals(W)).max())
    if abs(rho - 1.0) <= REGIME_TOL:
        return "preserved"
    return "vanishing" if rho < 1.0 else "exploding"


# --------------------------------------------------------------------------------------------
# Exercise 3: LSTMs
# --------------------------------------------------------------------------------------------

_PARAM_KEYS = ("Wf", "Uf", "Wi", "Ui", "Wo", "Uo", "Wc", "Uc")


def _lstm_preacts(params, x, h_prev):
    """Pre-activations z_f, z_i, z_o, z_c = W* h_prev + U* x, checked against the shapes."""
    x = _arr(x, 1, "x")
    h_prev = _arr(h_prev, 1, "h_prev")
    n, d = h_prev.shape[0], x.shape[0]
    missing = [k for k in _PARAM_KEYS if k not in params]
    if missing:
        raise KeyError(f"params lacks {missing}")
    P = {k: _arr(params[k], 2, k) for k in _PARAM_KEYS}
    for g in "fioc":
        if P["W" + g].shape != (n, n) or P["U" + g].shape != (n, d):
            raise ValueError(f"W{g}/U{g} must be {(n, n)}/{(n, d)}")
    z = {g: P["W" + g] @ h_prev + P["U" + g] @ x for g in "fioc"}
    return P, z


def lstm_step(params, x, h_prev, c_prev) -> dict:
    """3: one LSTM step; dict of "f","i","o","c_tilde","c","h", each (n,)."""
    c_prev = _arr(c_prev, 1, "c_prev")
    _, z = _lstm_preacts(params, x, h_prev)
    if c_prev.shape != z["f"].shape:
        raise ValueError(f"c_prev must have shape {z['f'].shape}, got {c_prev.shape}")
    f, i, o = sigmoid(z["f"]), sigmoid(z["i"]), sigmoid(z["o"])
    c_tilde = np.tanh(z["c"])
    c = f * c_prev + i * c_tilde
    h = o * np.tanh(c)
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": h}


#: 3(b): sigmoid outputs lie in (0, 1); c_tilde, c and h can be negative (tanh, signed c_prev).
ALWAYS_POSITIVE = frozenset({"f", "i", "o"})


def lstm_gate_jacobians(params, x, h_prev) -> dict:
    """3(c): d gate / d h_prev for "f","i","o" (diag(sigma'(z)) W*) and "c_tilde" (diag(tanh'(z_c)) Wc)."""
    P, z = _lstm_preacts(params, x, h_prev)
    out = {g: _dsigmoid(z[g])[:, None] * P["W" + g] for g in "fio"}
    out["c_tilde"] = _dtanh(z["c"])[:, None] * P["Wc"]
    return out


def lstm_cell_jacobian(params, x, c_prev, o_prev) -> np.ndarray:
    """3(c): the full dC_t/dC_{t-1}, (n, n), counting the paths through the gates.

    C_{t-1} reaches C_t directly (diag(f_t)) and through h_{t-1} = o_{t-1} * tanh(C_{t-1})
    (o_{t-1} held fixed), which feeds f_t, i_t and C~_t:
      diag(f) + [diag(C_{t-1} f(1-f)) Wf + diag(C~ i(1-i)) Wi + diag(i (1-C~^2)) Wc]
                 diag(o_{t-1} (1 - tanh^2 C_{t-1})).
    """
    c_prev = _arr(c_prev, 1, "c_prev")
    o_prev = _arr(o_prev, 1, "o_prev")
    if o_prev.shape != c_prev.shape:
        raise ValueError(f"o_prev {o_prev.shape} and c_prev {c_prev.shape} differ")
    h_prev = o_prev * np.tanh(c_prev)
    P, z = _lstm_preacts(params, x, h_prev)
    f, i = sigmoid(z["f"]), sigmoid(z["i"])
    c_tilde = np.tanh(z["c"])
    gate_paths = (
        (c_prev * f * (1.0 - f))[:, None] * P["Wf"]
        + (c_tilde * i * (1.0 - i))[:, None] * P["Wi"]
        + (i * (1.0 - c_tilde * c_tilde))[:, None] * P["Wc"]
    )
    dh_dc = o_prev * _dtanh(c_prev)                # dh_{t-1}/dC_{t-1} is diagonal
    return np.diag(f) + gate_paths * dh_dc[None, :]


def cell_state_gradient(fs) -> np.ndarray:
    """3(c): dC_t/dC_k with the gate paths neglected: prod_i diag(f_i) = diag(prod_i f_i).

    fs is (t-k, n), one row per step k+1..t; with no rows (t = k) the product is empty,
    which is the identity. With every f = 1 it is the identity too: the constant error carousel.
    """
    fs = _arr(fs, 2, "fs")
    return np.diag(np.prod(fs, axis=0))
