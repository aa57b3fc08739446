"""Making text that came from a submission safe to show: no control characters, bounded length.

HTML escaping is the templates' job (Jinja2 autoescape); this removes what no output format
should carry: ANSI escape sequences, NUL and other control characters, and unbounded length.
"""
from __future__ import annotations

import functools
import re
import threading
from typing import Callable

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Any character that the substitutions below could change (ESC and CR included): text without one
# is returned as it is. Most text is already clean, and reports clean thousands of strings each.
_SUSPECT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean(text: object, limit: int = 2000) -> str:
    """`text` without ANSI sequences or control characters (newline and tab kept), at most `limit` chars."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    elif type(text) is not str:
        text = str.__str__(text)       # a plain copy: a str subclass's methods are not ours to call
    if len(text) <= limit and _SUSPECT.search(text) is None:
        return text
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if len(text) > limit:
        text = text[: max(0, limit - 40)] + f"\n… [{len(text) - limit + 40} more characters cut]"
    return text


# What makes a spreadsheet (Excel, LibreOffice, Google Sheets) read a CSV cell as a formula (OWASP's
# "CSV injection" list). Every CSV a TA may open that carries a student's text quotes such a cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """`text` as a spreadsheet cell that is never a formula: one quote before a formula's start
    (and before a text that already starts with quotes and then one, so that `from_spreadsheet`
    gives back exactly `text`)."""
    return "'" + text if text.lstrip("'").startswith(FORMULA_START) else text


def from_spreadsheet(cell: str) -> str:
    """The text `formula_safe` quoted, from a cell read back (a scores file the grader wrote)."""
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START) else cell


LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"     # where str.splitlines splits
NOT_BLANK = re.compile(r"\S")


def first_line(source: str) -> str:
    """The first line of `source` that is not blank, as `str.splitlines` would give it, without
    splitting the rest: a hand-in of 15 MB of short lines made a list of 1.5 million strings of
    it (~100 MB in the grader's own process) for one line."""
    found = NOT_BLANK.search(source)
    if found is None:
        return ""
    start = max(source.rfind(c, 0, found.start()) for c in LINE_BREAKS) + 1
    end = min((i for i in (source.find(c, found.start()) for c in LINE_BREAKS) if i >= 0), default=len(source))
    return source[start:end]


LINE_BREAK = re.compile("\r\n|[" + LINE_BREAKS + "]")


def nth_line(source: str, number: int) -> str:
    """Line `number` (from 1) of `source` as `str.splitlines` counts lines, without splitting the
    rest ("" past the end): the line a module's report names may sit in 20 MB of source."""
    start = 0
    breaks = LINE_BREAK.finditer(source)
    for _ in range(number - 1):
        found = next(breaks, None)
        if found is None:
            return ""
        start = found.end()
    if number < 1 or start >= len(source) and number > 1:
        return ""
    found = next(breaks, None)
    return source[start:found.start() if found else len(source)]


def cut_utf8(text: str, limit: int) -> str:
    """`text`'s longest prefix that is at most `limit` bytes in UTF-8, never cutting a character.

    Names made for the disk are bounded in bytes, not characters: Linux holds 255 bytes in one
    file name, which 64 letters of four bytes (mathematical alphanumerics, many emoji) or 85 CJK
    characters fill."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def bounded_cache(entries: int, chars: int) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """A cache for a pure function whose value is text, bounded in entries and in the characters it
    keeps (its text arguments and values), emptied when full; an entry larger than a sixteenth of
    `chars` is never kept.

    What functools.lru_cache(maxsize=N) is not: its bound is a count, and a submission chooses how
    large each entry is (1,000 markdown cells of `$a$a…` kept 392 MB of MathML in the renderer's
    caches). What is worth keeping (the template's cells, a class's common formulas) is small."""
    def wrap(function: Callable[..., str]) -> Callable[..., str]:
        kept: dict[tuple, str] = {}
        held = [0]
        lock = threading.Lock()

        @functools.wraps(function)
        def cached(*args) -> str:
            found = kept.get(args)
            if found is not None:
                return found
            value = function(*args)
            cost = len(value) + sum(len(a) for a in args if isinstance(a, str))
            with lock:
                if len(kept) >= entries or held[0] + cost > chars:
                    kept.clear()
                    held[0] = 0
                if cost <= chars // 16:
                    kept[args] = value
                    held[0] += cost
            return value

        cached.kept_chars = lambda: held[0]          # type: ignore[attr-defined]
        return cached
    return wrap
