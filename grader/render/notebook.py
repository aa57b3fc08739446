"""The student's work as the grader saw it: one offline page per submission (`work.html`).

* a notebook: every cell, in the markup of nbconvert's "basic" template (no scripts, no CDN), drawn
  here (nbconvert's exporter cost ~85 ms a notebook), with the markdown cells through the same
  Markdown + MathML renderer as the reports (`richtext`), and under each code cell that did not run cleanly when the grader ran it, the
  grader's own verdict and error (the outputs shown are those saved in the notebook: the grader's
  run is a separate, sandboxed one, and keeps no outputs of its own yet);
* a `.py` module: the source, highlighted by Pygments, with the grader's verdict;
* a written answer (`.md`/`.txt`): the text, rendered.

The notebook is rebuilt from its raw JSON first (nbformat's node type, the fields of nbformat 4):
only stream text, errors and plain-text, PNG and JPEG outputs are kept (a saved `text/html` or
JavaScript output would be the student's markup). Every piece of the page is made safe where it is
made: markdown by `richtext` (which sanitises its HTML with an allow-list, nh3), code by Pygments
(escaped), outputs and raw cells escaped, figures only base64 checked as such under a fixed image
type, counts only integers; so nothing a student saved can run or load anything
(tests/hostile/test_hostile_staff_pages.py puts markup in every part). The page's
Content-Security-Policy allows no script besides.
"""
from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup, escape
from nbformat import NotebookNode

from .. import images, submitted
from ..load import FIRST_CELL, LoadError, notebook_json, pick_candidate, read_kept
from ..results import CellStatus, Result
from ..text import bounded_cache, clean
from . import pyhighlight, richtext
from .html import environment

WORK_HTML = "work.html"
SHOWN_BYTES = 20 * 2**20        # the largest module or write-up shown (grader.load.MAX_BYTES: none is larger)
SOURCE_LIMIT = 200_000          # characters of one cell or module shown
OUTPUT_LIMIT = 20_000           # characters of one output shown
IMAGE_LIMIT = 4 * 2**20         # bytes of one embedded figure (base64)
IMAGE_TYPES = ("image/png", "image/jpeg")
IMAGE_PIXELS = 16_000_000       # pixels of one saved figure shown (a poster at 300 dpi; 64 MB to draw)
# Characters of cells drawn on one page, past which the rest are counted, not drawn. Drawing grows
# some text twenty-fold (`$a$a…` as MathML; code as Pygments spans): 18 MB of such markdown made a
# 392 MB page, and the process drawing it took 1.6 GB. A real notebook's page is far smaller (alice's:
# 56 kB; its saved figures count about what they weigh in the notebook).
PAGE_LIMIT = 16 * 2**20
# Characters of markdown drawn (Markdown and LaTeX, by pure-Python parsers: up to ~0.3 s for one
# cell of 20,000 characters built for it) on one page; markdown past it is shown as its source, as a
# raw cell is. A real notebook has tens of kilobytes of markdown; 800 built cells took four minutes.
MARKDOWN_LIMIT = 500_000


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
        if suffix == ".ipynb":
            # read as the grading read it: a notebook past the loader's limit, without its outputs
            kind, body = "notebook", notebook_html(read_kept(path)[2].text, verdicts, run_outputs, path.name)
        elif suffix in (".py", ".md", ".txt"):
            # through grader.submitted: a FIFO handed in is refused, never opened (a read blocked the batch)
            text = submitted.read_file(path, SHOWN_BYTES).decode("utf-8", errors="replace")
            kind, body = (("module", module_html(text)) if suffix == ".py" else
                          ("written", richtext.render(clean(text, SOURCE_LIMIT))))
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


