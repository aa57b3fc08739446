"""Notebooks as students really write them, graded as Jupyter runs them and explained in the
student's terms.

The solution is `tests/notebooks/modules/student_loops.py`: a correct HW3 written the way students
write it (loops, a `forward` helper, `sigmoid` in the first cell), in jupytext's percent format, so
that its `# %%` cells are the notebook's cells. Each test wraps it in one habit (a cell that calls
`exit(0)`, a `del` or `%reset -f` left in, ...) whose outcome was first measured by running the same
notebook with nbclient and ipykernel (what Jupyter's Restart & Run All does): the grade must be
what Jupyter leaves defined, and the report must say why a name is gone.
"""
from __future__ import annotations

import IPython
import nbformat
import pytest

from grader import selfcheck
from grader.results import CellStatus

from conftest import ROOT

SOLUTION = (ROOT / "tests" / "notebooks" / "modules" / "student_loops.py").read_text(encoding="utf-8")
CELLS = [part.strip() + "\n" for part in SOLUTION.split("# %%")[2:]]     # [0] is the markdown header
IPYTHON_MAJOR = int(IPython.__version__.split(".")[0])   # the student environment's IPython: magics differ
FULL = 100.0


def notebook(tmp_path, cells: list[str], name: str = "hw3.ipynb"):
    """The student's cells saved by Jupyter (nbformat 4.5, cell ids, a Python 3 kernel)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3 (ipykernel)"}
    nb.cells = [nbformat.v4.new_markdown_cell("# HW3")] + [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def module(tmp_path, source: str, name: str = "hw3.py"):
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return path


def graded_and_checked(session, public_cases, path):
    """The same hand-in graded (sandboxed, hidden cases) and self-checked (public cases)."""
    return session.grade(path), selfcheck.check_file(path, public_cases)


def failed_cells(result):
    return [(c.index, c.error) for c in result.cells if c.status != CellStatus.OK]


def messages(result, qid):
    """The distinct messages of a question's failed public cases."""
    question = next(q for q in result.questions if q.id == qid)
    return sorted({c.message for c in question.cases if c.visibility == "public" and c.status != "passed"})


def test_the_solution_is_correct_as_a_notebook_and_as_a_module(session, tmp_path):
    assert session.grade(notebook(tmp_path, CELLS)).score == FULL
    assert session.grade(module(tmp_path, SOLUTION)).score == FULL


# ------------------------------------------------------------------------------- exit() and quit()

@pytest.mark.parametrize("call", ["exit(0)", "quit(1)", "exit(keep_kernel=True)", "print('done')\nexit('bye')"])
def test_exit_with_an_argument_ends_nothing_as_in_jupyter(session, public_cases, tmp_path, call):
    """ipykernel's `exit`/`quit` take an optional argument (`keep_kernel`) and end no cell; the
    terminal IPython's take none, and the cell failed with a TypeError about `ExitAutocall`."""
    path = notebook(tmp_path, CELLS[:4] + [call] + CELLS[4:])
    for result in graded_and_checked(session, public_cases, path):
        assert failed_cells(result) == []
        assert result.score == FULL


# ------------------------------------------------------------------- names deleted after their cell
# A `del`, `%xdel`, `%reset -f` or `%reset_selective -f` left in a notebook deletes names as Jupyter
# runs it (nbclient: the same scores); the student reads a definition a few cells up, so the report
# must name the line that deleted it.

def test_a_graded_value_deleted_later_names_the_deleting_line(session, public_cases, tmp_path):
    path = notebook(tmp_path, CELLS + ["print(W_30)\ndel W_30   # free memory"])
    for result in graded_and_checked(session, public_cases, path):
        assert result.score == result.max_score - next(q.max_score for q in result.questions if q.id == "2c")
        [message] = messages(result, "2c")
        assert "`W_30` is defined in cell 6, but cell 10 deletes it (line 2: `del W_30`)" in message, message


