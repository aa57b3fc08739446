"""Students' Markdown + LaTeX rendered to HTML + MathML (grader.render.richtext), and kept inert."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.render import richtext

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "submissions" / "seed_written.md"


class Elements(HTMLParser):
    """Every element and attribute of a fragment, as a browser's tokenizer sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def parse(fragment: str) -> Elements:
    parser = Elements()
    parser.feed(str(fragment))
    return parser


def outside_fallbacks(fragment: str) -> str:
    return re.sub(r'<span class="tex-fallback".*?</code></span>', "", str(fragment), flags=re.S)


def test_seed_write_up_is_all_math_and_nothing_left_raw():
    text = SEED.read_text(encoding="utf-8")
    out = richtext.render(text)
    page = parse(out)
    maths = [tag for tag, _ in page.tags if tag == "math"]
    assert len(maths) >= 30
    assert "tex-fallback" not in out
    assert "\\frac" not in outside_fallbacks(out) and "\\partial" not in outside_fallbacks(out)
    assert "孙肖冉" in "".join(page.text)                    # the Chinese text is kept
    for tag in ("mfrac", "mtable", "msubsup", "munderover"):   # fractions, pmatrix/aligned, sums, products
        assert any(t == tag for t, _ in page.tags), tag


@pytest.mark.parametrize("tex", [r"\bigodot", r"\wedge", r"\prod_{i=k+1}^t x_i", r"\left\{ \begin{aligned} a &= 1 \\ b &= 2 \end{aligned}\right.",
                                 r"\begin{pmatrix} & a & b \\ & c & d \end{pmatrix}", r"λ_1 （Q_1） 孙"])
def test_the_seed_constructs_convert(tex):
    out = richtext.render(f"$${tex}$$")
    assert "<math" in out and "tex-fallback" not in out


@pytest.mark.parametrize("tex", [r"\frac{", r"\unknowncommand{x}", r"\text{<b>bold</b>}", r"\href{javascript:alert(1)}{x}"])
def test_what_cannot_be_converted_is_shown_as_source_beside_a_mark(tex):
    out = richtext.render(f"before ${tex}$ after")
    assert "tex-fallback" in out and "⚠" in out
    code = re.search(r"<code>(.*?)</code>", str(out)).group(1)
    assert parse(f"<p>{code}</p>").text == [tex]           # the source, whole, as text
    assert "before" in out and "after" in out


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "<a href='javascript:alert(1)'>x</a>",
    "$\\text{<script>alert(1)</script>}$",
    "$$\\text{<img src=x onerror=alert(1)>}$$",
    "$\\href{javascript:alert(1)}{x}$",
    "$\\mathrm{<svg onload=alert(1)>}$",
    "<math><mi onclick=alert(1)>x</mi><maction actiontype=statusline>y</maction></math>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "$x$<style>body{display:none}</style>",
    "![x](http://example.com/track.png)",
    "<iframe src=//evil></iframe>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_prose_renders_inert(text):
    out = str(richtext.render(text))
    page = parse(out)
    for tag, attrs in page.tags:
        assert tag in richtext.HTML_TAGS | richtext.MATHML_TAGS, tag
        assert tag not in {"script", "style", "img", "iframe", "svg", "maction"}
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "href" or re.match(r"(https?|mailto):", value or ""), value
    assert "javascript:" not in " ".join(str(v) for _, a in page.tags for v in a.values())
    assert "http://example.com/track.png" not in " ".join(str(v) for _, a in page.tags for v in a.values())


def test_hostile_text_is_kept_as_text():
    out = richtext.render("see <script>alert(1)</script> and $x$")
    assert "alert(1)" in "".join(parse(out).text)


def test_markdown_links_keep_safe_schemes_only():
    out = str(richtext.render("[docs](https://numpy.org) [bad](javascript:alert(1)) [data](data:text/html,x)"))
    hrefs = [a.get("href") for t, a in parse(out).tags if t == "a"]
    assert hrefs == ["https://numpy.org"]


def test_empty_and_plain_text():
    assert richtext.render("") == ""
    assert "plain words" in richtext.render("plain words")


@pytest.mark.parametrize("text, formulas", [
    ("Assume $T = 3$:\n$$\\frac{a}{b}\n+ c$$\n$$+ d$$", 3),        # "+ c" is not a list item inside $$
    ("x\n$$a\n- b$$", 1),
    ("\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}", 1),     # a bare environment, as Jupyter shows it
    ("\\(x\\) and \\[y\\]", 2),
    ("a \\$ b $c$", 1),
    ("`$x$` and\n```\n$$y$$\n```", 0),                            # code keeps its dollars
    ("it costs $5 and $10", 0),
    ("$a$\n\n$b$", 2),
])
def test_math_is_found_as_jupyter_finds_it(text, formulas):
    out = str(richtext.render(text))
    assert out.count("<math") == formulas, out
    assert "tex-fallback" not in out
    assert "<li>" not in out


def test_aligned_renders_as_a_table_not_as_stray_ampersands():
    out = str(richtext.render("$$\\left\\{\\begin{aligned} 0 & & x < 1 \\\\ 1 & & x > 1 \\end{aligned}\\right.$$"))
    assert "<mtable" in out and "<mi>&amp;</mi>" not in out


def test_matrix_brackets_are_stretchy_fences():
    out = str(richtext.render("$$x = \\begin{pmatrix} & a & b \\\\ & c & d \\end{pmatrix}$$"))
    assert out.count('stretchy="true"') == 2 and 'form="prefix"' in out and 'form="postfix"' in out


def test_html_comments_are_hidden_but_code_keeps_them():
    out = str(richtext.render("<!-- answer: 1a -->\n**Your answer** and `<!-- answer: ID -->`"))
    assert "answer: 1a" not in out and "&lt;!-- answer: ID --&gt;" in out


@pytest.mark.parametrize("opener", ["\\[", "\\(", "<!--", "\\begin{x}", "`", "\\$"])
def test_unclosed_openers_stay_text(opener):
    """A hostile answer of thousands of unclosed openers renders (one pass) and loses nothing."""
    text = (opener + " a ") * 1500          # within the 20,000 characters a written part may have
    out = str(richtext.render(text))
    assert "<math" not in out
    assert len(re.findall(r"\ba\b", "".join(parse(out).text))) == 1500


@pytest.mark.parametrize("tex", [r"\begin{pmatrix} a & b & \\ c & d & \end{pmatrix}", r"\begin{cases} x & y & \end{cases}",
                                 r"\begin{pmatrix} a & b & c & \end{pmatrix}"])
def test_a_trailing_empty_cell_keeps_its_row(tex):
    out = str(richtext.render(f"$${tex}$$"))
    assert "tex-fallback" not in out
    letters = [c for c in re.sub(r"\\[a-z]+\{?[a-z]*\}?", "", tex) if c.isalpha()]
    assert [c for c in "".join(parse(out).text) if c.isascii() and c.isalpha()] == letters


def test_a_formula_the_converter_shortens_is_caught():
    """latex2mathml drops the cells of a table ending in an empty cell (repaired before converting);
    the guard that catches such a loss, on the converter's real output."""
    from latex2mathml.converter import convert

    tex = r"\begin{cases} x & y & \end{cases}"
    assert richtext._lost_content(tex, convert(tex))
    assert not richtext._lost_content(r"\mathbb{R}^{n \times d}", convert(r"\mathbb{R}^{n \times d}"))
    assert not richtext._lost_content(r"\operatorname{diag}(\sigma'(Wx))W", convert(r"\operatorname{diag}(\sigma'(Wx))W"))
