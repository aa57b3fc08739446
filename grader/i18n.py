"""Feedback in the student's language: gettext catalogs (made and compiled with Babel), chosen by
`--lang`, the course configuration, or the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`).

Catalogs live in `grader/locale/<lang>/LC_MESSAGES/grader.po`, compiled to `grader.mo` beside
them (committed, so that an editable install, a wheel and the student kit all have them;
`tests/test_i18n.py` fails when a `.mo` is not what its `.po` compiles to, or when a string shown to
students has no translation). To update them, from a checkout: `python -m grader.catalogs extract`,
then `update`, translate the new entries of each `.po`, then `compile` (see `grader.catalogs`).

What is translated: every string of the student-facing views (`grader.render.selfcheck_view`,
`templates/selfcheck.html`, through Jinja2's i18n extension), the questions' titles and the
mistakes' hints (exact strings), and the messages that explain a failure. Those messages are
made in English by the code that judges (`compare`, the runners) and kept in English in the
JSON results; a view translates them line by line through `MESSAGES`, templates whose `{name}`
fields are carried over verbatim, so numbers, arrays, math and identifiers never change.
"""
from __future__ import annotations

import functools
import gettext
import os
import re
from pathlib import Path
from typing import Mapping

DOMAIN = "grader"
LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT = "en"


def N_(message: str) -> str:
    """Marks a string for extraction without translating it here (it is translated where shown)."""
    return message


