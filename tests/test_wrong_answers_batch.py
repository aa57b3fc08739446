"""A batch of wrong answers, and of right answers written unusually, to every question, as different
students write them (the third and fourth rounds; tests/test_wrong_answers.py holds the cases that each
needed a fix, with their reasons). Each answer replaces one function of an otherwise correct submission; the
answers to different questions are graded together, one per question in a submission, so that ~300
answers cost ~34 grades. A wrong answer must lose points on its question and fail a public case too
(unless only hidden inputs can show it: HIDDEN_ONLY), a right one keep them all and be named after no
mistake, and no other question may lose anything.

Answers left out on purpose: float32 arithmetic where its verdict is the tolerance's call, case by
case (the near-miss sentence covers it; 1(a) float32 is in, as a wrong answer: its cases show it), answers that change their arguments (told, not penalised: README),
and matrix_power instead of the eigendecomposition in 2(b) (the same numbers: the written proof is
where the method is graded).
"""
from __future__ import annotations

import numpy as np
import pytest

from assignments.hw3 import ASSIGNMENT

from shared_cases import shared_build
from test_diagnosis import Mutant, by_id, student_module

W, R = "wrong", "right"
M: list[tuple[str, Mutant]] = []


def add(expect: str, qid: str, name: str, source: str) -> None:
    M.append((expect, Mutant(qid, "", source, name=name)))


# ------------------------------------------------------------------------------------------------ batch1

# ------------------------------------------------------------------ 1a
add(R, "1a", "einsum", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return np.einsum("i,ij->ij", s * (1 - s), W)
''')
add(R, "1a", "naive-sigmoid-broadcast", '''
def sigmoid_jacobian(W, x):
    z = W.dot(x)
    s = 1 / (1 + np.exp(-z))
    return (s * (1 - s)).reshape(-1, 1) * W
''')
add(R, "1a", "as-list", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return (np.diag(s * (1 - s)) @ W).tolist()
''')
add(R, "1a", "np-matrix", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return np.matrix(np.diag(s * (1 - s))) * np.matrix(W)
''')
add(R, "1a", "loops", '''
def sigmoid_jacobian(W, x):
    n, d = W.shape
    J = np.zeros((n, d))
    for i in range(n):
        z = sum(W[i, k] * x[k] for k in range(d))
        s = sigmoid(z)
        for j in range(d):
            J[i, j] = s * (1 - s) * W[i, j]
    return J
''')
add(W, "1a", "sigma-prime-of-sigma", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    ds = sigmoid(s) * (1 - sigmoid(s))          # sigma'(y) instead of sigma'(Wx)
    return np.diag(ds) @ W
''')
add(W, "1a", "tanh-prime", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return np.diag(1 - s ** 2) @ W
''')
add(W, "1a", "sigma-prime-at-x", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(x)
    return W * (s * (1 - s))                    # sigma' at x, scales the columns
''')
add(W, "1a", "wrong-side", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    D = np.diag(s * (1 - s))
    return (W.T @ D).T if W.shape[0] != W.shape[1] else W @ D
''')
add(W, "1a", "dW-not-dx", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return np.outer(s * (1 - s), x)             # d y / d W row, not d y / d x
''')
add(W, "1a", "off-1e-5", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return np.diag(s * (1 - s)) @ W * (1 + 1e-5)
''')
add(W, "1a", "s-times-one-minus-z", '''
def sigmoid_jacobian(W, x):
    z = W @ x
    s = sigmoid(z)
    return np.diag(s * (1 - z)) @ W
''')
add(W, "1a", "scalar-n1", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    J = np.diag(s * (1 - s)) @ W
    return J.squeeze()                          # (1, d) -> (d,), (1,1) -> ()
''')
add(W, "1a", "global-state-cache-by-shape", '''
_cache = {}
def sigmoid_jacobian(W, x):
    if W.shape not in _cache:
        s = sigmoid(W @ x)
        _cache[W.shape] = np.diag(s * (1 - s)) @ W
    return _cache[W.shape]
''')
add(W, "1a", "mutates-W-in-place", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    W *= (s * (1 - s))[:, None]
    return W
''')
# ------------------------------------------------------------------ 1b
add(R, "1b", "double-loop-full-jacobians", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    grad = np.zeros((n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            J = np.eye(n)
            for i in range(t, k, -1):
                J = J @ np.diag(hs[i] * (1 - hs[i])) @ W
            dplus = np.zeros((n, n, n))
            for a in range(n):
                dplus[a, a, :] = hs[k][a] * (1 - hs[k][a]) * hs[k - 1]
            grad += np.einsum("a,ab,bij->ij", gs[t - 1], J, dplus)
    return grad
''')
add(R, "1b", "rtrl-forward-mode", '''
def bptt_grad(W, U, xs, h0, gs):
    n = W.shape[0]
    h = np.array(h0, dtype=float)
    P = np.zeros((n, n, n))                   # dh/dW
    grad = np.zeros((n, n))
    for t in range(len(xs)):
        hn = sigmoid(W @ h + U @ xs[t])
        sp = hn * (1 - hn)
        direct = np.zeros((n, n, n))
        for a in range(n):
            direct[a, a, :] = h
        P = sp[:, None, None] * (direct + np.einsum("ab,bij->aij", W, P))
        h = hn
        grad += np.einsum("a,aij->ij", gs[t], P)
    return grad
''')
add(R, "1b", "central-differences", '''
def bptt_grad(W, U, xs, h0, gs):
    def loss(Wm):
        return sum(g @ h for g, h in zip(gs, forward(Wm, U, xs, h0)[1:]))
    eps = 1e-6
    grad = np.zeros_like(W)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            E = np.zeros_like(W); E[i, j] = eps
            grad[i, j] = (loss(W + E) - loss(W - E)) / (2 * eps)
    return grad
''')
add(R, "1b", "complex-step", '''
def bptt_grad(W, U, xs, h0, gs):
    def loss(Wm):
        h = h0.astype(complex)
        total = 0
        for x, g in zip(xs, gs):
            h = 1 / (1 + np.exp(-(Wm @ h + U @ x)))
            total = total + g @ h
        return total
    grad = np.zeros_like(W)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            E = np.zeros(W.shape, dtype=complex); E[i, j] = 1e-30j
            grad[i, j] = loss(W + E).imag / 1e-30
    return grad
''')
add(R, "1b", "as-list-of-lists", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in reversed(range(len(xs))):
        da = (gs[t] + carry) * hs[t + 1] * (1 - hs[t + 1])
        grad += np.outer(da, hs[t])
        carry = W.T @ da
    return [list(r) for r in grad]
''')
add(W, "1b", "skips-first-step", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 1, -1):             # stops before t = 1
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "sigma-instead-of-prime", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t]
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "missing-sigma-prime", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = gs[t - 1] + carry
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "carry-skips-sigma-prime", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        dh = gs[t - 1] + carry
        da = dh * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ dh                          # sigma' left out of what flows back
    return grad
''')
add(W, "1b", "negative-index-k0", '''
def bptt_grad(W, U, xs, h0, gs):
    # k runs from 0: the term for k = 0 reads hs[-1] (h_T) by Python's negative index
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    grad = np.zeros((n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, -1, -1):
            r = v * hs[k] * (1 - hs[k])
            grad += np.outer(r, hs[k - 1])
            v = W.T @ r
    return grad
''')
add(W, "1b", "tanh-rnn", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x))
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * (1 - hs[t] ** 2)
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "sum-of-gs-only-last", '''
def bptt_grad(W, U, xs, h0, gs):
    # only the last loss L_T backpropagated
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = gs[-1]
    for t in range(len(xs), 0, -1):
        da = carry * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "gs-index-shift", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        g = gs[t] if t < len(gs) else np.zeros(W.shape[0])   # g_{t+1} for g_t
        da = (g + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "off-1e-5", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad * (1 - 1e-5)
''')
add(R, "1b", "float32", '''
def bptt_grad(W, U, xs, h0, gs):
    W, U, xs, h0, gs = (np.asarray(a, dtype=np.float32) for a in (W, U, xs, h0, gs))
    hs = [h0]
    for x in xs:
        hs.append(1 / (1 + np.exp(-(W @ hs[-1] + U @ x))))
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0], dtype=np.float32)
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "global-hs-never-reset", '''
_hs = []
def bptt_grad(W, U, xs, h0, gs):
    if not _hs:
        _hs.append(h0)
    for x in xs:
        _hs.append(sigmoid(W @ _hs[-1] + U @ x))
    hs = _hs[-(len(xs) + 1):]
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "clip-at-10", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = np.clip(W.T @ da, -10, 10)
    return grad
''')
add(W, "1b", "U-for-W-in-carry", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, xs[t - 1] if U.shape[1] == W.shape[0] else hs[t - 1])
        carry = W.T @ da
    return grad
''')

# ------------------------------------------------------------------------------------------------ batch2

TERMS = '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    sp = [None] + [h * (1 - h) for h in hs[1:]]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        for k in range(%(krange)s):
            J = np.eye(n)
            for i in range(%(irange)s):
                J = %(step)s
            out[%(idx)s] = np.outer((gs[t - 1] @ J) * sp[%(local)s], hs[%(hprev)s])
    return out
