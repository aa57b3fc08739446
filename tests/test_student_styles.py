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

import nbformat
import pytest

from grader import caseset, selfcheck
from grader.results import CellStatus

from conftest import ROOT

SOLUTION = (ROOT / "tests" / "notebooks" / "modules" / "student_loops.py").read_text(encoding="utf-8")
CELLS = [part.strip() + "\n" for part in SOLUTION.split("# %%")[2:]]     # [0] is the markdown header
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


@pytest.fixture(scope="module")
def public_cases(config):
    return caseset.build(config.load_assignment(), None).only("public")


def graded_and_checked(session, public_cases, path):
    """The same hand-in graded (sandboxed, hidden cases) and self-checked (public cases)."""
    return session.grade(path), selfcheck.check_file(path, public_cases)


def failed_cells(result):
    return [(c.index, c.error) for c in result.cells if c.status != CellStatus.OK]


def messages(result, qid):
    question = next(q for q in result.questions if q.id == qid)
    return [c.message for c in question.cases if c.visibility == "public" and c.status != "passed"]


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
