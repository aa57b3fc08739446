"""Cases: enough of them, reproducible for re-grades, hidden ones tied to the secret, edges included."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from assignments.hw3 import ASSIGNMENT
from grader import caseset
from grader.spec import HIDDEN, PUBLIC


@functools.cache
def _built(secret: str | None):
    """`caseset.build(ASSIGNMENT, secret)` once per secret for the tests that only read a case set
    (39 builds of this file were 3 s of CPU). The tests that a build is reproducible build their own."""
    return caseset.build(ASSIGNMENT, secret)


def _by_question(case_set, visibility):
    counts: dict[str, int] = {}
    for case in case_set.cases:
        if case.visibility == visibility:
            counts[case.question_id] = counts.get(case.question_id, 0) + 1
    return counts


def test_every_function_question_has_3_public_and_12_hidden_cases():
    case_set = _built("some secret")
    public, hidden = _by_question(case_set, PUBLIC), _by_question(case_set, HIDDEN)
    for question in ASSIGNMENT.questions:
        if question.call:
            assert public[question.id] >= 3, question.id
            assert hidden[question.id] >= 12, question.id
        else:  # a value has no inputs to vary: exactly one case, public
            assert public[question.id] == 1 and question.id not in hidden


def test_same_secret_same_cases_other_secret_other_hidden_cases():
    a, b, c = (caseset.build(ASSIGNMENT, s) for s in ("s1", "s1", "s2"))
    assert a.digest == b.digest
    assert a.digest != c.digest
    assert a.only(PUBLIC).cases == a.only(PUBLIC).cases
    pub_a = [case.uid for case in a.only(PUBLIC).cases]
    pub_c = [case.uid for case in c.only(PUBLIC).cases]
    assert pub_a == pub_c
    for x, y in zip(a.only(PUBLIC).cases, c.only(PUBLIC).cases):
        for u, v in zip(x.args, y.args):
            if isinstance(u, np.ndarray):
                np.testing.assert_array_equal(u, v)


def test_without_secret_there_are_no_hidden_cases():
    case_set = _built(None)
    assert all(case.visibility == PUBLIC for case in case_set.cases)


def _hidden(qid, secret="edge check"):
    return [c for c in _built(secret).cases if c.question_id == qid and c.visibility == HIDDEN]


def test_hidden_cases_cover_the_edges():
    jac = _hidden("1a")
    assert any(c.args[0].shape == (1, 1) for c in jac)
    assert any(np.max(np.abs(c.args[0] @ c.args[1])) > 30 for c in jac), "a saturated sigmoid case"
    grads = _hidden("1b")
    assert any(c.args[2].shape[0] == 1 for c in grads), "T = 1"
    assert any(c.args[2].shape[0] >= 40 for c in grads), "a long sequence"
    assert any(c.args[0].shape == (1, 1) for c in grads), "n = 1"
    assert any(c.args[1].shape[1] == 1 for c in grads), "d = 1"
    powers = _hidden("2b")
    ps = {c.args[1] for c in powers}
    assert {0, 1} <= ps
    assert any(np.iscomplexobj(np.linalg.eigvals(c.args[0])) and np.any(np.linalg.eigvals(c.args[0]).imag != 0)
               for c in powers), "complex eigenvalues"
    assert any(np.any(np.linalg.eigvals(c.args[0]).real < 0) for c in powers), "negative eigenvalues"
    assert any(not np.allclose(c.args[0], c.args[0].T) for c in powers), "non-symmetric"
    regimes = [c.expected for c in _hidden("2c-regime")]
    assert {"vanishing", "exploding", "preserved"} <= set(regimes)
    carousel = _hidden("3c-carousel")
    assert any(c.args[0].size and np.all(c.args[0] == 1) for c in carousel), "every forget gate 1"
    assert any(c.args[0].size and np.all(c.args[0] < 1e-2) for c in carousel), "forget gates near 0"


def test_long_sequences_have_vanishing_early_terms():
    long_case = max(_hidden("2a"), key=lambda c: c.args[2].shape[0])
    terms = long_case.expected
    T = terms.shape[0]
    assert T >= 40
    last = np.abs(terms[T - 1])
    assert last[0].max() < 1e-10 * last[T - 1].max()


def test_spectral_radius_one_cases_are_unambiguous():
    """ρ is 1 up to rounding, or far enough from the contract's 1e-9 that rounding cannot move it
    across (the cases just off 1, at 1 ± 5e-6, are there for np.isclose's 1e-5)."""
    for case in _hidden("2c-regime") + [c for c in _built(None).cases if c.question_id == "2c-regime"]:
        rho = max(abs(np.linalg.eigvals(case.args[0])))
        assert abs(rho - 1) < 1e-12 or abs(rho - 1) > 1e-6, (case.label, rho)


def test_expected_values_are_computed_on_copies():
    case_set = caseset.build(ASSIGNMENT, "x")
    again = caseset.build(ASSIGNMENT, "x")
    for a, b in zip(case_set.cases, again.cases):
        for u, v in zip(a.args, b.args):
            if isinstance(u, np.ndarray):
                np.testing.assert_array_equal(u, v)


def test_every_hidden_family_has_a_public_representative():
    public = {qid: [c for c in _built(None).cases if c.question_id == qid]
              for qid in ("1a", "1b", "2a", "2b", "2c-regime", "3-step", "3c-gates", "3c-cell", "3c-carousel")}
    assert any(np.max(np.abs(c.args[0] @ c.args[1])) > 30 for c in public["1a"]), "saturated sigmoid"
    assert any(c.args[0].shape[0] == 1 for c in public["1a"]), "n = 1"
    assert any(c.args[0].shape[1] == 1 for c in public["1a"]), "d = 1"
    for qid in ("1b", "2a"):
        assert any(c.args[0].shape == (1, 1) for c in public[qid]), "n = 1"
        assert any(c.args[2].shape[0] == 1 for c in public[qid]), "T = 1"
        assert any(c.args[2].shape[0] >= 20 for c in public[qid]), "a long sequence"
        assert any(np.median(np.abs(c.args[2] @ c.args[1][0])) >= 29 for c in public[qid]), "a saturated unit"
        assert any(np.max(np.abs(c.expected)) > 10 for c in public[qid]), "gradients beyond clipping"
        assert any(max(abs(np.linalg.eigvals(c.args[0]))) > 1.2 for c in public[qid]), "large recurrent weights"
    assert any(np.any(np.linalg.eigvals(c.args[0]).imag != 0) for c in public["2b"]), "complex eigenvalues"
    assert any(c.args[0].shape == (1, 1) for c in public["2b"]), "1×1"
    assert {0, 1} <= {c.args[1] for c in public["2b"]}, "p = 0 and p = 1"
    assert any(np.any(np.linalg.eigvals(c.args[0]).real < -1) for c in public["2c-regime"]), "a negative λ, |λ| > 1"
    assert any(c.args[0].shape == (1, 1) for c in public["2c-regime"]), "1×1"
    radii = [max(abs(np.linalg.eigvals(c.args[0]))) for c in public["2c-regime"]]
    assert any(abs(r - 1) < 1e-12 for r in radii) and any(1 < r < 1.01 for r in radii), "ρ = 1 and just above"
    assert any(np.all(np.linalg.eigvals(c.args[0]).real < 0) for c in public["2c-regime"]), "every λ negative"
    assert {c.expected for c in public["2c-regime"]} == {"vanishing", "exploding", "preserved"}
    for qid in ("3-step", "3c-gates", "3c-cell"):
        assert any(c.args[1].shape[0] < c.args[2].shape[0] or c.args[2].shape[0] == 1 for c in public[qid]), "n = 1"
        assert any(np.max(np.abs(c.args[0]["Wf"])) > 2 for c in public[qid]), "strong weights: gates near 0 and 1"
        assert any(c.args[1].shape[0] == 1 for c in public[qid]), "d = 1"
        assert any(c.args[1].shape[0] > c.args[2].shape[0] for c in public[qid]), "d > n"
    fs = [c.args[0] for c in public["3c-carousel"]]
    assert any(f.size and np.all(f == 1) for f in fs) and any(f.size and np.min(f) < 0.01 for f in fs)
    assert any(f.size == 0 for f in fs) and any(f.shape[1] == 1 and f.shape[0] >= 20 for f in fs)
    assert any(f.shape[0] == 1 for f in fs), "t − k = 1"
    _assert_later_families(public)


def _assert_later_families(public) -> None:
    """Families that only hidden cases held by chance, or no case at all (the fourth round)."""
    def large(z):                    # every pre-activation of size 5 to 9: σ′ small but not saturated
        return np.all((np.abs(z) >= 5) & (np.abs(z) <= 9))

    assert any(large(c.args[0] @ c.args[1]) for c in public["1a"]), "pre-activations of 5 to 9"
    for qid in ("3-step", "3c-gates", "3c-cell"):
        assert any(c.args[1].shape[0] == c.args[0]["Uf"].shape[0] for c in public[qid]), "a square U"
    for qid in ("3-step", "3c-gates"):
        assert any(all(large(c.args[0]["W" + g] @ c.args[2] + c.args[0]["U" + g] @ c.args[1]) for g in "fioc")
                   for c in public[qid]), "every gate's pre-activations of 5 to 9"
    assert any(c.args[0].shape[0] == 3 and c.args[1] == 0 for c in public["2b"]), "p = 0 beyond 2×2"
    radii = [max(abs(np.linalg.eigvals(c.args[0]))) for c in public["2c-regime"]]
    assert any(0 < r - 1 < 1e-12 for r in radii) and any(0 < 1 - r < 1e-12 for r in radii), "ρ = 1, rounded both ways"
    assert any(0.99 < r < 1 - 1e-6 for r in radii), "ρ just below 1"
    hidden = _built("families").cases
    for qid in ("1b", "2a"):
        longest = max(c.args[2].shape[0] for c in hidden if c.question_id == qid and "matter" in c.label)
        assert any(c.args[2].shape[0] >= longest and "matter" in c.label for c in public[qid]), \
            "early steps that matter, as long as in hidden"


@pytest.mark.parametrize("qid", ["1b", "2a"])
@pytest.mark.parametrize("visibility", [PUBLIC, HIDDEN])
def test_gradient_clipping_is_caught(qid, visibility):
    """Clipping at ±1, ±5 or ±10 (a habit from training code) fails some case, public and hidden."""
    from grader.compare import compare

    question = ASSIGNMENT.question(qid)
    cases = [c for c in _built("clip check").cases
             if c.question_id == qid and c.visibility == visibility]
    for bound in (1.0, 5.0, 10.0):
        assert any(not compare(question.kind, c.expected, np.clip(c.expected, -bound, bound), question.tolerance).passed
                   for c in cases), bound


def test_the_public_part_of_a_secret_case_set_has_the_public_digest():
    full = _built("some secret")
    public = _built(None)
    assert full.digest != public.digest
    assert full.only(PUBLIC).digest == public.digest == caseset.digest([c for c in public.cases if c.probe is None])


def test_the_public_part_of_a_public_set_is_that_set_with_its_memo():
    """A set built without a secret is public already: its public part is the set itself, so what its
    memo holds (the mistakes' wrong answers, filled by the first submission graded) serves a self-check
    or a public Session on it too, instead of a fresh copy filled again. A part that leaves cases
    out is a set of its own, with the digest of what it keeps."""
    from grader import selfcheck

    public = _built(None)
    assert public.only(PUBLIC) is public
    assert selfcheck.select(public) is public
    chosen = selfcheck.select(public, ["1a"])
    assert chosen.only(PUBLIC) is not chosen
    assert chosen.only(PUBLIC).digest == caseset.digest([c for c in chosen.cases if c.probe is None]) != public.digest
    full = _built("some secret")
    assert full.only(PUBLIC) is not full and full.only(PUBLIC).memo == {}


@pytest.mark.parametrize("secret", ["hw3-demo-secret--public--not-for-real-grading", "s1", "s2", "another secret"])
def test_no_two_cases_of_a_question_share_a_label(secret):
    """Hidden inputs are drawn at random, and two drawn alike ('n=4, d=2' twice in 3(c)) showed as two
    identical chips: a student could not tell which one failed, nor a TA refer to one. Within a
    question and a visibility every label is one case's; the labels that were unique stay as they were."""
    from collections import Counter

    case_set = _built(secret)
    scored = [c for c in case_set.cases if not c.parent]
    labels = Counter((c.question_id, c.visibility, c.label) for c in scored)
    assert [key for key, count in labels.items() if count > 1] == []
    plain = _built(None)
    assert [c.label for c in plain.cases] == [c.label for c in case_set.only(PUBLIC).cases]
    probes = [c for c in case_set.cases if c.parent]
    parents = {c.uid: c for c in scored}
    assert all(p.label.startswith(parents[p.parent].label + " (") for p in probes)


@pytest.mark.parametrize("T, n, d", [(1, 1, 1), (3, 2, 2), (40, 2, 3)])
def test_the_terms_that_size_a_long_memory_case_are_the_reference_terms(T, n, d):
    """The case generator measures how much early steps matter with its own batched computation of
    2(a)'s terms (no reference code on that path); it must be the reference's bptt_terms."""
    from assignments.hw3 import cases
    import reference

    rng = np.random.default_rng(T + n + d)
    W, U = 3.0 * rng.normal(size=(n, n)), rng.normal(size=(n, d))
    xs, h0, gs = rng.normal(size=(T, d)), rng.uniform(-1, 1, size=n), rng.normal(size=(T, n))
    np.testing.assert_allclose(cases._terms(W, U, xs, h0, gs), reference.bptt_terms(W, U, xs, h0, gs),
                               rtol=1e-9, atol=1e-300)
