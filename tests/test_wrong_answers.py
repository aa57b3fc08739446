"""Wrong answers nobody catalogued, written the way other students write them: graded through a real
`Session`, none may pass what it gets wrong, and none may be named after a mistake it does not make.

A wrong answer can equal a catalogued variant's on one case by coincidence: a label has only three
values, and on a degenerate input (a rotation by 90 degrees, a reflection) two different wrong
formulas can give the same matrix. A diagnosis claims that the student computes what the variant
computes; when the student's answers say otherwise on the question's other cases (right where the
variant is wrong), the name must not be given. The correct-but-unusual solutions at the end must pass.
"""
from __future__ import annotations

import pytest

from assignments.hw3.structure import SENTENCES as STRUCTURE_SENTENCES
from test_diagnosis import Mutant, by_id, student_module

CELL = '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(%(dh)s)
    df = np.diag(f * (1 - f)) @ params["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ params["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ params["Wc"] @ dh
    return np.diag(f) %(sign)s (np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct)
'''

# Each: the question, a short name, the source, and the catalogued ids it may be named after (none).
UNCATALOGUED = [
    # ---------------------------------------------------------------- 2(c) regime: labels coincide
    Mutant("2c-regime", "", '''
def gradient_regime(W):
    r = np.abs(np.linalg.eigvals(W)).min()          # the smallest eigenvalue decides
    if abs(r - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if r < 1 else "exploding"
''', name="smallest-modulus"),
    Mutant("2c-regime", "", '''
def gradient_regime(W):
    r = np.abs(np.linalg.eigvals(W)).max()
    return "vanishing" if r <= 1 else "exploding"    # spectral radius 1 counted as vanishing
''', name="radius-one-vanishing"),
    Mutant("2c-regime", "", '''
def gradient_regime(W):
    d = np.prod(np.abs(np.linalg.eigvals(W)))       # |det W| decides
    if d < 1:
        return "vanishing"
    return "exploding" if d > 1 + 1e-9 else "preserved"
''', name="determinant"),
    # ---------------------------------------------------------------- 2(b): matrices that coincide
    Mutant("2b", "", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q)).T     # laid out transposed
''', name="result-transposed"),
    Mutant("2b", "", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(np.abs(lam) ** p) @ np.linalg.inv(Q))   # |lambda|^p
''', name="modulus-of-eigenvalues"),
    # ---------------------------------------------------------------- 3(c): the right product rule,
    # other mistakes (the structure's fit finds a wrong ∂h_{t−1}/∂C_{t−1}; no factor or term was lost)
    Mutant("3c-cell", "", CELL % {"dh": "o * (1 - np.tanh(c_prev) ** 2)", "sign": "+"}, name="o-t-for-o-prev"),
    Mutant("3c-cell", "", CELL % {"dh": "o_prev * (1 - np.tanh(f * c_prev + i * c_tilde) ** 2)", "sign": "+"},
           name="tanh-prime-at-C-t"),
    Mutant("3c-cell", "", CELL % {"dh": "o_prev * (1 - np.tanh(c_prev) ** 2)", "sign": "-"},
           name="gate-paths-subtracted"),
    # ---------------------------------------------------------------- 3(c) carousel: the identity on
    # t − k = 1 only (the first step skipped), a product of the gates everywhere else: it is wrong
    # where "the identity regardless of the gates" is wrong too, but with other values
    Mutant("3c-carousel", "", '''
def cell_state_gradient(fs):
    J = np.eye(fs.shape[1])
    for f in fs[1:]:                                 # the first step skipped
        J = np.diag(f) @ J
    return J
''', name="first-step-skipped"),
]


@pytest.mark.parametrize("mutant", UNCATALOGUED, ids=lambda m: f"{m.qid}:{m.name}")
def test_an_uncatalogued_mistake_loses_points_and_is_not_misnamed(session, tmp_path, mutant):
    path = tmp_path / "student.py"
    path.write_text(student_module(mutant))
    result = session.grade(path)
    questions = by_id(result)
    target = questions[mutant.qid]
    assert target.score < target.max_score, "the wrong answer passed every case"
    assert target.diagnosis == [] and target.hints == [], target.diagnosis
    assert all(c.diagnosis == [] for c in target.cases)
    assert all(s.diagnosis == [] for s in result.staff if s.question == mutant.qid)
    assert all(w.named == [] for w in result.wrong_answers if w.question == mutant.qid)
    for qid, q in questions.items():
        if qid != mutant.qid:
            assert q.score == q.max_score and not q.diagnosis, (qid, q.diagnosis)


def test_the_kits_recorded_mistakes_tell_a_coincidence_from_the_mistake(config, public_session, tmp_path):
    """The student kit has no catalogue, only each variant's answers on the public cases: they are
    kept per variant, so that the self-check can see a variant contradicted as the grader does."""
    import json

    from grader import caseset
    from grader.session import Session
    from grader.spec import PUBLIC
    from test_diagnosis import MUTANTS

    kit_cases = caseset.from_public_json(json.loads(json.dumps(caseset.public_json(public_session.case_set))))
    signed = next(m for m in MUTANTS if m.mistake == "signed-eigenvalue-instead-of-modulus")
    smallest = next(m for m in UNCATALOGUED if m.name == "smallest-modulus")
    with Session(config, visibility=PUBLIC, case_set=kit_cases) as kit:
        for mutant, named in ((smallest, []), (signed, ["signed-eigenvalue-instead-of-modulus"])):
            path = tmp_path / f"{mutant.name or mutant.mistake}.py"
            path.write_text(student_module(mutant))
            regime = by_id(kit.grade(path))["2c-regime"]
            assert regime.score < regime.max_score
            assert regime.diagnosis == named, mutant.label


TRUNCATED = {
    "1b": '''
def bptt_grad(W, U, xs, h0, gs):
    # truncated BPTT, as in training code: each loss reaches back at most K steps
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    grad = np.zeros((n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, max(0, t - K), -1):
            r = v * hs[k] * (1 - hs[k])
            grad += np.outer(r, hs[k - 1])
            v = W.T @ r
    return grad
''',
    "2a": '''
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T + 1):
        v = gs[t - 1]
        for k in range(t, max(0, t - K), -1):
            r = v * hs[k] * (1 - hs[k])
            out[t - 1, k - 1] = np.outer(r, hs[k - 1])
            v = W.T @ r
    return out
'''}


@pytest.mark.parametrize("steps", [10, 20, 25, 35])
def test_truncated_bptt_fails_a_public_and_a_hidden_case(session, tmp_path, steps):
    """The long cases whose early terms vanish are passed by a sum cut after 10 steps; a long case
    whose early steps still matter must not be. A cut after 25 steps passed every public case (the
    longest had T = 25) and failed a hidden one (T = 30); one after 35 passed every case: the cases
    whose early steps matter are as long in public as in hidden, and long enough for both."""
    path = tmp_path / "student.py"
    path.write_text(student_module(None) + "\n" + f"K = {steps}\n" + "".join(TRUNCATED.values()))
    questions = by_id(session.grade(path))
    for qid in TRUNCATED:
        failed = {c.visibility for c in questions[qid].cases if c.status != "passed"}
        assert failed == {"public", "hidden"}, (qid, [(c.label, c.status) for c in questions[qid].cases])


def test_an_extra_path_through_the_output_gate_is_not_blamed_on_the_direct_term(session, tmp_path):
    """∂C_t/∂C_{t−1} has no path through o_t; a student who adds one has the direct term diag(f_t)
    right. The probe that checks it switches off every recurrent weight, so that only diag(f_t) is left."""
    path = tmp_path / "student.py"
    path.write_text(student_module(Mutant("3c-cell", "", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    f, i, o, c_tilde = gates(params, x, h_prev)
    dh = np.diag(o_prev * (1 - np.tanh(c_prev) ** 2))
    df = np.diag(f * (1 - f)) @ params["Wf"] @ dh
    di = np.diag(i * (1 - i)) @ params["Wi"] @ dh
    dct = np.diag(1 - c_tilde ** 2) @ params["Wc"] @ dh
    do = np.diag(o * (1 - o)) @ params["Wo"] @ dh          # a path through o_t as well
    return np.diag(f) + np.diag(c_prev) @ df + np.diag(c_tilde) @ di + np.diag(i) @ dct + do
''')))
    question = by_id(session.grade(path))["3c-cell"]
    assert question.score == 0
    assert not any(w.startswith("the direct term diag(f_t) is already wrong") for w in question.where), question.where
    assert any(w.startswith("the direct term diag(f_t) is right") for w in question.where), question.where


