"""The student's work as the grader saw it: one offline page per submission (`work.html`).

* a notebook: every cell, rendered by nbconvert's HTML exporter (the "basic" template: no scripts,
  no CDN), with the markdown cells through the same Markdown + MathML renderer as the reports
  (`richtext`), and under each code cell that did not run cleanly when the grader ran it, the
  grader's own verdict and error (the outputs shown are those saved in the notebook: the grader's
  run is a separate, sandboxed one, and keeps no outputs of its own yet);
* a `.py` module: the source, highlighted by Pygments, with the grader's verdict;
* a written answer (`.md`/`.txt`): the text, rendered.

The notebook is rebuilt from its raw JSON before nbconvert sees it: only stream text, errors and
plain-text, PNG and JPEG outputs are kept (a saved `text/html` or JavaScript output would be the
student's markup), and the exporter's HTML is then sanitised by an allow-list (nh3), so nothing a
student saved can run or load anything. The page's Content-Security-Policy allows no script.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nh3
from markupsafe import Markup

from .. import submitted
from ..load import LoadError, pick_candidate
from ..results import CellStatus, Result
from ..text import clean
from . import richtext
from .html import environment

WORK_HTML = "work.html"
SHOWN_BYTES = 20 * 2**20        # the largest hand-in shown (grader.load.MAX_BYTES: none is larger)
SOURCE_LIMIT = 200_000          # characters of one cell or module shown
OUTPUT_LIMIT = 20_000           # characters of one output shown
IMAGE_LIMIT = 4 * 2**20         # bytes of one embedded figure (base64)
IMAGE_TYPES = ("image/png", "image/jpeg")
PAGE_TAGS = richtext.HTML_TAGS | richtext.MATHML_TAGS | {"img", "sup", "sub", "b", "i", "u", "dl", "dt", "dd"}


@dataclass(frozen=True)
class CellVerdict:
    index: int
    status: CellStatus
    error: str


def work_page(path: str | Path, result: Result, run_outputs: dict[int, list] | None = None,
              env: jinja2.Environment | None = None) -> str:
    """The whole page showing the submission at `path` as graded in `result` (never raises for a
    bad submission: the page then says why the work cannot be shown).

    `run_outputs` (cell index -> nbformat output dicts), when the grader's own run kept them,
    replace the outputs saved in the notebook; they pass through the same reduction (text,
    PNG/JPEG) and sanitiser as saved ones.
    """
    path = Path(path)
    verdicts = {c.index: CellVerdict(c.index, c.status, clean(c.error, 4000)) for c in result.cells}
    kind, body, problem = "unknown", Markup(""), ""
    try:
        # read like every hand-in (grader.submitted): never through a link, never a FIFO or a
        # device, at most the loader's size limit
        if submitted.probe(path).kind is submitted.Kind.FOLDER:
            path, _ = pick_candidate(path)
        suffix = path.suffix.lower()
        # through grader.submitted: a FIFO handed in is refused, never opened (a read blocked the batch)
        text = submitted.read_file(path, SHOWN_BYTES).decode("utf-8", errors="replace")
        if suffix == ".ipynb":
            kind, body = "notebook", notebook_html(text, verdicts, run_outputs)
        elif suffix == ".py":
            kind, body = "module", module_html(text)
        elif suffix in (".md", ".txt"):
            kind, body = "written", richtext.render(clean(text, SOURCE_LIMIT))
        else:
            problem = f"{path.name} is not a notebook, a module or a written answer"
    except (LoadError, submitted.Refused) as exc:
        problem = exc.message
    except (OSError, ValueError, RecursionError) as exc:
        problem = f"the submission could not be shown ({type(exc).__name__})"
    failed = [v for v in verdicts.values() if v.status != CellStatus.OK]
    return (env or environment()).get_template("work.html").render(
        title=f"{clean(result.submission, 300)} — the work as graded",
        submission=clean(result.submission, 300).replace("\n", " "),
        result=result,
        kind=kind,
        body=body,
        problem=clean(problem, 500),
        failed=failed if kind != "notebook" else [],
        from_run=run_outputs is not None,
        highlight_css=Markup(_pygments_css()),
    )


# ------------------------------------------------------------------------------------------------
# Notebooks


def notebook_html(text: str, verdicts: dict[int, CellVerdict], run_outputs: dict[int, list] | None = None) -> Markup:
    """The notebook's cells as sanitised HTML (nbconvert's basic template)."""
    nb = _rebuilt(json.loads(text), verdicts, run_outputs)
    body, _ = _exporter().from_notebook_node(nb)
    return Markup(_sanitise_page(body))


def _rebuilt(raw: dict, verdicts: dict[int, CellVerdict], run_outputs: dict[int, list] | None = None):
    """A clean nbformat-4 notebook holding only what may be shown, with the grader's verdicts."""
    import nbformat.v4 as v4

    if not isinstance(raw, dict):
        raise ValueError("not a notebook")
    cells = raw.get("cells")
    if cells is None and isinstance(raw.get("worksheets"), list) and raw["worksheets"]:
        cells = raw["worksheets"][0].get("cells", [])          # nbformat 3
    nb = v4.new_notebook()
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        if not isinstance(cell, dict):
            continue
        source = _text(cell.get("source", cell.get("input", "")), SOURCE_LIMIT)
        kind = cell.get("cell_type")
        if kind == "markdown":
            nb.cells.append(v4.new_markdown_cell(source))
        elif kind == "code":
            saved = (cell.get("outputs") or []) if run_outputs is None else run_outputs.get(index, [])
            outputs = [o for o in map(_output, saved if isinstance(saved, list) else []) if o is not None]
            verdict = verdicts.get(index)
            if verdict is not None and verdict.status != CellStatus.OK:
                outputs.append(v4.new_output("stream", name="stderr",
                                             text=f"⚑ grader: this cell {_said(verdict.status)} when the grader "
                                                  f"ran it\n{verdict.error}".rstrip() + "\n"))
            code = v4.new_code_cell(source, outputs=outputs)
            count = cell.get("execution_count")
            code.execution_count = count if type(count) is int else None
            nb.cells.append(code)
        else:
            nb.cells.append(v4.new_raw_cell(source))
    return nb