'''
def terms(**kw):
    d = dict(krange="1, t + 1", irange="k + 1, t + 1", step="np.diag(sp[i]) @ W @ J", idx="t - 1, k - 1",
             local="k", hprev="k - 1")
    d.update(kw)
    return TERMS % d

add(R, "2a", "template-right", terms())
add(R, "2a", "jacobian-left-to-right", terms(irange="t, k, -1", step="J @ np.diag(sp[i]) @ W"))
add(W, "2a", "nonzero-k-greater-t", terms(krange="1, T + 1"))
add(W, "2a", "k-from-0-wraps", terms(krange="0, t + 1"))
add(W, "2a", "h_k-for-h_k-1", terms(hprev="k"))
add(W, "2a", "local-sigma-at-t", terms(local="t"))
add(W, "2a", "product-from-k", terms(irange="k, t + 1"))
add(W, "2a", "product-to-t-1", terms(irange="k + 1, t"))
add(W, "2a", "jacobians-wrong-order", terms(step="J @ np.diag(sp[i]) @ W"))
add(W, "2a", "missing-sigma-prime-in-jacobian", terms(step="W @ J"))
add(W, "2a", "WT-in-jacobian", terms(step="np.diag(sp[i]) @ W.T @ J"))
add(W, "2a", "sigma-in-jacobian", terms(step="np.diag(hs[i]) @ W @ J"))
add(W, "2a", "indexed-k-t", terms(idx="k - 1, t - 1"))
add(W, "2a", "outer-wrong-order", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    sp = [None] + [h * (1 - h) for h in hs[1:]]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * sp[k]
            out[t - 1, k - 1] = np.outer(hs[k - 1], r)
            v = W.T @ r
    return out
''')
add(W, "2a", "cumulative-terms", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    sp = [None] + [h * (1 - h) for h in hs[1:]]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        acc = np.zeros((n, n))
        for k in range(t, 0, -1):
            r = v * sp[k]
            acc = acc + np.outer(r, hs[k - 1])
            out[t - 1, k - 1] = acc                # running sum stored, not the term
            v = W.T @ r
    return out
''')
add(W, "2a", "shifted-one-block", terms(idx="t - 1, k % T"))
add(R, "2a", "nested-lists", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    sp = [None] + [h * (1 - h) for h in hs[1:]]
    out = [[np.zeros((n, n)) for _ in range(T)] for _ in range(T)]
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * sp[k]
            out[t - 1][k - 1] = np.outer(r, hs[k - 1])
            v = W.T @ r
    return out
''')
add(W, "2a", "T-by-T-only-lower-incl-diag-missing", terms(krange="1, t"))
add(W, "2a", "off-1e-5", terms(local="k] * (1 + 1e-5) * sp[k"))

# ------------------------------------------------------------------ 2b
add(R, "2b", "matrix-power-numpy", '''
def matrix_power_eig(M, p):
    return np.linalg.matrix_power(M, p)
''')
add(R, "2b", "complex-result", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return Q @ np.diag(lam ** p) @ np.linalg.inv(Q)
''')
add(R, "2b", "real-if-close", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real_if_close(Q @ np.diag(lam ** p) @ np.linalg.inv(Q), tol=1e6)
''')
add(R, "2b", "solve", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.linalg.solve(Q.T, (Q * lam ** p).T).T.real
''')
add(R, "2b", "scipy-eig", '''
def matrix_power_eig(M, p):
    import scipy.linalg
    lam, Q = scipy.linalg.eig(M)
    return (Q @ np.diag(lam ** p) @ scipy.linalg.inv(Q)).real
''')
add(R, "2b", "loop-power", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    L = np.eye(len(lam), dtype=complex)
    for _ in range(p):
        L = L @ np.diag(lam)
    return (Q @ L @ np.linalg.inv(Q)).real
''')
add(W, "2b", "real-too-early", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    lam, Q = lam.real, Q.real
    return Q @ np.diag(lam ** p) @ np.linalg.inv(Q)
''')
add(W, "2b", "abs-of-complex", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.abs(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''')
add(W, "2b", "inverse-order", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(np.linalg.inv(Q) @ np.diag(lam ** p) @ Q)
''')
add(W, "2b", "eigh-on-nonsymmetric", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eigh(M)
    return Q @ np.diag(lam ** p) @ Q.T
''')
add(W, "2b", "p0-returns-M", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    L = np.diag(lam)
    for _ in range(p - 1):
        L = L @ np.diag(lam)
    return np.real(Q @ L @ np.linalg.inv(Q))
''')
add(W, "2b", "p0-zeros", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    if p == 0:
        return np.zeros_like(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''')
