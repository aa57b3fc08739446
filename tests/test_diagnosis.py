"""Naming the mistake: every catalogued wrong answer, written the way a student writes it, is named.

Each mutant below is a student-style module: correct code for every graded name except one
function (or value), which is written with one misconception. The mutants are written here from
the misconception's description, independently of `assignments/hw3/mistakes.py` (nothing from
the catalogue is imported into a submission), and graded through a real `Session`. For each one
the question must lose points, carry the mistake's id in its diagnosis, and no other question
may lose anything. Correct submissions must carry no diagnosis at all.

The second half checks `diagnose()` itself on every hidden case of the demo secret: a catalogue
variant is named wherever it differs from the right answer, the right answer never is, and
diagnosing never turns a failure into a pass.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from assignments.hw3 import ASSIGNMENT
from assignments.hw3.mistakes import MISTAKES, VARIANTS
from grader.compare import compare
from grader.config import DEMO_SECRET
from grader.diagnose import diagnose
from grader.results import FAILED, PASSED
from grader.spec import NAME_SET

from conftest import ROOT
from shared_cases import shared_build

# --------------------------------------------------------------------------------------------
# a correct student solution, one block per question (written for these tests, not carol's)
# --------------------------------------------------------------------------------------------

PRELUDE = '''
import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def forward(W, U, xs, h0):
    hs = [np.asarray(h0, dtype=float)]
    for x in xs:
        hs.append(sigmoid(W @ hs[-1] + U @ x))
    return hs


def gates(params, x, h_prev):
    f = sigmoid(params["Wf"] @ h_prev + params["Uf"] @ x)
    i = sigmoid(params["Wi"] @ h_prev + params["Ui"] @ x)
    o = sigmoid(params["Wo"] @ h_prev + params["Uo"] @ x)
    c_tilde = np.tanh(params["Wc"] @ h_prev + params["Uc"] @ x)
    return f, i, o, c_tilde
'''

CORRECT = {
    "1a": '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return np.diag(s * (1 - s)) @ W
''',
    "1b": '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T = len(xs)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(T, 0, -1):
        dh = gs[t - 1] + carry
        da = dh * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''',
    "2a": '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    sp = [None] + [h * (1 - h) for h in hs[1:]]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            J = np.eye(n)
            for i in range(k + 1, t + 1):
                J = np.diag(sp[i]) @ W @ J
            out[t - 1, k - 1] = np.outer((gs[t - 1] @ J) * sp[k], hs[k - 1])
    return out
''',
    "2b": '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''',
    "2c": '''
_lam, _Q = np.linalg.eigh(np.array([[0.58, 0.24], [0.24, 0.72]]))
W_30 = _Q @ np.diag(_lam ** 30) @ _Q.T
''',
    "2c-regime": '''
def gradient_regime(W):
    rho = np.abs(np.linalg.eigvals(W)).max()
    if abs(rho - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''',
    "3-step": '''
def lstm_step(params, x, h_prev, c_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
''',
    "3b": '''
ALWAYS_POSITIVE = {"f", "i", "o"}
''',
    "3c-gates": '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    return {"f": np.diag(f * (1 - f)) @ params["Wf"], "i": np.diag(i * (1 - i)) @ params["Wi"],
            "o": np.diag(o * (1 - o)) @ params["Wo"], "c_tilde": np.diag(1 - c_tilde ** 2) @ params["Wc"]}
''',
    "3c-cell": '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ params["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ params["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ params["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''',
    "3c-carousel": '''
def cell_state_gradient(fs):
    J = np.eye(fs.shape[1])
    for f in fs:
        J = np.diag(f) @ J
    return J
''',
}


@dataclass(frozen=True)
class Mutant:
    """One question answered with one misconception; `name` tells apart two ways of making it."""

    qid: str
    mistake: str
    source: str
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.qid}:{self.mistake}" + (f":{self.name}" if self.name else "")


MUTANTS = [
    # ---------------------------------------------------------------- 1(a)
    Mutant("1a", "sigma-instead-of-derivative", '''
def sigmoid_jacobian(W, x):
    return sigmoid(W @ x)[:, None] * W
'''),
    Mutant("1a", "transposed", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    return W.T * (s * (1 - s))
'''),
    Mutant("1a", "missing-activation-derivative", '''
def sigmoid_jacobian(W, x):
    return np.array(W)
'''),
    Mutant("1a", "tanh-instead-of-sigmoid", '''
def sigmoid_jacobian(W, x):
    y = np.tanh(W @ x)                              # the textbook RNN's activation
    return (1 - y ** 2)[:, None] * W
'''),
    Mutant("1a", "tanh-instead-of-sigmoid", '''
def sigmoid_jacobian(W, x):
    y = sigmoid(W @ x)
    return np.diag(1 - y * y) @ W                   # tanh's derivative written for sigma
''', name="tanh-derivative-of-sigma"),
    # ---------------------------------------------------------------- 1(b)
    Mutant("1b", "no-backprop-through-time", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    for t in range(1, len(xs) + 1):
        grad += np.outer(gs[t - 1] * hs[t] * (1 - hs[t]), hs[t - 1])
    return grad
'''),
    Mutant("1b", "W-not-transposed", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W @ da
    return grad
'''),
    Mutant("1b", "off-by-one-time-index", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t])
        carry = W.T @ da
    return grad
'''),
    Mutant("1b", "off-by-one-time-index", '''
def bptt_grad(W, U, xs, h0, gs):
    # the product of Jacobians taken over i = k..t instead of k+1..t
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    grad = np.zeros((n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            J = np.eye(n)
            for i in range(k, t + 1):
                J = np.diag(hs[i] * (1 - hs[i])) @ W @ J
            grad += np.outer((gs[t - 1] @ J) * hs[k] * (1 - hs[k]), hs[k - 1])
    return grad
''', name="product-from-k"),
    Mutant("1b", "W-not-transposed", '''
def bptt_grad(W, U, xs, h0, gs):
    # explicit sum over (t, k), the Jacobian product applied to g_t from the wrong side
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    grad = np.zeros((n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            J = np.eye(n)
            for i in range(k + 1, t + 1):
                J = np.diag(hs[i] * (1 - hs[i])) @ W @ J
            grad += np.outer((J @ gs[t - 1]) * hs[k] * (1 - hs[k]), hs[k - 1])
    return grad
''', name="double-loop"),
    Mutant("1b", "off-by-one-time-index", '''
def bptt_grad(W, U, xs, h0, gs):
    # sigma' read off the state W multiplies, h_{t-1}, instead of the state it produces
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t - 1] * (1 - hs[t - 1])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return grad
''', name="sigma-prime-one-step-early"),
    Mutant("1b", "tanh-instead-of-sigmoid", '''
def bptt_grad(W, U, xs, h0, gs):
    # CS231n's rnn_step_backward, with tanh as there
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x))
    dW, dh_next = np.zeros_like(W), np.zeros(len(h0))
    for t in reversed(range(1, len(hs))):
        dtanh = (gs[t - 1] + dh_next) * (1 - hs[t] ** 2)
        dW += np.outer(dtanh, hs[t - 1])
        dh_next = W.T @ dtanh
    return dW
'''),
    Mutant("1b", "gradient-transposed", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(hs[t - 1], da)
        carry = W.T @ da
    return grad
'''),
    # ---------------------------------------------------------------- 2(a)
    Mutant("2a", "t-k-swapped", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        back = gs[t - 1]
        for k in range(t, 0, -1):
            da = back * hs[k] * (1 - hs[k])
            out[k - 1, t - 1] = np.outer(da, hs[k - 1])
            back = W.T @ da
    return out
'''),
    Mutant("2a", "sigma-prime-not-per-step", '''
def bptt_terms(W, U, xs, h0, gs):
    # the seed's claim: prod_i diag(sigma'_i) W = diag(sigma')^(t-k) W^(t-k), sigma' of step t
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        D = np.diag(hs[t] * (1 - hs[t]))
        for k in range(1, t + 1):
            J = np.linalg.matrix_power(D, t - k) @ np.linalg.matrix_power(W, t - k)
            out[t - 1, k - 1] = np.outer((gs[t - 1] @ J) * hs[k] * (1 - hs[k]), hs[k - 1])
    return out
'''),
    Mutant("2a", "sigma-prime-not-per-step", '''
def bptt_terms(W, U, xs, h0, gs):
    # one step's Jacobian diag(sigma'_t) W raised to the power t - k
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        A = np.diag(hs[t] * (1 - hs[t])) @ W
        for k in range(1, t + 1):
            J = np.linalg.matrix_power(A, t - k)
            out[t - 1, k - 1] = np.outer((gs[t - 1] @ J) * hs[k] * (1 - hs[k]), hs[k - 1])
    return out
''', name="power-of-last-step"),
    Mutant("2a", "sigma-prime-not-per-step", '''
def bptt_terms(W, U, xs, h0, gs):
    # the first Jacobian of the chain, diag(sigma'_{k+1}) W, used for every step
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            J = np.eye(n)
            if t > k:
                A = np.diag(hs[k + 1] * (1 - hs[k + 1])) @ W
                for _ in range(t - k):
                    J = A @ J
            out[t - 1, k - 1] = np.outer((gs[t - 1] @ J) * hs[k] * (1 - hs[k]), hs[k - 1])
    return out
''', name="power-of-first-step"),
    Mutant("2a", "tanh-instead-of-sigmoid", '''
def bptt_terms(W, U, xs, h0, gs):
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x))
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            J = np.eye(n)
            for i in range(k + 1, t + 1):
                J = np.diag(1 - hs[i] ** 2) @ W @ J
            out[t - 1, k - 1] = np.outer((gs[t - 1] @ J) * (1 - hs[k] ** 2), hs[k - 1])
    return out
'''),
    Mutant("2a", "W-not-transposed", '''
def bptt_terms(W, U, xs, h0, gs):
    # dL_t/dh_k built as a row vector, one step back at a time, through W where W^T belongs
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    sp = [None] + [h * (1 - h) for h in hs[1:]]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        row = gs[t - 1].copy()
        for k in range(t, 0, -1):
            out[t - 1, k - 1] = np.outer(row * sp[k], hs[k - 1])
            row = np.dot(W, row * sp[k])
    return out
'''),
    # ---------------------------------------------------------------- 2(b)
    Mutant("2b", "elementwise-power", '''
def matrix_power_eig(M, p):
    return M ** p
'''),
    Mutant("2b", "Q-transpose-instead-of-inverse", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return (Q @ np.diag(lam ** p) @ Q.T).real
'''),
    Mutant("2b", "Q-transpose-instead-of-inverse", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.conj(Q).T)   # unitary, surely
''', name="conjugate-transpose"),
    Mutant("2b", "off-by-one-power", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    L = np.diag(lam)
    for _ in range(p):
        L = L @ np.diag(lam)
    return np.real(Q @ L @ np.linalg.inv(Q))
'''),
    Mutant("2b", "off-by-one-power", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** (p - 1)) @ np.linalg.inv(Q))
''', name="p-minus-one"),
    # ---------------------------------------------------------------- 2(c)
    Mutant("2c", "zero-instead-of-small", '''
W_30 = np.zeros((2, 2))  # 0.9**30 and 0.4**30 are both negligible
'''),
    Mutant("2c", "rounded", '''
W_30 = np.round(np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30), 2)
'''),
    Mutant("2c", "rounded", '''
W_30 = np.array([[0.0153, 0.0203], [0.0203, 0.0271]])
''', name="typed-four-decimals"),
    Mutant("2c", "rounded", '''
W_30 = np.array([[0.01526, 0.02034], [0.02034, 0.02713]])   # copied from the screen, digits cut
''', name="truncated-four-significant"),
    Mutant("2c", "elementwise-power", '''
W_30 = np.array([[0.58, 0.24], [0.24, 0.72]]) ** 30
'''),
    # ---------------------------------------------------------------- 2(c) regime
    Mutant("2c-regime", "signed-eigenvalue-instead-of-modulus", '''
def gradient_regime(W):
    lam = np.linalg.eigvals(W).real
    if np.any(lam > 1 + 1e-9):
        return "exploding"
    if np.all(lam < 1 - 1e-9):
        return "vanishing"
    return "preserved"
'''),
    # ---------------------------------------------------------------- 3
    Mutant("3-step", "h-missing-tanh", '''
def lstm_step(params, x, h_prev, c_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * c}
'''),
    Mutant("3-step", "f-and-i-swapped", '''
def lstm_step(params, x, h_prev, c_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    c = i * c_prev + f * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
'''),
    Mutant("3-step", "candidate-with-sigmoid", '''
def lstm_step(params, x, h_prev, c_prev):
    f, i, o, _ = gates(params, x, h_prev)
    c_tilde = 1.0 / (1.0 + np.exp(-(params["Wc"] @ h_prev + params["Uc"] @ x)))   # a gate like the others
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}
'''),
    # ---------------------------------------------------------------- 3(b)
    Mutant("3b", "includes-non-positive-quantity", '''
ALWAYS_POSITIVE = ["f", "i", "o", "c"]
'''),
    Mutant("3b", "includes-non-positive-quantity", '''
ALWAYS_POSITIVE = ("f", "i", "o", "h")
''', name="h"),
    Mutant("3b", "includes-non-positive-quantity", '''
ALWAYS_POSITIVE = {"f_t", "i_t", "o_t", "C_t"}
''', name="spelled-with-subscripts"),
    # ---------------------------------------------------------------- 3(c)
    Mutant("3c-gates", "sigma-instead-of-derivative", '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    return {"f": f[:, None] * params["Wf"], "i": i[:, None] * params["Wi"],
            "o": o[:, None] * params["Wo"], "c_tilde": c_tilde[:, None] * params["Wc"]}
'''),
    Mutant("3c-gates", "sigma-instead-of-derivative", '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    return {"f": np.diag(f) @ params["Wf"], "i": np.diag(i) @ params["Wi"],
            "o": np.diag(o) @ params["Wo"], "c_tilde": np.diag(1 - c_tilde ** 2) @ params["Wc"]}
''', name="tanh-right"),
    Mutant("3c-cell", "forget-gate-only", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    f, i, o, c_tilde = gates(params, x, o_prev * np.tanh(c_prev))
    return np.diag(f)
'''),
    Mutant("3c-cell", "wrong-product-rule", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(1 - np.tanh(c_prev) ** 2)          # d(o * tanh C)/dC, the factor o lost
    df = np.diag(f * (1 - f)) @ params["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ params["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ params["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
'''),
    Mutant("3c-cell", "wrong-product-rule", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    # the seed's last line: d h/d C as tanh'(C), and the direct f_t term forgotten
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    tp = 1 - np.tanh(c_prev) ** 2
    return ((c_prev * f * (1 - f))[:, None] * params["Wf"] * tp
            + (c_tilde * i * (1 - i))[:, None] * params["Wi"] * tp
            + (i * (1 - c_tilde ** 2))[:, None] * params["Wc"] * tp)
''', name="seed-last-line"),
    Mutant("3c-cell", "wrong-product-rule", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    # d(i * C~)/dC taken as i * dC~/dC: the di/dC * C~ term lost
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ params["Wf"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ params["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(i) @ dct
''', name="i-term-lost"),
    Mutant("3c-cell", "wrong-product-rule", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    # d(f * C)/dC taken as C * df/dC: the f * dC/dC term lost
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ params["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ params["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ params["Wc"] @ dh
    return np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
''', name="direct-term-lost"),
    Mutant("3c-cell", "drops-tanh-derivative", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev)
    df = np.diag(f * (1 - f)) @ params["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ params["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ params["Wc"] @ dh
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct
'''),
    Mutant("3c-carousel", "sum-instead-of-product", '''
def cell_state_gradient(fs):
    J = np.zeros((fs.shape[1], fs.shape[1]))
    for f in fs:
        J = J + np.diag(f)
    return J if len(fs) else np.eye(fs.shape[1])
'''),
    Mutant("3c-carousel", "identity-regardless-of-gates", '''
def cell_state_gradient(fs):
    return np.eye(fs.shape[1])  # the constant error carousel
'''),
]


def student_module(mutant: Mutant | None) -> str:
    """The source of a whole submission: correct except for the mutant's question."""
    blocks = [PRELUDE]
    for qid, source in CORRECT.items():
        blocks.append(mutant.source if mutant is not None and mutant.qid == qid else source)
    return "\n".join(textwrap.dedent(b) for b in blocks)


