"""Renderers are pure functions of results (issue 11, item 5): they import no part of the grading
machinery, the templates do no arithmetic, and the parsed templates live in an environment the
caller holds, not in the renderers."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from grader.render import html
from grader.results import CaseResult, QuestionResult, Result

ROOT = Path(__file__).resolve().parent.parent
RENDERERS = sorted(p.stem for p in (ROOT / "grader" / "render").glob("*.py") if p.stem != "__init__")
# What grades, runs or merges: a renderer needs none of it.
MACHINERY = ["grader.pipeline", "grader.session", "grader.runner", "grader.sandbox", "grader.batch",
             "grader.kept_scores", "grader.course"]


def test_no_renderer_imports_the_grading_machinery():
    code = ("import importlib, json, sys\n"
            f"for name in {RENDERERS!r}:\n"
            "    importlib.import_module('grader.render.' + name)\n"
            f"print(json.dumps([m for m in {MACHINERY!r} if m in sys.modules]))\n")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                       cwd=ROOT).stdout)
    assert loaded == []


def _expressions(text: str) -> list[str]:
    """The Jinja2 expressions and statements of a template, with string literals and comments removed."""
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    found = re.findall(r"\{\{(.*?)\}\}|\{%(.*?)%\}", text, flags=re.S)
    return [re.sub(r"""'[^']*'|"[^"]*\"""", "''", a or b) for a, b in found]


ARITHMETIC = re.compile(r"(?<![-\w])(?:[-+*/%]|//|\*\*)(?![-\w=])|[<>]=?\s*[\d.]|[\d.]\s*[<>]=?")


def _arithmetic(text: str) -> list[str]:
    inner = [e.strip().strip("-+").strip() for e in _expressions(text)]      # whitespace control: {%- ... -%}
    return [e for e in inner if ARITHMETIC.search(e)]


def test_templates_do_no_arithmetic():
    found = {p.name: _arithmetic(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "templates").glob("*.html"))}
    assert {name: e for name, e in found.items() if e} == {}


def test_the_arithmetic_check_finds_arithmetic():
    assert _arithmetic("{{ b.x + b.width / 2 }}") and _arithmetic("{% set y = loop.index0 * g.row %}")
    assert _arithmetic("{{ 'a' if f >= 0.999 else 'b' }}") and _arithmetic("{% if n | length > 2 %}x{% endif %}")
    assert not _arithmetic("{{ b.centre }} {{ s.kind }} {{ q.id | slug }} {%- if x -%}{% endif %} {{ 'a-b' }}")


def _result() -> Result:
    case = CaseResult("q/1", "public", "n=1", "passed")
    return Result("alice", "graded", 1.0, 1.0, [QuestionResult("q", "Q", "f", 1.0, 1.0, "passed", [case])])


def test_the_parsed_templates_belong_to_the_callers_environment():
    env = html.environment()
    assert html.environment() is not env            # nothing shared behind the caller's back
    html.report(_result(), env)
    assert any(key[1] == "report.html" for key in env.cache)
    again = html.environment()
    assert not again.cache                          # a new environment starts empty