def notebook_html(text: str, verdicts: dict[int, CellVerdict], run_outputs: dict[int, list] | None = None,
                  name: str = "the notebook") -> Markup:
    """The notebook's cells as sanitised HTML, in the markup of nbconvert's "basic" template.

    Drawn here rather than by nbconvert's exporter: its Jinja templates took ~85 ms a notebook,
    seven times what grading the notebook takes, on every student of every batch. The cells are
    the clean notebook `_rebuilt` makes (only what may be shown, the grader's verdicts added);
    markdown goes through the same offline Markdown + MathML as every page, code through Pygments
    (both cached by their text: a class repeats the template's cells). Sanitising the whole page
    again (nh3 over ~100 KB of highlighted code and MathML) cost more than grading the notebook;
    each piece is safe as made (module docstring). The JSON is parsed as the grading parsed it, in
    bounded memory (`grader.load.notebook_json`: a `LoadError` past its bound).
    """
    nb = _rebuilt(notebook_json(name, text), verdicts, run_outputs)
    drawn, size, markdown = [], 0, 0
    for number, cell in enumerate(nb.cells):
        if size > PAGE_LIMIT:
            drawn.append(_not_shown(len(nb.cells) - number))
            break
        if cell.cell_type == "markdown":
            markdown += len(cell.source)
            if markdown > MARKDOWN_LIMIT:
                cell = NotebookNode(cell_type="raw", source=cell.source, metadata=NotebookNode(), number=cell.number)
        drawn.append(_cell_html(cell))
        size += len(drawn[-1])
    return Markup("".join(drawn))


def _not_shown(cells: int) -> str:
    """Where the page stops: the cells left are counted, not drawn (see PAGE_LIMIT)."""
    return (f'<div class="cell border-box-sizing raw_cell rendered"><div class="inner_cell"><pre>⚑ grader: the '
            f'last {cells} cell(s) are not shown: this page draws at most {PAGE_LIMIT // 2**20} MB of the notebook '
            f'(the notebook itself is what was graded)</pre></div></div>\n')


def _cell_html(cell) -> str:
    """One cell in nbconvert's markup, labelled with its number ("cell 3", `id="cell-3"`): the
    number every message names it by (`grader.load.FIRST_CELL`), which Jupyter does not show."""
    label = f'<span class="cell-number">cell {cell.number}</span>'
    anchor = f' id="cell-{cell.number}"'
    if cell.cell_type == "markdown":
        return (f'<div class="cell border-box-sizing text_cell rendered"{anchor}>'
                f'<div class="prompt input_prompt">{label}</div>'
                '<div class="inner_cell"><div class="text_cell_render border-box-sizing rendered_html">'
                f"{richtext.render(cell.source)}</div></div></div>\n")
    if cell.cell_type != "code":
        return (f'<div class="cell border-box-sizing raw_cell rendered"{anchor}><div class="prompt input_prompt">'
                f'{label}</div><div class="inner_cell"><pre>{escape(cell.source)}</pre></div></div>\n')
    count = cell.execution_count if type(cell.execution_count) is int else "&nbsp;"
    outputs = "".join(_output_html(output) for output in cell.outputs)
    return (f'<div class="cell border-box-sizing code_cell rendered"{anchor}><div class="input">'
            f'<div class="prompt input_prompt">{label}In&nbsp;[{count}]:</div><div class="inner_cell">'
            f'<div class="input_area">{_highlighted(cell.source)}</div></div></div>'
            + (f'<div class="output_wrapper"><div class="output">{outputs}</div></div>' if outputs else "")
            + "</div>\n")


def _output_html(output) -> str:
    """One output (already reduced by `_output`): a stream, an error or displayed data."""
    if output.output_type == "stream":
        kinds, body = f"output_stream output_{output.name} output_text", f"<pre>{escape(output.text)}</pre>"
    elif output.output_type == "error":
        kinds, body = "output_text output_error", f"<pre>{escape(chr(10).join(output.traceback))}</pre>"
    else:
        data = output.get("data", {})
        image = next(((mime, data[mime]) for mime in IMAGE_TYPES if mime in data), None)
        if image is not None:
            kinds, body = f"output_{image[0].split('/')[1]}", f'<img src="data:{image[0]};base64,{image[1]}">'
        else:
            kinds, body = "output_text output_execute_result", f"<pre>{escape(data.get('text/plain', ''))}</pre>"
    return (f'<div class="output_area"><div class="prompt"></div>'
            f'<div class="output_subarea {kinds}">{body}</div></div>')


