"""`import grader; grader.check("1a")` in a real kernel (run by nbclient): the live definitions are
checked, not the saved file; a compact HTML table is shown; a hanging function is stopped; the
written parts of the saved notebook are listed, with the ones whose marker is gone."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader import jupyter

RIGHT = """
def sigmoid_jacobian(W, x):
    s = 1 / (1 + np.exp(-(W @ x)))
    return (s * (1 - s))[:, None] * W
"""
WRONG = """
def sigmoid_jacobian(W, x):          # sigma' forgotten
    s = 1 / (1 + np.exp(-(W @ x)))
    return s[:, None] * W
"""
HANGS = """
def matrix_power_eig(M, p):
    while True:
        pass
"""


def _notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        nb.cells.append(nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _outputs(cell) -> tuple[str, str]:
    html = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)
    return html, text


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb")
    nb = _notebook([
        ("code", "import numpy as np\nimport grader"),
        ("code", RIGHT),
        ("code", "r = grader.check('1a')\nassert r.passed, repr(r)\nr"),
        ("code", WRONG),                  # the saved file would still have RIGHT's cell: the kernel is what counts
        ("code", "r = grader.check('1a')\nassert not r.passed\nr"),
        ("code", HANGS),
        ("code", "from dataclasses import replace\nfrom grader.config import load_config\n"
                 "cfg = load_config()\ncfg = replace(cfg, limits=replace(cfg.limits, case_seconds=0.3))\n"
                 "r = grader.check('2b', config=cfg)\nprint([c.status for q in r.result.questions for c in q.cases])"),
        ("markdown", "<!-- answer: 1a-derivation -->\nσ′(Wx) scales row j of W."),
        ("markdown", "**Your answer (2b):** I deleted the marker line by accident."),
        ("code", "w = grader.check_written()\nprint(repr(w))\nw"),
        ("code", "print(repr(grader.check('1a', lang='zh_CN')))"),
    ])
    path = folder / "hw3.ipynb"
    nbformat.write(nb, path)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()
    return nb


def test_check_uses_the_live_definitions_and_shows_a_table(executed):
    html, _ = _outputs(executed.cells[2])
    ones = re.search(r"(\d+) of (\d+) public cases pass", html)
    assert "<table" in html and ones and ones.group(1) == ones.group(2) != "0" and "sigmoid_jacobian" in html
    html, text = _outputs(executed.cells[4])
    assert f"0 of {ones.group(2)} public cases pass" in html
    assert "sigma-instead-of-derivative" in html          # the same hint as `grader check`
    assert "Self-check of" in text                         # plain text beside the HTML for other front ends


def test_a_hanging_function_is_stopped_in_the_kernel(executed):
    _, text = _outputs(executed.cells[6])
    # two time-outs stop the question (as in grading); its other cases are not run
    assert re.search(r"\['timeout', 'timeout'(, 'not-run')+\]", text), text


def test_written_parts_of_the_saved_notebook(executed):
    html, text = _outputs(executed.cells[9])
    assert "hw3.ipynb" in text and "an edit not yet saved is not seen" in text
    assert "✓ 1a-derivation" in text
    assert "<!-- answer: 2b-proof --> is missing" in text
    assert "<li" in html


def test_the_kernel_check_speaks_chinese_when_asked(executed):
    _, text = _outputs(executed.cells[10])
    assert re.search(r"\d+ 个公开测试用例中有 0 个通过", text) and "sigmoid_jacobian" in text


def test_run_live_reports_missing_and_errors_with_their_line():
    from grader import caseset, selfcheck
    from grader.config import load_config
    from grader.pipeline import calls

    public = selfcheck.select(caseset.for_self_check(load_config(env={})), ["1a", "2b"])
    namespace: dict = {}
    exec(compile("def sigmoid_jacobian(W, x):\n    return W @ W\n", "<cell 3>", "exec"), namespace)
    report = jupyter.run_live(namespace, calls(public))
    statuses = {uid: a.status for uid, a in report.answers.items()}
    assert statuses["2b/public/0"] == "missing"
    errors = [a.message for uid, a in report.answers.items() if uid.startswith("1a") and a.status == "error"]
    # worded as the graded run words it (the place first)
    assert errors and all(m.startswith("line 2 in `sigmoid_jacobian` (cell 3): ValueError") for m in errors), errors


def test_a_name_an_early_cell_did_not_define_is_explained_from_the_saved_notebook(tmp_path):
    """A student whose first cell failed (`import torch` above `import numpy as np`) and who ran the
    cells below it got, in Jupyter, only "NameError: name 'np' is not defined" on every case, and
    "`bptt_grad` is not defined" for a function whose cell had not run: `grader check` on the
    same notebook names the cell. The kernel's check now reads the saved notebook for it too."""
    from grader.i18n import translate_message, translations

    path = tmp_path / "hw3.ipynb"
    nbformat.write(_notebook([("code", "import torch\nimport numpy as np"), ("code", RIGHT),
                              ("code", "def bptt_grad(W, U, xs, h0, gs):\n    return np.zeros_like(W)")]), path)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(RIGHT, "<cell 2>", "exec"), namespace)          # cell 1 failed; cell 3 was never run
    report = jupyter.check("1a", "1b", namespace=namespace, notebook=path)
    cases = {q.id: q.cases for q in report.result.questions}
    first = cases["1a"][0].message.split("\n")[0]
    assert "NameError: name 'np' is not defined" in first and "cell 1 of the saved" in first and "not defined in this kernel" in first
    missing = cases["1b"][0].message
    assert "Cell 3 of the saved notebook defines `bptt_grad`" in missing
    chinese = translations("zh_CN")
    assert "这个内核中没有定义 `np`" in translate_message(first, chinese)
    assert "但这个内核中没有它" in translate_message(missing.split("\n")[-1], chinese)

    alone: dict = {"__name__": "__main__"}                           # no saved notebook found: still a hint
    exec(compile(RIGHT, "<cell 2>", "exec"), alone)
    bare = jupyter.check("1a", namespace=alone, notebook=tmp_path / "gone.ipynb")
    assert "not defined in this kernel" in bare.result.questions[0].cases[0].message
