"""Grading end to end: the examples score as they should, and every failure path fails alone."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.results import CRASHED, ERROR, FAILED, GRADED, MISSING, NOT_RUN, PASSED, TIMEOUT, UNREADABLE, Result

from conftest import ROOT, SUBMISSIONS

CAROL = (SUBMISSIONS / "carol_module.py").read_text()
FULL = 100.0


def scores(result):
    return {q.id: q.score for q in result.questions}


def assert_only(result, qid, full=None):
    """Every question except `qid` (and those in `full`) keeps full marks."""
    for q in result.questions:
        if q.id != qid:
            assert q.score == q.max_score, (q.id, q.cases[0].message)
    assert scores(result)[qid] < result.questions[[q.id for q in result.questions].index(qid)].max_score


def module(tmp_path, extra: str, name="student.py") -> Path:
    path = tmp_path / name
    path.write_text(CAROL + "\n\n" + extra)
    return path


def notebook(tmp_path, cells: list[str], name="student.ipynb", **meta) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata.update({"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    nb.metadata.update(meta)
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


# ----------------------------------------------------------------------------------- the examples

@pytest.mark.parametrize("path", ["reference", "submissions/alice_correct.ipynb", "submissions/carol_module.py"])
def test_correct_solutions_get_full_marks(session, path):
    result = session.grade(ROOT / path)
    assert result.status == GRADED
    assert result.score == FULL, [(q.id, q.cases[0].message) for q in result.questions if q.score < q.max_score]
    assert all(not q.diagnosis for q in result.questions)


def test_seed_mistakes_lose_marks_exactly_where_they_are(session):
    result = session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")
    s = scores(result)
    for qid in ("1a", "1b", "2b", "3-step", "3b", "3c-gates", "3c-carousel"):
        assert s[qid] == result.questions[[q.id for q in result.questions].index(qid)].max_score, qid
    assert s["2c"] == 0
    assert s["3c-cell"] == 0
    assert 0 < s["2a"] < 10
    assert 0 < s["2c-regime"] < 5
    diag = {q.id: q.diagnosis for q in result.questions}
    assert "zero-instead-of-small" in diag["2c"]
    assert "forget-gate-only" in diag["3c-cell"]
    assert "sigma-prime-not-per-step" in diag["2a"]
    assert "signed-eigenvalue-instead-of-modulus" in diag["2c-regime"]


def test_broken_notebook_is_unreadable_with_a_plain_message(session):
    result = session.grade(SUBMISSIONS / "dave_broken.ipynb")
    assert result.status == UNREADABLE and result.score == 0
    assert any(p.code == "not-json" and "not a valid notebook" in p.message for p in result.problems)
    assert all(c.status == NOT_RUN for q in result.questions for c in q.cases)


def test_template_scores_zero_without_crashing(session):
    result = session.grade(SUBMISSIONS / "template.ipynb")
    assert result.status == GRADED and result.score == 0
    case = result.questions[0].public[0]
    assert case.status == ERROR and "NotImplementedError" in case.message


# ----------------------------------------------------------------------------------- failure paths

def test_missing_name_fails_that_question_only(session, tmp_path):
    result = session.grade(module(tmp_path, "del matrix_power_eig\n"))
    assert_only(result, "2b")
    q = result.questions[3]
    assert q.public[0].status == MISSING and "not defined" in q.public[0].message


def test_exception_fails_that_question_only_and_public_message_says_which(session, tmp_path):
    result = session.grade(module(tmp_path, "def cell_state_gradient(fs):\n    raise ValueError('my bug')\n"))
    assert_only(result, "3c-carousel")
    q = result.questions[-1]
    assert q.public[0].status == ERROR and "ValueError: my bug" in q.public[0].message
    assert all(c.message == "raised an exception or returned something that is not an answer" for c in q.hidden)


@pytest.fixture(scope="module")
def waiting_session(config):
    """For the tests that wait out a time-out: short limits (still far above an honest call or cell)."""
    from dataclasses import replace

    from grader.config import Limits
    from grader.session import Session

    with Session(replace(config, limits=Limits(case_seconds=0.5, cell_seconds=1, submission_seconds=60))) as s:
        yield s


def test_time_out_fails_that_question_only(waiting_session, tmp_path):
    source = "def gradient_regime(W):\n    while True:\n        pass\n"
    result = waiting_session.grade(module(tmp_path, source))
    assert_only(result, "2c-regime")
    statuses = {c.status for c in result.questions[5].cases}
    assert TIMEOUT in statuses and statuses <= {TIMEOUT, NOT_RUN}


def test_crash_fails_that_case_and_the_worker_is_replaced(session, tmp_path):
    source = "import os\ndef lstm_step(params, x, h_prev, c_prev):\n    os._exit(3)\n"
    result = session.grade(module(tmp_path, source))
    assert_only(result, "3-step")
    q = result.questions[6]
    assert all(c.status == CRASHED for c in q.cases)
    assert "died" in q.public[0].message


def test_segfault_in_one_case_only(session, tmp_path):
    source = ("import ctypes\n_old = sigmoid_jacobian\n"
              "def sigmoid_jacobian(W, x):\n"
              "    if W.shape == (1, 3):\n        ctypes.string_at(0)\n"
              "    return _old(W, x)\n")
    result = session.grade(module(tmp_path, source))
    q = result.questions[0]
    crashed = [c for c in q.cases if c.status == CRASHED]
    assert len(crashed) >= 1
    assert all(c.status == PASSED for c in q.cases if c.status != CRASHED)
    assert_only(result, "1a")


def test_unconvertible_return_is_an_error_not_a_crash(session, tmp_path):
    result = session.grade(module(tmp_path, "def sigmoid_jacobian(W, x):\n    return 'a string'\n"))
    assert_only(result, "1a")
    assert result.questions[0].public[0].status == ERROR
    assert "expected numbers" in result.questions[0].public[0].message or "not numbers" in result.questions[0].public[0].message


def test_wrong_shape_and_non_finite_answers_fail(session, tmp_path):
    source = ("import numpy as np\n_old = sigmoid_jacobian\n"
              "def sigmoid_jacobian(W, x):\n    return _old(W, x).T\n"
              "def bptt_grad(W, U, xs, h0, gs):\n    return np.full(W.shape, np.nan)\n")
    result = session.grade(module(tmp_path, source))
    assert "Wrong shape" in result.questions[0].public[0].message
    assert "NaN" in result.questions[1].public[0].message
    assert scores(result)["1b"] == 0


def test_syntax_error_in_a_module_fails_everything_with_the_reason(session, tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n    pass\n")
    result = session.grade(path)
    assert result.status == GRADED and result.score == 0
    assert result.cells[0].status == "error" and "SyntaxError" in result.cells[0].error


def test_notebook_magics_work_and_shell_escapes_are_not_run(session, tmp_path):
    marker = tmp_path / "ran"
    cells = ["%time x = 1", f"!touch {marker}", "%matplotlib inline", CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert result.score == FULL
    assert not marker.exists()
    assert any(p.code == "shell-escape-not-run" and "touch" in p.message for p in result.problems)


def test_plain_and_ipython_cells_share_one_namespace(session, tmp_path):
    """Plain cells run as Python, the others through IPython: a notebook cannot tell the difference."""
    cells = ["%time a_ = 1", "b_ = a_ + 1", "%time c_ = b_ + 1", "    d_ = c_ + 1", "ip_ok = get_ipython() is not None",
             CAROL, "print('chain', a_, b_, c_, d_, ip_ok, __name__)"]
    result = session.grade(notebook(tmp_path, cells))
    assert [c.status for c in result.cells] == ["ok"] * len(cells)
    assert "chain 1 2 3 4 True __main__" in result.output
    assert result.score == FULL


def test_student_code_does_not_inherit_the_workers_future_imports(session, tmp_path):
    probe = "def typed(x: int):\n    pass\nprint('annotations', typed.__annotations__)\n"
    from_notebook = session.grade(notebook(tmp_path, [CAROL, probe]))
    path = tmp_path / "module.py"
    path.write_text(CAROL + "\n" + probe)
    from_module = session.grade(path)
    for result in (from_notebook, from_module):
        assert "annotations {'x': <class 'int'>}" in result.output


def test_a_failing_cell_only_costs_what_it_defines(session, tmp_path):
    cells = [CAROL, "raise RuntimeError('cell two')\ndef gradient_regime(W):\n    return 'x'\n", "del W_30"]
    result = session.grade(notebook(tmp_path, cells))
    assert [c.status for c in result.cells] == ["ok", "error", "ok"]
    assert scores(result)["2c"] == 0 and scores(result)["2c-regime"] == 5
    assert result.score == FULL - 5


def test_a_hanging_cell_is_skipped_and_the_rest_graded(waiting_session, tmp_path):
    cells = [CAROL, "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n",
             "FLAG = 1"]
    result = waiting_session.grade(notebook(tmp_path, cells))
    assert result.cells[1].status == "timeout"
    assert result.score == FULL


def test_nbformat3_notebook_is_upgraded_and_graded(session, tmp_path):
    nb = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
          "worksheets": [{"cells": [{"cell_type": "code", "input": CAROL, "language": "python",
                                     "outputs": [], "metadata": {}}], "metadata": {}}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb))
    result = session.grade(path)
    assert result.score == FULL
    assert any(p.code == "upgraded" for p in result.problems)


def test_folder_with_one_notebook(session, tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    notebook(folder, [CAROL])
    (folder / "notes.txt").write_text("not the submission")
    assert session.grade(folder).score == FULL


def test_public_visibility_runs_public_cases_only(public_session):
    result = public_session.grade(SUBMISSIONS / "alice_correct.ipynb")
    assert result.visibility == "public"
    assert all(c.visibility == "public" for q in result.questions for c in q.cases)
    assert result.score == FULL


def test_results_round_trip_through_json(session):
    result = session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")
    text = json.dumps(result.to_dict(), allow_nan=False)
    again = Result.from_dict(json.loads(text))
    assert again.to_dict() == result.to_dict()
    data = json.loads(text)
    assert {"score", "max_score", "questions"} <= set(data)
    assert {"id", "title", "score", "max_score", "status", "cases"} <= set(data["questions"][0])


def test_hidden_cases_carry_no_inputs_or_values(session):
    result = session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")
    for q in result.questions:
        for case in q.hidden:
            assert case.inputs is None and case.expected is None and case.got is None
        for case in q.public:
            assert case.expected


def test_a_grader_fault_costs_one_result_not_the_run(session, monkeypatch):
    import grader.pipeline as pipeline_module

    def broken(*args, **kwargs):
        raise RuntimeError("simulated grader bug")

    # The test process's warm session: the fault is the grader's own, not its workers'.
    monkeypatch.setattr(pipeline_module, "grade", broken)
    result = session.grade(SUBMISSIONS / "carol_module.py")
    assert result.status == "error" and result.score == 0
    assert any(p.code == "internal-error" and "simulated grader bug" in p.message for p in result.problems)
    monkeypatch.undo()
    assert session.grade(SUBMISSIONS / "carol_module.py").score == FULL


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029\u00a0ab")), max_size=40))
def test_a_cells_first_line_is_splitlines_first_non_blank_line(source):
    """A cell's heading in the report (its first line that is not blank) is found without splitting
    the whole cell into lines: the same line as `str.splitlines` gives, whatever the line breaks."""
    from grader.text import first_line

    assert first_line(source) == next((line for line in source.splitlines() if line.strip()), "")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029\u00a0ab")), max_size=40),
       st.integers(min_value=-1, max_value=45))
def test_a_modules_nth_line_is_the_line_splitlines_gives(source, number):
    """The line a report names in a module is found without splitting the module into lines: the
    same line as `str.splitlines` gives, whatever the line breaks, and "" past the end."""
    from grader.text import nth_line

    lines = source.splitlines()
    assert nth_line(source, number) == (lines[number - 1] if 0 < number <= len(lines) else "")


# A set of strings is iterated in an order that depends on the interpreter's string hashes, which
# Python salts afresh in every process unless PYTHONHASHSEED fixes them. Forty strings: two salts
# give the same order about once in 40! runs.
SET_ORDER = ("WORDS = {" + ", ".join(repr(f"w{i}") for i in range(40)) + "}\nprint('order', list(WORDS))\n"
             "print('hashes', hash('w0'), hash('lstm'))\n")


def _printed(output: str, label: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(label))


@pytest.mark.parametrize("level", ["best", "rlimits"])
def test_what_a_set_iterates_is_the_same_in_every_worker_and_in_the_self_check(config, tmp_path, level):
    """A printed set, or an answer built by iterating one, must not change from one grading to the
    next (a regrade would show a change no one made) nor between the self-check and the grade:
    workers and the self-check's process run with the hash seed 0 that the worker's environment
    sets, which `python -I` used to ignore."""
    import subprocess
    import sys
    from dataclasses import replace

    from grader import selfcheck
    from grader.session import Session
    from shared_cases import PUBLIC, shared_case_set

    path = tmp_path / "sets.py"
    path.write_text(CAROL + "\n" + SET_ORDER, encoding="utf-8")
    seeded = subprocess.run([sys.executable, "-c", SET_ORDER], env={"PYTHONHASHSEED": "0"},
                            capture_output=True, text=True, check=True, timeout=60).stdout
    outputs = []
    for _ in range(2):                # each Session starts a worker of its own: a new interpreter
        with Session(replace(config, isolation=None if level == "best" else level),
                     case_set=shared_case_set(config)) as session:
            outputs.append(session.grade(path).output)
    checked = selfcheck.check_file(path, shared_case_set(config, PUBLIC)).output
    for output in outputs + [checked]:
        assert _printed(output, "hashes") == _printed(seeded, "hashes")
    assert _printed(outputs[0], "order") == _printed(outputs[1], "order")
    if level == "best":
        # (At the rlimits level on Python 3.10 the same hashes give an order with two pairs of
        # colliding strings the other way round: the same in every worker, but not the self-check's.)
        assert _printed(checked, "order") == _printed(outputs[0], "order")
