"""Why a cell or a case failed, in the student's terms, from what the run reported and from the
source (read, never run): an earlier cell that failed on an import or before defining a name, a
name defined only in a later cell, spelt otherwise, kept in a class or under the main guard, a
function replaced by its value, a module whose top-level code ran out of time, a file that is not
in the hand-in, a notebook last run out of order, a module run as IPython. Generic: nothing here
knows the homework. `grader.pipeline` calls these while it builds a result.
"""
from __future__ import annotations

import re

from .load import NOTEBOOK, Program
from .names import Deleted, Deletion, Definitions
from .protocol import CellRun
from .results import (ERROR, MISSING, SELF_CHECK_MODULE, CaseResult, CellReport, CellStatus, Problem, QuestionResult, QuestionStatus,
                      code_unit)
from .spec import PUBLIC
from .text import clean, nth_line


UNDEFINED = re.compile(r"NameError: name '(\w+)' is not defined")


def _import_cause(message: str, cells: list[CellReport], sources: dict[int, str], before: int | None = None) -> str:
    """" (probably because cell 0 failed on `import torch` before defining it)" when `message` is
    a NameError for a name that an earlier cell which failed on an import would have defined (the
    name appears in that cell's code), else ""."""
    match = UNDEFINED.search(message.split("\n")[0])
    if not match:
        return ""
    word = re.compile(rf"\b{re.escape(match.group(1))}\b")
    for cell in cells:
        if (cell.missing_module and (before is None or cell.index < before)
                and word.search(sources.get(cell.index, ""))):
            return f" (probably because cell {cell.index} failed on `import {cell.missing_module}` before defining it)"
    return ""


def _with_cause(message: str, cause: str) -> str:
    first, _, rest = message.partition("\n")
    return first + cause + (("\n" + rest) if rest else "")


def module_timeout(cells: list[CellReport], kind: str) -> None:
    """A module that ran over its time limit ran its top-level code (a demo, a training loop) when it
    was imported to be graded: say so in a module's words, and where such code goes."""
    if kind == NOTEBOOK:
        return
    for cell in cells:
        if cell.status == CellStatus.TIMEOUT and cell.error.startswith("the cell ran longer"):
            first, _, rest = cell.error.partition("\n")
            first = first.replace("the cell was skipped", "the module was skipped").replace(
                "it was skipped", "the module was skipped")
            cell.error = (first.replace("the cell ", "the module's top-level code ", 1)
                          + " (top-level code runs when the module is graded: put demos and training loops under "
                            "`if __name__ == \"__main__\":`; the names defined before it stopped were graded)"
                          + (("\n" + rest) if rest else ""))


def blame_failed_import(cells: list[CellReport], sources: dict[int, str], defs: Definitions | None = None,
                         kind: str = NOTEBOOK, shell_escapes: list[str] | None = None) -> None:
    """A NameError says why the name is missing when the code shows it: an earlier cell failed on an
    import, or before reaching the definition, or the name is defined only in a later cell. A file
    that is not found says that only the hand-in is graded."""
    for cell in cells:
        if cell.status == CellStatus.ERROR:
            cause = _import_cause(cell.error, cells, sources, before=cell.index)
            if not cause and defs is not None:
                cause = _name_cause(cell.error, cells, defs, kind, at=cell.index)
            if not cause:
                cause = _file_cause(cell.error, shell_escapes or [])
            if not cause:
                cause = _pasted_character_cause(cell.error)
            if cause:
                cell.error = clean(_with_cause(cell.error, cause), 1600)


# Python's words for a character it does not accept in code: "invalid character '“' (U+201C)",
# "invalid non-printable character U+00A0".
INVALID_CHARACTER = re.compile(r"SyntaxError: invalid (?:non-printable )?character (?:'.' )?\(?U\+([0-9A-F]{4,6})\)?")
QUOTES = {0x2018: "'", 0x2019: "'", 0x201A: "'", 0x201B: "'", 0x2032: "'", 0x201C: '"', 0x201D: '"', 0x201E: '"',
          0x201F: '"', 0x2033: '"', 0x00AB: '"', 0x00BB: '"'}
