"""Attacks through the IPython a module now gets (`get_ipython()`, IPython syntax in a .py), and
through the line number the child reports for it (`ipython_line`, untrusted like every event)."""
from __future__ import annotations

import time

from attack_tools import PIPES
from conftest import (ANSWER_BOUND, CAROL, POINTS, assert_all_promises, assert_next_graded_fully, module, notebook,
                      scores, with_function)


def test_a_module_that_reaches_ipython_gets_no_more_than_a_notebook(attack_session, tmp_path):
    """Shell escapes through the shell object are recorded, not run; running cells through it
    earns no more than the same code earns as a notebook; every promise holds.

    The shell runs in the module's own namespace (as `ipython file.py` does), so the function that
    rebinds its own name through `run_cell` after a wrong first answer is the student's own
    correct code from then on, exactly as `global sigmoid_jacobian` would make it in plain Python
    and as the same cell does in a notebook: the bound is the notebook's score, not zero."""
    attack = '''
ip = get_ipython()
print("shell gave", repr(ip.getoutput("cat /etc/hostname")), repr(ip.system("id")))
ip.run_cell("!echo from-run-cell")
ip.run_line_magic("load_ext", "autoreload")

def sigmoid_jacobian(W, x):
    get_ipython().run_cell("sigmoid_jacobian = _correct_sigmoid_jacobian")
    return [[0.0]]
'''
    source = with_function("1a", attack)
    as_notebook = attack_session.grade(notebook(tmp_path, [source]))
    bound = scores(as_notebook)["1a"]
    assert bound < POINTS["1a"]                       # its first answer was wrong, in a notebook too
    result = attack_session.grade(module(tmp_path, source))
    assert_all_promises(result, attack_session, tmp_path, attacked={"1a": bound})
    assert scores(result)["1a"] == bound
    assert "shell gave None None" in result.output and "from-run-cell" not in result.output


def test_forged_ipython_line_numbers_cost_nothing_but_the_forgers_own_note(attack_session, tmp_path):
    """Cell events forged with line numbers that are huge, negative, not numbers, or past the
    end of the source: the grade is honest and any note stays short and plain."""
    attack = PIPES + r'''
_lines = []
for _job in range(0, 300):
    for _line in ('10**18', '-5', '"1; rm -rf /"', '[1]', '999999999', '2'):
        _lines.append(('{"ev": "cell", "job": %d, "index": 0, "status": "ok", "error": "", "ipython_line": %s}\n'
                       % (_job, _line)).encode())
_write_all(_pipes()[0], b"".join(_lines))

def sigmoid_jacobian(W, x):
    return [[0.0]]
'''
    result = attack_session.grade(module(tmp_path, with_function("1a", attack)))
    assert_all_promises(result, attack_session, tmp_path, attacked={"1a"})
    notes = [p.message for p in result.problems if p.code == "ipython-syntax"]
    assert len(notes) <= 1 and all(len(n) < 400 for n in notes)


def test_megabytes_of_magics_cost_only_their_own_grade(attack_session, tmp_path):
    """A module Python refuses, whose 3 MB of magic lines IPython must transform before a real
    syntax error: the time is the submission's own (its cell limit), then the next is graded."""
    flood = "%matplotlib inline\n" * 160_000 + "def broken(:\n" + CAROL
    started = time.monotonic()
    result = attack_session.grade(module(tmp_path, flood))
    assert time.monotonic() - started < ANSWER_BOUND
    assert result.score == 0
    assert_all_promises(result, attack_session, tmp_path, attacked=set(POINTS))
    assert_next_graded_fully(attack_session, tmp_path)
