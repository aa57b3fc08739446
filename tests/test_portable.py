"""The portable self-check: the student's code in a fresh interpreter (spawned, never forked), on any
platform, with the same verdicts and messages as the sandboxed run, and nothing Linux-only imported."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from grader import portable, selfcheck
from grader.protocol import Limits
from grader.session import Session

from cli_run import run_cli

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
FAST = Limits(case_seconds=0.5, cell_seconds=3.0, submission_seconds=60.0)
# What exists on Linux only (or is the sandbox): the portable path must not import any of it.
LINUX_ONLY = ("fcntl", "resource", "termios", "grader.sandbox", "grader.worker", "grader.runner", "grader.session")


def _statuses(result):
    return [(c.uid, c.status) for q in result.questions for c in q.cases]


def _messages(result):
    # The self-check adds where in the student's code an exception was raised: " (cell 7, line 3)".
    return [(c.uid, re.sub(r" \((?:cell \d+, )?line \d+\)$", "", c.message), c.diagnosis)
            for q in result.questions for c in q.cases]


@pytest.fixture(scope="module")
def sandboxed(config, public_cases):
    """The sandboxed run the self-check is compared with: one warm session for every submission."""
    with Session(replace(config, limits=FAST), visibility="public", case_set=public_cases) as session:
        yield session


@pytest.mark.parametrize("name", ["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py",
                                  "erin_partial.ipynb", "template.ipynb", "dave_broken.ipynb"])
def test_same_verdicts_and_messages_as_the_sandboxed_run(name, sandboxed, public_cases):
    graded = sandboxed.grade(SUBMISSIONS / name)
    mine = selfcheck.check_file(SUBMISSIONS / name, public_cases, FAST)
    assert _statuses(mine) == _statuses(graded)
    assert _messages(mine) == _messages(graded)
    assert mine.score == pytest.approx(graded.score)
    assert [(c.index, c.status) for c in mine.cells] == [(c.index, c.status) for c in graded.cells]
    assert mine.isolation == (portable.ISOLATION if mine.status != "unreadable" else "")


def _module(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sub.py"
    path.write_text("import numpy as np\n" + body, encoding="utf-8")
    return path



def _all(cases, status: str) -> bool:
    """Every one of a question's public cases (there are several) has `status`."""
    return len(cases) >= 3 and all(c.status == status for c in cases)


def test_a_hanging_call_times_out_and_the_next_cases_still_run(tmp_path, public_cases):
    path = _module(tmp_path, "def sigmoid_jacobian(W, x):\n    while True:\n        pass\n"
                             "def matrix_power_eig(M, p):\n    return np.linalg.matrix_power(M, p)\n")
    cases = selfcheck.select(public_cases, ["1a", "2b"])
    # as many time-outs allowed as 1(a) has public cases (after that, a question's calls are not run)
    allowed = len(cases.for_question("1a"))
    result = selfcheck.check_file(path, cases, replace(FAST, timeouts_per_question=allowed))
    by_q = {q.id: q for q in result.questions}
    assert _all(by_q["1a"].cases, "timeout")
    assert all("took longer than 0.5 s" in c.message for c in by_q["1a"].cases)
    assert _all(by_q["2b"].cases, "passed")


def test_code_stuck_where_the_watchdog_cannot_reach_is_killed_and_resumed(tmp_path, public_cases):
    # A blocking read on a pipe nobody writes to: no Python bytecode runs, so only the parent's kill ends it.
    path = _module(tmp_path, "import os\nr, w = os.pipe()\n"
                             "def sigmoid_jacobian(W, x):\n    os.read(r, 1)\n"
                             "def matrix_power_eig(M, p):\n    return np.linalg.matrix_power(M, p)\n")
    cases = selfcheck.select(public_cases, ["1a", "2b"])
    result = selfcheck.check_file(path, cases, FAST)
    by_q = {q.id: q for q in result.questions}
    statuses = [c.status for c in by_q["1a"].cases]
    # two time-outs stop the question, as in grading
    assert statuses[:2] == ["timeout", "timeout"] and set(statuses[2:]) == {"not-run"}
    assert _all(by_q["2b"].cases, "passed")


