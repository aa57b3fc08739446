"""The student's views of a self-check, in the student's language: terminal text and a compact
HTML table (Jupyter). Pure functions of a `Result` (plus the written parts' status).

Everything a student reads here goes through the catalog of `lang` (`grader.i18n`): the view's
own words, question titles, hints, and the judging code's messages (line by line, with numbers,
arrays and identifiers carried over unchanged). English is the source language.
"""
from __future__ import annotations

import functools
import gettext

from .. import i18n
from ..results import MODULE, PASSED, SELF_CHECK_MODULE, UNREADABLE, CaseStatus, CellStatus, QuestionStatus, Result
from ..selfcheck import EMPTY, FOUND, NO_MARKER

_ = i18n.N_
MARK = {QuestionStatus.PASSED: "✓", QuestionStatus.PARTIAL: "~", QuestionStatus.FAILED: "✗"}
COLOUR = {QuestionStatus.PASSED: "#080", QuestionStatus.PARTIAL: "#a60", QuestionStatus.FAILED: "#b00"}
# The statuses in the student's words (the msgids must be literal for the catalog's extraction).
STATUS_WORDS = {CaseStatus.PASSED: _("passed"), CaseStatus.FAILED: _("failed"), CaseStatus.ERROR: _("error"),
                CaseStatus.TIMEOUT: _("timeout"), CaseStatus.CRASHED: _("crashed"), CaseStatus.MISSING: _("missing"),
                CaseStatus.NOT_RUN: _("not-run")}
WRITTEN_WORDS = {FOUND: _("found"), EMPTY: _("empty (only the template's placeholder)"),
                 NO_MARKER: _("not found: its marker line <!-- answer: {id} --> is missing")}
NOTE_WORDS = {"stuck-thread": _("a timed-out call is stuck in compiled code and still runs in the background; "
                                "restart the kernel if the notebook becomes slow"),
              "no-notebook": _("the saved notebook was not found: pass its path, e.g. "
                               "grader.check_written(\"hw3.ipynb\")"),
              "no-notebook-check": _("the written parts are not listed: the saved notebook was not found (this "
                                     "kernel's folder holds none, or several); pass its path, e.g. "
                                     "grader.check(notebook=\"hw3.ipynb\")")}
PRINTED = _("the checked functions printed {count} lines, not shown here (as in grading); call a function "
            "yourself in a cell to see what it prints")
SHOWN_LINES = 6
FAILING_SHOWN = 2             # failing cases shown per question in the table; the rest are counted


@functools.lru_cache(maxsize=8)
def _tr(lang: str | None) -> gettext.NullTranslations:
    return i18n.translations(lang)


def _msg(text: str, tr: gettext.NullTranslations) -> str:
    return i18n.translate_message(text, tr)


def text(result: Result, written=(), notebook: str | None = None, notes=(), lang: str | None = None) -> str:
    """What `grader check` prints (and `grader.check()` shows outside Jupyter)."""
    tr = _tr(lang)
    g = tr.gettext
    lines = []
    if result.status == UNREADABLE:
        lines.append(g("✗ {name} could not be graded:").format(name=_name(result, tr)))
        lines += [f"    {_msg(p.message, tr)}" for p in result.problems]
        return "\n".join(lines)
    total = sum(len(q.cases) for q in result.questions)
    passed = sum(1 for q in result.questions for c in q.cases if c.status == PASSED)
    if result.questions:
        lines.append(g("Self-check of {name}: {passed} of {total} public cases pass.").format(
            name=_name(result, tr), passed=passed, total=total))
    for problem in result.problems:
        lines.append(f"  ! {_msg(problem.message, tr)}")
    lines += [f"  ! {line}" for line in _failed_cells(result, tr)]
    for note in notes:
        lines.append(f"  ! {_note(note, g)}")
    for q in result.questions:
        ok = sum(1 for c in q.cases if c.status == PASSED)
        lines.append("\n" + g("{mark} {id}  {title}  ({name}): {ok}/{total} public cases pass").format(
            mark=MARK.get(q.status, "?"), id=q.id, title=g(q.title), name=q.name, ok=ok, total=len(q.cases)))
        unwritten = not_written(q)
        if unwritten is not None:
            lines.append("    " + g(NOT_WRITTEN).format(name=q.name, place=_msg(unwritten, tr)))
        for cases in ([] if unwritten is not None else _alike(q)):
            case = cases[0]
            lines.append("    " + g("✗ case {label}: {status}").format(
                label=case.label, status=g(STATUS_WORDS.get(case.status, case.status))))
            for line in _msg(case.message, tr).splitlines()[:SHOWN_LINES]:
                lines.append(f"        {line}")
            if len(cases) > 1:
                lines.append("    " + _same_way(cases, tr))
            if case.status == CaseStatus.TIMEOUT:
                lines.append("    " + g(SLOW))
        for hint in q.hints:
            lines.append("    " + g("hint ({id}): {hint}").format(id=hint.id, hint=g(hint.hint)))
        for where in getattr(q, "where", []) or []:
            lines.append("    " + g("where: {sentence}").format(sentence=_msg(where, tr)))
    if written:
        lines.append("\n" + written_text(written, notebook, tr))
    if result.questions:
        lines.append("\n" + g("Only the public cases were run. Hidden cases (more sizes and edge cases) are graded "
                              "after you hand in; passing every public case does not guarantee full marks."))
    return "\n".join(lines)


