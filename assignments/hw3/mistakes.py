"""Known wrong answers to HW3, one named variant per common misconception.

Each ``Mistake.compute`` takes the same arguments as the graded function of its question
(value questions: none) and returns what a student making that mistake would return, so
the grader can say "your answer matches <hint>" when a wrong answer equals a variant.
The code is written the way the mistake is made, not as "reference plus a tweak", so that
each variant is an honest model of the student's computation.

Distinguishability (the grader's case generators should respect it; tests/test_mistakes.py
checks it on generic inputs):
- 1b ``no-backprop-through-time`` and ``W-not-transposed`` equal the right answer when T = 1
  (and ``W-not-transposed`` also when W is symmetric): use T >= 2 and a non-symmetric W.
- 2a ``sigma-prime-not-per-step`` only differs for t - k >= 2: use T >= 3; ``W-not-transposed``
  equals the right answer when T = 1 or W is symmetric.
- 2b ``elementwise-power`` equals the right answer for p = 1 (and for diagonal M);
  ``Q-transpose-instead-of-inverse`` equals it when Q is orthogonal (symmetric M): use p >= 2
  and a non-symmetric M.
- 3c-carousel ``sum-instead-of-product`` equals the right answer when t - k = 1, and
  ``identity-regardless-of-gates`` when t - k = 0 or every f = 1: use t - k >= 2, f < 1.
- 2c-regime ``signed-eigenvalue-instead-of-modulus`` only differs when the eigenvalue of
  largest modulus is negative or complex (e.g. -1.5 I, a rotation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any, Callable

import numpy as np

from reference import ALWAYS_POSITIVE, W_2C, sigmoid

__all__ = ["Mistake", "MISTAKES", "VARIANTS", "NON_POSITIVE", "includes_non_positive"]


@dataclass(frozen=True)
class Mistake:
    id: str          # short, stable, kebab-case: shown in reports and used in tests
    hint: str        # names the misconception without giving the answer away
    compute: Callable[..., Any]   # same arguments as the graded function (values: none)


def _f(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# 1(a) sigmoid_jacobian(W, x)
# --------------------------------------------------------------------------------------------

def _1a_sigma_instead_of_derivative(W, x):
    W, x = _f(W), _f(x)
    return np.diag(sigmoid(W @ x)) @ W                       # sigma where sigma' belongs


def _1a_transposed(W, x):
    W, x = _f(W), _f(x)
    s = sigmoid(W @ x)
    return (np.diag(s * (1 - s)) @ W).T                      # laid out as (d, n)


def _1a_missing_activation_derivative(W, x):
    return _f(W).copy()                                      # d(Wx)/dx, the sigma forgotten


def _1a_tanh_instead_of_sigmoid(W, x):
    W, x = _f(W), _f(x)
    y = np.tanh(W @ x)                                       # the textbook RNN's tanh for sigma
    return np.diag(1 - y ** 2) @ W


# --------------------------------------------------------------------------------------------
# 1(b) bptt_grad(W, U, xs, h0, gs)
# --------------------------------------------------------------------------------------------

def _forward(W, U, xs, h0):
    W, U, xs, h0 = _f(W), _f(U), _f(xs), _f(h0)
    hs = [h0]
    for x in xs:
        hs.append(sigmoid(W @ hs[-1] + U @ x))
    return W, hs


def _1b_no_backprop_through_time(W, U, xs, h0, gs):
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    grad = np.zeros_like(W)
    for t in range(1, len(hs)):                              # only the k = t terms
        s = hs[t] * (1 - hs[t])
        grad += np.outer(gs[t - 1] * s, hs[t - 1])
    return grad


def _1b_W_not_transposed(W, U, xs, h0, gs):
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    grad = np.zeros_like(W)
    delta = np.zeros(W.shape[0])
    for t in range(len(hs) - 1, 0, -1):
        delta = delta + gs[t - 1]
        r = hs[t] * (1 - hs[t]) * delta
        grad += np.outer(r, hs[t - 1])
        delta = W @ r                                        # should go back through W^T
    return grad


def _1b_off_by_one_time_index(W, U, xs, h0, gs):
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    grad = np.zeros_like(W)
    delta = np.zeros(W.shape[0])
    for t in range(len(hs) - 1, 0, -1):
        delta = delta + gs[t - 1]
        r = hs[t] * (1 - hs[t]) * delta
        grad += np.outer(r, hs[t])                           # h_t where h_{t-1} belongs
        delta = W.T @ r
    return grad


def _1b_gradient_transposed(W, U, xs, h0, gs):
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    grad = np.zeros_like(W)
    delta = np.zeros(W.shape[0])
    for t in range(len(hs) - 1, 0, -1):
        delta = delta + gs[t - 1]
        r = hs[t] * (1 - hs[t]) * delta
        grad += np.outer(hs[t - 1], r)                       # laid out as d/dW^T
        delta = W.T @ r
    return grad


def _tanh_forward(W, U, xs, h0):
    W, U, xs, h0 = _f(W), _f(U), _f(xs), _f(h0)
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x))               # CS231n's, d2l's, Karpathy's RNN
    return W, hs


def _1b_tanh_instead_of_sigmoid(W, U, xs, h0, gs):
    W, hs = _tanh_forward(W, U, xs, h0)
    gs = _f(gs)
    grad = np.zeros_like(W)
    delta = np.zeros(W.shape[0])
    for t in range(len(hs) - 1, 0, -1):
        delta = delta + gs[t - 1]
        r = (1 - hs[t] ** 2) * delta                         # tanh' = 1 - h^2 where sigma' belongs
        grad += np.outer(r, hs[t - 1])
        delta = W.T @ r
    return grad


# --------------------------------------------------------------------------------------------
# 2(a) bptt_terms(W, U, xs, h0, gs)
# --------------------------------------------------------------------------------------------

def _term_table(W, U, xs, h0, gs, swap=False, frozen_sigma=False):
    """Student-style double loop over (t, k) building dh_t/dh_k as an explicit product."""
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    T, n = len(hs) - 1, W.shape[0]
    sp = [None] + [h * (1 - h) for h in hs[1:]]              # sp[i] = sigma' at step i
    terms = np.zeros((T, T, n, n))
    step = [None] + [np.diag(sp[i]) @ W for i in range(1, T + 1)]    # dh_i/dh_{i-1}
    chain = {}                                               # k -> dh_t/dh_k for the current t
    for t in range(1, T + 1):
        for k in range(1, t):
            chain[k] = step[t] @ chain[k]                    # later steps on the left
        chain[t] = np.eye(n)
        for k in range(1, t + 1):
            if frozen_sigma:                                 # diag(sigma'_t)^(t-k) W^(t-k)
                dh = (np.linalg.matrix_power(np.diag(sp[t]), t - k)
                      @ np.linalg.matrix_power(W, t - k))
            else:
                dh = chain[k]
            row = gs[t - 1] @ dh                             # dL_t/dh_k
            term = np.outer(row * sp[k], hs[k - 1])          # times d+h_k/dW
            if swap:
                terms[k - 1, t - 1] = term
            else:
                terms[t - 1, k - 1] = term
    return terms


def _2a_W_not_transposed(W, U, xs, h0, gs):
    # g_t^T dh_t/dh_k carried back one step at a time through W instead of W^T
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    T, n = len(hs) - 1, W.shape[0]
    terms = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        back = gs[t - 1]
        for k in range(t, 0, -1):
            r = hs[k] * (1 - hs[k]) * back
            terms[t - 1, k - 1] = np.outer(r, hs[k - 1])
            back = W @ r                                     # should go back through W^T
    return terms


def _2a_tanh_instead_of_sigmoid(W, U, xs, h0, gs):
    W, hs = _tanh_forward(W, U, xs, h0)
    gs = _f(gs)
    T, n = len(hs) - 1, W.shape[0]
    terms = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        back = gs[t - 1]
        for k in range(t, 0, -1):
            r = (1 - hs[k] ** 2) * back
            terms[t - 1, k - 1] = np.outer(r, hs[k - 1])
            back = W.T @ r
    return terms


def _2a_t_k_swapped(W, U, xs, h0, gs):
    return _term_table(W, U, xs, h0, gs, swap=True)


def _2a_sigma_prime_not_per_step(W, U, xs, h0, gs):
    return _term_table(W, U, xs, h0, gs, frozen_sigma=True)


# --------------------------------------------------------------------------------------------
# 2(b) matrix_power_eig(M, p)
# --------------------------------------------------------------------------------------------

def _2b_elementwise_power(M, p):
    return _f(M) ** int(p)                                   # entries raised, not the matrix


def _2b_Q_transpose_instead_of_inverse(M, p):
    lam, Q = np.linalg.eig(_f(M))
    return np.real(Q @ np.diag(lam ** int(p)) @ Q.T)         # Q^T = Q^-1 only if Q is orthogonal


def _2b_off_by_one_power(M, p):
    # Rule: the student starts the product from Lambda instead of from I and still multiplies
    # p times, so always gets M^(p+1) -- defined for every p >= 0, including p = 0.
    lam, Q = np.linalg.eig(_f(M))
    D = np.diag(lam)
    for _ in range(int(p)):
        D = D @ np.diag(lam)
    return np.real(Q @ D @ np.linalg.inv(Q))


# --------------------------------------------------------------------------------------------
# 2(c) W_30 (value) and gradient_regime(W)
# --------------------------------------------------------------------------------------------

def _2c_zero_instead_of_small():
    return np.zeros((2, 2))                                  # 0.9^30 ~ 0.04 is not 0


def _2c_rounded():
    return np.round(np.linalg.matrix_power(np.array(W_2C), 30), 2)


def _2c_elementwise_power():
    return np.array(W_2C) ** 30


def _2c_regime_signed_eigenvalue(W):
    lam = np.linalg.eigvals(_f(W))
    top = float(np.max(lam.real))                            # largest signed value, not modulus
    if abs(top - 1.0) <= 1e-9:
        return "preserved"
    return "vanishing" if top < 1.0 else "exploding"


# --------------------------------------------------------------------------------------------
# 3 lstm_step(params, x, h_prev, c_prev)
# --------------------------------------------------------------------------------------------

def _gates(params, x, h_prev):
    P = {k: _f(v) for k, v in params.items()}
    x, h_prev = _f(x), _f(h_prev)
    f = sigmoid(P["Wf"] @ h_prev + P["Uf"] @ x)
    i = sigmoid(P["Wi"] @ h_prev + P["Ui"] @ x)
    o = sigmoid(P["Wo"] @ h_prev + P["Uo"] @ x)
    c_tilde = np.tanh(P["Wc"] @ h_prev + P["Uc"] @ x)
    return P, f, i, o, c_tilde


def _3_h_missing_tanh(params, x, h_prev, c_prev):
    _, f, i, o, c_tilde = _gates(params, x, h_prev)
    c = f * _f(c_prev) + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * c}


def _3_candidate_with_sigmoid(params, x, h_prev, c_prev):
    P, f, i, o, _ = _gates(params, x, h_prev)
    c_tilde = sigmoid(P["Wc"] @ _f(h_prev) + P["Uc"] @ _f(x))   # the gates' sigmoid, not tanh
    c = f * _f(c_prev) + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}


def _3_f_and_i_swapped(params, x, h_prev, c_prev):
    _, f, i, o, c_tilde = _gates(params, x, h_prev)
    c = i * _f(c_prev) + f * c_tilde                         # forget gate doing the input gate's job
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * np.tanh(c)}


# --------------------------------------------------------------------------------------------
# 3(b) ALWAYS_POSITIVE (value)
# --------------------------------------------------------------------------------------------

#: Quantities that can be negative; an answer naming any of them is this mistake.
NON_POSITIVE = frozenset({"c_tilde", "c", "h"})


def includes_non_positive(answer_set) -> bool:
    """True when a 3(b) answer names a quantity that can be negative (c_tilde, c or h).

    Names are compared after stripping whitespace and lower-casing, and the usual spellings of
    the same quantity count too ("C_t", "h_{t}", "C~", "tilde C", "cell state"); a single string
    is one name (not its characters); anything that is not a collection of names is not this mistake.
    """
    if isinstance(answer_set, str):
        answer_set = (answer_set,)
    if not isinstance(answer_set, Iterable):
        return False
    try:
        names = {_quantity(str(a)) for a in answer_set}
    except TypeError:
        return False
    return bool(names & NON_POSITIVE)


def _quantity(name: str) -> str:
    """A 3(b) name in the contract's spelling where it is recognisably one of the quantities."""
    name = re.sub(r"[\s{}$\\]", "", name.lower())
    if "tilde" in name or "~" in name or "\u0303" in name or name == "candidate":
        return "c_tilde"
    name = re.sub(r"(?:_t|\(t\))$", "", name)
    return {"cell": "c", "cellstate": "c", "cell_state": "c", "hidden": "h", "hiddenstate": "h",
            "hidden_state": "h"}.get(name, name)


