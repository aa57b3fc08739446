"""Feedback in the student's language: English and Simplified Chinese complete for the self-check,
chosen by --lang, the course configuration or the locale; numbers, math and identifiers unchanged."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader import caseset, catalogs, i18n, jupyter, selfcheck
from grader.protocol import Limits
from grader.render import selfcheck_view

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
FAST = Limits(case_seconds=1.0, cell_seconds=5.0, submission_seconds=60.0)


@pytest.fixture(scope="module")
def bob(config):
    public = caseset.build(config.load_assignment(), None).only("public")
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
    proc = subprocess.run([sys.executable, "-m", "grader", "check", str(SUBMISSIONS / "bob_seed_mistakes.ipynb"),
                           "2c", "--html", "out.html"], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert "提示（zero-instead-of-small）" in proc.stdout
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<html lang="zh-CN">' in page and "zero-instead-of-small" in page
    proc = subprocess.run([sys.executable, "-m", "grader", "check", "nope.ipynb", "--lang", "zh_CN"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 2 and "nope.ipynb 不存在" in proc.stderr


def test_the_course_language_from_the_config(tmp_path):
    (tmp_path / "grader.toml").write_text('[grader]\nlang = "zh_CN"\n', encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "grader", "check", str(SUBMISSIONS / "alice_correct.ipynb"), "1a"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0 and re.search(r"(\d+) 个公开测试用例中有 \1 个通过", proc.stdout), proc.stdout


def test_jupyter_check_in_chinese():
    report = jupyter.check("1a", namespace={}, lang="zh_CN")
    assert "`sigmoid_jacobian` 未定义" in repr(report) and "题目" in report._repr_html_()