def test_a_probe_that_points_both_ways_tells_nothing(session, tmp_path):
    """Clipping the gradient at ±5 is right for T = 1 on one case and already wrong for T = 1 on
    another: the question must not say both ("right for T = 1 ..." and "already wrong for T = 1 ...")."""
    path = tmp_path / "student.py"
    path.write_text(student_module(Mutant("1b", "", '''
def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    grad = np.zeros_like(W)
    carry = np.zeros(W.shape[0])
    for t in range(len(xs), 0, -1):
        da = (gs[t - 1] + carry) * hs[t] * (1 - hs[t])
        grad += np.outer(da, hs[t - 1])
        carry = W.T @ da
    return np.clip(grad, -5, 5)                       # gradient clipping, as in training code
''')))
    question = by_id(session.grade(path))["1b"]
    assert question.score < question.max_score
    t1 = [w for w in question.where if "T = 1" in w]
    assert len(t1) <= 1, t1


ONLY_HIDDEN_BEFORE = [
    Mutant("2c-regime", "", '''
def gradient_regime(W):
    r = np.abs(np.linalg.eigvals(W)).max()
    if r == 1:                                       # exact equality: rounding moves rho off 1
        return "preserved"
    return "vanishing" if r < 1 else "exploding"
''', name="exact-equality"),
    Mutant("2c-regime", "", '''
def gradient_regime(W):
    r = np.linalg.norm(W, 2)                         # the largest singular value, not |lambda|
    if abs(r - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if r < 1 else "exploding"
''', name="spectral-norm"),
    Mutant("1a", "", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    D = np.diag(s * (1 - s))
    return D * W if W.shape[0] == W.shape[1] else D @ W    # '*' where '@' belongs (square W only)
''', name="elementwise-product-when-square"),
    Mutant("1a", "", '''
def sigmoid_jacobian(W, x):
    s = sigmoid(W @ x)
    J = np.diag(s * (1 - s)) @ W
    return float(J[0, 0]) if J.size == 1 else J            # a 1×1 Jacobian returned as a number
''', name="number-for-1x1"),
    Mutant("1a", "", '''
def sigmoid_jacobian(W, x):
    W, x = W.astype(np.float32), x.astype(np.float32)      # float32 throughout
    s = 1 / (1 + np.exp(-(W @ x)))
    return np.diag(s * (1 - s)) @ W
''', name="float32"),
    Mutant("3c-gates", "", '''
def lstm_gate_jacobians(params, x, h_prev):
    P = {k: v.astype(np.float32) for k, v in params.items()}
    x, h_prev = x.astype(np.float32), h_prev.astype(np.float32)
    f, i, o, _ = gates(params, x, h_prev)
    c_tilde = np.tanh(P["Wc"] @ h_prev + P["Uc"] @ x)      # float32: 1 - c~² loses digits as |c~| nears 1
    return {"f": np.diag(f * (1 - f)) @ P["Wf"], "i": np.diag(i * (1 - i)) @ P["Wi"],
            "o": np.diag(o * (1 - o)) @ P["Wo"], "c_tilde": np.diag(1 - c_tilde ** 2) @ P["Wc"]}
''', name="float32-candidate"),
    Mutant("3c-gates", "", '''
def lstm_gate_jacobians(params, x, h_prev):
    f, i, o, c_tilde = gates(params, x, h_prev)
    d = {"f": f * (1 - f), "i": i * (1 - i), "o": o * (1 - o), "c_tilde": 1 - c_tilde ** 2}
    M = {g: params["U" + ("c" if g == "c_tilde" else g)] for g in d}
    if M["f"].shape != (len(f), len(f)):                    # U where W belongs, wherever it fits
        M = {g: params["W" + ("c" if g == "c_tilde" else g)] for g in d}
    return {g: np.diag(d[g]) @ M[g] for g in d}
''', name="U-for-W-when-square"),
    Mutant("2b", "", '''
def matrix_power_eig(M, p):
    if p == 0:
        return np.eye(2)                                    # the homework's W is 2×2
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''', name="identity-2x2-for-p0"),
]


@pytest.mark.parametrize("mutant", ONLY_HIDDEN_BEFORE, ids=lambda m: m.name)
def test_the_self_check_shows_a_family_of_wrong_answers_that_the_hidden_cases_fail(public_session, tmp_path,
                                                                                   mutant):
    """A self-check that passes means no whole family of hidden cases fails later (cases.py): these
    failed hidden cases only (a non-symmetric matrix with ρ = 1 up to rounding; a non-normal one
    with ρ < 1 < ‖W‖₂; a square W in 1(a); n = d = 1 in 1(a), where a number is not a (1, 1) array;
    float32 arithmetic, which loses digits in σ(z)(1 − σ(z)) and 1 − tanh²(z) once z is 3 to 8 in
    size, a size no public case had; a square U in 3(c); p = 0 for a matrix that is not 2×2)."""
    path = tmp_path / "student.py"
    path.write_text(student_module(mutant))
    question = by_id(public_session.grade(path))[mutant.qid]
    assert question.score < question.max_score


def test_a_cases_file_without_variant_numbers_still_names_mistakes(public_session):
    """Kits built before the variants were numbered: each recorded answer stands for its own case."""
    import json

    from grader import caseset
    from grader.diagnose import diagnose

    data = json.loads(json.dumps(caseset.public_json(public_session.case_set)))
    for case in data["cases"]:
        for mistake in case.get("mistakes", []):
            assert mistake.pop("variants")
    kit = caseset.from_public_json(data)
    question = kit.assignment.question("2b")
    named = set()
    for case in kit.for_question("2b"):
        for mistake in question.mistakes:
            try:
                wrong = mistake.compute(*case.args)
            except LookupError:
                continue
            named.update(diagnose(question, case, wrong))
    assert {"elementwise-power", "off-by-one-power"} <= named


NEAR_ONE = [
    Mutant("2c-regime", "", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    if np.isclose(rho, 1):                           # numpy's default tolerance: 1e-5, not 1e-9
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''', name="isclose"),
    Mutant("2c-regime", "", '''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    if round(rho, 4) == 1:                           # "equal to 1" after rounding to 4 decimals
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''', name="rounded-to-4-decimals"),
    Mutant("2c-regime", "", '''
def gradient_regime(W):
    lam = np.abs(np.linalg.eigvals(W))
    if np.any(np.abs(lam - 1) <= 1e-9):             # one |λ| = 1 taken for "preserved", checked first
        return "preserved"
    return "exploding" if np.any(lam > 1) else "vanishing"
''', name="some-modulus-one-checked-first"),
]


