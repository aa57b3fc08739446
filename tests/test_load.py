"""Reading a submission: every way a file or folder can be unreadable gets a stable code and a plain
sentence, never an exception of another kind; extra files and links never change what is run."""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import nbformat
import pytest

from grader.load import MAX_BYTES, MAX_CODE_CELLS, LoadError, load

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"


def _notebook(path: Path, cells: list[str], metadata: dict | None = None, markdown: list[str] = ()) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(metadata if metadata is not None else
                       {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_markdown_cell(m) for m in markdown] + _code_cells(cells)
    nbformat.write(nb, str(path))
    return path


def _code_cells(sources: list[str]) -> list:
    """nbformat's code cells, each built (and checked) by nbformat once per distinct source; a repeat
    is a copy with an id of its own. (Checking 10,000 identical cells one by one took seconds.)"""
    made: dict[str, dict] = {}
    cells = []
    for source in sources:
        if source not in made:
            made[source] = nbformat.v4.new_code_cell(source)
            cells.append(made[source])
        else:
            cells.append(nbformat.from_dict({**made[source], "id": uuid.uuid4().hex[:8]}))
    return cells


def _code(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    with pytest.raises(LoadError) as caught:
        load(path)
    error = caught.value
    assert error.message and "Traceback" not in error.message and "\n" not in error.message
    return error.code


def _raw_nb(**fields) -> str:
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    nb.update(fields)
    return json.dumps(nb)


@pytest.mark.parametrize("name, data, code", [
    ("broken.ipynb", '{"cells": [', "not-json"),
    ("latin1.ipynb", b'{"cells": [], "x": "\xe9\xff"}', "not-utf8"),
    ("empty.ipynb", b"", "empty"),
    ("blank.py", "  \n\t\n", "empty"),
    ("binary.ipynb", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "binary"),
    ("deep.ipynb", "[" * 100_000 + "]" * 100_000, "not-json"),
    ("bignumber.ipynb", '{"cells": [], "nbformat": ' + "9" * 5000 + "}", "not-json"),
    ("list.ipynb", "[1, 2, 3]", "not-notebook"),
    ("v5.ipynb", _raw_nb(nbformat=5), "unsupported-nbformat"),
    ("v2.ipynb", _raw_nb(nbformat=2), "unsupported-nbformat"),
    ("vfloat.ipynb", _raw_nb(nbformat=4.0), "unsupported-nbformat"),
    ("r.ipynb", _raw_nb(metadata={"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}), "foreign-kernel"),
    ("julia.ipynb", _raw_nb(metadata={"language_info": {"name": "julia"}}), "foreign-kernel"),
    ("cells.ipynb", _raw_nb(cells=[1, "x", None]), "invalid-notebook"),
    ("answers.pdf", b"%PDF-1.4", "unsupported-type"),
])
def test_unreadable_files_have_a_code_and_a_plain_message(tmp_path, name, data, code):
    assert _code(tmp_path, name, data) == code


def test_huge_notebook_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.ipynb"
    with open(path, "wb") as fh:
        fh.truncate(50 * 2**20)              # sparse: 50 MB that cost nothing to make
    assert MAX_BYTES < 50 * 2**20
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "too-large" and "50.0 MB" in caught.value.message


def test_ten_thousand_cells(tmp_path):
    path = _notebook(tmp_path / "many.ipynb", ["x = 1"] * 10_000)
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "too-many-cells" and str(MAX_CODE_CELLS) in caught.value.message


def test_nbformat3_is_upgraded(tmp_path):
    nb = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
          "worksheets": [{"cells": [{"cell_type": "code", "input": "A = 1", "language": "python",
                                     "outputs": [], "metadata": {}}], "metadata": {}}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb))
    program = load(path)
    assert [u.source for u in program.units] == ["A = 1"]
    assert ("upgraded" in {code for code, _ in program.notes})


def test_cells_of_no_known_kind_are_skipped_with_a_note(tmp_path):
    raw = json.loads(_raw_nb())
    raw["cells"] = [{"source": "lost = 1"}, {"cell_type": "code", "source": ["A = ", "1"]},
                    {"cell_type": "code", "source": 7}, {"cell_type": "markdown", "source": "text"}]
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(raw))
    program = load(path)
    assert [(u.index, u.source) for u in program.units] == [(2, "A = 1")]
    assert [u.source for u in program.markdown] == ["text"]
    notes = dict(program.notes)
    assert "cell(s) 1, 3" in notes["invalid-notebook"]


def test_nbformat3_with_broken_cells_is_unreadable_not_a_crash(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": 5}]}))
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "invalid-notebook" and "Traceback" not in caught.value.message


@pytest.mark.parametrize("metadata", [{}, {"kernelspec": "python"}, {"language_info": ["x"]},
                                      {"kernelspec": {"name": 5}}, {"kernelspec": None}])
def test_missing_or_strange_kernel_metadata_runs_as_python(tmp_path, metadata):
    raw = json.loads(_raw_nb(metadata=metadata))
    raw["cells"] = [{"cell_type": "code", "source": "A = 1", "metadata": {}, "outputs": [], "execution_count": None}]
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(raw))
    try:
        program = load(path)
    except LoadError as error:                 # a non-Python name is refused, plainly
        assert error.code == "foreign-kernel"
        return
    assert [u.source for u in program.units] == ["A = 1"]


def test_lone_surrogates_in_cells_become_encodable(tmp_path):
    path = tmp_path / "surrogate.ipynb"
    path.write_text(_raw_nb(cells=[{"cell_type": "code", "source": "x = '\\ud800'", "metadata": {}, "outputs": [],
                                    "execution_count": None},
                                   {"cell_type": "markdown", "source": "\\udfff", "metadata": {}}]))
    program = load(path)
    for unit in program.units + program.markdown:
        unit.source.encode("utf-8")


def test_cells_with_non_text_sources_are_ignored(tmp_path):
    path = tmp_path / "weird.ipynb"
    path.write_text(_raw_nb(cells=[{"cell_type": "code", "source": 5, "metadata": {}, "outputs": []},
                                   {"cell_type": "code", "source": "A = 1", "metadata": {}, "outputs": []}]))
    assert [u.source for u in load(path).units] == ["A = 1"]


# ------------------------------------------------------------------------------------------------
# Folders


def test_folder_with_no_candidate(tmp_path):
    (tmp_path / "readme.pdf").write_bytes(b"%PDF")
    with pytest.raises(LoadError) as caught:
        load(tmp_path)
    assert caught.value.code == "no-candidate"


def test_folder_with_two_notebooks(tmp_path):
    _notebook(tmp_path / "a.ipynb", ["A = 1"])
    _notebook(tmp_path / "b.ipynb", ["B = 1"])
    with pytest.raises(LoadError) as caught:
        load(tmp_path)
    assert caught.value.code == "ambiguous" and "a.ipynb" in caught.value.message and "b.ipynb" in caught.value.message


def test_files_handed_in_beside_the_submission_are_named_as_not_graded(tmp_path):
    """A hand-in is one file; a helper module or a PDF of derivations beside the notebook is not
    read, and the TA and the student must learn that from the report, not from a missing name."""
    _notebook(tmp_path / "hw3.ipynb", ["from rnn_helpers import *"])
    (tmp_path / "rnn_helpers.py").write_text("A = 1\n")
    (tmp_path / "derivations.pdf").write_bytes(b"%PDF")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    program = load(tmp_path)
    assert program.filename == "hw3.ipynb"
    notes = [m for code, m in program.notes if code == "ignored-other"]
    assert len(notes) == 1, program.notes
    assert "derivations.pdf" in notes[0] and "rnn_helpers.py" in notes[0] and "hw3.ipynb" in notes[0]
    assert ".DS_Store" not in notes[0] and "checkpoints" not in notes[0]


def test_a_lone_submission_gets_no_note_and_many_others_are_counted(tmp_path):
    _notebook(tmp_path / "hw3.ipynb", ["A = 1"])
    (tmp_path / ".hidden.py").write_text("B = 1\n")
    assert [c for c, _ in load(tmp_path).notes if c == "ignored-other"] == []
    for i in range(12):
        (tmp_path / f"scan{i:02d}.png").write_bytes(b"\x89PNG")
    note = next(m for c, m in load(tmp_path).notes if c == "ignored-other")
    assert "scan00.png" in note and "7 more" in note and "scan11.png" not in note


@pytest.mark.parametrize("shadow", ["numpy.py", "sitecustomize.py", "conftest.py", "usercustomize.py", "json.py",
                                    "reference.py", "grader.py"])
def test_files_that_would_shadow_a_module_are_not_the_submission(tmp_path, shadow):
    (tmp_path / shadow).write_text("raise SystemExit('shadow ran')\n")
    _notebook(tmp_path / "hw3.ipynb", ["A = 1"])
    program = load(tmp_path)
    assert program.filename == "hw3.ipynb"
    assert ("ignored-shadowing" in {code for code, _ in program.notes})


def test_a_shadowing_module_alone_is_no_submission(tmp_path):
    (tmp_path / "numpy.py").write_text("A = 1\n")
    with pytest.raises(LoadError) as caught:
        load(tmp_path)
    assert caught.value.code == "no-candidate" and "numpy.py" in caught.value.message


def test_symlinks_out_of_the_folder_loops_and_broken_links_are_ignored(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    _notebook(outside / "secret.ipynb", ["SECRET = 1"])
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "stolen.ipynb").symlink_to(outside / "secret.ipynb")
    (folder / "up.ipynb").symlink_to(Path("..") / "outside" / "secret.ipynb")
    (folder / "loop.ipynb").symlink_to(folder / "loop.ipynb")
    (folder / "broken.ipynb").symlink_to(folder / "nowhere.ipynb")
    (folder / "dir.py").symlink_to(outside, target_is_directory=True)
    _notebook(folder / "mine.ipynb", ["MINE = 1"])
    program = load(folder)
    assert program.filename == "mine.ipynb"
    ignored = [m for c, m in program.notes if c == "ignored-symlink"]
    assert len(ignored) >= 4


def test_only_links_out_is_no_submission(tmp_path):
    outside = _notebook(tmp_path / "secret.ipynb", ["SECRET = 1"])
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "hw3.ipynb").symlink_to(outside)
    with pytest.raises(LoadError) as caught:
        load(folder)
    assert caught.value.code == "symlink"            # the student learns why: the link was not followed
    assert "hw3.ipynb is a symbolic link" in caught.value.message


def test_a_symlink_inside_the_folder_is_not_followed_either(tmp_path):
    """No link is followed, wherever it points: the trusted side reads regular files only."""
    folder = tmp_path / "student"
    (folder / "work").mkdir(parents=True)
    _notebook(folder / "work" / "hw3.ipynb", ["A = 1"])
    (folder / "hw3.ipynb").symlink_to(folder / "work" / "hw3.ipynb")
    with pytest.raises(LoadError) as caught:
        load(folder)
    assert caught.value.code == "symlink"


def test_missing_path_and_broken_link(tmp_path):
    with pytest.raises(LoadError) as caught:
        load(tmp_path / "nothing.ipynb")
    assert caught.value.code == "not-found"
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "gone.ipynb")
    with pytest.raises(LoadError) as caught:
        load(tmp_path / "link.ipynb")
    assert caught.value.code == "symlink" and "symbolic link" in caught.value.message


def test_dot_dot_in_the_path_reads_the_file_it_names(tmp_path):
    (tmp_path / "a").mkdir()
    _notebook(tmp_path / "hw3.ipynb", ["A = 1"])
    assert load(tmp_path / "a" / ".." / "hw3.ipynb").units[0].source == "A = 1"


def test_device_files_are_not_read(tmp_path):
    for device in ("/dev/zero", "/dev/urandom"):
        if os.path.exists(device):
            link = tmp_path / f"{Path(device).name}.ipynb"
            link.symlink_to(device)
            with pytest.raises(LoadError) as caught:
                load(link)
            assert caught.value.code == "symlink"      # refused as a link, never opened


def test_the_example_submissions_load():
    for path in SUBMISSIONS.iterdir():
        if path.name == "dave_broken.ipynb":
            with pytest.raises(LoadError):
                load(path)
        elif path.suffix in (".ipynb", ".py"):
            assert load(path).units


def test_a_folder_of_too_many_entries_is_refused(tmp_path):
    """A folder is listed up to a bound: a hand-in is a handful of files, not a dump of thousands."""
    from grader import submitted

    folder = tmp_path / "student"
    folder.mkdir()
    _notebook(folder / "hw3.ipynb", ["A = 1"])
    for i in range(submitted.MAX_ENTRIES):
        (folder / f"f{i}.dat").touch()
    with pytest.raises(LoadError) as caught:
        load(folder)
    assert caught.value.code == "too-many-files" and str(submitted.MAX_ENTRIES) in caught.value.message


def test_special_files_and_links_next_to_the_submission_are_noted_not_opened(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    _notebook(folder / "hw3.ipynb", ["A = 1"])
    os.mkfifo(folder / "pipe.ipynb")            # would win as a notebook, and block an open
    for i in range(8):
        (folder / f"l{i}.py").symlink_to("/etc/passwd")
    program = load(folder)
    assert program.units[0].source == "A = 1"
    codes = [c for c, _ in program.notes]
    assert codes.count("ignored-special") == 1 and "pipe.ipynb" in dict(program.notes)["ignored-special"]
    assert codes.count("ignored-symlink") == 6      # five by name, then one that counts the rest
    assert any("3 more" in m for c, m in program.notes if c == "ignored-symlink")


@pytest.mark.parametrize("text", ['{"cells": ["unterminated', '{"cells": [}', '{"cells": [1,]}', '{"cells" [] }',
                                  '{"cells": []} trailing', '{"cells": ["\\x"]}'])
def test_a_notebook_that_is_not_json_says_where_in_plain_words(tmp_path, text):
    """The student reads where their notebook broke: Python's "Unterminated string starting at"
    became "Unterminated string starting at at line 348, column 5" (dave_broken's report)."""
    path = tmp_path / "nb.ipynb"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LoadError) as caught:
        load(path)
    words = str(caught.value).split()
    assert not any(a == b for a, b in zip(words, words[1:])), str(caught.value)
    assert "line 1, column " in str(caught.value)


# ------------------------------------------------------------------ notebooks made big by their plots
# A student's notebook with its figures saved is often 20-50 MB: every `plt.show()` embeds a PNG in
# base64, and a training loop that plots each epoch embeds dozens. Outputs are not graded (the code
# is run again), so the limit that keeps the grader safe is on what is kept, the cells without their
# outputs; the file as sent may be larger, and its outputs are dropped in a process of its own.

def _plotted(path: Path, cells: list[str], figures: int, megabytes_each: float = 1.0) -> Path:
    """`cells`, each followed by a cell whose saved output is a figure (random base64: a PNG of noise,
    which does not compress), as Jupyter saves `plt.show()`'s output, and an attachment in markdown."""
    import base64

    png = base64.b64encode(os.urandom(int(megabytes_each * 2**20 * 3 / 4))).decode()
    nb = nbformat.v4.new_notebook()
    nb.metadata.update({"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
                        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}})
    code = _code_cells(cells)
    for cell in code:
        cell["execution_count"] = 1
    plots = []
    for i in range(figures):
        plot = nbformat.v4.new_code_cell(f"plt.plot(losses[{i}])\nplt.show()")
        plot["outputs"] = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
        plots.append(plot)
    pasted = nbformat.v4.new_markdown_cell("![loss.png](attachment:loss.png)")
    pasted["attachments"] = {"loss.png": {"image/png": png}}
    nb.cells = code + [pasted] + plots
    nbformat.write(nb, str(path))
    return path


