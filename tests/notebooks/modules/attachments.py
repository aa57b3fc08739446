"""HW3 (Recurrent Neural Networks) -- Carol's submission, as a plain Python module.

Everything is vectorised with NumPy; the BPTT gradient is accumulated in reverse mode
(one backward sweep), the individual BPTT terms with einsum. Derivatives of sigma and tanh are
computed from the pre-activations.
"""
import numpy as np

_GATES = ("f", "i", "o", "c")


def _sigmoid(z):
    """Logistic function without overflow: exp is only ever taken of -|z| <= 0."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _dsigmoid(z):
    """sigma'(z) = sigma(z)(1 - sigma(z)), from the pre-activation z."""
    s = _sigmoid(z)
    return s * (1.0 - s)


def _dtanh(z):
    """tanh'(z) = 1 - tanh(z)^2, from the pre-activation z."""
    t = np.tanh(z)
    return 1.0 - t * t


def _rnn_states(W, U, xs, h0):
    """H: (T+1, n) with H[k] = h_k; S: (T, n) with S[k-1] = sigma'(W h_{k-1} + U x_k)."""
    T, n = xs.shape[0], W.shape[0]
    H = np.empty((T + 1, n))
    H[0] = h0
    A = xs @ U.T                          # (T, n): U x_t for every t at once; W h_{t-1} is added below
    for t in range(T):
        A[t] += W @ H[t]
        H[t + 1] = _sigmoid(A[t])
    return H, _dsigmoid(A)


# 1(a)
def sigmoid_jacobian(W, x):
    """diag(sigma'(W x)) W: W (n, d), x (d,) -> (n, d)."""
    return np.einsum("i,ij->ij", _dsigmoid(W @ x), W)


# 1(b)
def bptt_grad(W, U, xs, h0, gs):
    """dL/dW (n, n) by reverse-mode accumulation: one backward sweep over time."""
    H, S = _rnn_states(W, U, xs, h0)
    T, n = xs.shape[0], W.shape[0]
    dA = np.zeros((T, n))                 # dA[t-1] = dL/da_t (total)
    back = np.zeros(n)                    # W^T dL/da_{t+1}
    for t in range(T - 1, -1, -1):
        dA[t] = (gs[t] + back) * S[t]
        back = W.T @ dA[t]
    return np.einsum("ti,tj->ij", dA, H[:-1])


# 2(a)
def bptt_terms(W, U, xs, h0, gs):
    """(T, T, n, n): [t-1, k-1] = g_t^T (dh_t/dh_k) (d+h_k/dW) for k <= t, zero above."""
    H, S = _rnn_states(W, U, xs, h0)
    T, n = xs.shape[0], W.shape[0]
    A = np.einsum("ki,ij->kij", S, W)     # A[k-1] = dh_k/dh_{k-1} = diag(sigma'_k) W
    V = np.zeros((T, T, n))               # V[t-1, k-1] = g_t^T dh_t/dh_k
    for t in range(T):
        V[t, t] = gs[t]
        for k in range(t - 1, -1, -1):
            V[t, k] = V[t, k + 1] @ A[k + 1]
    return np.einsum("tki,ki,kj->tkij", V, S, H[:-1])


# 2(b)
def matrix_power_eig(M, p):
    """Q Lambda^p Q^-1, with the right division done by a linear solve instead of inv(Q)."""
    lam, Q = np.linalg.eig(M)
    B = Q * lam.astype(np.complex128) ** p           # Q Lambda^p (scales the columns)
    return np.real(np.linalg.solve(Q.T, B.T).T)      # B Q^-1


# 2(c)
W_30 = matrix_power_eig(np.array([[0.58, 0.24], [0.24, 0.72]]), 30)


def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    if np.isclose(rho, 1.0, rtol=0.0, atol=1e-9):
        return "preserved"
    return "vanishing" if rho < 1.0 else "exploding"


# 3
def _stack(params, prefix):
    return np.stack([params[prefix + g] for g in _GATES])      # (4, n, .)


def _preactivations(params, x, h_prev):
    """(4, n): the arguments of sigma (f, i, o) and tanh (c_tilde)"""
    return np.einsum("gij,j->gi", _stack(params, "W"), h_prev) + np.einsum("gij,j->gi", _stack(params, "U"), x)


def lstm_step(params, x, h_prev, c_prev):
    Z = _preactivations(params, x, h_prev)
    f, i, o = _sigmoid(Z[:3])
    c_tilde = np.tanh(Z[3])
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}


# 3(b)
ALWAYS_POSITIVE = set("fio")          # {"f", "i", "o"}


# 3(c)
def lstm_gate_jacobians(params, x, h_prev):
    Z = _preactivations(params, x, h_prev)
    d = np.concatenate([_dsigmoid(Z[:3]), _dtanh(Z[3:])])        # (4, n) gate derivatives
    J = np.einsum("gi,gij->gij", d, _stack(params, "W"))
    return {"f": J[0], "i": J[1], "o": J[2], "c_tilde": J[3]}


def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    Z = _preactivations(params, x, h_prev)
    f, i = _sigmoid(Z[0]), _sigmoid(Z[1])
    ct = np.tanh(Z[3])
    coef = np.stack([c_prev * _dsigmoid(Z[0]), ct * _dsigmoid(Z[1]), i * _dtanh(Z[3])])   # (3, n)
    Ws = np.stack([params["Wf"], params["Wi"], params["Wc"]])                            # (3, n, n)
    gate_paths = np.einsum("gr,grs,s->rs", coef, Ws, o_prev * _dtanh(c_prev))
    return np.diag(f) + gate_paths


def cell_state_gradient(fs):
    return np.diag(np.prod(fs, axis=0))


if __name__ == "__main__":
    rng = np.random.default_rng(1)
    n, d, T = 3, 2, 4
    W, U = rng.normal(size=(n, n)), rng.normal(size=(n, d))
    xs, h0, gs = rng.normal(size=(T, d)), rng.normal(size=n), rng.normal(size=(T, n))
    print("terms sum to grad:", np.allclose(bptt_terms(W, U, xs, h0, gs).sum(axis=(0, 1)), bptt_grad(W, U, xs, h0, gs)))
    print("W_30 =", W_30)