add(W, "2b", "lam-times-p", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam * p) @ np.linalg.inv(Q))
''')
add(W, "2b", "diag-of-lam-power-ignoring-Q", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(np.diag(lam ** p))
''')
add(W, "2b", "off-1e-5", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q)) * 1.00001
''')
add(W, "2b", "Q-transpose-real", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ Q.T)
''')
add(W, "2b", "int-cast", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q)).astype(int)
''')
add(W, "2b", "mutates-M", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    M[:] = np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
    return M
''')
# ------------------------------------------------------------------ 2c
add(R, "2c", "matrix-power", '''
W_30 = np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30)
''')
add(R, "2c", "homework-Q", '''
_Q = np.array([[-0.6, -0.8], [-0.8, 0.6]])
W_30 = _Q @ np.diag([0.9 ** 30, 0.4 ** 30]) @ _Q
''')
add(R, "2c", "list", '''
W_30 = np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30).tolist()
''')
add(R, "2c", "np-matrix", '''
W_30 = np.matrix([[0.58, 0.24], [0.24, 0.72]]) ** 30
''')
add(R, "2c", "typed-10-digits", '''
W_30 = [[0.0152608170, 0.0203477560], [0.0203477560, 0.0271303413]]
''')
add(R, "2c", "typed-8-significant", '''
W_30 = [[0.015260817, 0.020347756], [0.020347756, 0.027130341]]
''')
add(W, "2c", "typed-5-significant", '''
W_30 = [[0.015261, 0.020348], [0.020348, 0.027130]]
''')
add(W, "2c", "power-29", '''
W_30 = np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 29)
''')
add(W, "2c", "only-0.9-term-Q-wrong", '''
W_30 = 0.9 ** 30 * np.eye(2)
''')
add(W, "2c", "eigvals-only", '''
W_30 = np.diag([0.9 ** 30, 0.4 ** 30])
''')
add(W, "2c", "tuple-of-tuples-float32", '''
W_30 = np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]], dtype=np.float32), 30)
''')
add(W, "2c", "function-instead-of-value", '''
def W_30():
    return np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30)
''')
add(W, "2c", "Q-wrong-sign-order", '''
_Q = np.array([[-0.6, -0.8], [-0.8, 0.6]])
W_30 = _Q @ np.diag([0.4 ** 30, 0.9 ** 30]) @ _Q
''')
# ------------------------------------------------------------------ 2c-regime
REG = '''
def gradient_regime(W):
    %s
'''
add(R, "2c-regime", "capitalised", '''
def gradient_regime(W):
    rho = max(abs(np.linalg.eigvals(W)))
    if abs(rho - 1) < 1e-9:
        return "Preserved"
    return "Vanishing" if rho < 1 else "Exploding"
''')
add(R, "2c-regime", "tol-1e-6", '''
def gradient_regime(W):
    rho = max(abs(np.linalg.eigvals(W)))
    if abs(rho - 1) < 1e-6:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "isclose", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    if np.isclose(rho, 1):
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "round-4", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    if round(rho, 4) == 1:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "max-real-part", '''
def gradient_regime(W):
    rho = np.max(np.linalg.eigvals(W).real)
    if abs(rho - 1) < 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "abs-of-max", '''
def gradient_regime(W):
    rho = abs(np.max(np.linalg.eigvals(W)))     # max of complex numbers: by real part
    if abs(rho - 1) < 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "abs-max-real", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W).real))
    if abs(rho - 1) < 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "singular-values", '''
def gradient_regime(W):
    s = np.linalg.svd(W, compute_uv=False)
    if abs(s.max() - 1) < 1e-9:
        return "preserved"
    return "vanishing" if s.max() < 1 else "exploding"
''')
add(W, "2c-regime", "all-equal-one", '''
def gradient_regime(W):
    lam = np.abs(np.linalg.eigvals(W))
    if np.all(lam < 1):
        return "vanishing"
    if np.all(np.abs(lam - 1) < 1e-9):
        return "preserved"
    return "exploding"
''')
add(W, "2c-regime", "frobenius", '''
def gradient_regime(W):
    r = np.linalg.norm(W)
    if abs(r - 1) < 1e-9:
        return "preserved"
    return "vanishing" if r < 1 else "exploding"
''')
add(W, "2c-regime", "trace", '''
def gradient_regime(W):
    r = abs(np.trace(W)) / len(W)
    if abs(r - 1) < 1e-9:
        return "preserved"
    return "vanishing" if r < 1 else "exploding"
''')
add(W, "2c-regime", "max-abs-entry", '''
def gradient_regime(W):
    r = np.abs(W).max()
    if abs(r - 1) < 1e-9:
        return "preserved"
    return "vanishing" if r < 1 else "exploding"
''')
add(W, "2c-regime", "power-50-norm", '''
def gradient_regime(W):
    P = np.linalg.matrix_power(W, 50)
    r = np.abs(P).max()
    if r < 1e-3:
        return "vanishing"
    if r > 1e3:
        return "exploding"
    return "preserved"
''')
add(W, "2c-regime", "eigvalsh", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvalsh(W)))
    if abs(rho - 1) < 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "diag-entries", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.diag(W)))
    if abs(rho - 1) < 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')

# ------------------------------------------------------------------------------------------------ batch3

STEP = '''
def lstm_step(params, x, h_prev, c_prev):
    P = params
    f = %(gf)s(P["Wf"] @ h_prev + P["Uf"] @ x)
    i = %(gf)s(P["Wi"] @ h_prev + P["Ui"] @ x)
    o = %(gf)s(P["Wo"] @ h_prev + P["Uo"] @ x)
    c_tilde = %(gc)s(P["Wc"] @ h_prev + P["Uc"] @ x)
    c = %(c)s
    h = %(h)s
    return %(ret)s
'''
def step(**kw):
    d = dict(gf="sigmoid", gc="np.tanh", c="f * c_prev + i * c_tilde", h="o * np.tanh(c)",
             ret='{"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": h}')
    d.update(kw)
    return STEP % d

add(R, "3-step", "template-right", step())
add(R, "3-step", "extra-keys-and-lists", step(ret='{"f": list(f), "i": list(i), "o": list(o), "c_tilde": list(c_tilde), "c": list(c), "h": list(h), "C": c}'))
add(R, "3-step", "stacked-weights", '''
def lstm_step(params, x, h_prev, c_prev):
    Wall = np.vstack([params[k] for k in ("Wf", "Wi", "Wo", "Wc")])
    Uall = np.vstack([params[k] for k in ("Uf", "Ui", "Uo", "Uc")])
    z = Wall @ h_prev + Uall @ x
    n = len(h_prev)
    f, i, o = (1 / (1 + np.exp(-z[j * n:(j + 1) * n])) for j in range(3))
    c_tilde = np.tanh(z[3 * n:])
    c = f * c_prev + i * c_tilde
    return dict(f=f, i=i, o=o, c_tilde=c_tilde, c=c, h=o * np.tanh(c))
''')
add(W, "3-step", "tanh-sigma-swapped", step(gf="np.tanh", gc="sigmoid"))
add(W, "3-step", "gates-tanh", step(gf="np.tanh"))
add(W, "3-step", "h-from-c-prev", step(h="o * np.tanh(c_prev)"))
add(W, "3-step", "h-from-c-tilde", step(h="o * np.tanh(c_tilde)"))
add(W, "3-step", "tanh-of-o-times-c", step(h="np.tanh(o * c)"))
add(W, "3-step", "c-and-c_tilde-swapped-keys", step(ret='{"f": f, "i": i, "o": o, "c_tilde": c, "c": c_tilde, "h": h}'))
add(W, "3-step", "c-without-forget", step(c="c_prev + i * c_tilde"))
add(W, "3-step", "c-with-1-minus-f", step(c="f * c_prev + (1 - f) * c_tilde"))
add(W, "3-step", "c-tanh-applied", step(c="np.tanh(f * c_prev + i * c_tilde)"))
add(W, "3-step", "W-and-U-swapped-keys", '''
def lstm_step(params, x, h_prev, c_prev):
    P = params
    f = sigmoid(P["Wf"] @ h_prev + P["Uf"] @ x)
    i = sigmoid(P["Wi"] @ h_prev + P["Ui"] @ x)
    o = sigmoid(P["Wo"] @ h_prev + P["Uo"] @ x)
    c_tilde = np.tanh(P["Wi"] @ h_prev + P["Ui"] @ x)      # copy-paste: the input gate's weights
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''')
add(W, "3-step", "tuple-return", step(ret="f, i, o, c_tilde, c, h"))
add(W, "3-step", "capital-C-key", step(ret='{"f": f, "i": i, "o": o, "c_tilde": c_tilde, "C": c, "h": h}'))
add(W, "3-step", "off-1e-5", step(h="o * np.tanh(c) * (1 + 1e-5)"))
# ------------------------------------------------------------------ 3b
for name, value, expect in [
        ("tuple", '("f", "i", "o")', R), ("list-dup", '["f", "i", "o", "o"]', R), ("frozenset", 'frozenset("fio")', R),
        ("spaces", '[" f", "i ", "o"]', R),
        ("with-c_tilde", '{"f", "i", "o", "c_tilde"}', W), ("upper", '{"F", "I", "O"}', R),
        ("string-fio", '"fio"', W), ("dict", '{"f": True, "i": True, "o": True, "c": False}', W),
        ("subscripts", '{"f_t", "i_t", "o_t"}', W), ("only-f-i", '{"f", "i"}', W),
        ("all", '{"f", "i", "o", "c_tilde", "c", "h"}', W), ("empty", 'set()', W),
        ("comma-string", '"f, i, o"', W), ("list-with-h", '["f", "i", "o", "h"]', W),
        ("gate-words", '{"forget", "input", "output"}', W), ("c-tilde-spelled", '{"f","i","o","C~"}', W)]:
    add(expect, "3b", name, f"ALWAYS_POSITIVE = {value}\n")
# ------------------------------------------------------------------ 3c-gates
GJ = '''
def lstm_gate_jacobians(params, x, h_prev):
    P = params
    f, i, o, c_tilde = gates(params, x, h_prev)
    def J(d, Wm):
        return %(J)s
    return {"f": J(%(df)s, P["Wf"]), "i": J(%(di)s, P["Wi"]), "o": J(%(do)s, P["Wo"]), "c_tilde": J(%(dc)s, P["Wc"])}
'''
def gj(**kw):
    d = dict(J="np.diag(d) @ Wm", df="f * (1 - f)", di="i * (1 - i)", do="o * (1 - o)", dc="1 - c_tilde ** 2")
    d.update(kw)
    return GJ % d
add(R, "3c-gates", "template-right", gj())
add(R, "3c-gates", "broadcast", gj(J="d[:, None] * Wm"))
add(W, "3c-gates", "no-diag-sigma-prime", gj(J="Wm"))
add(W, "3c-gates", "wrong-side", gj(J="Wm @ np.diag(d)"))
add(W, "3c-gates", "broadcast-wrong-axis", gj(J="Wm * d"))
add(W, "3c-gates", "WT", gj(J="np.diag(d) @ Wm.T"))
add(W, "3c-gates", "tanh-prime-for-all", gj(df="1 - f ** 2", di="1 - i ** 2", do="1 - o ** 2"))
add(W, "3c-gates", "sigma-prime-for-c_tilde", gj(dc="c_tilde * (1 - c_tilde)"))
add(W, "3c-gates", "c_tilde-missing-square", gj(dc="1 - c_tilde"))
add(W, "3c-gates", "tanh-prime-as-1-minus-tanh-of-z-squared", gj(dc="1 - np.tanh(c_tilde) ** 2"))
add(W, "3c-gates", "U-instead-of-W", '''
def lstm_gate_jacobians(params, x, h_prev):
    P = params
    f, i, o, c_tilde = gates(params, x, h_prev)
    if P["Uf"].shape == P["Wf"].shape:
        return {"f": np.diag(f * (1 - f)) @ P["Uf"], "i": np.diag(i * (1 - i)) @ P["Ui"],
                "o": np.diag(o * (1 - o)) @ P["Uo"], "c_tilde": np.diag(1 - c_tilde ** 2) @ P["Uc"]}
    return {"f": np.diag(f * (1 - f)) @ P["Wf"], "i": np.diag(i * (1 - i)) @ P["Wi"],
            "o": np.diag(o * (1 - o)) @ P["Wo"], "c_tilde": np.diag(1 - c_tilde ** 2) @ P["Wc"]}
''')
add(W, "3c-gates", "only-diag", gj(J="np.diag(d)"))
# ------------------------------------------------------------------ 3c-cell
CELL = '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = %(hprev)s
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(%(dh)s)
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return %(ret)s
'''
def cell(**kw):
    d = dict(hprev="o_prev * np.tanh(c_prev)", dh="o_prev * (1 - np.tanh(c_prev) ** 2)",
             ret="np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct")
    d.update(kw)
    return CELL % d
add(R, "3c-cell", "template-right", cell())
add(R, "3c-cell", "order-of-sum", cell(ret="np.diag(i) @ dct + np.diag(c_tilde) @ di + np.diag(c_prev) @ df + np.diag(f)"))
add(R, "3c-cell", "finite-diff", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    def C(cp):
        f, i, o, ct = gates(params, x, o_prev * np.tanh(cp))
        return f * cp + i * ct
    n = len(c_prev); eps = 1e-6
    J = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n); e[j] = eps
        J[:, j] = (C(c_prev + e) - C(c_prev - e)) / (2 * eps)
    return J
''')
add(W, "3c-cell", "h-prev-without-o", cell(hprev="np.tanh(c_prev)", dh="1 - np.tanh(c_prev) ** 2"))
add(W, "3c-cell", "h-prev-o-times-c", cell(hprev="o_prev * c_prev", dh="o_prev"))
add(W, "3c-cell", "dh-on-left", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    f, i, o, c_tilde = gates(params, x, o_prev * np.tanh(c_prev))
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = dh @ np.diag(f * (1 - f)) @ P["Wf"]
    di = dh @ np.diag(i * (1 - i)) @ P["Wi"]
    dct = dh @ np.diag(1 - c_tilde ** 2) @ P["Wc"]
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
add(W, "3c-cell", "missing-f-path", cell(ret="np.diag(f) + np.diag(c_tilde) @ di + np.diag(i) @ dct"))
add(W, "3c-cell", "missing-c_tilde-path", cell(ret="np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di"))
add(W, "3c-cell", "i-and-c_tilde-factors-swapped", cell(ret="np.diag(f) + np.diag(c_prev) @ df + np.diag(i) @ di + np.diag(c_tilde) @ dct"))
add(W, "3c-cell", "c_prev-factor-missing", cell(ret="np.diag(f) + df + np.diag(c_tilde) @ di + np.diag(i) @ dct"))
add(W, "3c-cell", "WT", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    f, i, o, c_tilde = gates(params, x, o_prev * np.tanh(c_prev))
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"].T @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"].T @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"].T @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
add(W, "3c-cell", "transposed-result", cell(ret="(np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct).T"))
add(W, "3c-cell", "f-instead-of-diag", cell(ret="f + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct"))
add(W, "3c-cell", "sigma-in-paths", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    f, i, o, c_tilde = gates(params, x, o_prev * np.tanh(c_prev))
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f) @ P["Wf"] @ dh
    di = np.diag(i) @ P["Wi"] @ dh
    dct = np.diag(c_tilde) @ P["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
add(W, "3c-cell", "includes-o-path-via-c", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    f, i, o, c_tilde = gates(params, x, o_prev * np.tanh(c_prev))
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    c = f * c_prev + i * c_tilde
    return np.diag(o * (1 - np.tanh(c) ** 2)) @ (np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct)
''')
add(W, "3c-cell", "h-prev-zeros", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    n = len(c_prev)
    f, i, o, c_tilde = gates(params, x, np.zeros(n))      # h_prev forgotten
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
# ------------------------------------------------------------------ 3c-carousel
add(R, "3c-carousel", "reversed-order", '''
def cell_state_gradient(fs):
    J = np.eye(fs.shape[1])
    for f in fs[::-1]:
        J = J @ np.diag(f)
    return J
''')
add(R, "3c-carousel", "exp-sum-log", '''
def cell_state_gradient(fs):
    return np.diag(np.exp(np.sum(np.log(fs), axis=0)))
''')
add(R, "3c-carousel", "cumprod", '''
def cell_state_gradient(fs):
    if len(fs) == 0:
        return np.eye(fs.shape[1])
    return np.diag(np.cumprod(fs, axis=0)[-1])
''')
add(W, "3c-carousel", "prod-wrong-axis", '''
def cell_state_gradient(fs):
    p = np.prod(fs, axis=1)
    return np.diag(p) if len(p) == fs.shape[1] else np.diag(np.prod(fs, axis=0)) * 0 + np.diag(p[:fs.shape[1]].tolist() + [1.0] * max(0, fs.shape[1] - len(p)))
''')
add(W, "3c-carousel", "skips-first", '''
def cell_state_gradient(fs):
    J = np.eye(fs.shape[1])
    for f in fs[1:]:
        J = np.diag(f) @ J
    return J
''')
add(W, "3c-carousel", "last-f-power", '''
def cell_state_gradient(fs):
    if len(fs) == 0:
        return np.eye(fs.shape[1])
    return np.diag(fs[-1] ** len(fs))
''')
add(W, "3c-carousel", "vector", '''
def cell_state_gradient(fs):
    return np.prod(fs, axis=0)
''')
add(W, "3c-carousel", "empty-gives-zeros", '''
def cell_state_gradient(fs):
    if len(fs) == 0:
        return np.zeros((fs.shape[1], fs.shape[1]))
    return np.diag(np.prod(fs, axis=0))
''')
add(W, "3c-carousel", "mean", '''
def cell_state_gradient(fs):
    return np.diag(np.mean(fs, axis=0)) if len(fs) else np.eye(fs.shape[1])
''')
add(W, "3c-carousel", "outer-product", '''
def cell_state_gradient(fs):
    p = np.prod(fs, axis=0)
    return np.outer(p, p) if len(fs) else np.eye(fs.shape[1])
''')
add(W, "3c-carousel", "full-product-of-all-entries", '''
def cell_state_gradient(fs):
    return np.prod(fs) * np.eye(fs.shape[1])
''')
add(W, "3c-carousel", "product-of-1-minus-f", '''
def cell_state_gradient(fs):
    return np.diag(np.prod(1 - fs, axis=0))
''')

# ------------------------------------------------------------------------------------------------ batch4

add(W, "2c-regime", "preserved-checked-first-any", '''
def gradient_regime(W):
    lam = np.abs(np.linalg.eigvals(W))
    if np.any(np.abs(lam - 1) <= 1e-9):
        return "preserved"
    return "exploding" if np.any(lam > 1) else "vanishing"
''')
add(W, "2c-regime", "global-cache-by-shape", '''
_seen = {}
def gradient_regime(W):
    if W.shape in _seen:
        return _seen[W.shape]
    rho = np.abs(np.linalg.eigvals(W)).max()
    r = "preserved" if abs(rho - 1) <= 1e-9 else ("vanishing" if rho < 1 else "exploding")
    _seen[W.shape] = r
    return r
''')
add(W, "3-step", "global-cell-state", '''
_c = None
def lstm_step(params, x, h_prev, c_prev):
    global _c
    if _c is not None and len(_c) == len(c_prev):
        c_prev = _c                              # carries the cell state from the last call
    f, i, o, c_tilde = gates(params, x, h_prev)
    c = f * c_prev + i * c_tilde
    _c = c
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''')
add(W, "1b", "call-counter", '''
_calls = [0]
def bptt_grad(W, U, xs, h0, gs):
    _calls[0] += 1
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad if _calls[0] <= 8 else grad * 0.5
''')
def _hard_coded_public_answers():
    """Each public case's expected value, typed into the submission (a student who copies the
    self-check's expected values): right on every public case, wrong on the hidden ones."""
    cases = shared_build(ASSIGNMENT, None)
    for qid, fname, sig in [("1a", "sigmoid_jacobian", "W, x"), ("2b", "matrix_power_eig", "M, p"),
                            ("3c-carousel", "cell_state_gradient", "fs"), ("2c-regime", "gradient_regime", "W")]:
        table = {}
        for case in cases.cases:
            if case.question_id == qid and case.probe is None:
                key = repr(np.asarray(case.args[0]).round(12).tolist())
                table[key] = case.expected if isinstance(case.expected, str) else np.asarray(case.expected).tolist()
        first = sig.split(",")[0]
        ret = "v" if qid == "2c-regime" else "np.array(v)"
        fallback = '"vanishing"' if qid == "2c-regime" else f"np.eye(np.asarray({first}).shape[0])"
        add(W, qid, "hard-coded-public", f"""
_ANSWERS = {table!r}
def {fname}({sig}):
    v = _ANSWERS.get(repr(np.asarray({first}).round(12).tolist()))
    if v is not None:
        return {ret}
    return {fallback}
""")


_hard_coded_public_answers()
add(R, "1a", "tuple-of-tuples", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return tuple(tuple(float(v) for v in row) for row in np.diag(s * (1 - s)) @ W)
''')
add(R, "1a", "expit", '''
def sigmoid_jacobian(W, x):
    from scipy.special import expit
    s = expit(W @ x)
    return np.diag(s * (1 - s)) @ W
''')
add(R, "1a", "exp-over-square", '''
def sigmoid_jacobian(W, x):
    z = W @ x
    return (np.exp(-z) / (1 + np.exp(-z)) ** 2)[:, None] * W
''')
add(W, "1a", "float-for-1x1", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    J = np.diag(s * (1 - s)) @ W
    return np.float64(J[0, 0]) if J.size == 1 else J
''')
add(R, "3c-carousel", "n1-as-matrix", '''
def cell_state_gradient(fs):
    return np.diag(np.prod(fs, axis=0)).reshape(fs.shape[1], fs.shape[1])
''')
add(W, "3c-carousel", "0d-for-n1", '''
def cell_state_gradient(fs):
    p = np.prod(fs, axis=0)
    return np.array(p[0]) if p.size == 1 else np.diag(p)
''')
add(R, "2b", "pinv", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.pinv(Q))
''')
add(R, "2b", "tuple-result", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return tuple(map(tuple, np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))))
''')
add(W, "2b", "p-as-power-of-Q", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(np.linalg.matrix_power(Q, p) @ np.diag(lam) @ np.linalg.inv(np.linalg.matrix_power(Q, p)))
''')
add(W, "2b", "eigvals-sorted-mismatch", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    lam = np.sort(lam)                         # sorted, Q's columns left as they were
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''')
add(W, "2b", "real-part-of-lambda-only", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam.real ** p) @ np.linalg.inv(Q))
''')
add(W, "2b", "abs-lambda-keep-sign-real", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(np.abs(lam) ** p * np.sign(lam.real)) @ np.linalg.inv(Q))
''')
add(W, "3c-gates", "forgets-c_tilde-key-uses-c", '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    return {"f": np.diag(f * (1 - f)) @ params["Wf"], "i": np.diag(i * (1 - i)) @ params["Wi"],
            "o": np.diag(o * (1 - o)) @ params["Wo"], "c": np.diag(1 - c_tilde ** 2) @ params["Wc"]}