SYMBOLS = {0x2212: "-", 0x2013: "-", 0x2014: "-", 0x2010: "-", 0x2011: "-", 0x00D7: "*", 0x00F7: "/", 0x2026: "...",
           0x3001: ",", 0x3002: "."}
SPACES = {0x00A0, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x200B,
          0x200C, 0x200D, 0x2060, 0x202F, 0x205F, 0x3000, 0xFEFF}


def _pasted_character_cause(message: str) -> str:
    """What a character Python refuses is, when it is one that pasting or typing brings into code:
    typographic quotes and symbols from a PDF, a web page or a word processor, invisible spaces, and
    the full-width punctuation of an input method left in full-width mode (`（`, `，`, `＝`). Python
    names only its code point; the student sees a quote or a bracket that looks right."""
    match = INVALID_CHARACTER.search(message.split("\n")[0])
    if not match:
        return ""
    point = int(match.group(1), 16)
    if point in QUOTES:
        return f" (a typographic quote, as pasted from a PDF or a word processor: type it again as `{QUOTES[point]}`)"
    if point in SPACES:
        return (" (an invisible space character, as pasted from a PDF or a web page: delete it, and type a plain "
                "space if one belongs there)")
    if 0xFF01 <= point <= 0xFF5E:
        return (" (a full-width character, as an input method types it: switch the input method to half-width "
                f"(English) and type it again as `{chr(point - 0xFEE0)}`)")
    if point in SYMBOLS:
        return f" (a typographic symbol, as pasted from a PDF or a word processor: type it again as `{SYMBOLS[point]}`)"
    return ""


MISSING_FILE = re.compile(r"FileNotFoundError: |No such file or directory|Exception: File `.*` not found|"
                          r"was not found in history, as a file")


def _file_cause(message: str, shell_escapes: list[str]) -> str:
    """Why a file the code reads is not there: only the hand-in itself is graded (and shell commands,
    which might have downloaded or made it, are not run)."""
    if not MISSING_FILE.search(message.split("\n")[0]):
        return ""
    shell = ", and the shell commands that may have made it (`!wget`, `%%bash`) are not run" if shell_escapes else ""
    return (f" (the grader runs the submitted file alone: a file beside it on your machine is not there{shell}; "
            "make the data in the code itself)")


def run_out_of_order(program: Program, cells: list[CellReport]) -> list[Problem]:
    """When a notebook's cell failed and the saved notebook shows that its cells were last run in
    another order than top to bottom (execution counts not increasing), say so: the cause of the
    failure is most likely there, and Restart & Run All shows the same errors."""
    counts = program.execution_counts
    if not any(cell.status not in (CellStatus.OK, CellStatus.SKIPPED) for cell in cells) or len(counts) < 2:
        return []
    backwards = [(a, b) for a, b in zip(counts, counts[1:]) if b[1] <= a[1]]
    if not backwards:
        return []
    (first, n1), (second, n2) = backwards[0]
    return [Problem("run-out-of-order", f"this notebook was last run out of order in Jupyter (cell {first} ran as "
                    f"[{n1}], the later cell {second} as [{n2}]); the grader runs every cell once, in order from the "
                    "top: use Kernel → Restart & Run All to see the same errors before handing in")]


