"""grader.text.clean: the fast path for text that is already clean must change nothing else."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from grader.text import _ANSI, _CONTROL, clean


def slow_clean(text: str, limit: int) -> str:
    """The definition, step by step with the module's own patterns and no shortcut: strip ANSI
    sequences, normalise line ends, drop control characters, cut."""
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if len(text) > limit:
        text = text[: max(0, limit - 40)] + f"\n… [{len(text) - limit + 40} more characters cut]"
    return text


TRICKY = st.sampled_from(["\x1b[31m", "\x1b]0;title\x07", "\x1bc", "\r\n", "\r", "\x00", "\x7f", "\x85",
                          "\u2028", "\u202e", "\u2066", "\ud800", "\t", "\n", "é", "∂", "a", " "])
TEXTS = st.one_of(st.text(), st.lists(TRICKY).map("".join), st.lists(st.one_of(TRICKY, st.text(max_size=3))).map("".join))


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.integers(min_value=0, max_value=60))
def test_clean_is_the_definition(text, limit):
    assert clean(text, limit) == slow_clean(text, limit)


def test_clean_returns_a_plain_str_for_a_str_subclass():
    class Sly(str):
        def __str__(self):
            return "<script>"

    cleaned = clean(Sly("fine"), 100)
    assert type(cleaned) is str and cleaned == "fine"


def test_clean_keeps_newlines_and_tabs_and_cuts_long_text():
    assert clean("a\tb\nc", 100) == "a\tb\nc"
    assert clean("x" * 100, 50).startswith("x" * 10) and "more characters cut" in clean("x" * 100, 50)
    assert clean(None) == "" and clean(3.5) == "3.5"
