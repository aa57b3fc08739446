"""Homework 3 (Recurrent Neural Networks) as data: the registry the grading engine reads.

Question ids, names, points and answer kinds follow ../shared/CONTRACT.md exactly. The reference
answers come from `reference`, the case inputs from `cases`, the named wrong answers from
`mistakes`. Nothing here runs student code or knows about reports.
"""
from __future__ import annotations

import reference
from grader.spec import (ARRAY, ARRAY_DICT, LABEL, NAME_SET, Assignment, CaseInput, Mistake, Question,
                         WrittenPart)

from . import cases, structure, written
from .mistakes import MISTAKES, VARIANTS, includes_non_positive

# What student code must never read: the reference answers, and this registry (its case generators
# and mistake catalogue). The sandbox hides them because they are declared here; keep it a literal,
# which the grader reads before importing this module.
PRIVATE_PACKAGES = ("reference", "assignments")
def _family(qid: str, mid: str, generate) -> tuple[Mistake, ...]:
    entry = next(m for m in MISTAKES[qid] if m.id == mid)
    return generate(entry.id, entry.hint)


# Mistakes generated from the structure of a question (assignments/hw3/structure.py), not listed one by one.
FAMILIES = {"2a": _family("2a", "sigma-prime-not-per-step", structure.sigma_prime_family)}

GATES = ("f", "i", "o", "c_tilde")
STEP_KEYS = ("f", "i", "o", "c_tilde", "c", "h")
REGIMES = ("vanishing", "exploding", "preserved")


def _mistakes(qid: str) -> tuple[Mistake, ...]:
    found = []
    for m in MISTAKES.get(qid, ()) + VARIANTS.get(qid, ()) + FAMILIES.get(qid, ()):
        if qid == "3b":
            found.append(Mistake(m.id, m.hint, m.compute, matches=includes_non_positive))
        else:
            found.append(Mistake(m.id, m.hint, m.compute))
    return tuple(found)


def _value(label: str):
    return lambda rng: [CaseInput(label, ())]


QUESTIONS = (
    Question("1a", "1(a) Jacobian of a sigmoid layer", 10, "sigmoid_jacobian", ARRAY,
             reference.sigmoid_jacobian, cases.sigmoid_jacobian_public, cases.sigmoid_jacobian_hidden,
             mistakes=_mistakes("1a")),
    Question("1b", "1(b) BPTT gradient ∂L/∂W", 15, "bptt_grad", ARRAY,
             reference.bptt_grad, cases.bptt_public, cases.bptt_grad_hidden, mistakes=_mistakes("1b"),
             probes=structure.bptt_probes),
    Question("2a", "2(a) The terms of the BPTT sum", 10, "bptt_terms", ARRAY,
             reference.bptt_terms, cases.bptt_public, cases.bptt_terms_hidden, mistakes=_mistakes("2a"),
             blocks=structure.TERM_BLOCKS),
    Question("2b", "2(b) Matrix power by eigendecomposition", 10, "matrix_power_eig", ARRAY,
             reference.matrix_power_eig, cases.power_public, cases.power_hidden, mistakes=_mistakes("2b"),
             probes=structure.power_probes),
    Question("2c", "2(c) W³⁰", 5, "W_30", ARRAY, lambda: reference.W_30, _value("W_30"),
             call=False, mistakes=_mistakes("2c")),
    Question("2c-regime", "2(c) Vanishing, exploding or preserved", 5, "gradient_regime", LABEL,
             reference.gradient_regime, cases.regime_public, cases.regime_hidden, labels=REGIMES,
             mistakes=_mistakes("2c-regime")),
    Question("3-step", "3 One LSTM step", 10, "lstm_step", ARRAY_DICT,
             reference.lstm_step, cases.lstm_step_public, cases.lstm_step_hidden, keys=STEP_KEYS,
             mistakes=_mistakes("3-step")),
    # keys: the names the answer is drawn from (CONTRACT.md's gate names), so that a name outside them is told
    Question("3b", "3(b) Which quantities are always positive", 5, "ALWAYS_POSITIVE", NAME_SET,
             lambda: reference.ALWAYS_POSITIVE, _value("ALWAYS_POSITIVE"), call=False, keys=STEP_KEYS,
             mistakes=_mistakes("3b")),
    Question("3c-gates", "3(c) Gate Jacobians ∂gate/∂h_{t−1}", 10, "lstm_gate_jacobians", ARRAY_DICT,
             reference.lstm_gate_jacobians, cases.gates_public, cases.gates_hidden, keys=GATES,
             mistakes=_mistakes("3c-gates")),
    Question("3c-cell", "3(c) Full cell-state Jacobian ∂C_t/∂C_{t−1}", 15, "lstm_cell_jacobian", ARRAY,
             reference.lstm_cell_jacobian, cases.cell_public, cases.cell_hidden, mistakes=_mistakes("3c-cell"),
             probes=structure.cell_probes, structure=structure.cell_structure),
    Question("3c-carousel", "3(c) The constant error carousel ∂C_t/∂C_k", 5, "cell_state_gradient", ARRAY,
             reference.cell_state_gradient, cases.carousel_public, cases.carousel_hidden,
             mistakes=_mistakes("3c-carousel"), probes=structure.carousel_probes),
)

