"""The self-check as a student meets it: what the report says for a blank template, a half-done
notebook and a value left at the template's placeholder, in words that tell what to do next."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from grader import selfcheck
from grader.protocol import Limits
from grader.results import CaseStatus
from grader.render import selfcheck_view

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
FAST = Limits(case_seconds=0.5, cell_seconds=3.0, submission_seconds=60.0)
# The self-checks of `grader check` and `grader.check()` build their public cases (caseset.for_self_check):
# here they share the test process's one build, and so its memo (shared_cases).
pytestmark = pytest.mark.usefixtures("shared_builds")


@pytest.fixture(scope="module")
def blank(public_cases):
    return selfcheck.check_file(SUBMISSIONS / "template.ipynb", public_cases, FAST)


def _case(result, question_id):
    return next(q for q in result.questions if q.id == question_id).cases[0]


def test_a_value_left_at_the_templates_none_is_told_to_be_assigned(blank):
    message = _case(blank, "2c").message
    assert "without `return" not in message          # W_30 is a value, not a function
    assert "`W_30` is still None" in message and "assign" in message


def test_the_blank_template_says_not_written_yet_once_per_question(blank):
    shown = selfcheck_view.text(blank)
    functions = [q for q in blank.questions if q.name not in ("W_30", "ALWAYS_POSITIVE")]
    # one line per unwritten function, not one traceback per case (55 of them)
    assert shown.count("NotImplementedError") <= len(functions) + 1
    assert shown.count("not written yet") == len(functions)
    assert "✗ case" not in shown.split("✗ 1b")[0]         # 1a: no case-by-case listing
    assert len(shown.splitlines()) < 60


def _regime_cases(public_cases) -> int:
    """How many public cases the regime question has (it grows as families get a public case)."""
    return sum(c.probe is None for c in public_cases.for_question("2c-regime"))


def test_the_same_failure_on_several_cases_is_shown_once(public_cases):
    result = selfcheck.check_file(SUBMISSIONS / "erin_partial.ipynb", public_cases, FAST)
    shown = selfcheck_view.text(result)
    regime = shown.split("✗ 2c-regime")[1].split("\n\n")[0]
    assert regime.count("`gradient_regime` is not defined") == 1
    assert f"{_regime_cases(public_cases) - 1} more cases fail the same way" in regime


def test_the_blank_template_in_chinese_says_not_written_yet(blank):
    shown = selfcheck_view.text(blank, lang="zh_CN")
    assert "not written yet" not in shown and "the same" not in shown
    assert "尚未" in shown


def test_the_html_table_says_not_written_yet_and_shows_a_shared_failure_once(blank, public_cases):
    table = selfcheck_view.html(blank)
    functions = [q for q in blank.questions if q.name not in ("W_30", "ALWAYS_POSITIVE")]
    assert table.count("not written yet") == len(functions)
    assert table.count("raise NotImplementedError") == 0       # no case-by-case traceback
    erin = selfcheck_view.html(selfcheck.check_file(SUBMISSIONS / "erin_partial.ipynb", public_cases, FAST))
    assert erin.count("`gradient_regime` is not defined") == 1
    assert f"{_regime_cases(public_cases) - 1} more cases fail the same way" in erin


def test_one_more_case_is_said_in_the_singular(public_cases, tmp_path):
    path = tmp_path / "hangs.py"
    path.write_text("def gradient_regime(W):\n    while True:\n        pass\n", encoding="utf-8")
    limits = Limits(case_seconds=0.2, cell_seconds=3.0, submission_seconds=60.0)
    shown = selfcheck_view.text(selfcheck.check_file(path, selfcheck.select(public_cases, ["2c-regime"]), limits))
    assert not re.search(r"(?<!\d)1 more cases", shown)
    assert re.search(r"(?<!\d)1 more case fails the same way", shown)


def test_check_in_a_kernel_that_cannot_find_the_saved_notebook_says_so(tmp_path, monkeypatch, config):
    from grader import jupyter

    for name in ("hw2.ipynb", "hw3.ipynb"):            # two notebooks in the kernel's folder: which one?
        (tmp_path / name).write_text((SUBMISSIONS / "template.ipynb").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    report = jupyter.check(namespace={}, config=config)
    assert not report.written
    assert "grader.check(notebook=" in repr(report)      # not silence about the written parts
    report = jupyter.check(namespace={}, config=config, notebook=tmp_path / "hw3.ipynb")
    assert report.written and "grader.check(notebook=" not in repr(report)


def test_the_kernel_check_names_the_kernel_in_chinese(config):
    from grader import jupyter

    shown = repr(jupyter.check("2c", namespace={"W_30": None}, config=config, lang="zh_CN"))
    assert "this notebook's kernel" not in shown


def test_a_timeout_says_what_to_look_for(public_cases, tmp_path):
    path = tmp_path / "hangs.py"
    path.write_text("def gradient_regime(W):\n    while True:\n        pass\n", encoding="utf-8")
    limits = Limits(case_seconds=0.2, cell_seconds=3.0, submission_seconds=60.0)
    result = selfcheck.check_file(path, selfcheck.select(public_cases, ["2c-regime"]), limits)
    for shown in (selfcheck_view.text(result), selfcheck_view.html(result)):
        assert "took longer than 0.2 s" in shown
        assert shown.count("a loop that never ends") == 1


def test_the_largest_difference_is_named_alike_whatever_the_last_bits(config):
    """A transposed answer differs by the same amount at [i, j] and [j, i]: which of the two is
    "largest" must not depend on rounding noise (numpy 1.26 and 2.x, or one machine and another,
    differ in the last bits of exp), so the self-check and the grading name the same index."""
    import numpy as np

    from grader.compare import compare_arrays
    from grader.spec import Tolerance

    expected = np.array([[0.1, 0.2, 0.374321], [0.3, 0.5, 0.6], [0.504528, 0.7, 0.8]])
    tol = Tolerance()
    words = set()
    for noise in (0.0, 1e-15, -1e-15):
        got = expected.T.copy()
        got[2, 0] += noise
        words.add(compare_arrays(expected, got, tol).message)
    assert len(words) == 1
    assert "at index (0, 2)" in words.pop()



def test_what_the_functions_print_in_a_kernel_check_is_counted_not_poured_out(config, capsys):
    """As in grading, a function's prints are not part of the report: debug prints (10 cases × 300
    lines) would bury the table in the notebook. The report says how many lines were held back."""
    from grader import jupyter

    def gradient_regime(W):
        for i in range(300):
            print("debug", i)
        return "vanishing"

    report = jupyter.check("2c-regime", namespace={"gradient_regime": gradient_regime}, config=config)
    assert "debug" not in capsys.readouterr().out
    shown = repr(report)
    lines = 300 * len(report.result.questions[0].cases)
    assert f"printed {lines} lines" in shown
    assert f"打印了 {lines} 行" in selfcheck_view.html(report.result, notes=report.notes, lang="zh_CN")


def test_questions_may_follow_an_option_on_the_command_line(capsys):
    """`grader check hw3.ipynb --lang zh_CN 1a`: argparse alone refuses the 1a ("unrecognized
    arguments"), though the README shows both forms and a student combines them."""
    from grader import cli

    assert cli.main(["check", str(SUBMISSIONS / "carol_module.py"), "--lang", "en", "2c"]) == 0
    assert "1 of 1 public cases pass" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        cli.main(["check", str(SUBMISSIONS / "carol_module.py"), "--lang", "en", "--bogus"])
    assert stop.value.code == 2


def test_the_written_parts_in_chinese_use_the_chinese_colon(blank, config):
    from grader import selfcheck as sc

    written = sc.written_status(SUBMISSIONS / "template.ipynb", blank_assignment(config))
    shown = selfcheck_view.text(blank, written, "template.ipynb", lang="zh_CN")
    part = [line for line in shown.splitlines() if "1a-derivation" in line][0]
    assert ": " not in part and "：" in part


def blank_assignment(config):
    return config.load_assignment()


def test_a_notebook_that_is_not_json_says_what_to_do(public_cases, tmp_path):
    path = tmp_path / "hw3.ipynb"
    text = (SUBMISSIONS / "alice_correct.ipynb").read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")       # cut short, as a failed save or copy leaves it
    result = selfcheck.check_file(path, public_cases, FAST)
    assert result.status == "unreadable"
    for lang, words in (("en", "Revert Notebook to Checkpoint"), ("zh_CN", "检查点")):
        shown = selfcheck_view.text(result, lang=lang)
        assert "it is not JSON" in shown or "不是 JSON" in shown
        assert words in shown


def test_a_language_without_feedback_is_told_not_silently_ignored(capsys):
    from grader import cli

    assert cli.main(["check", str(SUBMISSIONS / "carol_module.py"), "2c", "--lang", "fr"]) == 0
    out, err = capsys.readouterr()
    assert "1 of 1 public cases pass" in out                     # English, as documented
    assert "'fr'" in err and "zh_CN" in err
    assert cli.main(["check", str(SUBMISSIONS / "carol_module.py"), "2c", "--lang", "zh-CN"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("where", ["folder", "HW3.IPYNB"])
def test_the_written_parts_are_listed_for_a_folder_or_an_upper_case_name(where, tmp_path, capsys):
    """`grader check` takes a folder holding the notebook (README): its written parts are listed too."""
    from grader import cli

    if where == "folder":
        (tmp_path / "hw3").mkdir()
        target = tmp_path / "hw3" / "hw3.ipynb"
        argument = tmp_path / "hw3"
    else:
        target = argument = tmp_path / where
    target.write_bytes((SUBMISSIONS / "template.ipynb").read_bytes())
    assert cli.main(["check", str(argument)]) == 1
    assert "0 of 7 answered" in capsys.readouterr().out


def test_the_cases_that_fail_the_same_way_can_be_told_apart(public_cases):
    """Case labels hold commas ("eigenvalues -1.2, 0.5", "T=3, n=2, d=2"): the cases named in a shared
    failure are separated by semicolons, so that a student can count and find them; joined with
    commas, "diag(1.5, 0.2), rotation, eigenvalues -1.2, 0.5, -I (ρ=1, negative)" read as 7 names."""
    result = selfcheck.check_file(SUBMISSIONS / "erin_partial.ipynb", public_cases, FAST)
    labels = [c.label for c in next(q for q in result.questions if q.id == "2c-regime").cases]
    assert any("," in label for label in labels)
    for shown in (selfcheck_view.text(result), selfcheck_view.text(result, lang="zh_CN"), selfcheck_view.html(result)):
        more = str(len(labels) - 1)
        line = next(line for line in html.unescape(shown).splitlines() if more in line and labels[1] in line)
        assert "; ".join(labels[1:]) in line, line


@pytest.mark.parametrize("lang", [None, "zh_CN"])
def test_the_html_check_says_every_problem_the_terminal_says(public_cases, lang):
    """`grader check --html` (and the Jupyter table) left out the cells that failed ("cell 15 (...) error:
    NameError: name 'W2c' is not defined"), which the terminal lists first: the student reading
    the HTML did not learn which cell to fix."""
    result = selfcheck.check_file(SUBMISSIONS / "erin_partial.ipynb", public_cases, FAST)
    said = [line.strip()[2:] for line in selfcheck_view.text(result, lang=lang).splitlines() if line.startswith("  ! ")]
    assert any("W2c" in line for line in said) and any("SyntaxError" in line for line in said)
    shown = html.unescape(selfcheck_view.html(result, lang=lang))
    for line in said:
        assert line in shown, line


def test_the_html_check_names_every_failing_case(public_cases):
    """The Jupyter table showed two failing cases of a question and then "and 4 more failing cases",
    which a student could not look up; the others are now in a fold under that line."""
    result = selfcheck.check_file(SUBMISSIONS / "erin_partial.ipynb", public_cases, FAST)
    question = next(q for q in result.questions if q.id == "1a")
    failing = [c.label for c in question.cases if c.status != CaseStatus.PASSED]
    assert len(failing) > selfcheck_view.FAILING_SHOWN
    shown = html.unescape(selfcheck_view.html(result))
    row = shown.split("<b>1a</b>")[1].split("</tr>")[0]
    for label in failing:       # in bold, or among the cases that fail the same way as one shown
        assert f"<b>{label}</b>" in row or re.search(rf"the same way: [^<]*{re.escape(label)}", row), label
    assert "<details" in row and "more failing cases</summary>" in row