def redefined(questions: list[QuestionResult], defs: Definitions, kind: str,
               calls: dict[str, bool]) -> list[Problem]:
    """A graded name that a notebook defines in several cells and that does not pass: the last
    definition is the one graded (as after Restart & Run All), perhaps not the one the student meant."""
    if kind != NOTEBOOK:
        return []
    problems = []
    for question in questions:
        if question.status == QuestionStatus.PASSED or not question.name:
            continue
        where = defs.where(question.name)
        rebound = defs.rebound(question.name) if calls.get(question.id) else None
        if rebound and len(where) > 1:
            unit, line = rebound
            text = clean(nth_line(defs.sources.get(unit, ""), line).strip(), 80)
            problems.append(Problem("redefined", f"cell {unit} assigns `{question.name}` a value (line {line}: "
                                    f"`{text}`), which replaces the function defined above it: the cells run from "
                                    "the top, so that value is what is graded; give it another name"))
        elif len(where) > 1:
            cells = ", ".join(str(i) for i in where[:-1][:6]) + (" …" if len(where) > 7 else "")
            problems.append(Problem("redefined", f"`{question.name}` is defined in cells {cells} and {where[-1]}: "
                                    f"the cells run from the top, so the definition in cell {where[-1]} is the one "
                                    "graded; delete the ones you do not mean"))
    return problems


def _name_cause(message: str, cells: list[CellReport], defs: Definitions, kind: str, at: int | None = None) -> str:
    """Why the name of a NameError in `message` (raised in unit `at`, or in a call when None) is not
    defined, from where the code defines it: "" when the code does not show why."""
    match = UNDEFINED.search(message.split("\n")[0])
    if not match:
        return ""
    name = match.group(1)
    where = defs.where(name)
    failed = _failed_before_defining(name, where, cells, kind, before=at)
    if failed:
        return f" ({failed})"
    deleted = defs.deleted(name, before=at, ran=_reached(cells))
    if deleted:
        return f" ({_deleted_sentence(name, deleted, kind)} before this runs)"
    if at is not None and kind == NOTEBOOK and where and where[0] > at:
        return (f" (`{name}` is defined in cell {where[0]}, below this one: the cells are run once, in order "
                f"from the top, as Jupyter's Restart & Run All runs them; move that definition above cell {at})")
    if not where:
        spelt = defs.spelt_like(name)
        if spelt:
            return f" (the code defines `{spelt}`: did you mean that?)"
    return ""


def _failed_before_defining(name: str, where: list[int], cells: list[CellReport], kind: str,
                            before: int | None = None) -> str:
    """"cell 3, which defines `f`, stopped with an error before defining it (…)" when every unit
    that defines `name` (before `before`) failed; "" otherwise."""
    where = [i for i in where if before is None or i < before]
    status = {cell.index: cell for cell in cells}
    if not where or any(i not in status or status[i].status == CellStatus.OK for i in where):
        return ""
    cell = status[where[-1]]
    first = clean(cell.error.split("\n")[0], 160) if cell.error else str(cell.status)
    unit = code_unit(kind, cell.index)
    if re.search(r"\b(SyntaxError|IndentationError|TabError): ", first):
        return f"{unit}, which defines `{name}`, did not run at all, since Python cannot read it: {first}"
    return f"{unit}, which defines `{name}`, stopped before defining it: {first}"


def _deleted_sentence(name: str, deleted: Deleted, kind: str) -> str:
    """"`f` is defined in cell 2, but cell 5 deletes it (line 1: `%reset -f`)", or a module's
    "`f` is defined at line 8, but the module deletes it at line 40 (`del f`)"."""
    text = clean(deleted.deletion.text, 80)
    if kind == NOTEBOOK:
        return (f"`{name}` is defined in cell {deleted.unit}, but cell {deleted.by} deletes it "
                f"(line {deleted.deletion.line}: `{text}`)")
    return f"`{name}` is defined at line {deleted.line}, but the module deletes it at line {deleted.deletion.line} (`{text}`)"


ERROR_LINE = re.compile(r"line (\d+)\b")


def _reached(cells: list[CellReport]):
    """Whether a deleting line ran: its cell ran to the end, or failed below that line (the place of
    an error, "line 7 (cell 4): ...", says where). A cell that stopped above it, or was not run,
    deleted nothing."""
    status = {cell.index: cell for cell in cells}

    def reached(unit: int, deletion: Deletion) -> bool:
        cell = status.get(unit)
        if cell is None or cell.status == CellStatus.OK:
            return cell is not None
        where = ERROR_LINE.match(cell.error or "")
        return bool(where) and deletion.line < int(where.group(1))
    return reached


