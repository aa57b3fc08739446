"""Python source as highlighted HTML in Pygments' markup, read by the standard library's tokenizer.

The work page shows every student's code highlighted. Pygments' Python lexer tries its regular
expressions one after another at every position: ~4 µs a character here, ~25 ms for a notebook of
6 kB, more than drawing all the rest of a student's pages (the template's cells, repeated in every
notebook, are cached; a student's own are not). Python's own `tokenize` reads the same source
~8x faster. The markup is what Pygments' `HtmlFormatter` writes (`<div class="highlight"><pre>`,
its short token classes, `<span class="linenos">`), so the page and its stylesheet
(`notebook._pygments_css`) stay as they were.

The text shown is the source, character for character (newlines made `\\n`, as Pygments makes
them): every stretch between tokens is copied, escaped. Where `tokenize` refuses the source (an
unclosed string or bracket, a tab-indentation mix) Pygments highlights it, as before. Unlike
Pygments, leading blank lines of a module are kept, so that its line numbers are the file's, the
ones a traceback names.
"""
from __future__ import annotations

import builtins
import keyword
import token
import tokenize

from html import escape as _escape


def escape(text: str) -> str:
    """Text for the inside of <pre>: only &, < and > need it (as Pygments writes it)."""
    return _escape(text, quote=False)

KEYWORD_CLASSES = {"import": "kn", "from": "kn", "True": "kc", "False": "kc", "None": "kc",
                   "and": "ow", "or": "ow", "not": "ow", "in": "ow", "is": "ow"}
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
PSEUDO_BUILTINS = frozenset({"self", "cls", "__name__", "__file__", "Ellipsis", "NotImplemented"})
PUNCTUATION = frozenset("()[]{},:;.")
# Python 3.12 reads an f-string as several tokens: its start, its literal parts, its end.
FSTRING_TOKENS = frozenset(getattr(token, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                           if hasattr(token, name))
OPEN = '<div class="highlight"><pre><span></span>'
CLOSE = "</pre></div>\n"


def highlight(source: str, linenos: bool = False) -> str:
    """`source` as Pygments' `highlight(source, PythonLexer(), HtmlFormatter(cssclass="highlight",
    linenos="inline" if linenos else False))` draws it, from Python's tokenizer where it can."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if not linenos:
        text = text.strip("\n")          # Pygments' `stripnl`: a cell's blank first and last lines
    if not text.endswith("\n"):
        text += "\n"
    try:
        body = _tokenized(text)
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError):
        return _pygments(text, linenos)
    return OPEN + (_numbered(body) if linenos else body) + CLOSE


def _tokenized(text: str) -> str:
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    parts: list[str] = []
    done = 0                      # characters of `text` copied so far
    state = _State()
    for tok in tokenize.generate_tokens(iter(lines).__next__):
        css = state.css(tok)
        if css is None:
            continue
        start = starts[tok.start[0] - 1] + tok.start[1]
        end = starts[tok.end[0] - 1] + tok.end[1]
        if start < done:
            raise ValueError("tokens out of order")    # never seen; Pygments then draws it
        if start > done:
            parts.append(escape(text[done:start]))
        _span(parts, css, text[start:end])
        done = end
    if done < len(text):
        parts.append(escape(text[done:]))
    return "".join(parts)


def _span(parts: list[str], css: str, piece: str) -> None:
    """One token's span, closed and opened again at each newline (as Pygments does), so that no
    span crosses a line and a line number can start every line."""
    if "\n" not in piece:
        parts.append(f'<span class="{css}">{escape(piece)}</span>')
        return
    for index, line in enumerate(piece.split("\n")):
        if index:
            parts.append("\n")
        if line:
            parts.append(f'<span class="{css}">{escape(line)}</span>')


def _numbered(body: str) -> str:
    lines = body.split("\n")[:-1]          # the text ends with a newline
    width = len(str(len(lines)))
    return "".join(f'<span class="linenos">{number:>{width}}</span>{line}\n'
                   for number, line in enumerate(lines, start=1))


class _State:
    """What the tokens before this one say about it: a name after `def` is a function's, after
    `import` a module's, a string first in a statement is a docstring."""

    def __init__(self) -> None:
        self.previous = ""             # the last significant token's text
        self.statement_start = True    # no significant token yet in this logical line
        self.importing = ""            # "import" or "from" while in such a statement
        self.decorator = False

    def css(self, tok: tokenize.TokenInfo) -> str | None:
        kind, string = tok.type, tok.string
        if kind in (token.NEWLINE, token.NL, token.INDENT, token.DEDENT, token.ENDMARKER, token.ENCODING):
            if kind == token.NEWLINE:
                self.statement_start, self.importing, self.decorator = True, "", False
            return None
        first = self.statement_start
        self.statement_start = False
        css = self._classify(kind, string, first)
        self.previous = string
        return css

    def _classify(self, kind: int, string: str, first: bool) -> str | None:
        if kind == token.COMMENT:
            self.statement_start = first           # a comment does not start the statement
            return "c1"
        if kind == token.NAME:
            return self._name(string, first)
        if kind == token.NUMBER:
            return _number(string)
        if kind == token.STRING or kind in FSTRING_TOKENS:
            return _string(string, first)
        if kind == token.OP:
            if string == "@" and first:
                self.decorator = True
                return "nd"
            return "p" if string in PUNCTUATION else "o"
        if kind == token.ERRORTOKEN:
            return None if string.isspace() else "err"
        return None

    def _name(self, name: str, first: bool) -> str:
        if keyword.iskeyword(name):
            if first and name in ("import", "from"):
                self.importing = name              # module names follow
            elif name == "import" and self.importing == "from":
                self.importing = "imported"        # `from x import y`: y is a plain name
            return KEYWORD_CLASSES.get(name, "k")
        if self.decorator and self.previous in ("@", "."):
            return "nd"
        if self.previous == "def":
            return "nf"
        if self.previous == "class":
            return "nc"
        if self.importing in ("import", "from"):
            return "nn"
        if name in PSEUDO_BUILTINS:
            return "bp"
        if name in BUILTIN_NAMES and self.previous != ".":
            return "nb"
        return "n"


def _number(string: str) -> str:
    lowered = string.lower()
    if lowered.startswith("0x"):
        return "mh"
    if lowered.startswith("0o"):
        return "mo"
    if lowered.startswith("0b"):
        return "mb"
    if any(c in lowered for c in ".ej"):
        return "mf"
    return "mi"


def _string(string: str, first: bool) -> str:
    body = string.lstrip("rRbBuUfF")
    if first and body[:3] in ('"""', "'''"):
        return "sd"
    return "s1" if body[:1] == "'" else "s2"


def _pygments(text: str, linenos: bool) -> str:
    from pygments import highlight as pygments_highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    lexer = PythonLexer(stripnl=not linenos)
    return pygments_highlight(text, lexer, HtmlFormatter(cssclass="highlight", linenos="inline" if linenos else False))