@pytest.mark.parametrize("line", ["%reset -f", "%reset -s -f", "%reset_selective -f _30$", "%xdel W_30", "%reset",
                                  "%reset_selective _30$"])
def test_a_magic_that_deletes_names_is_named(session, tmp_path, line):
    result = session.grade(notebook(tmp_path, CELLS + [line]))
    [message] = messages(result, "2c")
    assert f"cell 10 deletes it (line 1: `{line}`)" in message, message


def test_reset_in_the_middle_explains_the_name_errors_below_it(session, public_cases, tmp_path):
    """`%reset -f` after cell 4 deletes numpy and the helpers: the NameErrors below it, in a cell and
    in a graded call, name the reset rather than leave the student to find it."""
    path = notebook(tmp_path, CELLS[:3] + ["%reset -f"] + CELLS[3:])
    for result in graded_and_checked(session, public_cases, path):
        [(index, error)] = failed_cells(result)
        assert "NameError: name 'np' is not defined (`np` is defined in cell 2, but cell 5 deletes it " \
               "(line 1: `%reset -f`) before this runs" in error, error
        [message] = messages(result, "2a")
        assert "name 'forward' is not defined (`forward` is defined in cell 4, but cell 5 deletes it" in message


def test_a_module_that_deletes_a_graded_name_says_where(session, tmp_path):
    source = SOLUTION + "\n# %%\nprint(W_30)\ndel W_30\n"
    result = session.grade(module(tmp_path, source))
    [message] = messages(result, "2c")
    assert "`W_30` is defined at line" in message and "the module deletes it at line" in message, message


def test_reset_without_f_resets_as_in_a_kernel_without_stdin(session, tmp_path):
    """Without -f, `%reset` asks "Proceed (y/[n])?" through the kernel's stdin; a kernel that has
    none (nbclient, nbgrader, Restart & Run All headless) raises StdinNotImplementedError, which
    IPython takes as yes ("will reset the namespace without confirmation", its docstring): measured
    with nbclient, every name above it is gone. It was "Nothing done." here (input() raised EOFError
    and the default answer, no, was taken), so a notebook ending in `%reset` scored in full."""
    result = session.grade(notebook(tmp_path, CELLS + ["%reset", "print('after')"]))
    assert result.score == 0
    [message] = messages(result, "2c")
    assert "cell 10 deletes it (line 1: `%reset`)" in message, message
    kept = session.grade(notebook(tmp_path, CELLS + ["%reset in\n%reset -f out"], "kept.ipynb"))
    assert kept.score == FULL


# ------------------------------------------------------------ the output history: _, Out[n], _n, In
# Jupyter keeps every cell's last value: `_` (and `__`, `___`), `Out[n]` and `_n` for the cell run
# n-th, `In[n]`/`_i` for its source. A student who looked at a result and then kept it (`W_30 = _`)
# has a notebook that works under Restart & Run All (measured with nbclient: 100); here no cell's
# value was kept (`Out` stayed empty, `_` undefined), and the cell failed with a NameError or
# KeyError and the question scored 0.

@pytest.mark.parametrize("kept", ["W_30 = _", "W_30 = Out[5]", "W_30 = _5", "assert 'matrix_power_eig' in In[5]\nW_30 = _"])
def test_a_value_taken_from_the_output_history_is_kept_as_in_jupyter(session, public_cases, tmp_path, kept):
    shown = [c.replace("W_30 = matrix_power_eig(W, 30)\nprint(W_30)", "matrix_power_eig(W, 30)") for c in CELLS]
    assert shown != CELLS and shown[4].endswith("matrix_power_eig(W, 30)\n")
    path = notebook(tmp_path, shown[:5] + [kept] + shown[5:])
    for result in graded_and_checked(session, public_cases, path):
        assert failed_cells(result) == []
        assert result.score == FULL


def test_history_names_start_empty_as_in_jupyter(session, tmp_path):
    """Before any cell shows a value, `_`, `__` and `___` are "" in a kernel, not undefined."""
    result = session.grade(notebook(tmp_path, ["assert (_, __, ___) == ('', '', '')\nassert _i == ''"] + CELLS))
    assert failed_cells(result) == []


