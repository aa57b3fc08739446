"""Regrades with a diff: two runs that differ by one submission and by one tolerance, both explained."""
from __future__ import annotations

import csv
import json
import dataclasses
import html
import io
import re
import shutil
from pathlib import Path

import pytest

from grader import batch, caseset, diff
from grader.cli import main
from grader.totals import shown
from grader.session import Session
from grader.spec import Tolerance

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"

# carol's module, with 1(a)'s Jacobian off by one part in a thousand: wrong at rtol=1e-6, right at 1e-2
NEAR_MISS = (SUBMISSIONS / "carol_module.py").read_text(encoding="utf-8") + '''

_exact_sigmoid_jacobian = sigmoid_jacobian


def sigmoid_jacobian(W, x):
    return _exact_sigmoid_jacobian(W, x) * (1 + 1e-3)
'''


@pytest.fixture(scope="module")
def loose_session(config):
    """The same assignment with 1(a)'s tolerance loosened to rtol=1e-2."""
    assignment = config.load_assignment()
    questions = tuple(dataclasses.replace(q, tolerance=Tolerance(rtol=1e-2, atol=1e-8)) if q.id == "1a" else q
                      for q in assignment.questions)
    cases = caseset.build(dataclasses.replace(assignment, questions=questions), config.secret)
    with Session(config, case_set=cases) as session:
        yield session


