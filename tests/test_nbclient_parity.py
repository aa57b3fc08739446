"""Cell tags as Jupyter's own runner reads them, checked against nbclient itself.

nbclient is what `jupyter nbconvert --execute`, nbgrader's autograder, papermill and Jupyter Book
run a notebook with; it reads two cell tags: a cell tagged `skip-execution` is not sent to the
kernel at all, and a cell tagged `raises-exception` may fail without that being an error of the
notebook (the run goes on; the error is the one the student meant to show). One notebook holds the
student's solution (`tests/notebooks/modules/student_loops.py`, one cell per question) around
tagged cells as students leave them: a slow training cell kept out of the run, a cell that resets
an answer to a placeholder, a cell that shows what a wrong shape does. It is run once by nbclient
(with a last cell that lists which graded names exist and what each is) and graded once; the
grade must leave defined what nbclient leaves defined, and fail the cells nbclient fails.
"""
from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbclient import NotebookClient

from grader import i18n, selfcheck
from grader.load import FIRST_CELL
from grader.results import CellStatus

from test_student_styles import CELLS, FULL, failed_cells  # noqa: F401

GRADED = ["sigmoid_jacobian", "bptt_grad", "bptt_terms", "matrix_power_eig", "W_30", "gradient_regime",
          "lstm_step", "ALWAYS_POSITIVE", "lstm_gate_jacobians", "lstm_cell_jacobian", "cell_state_gradient"]
# The last cell nbclient runs: which graded names the kernel holds, and the type of each.
PROBE = ("import json as _json\nprint('@@' + _json.dumps({n: type(globals()[n]).__name__ if n in globals() "
         f"else None for n in {GRADED!r}}}))")


# The first cell states `from __future__ import annotations`, which in a kernel holds for every later
# cell (IPython's compiler keeps the future flags it has seen), and the solution's annotations name
# a type imported for type checkers only; no pyplot (whose import makes every later cell go through
# IPython, which kept the flags already).
FUTURE = "from __future__ import annotations\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n"
FUTURE_CELLS = ([FUTURE + CELLS[0].replace("import matplotlib.pyplot as plt\n", "")]
                + [CELLS[1].replace("def sigmoid_jacobian(W, x):",
                                    "def sigmoid_jacobian(W: np.ndarray, x: torch.Tensor | np.ndarray) -> np.ndarray:")]
                + CELLS[2:])
assert FUTURE_CELLS[1] != CELLS[1] and "matplotlib" not in FUTURE_CELLS[0]


def tagged(source: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    return cell


def student_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3 (ipykernel)"}
    code = [nbformat.v4.new_code_cell(c) for c in FUTURE_CELLS]
    nb.cells = ([nbformat.v4.new_markdown_cell("# HW3")] + code[:5]
                # 6: a training loop the student keeps out of automated runs (it takes minutes)
                + [tagged("for epoch in range(10**9):\n    pass\nraise RuntimeError('trained for too long')",
                          "skip-execution")]
                # 7: a placeholder left above the real answer's recomputation, kept out of the run
                + [tagged("W_30 = None   # TODO", "skip-execution", "hide-input")]
                # 8: the student shows the error a transposed argument gives
                + [tagged("sigmoid_jacobian(np.ones((3, 2)), np.ones(3))", "raises-exception")]
                + code[5:]
                # last: an untagged cell that really fails, as a control
                + [nbformat.v4.new_code_cell("undefined_helper()")])
    return nb


SKIPPED, EXPECTED, REAL = (6, 7), 8, 12     # indices in nb.cells (nbclient's cell_index), from 0


def shown(index: int) -> int:
    """The number the grader gives the cell at `index` of nb.cells: as the student counts, from FIRST_CELL."""
    return index + FIRST_CELL


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tags")
    nb = student_notebook()
    assert all("skip-execution" in nb.cells[i].metadata["tags"] for i in SKIPPED)
    assert nb.cells[EXPECTED].metadata["tags"] == ["raises-exception"] and nb.cells[REAL].source == "undefined_helper()"
    path = folder / "hw3.ipynb"
    nbformat.write(nb, str(path))
    return nb, path


@pytest.fixture(scope="module")
def jupyter(written, tmp_path_factory):
    """What nbclient makes of the notebook: the cells whose execution failed, and the graded names."""
    nb = copy.deepcopy(written[0])
    # Without allow_errors nbclient stops at a failed cell unless it is tagged raises-exception;
    # the untagged failing cell (the grader's control) is left out, and the probe runs last.
    nb.cells[REAL] = nbformat.v4.new_code_cell(PROBE)
    failed = []

    def on_cell_executed(cell=None, cell_index=None, execute_reply=None, **_):
        if (execute_reply or {}).get("content", {}).get("status") == "error":
            failed.append(cell_index)

    folder = tmp_path_factory.mktemp("kernel")
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                   on_cell_executed=on_cell_executed).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    return failed, json.loads(printed.split("@@", 1)[1])