def test_a_call_that_kills_its_process_is_crashed_and_the_rest_resumes(tmp_path, public_cases):
    path = _module(tmp_path, "import os\n"
                             "def sigmoid_jacobian(W, x):\n    os._exit(3)\n"
                             "def matrix_power_eig(M, p):\n    return np.linalg.matrix_power(M, p)\n")
    cases = selfcheck.select(public_cases, ["1a", "2b"])
    result = selfcheck.check_file(path, cases, FAST)
    by_q = {q.id: q for q in result.questions}
    assert _all(by_q["1a"].cases, "crashed")
    assert _all(by_q["2b"].cases, "passed")


def test_an_exception_names_its_line_in_the_students_code(tmp_path, public_cases):
    path = _module(tmp_path, "def sigmoid_jacobian(W, x):\n    y = W @ x\n    return np.dot(y, W.T @ W @ x[:1] @ np.ones((2, 2)))\n")
    result = selfcheck.check_file(path, selfcheck.select(public_cases, ["1a"]), FAST)
    messages = [c.message for c in result.questions[0].cases]
    # worded as the graded run words it: the place, the error, the line's text
    assert all(m.startswith("line 4 in `sigmoid_jacobian`: ValueError") and m.endswith("return np.dot(y, W.T @ W @ x[:1] @ np.ones((2, 2)))")
               for m in messages), messages


def _notebook(tmp_path: Path, *cells: str) -> Path:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    path = tmp_path / "sub.ipynb"
    nbformat.write(notebook, str(path))
    return path


MATRIX_POWER = "import numpy as np\ndef matrix_power_eig(M, p):\n    return np.linalg.matrix_power(M, p)\n"


def test_input_and_stdin_in_a_cell_are_answered_at_once_as_in_grading(tmp_path, sandboxed, public_cases):
    """Nobody is at the keyboard: `input()` fails with the graded run's message, and `sys.stdin`
    is empty; neither waits out the cell's limit nor reads the self-check's own messages."""
    path = _notebook(tmp_path, "name = input('Your name? ')", "import sys\nrest = sys.stdin.read()\nprint(repr(rest))",
                     MATRIX_POWER)
    cases = selfcheck.select(public_cases, ["2b"])
    mine = selfcheck.check_file(path, cases, FAST)
    graded = sandboxed.grade(path)
    assert [(c.index, c.status) for c in mine.cells] == [(1, "error"), (2, "ok"), (3, "ok")]
    assert [(c.index, c.status) for c in graded.cells] == [(c.index, c.status) for c in mine.cells]
    assert "input() cannot be answered" in mine.cells[0].error and "input() cannot be answered" in graded.cells[0].error
    assert "''" in mine.output
    assert _all(mine.questions[0].cases, "passed")


def test_timeit_runs_once_as_in_grading(tmp_path, sandboxed, public_cases):
    """`%timeit` (and `%%timeit`) on a slow function: one run, as the graded run does, not the
    seconds of repeats IPython would spend (which, past the cell's limit, made the cell a time-out)."""
    slow = "import time\ndef slow():\n    time.sleep(0.3)\n"
    path = _notebook(tmp_path, slow, "%timeit slow()", "%%timeit -n 3 -r 7\nslow()", MATRIX_POWER)
    limits = replace(FAST, cell_seconds=1.5)
    mine = selfcheck.check_file(path, selfcheck.select(public_cases, ["2b"]), limits)
    assert [c.status for c in mine.cells] == ["ok"] * 4
    graded = sandboxed.grade(path)
    assert [c.status for c in graded.cells] == ["ok"] * 4


def test_an_error_a_magic_catches_and_shows_still_stops_the_cell(tmp_path, sandboxed, public_cases):
    """IPython 8 (the last for Python 3.10, as on Gradescope) shows an error inside `%%time` or
    `%run` and returns without raising, and run_cell reports success although the cell stopped
    there. A cell magic of the notebook's own does the same on any IPython: the cell must be
    reported as failed, at the student's line, in the self-check and in grading alike."""
    magic = ("from IPython.core.magic import register_cell_magic\n"
             "@register_cell_magic\n"
             "def quietly(line, cell):\n"
             "    try:\n"
             "        exec(cell, get_ipython().user_ns)\n"
             "    except Exception:\n"
             "        get_ipython().showtraceback()\n")
    path = _notebook(tmp_path, magic, "%%quietly\nx = 1\ny = undefined_in_quiet\nLATE = 2\n", MATRIX_POWER)
    mine = selfcheck.check_file(path, selfcheck.select(public_cases, ["2b"]), FAST)
    graded = sandboxed.grade(path)
    for result in (mine, graded):
        assert [c.status for c in result.cells] == ["ok", "error", "ok"], result.cells
        assert "NameError: name 'undefined_in_quiet' is not defined" in result.cells[1].error
    assert _all(mine.questions[0].cases, "passed")


