"""Denial of service against the trusted side's memory: whatever a submission returns or holds (huge
answers, forged event lines, floods of imports, JSON that grows when parsed, markdown that grows
when drawn, a huge string literal), the grader's own process stays small and the next student is
graded in full.

Split from test_hostile_dos.py (hangs, bombs, floods of the sandbox): each grades in a child
process of its own and measures its peak memory, the longest tests of the red team; as one file
they were one worker's critical path (`--dist loadfile` runs a file on one worker).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attack_tools import PIPES, STACK
from conftest import (ANSWER_BOUND, ATTACK_LIMITS, CAROL, FULL, POINTS, assert_next_graded_fully,
                      module, notebook, with_function)
from grader.results import UNREADABLE
# test_hostile_dos.py's session (the parser test shared it when it was there), and its grading step
from test_hostile_dos import _grade, attack_session  # noqa: F401 - a fixture


# ------------------------------------------------------------------------------------------------
# The trusted side's memory: whatever a submission returns, the grader stays small


PEAK_MB = 300                     # the grader's own peak resident memory, whatever a submission returns
HERE = Path(__file__).resolve().parent
# The answers' attacks are sized against the answer limit, which the child grader is given at a
# quarter of its default (ANSWER_MB: 2 MiB for one answer, 16 MiB for a submission's together): they
# move a quarter of the data (at the default 8 MiB the three tests took ~20 s of CPU, most of it
# making, sending and refusing answers, now ~12 s), and the memory they may add to the grader's own
# warm size scales with the limit: 15 MB plus 28 MB per MiB of it, the ~240 MB that PEAK_MB left
# over a warm size of ~60 MB at the default. Measured on the batch of four: 123 MB added at 8 MiB
# and 48 MB at 2 MiB; with every answer read kept to the end (a leak, made on purpose), 252 MB and
# 81 MB, which fail at either size.
ANSWER_MB = 2.0
GROWTH_MB = 15 + 28 * ANSWER_MB
SCALE = ANSWER_MB / ATTACK_LIMITS.answer_mb
ELEMENTS = int(5_000_000 * SCALE)     # the red team's answer size (40 MB of float64 per array), scaled: 9.5 MB
LARGEST = int(ANSWER_MB * 2**20) // 8     # numbers in the largest answer allowed

RETURN_EVERYTHING = '''
import numpy as _np
_N = {n}
_TEXT = {text}
def _big(*args, **kwargs):
    return _np.ones(_N)
def _big_dict(*args, **kwargs):
    keys = ("f", "i", "o", "c_tilde", "c", "h")
    return {{k: _np.ones(_N // len(keys)) for k in keys}}
sigmoid_jacobian = bptt_grad = bptt_terms = matrix_power_eig = lstm_cell_jacobian = cell_state_gradient = _big
lstm_step = lstm_gate_jacobians = _big_dict
gradient_regime = lambda W: "x" * _TEXT
W_30 = _np.ones(_N)
ALWAYS_POSITIVE = ["f"] * _TEXT
'''


def returning_everything(elements: int) -> str:
    """Every function and value of the homework answered with `elements` numbers (and a label and a
    list of gate names far over the answer limit)."""
    return RETURN_EVERYTHING.format(n=elements, text=int(10_000_000 * SCALE))


def _in_child(level: str, *args: str, case_seconds: float | None = None, answer_mb: float | None = None) -> dict:
    """Run tests/hostile/peak_memory.py: what it graded, and its own peak resident memory (and, with
    `answer_mb`, its warm size before the attacks: base_mb)."""
    env = {**os.environ, **({"CASE_SECONDS": str(case_seconds)} if case_seconds else {}),
           **({"ANSWER_MB": str(answer_mb)} if answer_mb else {})}
    proc = subprocess.run([sys.executable, str(HERE / "peak_memory.py"), level, *map(str, args)],
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def _messages(summary: dict) -> list[str]:
    return [message for status, message in summary["cases"].values()]


def _assert_small(report: dict) -> None:
    """What the attacks added to the child's warm size is bounded by the answer limit it had."""
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    grown = report["peak_mb"] - report["base_mb"]
    assert grown < GROWTH_MB, f"{grown:.0f} MB over a warm {report['base_mb']:.0f} MB"


