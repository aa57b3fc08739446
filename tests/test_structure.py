"""Diagnosis that generalises: wrong answers written independently of the mistake catalogue are
named by family and located by the structure of the question (blocks, probes, structure fits)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader import caseset, selfcheck
from grader.diagnose import describe_blocks, locate
from grader.protocol import Limits
from grader.spec import ARRAY, Case, Question, Tolerance

HELPERS = """
import numpy as np

def sig(z):
    return 1.0 / (1.0 + np.exp(-z))

def run(W, U, xs, h0):
    hs = [np.asarray(h0, dtype=float)]
    for x in xs:
        hs.append(sig(W @ hs[-1] + U @ x))
    return hs
"""

# 2(a), from the issue: σ′ of the *last* step used for every factor, the local one included.
LAST_SIGMA_EVERYWHERE = HELPERS + """
def bptt_terms(W, U, xs, h0, gs):
    hs = run(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        s_t = hs[t] * (1 - hs[t])
        for k in range(1, t + 1):
            v = gs[t - 1].copy()
            for _ in range(t - k):
                v = W.T @ (s_t * v)
            out[t - 1, k - 1] = np.outer(v * s_t, hs[k - 1])
    return out
"""

# 3(c), from the issue: the seed's product rule d(o ⊙ tanh c)/dc = c + tanh′(c).
SEED_PRODUCT_RULE = """
import numpy as np

def sig(z):
    return 1.0 / (1.0 + np.exp(-z))

def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f = sig(params["Wf"] @ h_prev + params["Uf"] @ x)
    i = sig(params["Wi"] @ h_prev + params["Ui"] @ x)
    ct = np.tanh(params["Wc"] @ h_prev + params["Uc"] @ x)
    dh_dc = c_prev + (1 - np.tanh(c_prev) ** 2)          # "product rule": c + tanh'(c)
    paths = (np.diag(c_prev * f * (1 - f)) @ params["Wf"] + np.diag(ct * i * (1 - i)) @ params["Wi"]
             + np.diag(i * (1 - ct ** 2)) @ params["Wc"])
    return np.diag(f) + paths @ np.diag(dh_dc)
"""

# 1(b), a mistake in no catalogue: the carried gradient is halved at every step back.
HALVED_CARRY = HELPERS + """
def bptt_grad(W, U, xs, h0, gs):
    hs = run(W, U, xs, h0)
    G = np.zeros((W.shape[0], W.shape[0]))
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        r = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        G += np.outer(r, hs[t - 1])
        carry = 0.5 * (W.T @ r)
    return G
"""

# 1(b), wrong already in the immediate term: h_t where h_{t-1} belongs (as the catalogue's, but
# also with the carry through W instead of W^T, so that no catalogue variant matches).
WRONG_IMMEDIATE = HELPERS + """
def bptt_grad(W, U, xs, h0, gs):
    hs = run(W, U, xs, h0)
    G = np.zeros((W.shape[0], W.shape[0]))
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        r = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        G += np.outer(r, hs[t])
        carry = W @ r
    return G
"""

# 3(c), a mistake in no catalogue: the path through the input gate counted twice.
INPUT_PATH_TWICE = """
import numpy as np

def sig(z):
    return 1.0 / (1.0 + np.exp(-z))

def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f = sig(params["Wf"] @ h_prev + params["Uf"] @ x)
    i = sig(params["Wi"] @ h_prev + params["Ui"] @ x)
    ct = np.tanh(params["Wc"] @ h_prev + params["Uc"] @ x)
    paths = (np.diag(c_prev * f * (1 - f)) @ params["Wf"] + 2 * np.diag(ct * i * (1 - i)) @ params["Wi"]
             + np.diag(i * (1 - ct ** 2)) @ params["Wc"])
    return np.diag(f) + paths @ np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
"""

FAST = Limits(case_seconds=2.0, cell_seconds=10.0, submission_seconds=60.0)


def _question(tmp_path: Path, source: str, qid: str, public_cases):
    path = tmp_path / "answer.py"
    path.write_text(source, encoding="utf-8")
    result = selfcheck.check_file(path, selfcheck.select(public_cases, [qid]), FAST)
    (question,) = result.questions
    return question, result


def test_sigma_prime_of_the_last_step_everywhere_is_named_by_family(tmp_path, public_cases):
    q, result = _question(tmp_path, LAST_SIGMA_EVERYWHERE, "2a", public_cases)
    assert q.status != "passed"      # (right where it coincides with the right answer, e.g. T = 1)
    assert q.diagnosis == ["sigma-prime-not-per-step"]
    assert "only the (t, k) blocks with t − k ≥ 1 are wrong" in q.where
    assert json.loads(json.dumps(result.to_dict()))["questions"][0]["where"] == q.where


def test_the_seeds_product_rule_is_named_by_family(tmp_path, public_cases):
    q, _ = _question(tmp_path, SEED_PRODUCT_RULE, "3c-cell", public_cases)
    assert "wrong-product-rule" in q.diagnosis
    assert any(w.startswith("∂h_{t−1}/∂C_{t−1} is wrong") for w in q.where)
    assert any(w.startswith("the direct term diag(f_t) is right") for w in q.where)
    assert any(h.id == "wrong-product-rule" and h.hint for h in q.hints)


def test_an_uncatalogued_1b_mistake_is_right_for_one_step_and_wrong_after(tmp_path, public_cases):
    q, _ = _question(tmp_path, HALVED_CARRY, "1b", public_cases)
    assert q.diagnosis == []
    assert q.where == ["right for T = 1 and wrong for longer sequences: what flows back from later steps "
                       "through W is wrong"]
    q, _ = _question(tmp_path, WRONG_IMMEDIATE, "1b", public_cases)
    assert "already wrong for T = 1: the immediate term of ∂h_1/∂W is wrong" in q.where


def test_an_uncatalogued_3c_mistake_is_located_at_the_gate_paths(tmp_path, public_cases):
    q, _ = _question(tmp_path, INPUT_PATH_TWICE, "3c-cell", public_cases)
    assert q.status == "failed"
    assert any(w.startswith("the direct term diag(f_t) is right") for w in q.where)


def test_probes_are_not_scored_and_run_after_every_scored_case(config):
    full = caseset.build(config.load_assignment(), "a-secret")
    probes = [c for c in full.cases if c.parent]
    assert probes and all(c.uid.startswith(c.parent + "/probe/") for c in probes)
    first_probe = next(i for i, c in enumerate(full.cases) if c.parent)
    assert all(c.parent for c in full.cases[first_probe:])
    assert all(not c.parent for q in full.assignment.questions for c in full.for_question(q.id))
    hidden_probe = next(c for c in probes if c.visibility == "hidden")
    assert full.probes_of(hidden_probe.parent) and hidden_probe.probe.right


def test_probes_are_asked_only_where_a_wrong_answer_is_located(session, tmp_path, monkeypatch):
    """A probe (an input derived from a case) serves only to locate a wrong answer to that case:
    a submission right everywhere is asked none of them, and one wrong in 1(b) is asked exactly
    the probes of its wrong 1(b) answers, and is still told where it goes wrong."""
    from grader import runner

    asked: list[str] = []
    send = runner.Worker.send_text

    def keep(self, line: str) -> None:
        if line.startswith('{"op": "cases"'):
            asked.extend(case["uid"] for case in json.loads(line)["cases"])
        send(self, line)

    monkeypatch.setattr(runner.Worker, "send_text", keep)
    probes_of = {c.uid: c.parent for c in session.case_set.cases if c.parent}
    assert probes_of
    result = session.grade(Path(__file__).resolve().parents[1] / "submissions" / "alice_correct.ipynb")
    assert all(c.status == "passed" for q in result.questions for c in q.cases)
    assert asked and not [uid for uid in asked if uid in probes_of]

    asked.clear()
    path = tmp_path / "answer.py"
    path.write_text(HALVED_CARRY, encoding="utf-8")
    result = session.grade(path)
    q = next(q for q in result.questions if q.id == "1b")
    wrong = {c.uid for c in q.cases if c.status == "failed"}
    assert wrong and "right for T = 1 and wrong for longer sequences" in " ".join(q.where)
    assert {probes_of[uid] for uid in asked if uid in probes_of} == {p for p in probes_of.values() if p in wrong}
    assert {uid for uid in asked if uid not in probes_of} == {c.uid for c in session.case_set.cases if not c.parent}


def test_the_instructors_grade_reports_where(session, tmp_path):
    path = tmp_path / "answer.py"
    path.write_text(LAST_SIGMA_EVERYWHERE, encoding="utf-8")
    result = session.grade(path)
    q = next(q for q in result.questions if q.id == "2a")
    assert "sigma-prime-not-per-step" in q.diagnosis and q.where


# ------------------------------------------------------------------------------------------------
# The engine's part knows nothing of RNNs: blocks are named by the assignment's axis names


@pytest.mark.parametrize("rule, expected", [
    (lambda a, b: a - b >= 1, "only the (t, k) blocks with t − k ≥ 1 are wrong"),
    # every block that should hold a term (a 2(a) answer wrong in every term, its zeros right)
    # ("only ... with t − k ≥ 0" read as a part of them, where it is all of them)
    (lambda a, b: a - b >= 0, "every (t, k) block with t ≥ k is wrong; those with t < k are right"),
    (lambda a, b: a - b >= 2, "only the (t, k) blocks with t − k ≥ 2 are wrong"),
    (lambda a, b: a - b == 0, "only the (t, k) blocks with t − k = 0 are wrong"),
    (lambda a, b: a < b, "only the (t, k) blocks with t < k are wrong (they should be zero)"),
    (lambda a, b: True, "every (t, k) block is wrong"),
    (lambda a, b: (a, b) == (2, 0), "the wrong (t, k) blocks are (3, 1)"),
])
def test_describe_blocks(rule, expected):
    rng = np.random.default_rng(0)
    right = rng.normal(size=(4, 4, 2, 2))
    got = right.copy()
    for a in range(4):
        for b in range(4):
            if rule(a, b):
                got[a, b, 1, 0] += 1.0
    assert describe_blocks(("t", "k"), right, got, Tolerance()) == expected


def test_locate_survives_a_structure_check_that_raises():
    def broken(*args):
        raise ZeroDivisionError

    question = Question("q", "Q", 1, "f", ARRAY, reference=lambda x: x, structure=broken)
    case = Case("q/public/0", "q", "public", "x", (np.ones(2),), np.ones(2))
    assert locate(question, case, np.zeros(2)).ids == ()


def test_a_hidden_cases_wrong_blocks_are_never_listed():
    rng = np.random.default_rng(1)
    right = rng.normal(size=(5, 5, 2, 2))
    got = right.copy()
    got[4, 1] += 1.0
    got[2, 0] += 1.0
    assert describe_blocks(("t", "k"), right, got, Tolerance()) == "the wrong (t, k) blocks are (3, 1), (5, 2)"
    assert describe_blocks(("t", "k"), right, got, Tolerance(), listing=False) == ""
    got = right.copy()
    got[4, 1] += 1.0
    question = Question("q", "Q", 1, "f", ARRAY, reference=lambda x: x, blocks=("t", "k"))
    hidden = Case("q/hidden/0", "q", "hidden", "x", (), right)
    assert locate(question, hidden, got).where == ()


@pytest.mark.parametrize("make, sentence", [
    (lambda e: -e, "the answer is the right one with the opposite sign"),
    (lambda e: 0.5 * e, "the answer is the right one times 0.5"),
    (lambda e: e.T, "the answer is the transpose of the right one"),
    (lambda e: e + 1.0, None),
    # a factor that shows as 1 (or -1) to four digits says nothing ("times 1"): rounding, float32;
    # an answer that close is told how close it is instead
    (lambda e: (1 + 3e-6) * e, "the answer is close to the right one: it agrees to about 5 significant digits, "
                               "the tolerance asks for 6 (float32 arithmetic, numbers typed with few digits, a "
                               "finite-difference estimate or a small term left out can each leave an answer this close)"),
    (lambda e: -(1 + 3e-6) * e, None),
])
def test_generic_relations_to_the_right_answer(make, sentence):
    from grader.diagnose import relations

    right = np.random.default_rng(2).normal(size=(3, 2))
    question = Question("q", "Q", 1, "f", ARRAY, reference=lambda x: x)
    assert relations(question, right, make(right)) == ([sentence] if sentence else [])


def test_a_dict_answer_says_which_entries_are_wrong():
    from grader.diagnose import relations
    from grader.spec import ARRAY_DICT

    question = Question("q", "Q", 1, "f", ARRAY_DICT, reference=lambda x: x, keys=("f", "i", "o"))
    right = {k: np.ones(2) * n for n, k in enumerate("fio", 1)}
    got = dict(right, i=np.zeros(2), o=right["o"] + 1)
    assert relations(question, right, got) == ["only 'i', 'o' are wrong; the other entries are right"]


def _family_term_by_term(W, U, xs, h0, gs, factor_at, local_at):
    """Term (t, k) of a σ′-family member, from its definition: g_tᵀ Π_{i=t..k+1} diag(σ′_{s(i)}) W, times
    diag(σ′_l), then the outer product with h_{k−1}. Written as explicit Jacobian matrices."""
    hs = [np.asarray(h0, dtype=float)]
    for x in xs:
        hs.append(1.0 / (1.0 + np.exp(-(W @ hs[-1] + U @ x))))
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            chain = np.eye(n)
            for i in range(t, k, -1):                           # ∂h_i/∂h_{i−1} = diag(σ′_{s(i)}) W
                s = hs[factor_at(i, t, k)]
                chain = chain @ (np.diag(s * (1 - s)) @ W)
            hl = hs[local_at(k, t)]
            out[t - 1, k - 1] = np.outer((gs[t - 1] @ chain) * hl * (1 - hl), hs[k - 1])
    return out


@pytest.mark.parametrize("T, n, d", [(1, 2, 2), (2, 1, 1), (5, 3, 2), (12, 2, 3)])
def test_every_sigma_prime_family_member_computes_what_its_name_says(T, n, d):
    """The family's members are computed for every term at once (assignments.hw3.structure._terms);
    each must equal its definition, term by term, and both steps at their own place is the right answer."""
    from assignments.hw3 import structure
    import reference

    rng = np.random.default_rng(T * 100 + n * 10 + d)
    W, U = 2.0 * rng.normal(size=(n, n)), rng.normal(size=(n, d))
    xs, h0, gs = rng.normal(size=(T, d)), rng.uniform(-1, 1, size=n), rng.normal(size=(T, n))
    rules = {"last step t": lambda i, t, k: t, "step k+1": lambda i, t, k: min(k + 1, t),
             "step k": lambda i, t, k: k, "own step": lambda i, t, k: i}
    local_rules = {"own step": lambda k, t: k, "last step t": lambda k, t: t, "step k+1": lambda k, t: min(k + 1, t)}
    assert set(structure.FACTOR_STEPS) == set(rules) and set(structure.LOCAL_STEPS) == set(local_rules)
    for factor, local in [(f, l) for f in rules for l in local_rules]:
        got = structure._terms(W, U, xs, h0, gs, structure.FACTOR_STEPS[factor], structure.LOCAL_STEPS[local])
        np.testing.assert_allclose(got, _family_term_by_term(W, U, xs, h0, gs, rules[factor], local_rules[local]),
                                   rtol=1e-10, atol=1e-14, err_msg=f"factors at {factor}, local at {local}")
    right = structure._terms(W, U, xs, h0, gs, structure.FACTOR_STEPS["own step"], structure.LOCAL_STEPS["own step"])
    np.testing.assert_allclose(right, reference.bptt_terms(W, U, xs, h0, gs), rtol=1e-10, atol=1e-14)
    assert len(structure.sigma_prime_family("m", "hint")) == len(rules) * len(local_rules) - 1
