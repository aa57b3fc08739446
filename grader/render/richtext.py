"""Students' prose as people read it: Markdown with LaTeX math, rendered to HTML + MathML, offline.

Written answers (notebook markdown cells, `.md`/`.txt` write-ups) are mostly derivations. Showing
them as LaTeX source makes a TA decode `\\frac{\\partial L_t}{\\partial h_t}` by eye; MathML is
rendered natively by Chromium and Firefox, so no script, font or network is needed.

The steps:
1. the math is taken out first, as Jupyter does before its Markdown renderer sees a cell
   (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`, bare `\\begin{env}…\\end{env}`; code spans are left
   alone): students write for Jupyter, and a display formula whose second line starts with
   `+ …` would otherwise be read by CommonMark as a list item (a Markdown math plugin such as
   dollarmath does exactly that);
2. markdown-it-py renders the rest (CommonMark, *raw HTML disabled*: a student's `<script>`
   becomes text), and each formula is put back where it was;
3. latex2mathml turns each formula into MathML. What it cannot convert (a parse error, or a
   command it does not know, which it would silently print as an identifier) is shown as its
   source, in a `<code>` beside a ⚠ mark: never dropped, never half-rendered;
4. nh3 (ammonia) sanitises the whole fragment against an allow-list of HTML and MathML elements
   and attributes. This is not belt-and-braces: latex2mathml copies `\\text{…}` verbatim, markup
   included, and turns `\\href{javascript:…}` into an attribute, so its output is student-controlled.

The result is a `markupsafe.Markup`: the one kind of value the templates may insert unescaped.
"""
from __future__ import annotations

import functools
import html
import re

import nh3
from markupsafe import Markup

from ..text import bounded_cache

