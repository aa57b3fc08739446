"""Packaging tricks and bad input, end to end: through a grading session and through the command line.

Promises: every such submission gets a result with a specific problem code and a plain message,
zero points where nothing could be read, the documented exit code (3: unreadable), and never a
traceback of the grader; files next to the submission are never run.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from conftest import CAROL, FULL, assert_all_promises, assert_safe_text, module, notebook
from grader import cli
from grader.results import UNREADABLE


def _nb_text(**fields) -> str:
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    nb.update(fields)
    return json.dumps(nb)


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _many_cells(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    # Copies of one cell, each with an id of its own: 10,000 random 8-hex ids collide about once in
    # 90 runs (nbformat then warns), and 10,000 calls of new_code_cell cost ~2 s of CPU. The file
    # is the same, byte for byte.
    cell = nbformat.v4.new_code_cell("x = 1")
    nb.cells = [nbformat.from_dict({**cell, "id": f"cell-{i}"}) for i in range(10_000)]
    path = tmp_path / "many.ipynb"
    nbformat.write(nb, str(path))
    return path


def _huge(tmp_path: Path) -> Path:
    path = tmp_path / "huge.ipynb"
    with open(path, "wb") as fh:
        fh.truncate(50 * 2**20)
    return path


def _wide(tmp_path: Path) -> Path:
    """Two million empty objects: 6 MB of text, ~150 MB once parsed."""
    return _write(tmp_path, "wide.ipynb", _nb_text(metadata={"junk": [{}] * 2_000_000}))


def _empty_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "nothing"
    folder.mkdir()
    (folder / "notes.pdf").write_bytes(b"%PDF")
    return folder


def _two_notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "two"
    folder.mkdir()
    notebook(folder, [CAROL], "a.ipynb")
    notebook(folder, [CAROL], "b.ipynb")
    return folder


def _only_link_outside(tmp_path: Path) -> Path:
    target = notebook(tmp_path, [CAROL], "elsewhere.ipynb")
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "hw3.ipynb").symlink_to(target)
    return folder


BAD = {
    "not-json": (lambda p: _write(p, "broken.ipynb", '{"cells": [{"cell_type": "code", "sou'), "not-json"),
    "not-utf8": (lambda p: _write(p, "latin.ipynb", b'{"cells": "\xe9t\xe9"}'), "not-utf8"),
    "empty": (lambda p: _write(p, "empty.ipynb", b""), "empty"),
    "binary": (lambda p: _write(p, "image.ipynb", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50), "binary"),
    "50-MB": (_huge, "too-large"),
    "10000-cells": (_many_cells, "too-many-cells"),
    "kernel-R": (lambda p: _write(p, "r.ipynb", _nb_text(metadata={"kernelspec": {"name": "ir", "language": "R"}})),
                 "foreign-kernel"),
    "nbformat-5": (lambda p: _write(p, "v5.ipynb", _nb_text(nbformat=5)), "unsupported-nbformat"),
    "wide-json": (_wide, "too-complex"),
    "deep-json": (lambda p: _write(p, "deep.ipynb", "[" * 50_000 + "]" * 50_000), "not-json"),
    "folder-with-none": (_empty_folder, "no-candidate"),
    "folder-with-two": (_two_notebooks, "ambiguous"),
    "link-outside-only": (_only_link_outside, "symlink"),
    "missing": (lambda p: p / "does-not-exist.ipynb", "not-found"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_input_through_a_session(attack_session, tmp_path, kind):
    make, code = BAD[kind]
    result = attack_session.grade(make(tmp_path))
    assert result.status == UNREADABLE and result.score == 0
    problem = next(p for p in result.problems if p.code == code)
    assert problem.message and "Traceback" not in problem.message
    assert all(c.status == "not-run" for q in result.questions for c in q.cases)
    assert_safe_text(result)
    json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize("kind", ["not-json", "empty", "kernel-R", "folder-with-two", "50-MB"])
def test_bad_input_through_the_command_line(tmp_path, capsys, monkeypatch, kind, borrowed_sessions):
    monkeypatch.chdir(tmp_path)
    make, code = BAD[kind]
    out = tmp_path / "result.json"
    status = cli.main(["grade", str(make(tmp_path)), "--json", str(out)])
    captured = capsys.readouterr()
    assert status == cli.EXIT_UNREADABLE == 3
    assert "Traceback" not in captured.out + captured.err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["status"] == UNREADABLE and code in {p["code"] for p in data["problems"]}


def test_a_notebook_whose_saved_output_is_full_of_commas_is_graded(attack_session, tmp_path):
    """The bound on a notebook's JSON values counts values, not the commas and brackets in its
    strings: a saved output that printed a list of a million numbers is one string, and graded."""
    raw = json.loads(_nb_text(metadata={"kernelspec": {"name": "python3", "language": "python"}}))
    printed = "[" + ", ".join(["0"] * 1_200_000) + "]"
    raw["cells"] = [{"cell_type": "code", "source": CAROL, "metadata": {}, "execution_count": 1,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": [printed]}]}]
    result = attack_session.grade(_write(tmp_path, "printed.ipynb", json.dumps(raw)))
    assert_all_promises(result, attack_session, tmp_path)


def test_nbformat3_notebook_is_graded_in_full(attack_session, tmp_path):
    nb = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
          "worksheets": [{"cells": [{"cell_type": "code", "input": CAROL, "language": "python",
                                     "outputs": [], "metadata": {}}], "metadata": {}}]}
    path = _write(tmp_path, "old.ipynb", json.dumps(nb))
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path)
    assert "upgraded" in {p.code for p in result.problems}


def test_notebook_without_kernelspec_runs_as_python(attack_session, tmp_path):
    raw = json.loads(_nb_text())
    raw["cells"] = [{"cell_type": "code", "source": CAROL, "metadata": {}, "outputs": [], "execution_count": None}]
    result = attack_session.grade(_write(tmp_path, "plain.ipynb", json.dumps(raw)))
    assert_all_promises(result, attack_session, tmp_path)
    assert "no-kernelspec" in {p.code for p in result.problems}


@pytest.mark.parametrize("extra", ["numpy.py", "sitecustomize.py", "conftest.py", "usercustomize.py"])
def test_files_next_to_the_submission_are_never_run(attack_session, tmp_path, extra):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / extra).write_text("print('SHADOW RAN')\nimport os\nos._exit(9)\n")
    notebook(folder, [CAROL, "import numpy, json\nprint('numpy is', numpy.__file__)"], "hw3.ipynb")
    result = attack_session.grade(folder)
    assert_all_promises(result, attack_session, tmp_path)
    assert "SHADOW RAN" not in result.output and extra not in result.output.split("numpy is")[-1]
    assert "ignored-shadowing" in {p.code for p in result.problems}


def test_a_link_out_of_the_folder_is_ignored_and_the_real_one_graded(attack_session, tmp_path):
    outside = notebook(tmp_path, ["import os\nos._exit(1)"], "other_student.ipynb")
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "zz.ipynb").symlink_to(outside)
    (folder / "loop.ipynb").symlink_to(folder / "loop.ipynb")
    module(folder, CAROL, "hw3.py")
    result = attack_session.grade(folder)
    assert result.score == FULL
    assert "ignored-symlink" in {p.code for p in result.problems}


def test_notebook_cells_of_every_wrong_shape(attack_session, tmp_path):
    """Version-4 notebooks are read from their JSON without a schema check: cells whose type or
    source is a list, an object, a number, a huge string, or missing are skipped with one plain
    note; the real cells are graded in full and nothing of the junk reaches a report unescaped."""
    junk = [{"cell_type": ["code"], "source": "W_30 = 0"}, {"cell_type": "code", "source": {"a": "W_30 = 0"}},
            {"cell_type": "code", "source": ["W_30 = ", 0]}, {"cell_type": "<script>" * 1000, "source": "x"},
            {"source": "W_30 = 0"}, {"cell_type": None}, {"cell_type": "code", "source": 7}]
    raw = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
           "cells": junk * 300 + [{"cell_type": "code", "source": CAROL, "metadata": {}, "outputs": []}]}
    path = tmp_path / "shapes.ipynb"
    path.write_text(json.dumps(raw))
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path)
    assert result.score == FULL
    notes = [p.message for p in result.problems if p.code == "invalid-notebook"]
    assert len(notes) == 1 and "cell(s) 1, 2, 3, 4, 5 …" in notes[0] and "<script>" not in notes[0]