@pytest.mark.parametrize("mutant", NEAR_ONE, ids=lambda m: m.name)
def test_a_loose_test_of_rho_equal_to_one_fails_a_public_and_a_hidden_case(session, tmp_path, mutant):
    """`np.isclose(ρ, 1)` (or ρ rounded) calls a spectral radius of 1 ± 5e-6 "preserved"; the contract
    says within 1e-9. Every case of ρ = 1 is passed by it, so the cases must hold a radius just off 1.
    Likewise "some |λ| = 1" tested before "some |λ| > 1": the cases need an eigenvalue of modulus 1
    beside a larger one."""
    path = tmp_path / "student.py"
    path.write_text(student_module(mutant))
    question = by_id(session.grade(path))["2c-regime"]
    failed = {c.visibility for c in question.cases if c.status != "passed"}
    assert failed == {"public", "hidden"}, [(c.label, c.status) for c in question.cases]


POWER_ITERATION = Mutant("2c-regime", "", '''
def gradient_regime(W):
    v = np.ones(W.shape[0])
    for _ in range(500):                             # power iteration: rho taken as |W v| / |v|
        v = W @ v
        v = v / np.linalg.norm(v)
    rho = np.linalg.norm(W @ v)
    if abs(rho - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if rho < 1 else "exploding"
''', name="power-iteration")