# ------------------------------------------------------------------- a breakpoint left in the code
# Measured with nbclient: ipykernel imports debugpy, whose `sys.breakpointhook` returns at once when
# no debugger is attached, so a `breakpoint()` left in a function (or at the top of a cell) does
# nothing in Jupyter, and the student who used it while debugging never sees it again. Here pdb
# started, read the empty stdin as "quit", and every call raised BdbQuit ("BdbQuit: ").

def test_a_breakpoint_left_in_does_nothing_as_in_jupyter(session, public_cases, tmp_path):
    cells = [c.replace("    hs = forward(W, U, xs, h0)\n    T = len(xs)\n",
                       "    hs = forward(W, U, xs, h0)\n    breakpoint()   # why is dW wrong?\n    T = len(xs)\n")
             for c in CELLS]
    assert cells != CELLS
    path = notebook(tmp_path, cells[:2] + ["breakpoint()\nchecked = True"] + cells[2:] + ["print(checked)"])
    for result in graded_and_checked(session, public_cases, path):
        assert failed_cells(result) == []
        assert result.score == FULL


def test_pdb_set_trace_left_in_fails_its_calls_in_words(session, public_cases, tmp_path):
    """`pdb.set_trace()` asks for commands even in Jupyter (nbclient: StdinNotImplementedError); here
    each call failed with "BdbQuit: " and nothing more. It still fails, saying why, at its own line."""
    from grader import i18n

    cells = [c.replace("    hs = forward(W, U, xs, h0)\n    T = len(xs)\n",
                       "    hs = forward(W, U, xs, h0)\n    import pdb; pdb.set_trace()\n    T = len(xs)\n")
             for c in CELLS]
    for result in graded_and_checked(session, public_cases, notebook(tmp_path, cells)):
        assert [q.id for q in result.questions if q.score < q.max_score] == ["1b"]
        [message] = messages(result, "1b")
        assert "BdbQuit: pdb.set_trace() waits for debugger commands, which nobody types during grading: " \
               "remove it" in message, message
        assert "line 9 in `bptt_grad` (cell 4)" in message, message        # the set_trace line itself
        assert "pdb.set_trace() 会等待调试命令" in i18n.translate_message(message, i18n.translations("zh_CN"))


# ------------------------------------------------- characters pasted from a PDF or typed full-width
# Code copied from the homework's PDF or a web page brings typographic quotes, minus signs and
# non-breaking spaces; a Chinese input method left in full-width mode types （）， and ＝. Python
# (and so Jupyter) refuses the cell with "invalid character"; the report says what the character
# is and what to type instead.

@pytest.mark.parametrize("good, bad, words", [
    ('return "preserved"', "return \u201cpreserved\u201d",
     'a typographic quote, as pasted from a PDF or a word processor: type it again as `"`'),
    ('return "preserved"', "return\u00a0'preserved'", "an invisible space character"),
    ("r = max(abs(", "r = max\uff08abs(", "a full-width character, as an input method types it: switch the input "
                                         "method to half-width (English) and type it again as `(`"),
    ("abs(r - 1)", "abs(r \u2212 1)", "a typographic symbol, as pasted from a PDF or a word processor: type it "
                                      "again as `-`"),
])
def test_a_pasted_or_full_width_character_is_named(session, public_cases, tmp_path, good, bad, words):
    cell = CELLS[5].replace(good, bad)
    assert cell != CELLS[5]
    path = notebook(tmp_path, CELLS[:5] + [cell] + CELLS[6:])
    for result in graded_and_checked(session, public_cases, path):
        [(index, error)] = failed_cells(result)
        assert index == 7 and "SyntaxError: invalid" in error and words in error, error
    result = session.grade(module(tmp_path, SOLUTION.replace(CELLS[5], cell)))
    assert words in result.cells[0].error