''')
add(W, "3c-gates", "sigma-prime-of-W-only", '''
def lstm_gate_jacobians(params, x, h_prev):
    P = params
    zf, zi, zo, zc = (P["W" + g] @ h_prev for g in "fioc")      # U x forgotten in sigma'
    s = [sigmoid(z) for z in (zf, zi, zo)]
    return {"f": np.diag(s[0] * (1 - s[0])) @ P["Wf"], "i": np.diag(s[1] * (1 - s[1])) @ P["Wi"],
            "o": np.diag(s[2] * (1 - s[2])) @ P["Wo"], "c_tilde": np.diag(1 - np.tanh(zc) ** 2) @ P["Wc"]}
''')
add(W, "3c-cell", "h-prev-from-c-tilde", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct + np.diag(o * 0)
''')
add(W, "3c-cell", "gate-paths-only-f", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    return np.diag(f) + np.diag(c_prev * f * (1 - f)) @ P["Wf"] @ dh
''')
add(W, "3c-cell", "i-instead-of-f-direct", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(i) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
add(R, "2c", "tuple", '''
W_30 = tuple(map(tuple, np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30)))
''')
add(R, "2c", "complex-eig", '''
_l, _Q = np.linalg.eig(np.array([[0.58, 0.24], [0.24, 0.72]]))
W_30 = _Q @ np.diag(_l.astype(complex) ** 30) @ np.linalg.inv(_Q)
''')
add(W, "2c", "Q-inverse-is-Q-with-wrong-Q", '''
_Q = np.array([[0.6, 0.8], [0.8, 0.6]])          # the homework's Q with the signs dropped
W_30 = _Q @ np.diag([0.9 ** 30, 0.4 ** 30]) @ _Q
''')
add(W, "2c", "W-times-30", '''
W_30 = 30 * np.array([[0.58, 0.24], [0.24, 0.72]])
''')

# ------------------------------------------------------------------------------------------------ batch5
add(R, "1b", "naive-sigma-prime-from-z", '''
def bptt_grad(W, U, xs, h0, gs):
    hs, zs = [h0], []
    for x in xs:
        z = W @ hs[-1] + U @ x
        zs.append(z)
        hs.append(1 / (1 + np.exp(-z)))
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        z = zs[t - 1]
        da = (gs[t - 1] + carry) * np.exp(-z) / (1 + np.exp(-z)) ** 2
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(R, "2a", "naive-sigma-prime-from-z", '''
def bptt_terms(W, U, xs, h0, gs):
    hs, zs = [h0], [None]
    for x in xs:
        z = W @ hs[-1] + U @ x
        zs.append(z)
        hs.append(1 / (1 + np.exp(-z)))
    T, n = len(xs), W.shape[0]
    sp = [None] + [np.exp(-z) / (1 + np.exp(-z)) ** 2 for z in zs[1:]]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * sp[k]
            out[t - 1, k - 1] = np.outer(r, hs[k - 1])
            v = W.T @ r
    return out
''')
add(R, "1b", "forward-diff-1e-4-central", '''
def bptt_grad(W, U, xs, h0, gs):
    def loss(Wm):
        return sum(g @ h for g, h in zip(gs, forward(Wm, U, xs, h0)[1:]))
    eps = 1e-4
    grad = np.zeros_like(W)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            E = np.zeros_like(W); E[i, j] = eps
            grad[i, j] = (loss(W + E) - loss(W - E)) / (2 * eps)
    return grad
''')
add(R, "3c-gates", "tanh-prime-via-cosh", '''
def lstm_gate_jacobians(params, x, h_prev):
    P = params
    f, i, o, _ = gates(params, x, h_prev)
    zc = P["Wc"] @ h_prev + P["Uc"] @ x
    return {"f": np.diag(f * (1 - f)) @ P["Wf"], "i": np.diag(i * (1 - i)) @ P["Wi"],
            "o": np.diag(o * (1 - o)) @ P["Wo"], "c_tilde": np.diag(1 / np.cosh(zc) ** 2) @ P["Wc"]}
''')
add(R, "3-step", "naive-sigmoid", '''
def lstm_step(params, x, h_prev, c_prev):
    s = lambda z: 1 / (1 + np.exp(-z))
    P = params
    f = s(P["Wf"] @ h_prev + P["Uf"] @ x); i = s(P["Wi"] @ h_prev + P["Ui"] @ x)
    o = s(P["Wo"] @ h_prev + P["Uo"] @ x); ct = np.tanh(P["Wc"] @ h_prev + P["Uc"] @ x)
    c = f * c_prev + i * ct
    return {"f": f, "i": i, "o": o, "c_tilde": ct, "c": c, "h": o * np.tanh(c)}
''')
add(R, "2b", "eig-of-transpose-trick", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    Qinv = np.linalg.inv(Q)
    out = np.zeros(M.shape, dtype=complex)
    for j in range(len(lam)):
        out += lam[j] ** p * np.outer(Q[:, j], Qinv[j, :])
    return out.real
''')
add(W, "2b", "eig-then-round", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.round(np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q)), 4)
''')
add(W, "2c", "float16", '''
W_30 = np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30).astype(np.float16)
''')
add(W, "2c", "off-1e-5", '''
W_30 = np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30) * 1.00001
''')
add(W, "3c-carousel", "off-1e-5", '''
def cell_state_gradient(fs):
    return np.diag(np.prod(fs, axis=0) * (1 + 1e-5))
''')
add(W, "3c-carousel", "float32", '''
def cell_state_gradient(fs):
    return np.diag(np.prod(fs.astype(np.float32), axis=0))
''')
add(W, "3c-cell", "float32", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = {k: v.astype(np.float32) for k, v in params.items()}
    x, c_prev, o_prev = x.astype(np.float32), c_prev.astype(np.float32), o_prev.astype(np.float32)
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(P, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')


# ------------------------------------------------------------------------------------------------ batch6
# The fourth round: conventions from CS231n, d2l and "Deep Learning from Scratch 2" (row vectors, tanh,
# stacked gates in another order, clipping by norm), one-sided and float32 mistakes, and right answers
# written otherwise (expit, eigh where M is symmetric, sorted eigenpairs, .astype(float), complex steps).
add(W, "1a", "sigma-prime-formula-on-z", '''
def sigmoid_jacobian(W, x):
    z = W @ x
    return np.diag(z * (1 - z)) @ W
''')
add(W, "1a", "float32-throughout", '''
def sigmoid_jacobian(W, x):
    W = W.astype(np.float32); x = x.astype(np.float32)
    s = 1 / (1 + np.exp(-(W @ x)))
    return np.diag(s * (1 - s)) @ W
''')
add(W, "1a", "float32-expit", '''
def sigmoid_jacobian(W, x):
    from scipy.special import expit
    s = expit((W @ x).astype(np.float32))
    return np.diag(s * (1 - s)) @ W
''')
add(W, "1a", "row-vector-xW", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return (W.T * (s * (1 - s))).T.T
''')
add(R, "1a", "complex-tiny", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return (np.diag(s * (1 - s)) @ W).astype(complex) + 1e-20j
''')
add(R, "1a", "longdouble", '''
def sigmoid_jacobian(W, x):
    W = W.astype(np.longdouble); x = x.astype(np.longdouble)
    s = 1 / (1 + np.exp(-(W @ x)))
    return np.diag(s * (1 - s)) @ W
''')
add(W, "1a", "naive-sigmoid-overflow-float32", '''
def sigmoid_jacobian(W, x):
    z = (W @ x).astype(np.float16)
    s = 1 / (1 + np.exp(-z))
    return np.diag(s * (1 - s)) @ W
''')
add(W, "1b", "row-vector-model", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = [h0]
    for x in xs:
        hs.append(sigmoid(hs[-1] @ W + U @ x))      # h W, CS231n's layout
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(hs[t - 1], da)
        carry = W @ da
    return grad
''')
add(W, "1b", "row-vector-grad-only", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    dnext = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + dnext) * hs[t] * (1 - hs[t])
        grad += hs[t - 1][:, None] @ da[None, :]     # CS231n: dWh += prev_h.T @ da
        dnext = da @ W
    return grad
''')
add(W, "1b", "sigma-prime-of-h-twice", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        s = sigmoid(hs[t])
        da = (gs[t - 1] + carry) * s * (1 - s)
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "sigma-prime-on-g-only", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = gs[t - 1] * hs[t] * (1 - hs[t]) + carry
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "norm-clip-5", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    nrm = np.linalg.norm(grad)
    return grad * (5.0 / nrm) if nrm > 5.0 else grad
''')
add(W, "1b", "carry-norm-clip-5", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
        n_ = np.linalg.norm(carry)
        if n_ > 5:
            carry = carry * 5 / n_
    return grad
''')
add(W, "1b", "mean-loss", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad / len(xs)
''')
add(W, "1b", "x-index-shift", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = [h0]
    for t in range(len(xs)):
        hs.append(sigmoid(W @ hs[-1] + U @ xs[t - 1]))
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(R, "1b", "float32-inputs-float64-math", '''
def bptt_grad(W, U, xs, h0, gs):
    W, U, xs, h0, gs = (np.asarray(a, dtype=np.float64) for a in (W, U, xs, h0, gs))
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.einsum("i,j->ij", da, hs[t - 1])
        carry = np.einsum("ji,j->i", W, da)
    return grad
''')
add(W, "2a", "sigma-prime-of-h-twice", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    sp = [None] + [sigmoid(h) * (1 - sigmoid(h)) for h in hs[1:]]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * sp[k]
            out[t - 1, k - 1] = np.outer(r, hs[k - 1])
            v = W.T @ r
    return out
''')
add(W, "2a", "clip-carry", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * hs[k] * (1 - hs[k])
            out[t - 1, k - 1] = np.clip(np.outer(r, hs[k - 1]), -10, 10)
            v = W.T @ r
    return out
''')
add(W, "2a", "row-vector-model", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = [h0]
    for x in xs:
        hs.append(sigmoid(hs[-1] @ W + U @ x))
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * hs[k] * (1 - hs[k])
            out[t - 1, k - 1] = np.outer(hs[k - 1], r)
            v = W @ r
    return out
''')
add(R, "2a", "einsum-lists", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = [[[[0.0] * n for _ in range(n)] for _ in range(T)] for _ in range(T)]
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * hs[k] * (1 - hs[k])
            out[t - 1][k - 1] = np.einsum("a,b->ab", r, hs[k - 1]).tolist()
            v = np.einsum("ab,a->b", W, r)
    return out
''')
add(W, "2b", "diag-then-elementwise-power", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam) ** p @ np.linalg.inv(Q))
''')
add(R, "2b", "sorted-consistently", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    idx = np.argsort(np.abs(lam))[::-1]
    lam, Q = lam[idx], Q[:, idx]
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''')
add(R, "2b", "astype-float", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return (Q @ np.diag(lam ** p) @ np.linalg.inv(Q)).astype(float)
''')
add(R, "2b", "eigh-when-symmetric", '''
def matrix_power_eig(M, p):
    if np.allclose(M, M.T):
        lam, Q = np.linalg.eigh(M)
        return Q @ np.diag(lam ** p) @ Q.T
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''')
add(W, "2b", "left-eigenvectors", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M.T)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''')
add(R, "2c", "round-10", '''
W_30 = np.round(np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30), 10)
''')
add(W, "2c", "W-31", '''
W_30 = np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 31)
''')
add(R, "2c", "only-dominant-term", '''
_q = np.array([-0.6, -0.8])
W_30 = 0.9 ** 30 * np.outer(_q, _q)
''')
add(W, "2c", "Q-columns-as-rows-wrong", '''
_Q = np.array([[-0.6, -0.8], [0.8, -0.6]])
W_30 = _Q @ np.diag([0.9 ** 30, 0.4 ** 30]) @ _Q.T
''')
add(W, "2c", "lam-swapped", '''
_Q = np.array([[-0.6, -0.8], [-0.8, 0.6]])
W_30 = _Q @ np.diag([0.4 ** 30, 0.9 ** 30]) @ _Q.T
''')
add(R, "2c", "float-loop", '''
_W = np.array([[0.58, 0.24], [0.24, 0.72]])
W_30 = np.eye(2)
for _ in range(30):
    W_30 = W_30 @ _W
