"""Report injection: markup, escape sequences, NUL bytes and invalid text in everything a
submission controls (printed output, exception messages, markdown, returned labels, file names).

Promise: every text field of the result is free of control characters and encodes as UTF-8
(`grader.text.clean`), the JSON is plain, and the HTML report (where the renderer exists) carries
no markup from the submission. The grade is not affected.
"""
from __future__ import annotations

import json
import os

import pytest

from conftest import CAROL, FULL, assert_all_promises, assert_safe_text, module, notebook, with_function
from grader.render import terminal

SCRIPT = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"
NASTY = SCRIPT + "\x1b[2J\x1b]0;title\x07\x00\x07\x08\u202e\u2028\r\x9b31m"


def test_markup_and_escapes_in_printed_output(attack_session, tmp_path):
    source = CAROL + f"\nimport sys, os\nprint({NASTY!r})\nsys.stderr.write({NASTY!r})\nos.write(1, b'\\xff\\xfe\\x00raw')\n"
    result = attack_session.grade(module(tmp_path, source))
    assert_all_promises(result, attack_session, tmp_path)
    assert "alert" in result.output          # kept as text, made harmless
    assert "\x1b" not in terminal.table(result)


def test_markup_in_exception_messages_and_cell_errors(attack_session, tmp_path):
    source = with_function("1a", f'''
def sigmoid_jacobian(W, x):
    raise ValueError({NASTY!r} + "\\ud800")
''')
    path = notebook(tmp_path, [source, f"raise RuntimeError({NASTY!r})"])
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path, attacked={"1a"})
    assert "alert" in result.cells[1].error


def test_markup_in_markdown_cells(attack_session, tmp_path):
    path = notebook(tmp_path, [CAROL], markdown=[SCRIPT, f"<!-- answer: 1a-derivation -->\n{NASTY}",
                                                 "<iframe src='javascript:alert(1)'></iframe>"])
    result = attack_session.grade(path)
    assert_all_promises(result, attack_session, tmp_path)


def test_markup_in_a_returned_label_and_names(attack_session, tmp_path):
    source = with_function("2c-regime", f'''
def gradient_regime(W):
    return {NASTY!r}
ALWAYS_POSITIVE = {{"f", "i", "o"}}
''')
    result = attack_session.grade(module(tmp_path, source))
    assert_all_promises(result, attack_session, tmp_path, attacked={"2c-regime"})


@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>.py", "\x1b[31mred\x07.py", "\u202egnp.py",
                                  "caf\udcc3\udca9.py"])
def test_markup_and_escapes_in_the_file_name(attack_session, tmp_path, name):
    try:
        path = tmp_path / name
        path.write_text(CAROL, encoding="utf-8")
    except (OSError, UnicodeEncodeError, ValueError):
        pytest.skip("this file system does not take that name")
    result = attack_session.grade(path)
    assert result.score == FULL
    assert_safe_text(result)
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")
    assert "\x1b" not in terminal.table(result)


def test_a_batch_name_given_by_the_caller_is_cleaned_too(attack_session, tmp_path):
    result = attack_session.grade(module(tmp_path, CAROL), name=NASTY)
    assert_safe_text(result)


def test_result_files_are_plain_json_and_html(attack_session, tmp_path, capsys, monkeypatch):
    """Through the command line: the JSON and HTML written for a submission full of markup."""
    from grader import cli

    monkeypatch.chdir(tmp_path)
    source = with_function("1a", f'''
print({NASTY!r})
def sigmoid_jacobian(W, x):
    raise ValueError({NASTY!r})
''')
    path = module(tmp_path, source, "<b>bold<\\b>.py")
    status = cli.main(["grade", str(path), "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")])
    assert status == 0
    text = (tmp_path / "r.html").read_text(encoding="utf-8").lower()
    assert "<script" not in text and "<img" not in text and "<b>bold" not in text and "\x1b" not in text
    assert "&lt;script&gt;" in text           # shown, as text
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["score"] == FULL - 10
    assert not os.path.exists(tmp_path / "pwned")
    assert "Traceback" not in capsys.readouterr().err
