"""The student's work as graded (work.html), and the report of a written-only hand-in."""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import batch
from grader.render import html, notebook
from batch_output import student_folder

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def assert_inert(page: str) -> Tags:
    tags = parse(page)
    names = {t for t, _ in tags.tags}
    assert not names & {"script", "iframe", "object", "embed", "svg", "link", "form", "base"}
    for tag, attrs in tags.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                assert not (value or "").lower().startswith("javascript:")
                assert name != "src" or (value or "").startswith("data:image/")
    policy = [a["content"] for t, a in tags.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(policy) == 1 and "script-src 'none'" in policy[0]
    return tags


def code_cell(source, outputs=(), count=None):
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": list(outputs), "execution_count": count}


def write_notebook(path: Path, cells) -> Path:
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
                                "cells": cells}), encoding="utf-8")
    return path


def test_a_notebook_as_graded_shows_cells_math_figures_and_the_graders_errors(session, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        {"cell_type": "markdown", "source": "# Work\n$$\\frac{\\partial L}{\\partial W} = \\sum_t x_t$$", "metadata": {}},
        code_cell("import numpy as np\nvalue = 1 / 0\n", [{"output_type": "display_data", "metadata": {},
                                                            "data": {"image/png": PNG, "text/plain": "<Figure>"}}], 1),
        code_cell("def sigmoid_jacobian(W, x):\n    return W\n"),
    ])
    result = session.grade(path)
    page = notebook.work_page(path, result)
    tags = assert_inert(page)
    text = "".join(tags.text)
    assert "value = 1 / 0" in text and "def sigmoid_jacobian" in text
    assert any(t == "math" for t, _ in tags.tags) and "\\frac" not in page.split("Source")[0].split("<body>")[1]
    assert any(t == "img" and a.get("src", "").startswith("data:image/png;base64,") for t, a in tags.tags)
    assert "⚑ grader" in text and "ZeroDivisionError" in text
    # the report's table of failed cells leads to that cell on this page, by the number both show
    [failed] = [c for c in result.cells if c.status != "ok"]
    assert failed.index == 2 and 'id="cell-2"' in page
    report = html.report(result, work_href="work.html")
    assert re.search(r'<td class="num"><a href="work.html#cell-2"[^>]*>2</a></td>', report), report.split("<h2>Execution")[1][:800]
    assert 'href="work.html#cell-' not in html.report(result)            # no work page: no link