def _missing_cause(name: str, cells: list[CellReport], defs: Definitions, kind: str,
                   not_run: Definitions | None = None) -> str:
    """Why a graded name the code never defined is missing, when its source shows it: the unit that
    defines it failed, it is defined only in cells a tag kept from running (`not_run`), it is a
    method inside a class, or it is spelt differently."""
    where = defs.where(name)
    tagged = not_run.where(name) if not_run is not None and not where else []
    if tagged:
        return (f"`{name}` is defined only in cell {tagged[-1]}, which is tagged `skip-execution` and so was not run "
                "(as Jupyter's nbclient skips it): remove the tag from that cell")
    failed = _failed_before_defining(name, where, cells, kind)
    if failed:
        return failed[0].upper() + failed[1:]
    deleted = defs.deleted(name, ran=_reached(cells))
    if deleted:
        unit = "every cell has run, from the top" if kind == NOTEBOOK else "the module has run"
        return (f"{_deleted_sentence(name, deleted, kind)}: what is graded is what is left once {unit}; remove "
                f"that line or define `{name}` again below it")
    if where and kind != NOTEBOOK and defs.main_only(name):
        return (f"`{name}` is defined only under `if __name__ == \"__main__\":`, which does not run when the module "
                "is imported to be graded: define it at top level, above that block")
    if where:
        return ""
    method = defs.method(name)
    if method:
        owner = method.split(".")[0]
        return (f"`{name}` is defined only inside the class `{owner}` (as `{method}`); the grader calls a "
                f"top-level `{name}`: define it outside the class (a static method can be named with "
                f"`{name} = {method}`)")
    spelt = defs.spelt_like(name)
    if spelt:
        return f"The code defines `{spelt}`, not `{name}`: the grader looks for exactly `{name}`"
    return ""


def blame_failed_import_in_cases(judged: list[CaseResult], cells: list[CellReport], sources: dict[int, str],
                                  defs: Definitions | None = None, kind: str = NOTEBOOK, name: str = "",
                                  not_run: Definitions | None = None) -> None:
    for case in judged:
        if case.visibility != PUBLIC:
            continue
        if case.status == ERROR:
            cause = _import_cause(case.message, cells, sources) if any(c.missing_module for c in cells) else ""
            if not cause and defs is not None and UNDEFINED.search(case.message.split("\n")[0]):
                cause = _name_cause(case.message, cells, defs, kind)
            if cause:
                case.message = clean(_with_cause(case.message, cause), 1600)
        elif case.status == MISSING and defs is not None and name:
            cause = _missing_cause(name, cells, defs, kind, not_run)
            if cause:
                case.message = clean(f"{case.message}\n{cause}", 1000)


def ipython_problems(runs: dict[int, CellRun], sources: dict[int, str]) -> list[Problem]:
    """A module that Python refused and the worker ran as IPython runs it says so, once, naming its
    first line of IPython syntax: the grade stands, but `python` alone would stop at that line."""
    for index, run in sorted(runs.items()):
        if run.ipython_line:
            text = clean(nth_line(sources.get(index, ""), run.ipython_line).strip(), 80)
            if text.startswith("%%"):
                # A cell magic takes the whole file as its body: `%%time` runs it, `%%writefile` or
                # `%%bash` define no name at all, so "its code was graded" would not be true.
                return [Problem("ipython-syntax", f"line {run.ipython_line} (`{text}`) is an IPython cell magic, "
                                "which Python refuses: the whole file was run as that one notebook cell, its body, "
                                "would be (a magic that does not run Python, such as writefile or bash, defines "
                                "nothing); `python` alone would stop at that line")]
            return [Problem("ipython-syntax", f"line {run.ipython_line} (`{text}`) is IPython syntax, which Python "
                            "refuses: this file was run as IPython runs a notebook's cells, so its code was graded; "
                            "`python` alone would stop at that line")]
    return []


