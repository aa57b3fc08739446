"""A `.py` hand-in written for IPython, graded as the notebook it came from would be.

Two shapes are common. A notebook exported as a script (Jupyter's "Download as Python",
`jupyter nbconvert --to script`) turns every magic and `!command` into a `get_ipython()` call, which
plain Python does not define. And a module pasted together from notebook cells keeps `%matplotlib
inline` or `!pip install ...` as they were, which plain Python refuses to compile. Either way
`python file.py` stops at the first such line, before any graded name is defined: a correct
solution would score nothing for a line about plots.

The grader runs such a file as IPython runs it (shell escapes recorded, not run, as in a notebook),
says so when Python itself would have refused the file, and grades every name. The sandboxed run and
the self-check agree. A real syntax error is still reported as one, at its own line.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from grader import i18n, selfcheck
from grader.protocol import Limits
from grader.results import CellStatus

ROOT = Path(__file__).resolve().parent.parent
CAROL = (ROOT / "submissions" / "carol_module.py").read_text(encoding="utf-8")
FAST = Limits(case_seconds=1.0, cell_seconds=5.0, submission_seconds=60.0)

# What `jupyter nbconvert --to script` writes for a notebook whose cells hold magics and shell
# escapes (its `ipython2python` filter is IPython's own input transformation).
EXPORTED = f"""#!/usr/bin/env python
# coding: utf-8

# In[1]:


get_ipython().run_line_magic('matplotlib', 'inline')
import matplotlib.pyplot as plt
get_ipython().system('pip install numpy')


# In[2]:


{CAROL}


# In[3]:


get_ipython().run_line_magic('timeit', 'sigmoid_jacobian(np.ones((3, 2)), np.ones(2))')
get_ipython().run_line_magic('time', 'check = bptt_grad(np.eye(2), np.ones((2, 1)), np.ones((3, 1)), np.zeros(2), np.ones((3, 2)))')
print("check", check.shape)
"""

# The same cells pasted into a .py as they were.
PASTED = f"""%matplotlib inline
import matplotlib.pyplot as plt
!pip install numpy

{CAROL}

