"""Hand-ins as real students write them, and what the report must tell them.

Each notebook here is a correct solution (carol's module) with one thing real hand-ins do: cells
run out of order while the notebook was written, a graded name spelt differently or kept inside a
class, a function that changes its arguments, an answer returned with its cache. The grade must be
what the code earns, and the report must say what happened and what to do, in `grade` (sandboxed,
hidden cases) and in `check` (the student's self-check) alike.
"""
from __future__ import annotations

import json
from pathlib import Path

from grader import selfcheck
from grader.results import CellStatus

ROOT = Path(__file__).resolve().parent.parent
# Carol's definitions, without her `if __name__ == "__main__":` demo (which a notebook runs).
CAROL = (ROOT / "submissions" / "carol_module.py").read_text(encoding="utf-8").split('if __name__ ==')[0]
W = "np.array([[0.58, 0.24], [0.24, 0.72]])"


def notebook(tmp_path: Path, name: str, *cells: str, counts: list[int | None] | None = None) -> Path:
    """A notebook as Jupyter saves it, one code cell per string (`counts`: their execution counts)."""
    counts = counts or [None] * len(cells)
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
          "cells": [{"cell_type": "code", "metadata": {}, "execution_count": count, "outputs": [],
                     "source": source.splitlines(True)} for source, count in zip(cells, counts)]}
    path = tmp_path / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def question(result, qid):
    return next(q for q in result.questions if q.id == qid)


def public_messages(result, qid):
    return [c.message for c in question(result, qid).cases if c.visibility == "public"]


# ------------------------------------------------------------------------------------------------
# Names: used above their definition, defined in a cell that failed, misspelt, inside a class


def out_of_order(tmp_path: Path, counts: list[int | None] | None = None) -> Path:
    """W³⁰ computed in the first cell with a function the second cell defines: it worked in the
    student's kernel (the second cell had run first: `counts` [2, 1]), not from the top."""
    return notebook(tmp_path, "out_of_order.ipynb",
                    f"import numpy as np\nW = {W}\nW_30 = matrix_power_eig(W, 30)",
                    CAROL.replace("W_30 =", "_w30 ="), counts=counts)


def test_a_cell_that_uses_a_later_definition_says_so(session, public_cases, tmp_path):
    path = out_of_order(tmp_path)
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        assert result.score == result.max_score - question(result, "2c").max_score
        first = result.cells[0]
        assert first.status == CellStatus.ERROR
        assert "`matrix_power_eig` is defined in cell 2, below this one" in first.error
        assert "Restart & Run All" in first.error
        [message] = public_messages(result, "2c")
        assert "Cell 1, which defines `W_30`, stopped before defining it" in message
        assert not [p for p in result.problems if p.code == "run-out-of-order"]     # no counts saved


def test_a_notebook_run_out_of_order_says_so_when_a_cell_fails(session, public_cases, tmp_path):
    path = out_of_order(tmp_path, counts=[2, 1])
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        [problem] = [p.message for p in result.problems if p.code == "run-out-of-order"]
        assert problem.startswith("this notebook was last run out of order in Jupyter (cell 1 ran as [2], "
                                  "the later cell 2 as [1])")
        assert "Restart & Run All" in problem
    # run out of order, but every cell works from the top: nothing to say
    fine = notebook(tmp_path, "fine.ipynb", CAROL, "x = 1", counts=[5, 2])
    assert not [p for p in session.grade(fine).problems if p.code == "run-out-of-order"]


def test_a_graded_name_spelt_otherwise_or_inside_a_class_is_named(session, public_cases, tmp_path):
    code = (CAROL.replace("def bptt_grad(", "def bptt_gradient(")
            .replace("ALWAYS_POSITIVE", "always_positive")
            .replace("def lstm_step(", "class LSTM:\n  @staticmethod\n  def lstm_step("))
    path = notebook(tmp_path, "names.ipynb", code)
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        for qid, words in (("1b", "The code defines `bptt_gradient`, not `bptt_grad`"),
                           ("3b", "The code defines `always_positive`, not `ALWAYS_POSITIVE`"),
                           ("3-step", "`lstm_step` is defined only inside the class `LSTM`")):
            messages = public_messages(result, qid)
            assert messages and all(m.startswith(f"`{question(result, qid).name}` is not defined\n") for m in messages)
            assert all(words in m for m in messages), (qid, messages)