def test_hostile_saved_outputs_are_not_rendered(session, tmp_path):
    evil = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    path = write_notebook(tmp_path / "evil.ipynb", [
        {"cell_type": "markdown", "source": evil + " [x](javascript:alert(1)) $\\text{" + evil + "}$", "metadata": {}},
        code_cell("print(1)", [
            {"output_type": "display_data", "metadata": {}, "data": {"text/html": evil, "text/plain": "plain fallback"}},
            {"output_type": "display_data", "metadata": {}, "data": {"application/javascript": "alert(1)"}},
            {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": "<svg onload=alert(1)></svg>"}},
            {"output_type": "display_data", "metadata": {}, "data": {"image/png": "not base64 <script>"}},
            {"output_type": "stream", "name": "stdout", "text": evil},
            {"output_type": "error", "ename": "E", "evalue": evil, "traceback": ["\x1b[31m" + evil]},
        ]),
        {"cell_type": "raw", "source": evil, "metadata": {}},
    ])
    result = session.grade(path)
    page = notebook.work_page(path, result)
    tags = assert_inert(page)
    text = "".join(tags.text)
    assert "plain fallback" in text and "alert(1)" in text          # shown as text
    assert "\x1b" not in page


def test_a_module_is_highlighted_and_a_write_up_rendered(session):
    carol = session.grade(SUBMISSIONS / "carol_module.py")
    page = notebook.work_page(SUBMISSIONS / "carol_module.py", carol)
    assert_inert(page)
    assert 'class="highlight"' in page and '<span class="k">def</span>' in page
    seed = session.grade(SUBMISSIONS / "seed_written.md")
    page = notebook.work_page(SUBMISSIONS / "seed_written.md", seed)
    assert_inert(page)
    assert page.count("<math") > 30


def test_an_unreadable_submission_gets_a_page_saying_so(session):
    dave = session.grade(SUBMISSIONS / "dave_broken.ipynb")
    page = notebook.work_page(SUBMISSIONS / "dave_broken.ipynb", dave)
    assert_inert(page)
    assert 'class="notice error"' in page


def test_a_written_only_hand_in_gets_a_written_report(session):
    seed = session.grade(SUBMISSIONS / "seed_written.md")
    assert html.is_written_only(seed)
    page = html.report(seed)
    assert 'id="written-only"' in page and "A written hand-in" in page
    assert "<h2>Execution</h2>" not in page and 'class="overview"' not in page
    # only the questions it states are shown, not eleven sections of "not run"
    stated = [q for q in seed.questions if any(c.status != "not-run" for c in q.cases)]
    assert 0 < len(stated) < len(seed.questions)
    assert page.count('<section class="card question') == len(stated)
    assert page.index("<h2>Written answers</h2>") < page.index('<section class="card question')
    assert page.count("<math") > 30
    bob = html.report(session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb"))
    assert 'id="written-only"' not in bob and "<h2>Execution</h2>" in bob


def test_batch_writes_and_links_the_work_view(session, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    shutil.copy(SUBMISSIONS / "seed_written.md", folder / "seed.md")
    out = tmp_path / "out"
    batch.run_batch(folder, out, session.config, session=session, progress=False)
    for name in ("bob", "seed"):
        assert (student_folder(out, name) / "work.html").is_file()
        assert 'href="work.html"' in (student_folder(out, name) / "report.html").read_text(encoding="utf-8")
    review = (out / "review.html").read_text(encoding="utf-8")
    seed, bob = (f"students/{student_folder(out, n).name}" for n in ("seed", "bob"))
    assert f'href="{seed}/work.html"' in review and f'href="{bob}/report.html"' in review


def test_outputs_of_the_graders_run_replace_the_saved_ones(session, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        code_cell("print('hello')", [{"output_type": "stream", "name": "stdout", "text": "SAVED BY STUDENT"}]),
    ])
    result = session.grade(path)
    run = {1: [{"output_type": "stream", "name": "stdout", "text": "FROM THE GRADER"},
               {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG, "text/html": "<script>x</script>"}}]}
    page = notebook.work_page(path, result, run)
    tags = assert_inert(page)
    text = "".join(tags.text)
    assert "FROM THE GRADER" in text and "SAVED BY STUDENT" not in text
    assert any(t == "img" for t, _ in tags.tags)
    assert "grader's own (sandboxed) run" in text
    assert "SAVED BY STUDENT" in "".join(parse(notebook.work_page(path, result)).text)


def test_without_staff_pages_a_batch_writes_only_the_instructor_json(session, tmp_path):
    """`[reports] staff_pages = false`: no work view, no instructor page, no link to them; the
    instructor JSON (the copying evidence reads its digests) is still there."""
    from dataclasses import replace

    from grader.session import Session

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    out = tmp_path / "out"
    config = replace(session.config, staff_pages=False)
    with Session(config, workers=1) as quiet:
        batch.run_batch(folder, out, config, session=quiet, progress=False)
    bob = student_folder(out, "bob")
    assert (bob / "instructor.json").is_file() and json.loads((bob / "instructor.json").read_text(encoding="utf-8"))
    assert not (bob / "work.html").exists() and not (bob / "instructor.html").exists()
    assert 'href="work.html"' not in (bob / "report.html").read_text(encoding="utf-8")
    assert "instructor.html" not in (out / "summary.html").read_text(encoding="utf-8")


def _blank_png(width: int, height: int) -> str:
    """A valid 1-bit PNG of `width` x `height` white pixels, base64 (16000 x 16000: 32 kB)."""
    import base64
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\x00" + b"\xff" * ((width + 7) // 8)) * height
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")).decode()


def _jpeg_header(width: int, height: int) -> str:
    """The start of a JPEG whose frame header (SOF0) declares `width` x `height`, base64."""
    import base64
    import struct

    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return base64.b64encode(b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 4) + b"JF" + sof + b"\xff\xd9").decode()


def test_a_saved_figure_that_would_take_gigabytes_to_draw_is_not_shown(session, tmp_path):
    """A notebook's saved outputs are the student's to write: a 32 kB PNG (or a JPEG header) may
    declare 16000 x 16000 pixels, 1 GB to draw in the browser of the TA who opens the work view.
    Only figures whose header declares a drawable size are shown; a real plot still is."""
    bombs = [_blank_png(16000, 16000), _jpeg_header(30000, 30000)]
    honest = [_blank_png(640, 480), _jpeg_header(800, 600)]
    outputs = [{"output_type": "display_data", "metadata": {},
                "data": {("image/jpeg" if i % 2 else "image/png"): data, "text/plain": f"<Figure {i}>"}}
               for i, data in enumerate(bombs + honest)]
    path = write_notebook(tmp_path / "bomb.ipynb", [code_cell("print(1)", outputs)])
    page = notebook.work_page(path, session.grade(path))
    shown = re.findall(r'<img src="data:image/[a-z]+;base64,([^"]+)"', page)
    assert shown == honest
    assert "&lt;Figure 0&gt;" in page and "&lt;Figure 1&gt;" in page      # said as text instead