@pytest.mark.parametrize("elements", [ELEMENTS, LARGEST], ids=["5M", "largest-allowed"])
def test_huge_answers_for_every_case_keep_the_grader_small(tmp_path, elements):
    """Every function returns arrays of 5M elements (scaled with the limit: far over it) or the
    largest answer allowed, for every case."""
    path = module(tmp_path, returning_everything(elements), "huge.py")
    report = _in_child("best", "grade", path, answer_mb=ANSWER_MB)
    _assert_small(report)
    attack, after = report["results"]
    assert attack["score"] == 0
    public = [m for uid, (s, m) in attack["cases"].items() if "/public/" in uid]
    if elements == ELEMENTS:
        assert any(m.startswith("answer too large: 9.54 MB, limit 2 MB") for m in public), public[:5]
    else:
        assert any("limit for one submission" in m for m in public), public[:5]
    assert after["score"] == FULL, "the next submission, graded by the same worker"


def test_a_batch_of_huge_submissions_keeps_the_grader_small(tmp_path):
    """Four such submissions graded at once, each worker's answers read by its own thread, three of
    them sending the largest answers allowed at the same time. (Two workers run the same code with
    fewer answers in flight: four covers it, and a second batch would cost ~6 s of CPU.)"""
    workers = 4
    folder = tmp_path / "class"
    folder.mkdir()
    huge = [f"s{i}" for i in range(workers)]
    for i, name in enumerate(huge):
        (folder / f"{name}.py").write_text(returning_everything(ELEMENTS if i == 0 else LARGEST), encoding="utf-8")
    (folder / "zz_correct.py").write_text(CAROL, encoding="utf-8")
    report = _in_child("best", "batch", folder, tmp_path / "out", workers, answer_mb=ANSWER_MB)
    _assert_small(report)
    scores = {r["submission"]: r["score"] for r in report["results"]}
    assert scores == {**{name: 0 for name in huge}, "zz_correct": FULL}


FORGED_LINES = PIPES + '''
import base64 as _b64
_CALLS = []
def _case_line(megabytes):
    """A well-formed answer event for the case being called, `megabytes` of numbers long."""
    case = _from_stack("case")
    job = _from_stack("job_id")
    b64 = _b64.b64encode(bytes(megabytes * 2**20)).decode()
    return (_json.dumps({"ev": "case", "job": job, "uid": case["uid"], "status": "ok",
                         "value": {"shape": [megabytes * 2**20 // 8], "b64": ""}})[:-3] + b64 + '"}}\\n').encode()
def sigmoid_jacobian(W, x):
    _CALLS.append(1)
    writers = _pipes()[0]
    if len(_CALLS) == 1:
        _write_all(writers, b"[" + b"0.5," * 2_500_000 + b"0.5]\\n")     # 10 MB of small numbers: not an event
        _write_all(writers, _case_line(40))                                # the red team's answer
    elif len(_CALLS) == 2:
        _write_all(writers, _case_line(18))                                # a 24 MB line
    return _correct_sigmoid_jacobian(W, x)
''' + STACK


def test_forged_huge_event_lines_fail_their_case_and_keep_the_grader_small(tmp_path):
    """The worker refuses to send an answer over the limit; the trusted side must not rely on it:
    the submission writes 53 MB and 24 MB answer lines (and a line of millions of numbers) straight
    onto the event pipe."""
    path = module(tmp_path, with_function("1a", FORGED_LINES), "forged.py")
    # 77 MB through the pipe in the first call: on a saturated machine that outlasted the usual 2 s,
    # and the alarm cut the forged line short (its size, not the time, is what is tested here)
    report = _in_child("best", "grade", path, case_seconds=30)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    attack, after = report["results"]
    messages = _messages(attack)
    assert "answer too large: 40 MB, limit 8 MB" in messages
    assert "answer too large: 18 MB, limit 8 MB" in messages
    assert {q: s for q, s in attack["questions"].items() if q != "1a"} == {q: p for q, p in POINTS.items() if q != "1a"}
    assert 0 < attack["questions"]["1a"] < POINTS["1a"]
    assert after["score"] == FULL