def test_selecting_questions(public_cases):
    picked = selfcheck.select(public_cases, ["2B", "1a", "1a"])
    assert [q.id for q in picked.assignment.questions] == ["1a", "2b"]
    assert {c.question_id for c in picked.cases} == {"1a", "2b"}
    with pytest.raises(selfcheck.UnknownQuestion, match="1a, 1b"):
        selfcheck.select(public_cases, ["9z"])


# ------------------------------------------------------------------------------------------------
# Nothing Linux-only

BLOCKER = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None        # `import name` now raises ImportError, as on Windows
"""


def test_the_self_check_imports_nothing_linux_only(tmp_path):
    """`grader check` (and `grader.check` in Jupyter) run with the Linux-only modules unimportable."""
    code = BLOCKER.format(blocked=LINUX_ONLY) + (
        "import grader, grader.cli, grader.portable, grader.selfcheck, grader.jupyter, grader.i18n\n"
        "from grader.render import selfcheck_view\n"
        "sys.exit(grader.cli.main(['check', sys.argv[1], '--json', sys.argv[2]]))\n")
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-c", code, str(SUBMISSIONS / "alice_correct.ipynb"), str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"(\d+) of \1 public cases pass", proc.stdout), proc.stdout
    assert json.loads(out.read_text(encoding="utf-8"))["isolation"] == portable.ISOLATION


def test_the_blocker_really_blocks():
    """Blocking fcntl alone is enough to stop the sandboxed path: the test above would notice an import."""
    code = BLOCKER.format(blocked=("fcntl",)) + "import grader.session\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode != 0 and "import of fcntl halted" in proc.stderr


def test_the_child_script_imports_only_portable_modules():
    """The child runs as a plain script: only the standard library's portable modules, numpy, IPython,
    and the two modules beside it (`from . import jobwire, studentshell` in a package, by path as a
    script)."""
    allowed = {"__future__", "base64", "binascii", "json", "os", "signal", "sys", "threading", "time", "_thread", "tempfile", "linecache",
               "builtins", "numpy", "IPython", "traitlets", "importlib", "enum", "math", "contextlib", "fnmatch",
               "io", "re", "typing", "ast", "bdb", "pdb"}     # the last three: pure-Python standard library
    imported = set()
    for script in (portable.CHILD, portable.CHILD.with_name("jobwire.py"), portable.CHILD.with_name("studentshell.py")):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add((node.module or "").split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                assert node.module is None and {a.name for a in node.names} <= {"jobwire", "studentshell"}
    assert imported <= allowed, imported - allowed
    for script in (portable.CHILD, portable.CHILD.with_name("studentshell.py")):
        assert "SIGALRM" not in script.read_text(encoding="utf-8")     # no alarm: Windows has none


def test_the_child_does_not_see_the_graders_settings(tmp_path, public_cases, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "do-not-leak-7f3a")
    path = _module(tmp_path, "import os\ndef sigmoid_jacobian(W, x):\n"
                             "    raise ValueError(repr(sorted(k for k in os.environ if 'GRADER' in k.upper())))\n")
    result = selfcheck.check_file(path, selfcheck.select(public_cases, ["1a"]), FAST)
    assert all("ValueError: []" in c.message for c in result.questions[0].cases)


def test_require_sandbox_checks_in_the_sandbox(tmp_path):
    """`grader check --require-sandbox` is how an instructor checks someone else's code: sandboxed."""
    out = tmp_path / "r.json"
    proc = run_cli(["check", SUBMISSIONS / "alice_correct.ipynb", "1a", "--require-sandbox", "--json", out], cwd=ROOT)
    if proc.returncode == 4:
        pytest.skip("no bubblewrap sandbox here")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["isolation"] == "bwrap"