def by_id(result):
    return {q.id: q for q in result.questions}


# --------------------------------------------------------------------------------------------
# the mutants through a real Session
# --------------------------------------------------------------------------------------------


def test_every_catalogue_entry_has_a_mutant():
    covered = {(m.qid, m.mistake) for m in MUTANTS}
    catalogue = {(qid, m.id) for qid, ms in MISTAKES.items() for m in ms}
    assert catalogue <= covered, sorted(catalogue - covered)


def test_the_correct_student_module_gets_full_marks(session, tmp_path):
    path = tmp_path / "student.py"
    path.write_text(student_module(None))
    result = session.grade(path)
    assert result.score == result.max_score, [(q.id, q.cases[0].message) for q in result.questions
                                              if q.score < q.max_score]
    assert all(not q.diagnosis and not q.hints for q in result.questions)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.label)
def test_mutant_is_named_and_loses_points_only_where_it_is(session, tmp_path, mutant):
    path = tmp_path / "student.py"
    path.write_text(student_module(mutant))
    questions = by_id(session.grade(path))
    target = questions[mutant.qid]
    assert target.score < target.max_score, "the mutant passed every case"
    assert mutant.mistake in target.diagnosis, (target.diagnosis,
                                                [(c.label, c.status) for c in target.cases])
    hint = next(h for h in target.hints if h.id == mutant.mistake)
    assert hint.hint and hint.cases >= 1
    assert any(mutant.mistake in c.diagnosis for c in target.cases if c.status == FAILED)
    assert all(not c.diagnosis for c in target.cases if c.status == PASSED)
    for qid, q in questions.items():
        if qid != mutant.qid:
            assert q.score == q.max_score and not q.diagnosis, (qid, q.diagnosis)


