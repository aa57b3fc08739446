"""Making text that came from a submission safe to show: no control characters, bounded length.

HTML escaping is the templates' job (Jinja2 autoescape); this removes what no output format
should carry: ANSI escape sequences, NUL and other control characters, and unbounded length.
"""
from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean(text: object, limit: int = 2000) -> str:
    """`text` without ANSI sequences or control characters (newline and tab kept), at most `limit` chars."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if len(text) > limit:
        text = text[: max(0, limit - 40)] + f"\n… [{len(text) - limit + 40} more characters cut]"
    return text
