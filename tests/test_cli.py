"""The command line: documented exit codes, and a result file even when nothing could be read."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from grader.cli import EXIT_FAILED, EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE, main

from conftest import ROOT, SUBMISSIONS


def test_grade_prints_a_table_and_writes_json(tmp_path, capsys, borrowed_sessions):
    out = tmp_path / "r.json"
    assert main(["grade", str(SUBMISSIONS / "carol_module.py"), "--json", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "carol_module.py: 100 / 135" in printed and "3c-carousel" in printed
    data = json.loads(out.read_text())
    assert data["score"] == 100 and data["max_score"] == 100
    assert [q["id"] for q in data["questions"]][:3] == ["1a", "1b", "2a"]


def test_unreadable_submission_still_gets_a_result(tmp_path, capsys, borrowed_sessions):
    out = tmp_path / "r.json"
    code = main(["grade", str(SUBMISSIONS / "dave_broken.ipynb"), "--json", str(out)])
    assert code == EXIT_UNREADABLE
    data = json.loads(out.read_text())
    assert data["status"] == "unreadable" and data["problems"][-1]["code"] == "not-json"
    assert "Traceback" not in capsys.readouterr().err


def test_missing_file_is_unreadable_not_a_traceback(tmp_path, capsys, borrowed_sessions):
    assert main(["grade", str(tmp_path / "nope.ipynb")]) == EXIT_UNREADABLE
    captured = capsys.readouterr()
    assert "does not exist" in captured.out and "Traceback" not in captured.err


def test_check_exit_codes_and_wording(capsys, shared_builds):
    assert main(["check", str(SUBMISSIONS / "alice_correct.ipynb")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "public cases pass" in out and "Hidden cases" in out
    assert main(["check", str(SUBMISSIONS / "bob_seed_mistakes.ipynb")]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "✗ 2c" in out and "all zeros" in out
    assert main(["check", str(SUBMISSIONS / "dave_broken.ipynb")]) == EXIT_UNREADABLE


def test_configuration_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "g.toml"
    bad.write_text("[grader]\nisolation = \"vm\"\n")
    assert main(["grade", "--config", str(bad), str(ROOT / "reference")]) == EXIT_USAGE
    assert "configuration error" in capsys.readouterr().err


def test_the_command_line_keeps_blas_to_one_thread_unless_told(monkeypatch):
    from grader.cli import single_threaded_blas

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    single_threaded_blas()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["OMP_NUM_THREADS"] == "4"


def test_the_command_line_imports_no_numpy_before_its_workers_start():
    """The grader's heavy imports wait until the first worker is spawned (they overlap its warm-up),
    and BLAS is told its thread count before numpy exists."""
    code = ("import sys, grader.cli, grader.batch, grader.session, grader.runner, grader.config; "
            "print(sorted(m for m in ('numpy', 'nbformat', 'jinja2', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