WRITTEN = (
    WrittenPart("1a-derivation", "1(a) Derivation of the sigmoid-layer Jacobian", 5,
                "Element-wise derivative σ′(w_iᵀx)·W_ij; assembled as diag(σ′(Wx))W (n×d); σ′ = σ(1−σ) stated."),
    WrittenPart("1b-derivation", "1(b) Derivation of ∂L/∂W through time", 5,
                "Chain rule over t and k ≤ t; ∂h_t/∂h_k as a product of diag(σ′)W factors; immediate "
                "derivative ∂⁺h_k/∂W; says why k may start at 1 (h_0 does not depend on W)."),
    WrittenPart("2a-expansion", "2(a) The expanded sum for T = 3", 5,
                "Exactly six terms (t, k) with k ≤ t; term (t, k) carries t−k factors diag(σ′)W, each with "
                "its own step's σ′; no ∂h_0/∂W terms; no duplicates."),
    WrittenPart("2b-proof", "2(b) Proof that Mⁿ = QΛⁿQ⁻¹", 5,
                "Base case n = 1 (or 0); inductive step M^{n+1} = QΛQ⁻¹QΛⁿQ⁻¹ = QΛ^{n+1}Q⁻¹ using Q⁻¹Q = I."),
    WrittenPart("2c-observations", "2(c) What the eigenvalues do to gradients", 5,
                "W³⁰ small but non-zero (≈0.9³⁰ scale); |λ| < 1 vanishes, some |λ| > 1 explodes, |λ| = 1 "
                "preserved; uses |λ|, not λ; does not claim Π diag(σ′)W = diag(σ′)ⁿWⁿ."),
    WrittenPart("3a-gates", "3(a) What the gates do", 5,
                "f: how much of C_{t−1} is kept; i: how much of the candidate C̃_t is written; o: how much of "
                "tanh(C_t) is exposed as h_t."),
    WrittenPart("3c-interpretation", "3(c) Why the cell state carries gradients", 5,
                "With f = 1, i = 0: ∂C_t/∂C_k is exactly the identity (not ≈ 1); the gate paths are "
                "neglected or derived with a correct product rule."),
)

# Sentences the assignment's structure checks can say (for the translation catalogs, grader.i18n).
MESSAGES = structure.SENTENCES

ASSIGNMENT = Assignment(name="hw3", title="Homework 3: Recurrent Neural Networks", questions=QUESTIONS,
                        written=WRITTEN, written_parser=written.parse,
                        hidden_cases_note="more sizes and more of each kind of edge case: n = 1, T = 1, "
                                          "saturated sigmoids, long sequences, complex and negative "
                                          "eigenvalues, gates near 0 and 1, large gradients")