def test_a_notebook_made_big_by_its_saved_plots_is_read_without_them(tmp_path):
    import hashlib

    path = _plotted(tmp_path / "plots.ipynb", ["import numpy as np", "W_30 = np.eye(2)"], figures=30)
    assert os.path.getsize(path) > 30 * 2**20
    program = load(path)
    assert [u.source for u in program.units[:2]] == ["import numpy as np", "W_30 = np.eye(2)"]
    assert len(program.units) == 32 and program.units[2].source == "plt.plot(losses[0])\nplt.show()"
    assert [m.source for m in program.markdown] == ["![loss.png](attachment:loss.png)"]
    assert program.execution_counts[:2] == [(1, 1), (2, 1)]
    assert program.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    [note] = [message for code, message in program.notes if code == "outputs-not-read"]
    assert f"plots.ipynb is {os.path.getsize(path) / 2**20:.1f} MB with its saved outputs" in note, note
    assert "its outputs were not read (they are not graded: the code is run again)" in note
    from grader import i18n

    assert i18n.translate_message(note, i18n.translations("zh_CN")).startswith("plots.ipynb 连同保存的输出")


def test_a_big_notebook_is_read_without_its_outputs_inside_a_folder_too(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    _plotted(folder / "hw3.ipynb", ["A = 1"], figures=21)
    (folder / "notes.pdf").write_bytes(b"%PDF")
    program = load(folder)
    assert program.filename == "hw3.ipynb" and program.units[0].source == "A = 1"
    assert {"outputs-not-read", "ignored-other"} <= {code for code, _ in program.notes}


def test_what_is_kept_of_a_big_notebook_is_still_bounded(tmp_path):
    """Past the limit without its outputs: 25 MB of code is refused, saying how much is code."""
    from grader import load as loader

    path = _plotted(tmp_path / "code.ipynb", ["x = 1  # " + "#" * (25 * 2**20)], figures=2)
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "too-large"
    assert f"{os.path.getsize(path) / 2**20:.1f} MB, and 25.0 MB without its saved outputs" in caught.value.message, \
        caught.value.message
    assert f"the limit is {MAX_BYTES // 2**20} MB" in caught.value.message
    assert os.path.getsize(path) < loader.MAX_SENT_BYTES


@pytest.mark.parametrize("data, why", [(b"x = 1\n" * 4_000_000, "not a notebook"),
                                      (b'{"cells": [' + b"1, " * 8_000_000, "not JSON")])
def test_a_big_file_that_is_no_notebook_is_too_large(tmp_path, data, why):
    path = tmp_path / "big.ipynb"
    path.write_bytes(data)
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "too-large" and why in caught.value.message, caught.value.message


def test_a_module_keeps_the_limit_of_what_is_kept(tmp_path):
    path = tmp_path / "big.py"
    path.write_bytes(b"x = 1\n" * 4_000_000)
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "too-large" and "the limit is 20 MB" in caught.value.message


def test_a_notebook_over_what_may_be_sent_is_refused_from_its_size(tmp_path):
    from grader import load as loader

    path = tmp_path / "huge.ipynb"
    with open(path, "wb") as fh:
        fh.truncate(loader.MAX_SENT_BYTES + 1)
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "too-large" and "clear the notebook's outputs" in caught.value.message


def test_a_notebook_whose_saved_plot_data_holds_a_million_values_is_read_without_it(tmp_path):
    """An interactive figure (plotly, bokeh) saves its data as JSON in the output: a 300x300 heatmap
    is 90,000 numbers, and a notebook of a few such plots holds over a million JSON values, the
    bound on what the grader parses. It was refused ("too-complex") and scored 0; its outputs are
    not graded, so it is read without them. Values in the cells themselves are still bounded."""
    from grader import load as loader

    heatmap = {"data": [{"type": "heatmap", "z": [[0.5] * 1000] * 1200}], "layout": {"title": {"text": "|dL/dh_k|"}}}
    nb = json.loads(_notebook(tmp_path / "base.ipynb", ["import numpy as np", "W_30 = np.eye(2)"]).read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                  "data": {"application/vnd.plotly.v1+json": heatmap, "text/html": "<div></div>"}}]
    path = tmp_path / "plotly.ipynb"
    path.write_text(json.dumps(nb))
    assert os.path.getsize(path) < MAX_BYTES
    program = load(path)
    assert [u.source for u in program.units] == ["import numpy as np", "W_30 = np.eye(2)"]
    [note] = [message for code, message in program.notes if code == "outputs-not-read"]
    assert f"saved outputs hold more than {loader.MAX_JSON_VALUES} JSON values" in note, note
    from grader import i18n

    assert "保存的输出中有超过" in i18n.translate_message(note, i18n.translations("zh_CN"))

    nb["cells"][1]["outputs"] = []
    nb["cells"][1]["metadata"]["junk"] = heatmap
    path.write_text(json.dumps(nb))
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "too-complex"