def _3b_includes_non_positive():
    return frozenset(ALWAYS_POSITIVE | {"c"})                # C_t = f C_{t-1} + i C~ can be < 0


# --------------------------------------------------------------------------------------------
# 3(c) lstm_gate_jacobians, lstm_cell_jacobian, cell_state_gradient
# --------------------------------------------------------------------------------------------

def _3c_gates_sigma_instead_of_derivative(params, x, h_prev):
    P, f, i, o, c_tilde = _gates(params, x, h_prev)
    return {                                                  # activation where its derivative belongs
        "f": np.diag(f) @ P["Wf"],
        "i": np.diag(i) @ P["Wi"],
        "o": np.diag(o) @ P["Wo"],
        "c_tilde": np.diag(c_tilde) @ P["Wc"],
    }


def _cell_parts(params, x, c_prev, o_prev):
    c_prev, o_prev = _f(c_prev), _f(o_prev)
    h_prev = o_prev * np.tanh(c_prev)
    P, f, i, _, c_tilde = _gates(params, x, h_prev)
    gates = (np.diag(c_prev * f * (1 - f)) @ P["Wf"]
             + np.diag(c_tilde * i * (1 - i)) @ P["Wi"]
             + np.diag(i * (1 - c_tilde ** 2)) @ P["Wc"])
    return c_prev, o_prev, f, gates


