"""The status vocabularies (grader.results, and the run's in grader.jobwire): string enums, written
to JSON as before, read back as enums, and spelt nowhere else as literals (issue 11, item 3)."""
from __future__ import annotations

import io
import json
import re
import tokenize
from collections import Counter
from pathlib import Path

import pytest

from grader.jobwire import RunStatus
from grader.results import (STATUS_TYPES, CaseResult, CaseStatus, CellReport, CellStatus, QuestionResult,
                            QuestionStatus, Result, StaffCase, Standing, SubmissionStatus, json_text, plain)

ROOT = Path(__file__).resolve().parent.parent
# The run's vocabulary (what became of a call or a cell before judging: "ok", "unconvertible", ...)
# lives in the job protocol's module, as the results' lives in grader.results: each in one place.
WORDS = {member.value for kind in (*STATUS_TYPES, RunStatus) for member in kind}
HOMES = {"grader/results.py", "grader/jobwire.py"}

# Literals equal to a status word that are not statuses: (file, literal) -> (how many, why).
NOT_STATUSES = {
    ("grader/pipeline.py", "unreadable"): (1, "a Problem code"),
    ("grader/course.py", "no-submission"): (2, "a Problem code, and the codes the course step owns"),
    ("grader/render/notebook.py", "error"): (3, "an nbformat output type (read, made, drawn)"),
    ("grader/submitted.py", "missing"): (1, "a kind of file system entry"),
    ("grader/similarity.py", "blank"): (1, "a kind of source token"),
    ("grader/load.py", "empty"): (2, "a LoadError code"),
    ("templates/cases.html", "passed"): (2, "the text a screen reader says for the two marks (report, instructor page)"),
}


def _python_literals(path: Path) -> list[str]:
    """String literals equal to a status word, except dict keys, subscripts, `.get(...)` keys and
    gettext message ids (`_("passed")`, the text a status is shown as)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
              if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)]
    found = []
    for i, token in enumerate(tokens):
        if token.type != tokenize.STRING or not re.fullmatch(r"""(['"]).*\1""", token.string):
            continue
        value = token.string[1:-1]
        if value not in WORDS:
            continue
        before = [t.string for t in tokens[max(0, i - 2):i]]
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if (after == ":" and before[-1:] in (["{"], [","])) or (before[-1:] == ["["] and after == "]"):
            continue
        if before[-1:] == ["("] and before[-2:-1] and before[-2] in ("get", "pop", "_", "N_"):
            continue
        found.append(value)
    return found


def _template_literals(path: Path) -> list[str]:
    """Quoted strings equal to a status word anywhere in a template (Jinja expressions and markup)."""
    return [m.group(2) for m in re.finditer(r"""(['"])([a-z-]+)\1""", path.read_text(encoding="utf-8"))
            if m.group(2) in WORDS]


def _literals() -> Counter:
    counts: Counter = Counter()
    for path in sorted((ROOT / "grader").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in HOMES:
            continue
        counts.update((name, v) for v in _python_literals(path))
    for path in sorted((ROOT / "templates").glob("*.*")):
        if path.suffix in (".html", ".js"):
            counts.update((path.relative_to(ROOT).as_posix(), v) for v in _template_literals(path))
    return counts


def test_no_status_is_spelt_outside_results():
    counts = _literals()
    extra = {key: n for key, n in counts.items() if n > NOT_STATUSES.get(key, (0, ""))[0]}
    assert not extra, (f"status words spelt as literals (use the enums of grader.results; in a template, "
                       f"compare with CaseStatus.PASSED etc.): {extra}")
    stale = {key for key, (n, _) in NOT_STATUSES.items() if counts.get(key, 0) < n}
    assert not stale, f"allowances no longer needed in NOT_STATUSES: {stale}"


def test_the_grep_finds_what_it_must(tmp_path):
    """The scanner itself: a comparison with a literal is found; keys and message ids are not."""
    source = tmp_path / "x.py"
    source.write_text('if c.status == "passed":\n    d = {"error": 1, "ok": 2}\n    e = d["ok"]\n    f = x.get("timeout")\n'
                      '    g = _("crashed")\n    h = "not-run"\n')
    assert _python_literals(source) == ["passed", "not-run"]
    page = tmp_path / "t.html"
    page.write_text("{% if c.status == 'passed' %}x{% endif %}{{ CaseStatus.PASSED }}")
    assert _template_literals(page) == ["passed"]


def _result() -> Result:
    case = CaseResult("q1/1", "public", "n=1", "passed", message="ok")
    hidden = CaseResult("q1/2", "hidden", "", "not-run")
    question = QuestionResult("q1", "Q1", "f", 1.0, 2.0, "partial", [case, hidden])
    return Result("alice", "graded", 1.0, 2.0, [question], cells=[CellReport(0, "timeout", "slow")])


def test_statuses_are_enums_from_strings_and_from_json():
    result = _result()
    q = result.questions[0]
    assert result.status is SubmissionStatus.GRADED and q.status is QuestionStatus.PARTIAL
    assert q.cases[0].status is CaseStatus.PASSED and q.cases[1].status is CaseStatus.NOT_RUN
    assert result.cells[0].status is CellStatus.TIMEOUT
    back = Result.from_dict(json.loads(json_text(plain(result))))
    assert back == result
    assert back.status is SubmissionStatus.GRADED and back.questions[0].status is QuestionStatus.PARTIAL
    assert [c.status for c in back.questions[0].cases] == [CaseStatus.PASSED, CaseStatus.NOT_RUN]
    assert back.cells[0].status is CellStatus.TIMEOUT


def test_json_is_the_plain_strings_byte_for_byte():
    result = _result()
    text = json_text(plain(result))
    as_strings = json.loads(text)          # plain str everywhere
    assert text == json_text(as_strings)
    assert '"status":"graded"' in text and '"status":"not-run"' in text and '"status":"partial"' in text
    assert json_text(plain(Result.from_dict(as_strings))) == text


def test_a_status_reads_as_its_value():
    assert str(CaseStatus.NOT_RUN) == f"{CaseStatus.NOT_RUN}" == "not-run" == CaseStatus.NOT_RUN
    assert "%s" % Standing.COUNTED == "graded"
    assert {CaseStatus.PASSED: 1}["passed"] == 1
    assert repr([CaseStatus.NOT_RUN]) == "['not-run']"


def test_an_unknown_status_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'half-passed'"):
        CaseResult("u", "public", "", "half-passed")
    with pytest.raises(ValueError, match="'done'"):
        StaffCase("u", "q", "", "done")