def available() -> tuple[str, ...]:
    """The languages with a compiled catalog, and English (the source language)."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (DEFAULT, *[lang for lang in found if lang != DEFAULT])


def normalise(value: str | None) -> str | None:
    """A locale name as the catalogs are named ("zh_CN.UTF-8" -> "zh_CN", "zh-Hans" -> "zh_CN"),
    or None when no catalog fits."""
    if not value:
        return None
    value = value.split(".")[0].split("@")[0].replace("-", "_").strip()
    if value in ("C", "POSIX", ""):
        return DEFAULT
    langs = available()
    lowered = {lang.lower(): lang for lang in langs}
    if value.lower() in lowered:
        return lowered[value.lower()]
    base = value.split("_")[0].lower()
    if base == "zh" and any(part.lower() in ("tw", "hk", "mo", "hant") for part in value.split("_")[1:]):
        return None                  # Traditional Chinese: no catalog yet, better English than Simplified
    same = [lang for lang in langs if lang.split("_")[0].lower() == base]
    return same[0] if same else None


def choose(explicit: str | None = None, configured: str | None = None,
           env: Mapping[str, str] | None = None) -> str:
    """The language to use: `--lang`, else the course configuration, else the locale, else English.

    An explicit or configured language without a catalog falls back to English (it is not an error:
    a message in English is better than none).
    """
    env = os.environ if env is None else env
    for value in (explicit, configured):
        if value:
            return normalise(value) or DEFAULT
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name)
        if value:
            first = value.split(":")[0]
            return normalise(first) or DEFAULT
    return DEFAULT


@functools.lru_cache(maxsize=8)
def translations(lang: str | None) -> gettext.NullTranslations:
    """The catalog of `lang` (Babel's loader; English is the identity)."""
    if not lang or lang == DEFAULT:
        return gettext.NullTranslations()
    from babel.support import Translations

    return Translations.load(str(LOCALE_DIR), [lang], DOMAIN)


# ------------------------------------------------------------------------------------------------
# Messages made in English by the judging code: translated line by line, fields kept verbatim

MESSAGES = (
    # grader.compare
    N_("Wrong shape: expected {expected}, got {got}."),
    N_("The answer contains {kinds}: first at index {index} (and {count} more)."),
    N_("The answer contains {kinds}: first at index {index}."),
    N_("The answer is all zeros, but the expected one is not (its largest entry is {scale} in magnitude)."),
    N_("Not equal to tolerance ({tolerance} = {value})."),
    N_("Mismatched elements: {count} / {total} ({percent}%)."),
    N_("Largest absolute difference: {diff} at index {index} (expected {expected}, got {got})."),
    N_("Largest relative difference: {diff} at index {index}."),
    N_("Expected the label {expected}, got {got}."),
    N_("The set is not right: {parts}."),
    N_("{count} name(s) missing"),
    N_("{count} name(s) that do not belong"),
    N_("{count} name(s) missing, {more} name(s) that do not belong"),
    N_("Not names of this answer: {names} (its names are {known})."),
    N_("expected a set of names"),
    N_("expected a string, got {type}"),
    N_("expected a dict with keys {keys}, got {type}"),
    N_("the returned dict lacks the key(s) {keys}"),
    N_("expected numbers, got {type}"),
    N_("cannot be read as real numbers ({detail})"),
    N_("The answer is complex: its largest imaginary part is {imag} at index {index}, beyond the tolerance "
       "({tolerance} = {allowed} there). The answer must be real."),
    N_("The answer was complex; every imaginary part is within the tolerance (rounding), so its real part was "
       "graded."),
    N_("a masked array is not an answer; return a plain array"),
    N_("not a plain array"),
    N_("the answer could not be read back: {detail}"),
    N_("the answer has {count} numbers; that is far too many for this answer"),
    N_("the worker sent something that is not an encoded array"),
    N_("the worker sent an invalid shape"),
    # the runners (sandboxed worker, portable child, Jupyter)
    N_("`{name}` is not defined"),
    N_("`{name}` is not a function"),
    N_("took longer than {seconds} s"),
    N_("took longer than {seconds} s and was stopped"),
    N_("the cell ran longer than {seconds} s"),
    N_("the cell ran longer than {seconds} s and was stopped; the cell was skipped"),
    N_("the process died during this call"),
    N_("the process died in this cell; the cell was skipped"),
    N_("returned complex numbers; the answer must be real"),
    N_("returned {type}; expected a string"),
    N_("returned {type}; expected a set of names"),
    N_("returned {type}; expected a dict with keys {keys}"),
    N_("no answer was returned"),
    N_("not run"),
    N_("not run: {count} earlier cases of this question timed out"),
    N_("not run: the submission used up its time budget of {seconds} s"),
    N_("not run: the submission's process kept dying before it could be called"),
    N_("not run: a written submission has no code; this answer was not found in the text"),
    N_("not run: {reason}"),
    # grader.load, grader.selfcheck
    N_("{path} does not exist"),
    N_("there is no question {question}; the questions are: {questions}"),
    N_("{name} is not a valid notebook: it is not JSON ({detail}); open it in Jupyter and save it again there, "
       "or, if Jupyter cannot open it, use File ▸ Revert Notebook to Checkpoint or go back to an earlier copy"),
    N_("shell commands are not run by the grader: {commands}"),
    N_("line {line} (`{text}`) is an IPython cell magic, which Python refuses: the whole file was run as that one "
       "notebook cell, its body, would be (a magic that does not run Python, such as writefile or bash, defines "
       "nothing); `python` alone would stop at that line"),
    N_("line {line} (`{text}`) is IPython syntax, which Python refuses: this file was run as IPython runs a "
       "notebook's cells, so its code was graded; `python` alone would stop at that line"),
    # grader.pipeline: what a failure means, from the source (grader.names) and the run. Those that
    # end a line with its cause come before the place of an error ("line 3 (cell 2): …"), which is
    # their `{error}` and is translated in its turn.
    N_("{error} (`{name}` is defined in cell {cell}, below this one: the cells are run once, in order from the "
       "top, as Jupyter's Restart & Run All runs them; move that definition above cell {at})"),
    N_("{error} (the code defines `{spelt}`: did you mean that?)"),
    N_("{error} (cell {cell}, which defines `{name}`, did not run at all, since Python cannot read it: {first})"),
    N_("{error} (cell {cell}, which defines `{name}`, stopped before defining it: {first})"),
    N_("{error} (the module, which defines `{name}`, did not run at all, since Python cannot read it: {first})"),
    N_("{error} (the module, which defines `{name}`, stopped before defining it: {first})"),
    N_("{error} (probably because cell {cell} failed on `import {module}` before defining it)"),
    # grader.explain.kernel_causes: the self-check in a Jupyter kernel, from the saved notebook
    N_("{error} (`{name}` is not defined in this kernel: cell {cell} of the saved notebook defines it, so that cell "
       "has not run since the kernel started, or it stopped with an error before defining it; run it again and "
       "read its error)"),
    N_("{error} (`{name}` is not defined in this kernel, and no cell of the saved notebook defines it: define or "
       "import it in a cell above and run that cell)"),
    N_("{error} (`{name}` is not defined in this kernel: run the cell that defines or imports it (Restart & Run All "
       "runs them all, in order) and read the first error it shows)"),
    N_("Cell {cell} of the saved notebook defines `{name}`, but this kernel does not have it: that cell has not run "
       "since the kernel started, or it stopped with an error before defining it; run it again and read its error"),
    N_("{error} (the grader runs the submitted file alone: a file beside it on your machine is not there; make "
       "the data in the code itself)"),
    N_("{error} (the grader runs the submitted file alone: a file beside it on your machine is not there, and "
       "the shell commands that may have made it (`!wget`, `%%bash`) are not run; make the data in the code "
       "itself)"),
    N_("{error} (`{name}` is defined in cell {cell}, but cell {by} deletes it (line {line}: `{text}`) before this "
       "runs)"),
    N_("{error} (`{name}` is defined at line {defined}, but the module deletes it at line {line} (`{text}`) before "
       "this runs)"),
    N_("`{name}` is defined in cell {cell}, but cell {by} deletes it (line {line}: `{text}`): what is graded is what "
       "is left once every cell has run, from the top; remove that line or define `{name}` again below it"),
    N_("`{name}` is defined at line {defined}, but the module deletes it at line {line} (`{text}`): what is graded "
       "is what is left once the module has run; remove that line or define `{name}` again below it"),
    N_("{error} (a typographic quote, as pasted from a PDF or a word processor: type it again as `{plain}`)"),
    N_("{error} (an invisible space character, as pasted from a PDF or a web page: delete it, and type a plain "
       "space if one belongs there)"),
    N_("{error} (a full-width character, as an input method types it: switch the input method to half-width "
       "(English) and type it again as `{plain}`)"),
    N_("{error} (a typographic symbol, as pasted from a PDF or a word processor: type it again as `{plain}`)"),
    N_("Cell {cell}, which defines `{name}`, did not run at all, since Python cannot read it: {first}"),
    N_("Cell {cell}, which defines `{name}`, stopped before defining it: {first}"),
    N_("The module, which defines `{name}`, did not run at all, since Python cannot read it: {first}"),
    N_("The module, which defines `{name}`, stopped before defining it: {first}"),
    N_("`{name}` is defined only under `if __name__ == \"__main__\":`, which does not run when the module is "
       "imported to be graded: define it at top level, above that block"),
    N_("`{name}` is defined only inside the class `{owner}` (as `{method}`); the grader calls a top-level "
       "`{name}`: define it outside the class (a static method can be named with `{name} = {method}`)"),
    N_("The code defines `{spelt}`, not `{name}`: the grader looks for exactly `{name}`"),
    N_("`{name}` changes its argument {arguments} in place (case {label}): a function must not change its "
       "inputs; work on a copy (`{var} = {var}.copy()`) or build the result in a new array. Each case gets fresh "
       "inputs, so the grade is not affected, but code that uses those inputs again after the call computes "
       "with the changed values"),
    N_("`{name}` changes its arguments {arguments} in place (case {label}): a function must not change its "
       "inputs; work on a copy (`{var} = {var}.copy()`) or build the result in a new array. Each case gets fresh "
       "inputs, so the grade is not affected, but code that uses those inputs again after the call computes "
       "with the changed values"),
    N_("cell {cell} assigns `{name}` a value (line {line}: `{text}`), which replaces the function defined above "
       "it: the cells run from the top, so that value is what is graded; give it another name"),
    N_("`{name}` is defined in cells {cells} and {last}: the cells run from the top, so the definition in cell "
       "{last} is the one graded; delete the ones you do not mean"),
    N_("this notebook was last run out of order in Jupyter (cell {first} ran as [{n1}], the later cell {second} "
       "as [{n2}]); the grader runs every cell once, in order from the top: use Kernel → Restart & Run All to see "
       "the same errors before handing in"),
    N_("the module's top-level code ran longer than {seconds} s (top-level code runs when the module is graded: "
       "put demos and training loops under `if __name__ == \"__main__\":`; the names defined before it stopped "
       "were graded)"),
    N_("the module's top-level code ran longer than {seconds} s and was stopped; the module was skipped "
       "(top-level code runs when the module is graded: put demos and training loops under `if __name__ == "
       "\"__main__\":`; the names defined before it stopped were graded)"),
    N_("the cell ran longer than {seconds} s and was stopped; it was skipped"),
    N_("cell {cell} uses the self-check (`import grader`), which is not run when this is graded, as intended: "
       "keep your definitions out of that cell, since nothing else in it runs"),
    N_("cell {cell} failed on `import {module}`: `{module}` is not available when this is graded, so nothing "
       "after that import in the cell ran (names it defines are missing below); if it is a file of your own, "
       "only the submitted file is graded: put its code in it"),
    N_("`{module}` is not available when this is graded (cell {cell}, line {line}: `import {module}`); the graded "
       "environment has the Python standard library and nothing else"),
    N_("`{module}` is not available when this is graded (line {line}: `import {module}`); the graded "
       "environment has the Python standard library and nothing else"),
    N_("`{module}` is not available when this is graded (cell {cell}, line {line}: `import {module}`); the graded "
       "environment has the Python standard library and {packages}"),
    N_("`{module}` is not available when this is graded (line {line}: `import {module}`); the graded "
       "environment has the Python standard library and {packages}"),
    N_("the submission could not be read: {detail}"),
    N_("the submission could not be read"),
    N_("the self-check's process failed: {failure}"),
    N_("grader.toml's [environment] lists {packages}, which this grader's Python does not have: student code "
       "that imports it fails here; install the list where the grader runs"),
    # grader.jobwire: what came back, when it is not an answer (said in the worker)
    N_("returned None: the function ends without `return <answer>` (printing the answer, or storing it in a "
       "variable, does not return it)"),
    N_("`{name}` is still None: assign your answer to it (the template's `{name} = None` is still there)"),
    N_("`{name}` is a function; it must be a value: assign the result to `{name}` (`{name} = ...`)"),
    N_("returned one string ({text}); expected a set of names: a string is one name, not a set of its letters"),
    N_("returned a {type} of {count} items ({kinds}), which is not one array: return the answer alone (not with "
       "a cache or other values)"),
    N_("returned `{type}`, not an array of numbers: build the array from it (`np.array(list(...))`)"),
    N_("returned `{type}`, not an array of numbers: it has a `.numpy()` method; return what that returns"),
    N_("returned `{type}`, not an array of numbers"),
    N_("returned an array that holds None (first at index {index}): a value was never computed, or a helper "
       "function ends without `return`"),
    N_("the function is wrapped in functools.lru_cache (or cache), which needs hashable arguments, and arrays "
       "are not: remove the decorator"),
    N_("is None, not an array: that value was never computed or returned"),
    N_("cannot be turned into an array ({detail})"),
    N_("returned values of type {dtype} that are not numbers ({detail})"),
    N_("returned {count} numbers; that is far too many for this answer"),
    N_("answer too large: {size} MB, limit {limit} MB"),
    N_("its keys cannot be listed ({type})"),
    N_("expected a set of strings (names)"),
    # grader.studentshell: what the student's code meets only when graded
    N_("BdbQuit: pdb.set_trace() waits for debugger commands, which nobody types during grading: remove it"),
    N_("EOFError: input() cannot be answered during grading (nobody is at the keyboard); set the value in the "
       "code instead"),
    N_("ModuleNotFoundError: No module named '{module}' (it is installed here, but not where this is graded)"),
    N_("NameError: name 'get_ipython' is not defined (IPython is not installed)"),
    # grader.load: notes on a hand-in, and why one cannot be read
    N_("not read: {files}. Only {chosen} is read (a hand-in is one file); code or answers in the other files "
       "count only when they are in {chosen}"),
    N_("{file} would shadow the module `{module}`; it was not run"),
    N_("{file} is a symbolic link, which the grader never follows; it was ignored (hand in the file itself)"),
    N_("{file} is a {kind}, a special file, which the grader never reads; it was ignored"),
    N_("{count} more symbolic links or special files were ignored"),
    N_("the notebook is in the old nbformat 3; it was upgraded to version 4"),
    N_("the notebook names no kernel; it was run as Python"),
    N_("the notebook's kernel (`{kernel}`) names no language; it was run as Python"),
    N_("the notebook does not fully follow the nbformat schema: cell(s) {cells} have no known type or no text "
       "source and were skipped; the other cells were read"),
    N_("the notebook has no code cells"),
    N_("cell {cell} is tagged `{tag}`, so it was not run, as Jupyter's nbclient, `jupyter nbconvert --execute` and "
       "nbgrader skip it; remove the tag to have it run when graded"),
    N_("cells {cells} are tagged `{tag}`, so they were not run, as Jupyter's nbclient, `jupyter nbconvert --execute` "
       "and nbgrader skip them; remove the tag to have a cell run when graded"),
    N_("the cell is tagged `{tag}`: it was not run"),
    N_("`{name}` is defined only in cell {cell}, which is tagged `{tag}` and so was not run (as Jupyter's nbclient "
       "skips it): remove the tag from that cell"),
    # a notebook past the loader's limit (grader.load._without_outputs), and files over their size
    N_("{file} is {size} MB with its saved outputs (plots, images), more than the {limit} MB read in full: its "
       "outputs were not read (they are not graded: the code is run again)"),
    N_("{file}'s saved outputs hold more than {count} JSON values (the data of interactive plots): its outputs "
       "were not read (they are not graded: the code is run again)"),
    N_("{file} is {size} MB; past {limit} MB a notebook is read without its saved outputs, but this file is not a "
       "notebook: it is a binary file, not text"),
    N_("{file} is {size} MB; past {limit} MB a notebook is read without its saved outputs, but this file is not a "
       "notebook: it is not UTF-8 text"),
    N_("{file} is {size} MB; past {limit} MB a notebook is read without its saved outputs, but this file is not a "
       "notebook: it is not JSON ({detail})"),
    N_("{file} is {size} MB; past {limit} MB a notebook is read without its saved outputs, but this file could "
       "not be read within {count} seconds"),
    N_("{file} is {size} MB; past {limit} MB a notebook is read without its saved outputs, but this file could "
       "not be read within {count} MB of memory"),
    N_("{file} is {size} MB, and {kept} MB without its saved outputs; the limit is {limit} MB (clear the "
       "notebook's outputs before handing it in)"),
    N_("{file} is {size} MB; the limit is {limit} MB (clear the notebook's outputs before handing it in)"),
    N_("{file} is {size} MB; the limit is {limit} MB"),
    N_("{file} is not a notebook (.ipynb), a Python module (.py) or a written answer (.md/.txt)"),
    N_("{file} is empty"),
    N_("{file} holds only white space"),
    N_("{file} is a binary file, not text"),
    # a file in another encoding than UTF-8 (grader.load._decode)
    N_("{file} is not UTF-8 text: line {line}, column {at} holds the byte {byte} (an editor saved it in another "
       "encoding, such as Windows-1252 or GBK); save it as UTF-8 (VS Code: Save with Encoding, UTF-8; Notepad: "
       "Save As, Encoding UTF-8) and hand it in again"),
    N_("{file} is not UTF-8 text: line {line}, column {at} holds the byte {byte}, and Jupyter saves notebooks as "
       "UTF-8 (another editor saved this one in another encoding, such as Windows-1252 or GBK); open the original "
       "in Jupyter and save it again there, or save this file as UTF-8 in that editor, and hand it in again"),
    N_("{file} declares the encoding {encoding} on its first lines, but line {line}, column {at} holds the byte "
       "{byte}, which is not {encoding} text; save it as UTF-8 (VS Code: Save with Encoding, UTF-8; Notepad: Save "
       "As, Encoding UTF-8) and hand it in again"),
    N_("{file} declares the encoding {encoding} on its first lines, which Python does not know; save it as UTF-8 "
       "(VS Code: Save with Encoding, UTF-8; Notepad: Save As, Encoding UTF-8) and hand it in again"),
    N_("{file} declares the encoding {encoding} on its first lines, which is not a text encoding; save it as "
       "UTF-8 (VS Code: Save with Encoding, UTF-8; Notepad: Save As, Encoding UTF-8) and hand it in again"),
    N_("{file} is JSON but not a Jupyter notebook (no cells)"),
    N_("{file} is nbformat {version}; only versions 3 and 4 can be read"),
    N_("{file} is a {language} notebook; this homework must be written in Python"),
    N_("{file} has {count} code cells; the limit is {limit}"),
    N_("{file} holds more than {count} JSON values, more than a notebook the grader reads can hold (clear the "
       "notebook's outputs before handing it in)"),
    N_("the folder {folder} holds several {kind} files ({files}); hand in exactly one"),
    N_("the folder {folder} holds no notebook (.ipynb), module (.py) or written answer (.md/.txt) that can be "
       "read ({detail})"),
    N_("the folder {folder} holds no notebook (.ipynb), module (.py) or written answer (.md/.txt) that can be "
       "read"),
    # where an error happened in the student's code (grader.jobwire.place): last, the widest
    N_("line {line} in `{function}` (cell {cell}): {summary}"),
    N_("line {line} (cell {cell}): {summary}"),
    N_("line {line} in `{function}` ({file}): {summary}"),
    N_("line {line} ({file}): {summary}"),
    N_("line {line} in `{function}`: {summary}"),
    N_("line {line}: {summary}"),
    N_("a line in `{function}` (cell {cell}): {summary}"),
    N_("a line (cell {cell}): {summary}"),
    N_("a line in `{function}` ({file}): {summary}"),
    N_("a line in `{function}`: {summary}"),
    # the sandboxed run (grader.runner), when its process ends under a cell or a call
    N_("the process died in this cell ({why}); the cell was skipped"),
    N_("the sandbox stopped ({why}) in this cell; the cell was skipped"),
    N_("the sandbox stopped ({why}) during this call"),
)

# Fields that are always a whole number: matching only digits keeps a template from swallowing text
NUMBER_FIELDS = frozenset({"line", "count", "cell", "at", "n1", "n2", "first_cell"})


@functools.lru_cache(maxsize=None)
def _pattern(template: str) -> re.Pattern[str]:
    """A template as a regular expression: its text literal, each `{field}` any text (non-greedy),
    or only digits for a field of `NUMBER_FIELDS`, a field named twice the same text both times."""
    parts = re.split(r"\{(\w+)\}", template)
    seen: set[str] = set()
    regex = ""
    for i, part in enumerate(parts):
        if i % 2 == 0:
            regex += re.escape(part)
        elif part in seen:
            regex += f"(?P={part})"
        else:
            seen.add(part)
            regex += f"(?P<{part}>\\d+)" if part in NUMBER_FIELDS else f"(?P<{part}>.+?)"
    return re.compile(f"^{regex}$", re.DOTALL)


@functools.lru_cache(maxsize=1)
def templates() -> tuple[str, ...]:
    """Every message template: `MESSAGES`, and the engine's where-sentences (`grader.diagnose`)."""
    from .diagnose import BLOCK_SENTENCES, RELATION_SENTENCES

    return MESSAGES + tuple(BLOCK_SENTENCES.values()) + tuple(RELATION_SENTENCES.values())


def translate_message(text: str, tr: gettext.NullTranslations) -> str:
    """`text` (a message of the judging code, possibly several lines) in the language of `tr`.

    A line that is exactly a known string (a hint, a title) or fits a template of `MESSAGES` is
    translated, its fields unchanged; any other line (an exception raised by the student's own
    code, say) stays as it is.
    """
    if isinstance(tr, gettext.NullTranslations) and type(tr) is gettext.NullTranslations:
        return text
    return "\n".join(_line(line, tr) for line in text.split("\n"))


_KEY_PREFIX = re.compile(r"^(\[[^\]]{1,80}\] )(.*)$", re.DOTALL)


def _line(line: str, tr: gettext.NullTranslations) -> str:
    if not line.strip():
        return line
    keyed = _KEY_PREFIX.match(line)          # "['f'] <message>": one key of a dict answer
    if keyed:
        return keyed.group(1) + _line(keyed.group(2), tr)
    exact = tr.gettext(line)
    if exact != line:
        return exact
    for template in templates():
        match = _pattern(template).match(line)
        if match is None:
            continue
        translated = tr.gettext(template)
        if translated == template:
            return line
        fields = {k: _field(v, tr) for k, v in match.groupdict().items()}
        try:
            return translated.format(**fields)
        except (KeyError, IndexError, ValueError):
            return line
    return line


def _field(value: str, tr: gettext.NullTranslations) -> str:
    """A field is kept verbatim, unless it is itself a known message ("not run: <message>")."""
    return _line(value, tr) if any(c.isalpha() for c in value) and " " in value else value