@pytest.mark.parametrize("path", ["reference", "submissions/alice_correct.ipynb", "submissions/carol_module.py"])
def test_correct_submissions_carry_no_diagnosis(session, path):
    result = session.grade(ROOT / path)
    assert result.score == result.max_score
    for q in result.questions:
        assert q.diagnosis == [] and q.hints == [], q.id
        assert all(c.diagnosis == [] for c in q.cases), q.id


def test_the_seed_notebook_is_named(session):
    """bob_seed_mistakes.ipynb holds the seed's mistakes; each is named where it costs points."""
    questions = by_id(session.grade(ROOT / "submissions" / "bob_seed_mistakes.ipynb"))
    assert "zero-instead-of-small" in questions["2c"].diagnosis
    assert "signed-eigenvalue-instead-of-modulus" in questions["2c-regime"].diagnosis
    for q in questions.values():
        if q.score == q.max_score:
            assert not q.diagnosis, q.id


# --------------------------------------------------------------------------------------------
# diagnose() itself, on every hidden case of the demo secret
# --------------------------------------------------------------------------------------------

CASES = shared_build(ASSIGNMENT, DEMO_SECRET)     # collected by every test process: the one build it shares
# The case set's memo of the variants' wrong answers, as a batch keeps it (they depend on the case
# alone): shared by the variants' tests below, which call every variant on every hidden case, so
# each is computed once, not once per variant tested, and by the test that each variant is told
# apart on a public case (each of its calls computed every variant of the question on the case
# again: 1.4 s of CPU). test_the_right_answer_is_never_diagnosed diagnoses without one.
MEMO: dict = {}
ALL_VARIANTS = [(qid, m) for qid in MISTAKES for m in MISTAKES[qid] + VARIANTS.get(qid, ())]