def _3c_cell_forget_gate_only(params, x, c_prev, o_prev):
    _, _, f, _ = _cell_parts(params, x, c_prev, o_prev)
    return np.diag(f)                                        # the paths through the gates dropped


def _3c_cell_wrong_product_rule(params, x, c_prev, o_prev):
    # The seed submission's derivation: d h_{t-1}/d C_{t-1} written as
    # "d o_{t-1}/d C_{t-1} * C_{t-1} + tanh'" -- the product rule applied to o * tanh(C) with the
    # factor o_{t-1} lost from the second term (and C for tanh C in the first, which is 0 here
    # because o_{t-1} does not depend on C_{t-1}). Net effect: diag(tanh'(C)) instead of
    # diag(o_{t-1} tanh'(C)).
    c_prev, _, f, gates = _cell_parts(params, x, c_prev, o_prev)
    return np.diag(f) + gates @ np.diag(1 - np.tanh(c_prev) ** 2)


def _3c_cell_drops_tanh_derivative(params, x, c_prev, o_prev):
    # d(o * tanh C)/dC taken as diag(o): the chain rule stops at the outer product.
    _, o_prev, f, gates = _cell_parts(params, x, c_prev, o_prev)
    return np.diag(f) + gates @ np.diag(o_prev)


def _3c_carousel_sum(fs):
    return np.diag(np.sum(_f(fs), axis=0))                   # Jacobians of a chain multiply


