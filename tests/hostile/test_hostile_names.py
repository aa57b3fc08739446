"""Names of hand-ins against the batch's output folder (issue 9, finding 6).

Promises: whatever a hand-in is called, the batch completes, every student has their own report
folder, the class files (summary.html, grades.csv, results.json, review.html) are written, and a
re-run works; two students never share a folder, in one run or across runs; an output folder left
in a bad state (a folder where a class file goes) is recovered from, never a crash after grading.

Reports are found the way a person finds them: through the links of summary.html, so these tests
hold whatever the layout under OUT is.
"""
from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import unquote

import pytest

from conftest import CAROL, FULL, module
from grader import batch
from grader.results import GRADED

CLASS_FILES = ("summary.html", "grades.csv", "results.json", "review.html")
# A module that defines nothing: graded, zero points (tells its report apart from a correct one).
NOTHING = "x = 1\n"


def run(session, folder: Path, out: Path) -> batch.BatchReport:
    return batch.run_batch(folder, out, session.config, session=session, progress=False)


def report_links(out: Path) -> dict[str, Path]:
    """Student (as shown) -> their report, from the links in summary.html."""
    html = (out / "summary.html").read_text(encoding="utf-8")
    links = {}
    for href, text in re.findall(r'<td class="student"[^>]*><a href="([^"]+)">([^<]*)</a>', html):
        links[unescape(text)] = out / unquote(unescape(href))
    return links


def result_next_to(report: Path) -> dict:
    return json.loads((report.parent / "result.json").read_text(encoding="utf-8"))


def assert_complete(out: Path, report: batch.BatchReport, names: set[str]) -> None:
    """Every class file is a file, every student has a report of their own, holding their result."""
    for name in CLASS_FILES:
        assert (out / name).is_file(), f"{name} is not a file"
    assert {r.submission for r in report.results} == names
    links = report_links(out)
    assert set(links) == names
    assert len({p.resolve() for p in links.values()}) == len(names), "two students share a report"
    for name, page in links.items():
        assert page.is_file() and page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
        assert result_next_to(page)["submission"] == name
        assert out.resolve() in page.resolve().parents


CLASS_NAMED = ["summary.html.py", "grades.csv.py", "results.json.ipynb", "review.html.py"]


@pytest.mark.parametrize("hand_in", CLASS_NAMED)
def test_a_hand_in_named_like_a_class_file_does_not_kill_the_batch(attack_session, tmp_path, hand_in):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "alice.py")
    module(folder, CAROL, "zed.py")
    if hand_in.endswith(".ipynb"):
        from conftest import notebook
        notebook(folder, [CAROL], hand_in)
    else:
        module(folder, CAROL, hand_in)
    names = {"alice", "zed", hand_in.rsplit(".", 1)[0]}
    first = run(attack_session, folder, out)
    assert_complete(out, first, names)
    assert all(r.status == GRADED and r.score == FULL for r in first.results)
    again = run(attack_session, folder, out)        # every later run too
    assert_complete(out, again, names)
    assert again.reused == 3 and again.graded == 0


def test_a_folder_hand_in_named_like_a_class_file_or_the_reports_folder(attack_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    for name in ("summary.html", "results.json", "students", "reports"):
        (folder / name).mkdir(parents=True)
        module(folder / name, CAROL, "hw3.py")
    module(folder, CAROL, "alice.py")
    report = run(attack_session, folder, out)
    assert_complete(out, report, {"summary.html", "results.json", "students", "reports", "alice"})
    assert all(r.score == FULL for r in report.results)


def test_names_that_clean_to_the_same_folder_get_two_folders(attack_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "a_b.py")
    module(folder, NOTHING, "a b.py")
    module(folder, NOTHING, "a:b.py")
    module(folder, NOTHING, "A_B.py")
    report = run(attack_session, folder, out)
    links = report_links(out)
    assert len(links) == 4 and len({p.parent for p in links.values()}) == 4
    scores = sorted(result_next_to(p)["score"] for p in links.values())
    assert scores == [0, 0, 0, FULL]
    assert len(report.results) == 4


def test_a_students_folder_stays_theirs_when_another_student_is_added(attack_session, tmp_path):
    """A link to a report (sent to a student, bookmarked by a TA) must never show another student's
    report after a late hand-in whose name cleans to the same folder name."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "a_b.py")
    run(attack_session, folder, out)
    (page,) = report_links(out).values()
    assert result_next_to(page)["score"] == FULL
    module(folder, NOTHING, "a b.py")          # sorts before a_b.py
    run(attack_session, folder, out)
    assert result_next_to(page)["score"] == FULL, "a_b's report link now shows another student"
    assert sorted(result_next_to(p)["score"] for p in report_links(out).values()) == [0, FULL]


@pytest.mark.parametrize("blocked", ["summary.html", "grades.csv", "results.json", "review.html"])
def test_an_output_folder_with_a_folder_where_a_class_file_goes_is_recovered(attack_session, tmp_path, blocked):
    """E.g. what an older grader left after a hand-in named summary.html.py: the batch still
    completes, writes the class file, and keeps what was in the way."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "alice.py")
    (out / blocked).mkdir(parents=True)
    (out / blocked / "report.html").write_text("an old report")
    report = run(attack_session, folder, out)
    assert_complete(out, report, {"alice"})
    kept = [p for p in out.iterdir() if p.is_dir() and (p / "report.html").is_file()
            and (p / "report.html").read_text() == "an old report"]
    assert kept, "what was in the way was lost"
    assert any(blocked in note for note in report.notes)
    assert blocked in batch.describe(report, out)


def test_an_output_path_that_is_a_file_is_a_clear_error_before_grading(attack_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "alice.py")
    out.write_text("not a folder")
    with pytest.raises(batch.BatchError, match="not a folder"):
        run(attack_session, folder, out)
    assert out.read_text() == "not a folder"


def test_an_output_folder_with_a_file_where_the_students_folder_goes_is_recovered(attack_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "alice.py")
    out.mkdir()
    (out / "students").write_text("a file in the way")
    report = run(attack_session, folder, out)
    assert_complete(out, report, {"alice"})
    assert any(p.read_text() == "a file in the way" for p in out.iterdir() if p.is_file())