def test_power_iteration_fails_a_public_and_a_hidden_case(session, tmp_path):
    """|W v| / |v| after many steps of power iteration is ρ when W is normal (a rotation, a symmetric
    matrix) or its largest eigenvalue is real and alone; when the largest are a complex pair with
    eigenvectors that are not orthogonal, it wanders around ρ as v turns. Every case had one of the
    first two kinds (the complex pairs of modulus 1 sat beside a larger eigenvalue), so this passed
    them all."""
    path = tmp_path / "student.py"
    path.write_text(student_module(POWER_ITERATION))
    question = by_id(session.grade(path))["2c-regime"]
    failed = {c.visibility for c in question.cases if c.status != "passed"}
    assert failed == {"public", "hidden"}, [(c.label, c.status) for c in question.cases]


ONE_SIDED = {
    "exploding-first-then-isclose": ("if rho > 1:", "exploding", "if np.isclose(rho, 1):", "preserved", "vanishing"),
    "exploding-first-then-tolerance": ("if rho > 1:", "exploding", "if abs(rho - 1) <= 1e-9:", "preserved",
                                       "vanishing"),
    "vanishing-first-then-tolerance": ("if rho < 1:", "vanishing", "if abs(rho - 1) <= 1e-9:", "preserved",
                                       "exploding"),
    "tolerance-below-only": ("if rho < 1 - 1e-9:", "vanishing", "if rho > 1:", "exploding", "preserved"),
    "tolerance-above-only": ("if rho > 1 + 1e-9:", "exploding", "if rho < 1:", "vanishing", "preserved"),
    "tolerance-then-isclose": ("if rho > 1 + 1e-9:", "exploding", "if np.isclose(rho, 1):", "preserved",
                               "vanishing"),
}