def import_problems(cells: list[CellReport]) -> list[Problem]:
    """One problem per module that could not be imported, naming the first cell it failed in: the
    cause, said once at the top, of the errors that follow from it (names that cell never defined)."""
    problems, seen = [], set()
    for cell in cells:
        if cell.missing_module == SELF_CHECK_MODULE and cell.missing_module not in seen:
            seen.add(cell.missing_module)
            problems.append(Problem("self-check-cell", f"cell {cell.index} uses the self-check (`import grader`), "
                                    "which is not run when this is graded, as intended: keep your definitions "
                                    "out of that cell, since nothing else in it runs"))
        elif cell.missing_module and cell.missing_module not in seen:
            seen.add(cell.missing_module)
            problems.append(Problem("import-failed", f"cell {cell.index} failed on `import {cell.missing_module}`: "
                                    f"`{cell.missing_module}` is not available when this is graded, so nothing "
                                    "after that import in the cell ran (names it defines are missing below); if it "
                                    "is a file of your own, only the submitted file is graded: put its code in it"))
    return problems


# ------------------------------------------------------------------------------------------------
# The self-check in a Jupyter kernel (grader.jupyter): what is checked is the kernel's namespace,
# not a run of the file, so a name that is not defined there is explained from the saved notebook.

KERNEL_UNDEFINED = ("`{name}` is not defined in this kernel: cell {cell} of the saved notebook defines it, so that "
                    "cell has not run since the kernel started, or it stopped with an error before defining it; run "
                    "it again and read its error")
KERNEL_NOWHERE = ("`{name}` is not defined in this kernel, and no cell of the saved notebook defines it: define or "
                  "import it in a cell above and run that cell")
KERNEL_UNSAVED = ("`{name}` is not defined in this kernel: run the cell that defines or imports it (Restart & Run All "
                  "runs them all, in order) and read the first error it shows")
KERNEL_MISSING = ("Cell {cell} of the saved notebook defines `{name}`, but this kernel does not have it: that cell "
                  "has not run since the kernel started, or it stopped with an error before defining it; run it "
                  "again and read its error")


def kernel_causes(questions: list[QuestionResult], namespace: dict, sources) -> None:
    """Say, in the failing cases' messages, why a name is not defined in the kernel: which cell of
    the saved notebook defines it (so has not run, or failed), or that none does. `sources()`
    gives the saved notebook's code cells ({index: source}), or None when no notebook is found; it
    is called only when a case needs it."""
    import builtins

    defs: list = []          # made once, on the first case that needs the notebook

    def definitions() -> Definitions | None:
        if not defs:
            found = sources()
            defs.append(Definitions(found) if found is not None else None)
        return defs[0]

    for question in questions:
        for case in question.cases:
            if case.status == ERROR:
                match = UNDEFINED.search(case.message.split("\n")[0])
                name = match.group(1) if match else ""
                if name and name not in namespace and not hasattr(builtins, name):
                    case.message = clean(_with_cause(case.message, f" ({_kernel_sentence(name, definitions())})"), 1600)
            elif case.status == MISSING and question.name and question.name not in namespace:
                found = definitions()
                where = found.where(question.name) if found is not None else []
                if where:
                    case.message = clean(f"{case.message}\n" + KERNEL_MISSING.format(cell=where[-1], name=question.name), 1000)


def _kernel_sentence(name: str, defs: Definitions | None) -> str:
    if defs is None:
        return KERNEL_UNSAVED.format(name=name)
    where = defs.where(name)
    if where:
        return KERNEL_UNDEFINED.format(name=name, cell=where[-1])
    spelt = defs.spelt_like(name)
    return f"the code defines `{spelt}`: did you mean that?" if spelt else KERNEL_NOWHERE.format(name=name)
