"""Feedback in the student's language: English and Simplified Chinese complete for the self-check,
chosen by --lang, the course configuration or the locale; numbers, math and identifiers unchanged."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader import catalogs, i18n, jupyter, selfcheck
from grader.protocol import Limits
from grader.render import selfcheck_view
from grader.results import CellStatus
from grader.spec import PUBLIC

from cli_run import run_cli
from shared_cases import shared_case_set

# The self-checks of `grader check` and `grader.check()` build their public cases (caseset.for_self_check):
# here they share the test process's one build, and so its memo (shared_cases).
pytestmark = pytest.mark.usefixtures("shared_builds")

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
FAST = Limits(case_seconds=1.0, cell_seconds=5.0, submission_seconds=60.0)


@pytest.fixture(scope="module")
def bob(config):
    public = shared_case_set(config, PUBLIC)
    result = selfcheck.check_file(SUBMISSIONS / "bob_seed_mistakes.ipynb", public, FAST)
    written = selfcheck.written_status(SUBMISSIONS / "bob_seed_mistakes.ipynb", public.assignment)
    return result, written


# ------------------------------------------------------------------------------------------------
# The catalogs


def test_compiled_catalogs_are_what_their_po_files_compile_to():
    pos = catalogs.po_files()
    assert [p.parent.parent.name for p in pos] == ["zh_CN"]
    for po in pos:
        assert po.with_suffix(".mo").read_bytes() == catalogs.compiled(po), f"run: python -m grader.catalogs compile"


def test_every_student_facing_string_is_translated():
    """Every string the extraction finds (code, template, the assignment's titles, hints, sentences)
    has a Chinese translation with the same fields."""
    from babel.messages.pofile import read_po

    extracted = {m.id for m in catalogs.extract() if m.id}
    with catalogs.po_files()[0].open("rb") as fh:
        zh = {m.id: m.string for m in read_po(fh, locale="zh_CN") if m.id}
    missing = sorted(str(i) for i in extracted if not zh.get(i))
    assert not missing, f"untranslated (python -m grader.catalogs extract && update): {missing[:5]}"
    for msgid, text in zh.items():
        if isinstance(msgid, str):
            fields = sorted(re.findall(r"\{\w+\}|%\(\w+\)s", msgid))
            assert fields == sorted(re.findall(r"\{\w+\}|%\(\w+\)s", text)), msgid


@pytest.mark.parametrize("value, expected", [
    ("zh_CN.UTF-8", "zh_CN"), ("zh_CN", "zh_CN"), ("zh-Hans", "zh_CN"), ("zh", "zh_CN"), ("zh_TW.UTF-8", "en"),
    ("en_US.UTF-8", "en"), ("C.UTF-8", "en"), ("fr_FR", "en"), ("", "en"),
])
def test_the_locale_picks_a_catalog(value, expected):
    assert i18n.choose(env={"LANG": value}) == expected


def test_explicit_beats_course_beats_locale():
    env = {"LANG": "en_US.UTF-8", "LC_ALL": ""}
    assert i18n.choose("zh_CN", "en", env) == "zh_CN"
    assert i18n.choose(None, "zh_CN", env) == "zh_CN"
    assert i18n.choose(None, None, {"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US"}) == "zh_CN"
    assert i18n.choose("xx", None, env) == "en"


def test_a_message_keeps_its_numbers_and_student_text():
    tr = i18n.translations("zh_CN")
    message = ("Largest absolute difference: 0.184563 at index (2, 0) (expected -0.199792, got -0.384355).\n"
               "['f'] Wrong shape: expected (2, 3), got (3, 2).\n"
               "ValueError: shapes (3,) and (2,) not aligned")
    out = i18n.translate_message(message, tr).splitlines()
    assert out[0] == "最大绝对误差：0.184563，位于索引 (2, 0)（期望 -0.199792，得到 -0.384355）。"
    assert out[1] == "['f'] 形状错误：期望 (2, 3)，得到 (3, 2)。"
    assert out[2] == "ValueError: shapes (3,) and (2,) not aligned"      # the student's own exception: as it is
    assert i18n.translate_message(message, i18n.translations("en")) == message


# ------------------------------------------------------------------------------------------------
# Both languages rendered

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
IDENTIFIER = re.compile(r"\b[A-Za-z]\w*_\w*\b|\(\d+(?:, \d+)*\)")


def _facts(text: str) -> list[str]:
    return sorted(NUMBER.findall(text) + IDENTIFIER.findall(text))


def test_terminal_view_in_english_and_chinese(bob):
    result, written = bob
    en = selfcheck_view.text(result, written, "bob.ipynb", lang="en")
    zh = selfcheck_view.text(result, written, "bob.ipynb", lang="zh_CN")
    passed = sum(c.passed for q in result.questions for c in q.cases)
    total = sum(len(q.cases) for q in result.questions)
    assert 0 < passed < total
    assert f"{passed} of {total} public cases pass" in en and "hint (sigma-prime-not-per-step)" in en
    assert f"{total} 个公开测试用例中有 {passed} 个通过" in zh and "提示（sigma-prime-not-per-step）" in zh
    assert "位置：只有 t − k ≥ 2 的 (t, k) 块是错的" in zh
    assert "书面作答" in zh
    assert not re.search(r"(?<![\w-])(?:the|is|are|not|of|cases)(?![\w-])", zh), "English words left in the Chinese view"
    assert _facts(en) == _facts(zh)               # numbers, indices, shapes and identifiers unchanged


def test_html_view_in_english_and_chinese(bob):
    result, written = bob
    en = selfcheck_view.html(result, written, "bob.ipynb", lang="en")
    zh = selfcheck_view.html(result, written, "bob.ipynb", lang="zh_CN")
    assert 'lang="en"' in en and "<th>question</th>" in en
    assert 'lang="zh-CN"' in zh and "<th>题目</th>" in zh and "提示" not in en
    strip = re.compile(r"<[^>]+>")
    assert _facts(strip.sub(" ", en)) == _facts(strip.sub(" ", zh))


def test_grader_check_in_chinese_from_the_command_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LANG": "zh_CN.UTF-8", "PYTHONPATH": str(ROOT)}
    proc = run_cli(["check", SUBMISSIONS / "bob_seed_mistakes.ipynb", "2c", "--html", "out.html"], env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert "提示（zero-instead-of-small）" in proc.stdout
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<html lang="zh-CN">' in page and "zero-instead-of-small" in page
    proc = run_cli(["check", "nope.ipynb", "--lang", "zh_CN"], env=env, cwd=tmp_path)
    assert proc.returncode == 2 and "nope.ipynb 不存在" in proc.stderr


def test_the_course_language_from_the_config(tmp_path):
    (tmp_path / "grader.toml").write_text('[grader]\nlang = "zh_CN"\n', encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8", "PYTHONPATH": str(ROOT)}
    proc = run_cli(["check", SUBMISSIONS / "alice_correct.ipynb", "1a"], env=env, cwd=tmp_path)
    assert proc.returncode == 0 and re.search(r"(\d+) 个公开测试用例中有 \1 个通过", proc.stdout), proc.stdout


def test_jupyter_check_in_chinese():
    report = jupyter.check("1a", namespace={}, lang="zh_CN")
    assert "`sigmoid_jacobian` 未定义" in repr(report) and "题目" in report._repr_html_()


# ------------------------------------------------------------------------------------------------
# The explanations of what came back and what is missing (grader.pipeline, grader.jobwire,
# grader.load, grader.studentshell), made by the real code, in Chinese with their fields intact

def _sample(template: str) -> str:
    """`template` with each field filled as a real message fills it (a number where only a number goes)."""
    return re.sub(r"\{(\w+)\}", lambda m: "7" if m.group(1) in i18n.NUMBER_FIELDS else f"x_{m.group(1)}", template)


def test_every_template_matches_its_own_messages_first():
    """The matcher takes the first template that fits: none may swallow a later one's messages."""
    templates = i18n.templates()
    for template in templates:
        text = _sample(template)
        first = next(t for t in templates if i18n._pattern(t).match(text))
        assert first == template, (text, first)


def test_a_wide_template_does_not_swallow_student_text():
    tr = i18n.translations("zh_CN")
    for line in ("line two: not a place", "ValueError: line 3: oops", "cell x failed on `import y`: z",
                 "not read: a.py. Only a.py is read"):
        assert i18n.translate_message(line, tr) == line
    # a place's summary is the student's own exception: kept as it is
    assert (i18n.translate_message("line 4 in `f` (cell 2): ValueError: line 3 (cell 1): x", tr)
            == "`f` 中第 4 行（单元格 2）：ValueError: line 3 (cell 1): x")


def _unconvertible(obj, kind="matrix", keys=()):
    from grader import jobwire

    with pytest.raises(jobwire.Unconvertible) as caught:
        jobwire.encode_answer(kind, list(keys), obj, 2**20) if keys else jobwire.encode_array(obj)
    return str(caught.value)


def _worker_messages() -> list[tuple[str, str]]:
    """(English message as the worker says it, a part of its Chinese)."""
    import functools

    import numpy as np

    from grader import jobwire

    class Tensor:
        def numpy(self):
            return np.zeros(2)

    cached = functools.lru_cache(lambda W: W)
    try:
        cached(np.zeros(2))
    except TypeError as exc:
        lru = jobwire.call_hint(cached, exc)
    return [
        (_unconvertible(None), "返回了 None：函数结束时没有 `return <answer>`"),
        (_unconvertible((np.zeros((2, 2)), {"h": 1})), "返回了一个含 2 项的 tuple（ndarray (2, 2), dict），它不是一个数组"),
        (_unconvertible(row for row in np.eye(2)), "返回了 `generator`，而不是数值数组：请用它构造数组（`np.array(list(...))`）"),
        (_unconvertible(Tensor()), "返回了 `Tensor`，而不是数值数组：它有 `.numpy()` 方法"),
        (_unconvertible([[1.0, None], [2.0, 3.0]]), "返回的数组中含有 None（第一个位于索引 (0, 1)）"),
        (_unconvertible({"f": np.zeros(2), "i": None}, "array_dict", ["f", "i"]), "['i'] 是 None，不是数组"),
        (lru, "该函数被 functools.lru_cache（或 cache）包装"),
        (jobwire.error_message(jobwire.place(7, "step", "cell 4"), "ValueError: bad", "h = step(x)"),
         "`step` 中第 7 行（单元格 4）：ValueError: bad\n    h = step(x)"),
        (jobwire.error_message(jobwire.place(None, "step", "hw3.py"), "KeyError: 'W'", ""),
         "`step` 中的某一行（hw3.py）：KeyError: 'W'"),
    ]


def _pipeline_messages() -> list[tuple[str, str]]:
    from grader import explain
    from grader.load import MODULE, NOTEBOOK
    from grader.names import Definitions
    from grader.results import CellReport

    defs = Definitions({0: "W_30 = power(W, 30)", 1: "def power(M, p):\n    return M\n",
                        2: "class LSTM:\n    def lstm_step(p, x):\n        return x\n"})
    error = "line 1 (cell 0): NameError: name 'power' is not defined"
    cells = [CellReport(0, CellStatus.ERROR, error, "W_30 = power(W, 30)"), CellReport(1, CellStatus.OK, "", "def"),
             CellReport(2, CellStatus.OK, "", "class")]
    spelt = Definitions({0: "def bptt_gradient(W):\n    return W\n"})
    main = Definitions({0: 'if __name__ == "__main__":\n    W_30 = 1\n'})
    missing = ("line 2 (cell 3): FileNotFoundError: [Errno 2] No such file or directory: 'weights.npy'")
    timeout = [CellReport(0, CellStatus.TIMEOUT, "the cell ran longer than 0.5 s and was stopped; the cell was skipped", "")]
    explain.module_timeout(timeout, MODULE)
    return [
        (explain._with_cause(error, explain._name_cause(error, cells, defs, NOTEBOOK, at=0)),
         "第 1 行（单元格 0）：NameError: name 'power' is not defined（`power` 定义在下面的单元格 1 中"),
        ("`bptt_grad` is not defined\n" + explain._missing_cause("bptt_grad", [], spelt, NOTEBOOK),
         "`bptt_grad` 未定义\n代码定义的是 `bptt_gradient`，而不是 `bptt_grad`：评分器只查找名字完全为 `bptt_grad` 的定义"),
        (explain._missing_cause("lstm_step", [], defs, NOTEBOOK),
         "`lstm_step` 只在类 `LSTM` 内部定义（即 `LSTM.lstm_step`）"),
        (explain._missing_cause("W_30", [], main, MODULE), '`W_30` 只在 `if __name__ == "__main__":` 下定义'),
        (explain._missing_cause("W_30", cells, defs, NOTEBOOK),
         "定义 `W_30` 的单元格 0 在定义它之前就出错停止了：第 1 行（单元格 0）：NameError"),
        (timeout[0].error, "模块的顶层代码运行超过 0.5 秒，已被停止；该模块被跳过（模块评分时会运行顶层代码"),
        (missing + explain._file_cause(missing, []), "FileNotFoundError: [Errno 2] No such file or directory: "
                                                      "'weights.npy'（评分器只单独运行提交的文件"),
        (missing + explain._file_cause(missing, ["!wget x"]), "shell 命令（`!wget`、`%%bash`）也不会运行"),
    ]


def _compare_messages() -> list[tuple[str, str]]:
    import numpy as np

    from grader.compare import ComplexArray, compare_arrays
    from grader.spec import Tolerance

    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    complex_answer = ComplexArray(expected.copy(), np.array([[0.0, 0.5], [0.0, 0.0]]))
    masked = np.ma.masked_array(expected, mask=[[0, 1], [0, 0]])
    return [(compare_arrays(expected, complex_answer, Tolerance()).message,
             "答案是复数：其最大的虚部为 0.5，位于索引 (0, 1)，超出了容差"),
            (compare_arrays(expected, masked, Tolerance()).message, "掩码数组（masked array）不能作为答案")]


def test_what_came_back_and_what_is_missing_in_chinese():
    """Each kind of explanation, as the real code words it: translated, its facts unchanged, and the
    English as it was."""
    from grader.load import _not_graded

    [(_, not_read)] = _not_graded("hw3.ipynb", ["hw3.ipynb", "hw3_utils.py", "notes.pdf"])
    messages = _worker_messages() + _pipeline_messages() + _compare_messages() + [
        (not_read, "未读取：hw3_utils.py, notes.pdf。只读取 hw3.ipynb"),
        ("line 3 (cell 2): EOFError: input() cannot be answered during grading (nobody is at the keyboard); "
         "set the value in the code instead", "第 3 行（单元格 2）：EOFError: 评分时无法响应 input()"),
    ]
    zh, en = i18n.translations("zh_CN"), i18n.translations("en")
    for message, words in messages:
        out = i18n.translate_message(message, zh)
        assert words in out, (message, out)
        assert _facts(out) == _facts(message), (message, out)
        assert not re.search(r"(?<![\w-])(?:the|is|are|not|of|cases)(?![\w-])", out.replace("is not defined", "")
                             .replace("No such file or directory", "")), out
        assert i18n.translate_message(message, en) == message


def test_a_real_notebook_run_out_of_order_reads_in_chinese(config, tmp_path):
    """A real self-check of a notebook with the usual troubles: in Chinese every explanation is
    translated, and the English view has them word for word."""
    import json

    carol = (SUBMISSIONS / "carol_module.py").read_text(encoding="utf-8").split("if __name__ ==")[0]
    carol = (carol.replace("W_30 =", "_w30 =").replace("def bptt_grad(", "def bptt_gradient(")
             .replace("def lstm_step(", "class LSTM:\n  @staticmethod\n  def lstm_step("))
    cells = ["import numpy as np", "from hw3_utils import sigmoid", "!wget -q https://example.org/weights.npy",
             "weights = np.load('weights.npy')", "W = np.eye(2)\nW_30 = matrix_power_eig(W, 30)", carol,
             "def cell_state_gradient(fs):\n    print(fs)\n",
             "def sigmoid_jacobian(W, x):\n    s = 1 / (1 + np.exp(-(W @ x)))\n    W *= (s * (1 - s))[:, None]\n    return W\n",
             "def matrix_power_eig(M, p):\n    raise NotImplementedError()\n"]
    counts = [1, 2, 3, 4, 10, 5, 6, 7, 8]
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
          "cells": [{"cell_type": "code", "metadata": {}, "execution_count": n, "outputs": [],
                     "source": source.splitlines(True)} for source, n in zip(cells, counts)]}
    path = tmp_path / "troubles.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    public = shared_case_set(config, PUBLIC)
    result = selfcheck.check_file(path, public, FAST)
    en = selfcheck_view.text(result, (), "troubles.ipynb", lang="en")
    zh = selfcheck_view.text(result, (), "troubles.ipynb", lang="zh_CN")
    for english in ("this notebook was last run out of order in Jupyter (cell 5 ran as [10], the later cell 6 as [5])",
                    "cell 2 failed on `import hw3_utils`", "The code defines `bptt_gradient`, not `bptt_grad`",
                    "`lstm_step` is defined only inside the class `LSTM`", "returned None: the function ends",
                    "`sigmoid_jacobian` changes its argument `W` in place", "`matrix_power_eig` is defined in cells 6 and 9",
                    "the grader runs the submitted file alone"):
        assert english in en, english
    for chinese in ("这个笔记本上次在 Jupyter 中没有按顺序运行（单元格 5 的运行编号是 [10]，排在它后面的单元格 6 却是 [5]）",
                    "单元格 2 在 `import hw3_utils` 处出错", "代码定义的是 `bptt_gradient`，而不是 `bptt_grad`",
                    "`lstm_step` 只在类 `LSTM` 内部定义", "返回了 None：函数结束时没有 `return <answer>`",
                    "`sigmoid_jacobian` 原地修改了它的参数 `W`", "`matrix_power_eig` 在单元格 6 和 9 中都有定义",
                    "评分器只单独运行提交的文件", "`matrix_power_eig` 定义在下面的单元格 6 中"):
        assert chinese in zh, (chinese, zh)
    assert _facts(en) == _facts(zh)
    left = [line for line in zh.splitlines() if "用例 " not in line and re.search(r"(?<![\w-])(?:the|is|are|of|cases|returned|defined)(?![\w-])",
                         re.sub(r"\w*Error: .*?(?=（|$)", "", line))]
    assert not left, left