def _frozen(question, value):
    return frozenset(value) if question.kind == NAME_SET else value


@pytest.mark.parametrize("qid, mistake", ALL_VARIANTS,
                         ids=[f"{q}:{m.id}:{m.compute.__name__}" for q, m in ALL_VARIANTS])
def test_diagnose_names_each_variant_on_the_hidden_cases(qid, mistake):
    question = ASSIGNMENT.question(qid)
    named = 0
    for case in CASES.for_question(qid):
        wrong = _frozen(question, mistake.compute(*case.args))
        verdict = compare(question.kind, case.expected, wrong, question.tolerance, question.keys)
        found = diagnose(question, case, wrong, MEMO)
        if verdict.passed:
            continue      # the variant coincides with the right answer here: nothing to name
        assert found == [mistake.id], (case.uid, case.label, found)    # named, once, and alone
        named += 1
    assert named >= 1, "the variant is never told apart from the right answer"


def test_variants_only_add_ways_to_catalogued_mistakes():
    for qid, variants in VARIANTS.items():
        hints = {m.id: m.hint for m in MISTAKES[qid]}
        for variant in variants:
            assert hints.get(variant.id) == variant.hint, (qid, variant.id)
        question = ASSIGNMENT.question(qid)
        assert [m.id for m in question.mistakes].count(variants[0].id) >= 2