def test_answers_over_the_limit_fail_and_the_rest_is_graded(sessions, tmp_path):
    """In the sandbox itself: a too large answer fails its case, with the sizes, and nothing else.

    With the usual limits, not this family's half-second calls: nothing here is waited out, and
    making and measuring 38 MB outlasted half a second on a loaded machine (the case then timed
    out instead, and the size was never looked at)."""
    attack_session = sessions("best")
    result = _grade(attack_session, tmp_path, "3c-carousel", '''
import numpy as _np
def cell_state_gradient(fs):
    return _np.ones(5_000_000)
''')
    public = [c for q in result.questions if q.id == "3c-carousel" for c in q.public]
    assert public and all(c.message == "answer too large: 38.1 MB, limit 8 MB" for c in public), public[0].message
    assert_next_graded_fully(attack_session, tmp_path)


# 6 MB of import statements, under the hand-in cap (20 MB): the grader reads a hand-in's imports in
# its own process (to tell the student which module the graded environment lacks), and a parse of
# all of it built a tree of every statement there (15 MB of them: 2.6 GB and 13 s of the trusted
# process's CPU; these 6 MB: over 1 GB). Smaller than the cap so that the bound holds with room
# for what a hand-in's own size costs (read, sent to the worker: ~120 MB for 15 MB, and twice
# that once in a loaded suite run).
IMPORT_FLOOD = "import os\n" * 600_000


def test_a_flood_of_import_statements_keeps_the_grader_small(tmp_path):
    """As a module, and as a notebook of sixteen 250 kB cells (each small, 4 MB together)."""
    flood_module = module(tmp_path, CAROL + IMPORT_FLOOD, "imports.py")
    cells = [CAROL] + ["import os\n" * 25_000] * 16
    flood_notebook = notebook(tmp_path, cells, "imports.ipynb")
    report = _in_child("best", "grade", flood_module, flood_notebook)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    as_module, as_notebook, after = report["results"]
    assert as_module["status"] and as_notebook["status"]          # each an answer
    assert after["score"] == FULL, "the next submission, graded by the same worker"


def test_a_source_the_graders_parser_cannot_take_costs_only_its_own_grade(attack_session, tmp_path):
    """Sources that make the grader's own parse of their imports fail (nested 200,000 deep: a
    MemoryError; 300 parentheses: a SyntaxError), in a batch: the parse is process-wide and one
    thread at a time (grader.pysource), so a failed one must release it; the students after them
    are parsed and graded in full, and the attackers get their own answers."""
    import threading

    from grader.batch import run_batch

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a_deep.py").write_text(CAROL + "import os\nx = " + "-" * 200_000 + "1\n", encoding="utf-8")
    (folder / "b_parens.py").write_text(CAROL + "import os\nx = " + "(" * 300 + "1" + ")" * 300 + "\n",
                                        encoding="utf-8")
    (folder / "c_torch.py").write_text(CAROL + "import torch_is_not_here\n", encoding="utf-8")
    (folder / "d_correct.py").write_text(CAROL, encoding="utf-8")
    # In a thread of its own: a parse lock left held would stop the batch's next parse forever.
    done: list = []
    batch = threading.Thread(daemon=True, target=lambda: done.append(run_batch(
        folder, tmp_path / "out", attack_session.config, session=attack_session, progress=False)))
    batch.start()
    batch.join(ANSWER_BOUND)
    assert done, f"the batch did not finish within {ANSWER_BOUND:g} s"
    by_name = {r.submission: r for r in done[0].results}
    assert set(by_name) == {"a_deep", "b_parens", "c_torch", "d_correct"}
    assert by_name["d_correct"].score == FULL
    assert all(r.status for r in by_name.values())
    # parsed after the failures: its import of a module the environment lacks is still read ahead
    assert any("torch_is_not_here" in p.message for p in by_name["c_torch"].problems)