def test_the_notes_on_a_hand_in_read_in_chinese(tmp_path):
    """A hand-in folder's notes (grader.load), as the loader words them."""
    import json
    import os

    from grader.load import load

    folder = tmp_path / "hand"
    folder.mkdir()
    cell = {"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [], "execution_count": None}
    (folder / "hw3.ipynb").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}))
    (folder / "numpy.py").write_text("x = 1\n")
    (folder / "notes.pdf").write_text("x")
    os.symlink(tmp_path / "elsewhere.npy", folder / "data.npy")
    notes = dict(load(folder).notes)
    expected = {
        "ignored-shadowing": "numpy.py 会遮蔽模块 `numpy`；它没有被运行",
        "ignored-symlink": "data.npy 是符号链接，评分器从不跟随符号链接；它已被忽略（请提交文件本身）",
        "ignored-other": "未读取：notes.pdf。只读取 hw3.ipynb（一份作业就是一个文件）；其他文件中的代码或答案，只有放进 hw3.ipynb 才算数",
        "no-kernelspec": "该笔记本没有指明内核；已按 Python 运行",
    }
    tr = i18n.translations("zh_CN")
    for code, chinese in expected.items():
        assert i18n.translate_message(notes[code], tr) == chinese, notes[code]
        assert i18n.translate_message(notes[code], i18n.translations("en")) == notes[code]


