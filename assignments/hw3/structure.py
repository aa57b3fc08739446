"""Where an answer to HW3 goes wrong, by the structure of the question (not by a list of formulas).

The engine (`grader.diagnose.locate`) applies what this module declares:

* **Probes**: inputs derived from a case that isolate one part of the computation.
  1(b): the same sequence cut to T = 1 (only the immediate term ∂⁺h_1/∂W, nothing flows back).
  2(b): the same matrix to the power 1 (then Q Λ Q⁻¹ must give M back: the basis and its inverse alone).
  3(c) carousel: the first step of the chain alone (t − k = 1: no combining of steps).
  3(c) cell Jacobian: the gate weights Wf, Wi, Wo, Wc switched off (then ∂C_t/∂C_{t−1} is the direct
  term diag(f_t) alone: every gate path goes through h_{t−1} and those weights, a wrong one too).
* **Blocks**: 2(a)'s answer is indexed by (t, k): the engine says which blocks are wrong.
* **Families** of mistakes, generated from the structure:
  - `sigma-prime-not-per-step` (2(a)): term (t, k) holds t − k Jacobian factors diag(σ′_i) W,
    i = k+1..t, and the local factor σ′_k of ∂⁺h_k/∂W; the family is every way of taking σ′ at one
    fixed step (the last step t, the first factor's step k+1, or k) for the factors, with the local
    factor at its own step or at that same step. These are generated variants (computed on the
    public cases at kit build time, like the catalogue's).
  - `wrong-product-rule` (3(c)): the right answer is diag(f_t) + (P_f + P_i + P_c) D with the
    three gate paths P and the diagonal D = ∂h_{t−1}/∂C_{t−1} = diag(o_{t−1} ⊙ tanh′(C_{t−1})). An
    answer that has this shape with some other diagonal D, or with a path or the direct term
    dropped (a product rule with a term or a factor lost), is fitted by least squares column by
    column, whatever formula produced it; the fit names which parts are wrong. The mistake is named
    only when a term was dropped or D is what a misapplied product or chain rule gives (a factor of
    o_{t−1} ⊙ tanh′(C_{t−1}) lost, the seed's C + tanh′, ...); any other D (o_t for o_{t−1}, tanh′
    at C_t, the opposite sign) is told where it goes wrong and named after nothing.

Plain numpy; the reference is used for the pieces of the right answer only on the trusted side.
"""
from __future__ import annotations

from itertools import product

import numpy as np

from grader.spec import Finding, Mistake, ProbeInput, Tolerance

from reference import sigmoid

# ------------------------------------------------------------------------------------------------
# Probes


# Every where-sentence this module can produce, for the translation catalogs (grader.i18n).
T1_RIGHT = ("right for T = 1 and wrong for longer sequences: what flows back from later steps through W is wrong")
T1_WRONG = "already wrong for T = 1: the immediate term of ∂h_1/∂W is wrong"
GATES_OFF_RIGHT = ("the direct term diag(f_t) is right (checked with the gate weights switched off); "
                   "the paths through the gates are wrong")
GATES_OFF_WRONG = ("the direct term diag(f_t) is already wrong (checked with the gate weights switched off, "
                   "where it is the whole answer)")
NO_PATHS = "the paths through the gates (via h_{t−1}) are missing"
NO_DIRECT = "the direct term diag(f_t) of ∂C_t/∂C_{t−1} is missing"
PATH_MISSING = {0: "the path through f_t is missing", 1: "the path through i_t is missing",
                2: "the path through C̃_t is missing"}
WRONG_DH = "∂h_{t−1}/∂C_{t−1} is wrong: differentiate o_{t−1} ⊙ tanh(C_{t−1}) with the product and chain rules"
P1_RIGHT = "right for p = 1 and wrong for larger powers: check how Λ is raised to the power p"
P1_WRONG = ("already wrong for p = 1, where Q Λ Q⁻¹ must give back M itself: check the eigenvector matrix "
            "and its inverse")
ONE_STEP_RIGHT = ("right for a single step (t − k = 1) and wrong for longer chains: check how the steps combine")
ONE_STEP_WRONG = "already wrong for a single step (t − k = 1)"
SENTENCES = (T1_RIGHT, T1_WRONG, GATES_OFF_RIGHT, GATES_OFF_WRONG, NO_PATHS, NO_DIRECT, *PATH_MISSING.values(),
             WRONG_DH, P1_RIGHT, P1_WRONG, ONE_STEP_RIGHT, ONE_STEP_WRONG)


def bptt_probes(args: tuple) -> list[ProbeInput]:
    """1(b): the same RNN on the first step only (T = 1), when the case is longer than that."""
    W, U, xs, h0, gs = args
    if np.asarray(xs).shape[0] < 2:
        return []
    return [ProbeInput("T=1", (W, U, np.array(xs[:1]), h0, np.array(gs[:1])), right=T1_RIGHT, wrong=T1_WRONG)]