def test_a_graded_name_in_a_cell_python_cannot_read_names_that_cell(public_session, public_cases, tmp_path):
    """erin's shape: the cell that defines `gradient_regime` has a syntax error further down."""
    broken = "def gradient_regime(W):\n    rho = max(abs(np.linalg.eigvals(W)))\n    if rho < 1\n        return 'vanishing'\n"
    path = notebook(tmp_path, "syntax.ipynb", CAROL.replace("def gradient_regime", "def _regime"), broken)
    for result in (public_session.grade(path), selfcheck.check_file(path, public_cases)):
        messages = public_messages(result, "2c-regime")
        assert messages and all("Cell 2, which defines `gradient_regime`, did not run at all, since Python "
                                "cannot read it: line 3 (cell 2): SyntaxError" in m for m in messages), messages


def test_a_module_that_stopped_names_where(session, tmp_path):
    path = tmp_path / "hw3.py"
    path.write_text(CAROL.replace("W_30 =", "W_30 = undefined_helper() +"), encoding="utf-8")
    result = session.grade(path)
    [message] = public_messages(result, "2c")
    assert "The module, which defines `W_30`, stopped before defining it: " in message
    assert "undefined_helper" in message


# ------------------------------------------------------------------------------------------------
# What a function returns instead of its answer


RETURNS = {
    # a forgotten `return` (the answer printed): numpy reads None as NaN, of shape (1,)
    "1a": ("def sigmoid_jacobian(W, x):\n    s = 1 / (1 + np.exp(-(W @ x)))\n    J = (s * (1 - s))[:, None] * W\n"
           "    print(J)\n", "returned None: the function ends without `return <answer>`"),
    # the answer with its cache, as in a forward pass
    "1b": ("_bptt = bptt_grad\ndef bptt_grad(W, U, xs, h0, gs):\n    return _bptt(W, U, xs, h0, gs), {'xs': xs}\n",
           "returned a tuple of 2 items (ndarray ("),
    # a generator of rows
    "3c-carousel": ("def cell_state_gradient(fs):\n    d = np.prod(fs, axis=0)\n"
                    "    return (row for row in np.diag(d))\n", "returned `generator`, not an array of numbers"),
    # a helper without `return` inside a list
    "2b": ("def _power(lam, p):\n    lam ** p\n"
           "def matrix_power_eig(M, p):\n    lam, Q = np.linalg.eig(M)\n"
           "    return [[_power(l, p) for l in lam] for _ in lam]\n", "returned an array that holds None"),
    # a dict answer with one value never computed: which key says so
    "3c-gates": ("_gates = lstm_gate_jacobians\ndef lstm_gate_jacobians(params, x, h_prev):\n"
                 "    J = _gates(params, x, h_prev)\n    J['c_tilde'] = None\n    return J\n",
                 "['c_tilde'] is None, not an array"),
    # a cache decorator on a function of arrays (TypeError: unhashable, raised before the student's code)
    "2c-regime": ("import functools\n_regime = gradient_regime\n@functools.lru_cache(maxsize=None)\n"
                  "def gradient_regime(W):\n    return _regime(W)\n", "wrapped in functools.lru_cache"),
    # a label computed and printed, not returned
    "3-step": ("def lstm_step(params, x, h_prev, c_prev):\n    print('todo')\n", "returned None: the function ends"),
    # a scalar for a matrix: its shape is (), not (1,)
    "3c-cell": ("def lstm_cell_jacobian(params, x, c_prev, o_prev):\n    return np.float64(1.0)\n", "got ()."),
}


def test_what_came_back_instead_of_an_answer_is_named(session, public_cases, tmp_path):
    path = notebook(tmp_path, "returns.ipynb", CAROL, *(code for code, _ in RETURNS.values()))
    graded = session.grade(path)
    assert [c.status for c in graded.cells] == [CellStatus.OK] * (1 + len(RETURNS))
    for result in (graded, selfcheck.check_file(path, public_cases)):
        assert result.score == result.max_score - sum(question(result, q).max_score for q in RETURNS)
        for qid, (_, words) in RETURNS.items():
            messages = public_messages(result, qid)
            assert messages and all(words in m for m in messages), (qid, messages)


# ------------------------------------------------------------------------------------------------
# A function that changes its arguments (the contract forbids it)