def test_jupyter_check_explains_a_missing_return_in_chinese():
    def cell_state_gradient(fs):
        print(fs)

    report = jupyter.check("3c-carousel", namespace={"cell_state_gradient": cell_state_gradient}, lang="zh_CN")
    assert "返回了 None：函数结束时没有 `return <answer>`" in repr(report)
    assert "返回了 None：函数结束时没有 `return &lt;answer&gt;`" in report._repr_html_()
    english = jupyter.check("3c-carousel", namespace={"cell_state_gradient": cell_state_gradient}, lang="en")
    assert "returned None: the function ends without `return <answer>`" in repr(english)


@pytest.mark.parametrize("name, data, chinese", [
    ("latin.ipynb", '{\n "cells": [],\n "x": "été"\n}'.encode("latin-1"), "第 3 行第 8 列是字节 0xE9，而 Jupyter"),
    ("answers.py", "# 梯度\nx = 1\n".encode("gbk"), "第 1 行第 3 列是字节 0xCC（"),
    ("answers.py", b"# coding: utf-8\nx = '\xe9'\n", "声明其编码为 utf-8，但第 2 行第 6 列的字节 0xE9 不是 utf-8 文本"),
])
def test_a_file_in_another_encoding_is_explained_in_chinese(tmp_path, name, data, chinese):
    from grader.load import LoadError, load

    (tmp_path / name).write_bytes(data)
    with pytest.raises(LoadError) as caught:
        load(tmp_path / name)
    assert chinese in i18n.translate_message(caught.value.message, i18n.translations("zh_CN"))