def test_two_runs_differing_by_a_submission_and_a_tolerance(tmp_path: Path, session, loose_session, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "alice.ipynb")
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    (folder / "nina.py").write_text(NEAR_MISS, encoding="utf-8")
    out = tmp_path / "out"
    first = batch.run_batch(folder, out, session.config, session=session, progress=False)
    assert first.changed is None                                   # nothing to compare with yet
    by_name = {r.submission: r for r in first.results}
    assert next(q for q in by_name["nina"].questions if q.id == "1a").score == 0
    shutil.copy(out / "results.json", tmp_path / "first-results.json")

    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "bob.ipynb")    # bob hands in again
    second = batch.run_batch(folder, out, loose_session.config, session=loose_session, progress=False)
    assert second.graded == 3                                       # a tolerance is part of what was graded
    assert second.changed == 2
    assert "2 students' totals changed since the last run" in batch.describe(second, out)
    kept = list((out / "_runs").iterdir())
    assert len(kept) == 1 and (kept[0] / "results.json").read_bytes() == (tmp_path / "first-results.json").read_bytes()
    assert (kept[0] / "grades.csv").is_file() and (kept[0] / "summary.html").is_file()

    assert main(["diff", str(kept[0]), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 students' totals changed" in printed
    assert "tolerance of 1a: rtol=1e-06" in printed
    rows = list(csv.DictReader(io.StringIO((out / "diff.csv").read_text(encoding="utf-8"))))
    bob = [r for r in rows if r["student"] == "bob"]
    assert {r["item"] for r in bob} >= {"total"}
    assert all("submission content changed" in r["reasons"] for r in bob)
    bob_total = next(r for r in bob if r["item"] == "total")
    assert float(bob_total["new"]) == pytest.approx(100) and float(bob_total["delta"]) > 0
    nina = {r["item"]: r for r in rows if r["student"] == "nina"}
    assert set(nina) == {"1a", "total"}
    assert "tolerance rtol=1e-06" in nina["1a"]["reasons"] and "rtol=0.01" in nina["1a"]["reasons"]
    assert "submission content" not in nina["1a"]["reasons"]
    assert (float(nina["1a"]["old"]), float(nina["1a"]["new"])) == (0, 10)
    assert not [r for r in rows if r["student"] == "alice"]          # unchanged: not listed
    page = (out / "diff.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html") and "submission content changed" in page

    third = batch.run_batch(folder, out, loose_session.config, session=loose_session, progress=False)
    assert third.graded == 0 and third.changed == 0
    assert len(list((out / "_runs").iterdir())) == 1                 # nothing replaced: nothing kept


def test_diff_of_a_folder_that_is_not_a_batch_is_a_usage_error(tmp_path: Path, capsys):
    assert main(["diff", str(tmp_path), str(tmp_path)]) == 2
    assert "results.json" in capsys.readouterr().err


@pytest.mark.parametrize("count, words", [(1, "1 student's total changed"), (2, "2 students' totals changed"),
                                          (0, "0 students' totals changed")])
def test_the_count_of_changed_totals_reads_as_english_in_every_output(count, words):
    """The terminal, diff.html and `grader batch`/`merge` say it one way; diff.html said
    "1 student' totals changed" and the terminal "1 students' totals changed"."""
    changes = [diff.Change(f"s{i}", f"s{i}", "total", 1.0, 2.0, ["submission content changed"]) for i in range(count)]
    run = diff.RunDiff("old", "new", [], changes, [], [])
    assert words in diff.table(run)
    heading = html.unescape(re.search(r"<h1>([^<]*)</h1>", diff.page(run)).group(1))
    assert heading == words
    assert diff.changed_totals(count) == words


def broken_links(out: Path) -> list[str]:
    """Every relative link of every page under `out` whose file does not exist."""
    from urllib.parse import unquote, urlsplit

    broken = []
    for page in out.rglob("*.html"):
        for href in re.findall(r'href="([^"#][^"]*)"', page.read_text(encoding="utf-8")):
            parts = urlsplit(html.unescape(href))
            if parts.scheme or parts.netloc:
                continue
            if not (page.parent / unquote(parts.path)).exists():
                broken.append(f"{page.relative_to(out)} -> {href}")
    return broken


def test_a_kept_run_links_to_pages_that_exist_and_says_it_is_an_earlier_run(tmp_path: Path, session):
    """A re-run keeps the class files it replaces in OUT/_runs/<time>/; their summary linked to
    students/... and similarity.html relative to that folder, where neither is: every link of the
    kept class view was broken. It now reaches the students' folders and says that it is an earlier run."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "alice.ipynb")
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    out = tmp_path / "out"
    batch.run_batch(folder, out, session.config, session=session, progress=False)
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "bob.ipynb")
    again = batch.run_batch(folder, out, session.config, session=session, progress=False)
    assert again.changed == 1
    kept = next((out / "_runs").iterdir())
    summary = (kept / "summary.html").read_text(encoding="utf-8")
    assert summary.count("report.html") >= 2
    assert broken_links(out) == []
    assert "earlier run" in summary and "current" in summary
    assert "earlier run" not in (out / "summary.html").read_text(encoding="utf-8")


def _link_to(page: Path, text: str) -> Path | None:
    """The file the first link of `page` whose text is `text` opens (None without one)."""
    from urllib.parse import unquote

    found = re.search(r'<a href="([^"]+)"[^>]*>' + re.escape(text) + "</a>", page.read_text(encoding="utf-8"))
    return (page.parent / unquote(html.unescape(found.group(1)))).resolve() if found else None


def test_a_kept_run_opens_its_own_reports_and_the_diff_links_both(tmp_path: Path, session):
    """A kept run's class view linked to the students' current pages: a TA asked "what did my report
    say before the regrade?" was shown the new one. The pages a re-run replaces are kept beside the
    kept class files (only theirs: a student graded again), and the kept summary opens them.
    `grader diff`'s page showed four decimals (3.5714) where every other page shows two, and did not
    link to either report of the student whose score it lists."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "alice.ipynb")
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    out = tmp_path / "out"
    batch.run_batch(folder, out, session.config, session=session, progress=False)
    old_bob = _link_to(out / "summary.html", "bob")
    old_text = old_bob.read_text(encoding="utf-8")
    assert "sigma-prime-not-per-step" in old_text
    alice_before = _link_to(out / "summary.html", "alice").read_text(encoding="utf-8")

    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "bob.ipynb")      # bob hands in again
    again = batch.run_batch(folder, out, session.config, session=session, progress=False)
    assert again.changed == 1
    kept = next((out / "_runs").iterdir())
    assert broken_links(out) == []
    kept_bob = _link_to(kept / "summary.html", "bob")
    assert kept_bob.read_text(encoding="utf-8") == old_text                    # bob's report as it was
    assert "sigma-prime-not-per-step" not in _link_to(out / "summary.html", "bob").read_text(encoding="utf-8")
    assert _link_to(kept / "summary.html", "alice").read_text(encoding="utf-8") == alice_before
    assert not (kept / "students" / _link_to(out / "summary.html", "alice").parent.name).exists()  # unchanged: not copied

    assert main(["diff", str(kept), str(out)]) == 0
    page = out / "diff.html"
    text = page.read_text(encoding="utf-8")
    with open(out / "diff.csv", encoding="utf-8", newline="") as fh:       # four decimals where they matter
        long = [v for row in csv.DictReader(fh) for v in (row["old"], row["new"]) if len(v.partition(".")[2]) > 2]
    assert long                                                   # bob's scores of questions of 7 cases, 3.5714...
    for value in long:
        assert value not in text and f"<td class=\"num\">{shown(float(value))}</td>" in text, value
    assert _link_to(page, "report before").read_text(encoding="utf-8") == old_text
    assert _link_to(page, "report now") == _link_to(out / "summary.html", "bob")
    assert broken_links(out) == []


def test_a_student_regraded_after_a_tolerance_fix_is_told_what_changed_and_why(tmp_path: Path, session, loose_session):
    """After a tolerance was loosened and the class graded again, a student's new report showed the
    new score as if it had always been so: nothing told them (or a TA answering them) that 1(a)
    went from 0 to 10, nor why. The report now says what changed since the last grading, and
    the recorded reason; a student whose scores did not move is told nothing."""
    from grader.render import html as report_html

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "alice.ipynb")
    (folder / "nina.py").write_text(NEAR_MISS, encoding="utf-8")
    out = tmp_path / "out"
    batch.run_batch(folder, out, session.config, session=session, progress=False)
    batch.run_batch(folder, out, loose_session.config, session=loose_session, progress=False)
    nina = _link_to(out / "summary.html", "nina").read_text(encoding="utf-8")
    notice = re.search(r'<div class="notice info" id="regrade">(.*?)</div>', nina, re.S)
    assert notice, "no regrade notice"
    said = html.unescape(re.sub(r"<[^>]+>", "", notice.group(1)))
    assert "Graded again" in said and "1a: 0 → 10" in said
    assert "tolerance rtol=1e-06" in said and "rtol=0.01" in said
    assert 'id="regrade"' not in _link_to(out / "summary.html", "alice").read_text(encoding="utf-8")
    kept = json.loads((_link_to(out / "summary.html", "nina").parent / "result.json").read_text(encoding="utf-8"))
    assert kept["regrade"]["items"][0]["item"] == "1a"
    again = batch.run_batch(folder, out, loose_session.config, session=loose_session, progress=False)
    assert again.graded == 0                                          # kept as it was, note and all
    assert 'id="regrade"' in _link_to(out / "summary.html", "nina").read_text(encoding="utf-8")
    assert report_html.points(10.0) in said