def test_a_function_that_changes_its_arguments_is_told(session, public_cases, tmp_path):
    path = notebook(tmp_path, "in_place.ipynb", CAROL,
                    "def sigmoid_jacobian(W, x):\n    s = 1 / (1 + np.exp(-(W @ x)))\n"
                    "    W *= (s * (1 - s))[:, None]\n    return W\n",
                    "_gates = lstm_gate_jacobians\ndef lstm_gate_jacobians(params, x, h_prev):\n"
                    "    params['cache'] = h_prev\n    return _gates(params, x, h_prev)\n")
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        assert result.score == result.max_score      # the right values, each case on fresh inputs
        changed = [p.message for p in result.problems if p.code == "changes-arguments"]
        assert len(changed) == 2, result.problems
        assert changed[0].startswith("`sigmoid_jacobian` changes its argument `W` in place (case ")
        assert "`W = W.copy()`" in changed[0]
        assert changed[1].startswith("`lstm_gate_jacobians` changes its argument `params` in place")
    untouched = session.grade(ROOT / "submissions" / "carol_module.py")
    assert not [p for p in untouched.problems if p.code == "changes-arguments"]


# ------------------------------------------------------------------------------------------------
# What a notebook needs that the hand-in does not hold; a graded name defined twice


def test_a_file_that_is_not_handed_in_is_explained(session, public_cases, tmp_path):
    path = notebook(tmp_path, "data_file.ipynb", "!wget -q https://example.org/weights.npy",
                    "import numpy as np\nweights = np.load('weights.npy')", "%run helpers.py", CAROL)
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        assert result.score == result.max_score
        errors = {c.index: c.error for c in result.cells if c.status != CellStatus.OK}
        assert sorted(errors) == [2, 3], errors
        assert "FileNotFoundError" in errors[2] and "the grader runs the submitted file alone" in errors[2]
        assert "(`!wget`, `%%bash`) are not run" in errors[2]
        assert "helpers.py" in errors[3] and "the grader runs the submitted file alone" in errors[3]


def test_a_graded_name_defined_twice_names_the_one_graded(session, public_cases, tmp_path):
    stub = "def sigmoid_jacobian(W, x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    path = notebook(tmp_path, "twice.ipynb", CAROL, "x = 1", stub)
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        [problem] = [p.message for p in result.problems if p.code == "redefined"]
        assert problem.startswith("`sigmoid_jacobian` is defined in cells 1 and 3: ")
        assert "the definition in cell 3 is the one graded" in problem
    # the function replaced by its own result, while trying it out
    tried = notebook(tmp_path, "tried.ipynb", CAROL, "W = np.ones((3, 2))\nsigmoid_jacobian = sigmoid_jacobian(W, np.ones(2))")
    for result in (session.grade(tried), selfcheck.check_file(tried, public_cases)):
        [problem] = [p.message for p in result.problems if p.code == "redefined"]
        assert problem.startswith("cell 2 assigns `sigmoid_jacobian` a value (line 2: `sigmoid_jacobian = "
                                  "sigmoid_jacobian(W, np.ones(2))`), which replaces the function")
    # a correct notebook that redefines a name (a first try, then the fix) hears nothing of it
    fixed = notebook(tmp_path, "fixed.ipynb", stub, CAROL)
    assert not [p for p in session.grade(fixed).problems if p.code == "redefined"]


def test_a_module_that_defines_a_graded_name_under_its_main_guard_is_told(session, public_cases, tmp_path):
    path = tmp_path / "hw3.py"
    path.write_text(CAROL.replace("W_30 =", "_unused =") + '\nif __name__ == "__main__":\n'
                    f"    W_30 = matrix_power_eig({W}, 30)\n    print(W_30)\n", encoding="utf-8")
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        [message] = public_messages(result, "2c")
        assert "`W_30` is defined only under `if __name__ == \"__main__\":`" in message
    # in a notebook, __name__ is "__main__": the same code defines the name
    assert session.grade(notebook(tmp_path, "guarded.ipynb", path.read_text())).score == 100