@pytest.mark.parametrize("name", ONE_SIDED)
def test_a_one_sided_test_of_rho_equal_to_one_fails_a_public_and_a_hidden_case(session, tmp_path, name):
    """"exploding if ρ > 1" tested before "within 1e-9" is right wherever numpy computes a ρ of 1 as 1
    or just below it; "vanishing if ρ < 1" first, wherever it comes out just above. The public cases
    had one ρ of 1 that rounded below (so the first passed every public case and failed hidden ones),
    the demo secret's hidden cases none (so the second failed a public case only); and only hidden
    cases had ρ = 1 − 5e-6, which np.isclose after "ρ > 1 + 1e-9" calls preserved."""
    first, then, second, after, last = ONE_SIDED[name]
    path = tmp_path / "student.py"
    path.write_text(student_module(Mutant("2c-regime", "", f'''
def gradient_regime(W):
    rho = np.max(np.abs(np.linalg.eigvals(W)))
    {first}
        return "{then}"
    {second}
        return "{after}"
    return "{last}"
''')))
    question = by_id(session.grade(path))["2c-regime"]
    failed = {c.visibility for c in question.cases if c.status != "passed"}
    assert failed == {"public", "hidden"}, [(c.label, c.status) for c in question.cases]


@pytest.mark.parametrize("value", ['{"F", "I", "O"}', '["f", "I ", "O"]'])
def test_the_always_positive_gates_in_capitals_are_right(session, tmp_path, value):
    """Names are compared as labels are ("Vanishing" is "vanishing"): without case or surrounding
    blanks. The contract's names are all lower case, so no two of them become one."""
    path = tmp_path / "student.py"
    path.write_text(student_module(Mutant("3b", "", f"ALWAYS_POSITIVE = {value}\n")))
    question = by_id(session.grade(path))["3b"]
    assert question.score == question.max_score, question.cases[0].message


@pytest.mark.parametrize("value, unknown", [('{"f_t", "i_t", "o_t"}', "'f_t', 'i_t', 'o_t'"),
                                            ('{"forget", "input", "output"}', "'forget', 'input', 'output'"),
                                            ('{"f", "i", "o", "C~"}', "'C~'")])
def test_names_that_are_not_the_contracts_are_named_as_such(session, tmp_path, value, unknown):
    """'3 name(s) missing, 3 that do not belong' sends a student who knows the answer but spells it
    f_t back to the mathematics; the message says which names are not names of this answer at all."""
    path = tmp_path / "student.py"
    path.write_text(student_module(Mutant("3b", "", f"ALWAYS_POSITIVE = {value}\n")))
    question = by_id(session.grade(path))["3b"]
    assert question.score == 0
    message = question.cases[0].message
    assert f"Not names of this answer: {unknown} (its names are " in message, message
    assert "'c', 'c_tilde', 'f', 'h', 'i', 'o'" in message, message


