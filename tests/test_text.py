"""grader.text.clean: the fast path for text that is already clean must change nothing else."""
from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from grader.text import clean

# Characters no report may carry, by their Unicode properties (not by the module's regular
# expressions, which this oracle must be able to catch out): C0/C1 controls but newline and tab,
# surrogates, line/paragraph separators, and the bidi embeddings, overrides and isolates that can
# make text read in an order other than its own.
BIDI_CONTROLS = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}


def _is_control(char: str) -> bool:
    return char not in "\n\t" and (unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")
                                   or unicodedata.bidirectional(char) in BIDI_CONTROLS)


def _escape_length(text: str, i: int) -> int:
    """Length of the ECMA-48 escape sequence starting at text[i] (an ESC), or 0 if none does:
    CSI (ESC [ parameters intermediates final), OSC (ESC ] ... BEL or ESC \\), or a two-character
    Fe sequence (ESC and one of @ to _, except the [ that opens a CSI)."""
    follower = text[i + 1:i + 2]
    if follower == "[":
        j = i + 2
        while j < len(text) and "\x30" <= text[j] <= "\x3f":
            j += 1
        while j < len(text) and "\x20" <= text[j] <= "\x2f":
            j += 1
        return j + 1 - i if j < len(text) and "\x40" <= text[j] <= "\x7e" else 0
    if follower == "]":
        j = i + 2
        while j < len(text) and text[j] not in "\x07\x1b":
            j += 1
        if text[j:j + 1] == "\x07":
            return j + 1 - i
        if text[j:j + 2] == "\x1b\\":
            return j + 2 - i
    return 2 if follower and "\x40" <= follower <= "\x5f" else 0


def oracle_clean(text: str, limit: int) -> str:
    """The definition, written independently of grader.text: a scan that drops escape sequences,
    then line ends normalised, then control characters dropped, then the cut."""
    kept, i = [], 0
    while i < len(text):
        length = _escape_length(text, i) if text[i] == "\x1b" else 0
        if length:
            i += length
        else:
            kept.append(text[i])
            i += 1
    text = "".join(kept).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if not _is_control(c))
    if len(text) > limit:
        text = text[: max(0, limit - 40)] + f"\n… [{len(text) - limit + 40} more characters cut]"
    return text


TRICKY = st.sampled_from(["\x1b[31m", "\x1b]0;title\x07", "\x1bc", "\r\n", "\r", "\x00", "\x7f", "\x85",
                          "\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\ud800", "\udfff",
                          "\x1b[", "\x1b]", "\x1b\\", "\x1b[1;2 q", "\x1bP", "\x1b_", "\x9b", "\u200b", "\ufeff", "\t", "\n", "é", "∂", "a", " "])
TEXTS = st.one_of(st.text(), st.lists(TRICKY).map("".join), st.lists(st.one_of(TRICKY, st.text(max_size=3))).map("".join))


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.integers(min_value=0, max_value=60))
def test_clean_is_the_definition(text, limit):
    assert clean(text, limit) == oracle_clean(text, limit)


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


def test_a_bounded_cache_keeps_within_its_characters_whatever_its_entries_weigh():
    """A pure function's cache bounded by a count alone held what one submission chose to make it:
    1,000 entries of 400 kB each. Bounded in characters too, it keeps small entries and drops
    (never keeps) an entry heavier than a sixteenth of its bound."""
    from grader.text import bounded_cache

    calls = []

    @bounded_cache(entries=100, chars=16_000)
    def grow(text: str) -> str:
        calls.append(text)
        return text * 20

    assert grow("ab") == "ab" * 20 and grow("ab") == "ab" * 20 and calls == ["ab"]
    for i in range(1000):
        grow(f"{i:04d}" * 25)                       # 100 characters, 2,000 drawn: each too heavy to keep
        assert grow.kept_chars() <= 16_000
    grow("x" * 40)
    grow("x" * 40)
    assert calls.count("x" * 40) == 1 and grow.kept_chars() <= 16_000