# Files saved in another encoding than UTF-8: a Windows editor's cp1252 or a Chinese one's GBK.
# Python reads a module in the encoding its first lines declare (PEP 263), so the grader does too;
# any other file that is not UTF-8 is refused with where the first bad byte is and what to do.


@pytest.mark.parametrize("encoding, word", [("latin-1", "café"), ("cp1252", "naïve – “quoted”"),
                                            ("gbk", "梯度消失"), ("shift_jis", "勾配")])
def test_a_module_is_read_in_the_encoding_it_declares(tmp_path, encoding, word):
    source = f"# -*- coding: {encoding} -*-\n# {word}\nWORD = {word!r}\n\ndef f(x):\n    return x\n"
    path = tmp_path / "answers.py"
    path.write_bytes(source.encode(encoding))
    program = load(path)
    assert program.units[0].source == source
    namespace: dict = {}
    exec(compile(program.units[0].source, "answers.py", "exec"), namespace)   # as the worker compiles it
    assert namespace["WORD"] == word


@pytest.mark.parametrize("name, data, line, column", [
    ("answers.py", "import numpy as np\n\n# ∂h/∂W, café\nx = 1\n".encode("cp1252", "replace"), 3, 13),
    ("answers.py", "# 梯度\nx = 1\n".encode("gbk"), 1, 3),
    ("notes.md", "# 1a\n\nThe Jacobian is dé…".encode("latin-1", "replace"), 3, 18),
    ("latin.ipynb", '{\n "cells": [],\n "x": "été"\n}'.encode("latin-1"), 3, 8),
    ("answers.py", "# -*- coding: latin-1 -*-\n".encode() + "x = '\u00e9'\n".encode("utf-8") + b"\x81\n", 3, 1),
])
def test_a_file_that_is_not_utf8_says_where_and_how_to_save_it(tmp_path, name, data, line, column):
    path = tmp_path / name
    path.write_bytes(data)
    if name.endswith(".py") and b"coding: latin-1" in data:
        load(path)                    # every byte is a latin-1 character: read, as Python reads it
        return
    with pytest.raises(LoadError) as caught:
        load(path)
    error = caught.value
    assert error.code == "not-utf8"
    assert f"line {line}, column {column}" in error.message, error.message
    assert "UTF-8" in error.message and "save" in error.message.lower()
    assert "\n" not in error.message and "Traceback" not in error.message


def test_a_module_that_declares_an_encoding_it_is_not_in_is_refused_with_the_declaration(tmp_path):
    path = tmp_path / "answers.py"
    path.write_bytes(b"# coding: utf-8\nx = '\xe9'\n")          # says UTF-8, is latin-1
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "not-utf8" and "line 2, column 6" in caught.value.message
    path.write_bytes(b"# coding: no-such-codec\nx = 1\xe9\n")
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "not-utf8" and "no-such-codec" in caught.value.message


@pytest.mark.parametrize("codec", ["base64", "rot13", "zlib", "utf-16"])
def test_a_module_that_declares_no_source_encoding_is_refused(tmp_path, codec):
    """Python reads a declaration only of an encoding in which ASCII is ASCII."""
    path = tmp_path / "answers.py"
    path.write_bytes(f"# coding: {codec}\nx = 1\n".encode() + b"\xe9\n")
    with pytest.raises(LoadError) as caught:
        load(path)
    assert caught.value.code == "not-utf8" and f"encoding {codec} on its first lines, which is not a text" \
        in caught.value.message