%timeit sigmoid_jacobian(np.ones((3, 2)), np.ones(2))
"""


@pytest.fixture(scope="module")
def carol(session):
    return session.grade(ROOT / "submissions" / "carol_module.py")


def _write(tmp_path: Path, text: str, name: str = "hw3.py") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _kinds(result) -> set[str]:
    return {p.code for p in result.problems}


def test_a_notebook_exported_as_a_script_scores_as_the_module(session, carol, tmp_path):
    result = session.grade(_write(tmp_path, EXPORTED))
    assert carol.score == carol.max_score
    assert result.score == carol.score
    assert [c.status for c in result.cells] == [CellStatus.OK]
    assert "check (2, 2)" in result.output            # %time ran its statement, in the module's namespace
    shell = [p.message for p in result.problems if p.code == "shell-escape-not-run"]
    assert shell and "pip install numpy" in shell[0]
    assert "ipython-syntax" not in _kinds(result)     # plain Python compiles it: nothing to say


def test_a_cell_magics_body_defines_the_modules_names(session, public_cases, carol, tmp_path):
    """A notebook's `%%time` cell, exported, is `get_ipython().run_cell_magic('time', '', body)`;
    IPython runs the body in its user namespace, which for `ipython file.py` is the file's own.
    So is it here: a value computed under `%%time` is graded, in the sandbox and the self-check."""
    moved = CAROL.replace("\nW_30 = ", "\n_W_30_WAS = ")
    assert moved != CAROL
    text = EXPORTED.replace(CAROL, moved) + (
        "\nget_ipython().run_cell_magic('time', '', "
        "'W_30 = matrix_power_eig(np.array([[0.58, 0.24], [0.24, 0.72]]), 30)\\nTIMED = 1\\n')\n"
        "print('timed', TIMED)\n")
    path = _write(tmp_path, text)
    result = session.grade(path)
    assert result.score == carol.score, [(q.id, q.score) for q in result.questions]
    assert "timed 1" in result.output
    mine = selfcheck.check_file(path, selfcheck.select(public_cases, ["2c"]), FAST)
    assert [c.status for q in mine.questions for c in q.cases] == ["passed"]


def test_a_module_with_magics_pasted_in_runs_as_ipython_and_says_so(session, carol, tmp_path):
    result = session.grade(_write(tmp_path, PASTED))
    assert result.score == carol.score
    assert [c.status for c in result.cells] == [CellStatus.OK]
    notes = [p.message for p in result.problems if p.code == "ipython-syntax"]
    assert len(notes) == 1
    assert "line 1" in notes[0] and "%matplotlib inline" in notes[0]
    assert "shell-escape-not-run" in _kinds(result)
    # A student reading the feedback in Chinese gets it in Chinese, the line and its text unchanged.
    translated = i18n.translate_message(notes[0], i18n.translations("zh_CN"))
    assert translated.startswith("第 1 行（`%matplotlib inline`）")


@pytest.mark.parametrize("magic, graded", [("%%time", True), ("%%writefile rnn.py", False)])
def test_a_module_whose_first_line_is_a_cell_magic_says_what_that_means(session, carol, tmp_path, magic, graded):
    """A notebook cell pasted whole into a .py: its cell magic takes the whole file as its body, as
    in the notebook. `%%time` runs it (every name is graded); `%%writefile` only writes it to a file,
    so nothing is defined, and the note must not claim that the code was graded."""
    result = session.grade(_write(tmp_path, f"{magic}\n{CAROL}"))
    assert (result.score == carol.score) if graded else (result.score == 0)
    (note,) = [p.message for p in result.problems if p.code == "ipython-syntax"]
    assert note.startswith(f"line 1 (`{magic}`) is an IPython cell magic") and "its code was graded" not in note
    translated = i18n.translate_message(note, i18n.translations("zh_CN"))
    assert translated.startswith(f"第 1 行（`{magic}`）是 IPython 的单元格魔法命令")


def test_a_real_syntax_error_is_still_one_at_its_own_line(session, tmp_path):
    broken = PASTED.replace("def sigmoid_jacobian(W, x):", "def sigmoid_jacobian(W, x:")
    assert broken != PASTED
    line = broken.splitlines().index(next(l for l in broken.splitlines() if l.startswith("def sigmoid_jacobian"))) + 1
    result = session.grade(_write(tmp_path, broken))
    assert result.score == 0
    (cell,) = result.cells
    assert cell.status == CellStatus.ERROR
    assert "SyntaxError" in cell.error and f"line {line}" in cell.error
    assert "ipython-syntax" not in _kinds(result)


def test_a_plain_syntax_error_is_reported_as_python_reports_it(session, tmp_path):
    result = session.grade(_write(tmp_path, "import numpy as np\n\ndef f(:\n    pass\n" + CAROL))
    (cell,) = result.cells
    assert "SyntaxError" in cell.error and "line 3" in cell.error
    assert result.score == 0 and "ipython-syntax" not in _kinds(result)


@pytest.mark.parametrize("text", [EXPORTED, PASTED], ids=["exported", "pasted"])
def test_the_self_check_agrees(text, session, public_cases, tmp_path):
    path = _write(tmp_path, text)
    with_sandbox = session.grade(path)
    mine = selfcheck.check_file(path, public_cases, FAST)
    public = [(c.uid, c.status) for q in with_sandbox.questions for c in q.cases if c.visibility == "public"]
    assert [(c.uid, c.status) for q in mine.questions for c in q.cases] == public
    assert all(status == "passed" for _, status in public)
    assert [c.status for c in mine.cells] == [CellStatus.OK]
    assert ("ipython-syntax" in _kinds(mine)) == (text is PASTED)
    assert "shell-escape-not-run" in _kinds(mine)


def test_a_module_that_stops_is_named_as_the_module_not_as_a_cell(session, public_cases, tmp_path):
    """A module is one unit: where it stops, everything after is missing. Its reports say "the
    module" and that; a notebook's keep naming the cell and saying the other cells were graded."""
    from grader.render import html, selfcheck_view, terminal

    stops = _write(tmp_path, CAROL.replace("def bptt_grad(", "undefined_helper()\n\n\ndef bptt_grad(", 1))
    result = session.grade(stops)
    assert result.kind == "module" and 0 < result.score < result.max_score
    assert "  the module error: line " in terminal.table(result)
    assert "cell 0" not in terminal.table(result)
    page = html.report(result)
    assert "The module did not run to its end" in page and "Everything defined in the other cells" not in page
    mine = selfcheck.check_file(stops, public_cases, FAST)
    assert mine.kind == "module"
    assert "  ! the module error: line " in selfcheck_view.text(mine)
    assert "  ! 模块" in selfcheck_view.text(mine, lang="zh_CN")

    import nbformat

    cells = [nbformat.v4.new_code_cell("undefined_helper()"), nbformat.v4.new_code_cell(CAROL)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(tmp_path / "hw3.ipynb"))
    notebook = session.grade(tmp_path / "hw3.ipynb")
    assert notebook.kind == "notebook"
    failed = [c for c in notebook.cells if c.status != CellStatus.OK]
    assert failed and f"  cell {failed[0].index} " in terminal.table(notebook)
    assert "Everything defined in the other cells was still graded" in html.report(notebook)


def test_shell_escapes_through_get_ipython_are_recorded_not_run(session, carol, tmp_path):
    """A module reaching IPython gets what a notebook gets: `!commands` are recorded, never run."""
    probe = ("out = get_ipython().getoutput('echo ran-by-a-shell')\n"
             "get_ipython().system('echo ran-by-system')\n"
             "print('escape gave', repr(out))\n")
    result = session.grade(_write(tmp_path, probe + CAROL))
    assert result.score == carol.score
    assert "escape gave None" in result.output and "ran-by-" not in result.output
    (shell,) = [p.message for p in result.problems if p.code == "shell-escape-not-run"]
    assert "echo ran-by-a-shell" in shell and "echo ran-by-system" in shell