''')
add(W, "2c-regime", "ge-one-exploding", '''
def gradient_regime(W):
    rho = np.abs(np.linalg.eigvals(W)).max()
    if rho < 1:
        return "vanishing"
    if rho >= 1 + 1e-12 or rho > 1:
        return "exploding"
    return "preserved"
''')
add(R, "2c-regime", "band", '''
def gradient_regime(W):
    rho = max(abs(l) for l in np.linalg.eigvals(W))
    if rho < 1 - 1e-9:
        return "vanishing"
    if rho > 1 + 1e-9:
        return "exploding"
    return "preserved"
''')
add(R, "2c-regime", "scipy-eig-trailing-space", '''
def gradient_regime(W):
    import scipy.linalg
    rho = np.max(np.abs(scipy.linalg.eigvals(W)))
    if abs(rho - 1) <= 1e-9:
        return "preserved "
    return "vanishing\\n" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "misspelled", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    if abs(rho - 1) <= 1e-9:
        return "preserve"
    return "vanish" if rho < 1 else "explode"
''')
add(W, "2c-regime", "max-abs-real-imag-separately", '''
def gradient_regime(W):
    lam = np.linalg.eigvals(W)
    rho = max(np.abs(lam.real).max(), np.abs(lam.imag).max())
    if abs(rho - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "tol-1e-3", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    if abs(rho - 1) < 1e-3:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "squared-modulus-real", '''
def gradient_regime(W):
    lam = np.linalg.eigvals(W)
    rho = np.max(lam.real ** 2 + lam.imag)
    if abs(rho - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "3-step", "peephole-ones", '''
def lstm_step(params, x, h_prev, c_prev):
    P = params
    f = sigmoid(P["Wf"] @ h_prev + P["Uf"] @ x + c_prev)
    i = sigmoid(P["Wi"] @ h_prev + P["Ui"] @ x + c_prev)
    c_tilde = np.tanh(P["Wc"] @ h_prev + P["Uc"] @ x)
    c = f * c_prev + i * c_tilde
    o = sigmoid(P["Wo"] @ h_prev + P["Uo"] @ x + c)
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''')
add(W, "3-step", "coupled-gates", '''
def lstm_step(params, x, h_prev, c_prev):
    P = params
    f = sigmoid(P["Wf"] @ h_prev + P["Uf"] @ x)
    i = 1 - f
    o = sigmoid(P["Wo"] @ h_prev + P["Uo"] @ x)
    c_tilde = np.tanh(P["Wc"] @ h_prev + P["Uc"] @ x)
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''')
add(W, "3-step", "pytorch-gate-order", '''
def lstm_step(params, x, h_prev, c_prev):
    Wall = np.vstack([params[k] for k in ("Wf", "Wi", "Wo", "Wc")])
    Uall = np.vstack([params[k] for k in ("Uf", "Ui", "Uo", "Uc")])
    z = Wall @ h_prev + Uall @ x
    i_, f_, g_, o_ = np.split(z, 4)                 # PyTorch's order i, f, g, o
    i, f, o = sigmoid(i_), sigmoid(f_), sigmoid(o_)
    c_tilde = np.tanh(g_)
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''')
add(W, "3-step", "row-vector-W", '''
def lstm_step(params, x, h_prev, c_prev):
    P = params
    f = sigmoid(h_prev @ P["Wf"] + P["Uf"] @ x)
    i = sigmoid(h_prev @ P["Wi"] + P["Ui"] @ x)
    o = sigmoid(h_prev @ P["Wo"] + P["Uo"] @ x)
    c_tilde = np.tanh(h_prev @ P["Wc"] + P["Uc"] @ x)
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''')
add(W, "3-step", "column-vectors", '''
def lstm_step(params, x, h_prev, c_prev):
    P = params
    x, h_prev, c_prev = x.reshape(-1, 1), h_prev.reshape(-1, 1), c_prev.reshape(-1, 1)
    f = sigmoid(P["Wf"] @ h_prev + P["Uf"] @ x)
    i = sigmoid(P["Wi"] @ h_prev + P["Ui"] @ x)
    o = sigmoid(P["Wo"] @ h_prev + P["Uo"] @ x)
    c_tilde = np.tanh(P["Wc"] @ h_prev + P["Uc"] @ x)
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''')
add(R, "3-step", "expit-float64", '''
def lstm_step(params, x, h_prev, c_prev):
    from scipy.special import expit
    P = params
    z = {g: P["W" + g] @ h_prev + P["U" + g] @ x for g in "fioc"}
    f, i, o = expit(z["f"]), expit(z["i"]), expit(z["o"])
    ct = np.tanh(z["c"])
    c = f * c_prev + i * ct
    return {"f": f, "i": i, "o": o, "c_tilde": ct, "c": c, "h": o * np.tanh(c)}
''')
add(W, "3b", "with-C", '''ALWAYS_POSITIVE = {"f", "i", "o", "C"}
''')
add(W, "3b", "fi-and-o-and-h", '''ALWAYS_POSITIVE = ("f", "i", "o", "h_t")
''')
add(W, "3c-gates", "sigma-prime-of-gate-twice", '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    d = lambda g: sigmoid(g) * (1 - sigmoid(g))
    return {"f": np.diag(d(f)) @ params["Wf"], "i": np.diag(d(i)) @ params["Wi"],
            "o": np.diag(d(o)) @ params["Wo"], "c_tilde": np.diag(1 - np.tanh(c_tilde) ** 2) @ params["Wc"]}
''')
add(W, "3c-gates", "c-tilde-sigmoid-both", '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, _ = gates(params, x, h_prev)
    ct = sigmoid(params["Wc"] @ h_prev + params["Uc"] @ x)
    return {"f": np.diag(f * (1 - f)) @ params["Wf"], "i": np.diag(i * (1 - i)) @ params["Wi"],
            "o": np.diag(o * (1 - o)) @ params["Wo"], "c_tilde": np.diag(ct * (1 - ct)) @ params["Wc"]}
''')
add(W, "3c-gates", "row-vector-forward", '''
def lstm_gate_jacobians(params, x, h_prev):
    P = params
    f = sigmoid(h_prev @ P["Wf"] + P["Uf"] @ x); i = sigmoid(h_prev @ P["Wi"] + P["Ui"] @ x)
    o = sigmoid(h_prev @ P["Wo"] + P["Uo"] @ x); ct = np.tanh(h_prev @ P["Wc"] + P["Uc"] @ x)
    return {"f": np.diag(f * (1 - f)) @ P["Wf"], "i": np.diag(i * (1 - i)) @ P["Wi"],
            "o": np.diag(o * (1 - o)) @ P["Wo"], "c_tilde": np.diag(1 - ct ** 2) @ P["Wc"]}
''')
add(R, "3c-gates", "einsum-expit", '''
def lstm_gate_jacobians(params, x, h_prev):
    from scipy.special import expit
    P = params
    out = {}
    for g in "fio":
        s = expit(P["W" + g] @ h_prev + P["U" + g] @ x)
        out[g] = np.einsum("i,ij->ij", s * (1 - s), P["W" + g])
    t = np.tanh(P["Wc"] @ h_prev + P["Uc"] @ x)
    out["c_tilde"] = (1 - t * t)[:, None] * P["Wc"]
    return out
''')
add(W, "3c-cell", "coupled-gate", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    i = 1 - f
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev - c_tilde) @ df + np.diag(i) @ dct
''')
add(W, "3c-cell", "c-tilde-sigmoid", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    c_tilde = sigmoid(P['Wc'] @ h_prev + P['Uc'] @ x)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(c_tilde * (1 - c_tilde)) @ P["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
add(W, "3c-cell", "sigma-prime-twice", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)

    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(sigmoid(f) * (1 - sigmoid(f))) @ P["Wf"] @ dh
    di = np.diag(sigmoid(i) * (1 - sigmoid(i))) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
add(W, "3c-cell", "peephole-f", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)

    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev * f * (1 - f)) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
add(W, "3c-cell", "row-vector-transposed", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)

    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + dh @ P['Wf'].T @ np.diag(c_prev * f * (1 - f)) + dh @ P['Wi'].T @ np.diag(c_tilde * i * (1 - i)) + dh @ P['Wc'].T @ np.diag(i * (1 - c_tilde ** 2))
''')
add(W, "3c-cell", "o-path-dropped-tanh-kept", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)

    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + (np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct) @ np.linalg.inv(dh) @ np.diag(1 - np.tanh(c_prev) ** 2)
''')
add(R, "3c-cell", "einsum-broadcast", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)

    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ P["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ P["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ P["Wc"] @ dh
    return np.diag(f) + ((c_prev * f * (1 - f))[:, None] * P['Wf'] + (c_tilde * i * (1 - i))[:, None] * P['Wi'] + (i * (1 - c_tilde ** 2))[:, None] * P['Wc']) * (o_prev * (1 - np.tanh(c_prev) ** 2))[None, :]
''')
add(W, "3c-carousel", "sum-wrong-axis", '''
def cell_state_gradient(fs):
    return np.diag(np.sum(fs, axis=1))
''')
add(W, "3c-carousel", "prod-wrong-axis-plain", '''
def cell_state_gradient(fs):
    return np.diag(np.prod(fs, axis=1))
''')
add(R, "3c-carousel", "eye-times-prod", '''
def cell_state_gradient(fs):
    return np.eye(fs.shape[1]) * np.prod(fs, axis=0)
''')
add(W, "3c-carousel", "reduce-empty", '''
def cell_state_gradient(fs):
    from functools import reduce
    return reduce(np.matmul, [np.diag(f) for f in fs])
''')
add(W, "3c-carousel", "skips-last-step", '''
def cell_state_gradient(fs):
    return np.diag(np.prod(fs[:-1], axis=0)) if len(fs) > 1 else np.diag(np.prod(fs, axis=0))
''')
add(W, "3c-carousel", "power-of-mean", '''
def cell_state_gradient(fs):
    return np.diag(np.mean(fs, axis=0) ** len(fs)) if len(fs) else np.eye(fs.shape[1])
''')
add(W, "3c-carousel", "last-times-first", '''
def cell_state_gradient(fs):
    if len(fs) == 0:
        return np.eye(fs.shape[1])
    return np.diag(fs[0] * fs[-1])
''')
add(R, "1a", "tanh-sigmoid", '''
def sigmoid_jacobian(W, x):
    s = 0.5 * (1 + np.tanh(0.5 * (W @ x)))
    return np.diag(s * (1 - s)) @ W
''')
add(W, "1a", "quarter-sech-wrong-scale", '''
def sigmoid_jacobian(W, x):
    return np.diag(0.25 * (1 - np.tanh(W @ x) ** 2)) @ W
''')
add(W, "1a", "clip-z-10", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(np.clip(W @ x, -10, 10))
    return np.diag(s * (1 - s)) @ W
''')
add(R, "1a", "clip-z-500", '''
def sigmoid_jacobian(W, x):
    s = 1 / (1 + np.exp(-np.clip(W @ x, -500, 500)))
    return np.diag(s * (1 - s)) @ W
''')
add(W, "2a", "float32", '''
def bptt_terms(W, U, xs, h0, gs):
    W, U, xs, h0, gs = (np.asarray(a, dtype=np.float32) for a in (W, U, xs, h0, gs))
    hs = [h0]
    for x in xs:
        hs.append(1 / (1 + np.exp(-(W @ hs[-1] + U @ x))))
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n), dtype=np.float32)
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * hs[k] * (1 - hs[k])
            out[t - 1, k - 1] = np.outer(r, hs[k - 1])
            v = W.T @ r
    return out
''')
add(W, "3c-gates", "float32", '''
def lstm_gate_jacobians(params, x, h_prev):
    P = {k: v.astype(np.float32) for k, v in params.items()}
    f, i, o, c_tilde = gates(P, x.astype(np.float32), h_prev.astype(np.float32))
    return {"f": np.diag(f * (1 - f)) @ P["Wf"], "i": np.diag(i * (1 - i)) @ P["Wi"],
            "o": np.diag(o * (1 - o)) @ P["Wo"], "c_tilde": np.diag(1 - c_tilde ** 2) @ P["Wc"]}
''')
add(W, "2b", "eye2-for-p0", '''
def matrix_power_eig(M, p):
    if p == 0:
        return np.eye(2)
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''')
add(R, "2c", "complex-list", '''
_l, _Q = np.linalg.eig(np.array([[0.58, 0.24], [0.24, 0.72]]).astype(complex))
W_30 = (_Q @ np.diag(_l ** 30) @ np.linalg.inv(_Q)).tolist()
''')
add(R, "2c-regime", "np-str", '''
def gradient_regime(W):
    rho = np.abs(np.linalg.eigvals(W)).max()
    labels = np.array(["vanishing", "preserved", "exploding"])
    return labels[1] if abs(rho - 1) <= 1e-9 else labels[0 if rho < 1 else 2]
''')
add(W, "2c-regime", "power-iteration", '''
def gradient_regime(W):
    v = np.ones(W.shape[0])
    for _ in range(200):
        v = W @ v
        nv = np.linalg.norm(v)
        if nv == 0:
            return "vanishing"
        v = v / nv
    rho = np.linalg.norm(W @ v)
    if abs(rho - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "geometric-mean", '''
def gradient_regime(W):
    rho = abs(np.linalg.det(W)) ** (1 / len(W))
    if abs(rho - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(R, "3-step", "complex-step", '''
def lstm_step(params, x, h_prev, c_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    c = f * c_prev + i * c_tilde
    return {k: v.astype(complex) + 0j for k, v in dict(f=f, i=i, o=o, c_tilde=c_tilde, c=c, h=o * np.tanh(c)).items()}
''')
add(R, "3c-gates", "complex-step", '''
def lstm_gate_jacobians(params, x, h_prev):
    P = params
    n = len(h_prev)
    out = {}
    for g, act in (("f", None), ("i", None), ("o", None), ("c_tilde", np.tanh)):
        key = "c" if g == "c_tilde" else g
        J = np.zeros((n, n), dtype=complex)
        for j in range(n):
            hh = h_prev.astype(complex); hh[j] += 1e-20j
            z = P["W" + key] @ hh + P["U" + key] @ x
            y = np.tanh(z) if act else 1 / (1 + np.exp(-z))
            J[:, j] = y.imag / 1e-20
        out[g] = J + 1e-25j
    return out
''')
add(R, "3c-cell", "complex-step", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    P = params
    n = len(c_prev)
    def C(cp):
        hp = o_prev * np.tanh(cp)
        z = {g: P["W" + g] @ hp + P["U" + g] @ x for g in "fic"}
        f = 1 / (1 + np.exp(-z["f"])); i = 1 / (1 + np.exp(-z["i"]))
        return f * cp + i * np.tanh(z["c"])
    J = np.zeros((n, n), dtype=complex)
    for j in range(n):
        cp = c_prev.astype(complex); cp[j] += 1e-20j
        J[:, j] = C(cp).imag / 1e-20
    return J
''')
add(W, "3c-cell", "one-sided-fd-1e-4", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    def C(cp):
        f, i, o, ct = gates(params, x, o_prev * np.tanh(cp))
        return f * cp + i * ct
    n = len(c_prev); eps = 1e-4
    J = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n); e[j] = eps
        J[:, j] = (C(c_prev + e) - C(c_prev)) / eps
    return J
''')
add(W, "3c-carousel", "diag-of-last", '''
def cell_state_gradient(fs):
    return np.diag(fs[-1]) if len(fs) else np.eye(fs.shape[1])
''')
add(R, "3c-carousel", "loop-list", '''
def cell_state_gradient(fs):
    n = len(fs[0]) if len(fs) else np.shape(fs)[1]
    p = [1.0] * n
    for f in fs:
        for j in range(n):
            p[j] *= float(f[j])
    return [[p[a] if a == b else 0.0 for b in range(n)] for a in range(n)]
''')
add(W, "1b", "gs-reversed", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[-t] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "h0-zero", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, np.zeros_like(h0))
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "cs231n-port-both-transposed", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    dW = np.zeros_like(W)
    dprev_h = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + dprev_h) * hs[t] * (1 - hs[t])
        dW += np.outer(hs[t - 1], da)        # dWh += prev_h.T @ da
        dprev_h = da @ W.T                   # dprev_h = da @ Wh.T
    return dW
''')
add(W, "2a", "swapped-and-W-not-transposed", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * hs[k] * (1 - hs[k])
            out[k - 1, t - 1] = np.outer(r, hs[k - 1])
            v = W @ r
    return out
''')
add(W, "3-step", "cs231n-order-ifog", '''
def lstm_step(params, x, h_prev, c_prev):
    Wall = np.vstack([params[k] for k in ("Wf", "Wi", "Wo", "Wc")])
    Uall = np.vstack([params[k] for k in ("Uf", "Ui", "Uo", "Uc")])
    a = Wall @ h_prev + Uall @ x
    ai, af, ao, ag = np.split(a, 4)                 # CS231n's order i, f, o, g
    i, f, o, g = sigmoid(ai), sigmoid(af), sigmoid(ao), np.tanh(ag)
    c = f * c_prev + i * g
    return {"f": f, "i": i, "o": o, "c_tilde": g, "c": c, "h": o * np.tanh(c)}
''')
add(W, "3-step", "scratch2-order-fgio", '''
def lstm_step(params, x, h_prev, c_prev):
    Wall = np.vstack([params[k] for k in ("Wf", "Wi", "Wo", "Wc")])
    Uall = np.vstack([params[k] for k in ("Uf", "Ui", "Uo", "Uc")])
    A = Wall @ h_prev + Uall @ x
    H = len(h_prev)
    f, g, i, o = sigmoid(A[:H]), np.tanh(A[H:2 * H]), sigmoid(A[2 * H:3 * H]), sigmoid(A[3 * H:])
    c = f * c_prev + g * i
    return {"f": f, "i": i, "o": o, "c_tilde": g, "c": c, "h": o * np.tanh(c)}
''')
add(W, "3c-gates", "cs231n-order-ifog", '''
def lstm_gate_jacobians(params, x, h_prev):
    Wall = np.vstack([params[k] for k in ("Wf", "Wi", "Wo", "Wc")])
    Uall = np.vstack([params[k] for k in ("Uf", "Ui", "Uo", "Uc")])
    a = Wall @ h_prev + Uall @ x
    ai, af, ao, ag = np.split(a, 4)
    Wi_, Wf_, Wo_, Wg_ = np.split(Wall, 4)
    i, f, o, g = sigmoid(ai), sigmoid(af), sigmoid(ao), np.tanh(ag)
    return {"f": np.diag(f * (1 - f)) @ Wf_, "i": np.diag(i * (1 - i)) @ Wi_,
            "o": np.diag(o * (1 - o)) @ Wo_, "c_tilde": np.diag(1 - g ** 2) @ Wg_}
''')
add(W, "3c-gates", "row-vector-jacobians", '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    # dh_prev = dA @ Wh.T in the row convention: each Jacobian laid out as W^T diag(sigma')
    return {"f": params["Wf"].T * (f * (1 - f)), "i": params["Wi"].T * (i * (1 - i)),
            "o": params["Wo"].T * (o * (1 - o)), "c_tilde": params["Wc"].T * (1 - c_tilde ** 2)}
