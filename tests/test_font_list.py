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
    path = sandbox.font_list(make=True)
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
    w = Worker(level=level, limits=FAST, fonts=path)
    w.start()
    try:
        report = run_program(w, load(str(module)), [])
    finally:
        w.close()
    assert "marker True" in report.output, report.output
    assert "wrote" not in report.output
    assert open(path, "rb").read() == before


def test_the_font_list_is_made_only_when_asked_and_found_afterwards(monkeypatch, tmp_path):
    """Making it costs five zygotes' worth of what it saves: a single grade (Gradescope's run, in a
    fresh machine each time) only looks for it; a session of several workers makes it once."""
    root = tmp_path / "fonts"
    monkeypatch.setattr(sandbox, "font_cache_root", lambda: str(root))
    assert sandbox.font_list() is None and not root.exists()
    path = sandbox.font_list(make=True)
    assert path is not None and path.startswith(str(root) + os.sep)
    assert worker.read_font_list(path) is not None
    made = os.stat(path).st_mtime_ns
    assert sandbox.font_list() == path and sandbox.font_list(make=True) == path
    assert os.stat(path).st_mtime_ns == made                 # found, not made again


def test_a_font_list_folder_that_is_not_the_graders_own_is_not_used(monkeypatch, tmp_path):
    """Another user of the machine may make the folder first (it is under the shared /tmp): a
    folder others can write to, or a list in it, is never handed to a zygote."""
    root = tmp_path / "fonts"
    monkeypatch.setattr(sandbox, "font_cache_root", lambda: str(root))
    path = sandbox.font_list(make=True)
    os.chmod(root, 0o777)
    assert sandbox.font_list() is None and sandbox.font_list(make=True) is None
    os.chmod(root, 0o700)
    os.chmod(os.path.dirname(path), 0o757)
    assert sandbox.font_list() is None


def test_a_batch_session_makes_the_font_list_and_a_single_grade_only_looks(monkeypatch, tmp_path, config):
    from grader.session import Session

    root = tmp_path / "fonts"
    monkeypatch.setattr(sandbox, "font_cache_root", lambda: str(root))
    monkeypatch.setattr(Session, "_new_worker", lambda self, slot: Worker(slot=slot, limits=FAST, fonts=self._fonts))
    single = Session(config)
    single.close()
    assert single._fonts is None and not root.exists()
    batch = Session(config, workers=2)
    batch.close()
    assert batch._fonts is not None and batch._fonts.startswith(str(root) + os.sep)


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


def test_a_build_killed_midway_leaves_nothing_for_long(monkeypatch, tmp_path):
    """A font-list build works in a `.build-*` folder that it removes whatever happens, except when
    the grader is killed outright; the next build removes such a folder once it is older than any
    build can last, and leaves alone one that another grader may still be building in."""
    root = tmp_path / "fonts"
    root.mkdir(mode=0o700)
    monkeypatch.setattr(sandbox, "font_cache_root", lambda: str(root))
    stale, running = root / ".build-killed", root / ".build-running"
    for folder in (stale, running):
        folder.mkdir()
        (folder / "fontlist-v330.json").write_text("{}")
    old = os.stat(stale).st_mtime - 2 * sandbox.FONT_BUILD_SECONDS
    os.utime(stale, (old, old))
    assert sandbox.font_list(make=True) is not None
    assert not stale.exists() and running.is_dir()