@bounded_cache(entries=512, chars=4_000_000)
def _highlighted(source: str) -> str:
    """A code cell's source highlighted in the markup nbconvert gives it (Pygments' classes, class
    "highlight"), by `pyhighlight` (Python's tokenizer; Pygments where it refuses the source).

    Cached for the template's cells, which every notebook of a class repeats; a few hundred
    entries hold them, and memory stays the same however large the class or its cells (a student's
    own cells pass through; `text.bounded_cache`)."""
    return pyhighlight.highlight(source)


def _rebuilt(raw: dict, verdicts: dict[int, CellVerdict], run_outputs: dict[int, list] | None = None):
    """A clean nbformat-4 notebook holding only what may be shown, with the grader's verdicts.

    Built as plain nodes: nbformat's `new_*_cell` validate every cell against the schema, which
    took longer than drawing the page, and these cells are made here from checked parts."""
    if not isinstance(raw, dict):
        raise ValueError("not a notebook")
    cells = raw.get("cells")
    if cells is None and isinstance(raw.get("worksheets"), list) and raw["worksheets"]:
        cells = raw["worksheets"][0].get("cells", [])          # nbformat 3
    nb = NotebookNode(cells=[], metadata=NotebookNode(), nbformat=4, nbformat_minor=5)
    for index, cell in enumerate(cells if isinstance(cells, list) else [], start=FIRST_CELL):
        if not isinstance(cell, dict):
            continue
        source = _text(cell.get("source", cell.get("input", "")), SOURCE_LIMIT)
        kind = cell.get("cell_type")
        if kind == "markdown":
            nb.cells.append(NotebookNode(cell_type="markdown", source=source, metadata=NotebookNode(), number=index))
        elif kind == "code":
            saved = (cell.get("outputs") or []) if run_outputs is None else run_outputs.get(index, [])
            outputs = [o for o in map(_output, saved if isinstance(saved, list) else []) if o is not None]
            verdict = verdicts.get(index)
            if verdict is not None and verdict.status != CellStatus.OK:
                outputs.append(_stream("stderr", f"⚑ grader: this cell {_said(verdict.status)} when the grader "
                                                 f"ran it\n{verdict.error}".rstrip() + "\n"))
            count = cell.get("execution_count")
            nb.cells.append(NotebookNode(cell_type="code", source=source, outputs=outputs, metadata=NotebookNode(),
                                         execution_count=count if type(count) is int else None, number=index))
        else:
            nb.cells.append(NotebookNode(cell_type="raw", source=source, metadata=NotebookNode(), number=index))
    return nb


def _stream(name: str, text: str) -> NotebookNode:
    return NotebookNode(output_type="stream", name=name, text=text)


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
    if not isinstance(raw, dict):
        return None
    kind = raw.get("output_type")
    if kind == "stream":
        name = raw.get("name") if raw.get("name") in ("stdout", "stderr") else "stdout"
        return _stream(name, _text(raw.get("text", ""), OUTPUT_LIMIT))
    if kind == "error":
        trace = [_text(line, OUTPUT_LIMIT) for line in raw.get("traceback", []) if isinstance(line, str)][:200]
        return NotebookNode(output_type="error", ename=_text(raw.get("ename", ""), 200),
                            evalue=_text(raw.get("evalue", ""), 2000), traceback=trace)
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
        return NotebookNode(output_type="display_data", data=NotebookNode(kept), metadata=NotebookNode())
    return None


def _image(value) -> str | None:
    """A base64 figure, if it really is base64, not too large, and a PNG or JPEG whose header
    declares a size a browser can draw (`images`: a saved output is the student's to forge)."""
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str) or len(value) > IMAGE_LIMIT:
        return None
    compact = "".join(value.split())
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return compact if images.drawable(data, IMAGE_PIXELS) else None


# ------------------------------------------------------------------------------------------------
# Modules


def module_html(text: str) -> Markup:
    """A Python module, highlighted with the file's line numbers (`pyhighlight`, Pygments' markup;
    classes styled by `_pygments_css`)."""
    return Markup(pyhighlight.highlight(clean(text, SOURCE_LIMIT), linenos=True))


@functools.lru_cache(maxsize=1)
def _pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")