def test_the_new_explanations_are_translated(session, tmp_path):
    """Names, cells, lines and the student's own code are kept; the sentence around them is Chinese."""
    from grader.i18n import translate_message, translations

    zh = translations("zh_CN")
    cell = CELLS[5].replace("r = max(abs(", "r = max\uff08abs(")
    result = session.grade(notebook(tmp_path, CELLS[:5] + [cell] + CELLS[6:] + ["del W_30"]))
    error = translate_message(failed_cells(result)[0][1], zh)
    assert "请把输入法切换到半角（英文）后重新输入为 `(`" in error and "U+FF08" in error, error
    [message] = messages(result, "2c")
    assert "`W_30` 在单元格 6 中定义，但单元格 10 删除了它（第 1 行：`del W_30`）" in translate_message(message, zh)


# ------------------------------------------------------------------------------ kernel metadata

@pytest.mark.parametrize("kernelspec, note", [
    ({"name": "hw3env", "display_name": "Python (hw3)"}, None),
    ({"name": "conda-env-dl-py", "display_name": "Python [conda env:dl]"}, None),
    ({"name": "venv", "display_name": "venv"}, "the notebook's kernel (`venv`) names no language; it was run as Python"),
])
def test_a_kernel_named_by_the_student_without_a_language_is_run_as_python(session, tmp_path, kernelspec, note):
    """A kernel installed under the student's own name (`ipykernel install --name hw3env`), saved
    without its language: the notebook was refused as 'a hw3env notebook' and got no grade."""
    path = notebook(tmp_path, CELLS)
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata = {"kernelspec": kernelspec}
    nbformat.write(nb, str(path))
    result = session.grade(path)
    assert result.status == "graded" and result.score == FULL
    notes = [p.message for p in result.problems if p.code == "no-kernelspec"]
    assert notes == ([note] if note else [])


# ------------------------------------------------------------------------- installs in the notebook

def test_pip_and_conda_magics_are_named_as_the_student_wrote_them(session, public_cases, tmp_path):
    """`%pip install` is IPython's `{sys.executable} -m pip install`: the report named the grader's
    own interpreter's path, not the student's line; `%conda` was shown as a cell magic (`%%conda`)."""
    import sys

    path = notebook(tmp_path, ["%pip install -q numpy\n%conda install -y scipy\n!pip install matplotlib"] + CELLS)
    for result in graded_and_checked(session, public_cases, path):
        assert result.score == FULL and failed_cells(result) == []
        [message] = [p.message for p in result.problems if p.code == "shell-escape-not-run"]
        assert message == ("shell commands are not run by the grader: %pip install -q numpy; "
                           "%conda install -y scipy; pip install matplotlib")
        assert sys.executable not in result.output


# -------------------------------------------------------------------------------- process pools

def test_a_process_pool_refused_by_the_sandbox_says_so(session, tmp_path):
    """A process pool needs POSIX semaphores in /dev/shm, which the bubblewrap sandbox keeps
    read-only: the cell failed with 'OSError: [Errno 30] Read-only file system' alone, which reads
    like the student's bug (Jupyter runs it). The rlimits fallback shares the host's /dev/shm, and
    the pool runs."""
    pool = ("from concurrent.futures import ProcessPoolExecutor\nwith ProcessPoolExecutor(2) as ex:\n"
            "    print(list(ex.map(abs, [-1, 2])))")
    result = session.grade(notebook(tmp_path, CELLS + [pool]))
    assert result.score == FULL
    if result.isolation == "bwrap":
        [(index, error)] = failed_cells(result)
        assert "Read-only file system" in error and "the grading sandbox does not allow this operation" in error
    else:
        assert failed_cells(result) == []