@pytest.mark.parametrize("qid", list(MISTAKES))
def test_the_right_answer_is_never_diagnosed(qid):
    question = ASSIGNMENT.question(qid)
    for case in CASES.for_question(qid):
        assert diagnose(question, case, case.expected) == [], case.uid


@pytest.mark.parametrize("qid", list(MISTAKES))
def test_each_variant_is_told_apart_on_a_public_case(qid):
    """So that the self-check (public cases only) can name it too."""
    question = ASSIGNMENT.question(qid)
    public = [c for c in CASES.for_question(qid) if c.visibility == "public"]
    for mistake in MISTAKES[qid]:
        hits = [c.uid for c in public
                if mistake.id in diagnose(question, c, _frozen(question, mistake.compute(*c.args)), MEMO)]
        assert hits, mistake.id


def test_diagnosis_never_turns_a_failure_into_a_pass(session, tmp_path):
    """A wrong answer that matches a variant keeps its failure and its zero points."""
    path = tmp_path / "student.py"
    path.write_text(student_module(next(m for m in MUTANTS if m.qid == "2c")))
    q = by_id(session.grade(path))["2c"]
    assert q.score == 0 and q.status == "failed" and q.cases[0].status == FAILED
    assert q.diagnosis == ["zero-instead-of-small"]