def _3c_carousel_identity(fs):
    return np.eye(_f(fs).shape[1])                           # only true when every f = 1


# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------

MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "1a": (
        Mistake("sigma-instead-of-derivative",
                "The Jacobian needs the derivative of the activation at Wx, not the activation "
                "value itself.", _1a_sigma_instead_of_derivative),
        Mistake("transposed",
                "Check the layout: row j of dy/dx should hold the derivatives of y_j, so the "
                "result is (n, d).", _1a_transposed),
        Mistake("missing-activation-derivative",
                "This is the Jacobian of the linear map Wx alone; y = sigma(Wx) also passes "
                "through the sigmoid.", _1a_missing_activation_derivative),
        Mistake("tanh-instead-of-sigmoid",
                "This is the derivative of tanh (1 - y^2); the activation here is the logistic "
                "sigmoid, whose derivative is another function of y.", _1a_tanh_instead_of_sigmoid),
    ),
    "1b": (
        Mistake("no-backprop-through-time",
                "Only the immediate dependence of each h_t on W is counted; W also reaches h_t "
                "through every earlier hidden state.", _1b_no_backprop_through_time),
        Mistake("W-not-transposed",
                "The gradient flowing from h_t back to h_{t-1} is propagated with the wrong "
                "orientation of the recurrent matrix.", _1b_W_not_transposed),
        Mistake("off-by-one-time-index",
                "In the immediate derivative of h_t with respect to W, check which hidden state "
                "W actually multiplies at step t.", _1b_off_by_one_time_index),
        Mistake("gradient-transposed",
                "Entry [a, b] of dL/dW must be the derivative with respect to W[a, b]; this "
                "layout is the transpose of that.", _1b_gradient_transposed),
        Mistake("tanh-instead-of-sigmoid",
                "This is backpropagation through an RNN with tanh, as in many textbooks; this "
                "homework's RNN uses the logistic sigmoid, for the hidden states and their "
                "derivatives alike.", _1b_tanh_instead_of_sigmoid),
    ),
    "2a": (
        Mistake("t-k-swapped",
                "The terms are stored with the two time indices exchanged; entry [t-1, k-1] is "
                "the term of loss L_t reaching back to step k.", _2a_t_k_swapped),
        Mistake("sigma-prime-not-per-step",
                "The product of the per-step Jacobians was collapsed into powers, but each step "
                "has its own sigma' and the factors do not commute.", _2a_sigma_prime_not_per_step),
        Mistake("W-not-transposed",
                "The gradient flowing from h_t back to h_{t-1} is propagated with the wrong "
                "orientation of the recurrent matrix.", _2a_W_not_transposed),
        Mistake("tanh-instead-of-sigmoid",
                "This is backpropagation through an RNN with tanh, as in many textbooks; this "
                "homework's RNN uses the logistic sigmoid, for the hidden states and their "
                "derivatives alike.", _2a_tanh_instead_of_sigmoid),
    ),
    "2b": (
        Mistake("elementwise-power",
                "Raising each entry to the power p is not the matrix power.",
                _2b_elementwise_power),
        Mistake("Q-transpose-instead-of-inverse",
                "The transpose of the eigenvector matrix stands in for its inverse, which only "
                "works for an orthogonal Q.", _2b_Q_transpose_instead_of_inverse),
        Mistake("off-by-one-power",
                "The result is one power off: check where the repeated multiplication starts "
                "and how often it runs (p = 0 must give the identity).", _2b_off_by_one_power),
    ),
    "2c": (
        Mistake("zero-instead-of-small",
                "W^30 is small, but no entry is zero: look at what the largest eigenvalue "
                "raised to the 30th power gives.", _2c_zero_instead_of_small),
        Mistake("rounded",
                "The entries were rounded or cut short; give them to full precision.",
                _2c_rounded),
        Mistake("elementwise-power",
                "Raising each entry to the 30th power is not the matrix power.",
                _2c_elementwise_power),
    ),
    "2c-regime": (
        Mistake("signed-eigenvalue-instead-of-modulus",
                "Negative and complex eigenvalues also grow or shrink under repeated "
                "multiplication; compare the size of each eigenvalue with 1, not its signed "
                "value.", _2c_regime_signed_eigenvalue),
    ),
    "3-step": (
        Mistake("h-missing-tanh",
                "The hidden state is the output gate applied to a squashed cell state, not to "
                "the raw cell state.", _3_h_missing_tanh),
        Mistake("f-and-i-swapped",
                "The forget and input gates have exchanged roles in the cell-state update.",
                _3_f_and_i_swapped),
        Mistake("candidate-with-sigmoid",
                "The candidate cell state C~_t is squashed like a gate here; it is a proposed value, "
                "not a fraction, and must be able to be negative.", _3_candidate_with_sigmoid),
    ),
    "3b": (
        Mistake("includes-non-positive-quantity",
                "Only quantities that come out of a sigmoid are guaranteed positive; a tanh "
                "output, or a sum containing one, can be negative.", _3b_includes_non_positive),
    ),
    "3c-gates": (
        Mistake("sigma-instead-of-derivative",
                "Each gate Jacobian needs the derivative of its activation at the "
                "pre-activation, not the gate value itself.", _3c_gates_sigma_instead_of_derivative),
    ),
    "3c-cell": (
        Mistake("forget-gate-only",
                "This is only the direct path; C_{t-1} also reaches C_t through h_{t-1} and the "
                "gates that depend on it.", _3c_cell_forget_gate_only),
        Mistake("wrong-product-rule",
                "A product was differentiated with a term or a factor lost: in f * C_{t-1}, "
                "i * C~_t and h_{t-1} = o_{t-1} * tanh(C_{t-1}), apply the product and chain "
                "rules term by term.", _3c_cell_wrong_product_rule),
        Mistake("drops-tanh-derivative",
                "The derivative of h_{t-1} with respect to C_{t-1} stops before the tanh: the "
                "chain rule needs one more factor.", _3c_cell_drops_tanh_derivative),
    ),
    "3c-carousel": (
        Mistake("sum-instead-of-product",
                "Jacobians along a chain of steps combine by multiplication, not addition.",
                _3c_carousel_sum),
        Mistake("identity-regardless-of-gates",
                "The identity is the special case in which every forget gate is 1; in general "
                "the forget gates along the way matter.", _3c_carousel_identity),
    ),
}