def test_a_module_whose_top_level_code_runs_too_long_is_told_where_it_belongs(public_cases, tmp_path):
    """A training loop at the top of a module runs when the module is graded (the same words in the
    sandboxed run: the pipeline words both)."""
    from grader.protocol import Limits

    path = tmp_path / "hw3.py"
    path.write_text(CAROL + "\nfor epoch in range(10**12):\n    pass\n", encoding="utf-8")
    result = selfcheck.check_file(path, public_cases, Limits(case_seconds=1.0, cell_seconds=0.5,
                                                             submission_seconds=60.0))
    assert result.score == result.max_score
    [module] = result.cells
    assert module.status == CellStatus.TIMEOUT
    assert module.error.startswith("the module's top-level code ran longer than 0.5 s")
    assert "`if __name__ == \"__main__\":`" in module.error


# ------------------------------------------------------------------------------------------------
# `grader check` runs as the grading does: the graded environment's imports only, and says so


def test_the_portable_check_gates_imports_and_names_them_as_the_sandboxed_check_does(config, public_session,
                                                                                      public_cases, tmp_path):
    """`PIL` is installed here (matplotlib needs it) but not promised by the graded environment; a
    student whose machine has a package the grading lacks must hear it from `grader check`."""
    path = notebook(tmp_path, "imports.ipynb", "import numpy as np\nimport PIL\nfrom PIL import Image",
                    "try:\n    import pandas as pd\nexcept ImportError:\n    pd = None", CAROL, "img = Image.new('L', (2, 2))")
    sandboxed = public_session.grade(path)
    portable = selfcheck.check_file(path, public_cases, environment=config.environment)
    for result in (sandboxed, portable):
        assert result.score == result.max_score
        assert [(c.index, c.status, c.missing_module) for c in result.cells if c.status != CellStatus.OK] == [
            (1, CellStatus.ERROR, "PIL"), (4, CellStatus.ERROR, "")]
        problems = [p.message for p in result.problems]
        assert any(m.startswith("cell 1 failed on `import PIL`: `PIL` is not available when this is graded")
                   for m in problems), problems
        assert any(m.startswith("`pandas` is not available when this is graded (cell 2, line 2") for m in problems)
        assert "probably because cell 1 failed on `import PIL`" in result.cells[-1].error
    assert [p.code for p in portable.problems] == [p.code for p in sandboxed.problems]


def test_a_helper_module_that_was_not_handed_in_is_named_as_such(public_session, tmp_path):
    path = notebook(tmp_path, "helper.ipynb", "from hw3_utils import sigmoid\nimport numpy as np", CAROL)
    result = public_session.grade(path)
    [problem] = [p.message for p in result.problems if p.code == "import-failed"]
    assert problem.startswith("cell 1 failed on `import hw3_utils`")
    assert "if it is a file of your own, only the submitted file is graded" in problem


def test_notebook_progress_bars_do_not_cost_the_cell_that_holds_them(config, session, public_cases, tmp_path):
    """`tqdm.notebook` draws ipywidgets, which Jupyter has and the graded environment does not: the
    bars become text bars, and the training loop's cell (which defines a graded name after the loop)
    runs as in Jupyter."""
    loop = ("from tqdm.notebook import tqdm, trange\nlosses = []\nfor epoch in trange(3, desc='epochs'):\n"
            "    for step in tqdm(range(2), leave=False, display=False):\n        losses.append(epoch * step)\n"
            "W_30 = _w30\n")
    path = notebook(tmp_path, "bars.ipynb", CAROL.replace("W_30 =", "_w30 ="), loop)
    for result in (session.grade(path), selfcheck.check_file(path, public_cases, environment=config.environment)):
        assert [c.error for c in result.cells if c.status != CellStatus.OK] == []
        assert result.score == result.max_score


def test_the_kernel_check_tells_of_changed_arguments_too(config):
    """`grader.check()` in Jupyter calls the live definitions: the same words as `grader check`."""
    import numpy as np

    from grader import jupyter

    def sigmoid_jacobian(W, x):
        s = 1 / (1 + np.exp(-(W @ x)))
        W *= (s * (1 - s))[:, None]
        return W

    report = jupyter.check("1a", namespace={"sigmoid_jacobian": sigmoid_jacobian}, config=config)
    assert report.passed
    [problem] = [p.message for p in report.result.problems if p.code == "changes-arguments"]
    assert problem.startswith("`sigmoid_jacobian` changes its argument `W` in place")
    assert "changes its argument `W`" in str(report)