def _wide_notebook(path: Path, megabytes: int = 19) -> Path:
    """A correct notebook whose metadata holds `megabytes` of empty JSON objects (`{},{},...`): three
    characters of text each, ~70 bytes each once parsed (20 MB of them took the grader to 550 MB)."""
    nb = {"cells": [{"cell_type": "code", "source": CAROL, "metadata": {}, "outputs": [], "execution_count": 1}],
          "metadata": {"kernelspec": {"name": "python3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    head = json.dumps(nb)[:-1]
    count = (megabytes * 2**20 - len(head)) // 3
    path.write_text(head + ', "junk": [' + ",".join(["{}"] * count) + "]}", encoding="utf-8")
    return path


def test_a_notebook_of_millions_of_empty_objects_keeps_the_grader_small(tmp_path):
    """Within the 20 MB a hand-in may be, JSON whose values are tiny (`{}`, `[]`, `1.5`) is 10-25 times
    larger parsed than as text: the trusted side reads it (the grading, the work view, the copying
    evidence) in bounded memory, refuses it with a plain message, and grades the next student."""
    folder = tmp_path / "class"
    folder.mkdir()
    _wide_notebook(folder / "wide.ipynb")
    (folder / "zz_correct.py").write_text(CAROL, encoding="utf-8")
    report = _in_child("best", "batch", folder, tmp_path / "out", 1)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    by_name = {r["submission"]: r for r in report["results"]}
    assert by_name["wide"]["score"] == 0 and by_name["wide"]["status"] == UNREADABLE
    assert by_name["zz_correct"]["score"] == FULL


def test_markdown_that_grows_twentyfold_when_drawn_keeps_the_work_page_and_the_grader_small(tmp_path):
    """The work view draws every cell of a notebook: 1,000 markdown cells of `$a$a$a...` (18 MB, within
    the 20 MB limit) became 392 MB of MathML in work.html, and 1.6 GB in the grader's process. The
    page is bounded as a whole: past its bound, the cells left are named, not drawn."""
    folder = tmp_path / "class"
    folder.mkdir()
    cells = [{"cell_type": "code", "source": CAROL, "metadata": {}, "outputs": [], "execution_count": 1}]
    cells += [{"cell_type": "markdown", "source": "$a" * 9000, "metadata": {}} for _ in range(1000)]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (folder / "dollars.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (folder / "zz_correct.py").write_text(CAROL, encoding="utf-8")
    out = tmp_path / "out"
    report = _in_child("best", "batch", folder, out, 1)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    assert {r["submission"]: r["score"] for r in report["results"]} == {"dollars": FULL, "zz_correct": FULL}
    page = next(out.glob("students/dollars-*/work.html"))
    assert page.stat().st_size < 40 * 2**20, page.stat().st_size
    assert "not shown" in page.read_text(encoding="utf-8")[-20000:]


def test_a_huge_string_literal_keeps_the_copying_comparison_small(tmp_path):
    """The copying evidence reads every student's code in the grader's own process: a module holding
    one 16 MB string literal (escapes in it) took that process to 2.1 GB, in the regular expression
    that finds the code's strings (a backtracking state per character) and the map from each
    compared character back to the code. Both are bounded now: the module is graded, and the batch
    stays small."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "bigstr.py").write_text(CAROL + '\n_s = "' + "ab\\n" * (4 * 2**20) + '"\n', encoding="utf-8")
    (folder / "zz_correct.py").write_text(CAROL, encoding="utf-8")
    report = _in_child("best", "batch", folder, tmp_path / "out", 1)
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]
    assert {r["submission"]: r["score"] for r in report["results"]} == {"bigstr": FULL, "zz_correct": FULL}
    assert (tmp_path / "out" / "similarity.html").is_file()


def test_the_work_view_draws_a_bounded_amount_of_markdown():
    """Markdown is drawn by pure-Python parsers that take up to a third of a second for one 20,000-
    character cell of `![![![...` (what one cell may show): 800 such cells, within the 20 MB limit,
    held the writer for four minutes on one student. Past a bound on the markdown drawn, the
    cells are shown as their source (escaped), which costs nothing. (Plain prose here: the bound
    is on characters, and prose keeps the test fast.)"""
    from grader.render import notebook as work

    distinct = [f"cell {i}: $a_{{{i}}}$ " + "lorem ipsum " * 1500 for i in range(200)]
    text = json.dumps({"cells": [{"cell_type": "markdown", "source": s, "metadata": {}} for s in distinct],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    page = str(work.notebook_html(text, {}))
    drawn = [i for i in range(200) if f'cell {i}: <span class="math' in page]
    as_source = [i for i in range(200) if f"cell {i}: $a_{{{i}}}$" in page]
    assert drawn and drawn == list(range(len(drawn))) and len(drawn) * 18_000 <= 2 * work.MARKDOWN_LIMIT
    assert as_source == list(range(len(drawn), 200))