def cell_probes(args: tuple) -> list[ProbeInput]:
    """3(c): the gate weights switched off: the answer must then be diag(f_t). All four, Wo too: no
    path of ∂C_t/∂C_{t−1} goes through o_t, but an answer that adds one has the direct term right."""
    params, x, c_prev, o_prev = args
    off = {k: (np.zeros_like(np.asarray(v, dtype=np.float64)) if k in ("Wf", "Wi", "Wo", "Wc") else v)
           for k, v in params.items()}
    return [ProbeInput("gate weights off", (off, x, c_prev, o_prev), right=GATES_OFF_RIGHT, wrong=GATES_OFF_WRONG)]


def power_probes(args: tuple) -> list[ProbeInput]:
    """2(b): the same matrix to the power 1 (Q Λ Q⁻¹ = M), when the case's power is larger."""
    M, p = args
    if int(p) <= 1:
        return []
    return [ProbeInput("p=1", (M, 1), right=P1_RIGHT, wrong=P1_WRONG)]


def carousel_probes(args: tuple) -> list[ProbeInput]:
    """3(c) carousel: the first step of the chain alone (t − k = 1), when the chain is longer."""
    (fs,) = args
    fs = np.asarray(fs, dtype=np.float64)
    if fs.ndim != 2 or fs.shape[0] < 2:
        return []
    return [ProbeInput("t−k=1", (np.ascontiguousarray(fs[:1]),), right=ONE_STEP_RIGHT, wrong=ONE_STEP_WRONG)]


TERM_BLOCKS = ("t", "k")

# ------------------------------------------------------------------------------------------------
# 2(a): the family of "σ′ not taken at its own step"


def _forward(W, U, xs, h0):
    W, U, xs, h0 = (np.asarray(a, dtype=np.float64) for a in (W, U, xs, h0))
    hs = [h0]
    for x in xs:
        hs.append(sigmoid(W @ hs[-1] + U @ x))
    return W, hs


def _terms(W, U, xs, h0, gs, factor_step, local_step) -> np.ndarray:
    """Term (t, k) = g_tᵀ Π_{i=t..k+1} diag(σ′_{s(i)}) W · diag(σ′_{l}) h_{k−1}ᵀ with the steps
    s(i) = factor_step(i, t, k) and l = local_step(k, t); both identity = the right answer.

    Every term at once, a factor at a time: the j-th factor (i = t − j) of all the terms that have
    one is one batched product, T − 1 of them in all, where term by term a T = 40 case takes
    10,660 small products (for each of the family's 11 members: diagnosing one wrong answer took
    ~0.3 s). The step rules take arrays of i, t and k."""
    W, hs = _forward(W, U, xs, h0)
    gs = np.asarray(gs, dtype=np.float64)
    T, n = len(hs) - 1, W.shape[0]
    H = np.array(hs)
    sp = H * (1 - H)                        # sp[i] = σ′ at step i (row 0, h_0's, is never used)
    t, k = np.tril_indices(T)
    t, k = t + 1, k + 1                     # every term (t, k), 1 <= k <= t <= T
    v = gs[t - 1].copy()
    for j in range(T - 1):
        has = np.flatnonzero(t - j > k)     # the terms with a factor at i = t - j
        ts, ks = t[has], k[has]
        v[has] = (sp[factor_step(ts - j, ts, ks)] * v[has]) @ W      # row by row: W.T @ (σ′ * v)
    terms = np.zeros((T, T, n, n))
    terms[t - 1, k - 1] = (sp[local_step(k, t)] * v)[:, :, None] * H[k - 1][:, None, :]
    return terms


FACTOR_STEPS = {"last step t": lambda i, t, k: t, "step k+1": lambda i, t, k: np.minimum(k + 1, t),
                "step k": lambda i, t, k: k, "own step": lambda i, t, k: i}
LOCAL_STEPS = {"own step": lambda k, t: k, "last step t": lambda k, t: t, "step k+1": lambda k, t: np.minimum(k + 1, t)}


def sigma_prime_family(mistake_id: str, hint: str) -> tuple[Mistake, ...]:
    """Every "σ′ at one fixed step" variant of 2(a) (the right answer itself excluded)."""
    family = []
    for (fname, factor), (lname, local) in product(FACTOR_STEPS.items(), LOCAL_STEPS.items()):
        if fname == "own step" and lname == "own step":
            continue

        def compute(W, U, xs, h0, gs, factor=factor, local=local):
            return _terms(W, U, xs, h0, gs, factor, local)

        compute.__name__ = f"_2a_sigma_prime_factors_at_{fname}_local_at_{lname}".replace(" ", "_").replace("+", "plus")
        family.append(Mistake(mistake_id, hint, compute))
    return tuple(family)


# ------------------------------------------------------------------------------------------------
# 3(c): fitting the answer to "direct term + gate paths · some diagonal"

PRODUCT_RULE_HINT = ("A product was differentiated with a term or a factor lost: in f * C_{t-1}, i * C~_t and "
                     "h_{t-1} = o_{t-1} * tanh(C_{t-1}), apply the product and chain rules term by term.")