NEAR_MISSES = [
    Mutant("1b", "", '''
def bptt_grad(W, U, xs, h0, gs):
    W, U, xs, h0, gs = (np.asarray(a, dtype=np.float32) for a in (W, U, xs, h0, gs))   # float32 throughout
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
''', name="float32"),
    Mutant("2b", "", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q)) * 1.00001    # off by 1e-5
''', name="off-by-1e-5"),
    Mutant("2b", "", '''
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M.astype(np.float32))                          # float32 eigendecomposition
    return np.real(Q @ np.diag(lam ** p) @ np.linalg.inv(Q))
''', name="float32"),
]


@pytest.mark.parametrize("mutant", NEAR_MISSES, ids=lambda m: m.name)
def test_a_near_miss_fails_and_says_how_close_it_is(session, tmp_path, mutant):
    """float32 arithmetic (~1e-6 relative after a few steps) or a value off by 1e-5 is not within the
    tolerance (rtol 1e-6): it fails, and the report says the answer is close, to how many digits, and
    what loses digits, rather than leaving the student to hunt for a mistake in the formula."""
    path = tmp_path / "student.py"
    path.write_text(student_module(mutant))
    question = by_id(session.grade(path))[mutant.qid]
    assert question.score < question.max_score
    close = [w for w in question.where if w.startswith("the answer is close to the right one")]
    assert close, question.where
    assert all("significant digits, the tolerance asks for 6" in w for w in close), close
    # Rounding grows with T and p: a near miss right for T = 1 or p = 1 says nothing of where a formula
    # goes wrong ("what flows back through W is wrong", "check how Λ is raised to the power p").
    assert not set(question.where) & set(STRUCTURE_SENTENCES), question.where


OTHER_NEAR_MISSES = [
    Mutant("3c-cell", "", '''
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    def C(cp):
        f, i, o, ct = gates(params, x, o_prev * np.tanh(cp))
        return f * cp + i * ct
    n, eps = len(c_prev), 1e-4
    J = np.zeros((n, n))
    for j in range(n):                               # one-sided finite differences
        e = np.zeros(n); e[j] = eps
        J[:, j] = (C(c_prev + e) - C(c_prev)) / eps
    return J
''', name="finite-differences"),
    Mutant("1b", "", "K = 5\n" + TRUNCATED["1b"], name="truncated-after-5"),
]


def test_a_near_miss_that_is_not_rounding_is_not_blamed_on_rounding(session, tmp_path):
    """A one-sided finite difference agrees to 4-5 digits, and so does BPTT cut after 5 steps on a
    sequence whose early terms vanish: 'float32 arithmetic or numbers typed with few digits lose them'
    sent such students looking for a dtype; the sentence names the other ways to be this close."""
    path = tmp_path / "student.py"
    path.write_text(student_module(None) + "\n" + "".join(m.source for m in OTHER_NEAR_MISSES))
    questions = by_id(session.grade(path))
    for mutant in OTHER_NEAR_MISSES:
        close = [w for w in questions[mutant.qid].where if w.startswith("the answer is close to the right one")]
        assert close, (mutant.name, questions[mutant.qid].where)
        assert all("finite-difference" in w and "small term" in w for w in close), close


@pytest.mark.parametrize("qid, source, says", [
    ("2c", "def W_30():\n    return np.linalg.matrix_power(np.array([[0.58, 0.24], [0.24, 0.72]]), 30)\n",
     "`W_30` is a function; it must be a value: assign the result to `W_30` (`W_30 = ...`)"),
    ("3b", 'ALWAYS_POSITIVE = "fio"\n',
     "returned one string ('fio'); expected a set of names: a string is one name, not a set of its letters"),
    ("3b", 'ALWAYS_POSITIVE = "f, i, o"\n',
     "returned one string ('f, i, o'); expected a set of names: a string is one name, not a set of its letters"),
])
def test_a_value_in_the_wrong_form_is_told_what_form(session, tmp_path, qid, source, says):
    """W_30 written as a function ("returned `function`, not an array of numbers": it was never
    called) and a set of gates written as one string fail, saying what to write instead."""
    path = tmp_path / "student.py"
    path.write_text(student_module(Mutant(qid, "", source)))
    question = by_id(session.grade(path))[qid]
    assert question.score == 0
    assert question.cases[0].message == says, question.cases[0].message