# What a formula may be made of once converted (MathML Core, plus what latex2mathml emits).
MATHML_TAGS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "mfrac", "msqrt", "mroot", "msub", "msup",
    "msubsup", "munder", "mover", "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr",
    "mtd", "mlabeledtr", "mstyle", "mpadded", "mphantom", "menclose", "mfenced", "merror", "semantics",
    "annotation",
})
MATHML_ATTRIBUTES = frozenset({
    "display", "displaystyle", "scriptlevel", "mathvariant", "mathsize", "stretchy", "fence", "separator",
    "largeop", "movablelimits", "accent", "accentunder", "form", "lspace", "rspace", "minsize", "maxsize",
    "symmetric", "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines",
    "frame", "framespacing", "equalrows", "equalcolumns", "columnspan", "rowspan", "linethickness",
    "width", "height", "depth", "voffset", "linebreak", "notation", "open", "close", "separators", "encoding",
})
# What Markdown produces (CommonMark's elements), and the classes this module sets.
HTML_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "span", "div", "table", "thead", "tbody", "tr", "th", "td", "del", "s",
})
HTML_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "span": {"class", "title"},
                   "div": {"class"}, "code": {"class"}, "th": {"style"}, "td": {"style"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
FALLBACK_CLASS = "tex-fallback"
# latex2mathml prints a command it does not know as an identifier: `<mi>\foo</mi>`.
_UNKNOWN_COMMAND = re.compile(r"<m[io][^>]*>\\[A-Za-z]")
# An alignment `&` that latex2mathml did not understand comes out as an identifier.
_STRAY_AMPERSAND = re.compile(r"<mi>&(?:amp;)?</mi>")
# Environments latex2mathml does not know, and the ones it renders the same way.
_SAME_AS = {"aligned": "split", "alignedat": "split", "gathered": "gather", "eqnarray": "align", "eqnarray*": "align*"}
_ENVIRONMENT = re.compile(r"\\(begin|end)\{(" + "|".join(re.escape(k) for k in _SAME_AS) + r")\}")
# A matrix's brackets: latex2mathml writes them as plain operators beside the table, which a
# browser does not stretch (they are not first/last in their row); marked as fences they are.
_OPEN_FENCE = re.compile(r"<mo>(&#x0002[89];|&#x0005[BD];|&#x0007[BCD];|&#x02016;)</mo>(?=<mtable)")
_CLOSE_FENCE = re.compile(r"(?<=</mtable>)<mo>(&#x0002[89];|&#x0005[BD];|&#x0007[BCD];|&#x02016;)</mo>")
# latex2mathml drops the last row of a table that ends in an empty cell (`c & d & \end{pmatrix}`,
# as students write to mirror a leading `&`); an explicit empty group keeps it.
_TRAILING_CELL = re.compile(r"&(\s*)(\\end\{)")
# What a formula says in letters and digits, outside command and environment names.
_COMMAND_WORD = re.compile(r"\\(?:begin|end)\{[^}]*\}(?:\{[^}]*\})?|\\[A-Za-z]+|\\.")
_MARKUP = re.compile(r"<[^>]*>")
_TAG = re.compile(r"<\s*/?\s*([^\s/>]+)([^>]*)>")
_ATTRIBUTE = re.compile(r"([^\s=/]+)\s*=")
SOURCE_LIMIT = 20000


def _allowed_attributes() -> dict[str, set[str]]:
    allowed = {tag: set(names) for tag, names in HTML_ATTRIBUTES.items()}
    for tag in MATHML_TAGS:
        allowed[tag] = set(MATHML_ATTRIBUTES)      # no xmlns: HTML places <math> in MathML by itself
    return allowed


def sanitise(fragment: str) -> str:
    """`fragment` with every element and attribute outside the allow-lists removed (text kept)."""
    return nh3.clean(fragment, tags=set(HTML_TAGS | MATHML_TAGS), attributes=_allowed_attributes(),
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer nofollow",
                     strip_comments=True, generic_attribute_prefixes=set())


def fallback(source: str, why: str) -> str:
    """A formula that could not be converted: its source, escaped, beside a visible mark."""
    return (f'<span class="{FALLBACK_CLASS}" title="{html.escape(why)}"><span class="tex-mark" '
            f'aria-label="not rendered">⚠</span><code>{html.escape(source)}</code></span>')


@bounded_cache(entries=1024, chars=4_000_000)
def formula(source: str, display: bool) -> str:
    """One formula as MathML, or its source beside a mark when it cannot be converted.

    Cached: a class writes the same derivation steps many times over (and a re-run renders them again).
    """
    from latex2mathml.converter import convert

    tex = source.strip()
    if not tex:
        return ""
    try:
        source = _ENVIRONMENT.sub(lambda m: f"\\{m.group(1)}{{{_SAME_AS[m.group(2)]}}}", tex)
        mathml = convert(_TRAILING_CELL.sub(r"&\1{}\2", source), display="block" if display else "inline")
    except Exception as exc:  # noqa: BLE001 - any failure of the converter means "show the source"
        return fallback(tex, f"could not be rendered ({type(exc).__name__})")
    if _UNKNOWN_COMMAND.search(mathml):
        return fallback(tex, "could not be rendered (unknown command)")
    if _lost_content(tex, mathml):
        return fallback(tex, "could not be rendered (the converter dropped part of it)")
    if _STRAY_AMPERSAND.search(mathml):
        return fallback(tex, "could not be rendered (an alignment outside a known environment)")
    if not _only_mathml(mathml):
        # e.g. `\text{<b>}` (copied verbatim) or `\href{...}`: the sanitiser would remove the
        # markup and with it the student's text, so the source is shown instead.
        return fallback(tex, "could not be rendered (markup inside the formula)")
    mathml = _OPEN_FENCE.sub(r'<mo stretchy="true" fence="true" form="prefix">\1</mo>', mathml)
    return _CLOSE_FENCE.sub(r'<mo stretchy="true" fence="true" form="postfix">\1</mo>', mathml)


def _lost_content(tex: str, mathml: str) -> bool:
    """Whether the MathML lost much of what the formula says (letters and digits outside command
    names): a converter that silently drops a table row must not make an answer look shorter."""
    said = sum(1 for c in _COMMAND_WORD.sub(" ", tex) if c.isascii() and c.isalnum())
    shown = sum(1 for c in html.unescape(_MARKUP.sub(" ", mathml)) if c.isascii() and c.isalnum())
    return said - shown >= 2 and shown < 0.6 * said


def _only_mathml(mathml: str) -> bool:
    """Whether converted MathML holds only allow-listed elements and attributes."""
    for name, rest in _TAG.findall(mathml):
        if name.lower() not in MATHML_TAGS:
            return False
        if any(attr.lower() not in MATHML_ATTRIBUTES | {"xmlns"} for attr in _ATTRIBUTE.findall(rest)):
            return False
    return True


# Math as Jupyter finds it in a markdown cell: `$$…$$`, `\[…\]`, `\begin{env}…\end{env}`
# (display), `\(…\)` and `$…$` (inline). Code (fenced or inline) keeps its dollars, an HTML comment
# is dropped, `\$` is a dollar. `$…$` needs a non-space after the opening and before the closing
# dollar, no blank line inside, and no digit right after it ("$5 and $10" is money).
_OPENER = re.compile(r"\\\$|```|~~~|`+|<!--|\$\$|\\\[|\\\(|\\begin\{([A-Za-z]+\*?)\}|\$")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SLOT = "\ue000{}\ue001"                 # private-use characters: Markdown passes them through
_SLOT_BACK = re.compile("\ue000(\\d+)\ue001")
_CLOSERS = {"$$": "$$", "\\[": "\\]", "\\(": "\\)", "<!--": "-->", "```": "```", "~~~": "~~~"}


class _Scanner:
    """One left-to-right pass (linear: a closer that is not found is never looked for again, so
    a hostile answer of 10,000 unclosed `\\[` costs one search, not 10,000)."""

    def __init__(self, text: str):
        self.text = text
        self.missing: set[str] = set()       # closers known to be absent after some position
        self.formulas: list[tuple[str, bool]] = []
        self.out: list[str] = []

    def closing(self, closer: str, start: int) -> int:
        if closer in self.missing:
            return -1
        found = self.text.find(closer, start)
        if found < 0:
            self.missing.add(closer)
        return found

    def formula(self, source: str, display: bool) -> None:
        self.formulas.append((source, display))
        self.out.append(_SLOT.format(len(self.formulas) - 1))

    def single_dollar(self, at: int) -> int:
        """`$…$` opening at `at`: the position after it, or -1 if this dollar opens nothing."""
        text = self.text
        if at + 1 >= len(text) or text[at + 1].isspace():
            return -1
        search = at + 1
        while True:
            close = self.closing("$", search)
            if close < 0:
                return -1
            if text[close - 1] == "\\":             # an escaped dollar inside the formula
                search = close + 1
                continue
            break
        source = text[at + 1:close]
        if text[close - 1].isspace() or _BLANK_LINE.search(source) or text[close + 1:close + 2].isdigit():
            return -1
        self.formula(source, False)
        return close + 1

    def run(self) -> str:
        text, position = self.text, 0
        while True:
            match = _OPENER.search(text, position)
            if match is None:
                self.out.append(text[position:])
                return "".join(self.out)
            at, token = match.start(), match.group(0)
            self.out.append(text[position:at])
            after = self.take(match, at, token)
            if after < 0:                            # opens nothing: keep it as text
                self.out.append(token)
                position = match.end()
            else:
                position = after

    def take(self, match: re.Match, at: int, token: str) -> int:
        text = self.text
        if token == "\\$":
            return -1
        if token.startswith("`") and token not in _CLOSERS:          # an inline code span
            close = self.closing(token, match.end())
            if close < 0:
                return -1
            self.out.append(text[at:close + len(token)])
            return close + len(token)
        if match.group(1) is not None:                               # \begin{name}
            end = f"\\end{{{match.group(1)}}}"
            close = self.closing(end, match.end())
            if close < 0:
                return -1
            self.formula(text[at:close + len(end)], True)
            return close + len(end)
        if token == "$":
            return self.single_dollar(at)
        closer = _CLOSERS[token]
        close = self.closing(closer, match.end())
        if close < 0:
            return -1
        if token in ("```", "~~~"):
            self.out.append(text[at:close + len(closer)])
        elif token == "<!--":
            pass                         # as in Jupyter: an HTML comment (the answer marker) is not shown
        else:
            self.formula(text[match.end():close], token != "\\(")
        return close + len(closer)


def _take_math(text: str) -> tuple[str, list[tuple[str, bool]]]:
    """`text` with every formula replaced by a numbered slot, and the formulas (source, display)."""
    scanner = _Scanner(text.replace("\ue000", "").replace("\ue001", ""))
    return scanner.run(), scanner.formulas


def _put_math(rendered: str, formulas: list[tuple[str, bool]]) -> str:
    def back(match: re.Match) -> str:
        index = int(match.group(1))
        if index >= len(formulas):
            return ""
        source, display = formulas[index]
        return f'<span class="math {"display" if display else "inline"}">{formula(source, display)}</span>'

    return _SLOT_BACK.sub(back, rendered)


def warm() -> None:
    """Import the Markdown parser and the LaTeX converter now (0.2 s): a batch does it while its
    workers warm up, instead of when the first report is waiting."""
    _parser()
    from latex2mathml import converter  # noqa: F401


@functools.lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    # An image would be fetched from the network (or the student's machine): show its text instead.
    md.add_render_rule("image", lambda self, tokens, idx, options, env:
                       html.escape(f"[image: {tokens[idx].content or tokens[idx].attrGet('src') or ''}]"))
    return md


def render(text: str) -> Markup:
    """Markdown + LaTeX from a student, as safe HTML with MathML (a `Markup` for the templates).

    A pure function of the text, kept for up to a thousand texts: a class's notebooks repeat the
    template's markdown in every copy, and the review page shows each answer again. A thousand,
    and 4 MB of text, not more: the cache must not grow with the class, nor with what one student
    makes its entries (`text.bounded_cache`)."""
    if not text or not text.strip():
        return Markup("")
    return _render(text[:SOURCE_LIMIT])


@bounded_cache(entries=1024, chars=4_000_000)
def _render(text: str) -> Markup:
    try:
        prose, formulas = _take_math(text)
        rendered = _put_math(_parser().render(prose), formulas)
    except Exception:  # noqa: BLE001 - a parser bug must not lose the answer: show it as source
        rendered = f"<pre>{html.escape(text)}</pre>"
    return Markup(sanitise(rendered))