def test_files_beside_the_submission_are_not_there_as_in_grading(tmp_path, public_cases, config):
    """Grading sends only the code to the sandbox: a module that reads a file or imports a module
    lying beside it fails in the self-check exactly as it will when graded."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "scale.txt").write_text("1.0", encoding="utf-8")
    (folder / "helpers.py").write_text("SCALE = 1.0\n", encoding="utf-8")
    for first_line in ("SCALE = float(open('scale.txt').read())", "from helpers import SCALE"):
        (folder / "sub.py").write_text(
            f"import numpy as np\n{first_line}\n"
            "def sigmoid_jacobian(W, x):\n    s = 1 / (1 + np.exp(-(W @ x)))\n    return SCALE * (s * (1 - s))[:, None] * W\n",
            encoding="utf-8")
        cases = selfcheck.select(public_cases, ["1a"])
        mine = selfcheck.check_file(folder / "sub.py", cases, FAST)
        with Session(replace(config, limits=FAST), visibility="public", case_set=cases) as session:
            graded = session.grade(folder / "sub.py")
        assert _all(mine.questions[0].cases, "missing")
        assert _statuses(mine) == _statuses(graded)
        assert [(c.status, c.error.split(":")[0]) for c in mine.cells] == \
               [(c.status, c.error.split(":")[0]) for c in graded.cells]


def test_a_child_that_cannot_start_says_why(tmp_path, public_cases, monkeypatch):
    broken = tmp_path / "child.py"
    broken.write_text("raise SystemExit('numpy is not installed here')\n", encoding="utf-8")
    monkeypatch.setattr(portable, "CHILD", broken)
    path = _module(tmp_path, "def sigmoid_jacobian(W, x):\n    return W\n")
    result = selfcheck.check_file(path, selfcheck.select(public_cases, ["1a"]), FAST)
    assert _all(result.questions[0].cases, "crashed")
    assert any("numpy is not installed here" in p.message for p in result.problems)


class _ClosedMidway:
    """A child's stdout that gives one event line, then fails as a pipe closed by another thread does."""

    def __iter__(self):
        yield b'{"ev": "loaded", "job": 0}\n'
        raise ValueError("PyMemoryView_FromBuffer(): info->buf must not be NULL")


def test_a_reader_whose_pipe_is_closed_under_it_ends_quietly():
    """`_Child.stop` closes the child's stdout; a reader thread still reading it then fails in the
    middle of a read (seen as an unhandled exception in a thread, 1 suite run in 6). It ends the
    way it ends at the pipe's end: the events it had, then None."""
    import queue
    from types import SimpleNamespace

    child = portable._Child.__new__(portable._Child)
    child.proc = SimpleNamespace(stdout=_ClosedMidway())
    child.events = queue.Queue()
    child._read()                         # raised ValueError in its thread before
    assert child.events.get_nowait() == {"ev": "loaded", "job": 0}
    assert child.events.get_nowait() is None


def test_stop_lets_the_reader_reach_the_end_of_the_pipe_before_closing_it(tmp_path, public_cases, monkeypatch):
    path = _module(tmp_path, "def sigmoid_jacobian(W, x):\n    return W\n")
    children = []

    class Watched(portable._Child):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            children.append(self)

    monkeypatch.setattr(portable, "_Child", Watched)
    selfcheck.check_file(path, selfcheck.select(public_cases, ["1a"]), FAST)
    assert children and all(not c.reader.is_alive() for c in children)


def test_a_cell_that_calls_the_self_check_as_the_template_says_is_not_an_alarm(tmp_path, sandboxed):
    """The template tells students to call `grader.check()` in a cell of their own; where it is graded
    `grader` cannot be imported: the report says so once and calmly, not as a missing helper file."""
    import nbformat

    from grader.render import selfcheck_view

    nb = nbformat.read(SUBMISSIONS / "alice_correct.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import grader\ngrader.check()"))
    nb.cells.append(nbformat.v4.new_code_cell("grader.check_written()"))
    path = tmp_path / "hw3.ipynb"
    nbformat.write(nb, path)
    graded = sandboxed.grade(path)
    problems = " ".join(p.message for p in graded.problems)
    assert "put its code in it" not in problems
    assert "uses the self-check" in problems
    shown = selfcheck_view.text(graded)
    assert "ModuleNotFoundError" not in shown and "name 'grader' is not defined" not in shown
    assert "使用了自检" in selfcheck_view.text(graded, lang="zh_CN")
