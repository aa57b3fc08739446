"""Students' prose as people read it: Markdown with LaTeX math, rendered to HTML + MathML, offline.

Written answers (notebook markdown cells, `.md`/`.txt` write-ups) are mostly derivations. Showing
them as LaTeX source makes a TA decode `\\frac{\\partial L_t}{\\partial h_t}` by eye; MathML is
rendered natively by Chromium and Firefox, so no script, font or network is needed.

The steps, each a well-kept library doing its own job:
1. markdown-it-py (CommonMark, *raw HTML disabled*: a student's `<script>` becomes text) with
   mdit-py-plugins' `dollarmath` for `$…$` and `$$…$$`;
2. latex2mathml turns each formula into MathML. What it cannot convert (a parse error, or a
   command it does not know, which it would silently print as an identifier) is shown as its
   source, in a `<code>` beside a ⚠ mark: never dropped, never half-rendered;
3. nh3 (ammonia) sanitises the whole fragment against an allow-list of HTML and MathML elements
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


@functools.lru_cache(maxsize=4096)
def formula(source: str, display: bool) -> str:
    """One formula as MathML, or its source beside a mark when it cannot be converted.

    Cached: a class writes the same derivation steps many times over (and a re-run renders them again).
    """
    from latex2mathml.converter import convert

    tex = source.strip()
    if not tex:
        return ""
    try:
        mathml = convert(tex, display="block" if display else "inline")
    except Exception as exc:  # noqa: BLE001 - any failure of the converter means "show the source"
        return fallback(tex, f"could not be rendered ({type(exc).__name__})")
    if _UNKNOWN_COMMAND.search(mathml):
        return fallback(tex, "could not be rendered (unknown command)")
    if not _only_mathml(mathml):
        # e.g. `\text{<b>}` (copied verbatim) or `\href{...}`: the sanitiser would remove the
        # markup and with it the student's text, so the source is shown instead.
        return fallback(tex, "could not be rendered (markup inside the formula)")
    return mathml


def _only_mathml(mathml: str) -> bool:
    """Whether converted MathML holds only allow-listed elements and attributes."""
    for name, rest in _TAG.findall(mathml):
        if name.lower() not in MATHML_TAGS:
            return False
        if any(attr.lower() not in MATHML_ATTRIBUTES | {"xmlns"} for attr in _ATTRIBUTE.findall(rest)):
            return False
    return True


def _render_math(content: str, options: dict) -> str:
    return formula(content, bool(options.get("display_mode")))


@functools.lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    dollarmath_plugin(md, allow_labels=False, allow_space=True, allow_digits=True, double_inline=True,
                      renderer=_render_math)
    # An image would be fetched from the network (or the student's machine): show its text instead.
    md.add_render_rule("image", lambda self, tokens, idx, options, env:
                       html.escape(f"[image: {tokens[idx].content or tokens[idx].attrGet('src') or ''}]"))
    return md


def render(text: str) -> Markup:
    """Markdown + LaTeX from a student, as safe HTML with MathML (a `Markup` for the templates)."""
    if not text or not text.strip():
        return Markup("")
    text = text[:SOURCE_LIMIT]
    try:
        rendered = _parser().render(text)
    except Exception:  # noqa: BLE001 - a parser bug must not lose the answer: show it as source
        rendered = f"<pre>{html.escape(text)}</pre>"
    return Markup(sanitise(rendered))