def _cell_pieces(params, x, c_prev, o_prev):
    P = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x, c_prev, o_prev = (np.asarray(a, dtype=np.float64) for a in (x, c_prev, o_prev))
    h_prev = o_prev * np.tanh(c_prev)
    f = sigmoid(P["Wf"] @ h_prev + P["Uf"] @ x)
    i = sigmoid(P["Wi"] @ h_prev + P["Ui"] @ x)
    c_tilde = np.tanh(P["Wc"] @ h_prev + P["Uc"] @ x)
    paths = ((c_prev * f * (1 - f))[:, None] * P["Wf"],
             (c_tilde * i * (1 - i))[:, None] * P["Wi"],
             (i * (1 - c_tilde ** 2))[:, None] * P["Wc"])
    dh = o_prev * (1 - np.tanh(c_prev) ** 2)
    return f, paths, dh


def _fit(target: np.ndarray, G: np.ndarray, scale: float, tol: Tolerance) -> np.ndarray | None:
    """The diagonal D with target ≈ G·diag(D), column by column, or None when no D fits."""
    D = np.zeros(G.shape[1])
    for j in range(G.shape[1]):
        g = G[:, j]
        norm = float(g @ g)
        if norm <= (1e-12 * scale) ** 2:
            if np.max(np.abs(target[:, j])) > tol.atol * scale + 1e-12:
                return None
            continue
        D[j] = float(g @ target[:, j]) / norm
    with np.errstate(invalid="ignore", over="ignore"):      # an answer holding inf fits nothing, silently
        residual = np.abs(target - G * D[None, :])
        return D if np.all(residual <= tol.rtol * np.abs(target) + max(tol.atol, 1e-7) * scale) else None


def cell_structure(args: tuple, expected, got, tol: Tolerance) -> Finding:
    """3(c) full cell Jacobian: which of its parts (direct term, each gate path, ∂h_{t−1}/∂C_{t−1})
    a wrong answer gets wrong, when the answer has the right shape of formula at all."""
    params, x, c_prev, o_prev = args
    got = np.asarray(got, dtype=np.float64)
    f, paths, dh = _cell_pieces(params, x, c_prev, o_prev)
    n = f.shape[0]
    if got.shape != (n, n) or n < 2:           # one row cannot tell the parts apart
        return Finding()
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    for direct, kept in product((1.0, 0.0), [s for r in (3, 2, 1) for s in _subsets(r)]):
        G = sum(paths[p] for p in kept)
        D = _fit(got - direct * np.diag(f), G, scale, tol)
        if D is None:
            continue
        if direct == 1.0 and len(kept) == 3 and np.allclose(D, 0.0, atol=1e-12):
            return Finding(where=(NO_PATHS,))
        where = []
        if direct == 0.0:
            where.append(NO_DIRECT)
        where += [PATH_MISSING[p] for p in range(3) if p not in kept]
        lost_term = bool(where)
        wrong_dh = not _close(D, dh)
        if wrong_dh:
            where.append(WRONG_DH)
        if not where:
            return Finding()                   # the right answer's shape and parts: nothing to say
        if not lost_term and not any(_close(D, form) for form in _product_rule_forms(c_prev, o_prev, dh)):
            # Right terms, a wrong diagonal that no product rule gives (o_t for o_{t-1}, tanh' at C_t,
            # the opposite sign): where it goes wrong is known, the misconception is not.
            return Finding(where=tuple(where))
        return Finding(("wrong-product-rule",), tuple(where), {"wrong-product-rule": PRODUCT_RULE_HINT})
    return Finding()


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-6, atol=1e-9 * max(1.0, float(np.max(np.abs(b))))))


def _product_rule_forms(c_prev, o_prev, dh) -> list[np.ndarray]:
    """What ∂h_{t−1}/∂C_{t−1} becomes when d(o_{t−1} ⊙ tanh C_{t−1})/dC_{t−1} is taken with the product
    or chain rule misapplied: one term, or the sum of two, each a product of at most two of o_{t−1},
    tanh(C_{t−1}), tanh′(C_{t−1}) and C_{t−1} (a factor lost: tanh′ alone, o alone, 1; the seed's
    C + tanh′; both product-rule terms with do/dC taken as 1: tanh + o tanh′), the right one excluded.
    A diagonal outside these (o_t in place of o_{t−1}, tanh′ at C_t, the opposite sign) is some
    other mistake."""
    from itertools import combinations

    c_prev, o_prev = np.asarray(c_prev, dtype=np.float64), np.asarray(o_prev, dtype=np.float64)
    th = np.tanh(c_prev)
    factors = (o_prev, th, 1 - th ** 2, c_prev)
    monomials = [np.ones_like(c_prev)] + list(factors) + [a * b for a, b in combinations(factors, 2)]
    forms = monomials + [a + b for a, b in combinations(monomials, 2)]
    return [form for form in forms if not _close(form, dh)]


def _subsets(size: int) -> list[tuple[int, ...]]:
    from itertools import combinations

    return list(combinations(range(3), size))
