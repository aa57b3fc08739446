"""Injection into the pages staff open: the work view (the notebook as graded, its saved outputs
included), the instructor view, the review page, the class view and the copying evidence.

A student controls every byte of their notebook: cell sources, cell types, execution counts, the
outputs saved in it (HTML, SVG, images whose "base64" is markup), their names. Promise (SECURITY.md,
"Report injection"): none of it becomes markup in any page a batch writes; the only scripts on a
page are the grader's own; images are data URIs of PNG or JPEG only; and the batch grades the
attacker like anyone else.
"""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from conftest import CAROL, FULL, ROOT
from grader.batch import run_batch

SCRIPT = "</pre></div><script>alert('staff')</script><img src=x onerror=alert(2)>"
PAYLOAD_HTML = "<script>alert(3)</script><a href='javascript:alert(4)'>x</a>"


def hostile_notebook(path: Path) -> None:
    """A correct solution (carol's code) wrapped in every hostile thing a notebook can hold."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Title {SCRIPT}\n[link](javascript:alert(5)) $\\href{{javascript:alert(6)}}{{x}}$"),
        nbformat.v4.new_code_cell(CAROL),
        nbformat.v4.new_code_cell(f"s = {SCRIPT!r}\n# {SCRIPT}", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text=SCRIPT),
            nbformat.v4.new_output("display_data", data={"text/html": PAYLOAD_HTML, "text/plain": SCRIPT,
                                                         "image/svg+xml": f"<svg onload=alert(7)>{SCRIPT}</svg>"}),
            nbformat.v4.new_output("display_data", data={"image/png": '" onerror="alert(8)'}),
            nbformat.v4.new_output("error", ename=SCRIPT, evalue=SCRIPT, traceback=[SCRIPT, "\x1b[31mred\x1b[0m"]),
        ]),
        # data: URLs, now that no pass over the whole work page would catch what the Markdown renderer let through
        nbformat.v4.new_markdown_cell('<a href="data:text/html,<script>alert(11)</script>">x</a> '
                                      "[y](data:text/html;base64,PHNjcmlwdD4=) ![z](attachment:a.png) "
                                      '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'),
    ]
    raw = json.loads(nbformat.writes(nb))
    raw["cells"][2]["execution_count"] = "<b>1</b>"                 # not an int: never shown as markup
    raw["cells"][2]["outputs"][0]["name"] = 'stdout"><script>alert(9)</script>'
    raw["cells"].append({"cell_type": "<script>alert(10)</script>", "metadata": {}, "source": SCRIPT})
    path.write_text(json.dumps(raw), encoding="utf-8")


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag in ("iframe", "object", "embed", "base", "form", "link"):    # (the class view draws its own svg)
            self.problems.append(f"<{tag}>")
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}")
            if name in ("href", "src", "action") and value.startswith(("javascript:", "vbscript:", "data:text")):
                self.problems.append(f"{tag} {name}={value[:30]}")
            if tag == "img" and name == "src" and not value.startswith(("data:image/png;base64,",
                                                                         "data:image/jpeg;base64,")):
                self.problems.append(f"img src={value[:30]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def test_hostile_notebook_cannot_inject_into_any_staff_page(session, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    hostile_notebook(folder / "mallory.ipynb")
    hostile_notebook(folder / "trudy.ipynb")                # a copy: the similarity page shows both side by side
    (folder / "carol.py").write_text(CAROL, encoding="utf-8")
    out = tmp_path / "out"
    report = run_batch(folder, out, session.config, session=session, progress=False)

    scores = {r.submission: r.score for r in report.results}
    assert scores == {"mallory": FULL, "trudy": FULL, "carol": FULL}
    assert any(p.flagged for p in report.similarity)         # the copy is found, and its page is drawn
    grader_scripts = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "templates").glob("*.js")}
    pages = sorted(out.rglob("*.html"))
    names = {p.name for p in pages}
    assert {"work.html", "instructor.html", "report.html", "summary.html", "review.html", "similarity.html"} <= names
    for page in pages:
        text = page.read_text(encoding="utf-8")
        parser = Page()
        parser.feed(text)
        assert not parser.problems, (page.relative_to(out), parser.problems)
        for script in parser.scripts:                         # only the grader's own scripts, verbatim
            assert "alert(" not in script and any(script.strip() in js for js in grader_scripts.values()), \
                (page.relative_to(out), script[:200])
        assert "\x1b" not in text
