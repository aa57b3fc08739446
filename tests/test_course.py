"""The course round trip: a roster, a late policy and a gradebook that goes back to the LMS."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader import batch, export, late, roster
from grader.cli import main
from grader.config import ConfigError, load_config
from grader.results import Result, Student
from tests.test_lms import canvas_zip, gradescope_export
from batch_output import student_folder
from conftest import SUBMISSIONS

CANVAS_ROSTER = """\
Student,ID,SIS User ID,SIS Login ID,Section,HW2 (777),Current Score
    Points Possible,,,,,50,
"Núñez, José",1001,S1001,jnunez,Sec A,40,
"Smith, Bob",1002,S1002,bsmith,Sec A,30,
"Lee, Carol",1003,S1003,clee,Sec B,50,
"Absent, Amy",1009,S1009,aabsent,Sec B,,
"Student, Test",9999,,,Sec A,,
"""


def read_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# ------------------------------------------------------------------------------------------------
# Roster


def test_canvas_gradebook_and_plain_rosters_are_read(tmp_path: Path):
    path = tmp_path / "gradebook.csv"
    path.write_text(CANVAS_ROSTER, encoding="utf-8")
    entries = roster.read_roster(path)
    assert [e.id for e in entries] == ["1001", "1002", "1003", "1009"]       # no Points Possible, no Test Student
    assert entries[0] == roster.RosterEntry("1001", "Núñez, José", "S1001", "jnunez", "Sec A")
    plain = tmp_path / "class.csv"
    plain.write_text("name,id,email,section\nAda,a1,ADA@uni.edu,1\n", encoding="utf-8")
    assert roster.read_roster(plain) == [roster.RosterEntry("a1", "Ada", section="1", email="ADA@uni.edu")]
    plain.write_text("name,email\nAda,x\n", encoding="utf-8")
    with pytest.raises(roster.RosterError, match="header"):
        roster.read_roster(plain)
    plain.write_text("id,name\na1,Ada\na1,Ada again\n", encoding="utf-8")
    with pytest.raises(roster.RosterError, match="more than once"):
        roster.read_roster(plain)


def test_matching_is_by_exact_ids_and_never_merges():
    entries = [roster.RosterEntry("1", "One", sis_id="S1"), roster.RosterEntry("2", "Two", email="two@u.edu"),
               roster.RosterEntry("3", "Three")]
    found = roster.reconcile({
        "a": Student(id="1"),
        "b": Student(id="zz", email="TWO@u.edu"),           # Gradescope without SID: by e-mail
        "c": Student(id="S1", sis_id="S1"),                 # the same student again, by SIS id
        "d": Student(id="Three"),                           # a name is not an id
        "e": None,
    }, entries)
    assert found.matched == {"a": entries[0], "b": entries[1], "c": entries[0]}
    assert found.shared == {"1": ["a", "c"]}
    assert sorted(found.unknown) == ["d", "e"]
    assert found.missing == [entries[2]]


# ------------------------------------------------------------------------------------------------
# Late policy


def policy(**kw) -> late.LatePolicy:
    return late.LatePolicy(due=datetime(2026, 3, 2, 6, 59, tzinfo=timezone.utc), **kw)


def test_late_days_grace_and_cap():
    p = policy(grace_minutes=15, penalty_per_day=10, cap=25)
    at = lambda text: Student(id="x", submitted_at=text)   # noqa: E731
    assert late.assess(p, at("2026-03-01T22:59:00-08:00"), 80) is None                 # on time, other zone
    assert late.assess(p, at("2026-03-02T07:14:00+00:00"), 80) is None                 # inside the grace
    one = late.assess(p, at("2026-03-02T07:15:00+00:00"), 80)
    assert (one.days, one.percent, one.points) == (1, 10, 8)
    three = late.assess(p, at("2026-03-04T08:00:00+00:00"), 80)
    assert (three.days, three.percent, three.points) == (3, 25, 20)                   # capped
    flagged = late.assess(p, Student(id="x", late=True), 80)
    assert flagged.days == 1 and flagged.submitted_at == "" and "no time" in flagged.note
    assert late.assess(p, Student(id="x"), 80) is None                                 # nothing known: no penalty


def test_late_policy_in_the_config(tmp_path: Path):
    path = tmp_path / "grader.toml"
    path.write_text('[late]\ndue = 2026-03-01T23:59:00-05:00\ngrace_minutes = 15\npenalty_per_day = 10\ncap = 50\n')
    config = load_config(path, env={})
    assert config.late.due == datetime(2026, 3, 2, 4, 59, tzinfo=timezone.utc) and config.late.cap == 50
    path.write_text('[late]\npolicy = "none"\n')
    assert load_config(path, env={}).late is None
    path.write_text('[late]\ndue = "soon"\n')
    with pytest.raises(ConfigError, match="due"):
        load_config(path, env={})
    path.write_text('[late]\ndue = 2026-03-01\npenalty_per_day = 150\n')
    with pytest.raises(ConfigError, match="penalty_per_day"):
        load_config(path, env={})


# ------------------------------------------------------------------------------------------------
# Export


def result(name: str, score: float, student: Student | None = None, status: str = "graded") -> Result:
    return Result(submission=name, status=status, score=score, max_score=100, student=student)


def test_rounding_is_half_up_and_totals_are_not_sums_of_rounded_parts():
    assert export.rounded(71.5625, 2) == "71.56" and export.rounded(0.125, 2) == "0.13"
    assert export.rounded(2.675, 2) == "2.68"              # the float 2.675 is 2.67499..: its repr is rounded
    assert export.rounded(100.0, 2) == "100" and export.rounded(None, 2) == ""
    assert export.rounded(33.3333, 0) == "33"


def test_canvas_round_trip_with_roster_and_late_flag(tmp_path: Path, session):
    archive = canvas_zip(tmp_path / "submissions.zip")
    class_list = tmp_path / "gradebook.csv"
    class_list.write_text(CANVAS_ROSTER, encoding="utf-8")
    config = dataclasses.replace(session.config, late=policy(penalty_per_day=10))
    out = tmp_path / "out"
    report = batch.run_batch(archive, out, config, session=session, progress=False, roster=class_list)
    text = batch.describe(report, out)
    assert "1 students with no submission" in text and "2 submissions from ids not on the roster" in text
    by_id = {r.student.id: r for r in report.results}
    assert by_id["1009"].status == "no-submission" and by_id["1009"].student.name == "Absent, Amy"
    assert by_id["1004"].student.on_roster is False
    assert any(p.code == "roster-unknown" for p in by_id["1004"].problems)
    jose = by_id["1001"]                                        # Canvas: LATE in the name, no time
    assert jose.student.name == "Núñez, José" and jose.student.sis_id == "S1001"
    assert jose.late.days == 1 and jose.score == pytest.approx(90)
    assert any(p.code == "late-penalty" for p in jose.problems)
    assert "late-penalty" in (student_folder(out, jose.submission) / "report.html").read_text(encoding="utf-8")
    grades = read_rows((out / "grades.csv").read_text(encoding="utf-8"))
    assert any(row[0] == "Absent_Amy_1009" for row in grades)
    late_column = grades[0].index("late_penalty")
    jose_row = next(row for row in grades if row[0] == jose.submission)
    assert jose_row[late_column] == "10" and jose_row[grades[0].index("total")] == "90"

    assert main(["export", str(out), "--format", "canvas", "--assignment", "HW3 (4242)"]) == 0
    rows = read_rows((out / "gradebook-canvas.csv").read_text(encoding="utf-8"))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW3 (4242)"]
    class_max = {r["max"] for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8")))}
    assert class_max == {"135"}                                 # 100 automatic + 35 written, for everyone
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "135"
    body = {r[1]: r for r in rows[2:]}
    input_ids = {"1001", "1002", "1003", "1004", "1005"}
    assert input_ids <= set(body) and "1009" in body            # the download's ids, and the missing student
    assert body["1001"][:6] == ["Núñez, José", "1001", "S1001", "jnunez", "Sec A", "90"]
    assert body["1009"][5] == ""                                # no submission: not graded in Canvas
    assert body["1003"][5] == "100"

    assert main(["export", str(out), "--format", "csv", "--decimals", "1"]) == 0
    plain = list(csv.DictReader(io.StringIO((out / "gradebook-csv.csv").read_text(encoding="utf-8"))))
    jose_row = next(r for r in plain if r["id"] == "1001")
    assert jose_row["late_penalty"] == "10" and jose_row["total"] == "90" and jose_row["1a"] == "10"
    assert {r["max"] for r in plain} == class_max
    bob = next(r for r in plain if r["id"] == "1002")
    assert float(bob["total"]) == pytest.approx(round(by_id["1002"].score, 1))

    assert main(["export", str(out), "--format", "json", "--output", str(tmp_path / "g.json")]) == 0
    data = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    assert next(s for s in data["students"] if s["id"] == "1001")["total"] == 90


def test_gradescope_times_charge_late_days(tmp_path: Path, session):
    gradescope_export(tmp_path / "dl")
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", tmp_path / "dl")
    due = late.LatePolicy(due=datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc), penalty_per_day=20, cap=30)
    config = dataclasses.replace(session.config, late=due)
    report = batch.run_batch(archive, tmp_path / "out", config, session=session, progress=False)
    by_id = {r.student.id: r for r in report.results}
    assert by_id["A001"].late is None and by_id["A001"].score == pytest.approx(100)   # 06:10 UTC: on time
    bob = by_id["bob@uni.edu"]                                                          # 17:00 UTC next day
    assert bob.late.days == 2 and bob.late.percent == 30
    assert sum(q.score for q in bob.questions) * 0.7 == pytest.approx(bob.score)


def test_export_without_a_batch_is_a_usage_error(tmp_path: Path, capsys):
    assert main(["export", str(tmp_path), "--format", "canvas"]) == 2
    assert "results.json" in capsys.readouterr().err


def test_a_roster_run_graded_again_rewrites_nothing(tmp_path: Path, session):
    archive = canvas_zip(tmp_path / "submissions.zip")
    class_list = tmp_path / "gradebook.csv"
    class_list.write_text(CANVAS_ROSTER, encoding="utf-8")
    out = tmp_path / "out"
    batch.run_batch(archive, out, session.config, session=session, progress=False, roster=class_list)
    record = json.loads((student_folder(out, "núñezjosé_1001") / "batch.json").read_text(encoding="utf-8"))
    assert record["result"]["student"]["name"] == "Núñez, José"           # the roster's name, from the start
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("students/*/*") if p.is_file()}
    again = batch.run_batch(archive, out, session.config, session=session, progress=False, roster=class_list)
    assert again.graded == 0 and again.changed == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_canvas_export_of_a_plain_folder_warns_once(tmp_path: Path, session, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.py", "b.py"):
        (folder / name).write_text("x = 1\n", encoding="utf-8")
    out = tmp_path / "out"
    batch.run_batch(folder, out, session.config, session=session, progress=False)
    assert main(["export", str(out), "--format", "canvas", "--output", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning") == 1 and "2 rows have no Canvas id" in captured.err
    assert read_rows(captured.out)[2][:2] == ["a", ""]


def test_exporting_before_the_written_parts_are_scored_says_so(tmp_path: Path, session, capsys):
    """An instructor exporting grades while answered written parts still have no TA score uploaded
    totals without those points, and nothing said so (the seed's write-up: 7 answers, 35 points).
    Every format now warns, naming how many answers and students; once they are scored, it does not."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "seed_written.md", folder / "seed.md")
    (folder / "b.py").write_text("x = 1\n", encoding="utf-8")
    out = tmp_path / "out"
    batch.run_batch(folder, out, session.config, session=session, progress=False)
    for fmt in ("csv", "canvas", "json"):
        assert main(["export", str(out), "--format", fmt, "--output", str(tmp_path / f"g.{fmt}")]) == 0
        err = capsys.readouterr().err
        assert "7 answered written parts of 1 student have no TA score yet" in err, err
    scores = tmp_path / "scores.csv"
    parts = [w["id"] for w in json.loads((student_folder(out, "seed") / "result.json").read_text(encoding="utf-8"))["written"]]
    scores.write_text("".join(f"seed,{p},1,\n" for p in parts), encoding="utf-8")
    batch.run_batch(folder, out, session.config, session=session, progress=False, manual_scores=scores)
    assert main(["export", str(out), "--format", "csv", "--output", str(tmp_path / "g2.csv")]) == 0
    assert "no TA score" not in capsys.readouterr().err