# --------------------------------------------------------------------------------------------
# other ways of making the same mistakes
# --------------------------------------------------------------------------------------------
#
# One misconception can be coded in several ways that give different numbers (an off-by-one
# power can go up or down; "rounded" can mean two decimals or four significant figures). Each
# entry below is another computation for an id that is already in MISTAKES, with that entry's
# hint, so that mutants written independently of this file are named too. MISTAKES keeps one
# canonical variant per id; the registry (assignments/hw3/__init__.py) hands both to the engine,
# and the engine names an id once per case however many of its variants match.

def _1b_product_from_k(W, U, xs, h0, gs):
    # dh_t/dh_k taken as the product over i = k..t instead of k+1..t: one Jacobian too many.
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    T, n = len(hs) - 1, W.shape[0]
    grad = np.zeros((n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            dh = np.eye(n)
            for i in range(k, t + 1):
                dh = np.diag(hs[i] * (1 - hs[i])) @ W @ dh
            grad += np.outer((gs[t - 1] @ dh) * hs[k] * (1 - hs[k]), hs[k - 1])
    return grad


def _1b_sigma_prime_one_step_early(W, U, xs, h0, gs):
    # sigma' at step t taken from h_{t-1} (the state W multiplies) instead of from h_t.
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    grad = np.zeros_like(W)
    delta = np.zeros(W.shape[0])
    for t in range(len(hs) - 1, 0, -1):
        delta = delta + gs[t - 1]
        r = hs[t - 1] * (1 - hs[t - 1]) * delta
        grad += np.outer(r, hs[t - 1])
        delta = W.T @ r
    return grad


def _1b_jacobian_from_the_wrong_side(W, U, xs, h0, gs):
    # g_t^T (dh_t/dh_k) computed as (dh_t/dh_k) g_t: the Jacobian product not transposed.
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    T, n = len(hs) - 1, W.shape[0]
    grad = np.zeros((n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            dh = np.eye(n)
            for i in range(k + 1, t + 1):
                dh = np.diag(hs[i] * (1 - hs[i])) @ W @ dh
            grad += np.outer((dh @ gs[t - 1]) * hs[k] * (1 - hs[k]), hs[k - 1])
    return grad


def _2a_power_of_last_step(W, U, xs, h0, gs):
    # dh_t/dh_k taken as (diag(sigma'_t) W)^(t-k): step t's Jacobian repeated.
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    T, n = len(hs) - 1, W.shape[0]
    terms = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        step = np.diag(hs[t] * (1 - hs[t])) @ W
        for k in range(1, t + 1):
            row = gs[t - 1] @ np.linalg.matrix_power(step, t - k)
            terms[t - 1, k - 1] = np.outer(row * hs[k] * (1 - hs[k]), hs[k - 1])
    return terms


def _2a_power_of_first_step(W, U, xs, h0, gs):
    # dh_t/dh_k taken as (diag(sigma'_{k+1}) W)^(t-k): the first Jacobian of the chain repeated.
    W, hs = _forward(W, U, xs, h0)
    gs = _f(gs)
    T, n = len(hs) - 1, W.shape[0]
    terms = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            first = np.diag(hs[min(k + 1, t)] * (1 - hs[min(k + 1, t)])) @ W
            row = gs[t - 1] @ np.linalg.matrix_power(first, t - k)
            terms[t - 1, k - 1] = np.outer(row * hs[k] * (1 - hs[k]), hs[k - 1])
    return terms


def _2b_Q_conjugate_transpose(M, p):
    lam, Q = np.linalg.eig(_f(M))
    return np.real(Q @ np.diag(lam ** int(p)) @ Q.conj().T)  # Q^H = Q^-1 only if Q is unitary


def _2b_power_minus_one(M, p):
    lam, Q = np.linalg.eig(_f(M))
    lam = lam.astype(np.complex128)
    return np.real(Q @ np.diag(lam ** (int(p) - 1)) @ np.linalg.inv(Q))   # M^(p-1)


def _2c_shortened(digits: int, significant: bool, truncate: bool) -> Callable[[], np.ndarray]:
    """W^30 given to `digits` decimals (or significant figures), rounded or cut off."""
    def compute():
        exact = np.linalg.matrix_power(np.array(W_2C), 30)
        if significant:
            shift = digits - 1 - np.floor(np.log10(np.abs(exact)))
        else:
            shift = np.full(exact.shape, float(digits))
        scaled = exact * 10.0 ** shift
        return (np.trunc(scaled) if truncate else np.round(scaled)) / 10.0 ** shift
    compute.__name__ = (f"_2c_{'truncated' if truncate else 'rounded'}_to_{digits}_"
                        f"{'significant' if significant else 'decimals'}")
    return compute


def _2c_shortened_variants() -> tuple[Callable[[], np.ndarray], ...]:
    """Every hand-copied W^30 that is neither zero (its own mistake) nor right to 1e-6."""
    exact = np.linalg.matrix_power(np.array(W_2C), 30)
    found = []
    for truncate in (False, True):
        for significant, most in ((False, 8), (True, 6)):
            for digits in range(1, most + 1):
                compute = _2c_shortened(digits, significant, truncate)
                value = compute()
                if not np.any(value) or np.allclose(value, exact, rtol=1e-6, atol=0):
                    continue
                if any(np.array_equal(value, other()) for other in found):
                    continue
                found.append(compute)
    return tuple(found)


def _1a_tanh_derivative_of_sigmoid(W, x):
    W, x = _f(W), _f(x)
    y = sigmoid(W @ x)
    return np.diag(1 - y ** 2) @ W                           # tanh's 1 - y^2 for sigma's y(1 - y)


def _3c_gates_sigma_only(params, x, h_prev):
    P, f, i, o, c_tilde = _gates(params, x, h_prev)
    return {                                                  # the sigmoid gates wrong, tanh right
        "f": np.diag(f) @ P["Wf"],
        "i": np.diag(i) @ P["Wi"],
        "o": np.diag(o) @ P["Wo"],
        "c_tilde": np.diag(1 - c_tilde ** 2) @ P["Wc"],
    }


def _cell_paths(params, x, c_prev, o_prev, lose_o=False):
    """The three gate paths of dC_t/dC_{t-1}, each already multiplied by dh_{t-1}/dC_{t-1}.

    `lose_o`: dh_{t-1}/dC_{t-1} taken as tanh'(C_{t-1}), the factor o_{t-1} lost.
    """
    c_prev, o_prev = _f(c_prev), _f(o_prev)
    h_prev = o_prev * np.tanh(c_prev)
    P, f, i, _, c_tilde = _gates(params, x, h_prev)
    dh = np.diag((1.0 if lose_o else o_prev) * (1 - np.tanh(c_prev) ** 2))
    via_f = np.diag(c_prev * f * (1 - f)) @ P["Wf"] @ dh
    via_i = np.diag(c_tilde * i * (1 - i)) @ P["Wi"] @ dh
    via_c = np.diag(i * (1 - c_tilde ** 2)) @ P["Wc"] @ dh
    return f, via_f, via_i, via_c


def _3c_cell_drops_f_product_term(params, x, c_prev, o_prev):
    f, _, via_i, via_c = _cell_paths(params, x, c_prev, o_prev)
    return np.diag(f) + via_i + via_c             # d(f * C)/dC taken as diag(f) alone


def _3c_cell_drops_i_product_term(params, x, c_prev, o_prev):
    f, via_f, _, via_c = _cell_paths(params, x, c_prev, o_prev)
    return np.diag(f) + via_f + via_c             # d(i * C~)/dC taken as i * dC~/dC alone


def _3c_cell_drops_c_tilde_product_term(params, x, c_prev, o_prev):
    f, via_f, via_i, _ = _cell_paths(params, x, c_prev, o_prev)
    return np.diag(f) + via_f + via_i             # d(i * C~)/dC taken as C~ * di/dC alone


def _3c_cell_drops_direct_term(params, x, c_prev, o_prev):
    _, via_f, via_i, via_c = _cell_paths(params, x, c_prev, o_prev)
    return via_f + via_i + via_c                  # d(f * C)/dC without its f * dC/dC term


def _3c_cell_seed_last_line(params, x, c_prev, o_prev):
    # The seed's final line: the direct term gone and d h_{t-1}/d C_{t-1} taken as tanh'(C_{t-1}).
    _, via_f, via_i, via_c = _cell_paths(params, x, c_prev, o_prev, lose_o=True)
    return via_f + via_i + via_c


def _same(qid: str, mid: str, *computes: Callable[..., Any]) -> tuple[Mistake, ...]:
    """More computations for the catalogued mistake `mid` of `qid`, with its id and hint."""
    entry = next(m for m in MISTAKES[qid] if m.id == mid)
    return tuple(Mistake(entry.id, entry.hint, compute) for compute in computes)


VARIANTS: dict[str, tuple[Mistake, ...]] = {
    "1a": _same("1a", "tanh-instead-of-sigmoid", _1a_tanh_derivative_of_sigmoid),
    "1b": (_same("1b", "off-by-one-time-index", _1b_product_from_k, _1b_sigma_prime_one_step_early)
           + _same("1b", "W-not-transposed", _1b_jacobian_from_the_wrong_side)),
    "2a": _same("2a", "sigma-prime-not-per-step", _2a_power_of_last_step, _2a_power_of_first_step),
    "2b": (_same("2b", "Q-transpose-instead-of-inverse", _2b_Q_conjugate_transpose)
           + _same("2b", "off-by-one-power", _2b_power_minus_one)),
    "2c": _same("2c", "rounded", *_2c_shortened_variants()),
    "3c-gates": _same("3c-gates", "sigma-instead-of-derivative", _3c_gates_sigma_only),
    "3c-cell": _same("3c-cell", "wrong-product-rule", _3c_cell_drops_f_product_term,
                     _3c_cell_drops_i_product_term, _3c_cell_drops_c_tilde_product_term,
                     _3c_cell_drops_direct_term, _3c_cell_seed_last_line),
}