NOT_WRITTEN = _("not written yet: `{name}` still raises NotImplementedError ({place}); replace that line "
               "with your code")


SLOW = _("what to look for: a loop that never ends, an input() that waits, or far more work than these small "
         "inputs need (printing a lot slows a function down too)")


def not_written(q) -> str | None:
    """Where a question's function still raises the template's NotImplementedError on every case
    ("line 7 in `f` (cell 4)"), or None: such a question is told in one line, not case by case."""
    if not q.cases or any(c.status != CaseStatus.ERROR for c in q.cases):
        return None
    messages = {c.message for c in q.cases}
    if len(messages) != 1:
        return None
    first = next(iter(messages)).split("\n")[0]
    place, sep, rest = first.partition(": NotImplementedError")
    if not sep or rest.strip(": "):
        return None
    return place


def _alike(q) -> list[list]:
    """The question's failing cases grouped by status and message, in the order they first fail: a
    failure shared by several cases is shown once."""
    groups: dict[tuple, list] = {}
    for case in q.cases:
        if case.status != PASSED:
            groups.setdefault((case.status, case.message), []).append(case)
    return list(groups.values())


def _note(note: str, g) -> str:
    """A note of the check in the student's language ("printed:N" carries its count)."""
    if note.startswith("printed:") and note[len("printed:"):].isdigit():
        return g(PRINTED).format(count=note[len("printed:"):])
    return g(NOTE_WORDS.get(note, note))


def _failed_cells(result: Result, tr: gettext.NullTranslations) -> list[str]:
    """One line per cell (or the module) that did not run cleanly, in the student's language: the
    terminal and the HTML table both list them first, so that either says which cell to fix."""
    g, lines = tr.gettext, []
    for cell in result.cells:
        if cell.status != CellStatus.OK and not _self_check_cell(cell):
            first = cell.error.splitlines()[0] if cell.error else ""
            status, error = g(STATUS_WORDS.get(cell.status, cell.status)), _msg(first, tr)
            if result.kind == MODULE:
                lines.append(g("the module {status}: {error}").format(status=status, error=error))
            else:
                lines.append(g("cell {index} ({head}) {status}: {error}").format(
                    index=cell.index, head=cell.source_head, status=status, error=error))
    return lines


def _self_check_cell(cell) -> bool:
    """A cell that failed only because it calls the self-check (`import grader`, or a later
    `grader.check()`): told once among the problems, not as an error."""
    first = cell.error.splitlines()[0] if cell.error else ""
    return cell.missing_module == SELF_CHECK_MODULE or f"NameError: name '{SELF_CHECK_MODULE}' is not defined" in first


def _same_way(cases: list, tr: gettext.NullTranslations) -> str:
    """The line that stands for the cases after the first of a group of alike failures."""
    count = len(cases) - 1
    return tr.ngettext("✗ {count} more case fails the same way: {labels}",
                       "✗ {count} more cases fail the same way: {labels}", count).format(
        count=count, labels="; ".join(c.label for c in cases[1:]))   # labels hold commas ("T=3, n=2")


def _name(result: Result, tr: gettext.NullTranslations) -> str:
    """The checked submission's name: a file's as it is, the live kernel's in the student's language."""
    from ..jupyter import KERNEL_NAME, WRITTEN_NAME

    return tr.gettext(result.submission) if result.submission in (KERNEL_NAME, WRITTEN_NAME) else result.submission


