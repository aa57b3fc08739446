"""TA scores are data: a re-run re-applies them, and says so; an unfinished batch says so first.

Issue 12: a plain re-run after merging `--manual-scores` used to write grades.csv without them,
silently; an interrupted batch wrote class files that looked complete.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from grader import batch, kept_scores
from grader.session import Session
from batch_output import student_folder

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"


@pytest.fixture()
def class_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "alice.ipynb")
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    shutil.copy(SUBMISSIONS / "dave_broken.ipynb", folder / "dave.ipynb")
    return folder


def grades(out: Path) -> dict[str, dict[str, str]]:
    lines = [line for line in (out / "grades.csv").read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return {r["student"]: r for r in csv.DictReader(io.StringIO("\n".join(lines)))}


def run(class_dir, out, session, **kw):
    return batch.run_batch(class_dir, out, session.config, session=session, progress=False, **kw)


def test_scores_survive_a_plain_re_run_and_a_late_hand_in(class_dir, tmp_path, session: Session):
    out, scores = tmp_path / "out", tmp_path / "scores.csv"
    scores.write_text("student,part,score,comment\nalice,1a-derivation,4,good\nbob,2b-proof,3,\n", encoding="utf-8")
    run(class_dir, out, session, manual_scores=scores)
    assert (out / kept_scores.KEPT_CSV).is_file()
    # a late hand-in, and a plain re-run without --manual-scores (a module that never hangs: a
    # hanging question would be waited out twice, 4 s of CPU for nothing this test checks)
    shutil.copy(SUBMISSIONS / "carol_module.py", class_dir / "erin.py")
    report = run(class_dir, out, session)
    assert report.graded == 1
    rows = grades(out)
    assert float(rows["alice"]["written"]) == 4 and float(rows["bob"]["written"]) == 3
    assert rows["erin"]["written"] == ""
    assert any("re-applied" in n and str(scores.resolve()) in n for n in report.notes)
    text = batch.describe(report, out)
    assert "re-applied" in text
    page = (student_folder(out, "alice") / "report.html").read_text(encoding="utf-8")
    assert "auto 100/100 + written 4/" in page
    result = json.loads((student_folder(out, "alice") / "result.json").read_text(encoding="utf-8"))
    assert {w["id"]: w["score"] for w in result["written"]}["1a-derivation"] == 4


def test_a_changed_or_vanished_scores_file_is_reported(class_dir, tmp_path, session: Session):
    out, scores = tmp_path / "out", tmp_path / "scores.csv"
    scores.write_text("alice,1a-derivation,4\n", encoding="utf-8")
    run(class_dir, out, session, manual_scores=scores)
    scores.write_text("alice,1a-derivation,1\n", encoding="utf-8")
    changed = run(class_dir, out, session)
    assert any("has changed" in n for n in changed.notes)
    assert float(grades(out)["alice"]["written"]) == 4           # the kept copy, until a new file is given
    scores.unlink()
    gone = run(class_dir, out, session)
    assert any("no longer exists" in n for n in gone.notes)
    assert float(grades(out)["alice"]["written"]) == 4
    # a new file replaces the kept one
    new = tmp_path / "scores2.csv"
    new.write_text("alice,1a-derivation,2\n", encoding="utf-8")
    run(class_dir, out, session, manual_scores=new)
    again = run(class_dir, out, session)
    assert float(grades(out)["alice"]["written"]) == 2
    assert not any("has changed since" in n or "no longer exists" in n for n in again.notes)


def test_totals_agree_in_grades_summary_and_report(class_dir, tmp_path, session: Session):
    out, scores = tmp_path / "out", tmp_path / "scores.csv"
    scores.write_text("bob,1a-derivation,3\n", encoding="utf-8")
    run(class_dir, out, session, manual_scores=scores)
    bob = grades(out)["bob"]
    from grader.render.html import points

    total, top = points(float(bob["total"])), points(float(bob["max"]))     # shown with two decimals
    page = (student_folder(out, "bob") / "report.html").read_text(encoding="utf-8")
    assert f'id="total-score">{total}<' in page and f"= {total}/{top}" in page
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert f"{total}</strong>" in summary and f"/ {top}" in summary


# ------------------------------------------------------------------------------------------------
# An unfinished batch


class Interrupt:
    """on_result hook: Ctrl-C after `after` submissions have been written."""

    def __init__(self, after: int):
        self.after, self.seen = after, 0

    def __call__(self, submission, result):
        self.seen += 1
        if self.seen >= self.after:
            raise KeyboardInterrupt


def test_an_interrupted_batch_says_so_first_and_a_finished_run_clears_it(class_dir, tmp_path, config, shared_builds):
    out = tmp_path / "out"
    with Session(config, workers=1) as own:
        with pytest.raises(KeyboardInterrupt):
            batch.run_batch(class_dir, out, config, session=own, workers=1, progress=False, on_result=Interrupt(1))
    first = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# INCOMPLETE: 2 of 3 submissions not graded yet")
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(data)[0] == "incomplete" and data["incomplete"]["not_graded"] == 2
    summary = (out / "summary.html").read_text(encoding="utf-8")
    body = summary[summary.index("<body>"):]
    assert body.index("2 of 3 not graded yet") < body.index("<h2") and "<h1>" in body[:body.index("not graded yet")]
    assert "INCOMPLETE" in summary[:summary.index("</title>")]
    # a run that finishes clears the mark
    with Session(config, workers=1) as own:
        batch.run_batch(class_dir, out, config, session=own, workers=1, progress=False)
    assert not (out / "grades.csv").read_text(encoding="utf-8").startswith("#")
    assert "incomplete" not in json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert "not graded yet" not in (out / "summary.html").read_text(encoding="utf-8")


def test_class_files_say_incomplete_while_the_batch_runs(class_dir, tmp_path, session: Session):
    """What a crash (kill -9) would leave: the class files as they are during grading."""
    out = tmp_path / "out"
    seen = []

    def look(submission, result):
        seen.append((out / "grades.csv").read_text(encoding="utf-8").splitlines()[0])

    run(class_dir, out, session, on_result=look)
    assert seen and all(line.startswith("# INCOMPLETE: 3 of 3") for line in seen)
    assert not (out / "grades.csv").read_text(encoding="utf-8").startswith("#")


def test_a_bad_new_scores_file_leaves_the_kept_scores_in_place(class_dir, tmp_path, session: Session):
    from grader.manual import ManualScoresError

    out, scores = tmp_path / "out", tmp_path / "scores.csv"
    scores.write_text("alice,1a-derivation,4\n", encoding="utf-8")
    run(class_dir, out, session, manual_scores=scores)
    bad = tmp_path / "bad.csv"
    bad.write_text("alice,1a-derivation,400\n", encoding="utf-8")
    with pytest.raises(ManualScoresError):
        run(class_dir, out, session, manual_scores=bad)
    assert float(grades(out)["alice"]["written"]) == 4
    assert "400" not in (out / kept_scores.KEPT_CSV).read_text(encoding="utf-8")


def _review_download(scored: dict[tuple[str, str], str]) -> str:
    """A scores file as the review page downloads it: every student and part of the class, the
    ones this TA did not score left blank."""
    parts = ("1a-derivation", "1b-derivation", "2a-expansion", "2b-proof", "2c-observations", "3a-gates",
             "3c-interpretation")
    lines = ["student,part,score,comment"]
    for student in ("alice", "bob", "dave"):
        for part in parts:
            lines.append(f"{student},{part},{scored.get((student, part), '')},")
    return "\n".join(lines) + "\n"


def test_two_tas_score_files_add_up_and_a_later_score_replaces_an_earlier_one(class_dir, tmp_path, session: Session):
    """Two TAs split the written parts and each downloads scores.csv from the same review page:
    each file holds every answer, the other TA's left blank. Merging the second replaced the kept
    copy of the first, so the first TA's scores vanished without a word (alice's written 3 + 4
    came out as 4). A file now adds its scores to those kept; a blank line erases nothing; a score
    given again replaces the kept one, and the run says which."""
    out = tmp_path / "out"
    first, second, fix = tmp_path / "ta-a.csv", tmp_path / "ta-b.csv", tmp_path / "fix.csv"
    first.write_text(_review_download({("alice", "1a-derivation"): "3", ("bob", "1a-derivation"): "1"}), encoding="utf-8")
    second.write_text(_review_download({("alice", "2b-proof"): "4"}), encoding="utf-8")
    run(class_dir, out, session, manual_scores=first)
    report = run(class_dir, out, session, manual_scores=second)
    rows = grades(out)
    assert float(rows["alice"]["written"]) == 7 and float(rows["bob"]["written"]) == 1
    assert any("added to the 2 kept" in n for n in report.notes), report.notes
    fix.write_text("alice,1a-derivation,2,second look\n", encoding="utf-8")
    report = run(class_dir, out, session, manual_scores=fix)
    assert float(grades(out)["alice"]["written"]) == 6
    assert any("replace kept ones" in n and "alice / 1a-derivation: 3 → 2" in n for n in report.notes), report.notes
    plain = run(class_dir, out, session)
    assert float(grades(out)["alice"]["written"]) == 6 and float(grades(out)["bob"]["written"]) == 1
    assert any("re-applied" in n for n in plain.notes)