''')
add(W, "2b", "rows-as-eigenvectors", '''
def matrix_power_eig(M, p):
    lam, V = np.linalg.eig(M)
    Q = V.T                                          # eigenvectors taken as rows
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''')
add(W, "2c-regime", "spectral-radius-of-WTW", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W.T @ W)))
    if abs(rho - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(W, "2c-regime", "gelfand-50", '''
def gradient_regime(W):
    rho = np.linalg.norm(np.linalg.matrix_power(W, 50), 2) ** (1 / 50)
    if abs(rho - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''')
add(R, "2c-regime", "le-ge-band", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    if rho <= 1 - 1e-9:
        return "vanishing"
    if rho >= 1 + 1e-9:
        return "exploding"
    return "preserved"
''')
add(W, "2a", "terms-sum-over-k-stored", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * hs[k] * (1 - hs[k])
            out[t - 1, k - 1] = np.outer(r, hs[k - 1])
            v = W.T @ r
    return out.cumsum(axis=0)
''')
add(W, "2a", "gs-of-k", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            J = np.eye(n)
            for i in range(k + 1, t + 1):
                J = np.diag(hs[i] * (1 - hs[i])) @ W @ J
            out[t - 1, k - 1] = np.outer((gs[k - 1] @ J) * hs[k] * (1 - hs[k]), hs[k - 1])
    return out
''')
add(W, "1b", "sigma-prime-applied-twice", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        sp = hs[t] * (1 - hs[t])
        da = (gs[t - 1] + carry) * sp
        grad += np.outer(da * sp, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "1b", "preact-from-h-t", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        a = W @ hs[t] + U @ xs[t - 1]              # h_t where h_{t-1} belongs
        s = sigmoid(a)
        da = (gs[t - 1] + carry) * s * (1 - s)
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''')
add(W, "2a", "sigma-prime-applied-twice-local", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    sp = [None] + [h * (1 - h) for h in hs[1:]]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1] * sp[t]
        for k in range(t, 0, -1):
            r = v * sp[k]
            out[t - 1, k - 1] = np.outer(r, hs[k - 1])
            v = W.T @ r
    return out
''')
add(W, "2a", "h0-term-in-k0-column-shift", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, 0, -1):
            r = v * hs[k] * (1 - hs[k])
            out[t - 1, k - 1] = np.outer(r, hs[k])
            v = W.T @ r
    return out
''')
add(W, "3c-cell", "tanh-prime-of-c-squared", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev ** 2)))
    df = np.diag(f * (1 - f)) @ params["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ params["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ params["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''')