@pytest.fixture(scope="module")
def graded(session, written):
    return session.grade(written[1])


def test_nbclient_is_what_the_test_says(jupyter):
    failed, names = jupyter
    assert failed == [EXPECTED]                 # the skipped cells never ran; the tagged error did not stop it
    assert names["W_30"] == "ndarray" and None not in names.values()


def test_cells_tagged_skip_execution_are_not_run_as_nbclient_skips_them(graded, jupyter, public_cases, written):
    """A cell tagged `skip-execution` ran here: its endless training loop timed out its cell and
    its `W_30 = None` replaced the answer (2(c) scored 0), where nbclient, nbconvert --execute and
    nbgrader never send it to the kernel. Now it is not run, the report shows it as not run, and
    says why once, at the top."""
    _, names = jupyter
    checked = selfcheck.check_file(written[1], public_cases)
    for result in (graded, checked):
        assert result.score == result.max_score
        statuses = {c.index: c.status for c in result.cells}
        assert [statuses.get(shown(i)) for i in SKIPPED] == [CellStatus.SKIPPED] * 2
        assert [i for i, s in statuses.items() if s == CellStatus.SKIPPED] == [shown(i) for i in SKIPPED]
        [note] = [p.message for p in result.problems if p.code == "skip-execution"]
        assert note == (f"cells {shown(SKIPPED[0])}, {shown(SKIPPED[1])} are tagged `skip-execution`, so they were not run, as Jupyter's nbclient, "
                        "`jupyter nbconvert --execute` and nbgrader skip them; remove the tag to have a cell run "
                        "when graded"), note
    missing = {q.id for q in graded.questions for c in q.cases if c.status == "missing"}
    assert missing == set() and None not in names.values()


def test_the_skip_execution_note_is_translated(graded):
    [note] = [p.message for p in graded.problems if p.code == "skip-execution"]
    zh = i18n.translate_message(note, i18n.translations("zh_CN"))
    assert zh != note and "`skip-execution`" in zh and all(str(shown(i)) in zh for i in SKIPPED), zh


def test_a_graded_name_defined_only_in_a_skipped_cell_says_so(session, tmp_path):
    """The last cell (3(c): the gate Jacobians, the cell Jacobian, the carousel) tagged by mistake:
    nbclient leaves its names undefined, so they are missing, and each says which tag did it."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS[:-1]] + [tagged(CELLS[-1], "skip-execution")]
    path = tmp_path / "hw3.ipynb"
    nbformat.write(nb, str(path))
    result = session.grade(path)
    last = shown(len(CELLS) - 1)
    assert {c.index: c.status for c in result.cells}[last] == CellStatus.SKIPPED
    assert [c.error for c in result.cells if c.index == last] == ["the cell is tagged `skip-execution`: it was not run"]
    lost = {q.id for q in result.questions if q.score < q.max_score}
    assert lost == {"3c-gates", "3c-cell", "3c-carousel"}
    [message] = {c.message for c in next(q for q in result.questions if q.id == "3c-carousel").cases
                 if c.visibility == "public"}
    assert (f"`cell_state_gradient` is defined only in cell {last}, which is tagged `skip-execution` and so was not "
            "run (as Jupyter's nbclient skips it): remove the tag from that cell") in message, message
    zh = i18n.translate_message(message, i18n.translations("zh_CN"))
    assert f"只在单元格 {last} 中定义" in zh, zh
    assert not [p for p in result.problems if p.code == "run-out-of-order"]


def test_a_future_import_holds_for_the_cells_below_it_as_in_a_kernel(graded, jupyter, public_cases, written):
    """`from __future__ import annotations` in the first cell: in a kernel the later cells are
    compiled with it too (annotations are not evaluated, so a type named for type checkers only is
    fine); here each plain cell was compiled alone, `torch.Tensor` was evaluated and the cell
    defining sigmoid_jacobian failed with "NameError: name 'torch' is not defined" (1(a): 0)."""
    failed, names = jupyter
    assert names["sigmoid_jacobian"] == "function"
    for result in (graded, selfcheck.check_file(written[1], public_cases)):
        ours = [c.index for c in result.cells if c.status not in (CellStatus.OK, CellStatus.SKIPPED)]
        assert ours == [shown(i) for i in failed + [REAL]]
        assert next(q for q in result.questions if q.id == "1a").score > 0