def test_definitions_are_read_from_cells_with_magics_and_within_a_budget():
    from grader import names

    cell = "%matplotlib inline\n!pip install numpy\nimport numpy as np\nfor k in range(2):\n    pass\n" \
           "def f(x):\n    y = 1\n    return x\nclass Model:\n    def g(self):\n        pass\nh = f\n" \
           "if __name__ == '__main__':\n    W_30 = 1\n"
    found = names.defined(cell)
    assert found.names == {"np", "k", "f", "Model", "h", "W_30"}
    assert found.methods == {"g": "Model.g"} and found.main_only == {"W_30"} and found.assigned["h"] == 12
    assert names.defined("%%writefile helpers.py\ndef f():\n    pass\n").names == set()
    assert names.defined("%%time\ndef f():\n    pass\n").names == {"f"}
    defs = names.Definitions({0: "def bptt_gradient(): pass", 1: "x = (" * 10, 2: "ALWAYS_positive = 1"})
    assert defs.spelt_like("bptt_grad") == "bptt_gradient" and defs.spelt_like("ALWAYS_POSITIVE") == "ALWAYS_positive"
    assert defs.where("x") == [1] and defs.spelt_like("unrelated_name") == ""   # unreadable: its plain lines
    huge = names.Definitions({0: "x = 1\n" * (names.BUDGET // 6 + 1), 1: "def f(): pass"})
    assert huge.where("f") == []         # past the budget: nothing read, nothing claimed


# ------------------------------------------------------------------------------------------------
# A notebook saved by Google Colab, its LSTM written in a real author's style
#
# Adapted from Kunal-artist/lstm-from-scratch-numpy, LSTM_From_Scratch.ipynb (a Colab notebook):
# `lstm_cell_forward(xt, a_prev, c_prev, parameters)` concatenating a_prev and xt, a cache tuple
# unpacked by the backward pass, gate derivatives written `ft * (1 - ft)`; here on the contract's
# names and parameters (W* and U* side by side, no biases). Saved as Colab saves: nbformat 4.0,
# `source` as lists, no top-level cell ids (Colab keeps them in `metadata.id`), `colab` metadata,
# a kernelspec without a language, outputs with an error. Measured with nbclient: only the Drive
# cell fails (ModuleNotFoundError: google), as here.

KUNAL_LSTM = '''def sigmoid(x):
    """
    Compute the sigmoid of x.
    """
    s = 1 / (1 + np.exp(-x))
    return s


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    # Retrieve parameters from "parameters": [W | U], acting on concat(a_prev, xt)
    Wf = np.concatenate((parameters["Wf"], parameters["Uf"]), axis=1)  # forget gate weight
    Wi = np.concatenate((parameters["Wi"], parameters["Ui"]), axis=1)  # update gate weight
    Wc = np.concatenate((parameters["Wc"], parameters["Uc"]), axis=1)  # candidate value weight
    Wo = np.concatenate((parameters["Wo"], parameters["Uo"]), axis=1)  # output gate weight

    # Concatenate a_prev and xt
    concat = np.concatenate((a_prev, xt), axis=0)

    # Compute values for ft, it, cct, c_next, ot, a_next using the formulas
    ft = sigmoid(Wf @ concat)
    it = sigmoid(Wi @ concat)
    cct = np.tanh(Wc @ concat)
    c_next = ft * c_prev + it * cct
    ot = sigmoid(Wo @ concat)
    a_next = ot * np.tanh(c_next)

    # store values needed for backward propagation in cache
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, cache


def lstm_step(params, x, h_prev, c_prev):
    a_next, c_next, cache = lstm_cell_forward(x, h_prev, c_prev, params)
    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
    return {"f": ft, "i": it, "o": ot, "c_tilde": cct, "c": c_next, "h": a_next}


ALWAYS_POSITIVE = ["f", "i", "o"]
'''

KUNAL_BACKWARD = '''def lstm_gate_jacobians(params, x, h_prev):
    _, _, cache = lstm_cell_forward(x, h_prev, np.zeros_like(h_prev), params)
    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
    # Compute gates derivatives, one row per unit
    dft = (ft * (1 - ft))[:, None] * parameters["Wf"]
    dit = (it * (1 - it))[:, None] * parameters["Wi"]
    dot = (ot * (1 - ot))[:, None] * parameters["Wo"]
    dcct = (1 - cct ** 2)[:, None] * parameters["Wc"]
    return {"f": dft, "i": dit, "o": dot, "c_tilde": dcct}


def lstm_cell_jacobian(params, x, c_prev, o_prev):
    tanh_c_prev = np.tanh(c_prev)
    h_prev = o_prev * tanh_c_prev
    _, _, cache = lstm_cell_forward(x, h_prev, c_prev, params)
    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
    da_prev_dc_prev = o_prev * (1 - tanh_c_prev ** 2)
    gates = lstm_gate_jacobians(params, x, h_prev)
    dc_next_da_prev = c_prev[:, None] * gates["f"] + cct[:, None] * gates["i"] + it[:, None] * gates["c_tilde"]
    return np.diag(ft) + dc_next_da_prev * da_prev_dc_prev[None, :]


def cell_state_gradient(fs):
    fs = np.asarray(fs)
    dc = np.ones(fs.shape[1])
    for ft in fs:
        dc = dc * ft
    return np.diag(dc)
'''


def colab_notebook(tmp_path: Path, name: str, sources: list[str]) -> Path:
    """`sources` as Google Colab saves a notebook (see above), the first cell mounting Drive."""
    cells = [{"cell_type": "markdown", "metadata": {"id": "view-in-github", "colab_type": "text"},
              "source": ["<a href=\"https://colab.research.google.com/\" target=\"_parent\">Open In Colab</a>"]}]
    for number, source in enumerate(sources, 1):
        cells.append({"cell_type": "code", "execution_count": number,
                      "metadata": {"id": f"c{number:03d}XmJOUhG", "colab": {"base_uri": "https://localhost:8080/"},
                                   "outputId": f"{number:04x}-77e1"},
                      "outputs": [], "source": source.splitlines(True)})
    cells[1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["Mounted at /content/drive\n"]}]
    cells[-1]["outputs"] = [{"output_type": "error", "ename": "NameError", "evalue": "name 'np' is not defined",
                             "traceback": ["\u001b[0;31mNameError\u001b[0m: name 'np' is not defined"]}]
    nb = {"nbformat": 4, "nbformat_minor": 0,
          "metadata": {"colab": {"provenance": [], "collapsed_sections": [], "gpuType": "T4"},
                       "kernelspec": {"name": "python3", "display_name": "Python 3"},
                       "language_info": {"name": "python"}, "accelerator": "GPU"},
          "cells": cells}
    path = tmp_path / name
    path.write_text(json.dumps(nb, indent=2), encoding="utf-8")
    return path


def test_a_colab_notebook_in_a_real_authors_lstm_style_is_graded_in_full(session, public_cases, tmp_path):
    drive = "from google.colab import drive\ndrive.mount('/content/drive')\n%cd /content/drive/MyDrive/hw3"
    path = colab_notebook(tmp_path, "HW3_LSTM.ipynb", [drive, "!pip install -q numpy\nimport numpy as np", CAROL,
                                                       KUNAL_LSTM, KUNAL_BACKWARD])
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        assert [c.index for c in result.cells if c.status != CellStatus.OK] == [2]
        assert result.score == 100.0, [(q.id, q.score) for q in result.questions]
        assert any("google" in p.message for p in result.problems), [p.message for p in result.problems]


# ------------------------------------------------------------------------------------------------
# Cells are named as the student counts them


def test_cells_are_numbered_as_the_student_counts_them_from_one(public_session, public_cases, tmp_path):
    """Jupyter shows no cell index (only `In [n]`, which changes with every run), so a student finds
    "cell N" by counting from the top, the first cell being 1 and markdown cells counted too. The
    reports said "cell 2" for the third cell (numbered from 0), and the work page had no numbers."""
    path = tmp_path / "counted.ipynb"
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Homework 3"]},
             {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": CAROL},
             {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": "x = 1\nraise ValueError('mine')\n"}]
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": cells, "metadata": {
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}}), encoding="utf-8")
    from grader.render.notebook import work_page
    for result in (public_session.grade(path), selfcheck.check_file(path, public_cases)):
        [failed] = [c for c in result.cells if c.status == CellStatus.ERROR]
        assert failed.error.startswith("line 2 (cell 3): ValueError: mine"), failed.error
        page = work_page(path, result)
        assert 'id="cell-3"' in page and ">cell 3<" in page and 'id="cell-1"' in page
        assert 'id="cell-0"' not in page and ">cell 0<" not in page