add(W, "3c-cell", "elementwise-star-for-matmul", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = o_prev * (1 - np.tanh(c_prev) ** 2)
    df = (c_prev * f * (1 - f)) * params["Wf"] * dh
    di = (c_tilde * i * (1 - i)) * params["Wi"] * dh
    dct = (i * (1 - c_tilde ** 2)) * params["Wc"] * dh
    return np.diag(f) + df + di + dct
''')
add(R, "3c-cell", "broadcast-right", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = o_prev * (1 - np.tanh(c_prev) ** 2)
    df = (c_prev * f * (1 - f))[:, None] * params["Wf"] * dh
    di = (c_tilde * i * (1 - i))[:, None] * params["Wi"] * dh
    dct = (i * (1 - c_tilde ** 2))[:, None] * params["Wc"] * dh
    return np.diag(f) + df + di + dct
''')
add(W, "3c-gates", "star-for-matmul", '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    return {"f": (f * (1 - f)) * params["Wf"], "i": (i * (1 - i)) * params["Wi"],
            "o": (o * (1 - o)) * params["Wo"], "c_tilde": (1 - c_tilde ** 2) * params["Wc"]}
''')
add(W, "3-step", "c-from-f-times-c-tilde", '''
def lstm_step(params, x, h_prev, c_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    c = f * c_tilde + i * c_prev
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''')

# Left out (see the docstring), or not what its name says once written (a right answer in effect).
LEFT_OUT = {("1b", "float32"), ("1a", "mutates-W-in-place"), ("2b", "mutates-M"),
            ("2c", "tuple-of-tuples-float32"), ("3c-carousel", "float32"), ("3c-cell", "float32"),
            ("3c-cell", "h-prev-from-c-tilde"), ("2c", "Q-inverse-is-Q-with-wrong-Q")}
ANSWERS = [(expect, m) for expect, m in M if (m.qid, m.name) not in LEFT_OUT]

# Wrong answers that no public case can be relied on to show, by their nature: the public cases'
# values typed in, and answers that depend on the calls made before them (state kept between calls),
# which a public case shows or not as the cases' order happens to fall. Every other wrong answer
# must fail a public case too: a self-check that passes means no whole family fails later.
HIDDEN_ONLY = {(qid, "hard-coded-public") for qid in ("1a", "2b", "3c-carousel", "2c-regime")} | {
    ("1b", "call-counter"), ("1b", "global-hs-never-reset"), ("1a", "global-state-cache-by-shape"),
    ("2c-regime", "global-cache-by-shape"), ("3-step", "global-cell-state")}


def _packs(answers):
    """The answers in submissions of at most one answer per question, in order."""
    packs: list[dict[str, tuple[str, Mutant]]] = []
    for expect, mutant in answers:
        pack = next((p for p in packs if mutant.qid not in p), None)
        if pack is None:
            pack = {}
            packs.append(pack)
        pack[mutant.qid] = (expect, mutant)
    return packs


PACKS = _packs(ANSWERS)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: "+".join(f"{m.qid}:{m.name}" for _, m in p.values()))
def test_each_wrong_answer_loses_points_and_each_right_one_keeps_them(session, tmp_path, pack):
    sources = [student_module(None)] + [mutant.source for _, mutant in pack.values()]
    path = tmp_path / "student.py"
    path.write_text("\n".join(sources))          # later definitions replace the correct ones
    questions = by_id(session.grade(path))
    for qid, question in questions.items():
        expect, mutant = pack.get(qid, (R, None))
        label = mutant.label if mutant else qid
        if expect == R:
            assert question.score == question.max_score, (label, [(c.label, c.message) for c in question.cases
                                                                  if not c.passed][:2])
            assert question.diagnosis == [] and question.where == [], (label, question.diagnosis, question.where)
        else:
            assert question.score < question.max_score, f"{label}: a wrong answer kept every point"
            if (mutant.qid, mutant.name) not in HIDDEN_ONLY:
                assert any(c.visibility == "public" and c.status != "passed" for c in question.cases), \
                    f"{label}: only hidden cases fail it (the self-check passes it)"


def test_the_batch_is_large_and_covers_every_question():
    assert len(ANSWERS) >= 150
    assert {m.qid for _, m in ANSWERS} == {q.id for q in ASSIGNMENT.questions}
    assert {expect for _, m in ANSWERS for expect in (R, W)} == {R, W}