CELL_SAID = {CellStatus.ERROR: "raised an error", CellStatus.TIMEOUT: "ran out of time",
             CellStatus.CRASHED: "crashed the process", CellStatus.SKIPPED: "was not run"}


def _said(status: CellStatus) -> str:
    return CELL_SAID.get(status, status.value)


def _text(value, limit: int) -> str:
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    return clean(value if isinstance(value, str) else "", limit)


def _output(raw):
    """One saved output, reduced to what may be shown (None: nothing)."""
    import nbformat.v4 as v4

    if not isinstance(raw, dict):
        return None
    kind = raw.get("output_type")
    if kind == "stream":
        name = raw.get("name") if raw.get("name") in ("stdout", "stderr") else "stdout"
        return v4.new_output("stream", name=name, text=_text(raw.get("text", ""), OUTPUT_LIMIT))
    if kind == "error":
        trace = [_text(line, OUTPUT_LIMIT) for line in raw.get("traceback", []) if isinstance(line, str)][:200]
        return v4.new_output("error", ename=_text(raw.get("ename", ""), 200), evalue=_text(raw.get("evalue", ""), 2000),
                             traceback=trace)
    if kind in ("execute_result", "display_data", "pyout", "display"):
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        kept = {}
        for mime in IMAGE_TYPES:
            image = _image(data.get(mime))
            if image:
                kept[mime] = image
                break
        if "text/plain" in data:
            kept["text/plain"] = _text(data["text/plain"], OUTPUT_LIMIT)
        if not kept:
            return None
        return v4.new_output("display_data", data=kept)
    return None


def _image(value) -> str | None:
    """A base64 figure, if it really is base64 and not too large."""
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str) or len(value) > IMAGE_LIMIT:
        return None
    compact = "".join(value.split())
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return compact


def _exporter_class():
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class Exporter(HTMLExporter):
        """HTMLExporter without its last step, a BeautifulSoup pass over the page that adds alt
        texts and tab stops for the "lab" template: with the "basic" template it was 70% of the
        time (measured: 0.5 s of 0.7 s for a notebook), and nh3 parses the page again anyway.
        The rest is HTMLExporter.from_notebook_node as nbconvert 7 has it; should a later version
        differ, the exporter's own method is used instead."""

        def from_notebook_node(self, nb, resources=None, **kw):
            try:
                from nbconvert.filters.highlight import Highlight2HTML
                from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

                info = nb.metadata.get("language_info", {})
                lexer = info.get("pygments_lexer", info.get("name", None))
                self.register_filter("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
                resources = self._init_resources(resources)
                self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            except (ImportError, AttributeError, TypeError):
                return super().from_notebook_node(nb, resources, **kw)
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return Exporter


def warm() -> None:
    """Import nbconvert and make the exporter now (a batch does it while its workers warm up)."""
    _exporter()


@functools.lru_cache(maxsize=1)
def _exporter():
    """nbconvert's HTML exporter, basic template (a body fragment: no scripts, no CDN), with the
    markdown cells rendered like every other page's prose (Markdown + MathML, sanitised)."""
    exporter = _exporter_class()(template_name="basic", anchor_link_text="", sanitize_html=False)   # nh3 does it, below
    exporter.register_filter("markdown2html", lambda *args: str(richtext.render(args[-1] if args else "")))
    # nbconvert's own cleaning (bleach, per cell) cost most of the time; the whole page goes
    # through nh3 below instead.
    exporter.register_filter("clean_html", lambda html, *args, **kwargs: html)
    return exporter


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "src":
        return value if tag == "img" and value.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) else None
    if attribute == "href":
        return value if value.startswith(("#", "https:", "http:", "mailto:")) else None
    return value


def _sanitise_page(fragment: str) -> str:
    allowed = {tag: {"class", "id"} for tag in PAGE_TAGS}
    for tag, names in richtext.HTML_ATTRIBUTES.items():
        allowed.setdefault(tag, set()).update(names)
    for tag in richtext.MATHML_TAGS:
        allowed[tag] = set(richtext.MATHML_ATTRIBUTES)
    allowed["img"] = {"src", "alt", "class", "width", "height"}
    return nh3.clean(fragment, tags=set(PAGE_TAGS), attributes=allowed, url_schemes={"http", "https", "mailto", "data"},
                     attribute_filter=_keep_attribute, strip_comments=True, link_rel="noopener noreferrer nofollow")


# ------------------------------------------------------------------------------------------------
# Modules


def module_html(text: str) -> Markup:
    """A Python module, highlighted (Pygments; line numbers; classes styled by `_pygments_css`)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return Markup(highlight(clean(text, SOURCE_LIMIT), PythonLexer(), HtmlFormatter(linenos="inline", cssclass="highlight")))


@functools.lru_cache(maxsize=1)
def _pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")
