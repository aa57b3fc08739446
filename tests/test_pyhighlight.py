"""The work page's highlighting (`grader.render.pyhighlight`): the source as it is, in Pygments'
markup and classes, line numbers that are the file's, and Pygments itself where Python's
tokenizer refuses the source."""
from __future__ import annotations

import html
import re

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.render.pyhighlight import highlight

from conftest import ROOT, SUBMISSIONS

SPAN = re.compile(r'<span class="([a-z0-9]+)">([^<]*)</span>')


def shown_text(page: str) -> str:
    """What a reader sees of the highlighted block: its text, without the line numbers."""
    body = page.split("<pre><span></span>", 1)[1].rsplit("</pre>", 1)[0]
    body = re.sub(r'<span class="linenos">[^<]*</span>', "", body)
    return html.unescape(re.sub(r"<[^>]*>", "", body))


def classes(page: str) -> dict[str, set[str]]:
    """Each token's text -> the classes it was drawn with."""
    found: dict[str, set[str]] = {}
    for css, text in SPAN.findall(page):
        found.setdefault(html.unescape(text), set()).add(css)
    return found


def sources() -> list[str]:
    """Real code: the example modules and every code cell of the example and corpus notebooks."""
    found = [p.read_text(encoding="utf-8") for p in sorted(SUBMISSIONS.glob("*.py"))]
    for path in sorted(SUBMISSIONS.glob("*.ipynb")) + sorted((ROOT / "tests" / "notebooks").rglob("*.ipynb")):
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - the deliberately broken ones
            continue
        found += [cell.source for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]
    return found


def test_real_code_is_shown_exactly_as_written():
    codes = sources()
    assert len(codes) > 50
    for source in codes:
        text = source.replace("\r\n", "\n").replace("\r", "\n")
        assert shown_text(highlight(source)) == text.strip("\n") + "\n"
        assert shown_text(highlight(source, linenos=True)) == text + ("" if text.endswith("\n") else "\n")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
       | st.lists(st.sampled_from(["def f(x):", "    return x", "'''", '"', "f'{x}'", "#", "\\", "(", ")", "\t",
                                   "if x:", "  y = 1", "@d", "import a.b as c", "0x1F", "%time", "!ls", "\n",
                                   "<b>&amp;</b>", "</pre>", "lambda: 1"]), max_size=30).map("\n".join))
def test_any_text_is_shown_exactly_and_escaped(source):
    """Text that is not Python, or is half of it, is shown as it is too (by Pygments where the
    tokenizer gives up), and nothing in it becomes markup."""
    for linenos in (False, True):
        page = highlight(source, linenos=linenos)
        text = source.replace("\r\n", "\n").replace("\r", "\n")
        if not linenos:
            text = text.strip("\n")
        assert shown_text(page) == text + ("" if text.endswith("\n") else "\n")
        assert "</pre>" not in page[:-len("</pre></div>\n")]
        assert page.startswith('<div class="highlight"><pre><span></span>') and page.endswith("</pre></div>\n")


def test_tokens_get_pygments_classes():
    source = '''import numpy as np
from scipy.linalg import expm as e
@functools.lru_cache(maxsize=2)
def sigmoid_jacobian(W, x):
    """The Jacobian."""
    s = 1 / (1 + np.exp(-W @ x))  # the layer
    if s is None or not len(s) and True:
        return 0x1f, 3.5e-2, 'a', "b"
    return self.n
class Model(Base):
    pass
'''
    found = classes(highlight(source))
    expected = {"import": "kn", "from": "kn", "numpy": "nn", "np": {"nn", "n"}, "scipy": "nn", "linalg": "nn", "e": "n",
                "expm": "n", "as": "k", "@": {"nd", "o"}, "functools": "nd", "lru_cache": "nd", "maxsize": "n", "def": "k",
                "sigmoid_jacobian": "nf", "W": "n", '"""The Jacobian."""': "sd", "# the layer": "c1", "1": "mi",
                "is": "ow", "None": "kc", "or": "ow", "not": "ow", "and": "ow", "True": "kc", "len": "nb",
                "0x1f": "mh", "3.5e-2": "mf", "'a'": "s1", '"b"': "s2", "self": "bp", "class": "k", "Model": "nc",
                "Base": "n", "pass": "k", "(": "p", ",": "p", "=": "o", "/": "o", "-": "o"}
    # `np` is a module's name after `import`, a plain name in `np.exp`; `@` a decorator's, then `W @ x`
    wanted = {text: css if isinstance(css, set) else {css} for text, css in expected.items()}
    wrong = {text: (found.get(text), css) for text, css in wanted.items() if found.get(text) != css}
    assert not wrong, wrong


def test_a_modules_line_numbers_are_the_files_even_after_blank_lines():
    """A traceback names the file's line: the page must number the same (Pygments dropped a
    module's leading blank lines, and its numbers were off by as many)."""
    source = "\n\n# three\ndef f():\n    '''five\n    six'''\n    return 7\n"
    page = highlight(source, linenos=True)
    lines = page.split("<pre><span></span>", 1)[1].split("</pre>", 1)[0].split("\n")[:-1]
    numbered = {int(re.match(r'<span class="linenos">\s*(\d+)</span>', line).group(1)): line for line in lines}
    assert sorted(numbered) == list(range(1, 8))
    assert "three" in numbered[3] and "def" in numbered[4] and "six" in numbered[6] and "7" in numbered[7]


@pytest.mark.parametrize("source", ['x = """never closed\n', "f(1,\n", "if x:\n\ty = 1\n        z = 2\n"])
def test_where_the_tokenizer_gives_up_pygments_draws_it(source):
    page = highlight(source)
    assert shown_text(page) == source
    assert '<span class="' in page          # still highlighted, not a bare block


def test_no_span_crosses_a_line():
    """A line number starts every line: a span left open across a newline would colour it."""
    page = highlight("s = '''a\nb\nc'''\nt = 1\n", linenos=True)
    for line in page.split("<pre><span></span>", 1)[1].split("</pre>", 1)[0].split("\n"):
        assert line.count("<span") == line.count("</span>")
