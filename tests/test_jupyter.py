"""Notebooks run as Jupyter runs them: plots, magics, the working directory, honest tracebacks.

Every test here grades a correct solution (carol's module) wrapped in the way real notebooks are
written, and asserts that it scores what the plain module scores, plus what the feature promises.
"""
from __future__ import annotations

import base64

import nbformat
import pytest

from grader.results import PASSED

from conftest import SUBMISSIONS

CAROL = (SUBMISSIONS / "carol_module.py").read_text()
FULL = 100.0


def notebook(tmp_path, cells: list[str], name="student.ipynb"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def failed_cells(result):
    return [(c.index, c.error) for c in result.cells if c.status != "ok"]


# ------------------------------------------------------------------------------------------ plots

def test_a_first_cell_importing_pyplot_costs_nothing(session, tmp_path):
    cells = ["import matplotlib.pyplot as plt\nimport numpy as np\n%matplotlib inline", CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert result.score == FULL


def test_plots_are_drawn_off_screen_kept_small_and_bounded(session, tmp_path):
    cells = ["import matplotlib\nimport matplotlib.pyplot as plt\nimport numpy as np\nprint('backend', matplotlib.get_backend())",
             "plt.plot([1, 2, 3]); plt.title('one')",
             "for i in range(30):\n    plt.figure()\n    plt.plot(np.arange(5) * i)\n    plt.show()",
             "fig, ax = plt.subplots()\nax.plot([3, 1])\nfig.savefig('curve.png')\nimport os\n"
             "print('saved', os.path.getsize('curve.png') > 0)",
             CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert result.score == FULL
    assert "backend agg" in result.output.lower() and "saved True" in result.output
    kept = [f for cell in result.cells for f in cell.figures]
    assert result.cells[1].figures, "the figure a cell leaves open is kept, as Jupyter shows it"
    assert 1 < len(kept) <= 4
    assert all(base64.b64decode(f).startswith(b"\x89PNG") and len(f) < 200_000 for f in kept)
    assert sum(c.figures_dropped for c in result.cells) == 31 + 1 - len(kept)


def test_pylab_and_timeit_run_once(session, tmp_path):
    cells = ["%pylab inline\nprint('pylab', pi > 3, linspace(0, 1, 3).shape)",
             "%timeit -n 100000 -r 50 sum(range(100))",
             "%%timeit -r 9\nsum(range(10))",
             CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "pylab True (3,)" in result.output
    assert result.output.count("1 run, 1 loop each") == 2
    assert result.score == FULL


# ---------------------------------------------------------------------- files and directories

def test_writefile_then_import_and_run(session, tmp_path):
    cells = ["%%writefile hw3_impl.py\n" + CAROL, "import hw3_impl\nfrom hw3_impl import *",
             "%run hw3_impl.py", "print('same', bptt_grad is not hw3_impl.bptt_grad)"]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "same True" in result.output
    assert result.score == FULL


def test_writefile_module_edited_and_reloaded(session, tmp_path):
    cells = ["%load_ext autoreload\n%autoreload 2",
             "%%writefile helpers.py\nVALUE = 1\n", "import helpers",
             "%%writefile helpers.py\nVALUE = 2\n", "import importlib\nimportlib.reload(helpers)\nprint('value', helpers.VALUE)",
             CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "value 2" in result.output
    assert result.score == FULL


def test_cd_pwd_and_bookmarks_work(session, tmp_path):
    cells = ["%cd .", "here = %pwd\nprint('here', here)", "%mkdir -p sub\n%cd sub\n%cd -", "%bookmark home", "%dhist",
             CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "here /" in result.output
    assert result.score == FULL


def test_the_working_directory_is_importable_from_a_module_too(session, tmp_path):
    path = tmp_path / "student.py"
    path.write_text("import os, sys\nwith open('helper_mod.py', 'w') as fh:\n    fh.write('X = 5')\n"
                    "import helper_mod\nassert helper_mod.X == 5\n" + CAROL)
    result = session.grade(path)
    assert failed_cells(result) == []
    assert result.score == FULL


# --------------------------------------------------------------------------- showing things

def test_display_help_capture_time_and_input(session, tmp_path):
    cells = ["from IPython.display import display, HTML, Markdown, Math, Image\n"
             "display(HTML('<b>x</b>'), Markdown('*y*'), Math('x^2'))",
             "import numpy as np\nnp.linalg.eig?", "len??",
             "%%capture captured\nprint('hidden away')",
             "%%time\nz = sum(range(10))",
             "try:\n    input('your name? ')\nexcept EOFError as exc:\n    print('EOF:', exc)",
             "print(captured.stdout.strip(), z)",
             CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "hidden away 45" in result.output
    assert "EOF: input() cannot be answered during grading" in result.output
    assert result.score == FULL


def test_input_at_top_level_fails_that_cell_with_a_clear_message(session, tmp_path):
    result = session.grade(notebook(tmp_path, ["n = int(input('n? '))", CAROL]))
    assert result.cells[0].status == "error"
    assert "input() cannot be answered during grading" in result.cells[0].error
    assert result.score == FULL


# ------------------------------------------------------------------------- missing modules

def test_a_missing_module_is_named_once_at_the_top(session, tmp_path):
    cells = ["import numpy as np\nimport torch\nimport torch.nn as nn", "import torch", CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert result.score == FULL
    problems = [p for p in result.problems if p.code == "import-failed"]
    assert len(problems) == 1
    assert "cell 1" in problems[0].message and "`torch` is not available when this is graded" in problems[0].message
    assert "`torch` is not available when this is graded" in result.cells[0].error
    assert result.cells[0].missing_module == "torch"


def test_functions_of_a_cell_whose_import_failed_say_so(session, tmp_path):
    body = CAROL.replace("import numpy as np", "import numpy as np\nimport tensorflow as tf", 1)
    result = session.grade(notebook(tmp_path, [body]))
    assert result.score == 0
    assert [p.message for p in result.problems if p.code == "import-failed"][0].startswith(
        "cell 1 failed on `import tensorflow`")


# ------------------------------------------------------------------------------- tracebacks

def test_a_cell_error_names_its_real_cell_and_line_and_no_grader_frame(session, tmp_path):
    cells = ["# a comment cell", CAROL, "x = 1\ny = 2\nz = undefined_name + 1"]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")] + [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    result = session.grade(path)
    assert result.cells[-1].index == 4 and result.cells[-1].status == "error"
    assert result.cells[-1].error.startswith("line 3 (cell 4): NameError: name 'undefined_name' is not defined")
    assert "worker.py" not in result.output and "Cell In[" not in result.output
    assert "line 3 (cell 4)" in result.output


def test_a_magic_cell_syntax_error_is_not_chained_to_the_plain_python_attempt(session, tmp_path):
    cells = [CAROL, "%time a = 1\ndef broken(:\n    pass"]
    result = session.grade(notebook(tmp_path, cells))
    error = result.cells[1].error
    assert error.startswith("line 2 (cell 2): SyntaxError")
    assert "During handling" not in result.output and "worker.py" not in result.output
    assert result.score == FULL


def test_an_exception_in_a_graded_function_names_the_students_line(public_session, tmp_path):
    broken = ("def bptt_grad(W, U, xs, h0, gs):\n"
              "    n = W.shape[0]\n"
              "    return helper(W, n)\n")
    helper = "import numpy as np\n\ndef helper(W, n):\n    return np.dot(W, np.ones(n + 5))\n"
    result = public_session.grade(notebook(tmp_path, [CAROL, broken, helper]))
    q = next(q for q in result.questions if q.id == "1b")
    message = q.cases[0].message
    assert message.startswith("line 4 in `helper` (cell 3): ValueError: shapes"), message
    assert "return np.dot(W, np.ones(n + 5))" in message
    assert "worker" not in message and "numpy" not in message.split(":")[0]


def test_an_exception_in_a_module_names_the_line(public_session, tmp_path):
    path = tmp_path / "student.py"
    path.write_text(CAROL + "\n\ndef sigmoid_jacobian(W, x):\n    raise ValueError('not yet')\n")
    result = public_session.grade(path)
    q = next(q for q in result.questions if q.id == "1a")
    line = len(CAROL.splitlines()) + 4
    assert q.cases[0].message.startswith(f"line {line} in `sigmoid_jacobian`: ValueError: not yet")
    assert all(c.status == PASSED for q in result.questions if q.id != "1a" for c in q.cases)


@pytest.mark.parametrize("cell", ["%cd /", "import os\nos.chdir('/')"])
def test_changing_directory_away_does_not_break_grading(session, tmp_path, cell):
    result = session.grade(notebook(tmp_path, [CAROL, cell]))
    assert result.score == FULL


def test_errors_inside_run_and_cell_magics_show_the_students_line(session, tmp_path):
    cells = ["%%writefile bad.py\nx = 1\nraise ValueError('in bad')\n", "%run bad.py", "print('after')",
             "%%time\nx = 1\ny = undefined_in_timed\n", CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert result.output.index("Writing bad.py") < result.output.index("line 2 (bad.py)")
    assert "raise ValueError('in bad')\nValueError: in bad" in result.output
    assert "after" in result.output
    assert result.cells[3].error.startswith("line 3 (cell 4): NameError: name 'undefined_in_timed'")
    assert "y = undefined_in_timed" in result.cells[3].error
    assert "worker.py" not in result.output and "site-packages" not in result.output
    assert result.score == FULL


def test_a_desktop_backend_request_keeps_drawing_off_screen(session, tmp_path):
    cells = ["import matplotlib\nmatplotlib.use('TkAgg')\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()",
             "plt.switch_backend('Qt5Agg')\nprint('backend', matplotlib.get_backend())", "fig = plt.figure()\nfig.show()",
             CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "backend agg" in result.output.lower()
    assert result.score == FULL


def test_name_errors_after_a_failed_import_say_where_they_come_from(public_session, tmp_path):
    cells = ["import torch\nimport numpy as np", CAROL.replace("import numpy as np", ""), "x = np.zeros(3)"]
    result = public_session.grade(notebook(tmp_path, cells))
    assert result.cells[2].error.startswith("line 1 (cell 3): NameError: name 'np' is not defined (probably because "
                                            "cell 1 failed on `import torch` before defining it)")
    q = next(q for q in result.questions if q.id == "1a")
    assert "NameError: name 'np' is not defined (probably because cell 1 failed on `import torch`" in q.cases[0].message


def test_package_managers_store_and_exit_are_harmless(session, tmp_path):
    cells = ["%pip install torch\n%conda install -y numpy", "stored_value = 3\n%store stored_value", "%store -r",
             "%%html\n<b>hi</b>", "%env MY_VAR=1", CAROL, "exit()"]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    escapes = next(p.message for p in result.problems if p.code == "shell-escape-not-run")
    assert "pip install torch" in escapes and "conda" in escapes
    assert result.score == FULL


def test_making_a_folder_from_the_shell_is_done_as_jupyter_does_it(session, tmp_path):
    """`!mkdir -p figures` (or `%mkdir`) before saving into it is how notebooks make their folders:
    the grader runs no shell, so a plain `mkdir` of named folders is made in Python (what the
    student's code may do anyway), and the cells that save there work as in Jupyter. Anything else
    a shell would do is still only reported."""
    cells = ["!mkdir -p figures/loss results\n%mkdir data\n!mkdir -p figures && ls",
             "import numpy as np, os\nnp.save('figures/loss/x.npy', np.ones(2))\nnp.save('data/y.npy', np.ones(1))\n"
             "print('made', [os.path.isdir(d) for d in ('figures/loss', 'results', 'data', 'out_{a,b}')])",
             "!mkdir out_{a,b} $HOME/x",
             CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "made [True, True, True, False]" in result.output
    escapes = next(p.message for p in result.problems if p.code == "shell-escape-not-run")
    assert "mkdir -p figures && ls" in escapes and "mkdir out_{a,b} $HOME/x" in escapes
    assert "figures/loss" not in escapes and "mkdir data" not in escapes
    assert result.score == FULL


def test_a_figure_that_never_finishes_drawing_times_its_cell_out(config, tmp_path):
    from dataclasses import replace

    from grader.runner import Limits
    from grader.session import Session

    fast = replace(config, limits=Limits(cell_seconds=1, case_seconds=1, submission_seconds=60))
    hang = ("import matplotlib.pyplot as plt\nfrom matplotlib.artist import Artist\n"
            "class Forever(Artist):\n    def draw(self, renderer):\n        while True:\n            pass\n"
            "fig = plt.figure()\nfig.add_artist(Forever())")
    with Session(fast) as s:
        result = s.grade(notebook(tmp_path, [CAROL, hang, "AFTER = 1"]))
    assert result.cells[1].status == "timeout"
    assert result.cells[2].status == "ok"
    assert result.score == FULL


def test_an_odd_syntax_error_is_still_described(session, tmp_path):
    odd = ("class Odd(SyntaxError):\n    @property\n    def filename(self):\n        raise RuntimeError('no')\n"
           "raise Odd('strange')")
    result = session.grade(notebook(tmp_path, [CAROL, odd]))
    assert result.cells[1].status == "error" and "Odd" in result.cells[1].error
    assert result.score == FULL


def _png(width: int, height: int, animated: bool = False) -> bytes:
    """A valid 1-bit greyscale PNG of `width` x `height` white pixels (zlib makes a huge blank image
    tiny: 16000 x 16000 is 32 MB of rows, 32 kB compressed)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\x00" + b"\xff" * ((width + 7) // 8)) * height
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    frames = chunk(b"acTL", struct.pack(">II", 1, 0)) if animated else b""
    return b"\x89PNG\r\n\x1a\n" + header + frames + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def test_a_cell_event_is_checked_before_its_figures_are_kept():
    from grader.runner import _cell_run

    png = base64.b64encode(_png(320, 240)).decode()
    forged = ["not base64!", base64.b64encode(b"<script>").decode(), 7, png * 2000, png, png, png]
    run = _cell_run(3, "ok", {"figures": forged, "figures_dropped": -5, "missing_module": "torch; rm"}, room=2)
    assert run.figures == [png, png] and run.missing_module == ""
    assert run.figures_dropped == len(forged) - 2
    assert _cell_run(3, "error", {"figures": "x", "missing_module": "torch"}, room=4).figures == []
    assert _cell_run(3, "error", {"missing_module": "torch"}, room=4).missing_module == "torch"
    assert _cell_run(3, "ok", {"figures": [png]}, room=0).figures == []


def test_a_forged_figure_that_would_take_gigabytes_to_show_is_not_kept():
    """A PNG within the byte limit may still declare any size: 16000 x 16000 white pixels are 32 kB
    of PNG and 1 GB of RGBA in the browser of everyone who opens the report, the work view or a
    staff page showing it (the tab stalls or dies). The sandbox draws at most 2 megapixels, so the
    trusted side keeps no PNG whose header says more, nor an animated one (many frames to decode),
    nor one whose first chunk is not its header."""
    from grader.runner import _cell_run

    bomb = _png(16000, 16000)
    assert len(bomb) < 120_000
    forged = [base64.b64encode(b).decode() for b in (
        bomb, _png(65535, 64), _png(200, 200, animated=True), b"\x89PNG\r\n\x1a\n" + bomb[33:],
        b"\x89PNG\r\n\x1a\n")]
    honest = base64.b64encode(_png(1400, 1400)).decode()
    run = _cell_run(0, "ok", {"figures": forged + [honest]}, room=8)
    assert run.figures == [honest] and run.figures_dropped == len(forged)


def test_ipythons_directory_belongs_to_the_student(session, tmp_path):
    probe = ("import os\nip = get_ipython()\nlocation = ip.profile_dir.location\n"
             "open(os.path.join(location, 'probe.txt'), 'w').write('x')\n"
             "print('owned', os.stat(location).st_uid == os.getuid(), os.environ['IPYTHONDIR'] in location)")
    result = session.grade(notebook(tmp_path, [probe, "%cd .\n%bookmark here", CAROL]))
    assert failed_cells(result) == []
    assert "owned True True" in result.output
    assert result.score == FULL


def test_the_number_of_figures_kept_is_a_limit(config, tmp_path):
    from dataclasses import replace

    from grader.runner import Limits
    from grader.session import Session

    cells = ["import matplotlib.pyplot as plt\nfor i in range(5):\n    plt.figure()\n    plt.plot([i, 1])\n    plt.show()",
             CAROL]
    for keep in (0, 1):
        with Session(replace(config, limits=Limits(figures=keep))) as s:
            result = s.grade(notebook(tmp_path, cells))
        assert sum(len(c.figures) for c in result.cells) == keep
        assert sum(c.figures_dropped for c in result.cells) == 5 - keep
        assert result.score == FULL


def test_a_huge_figure_is_counted_not_drawn(session, tmp_path):
    cells = ["import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(400, 400))\nfig.gca().plot([1, 2])", CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert result.cells[0].figures == [] and result.cells[0].figures_dropped == 1
    assert result.score == FULL


def test_argv_is_the_submissions_not_the_workers(session, tmp_path):
    cells = ["import argparse, sys\nparser = argparse.ArgumentParser()\nparser.add_argument('--lr', type=float, default=0.1)\n"
             "args, _ = parser.parse_known_args()\nprint('argv', sys.argv, args.lr)", CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "argv ['student.ipynb'] 0.1" in result.output


def test_what_only_changes_how_plots_look_never_fails_a_cell(session, tmp_path):
    cells = ["import numpy as np\nimport matplotlib.pyplot as plt\nfrom IPython.display import set_matplotlib_formats\n"
             "set_matplotlib_formats('svg')\nplt.style.use('seaborn-whitegrid')\nimport matplotlib.cm as cm\n"
             "cmap = cm.get_cmap('viridis')\nREADY = True",
             "assert READY\n" + CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert result.score == FULL


def test_an_unrelated_name_error_is_not_blamed_on_a_failed_import(session, tmp_path):
    cells = ["import torch\nimport numpy as np", "print(typo_name)", CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert "probably because" not in result.cells[1].error


def test_autoreload_reloads_a_module_the_notebook_rewrote(session, tmp_path):
    cells = ["%load_ext autoreload\n%autoreload 2", "%%writefile helpers2.py\nVALUE = 1\n", "import helpers2",
             "%%writefile helpers2.py\nVALUE = 2\n",
             "print('value', helpers2.VALUE)", CAROL]
    result = session.grade(notebook(tmp_path, cells))
    assert failed_cells(result) == []
    assert "value 2" in result.output
    assert result.score == FULL


def test_the_kernels_own_magics_run_as_in_jupyter(session, public_cases, tmp_path):
    """ipykernel defines magics that the terminal's IPython lacks (`ipykernel.zmqshell.KernelMagics`):
    `%autosave` (classic Notebook templates begin with `%autosave 0`), `%clear`, `%edit`, `%less`,
    `%more`, `%man`, `%connect_info`, `%qtconsole`. Measured with nbclient, each runs; here each
    failed its cell with "UsageError: Line magic function `%autosave` not found" (`%edit`:
    AttributeError), so a first cell `%autosave 0` + `import numpy as np` cost every question."""
    from grader import selfcheck

    cells = ["%autosave 0\nimport numpy as np", "%%writefile notes.txt\nread me", "%clear\n%connect_info\n%qtconsole",
             "%less notes.txt\n%more notes.txt", "%man ls\n%edit", CAROL.replace("import numpy as np", "")]
    path = notebook(tmp_path, cells)
    for result in (session.grade(path), selfcheck.check_file(path, public_cases)):
        assert failed_cells(result) == []
        assert result.score == FULL
    missing = session.grade(notebook(tmp_path, ["%less", "%more no_such_file.txt", CAROL], "missing.ipynb"))
    assert [index for index, _ in failed_cells(missing)] == [1, 2]            # as in Jupyter: nothing to page
    assert "UsageError: Missing filename." in missing.cells[0].error