def written_text(written, notebook: str | None, tr: gettext.NullTranslations) -> str:
    g = tr.gettext
    found = sum(1 for w in written if w.status == FOUND)
    lines = [g("Written parts in {notebook} (as last saved; an edit not yet saved is not seen): "
               "{found} of {total} answered.").format(notebook=notebook or "?", found=found, total=len(written))]
    for w in written:
        mark = "✓" if w.status == FOUND else "✗"
        lines.append("  " + g("{mark} {id}  {title}: {status}").format(
            mark=mark, id=w.id, title=g(w.title), status=g(WRITTEN_WORDS[w.status]).format(id=w.id)))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# HTML (Jupyter)


def environment():
    """A new environment for the self-check's table, with Jinja2's i18n extension (each `html`
    call installs the student's language in it). A caller checking often keeps one and passes it."""
    from .html import bytecode_cache, loader, make_environment, template_dir

    env = make_environment(loader(template_dir()), bytecode_cache())
    env.add_extension("jinja2.ext.i18n")
    return env


def html(result: Result, written=(), notebook: str | None = None, notes=(), lang: str | None = None,
         live: bool = False, env=None) -> str:
    """A compact table: one row per question, the failing cases' first lines, hints, written parts.
    `live`: the answers came from the definitions in a Jupyter kernel (not from a saved file)."""
    tr = _tr(lang)
    g = tr.gettext
    rows = []
    for q in result.questions:
        unwritten = not_written(q)
        failing = []
        for cases in ([] if unwritten is not None else _alike(q)):
            case = cases[0]
            lines = _msg(case.message, tr).splitlines()[:SHOWN_LINES]
            same = _same_way(cases, tr) if len(cases) > 1 else ""
            if case.status == CaseStatus.TIMEOUT:
                same = (same + "\n" if same else "") + g(SLOW)
            failing.append({"label": case.label, "status": g(STATUS_WORDS.get(case.status, case.status)),
                            "lines": lines, "same": same, "count": len(cases)})
        rows.append({"id": q.id, "title": g(q.title), "name": q.name, "status": q.status,
                     "mark": MARK.get(q.status, "?"), "colour": COLOUR.get(q.status, "#b00"),
                     "passed": sum(1 for c in q.cases if c.status == PASSED),
                     "total": len(q.cases), "failing": failing, "shown": FAILING_SHOWN,
                     "more": sum(f["count"] for f in failing[FAILING_SHOWN:]),
                     "unwritten": g(NOT_WRITTEN).format(name=q.name, place=_msg(unwritten, tr))
                     if unwritten is not None else "",
                     "hints": [{"id": h.id, "text": g(h.hint)} for h in q.hints],
                     "where": [_msg(w, tr) for w in (getattr(q, "where", []) or [])]})
    parts = [{"id": w.id, "title": g(w.title), "ok": w.status == FOUND,
              "text": g(WRITTEN_WORDS[w.status]).format(id=w.id)} for w in written]
    env = env or environment()
    env.install_gettext_translations(tr, newstyle=True)
    template = env.get_template("selfcheck.html")
    return template.render(
        result=result, rows=rows, written=parts, notebook=notebook,
        problems=[_msg(p.message, tr) for p in result.problems] + _failed_cells(result, tr),
        notes=[_note(n, g) for n in notes],
        passed=sum(r["passed"] for r in rows), total=sum(r["total"] for r in rows),
        written_found=sum(1 for p in parts if p["ok"]), lang=lang or i18n.DEFAULT, live=live)


def page(result: Result, written=(), notebook: str | None = None, notes=(), lang: str | None = None) -> str:
    """`html` as a page of its own (`grader check --html FILE`)."""
    from markupsafe import escape

    tag = (lang or i18n.DEFAULT).replace("_", "-")
    title = _tr(lang).gettext("Self-check of {name}: {passed} of {total} public cases pass.").format(
        name=_name(result, _tr(lang)), passed=sum(1 for q in result.questions for c in q.cases if c.status == PASSED),
        total=sum(len(q.cases) for q in result.questions))
    return (f'<!doctype html>\n<html lang="{escape(tag)}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"</head><body>\n{html(result, written, notebook, notes, lang)}</body></html>\n")
