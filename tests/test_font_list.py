"""matplotlib's font list is made once by the grader and handed to each zygote read-only: a
zygote that plots no longer opens every font file of the machine, and no job can change what a
later zygote reads."""
from __future__ import annotations

import json
import os

import pytest

from grader import sandbox, worker
from grader.load import load
from grader.runner import Limits, Worker, run_program

FAST = Limits(case_seconds=2, cell_seconds=20, submission_seconds=60)
MARKER = "GraderFontListMarker"

pytest.importorskip("matplotlib")


def _marked_font_list(monkeypatch, tmp_path) -> str:
    """The grader's font list, made in a folder of this test's, with one more entry (an existing
    font file under a name no machine has): a zygote that read it knows that name."""
    root = tmp_path / "fonts"
    monkeypatch.setattr(sandbox, "font_cache_root", lambda: str(root))
    monkeypatch.setattr(sandbox, "_font_lists", {})
    path = sandbox.font_list()
    assert path is not None and os.path.dirname(os.path.dirname(path)) == str(root)
    assert oct(os.stat(root).st_mode & 0o777) == "0o700"
    data = json.loads(open(path, encoding="utf-8").read())
    entry = dict(data["ttflist"][0], name=MARKER)
    data["ttflist"].append(entry)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    return path


def _levels() -> list[str]:
    levels = [sandbox.RLIMITS] if os.geteuid() == 0 else []     # not root: the jobs could write it
    return levels + ([sandbox.BWRAP] if not sandbox.bwrap_why_not() else [])


@pytest.mark.parametrize("level", _levels())
def test_a_zygote_that_plots_reads_the_graders_font_list(level, monkeypatch, tmp_path):
    path = _marked_font_list(monkeypatch, tmp_path)
    before = open(path, "rb").read()
    module = tmp_path / "plots.py"
    # The job also tries to write the list where the zygote found it and where the grader keeps it.
    module.write_text(
        "import matplotlib.pyplot as plt\n"
        "from matplotlib import font_manager\n"
        f"print('marker', any(f.name == {MARKER!r} for f in font_manager.fontManager.ttflist))\n"
        f"for target in ({sandbox.sandbox_font_list(path)!r}, {path!r}):\n"
        "    try:\n"
        "        open(target, 'w').write('{}')\n"
        "        print('wrote', target)\n"
        "    except OSError as exc:\n"
        "        print('refused', type(exc).__name__)\n")
    w = Worker(level=level, limits=FAST)
    w.start()
    try:
        report = run_program(w, load(str(module)), [])
    finally:
        w.close()
    assert "marker True" in report.output, report.output
    assert "wrote" not in report.output
    assert open(path, "rb").read() == before


def test_the_font_list_is_made_from_a_processs_second_worker_on(monkeypatch, tmp_path):
    """Making it costs five zygotes' worth of what it saves: a single grade (Gradescope's run, in a
    fresh machine each time) never pays it; a batch's second worker starts it in the background."""
    root = tmp_path / "fonts"
    monkeypatch.setattr(sandbox, "font_cache_root", lambda: str(root))
    monkeypatch.setattr(sandbox, "_font_lists", {})
    monkeypatch.setattr(sandbox, "_font_builds", {})
    monkeypatch.setattr(sandbox, "_launches", [0])
    assert sandbox.font_list_for_worker() is None and not root.exists()
    assert sandbox.font_list_for_worker() is None
    for build in list(sandbox._font_builds.values()):
        build.join(120)
    path = sandbox.font_list_for_worker()
    assert path is not None and path.startswith(str(root) + os.sep)
    assert worker.read_font_list(path) is not None
    assert len(sandbox._font_builds) == 1                 # made once


def test_a_font_list_is_read_only_when_it_is_a_plain_file_of_its_name(tmp_path):
    good = tmp_path / "fontlist-v390.json"
    good.write_text("{}")
    assert worker.read_font_list(str(good)) == ("fontlist-v390.json", b"{}")
    other = tmp_path / "fontlist.txt"
    other.write_text("{}")
    link = tmp_path / "fontlist-v391.json"
    link.symlink_to(good)
    empty = tmp_path / "fontlist-v392.json"
    empty.write_text("")
    for refused in (other, link, empty, tmp_path / "fontlist-v393.json", tmp_path):
        assert worker.read_font_list(str(refused)) is None