def test_only_top_level_deletions_of_names_count():
    """What the source reading takes for a deletion: a `del` of a name at top level (in an `if` or
    a `try` too), `%xdel`, `%reset -f` (not `-f in`, which flushes the input history), and what
    `%reset_selective -f` searches out. A `del` in a function, of an item or an attribute, and a
    definition below the deletion leave the name defined."""
    from grader.names import Definitions

    defs = Definitions({
        0: "W_30 = 1\nf = 2\ng = 3\nh = 4\nk = 5\nm = 6",
        1: "def tidy():\n    del W_30\nd = {}\ndel d['x']\nif True:\n    del f",
        2: "%reset -f in\n%reset_selective -f ^g$\n%xdel h",
        3: "%%time\ntry:\n    del k\nexcept NameError:\n    pass\nk = 7\ndel m",
    })
    found = {name: defs.deleted(name) for name in ("W_30", "f", "g", "h", "k", "m", "d")}
    assert found["W_30"] is None and found["k"] is None and found["d"] is None
    assert (found["f"].by, found["f"].deletion.line, found["f"].deletion.text) == (1, 6, "del f")
    assert (found["g"].by, found["g"].deletion.text) == (2, "%reset_selective -f ^g$")
    assert (found["h"].by, found["h"].deletion.text) == (2, "%xdel h")
    assert (found["m"].unit, found["m"].by, found["m"].deletion.line) == (0, 3, 7)
    assert defs.deleted("m", before=3) is None


# ----------------------------------------------------------- %%capture: the body's lines are the cell's
# `%%capture` (on a cell whose output the student did not want to see: a training loop, a pip line)
# runs its body as a cell of its own, numbered from the body's first line: an error in it, or in a
# function it defined called later by the grader, was placed one line too high, quoting the line
# above the real one (`def gradient_regime(W):` for `r = mx(...)`).

def test_an_error_in_a_captured_cell_names_its_own_line(session, public_cases, tmp_path):
    typo = "%%capture\n" + CELLS[5].replace("r = max(abs(", "r = mx(abs(")
    assert typo != "%%capture\n" + CELLS[5]
    path = notebook(tmp_path, CELLS[:5] + [typo] + CELLS[6:] + ["%%capture out\nx = 1\nundefined_name\ny = 2"])
    for result in graded_and_checked(session, public_cases, path):
        [(index, error)] = failed_cells(result)
        assert index == 10 and error.startswith("line 3 (cell 10): NameError: name 'undefined_name'"), error
        assert "    undefined_name" in error, error
        [message] = messages(result, "2c-regime")
        assert message.startswith("line 3 in `gradient_regime` (cell 7): NameError: name 'mx' is not defined"), message
        assert "r = mx(abs(np.linalg.eigvals(W)))" in message, message


def test_an_error_in_a_timed_line_names_that_line(session, tmp_path):
    """`%time W_30 = ...` in the middle of a cell runs its statement as "<timed exec>", which the
    report placed on the cell's second line (right for `%%time` only), quoting another line."""
    cell = CELLS[4].replace("W_30 = matrix_power_eig(W, 30)", "%time W_30 = matrix_power_eig(W, thirty)")
    assert cell != CELLS[4]
    result = session.grade(notebook(tmp_path, CELLS[:4] + [cell] + CELLS[5:]))
    [(index, error)] = failed_cells(result)
    lines = cell.splitlines()
    line = lines.index("%time W_30 = matrix_power_eig(W, thirty)") + 1
    assert line > 2 and index == 6
    if IPYTHON_MAJOR >= 9:      # IPython 9's %time raises the statement's error (unless --no-raise-error)
        assert error.startswith(f"line {line} (cell 6): NameError: name 'thirty' is not defined"), error
        assert "%time W_30 = matrix_power_eig(W, thirty)" in error, error
    else:
        # IPython 8's %time (Python 3.10, Gradescope's image) prints the statement's traceback and
        # goes on, as a kernel with it does: the cell fails where it next reads the unassigned W_30
        using = next(i for i, text in enumerate(lines, 1) if i > line and "W_30" in text)
        assert error.startswith(f"line {using} (cell 6): NameError: name 'W_30' is not defined"), error
        assert "NameError: name 'thirty' is not defined" in result.output, result.output[-500:]
