"""The way back: each LMS's grade-import file, read back as that LMS reads it, and its exports as rosters.

Sources (each rule below cites the one it follows):

* Moodle ``mod/assign/feedback/offline/importgradeslib.php`` and ``locallib.php``: the worksheet's
  columns are found by their header (``Identifier``, ``Grade``, ``Last modified (grade)``, and a
  feedback plug-in's name such as ``Feedback comments``); a row's user is the number left after
  ``strlen("Participant ")`` characters of its Identifier (``get_user_id_for_uniqueid``); an empty
  grade, a grade above the assignment's maximum, and a grade changed in Moodle more than 60 s after the
  row's ``Last modified (grade)`` (read with ``strtotime``) are skipped.
* Blackboard Learn "Uploading Grade Center items": the student's key is the Username; a column is
  matched by the ``|<id>`` ending its header (``HW3 [Total Pts: 100 Score] |12345``), else uploaded as a
  new text column; a .csv's every value is quoted; the Grade Center download is a tab-delimited
  ``.xls`` (UTF-16 with a byte-order mark) with ``Last Name, First Name, Username, Student ID, Last
  Access, Availability`` before the columns.
* Brightspace "Importing grades": ``OrgDefinedId`` and/or ``Username`` (its export writes each after a
  ``#``), ``<item> Points Grade``, ``End-of-Line Indicator``.
"""
from __future__ import annotations

import csv
import io
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from grader import export, lms
from grader.results import Problem, Result, Student
from test_lms_real import BOB, CAROL, blackboard_download, brightspace_zip, write

BROKEN = b"def broken(:\n"


def read_back(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def loaded(results: list[Result], top: float = 100.0) -> export.Loaded:
    out = export.Loaded(Path("results.json"), "HW3", top=top)
    out.results = lambda: iter(results)
    return out


def graded(name: str, score: float, student: Student | None, status: str = "graded", problems=()) -> Result:
    return Result(submission=name, status=status, score=score, max_score=100, student=student,
                  problems=list(problems))


# ------------------------------------------------------------------------------------------------
# Moodle: a download in, the grading worksheet out, imported as importgradeslib.php imports it


def moodle_import(text: str, participants: dict[str, str], maximum: float) -> dict[str, float]:
    """What Moodle's importer would set: participant id -> grade (its skips applied)."""
    grades = {}
    for row in read_back(text):
        uid = row["Identifier"][len("Participant "):]            # substr($idstr, strlen('Participant '))
        if uid not in participants or row["Grade"] == "":
            continue
        grade = float(row["Grade"])
        datetime.fromisoformat(row["Last modified (grade)"])        # a time strtotime() reads
        if 0 <= grade <= maximum:
            grades[uid] = grade
    return grades


def test_moodle_round_trip(tmp_path: Path, session, capsys):
    from grader import batch
    from grader.cli import main

    source = write(tmp_path / "moodle", {
        "José Núñez_3003_assignsubmission_file/hw3.py": CAROL,
        "Ada Lovelace_3001_assignsubmission_file/hw3.py": BROKEN,
        "Participant_3005_assignsubmission_file/hw3.py": CAROL,           # blind marking
    })
    archive = Path(shutil.make_archive(str(tmp_path / "CS101-HW3-77"), "zip", source))
    out = tmp_path / "out"
    report = batch.run_batch(archive, out, session.config, session=session, progress=False)
    scores = {r.student.id: r.score for r in report.results}
    capsys.readouterr()
    assert main(["export", str(out), "--format", "moodle"]) == 0
    err = capsys.readouterr().err
    text = (out / "gradebook-moodle.csv").read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    assert header[:7] == ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                          "Grade can be changed"]
    assert {"Last modified (grade)", "Feedback comments"} <= set(header)
    got = moodle_import(text, {"3001": "Ada", "3003": "José", "3005": "?"}, maximum=report.results[0].max_score)
    assert set(got) == {"3001", "3003", "3005"}
    assert all(got[uid] == pytest.approx(scores[uid], abs=0.005) for uid in got)
    rows = {r["Identifier"]: r for r in read_back(text)}
    assert rows["Participant 3003"]["Full name"] == "José Núñez"
    assert rows["Participant 3003"]["Feedback comments"].startswith("auto ")
    assert "Maximum grade" in err

    # the feedback files, read back as importziplib.php does: a path part split at `_` into at least four
    # fields, the second the participant id, the third and fourth the plug-in; the rest the file's path
    assert main(["export", str(out), "--format", "moodle-feedback"]) == 0
    import zipfile

    with zipfile.ZipFile(out / "moodle-feedback.zip") as z:
        given = {}
        for name in z.namelist():
            info = name.split("/")[0].split("_", 4)
            assert len(info) >= 4 and info[2:4] == ["assignfeedback", "file"], name
            given[info[1]] = z.read(name).decode()
    assert set(given) == {"3001", "3003", "3005"}
    assert "José" in given["3003"] and "<html" in given["3003"].lower()


def test_moodle_worksheet_leaves_out_what_moodle_cannot_match():
    """A team submission's id is the group's (Participant <group id> is another user, or nobody), a
    plain folder has no participant id, a grader failure is not the student's zero."""
    text, warnings = export.moodle(loaded([
        graded("Ada_3001", 80, Student("3001", "Ada", lms="moodle")),
        graded("Group_A_12", 70, Student("12", "Group A", lms="moodle"), problems=[Problem("lms-group", "team")]),
        graded("carl.py", 60, Student("carl.py", "carl.py", lms="folder")),
        graded("Eve_3009", 0, Student("3009", "Eve", lms="moodle"), status="error"),
        graded("Amy", 0, Student("amy", "Amy", lms="roster", on_roster=True), status="no-submission"),
    ]))
    assert [r["Identifier"] for r in read_back(text)] == ["Participant 3001"]
    said = "\n".join(warnings)
    assert "Group_A_12" in said and "carl.py" in said and "Eve_3009" in said and "Amy" not in said


def test_one_participant_twice_is_left_out_of_every_lms_file():
    results = [graded("Ada_3001", 80, Student("3001", "Ada", lms="moodle")),
               graded("Ada_3001-2", 20, Student("3001", "Ada", lms="moodle"))]
    text, warnings = export.moodle(loaded(results))
    assert read_back(text) == [] and any("3001 has 2 submissions" in w and "none of them" in w for w in warnings)
    text, warnings = export.blackboard(loaded([
        graded("a", 80, Student("ada", "Ada L", lms="blackboard")),
        graded("b", 20, Student("ada", "Ada L", lms="blackboard"))]), "HW3 [Total Pts: 100 Score] |7")
    assert read_back(text) == [] and any("ada has 2 submissions" in w for w in warnings)


# ------------------------------------------------------------------------------------------------
# Blackboard Learn: Assignment File Download in, Grade Center upload out; the Grade Center's own
# download (tab-delimited UTF-16 .xls) as the roster


def grade_center_xls(path: Path, rows: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-16"))          # with its byte-order mark, as Blackboard writes
    return path


def test_blackboard_round_trip_with_its_grade_center_as_roster(tmp_path: Path, session, capsys):
    from grader import batch
    from grader.cli import main

    column = "HW3 [Total Pts: 100 Score] |1234567"
    roster = grade_center_xls(tmp_path / "gc_CS101_fullgc_2026-03-02-09-00-00.xls", [
        ["Last Name", "First Name", "Username", "Student ID", "Last Access", "Availability", column],
        ["Lovelace", "Ada", "alovelace", "S001", "2026-03-01 23:00:00", "Yes", ""],
        ["Smith", "Bob", "bsmith", "S002", "2026-03-01 22:00:00", "Yes", ""],
        ["Núñez", "José", "jnunez", "S003", "", "Yes", ""],                       # handed nothing in
    ])
    archive = blackboard_download(tmp_path / "gradebook_CS101_HW3.zip", [
        ("Ada Lovelace", "alovelace", "HW3", "2026-03-01-23-59-00", "Sunday, March 1, 2026 11:59:00 PM EST",
         {"hw3.py": CAROL}),
        ("Bob Smith", "bsmith", "HW3", "2026-03-01-22-00-00", "Sunday, March 1, 2026 10:00:00 PM EST",
         {"hw3.py": BROKEN}),
        ("Mal Dropped", "mdropped", "HW3", "2026-03-01-21-00-00", "Sunday, March 1, 2026 9:00:00 PM EST",
         {"hw3.py": CAROL}),                                                      # not on the Grade Center
    ])
    out = tmp_path / "out"
    report = batch.run_batch(archive, out, session.config, session=session, progress=False, roster=roster)
    by_id = {r.student.id: r for r in report.results}
    assert set(by_id) == {"alovelace", "bsmith", "jnunez", "mdropped"}
    assert by_id["jnunez"].status == "no-submission" and by_id["jnunez"].student.name == "José Núñez"
    assert by_id["mdropped"].student.on_roster is False
    assert any(p.code == "roster-unknown" for p in by_id["mdropped"].problems)
    assert by_id["alovelace"].student.sis_id == "S001"

    capsys.readouterr()
    assert main(["export", str(out), "--format", "blackboard", "--assignment", column]) == 0
    err = capsys.readouterr().err
    text = (out / "gradebook-blackboard.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == '"Last Name","First Name","Username","HW3 [Total Pts: 100 Score] |1234567"'
    uploaded = {r["Username"]: r[column] for r in read_back(text)}      # matched by Username, column by its id
    assert uploaded["alovelace"] != "" and float(uploaded["alovelace"]) == pytest.approx(
        by_id["alovelace"].score, abs=0.005)
    assert float(uploaded["bsmith"]) < float(uploaded["alovelace"])
    # Blackboard would apply mdropped's row to the user mdropped, if enrolled: the download's username is
    # Blackboard's own; a student with nothing handed in has no row (nothing to send)
    assert set(uploaded) == {"alovelace", "bsmith", "mdropped"}
    assert "column id" not in err and "1 rows are for Blackboard users not on the roster" in err


def test_a_blackboard_column_without_its_id_is_said_to_make_a_new_column():
    results = [graded("a", 80, Student("ada", "Ada Lovelace", lms="blackboard"))]
    text, warnings = export.blackboard(loaded(results, top=135), "HW3")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["Last Name", "First Name", "Username", "HW3 [Total Pts: 135 Score]"],
                    ["Lovelace", "Ada", "ada", "80"]]
    assert any("new text column" in w for w in warnings)


# ------------------------------------------------------------------------------------------------
# Brightspace: the download names students by their displayed name only; its grade export, used as
# the roster, carries the OrgDefinedId and Username the import file needs


def brightspace_export(path: Path, rows: list[list[str]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["OrgDefinedId", "Username", "Last Name", "First Name", "Email",
                     "HW3 Points Grade <Numeric MaxPoints:100 Weight:10>", "End-of-Line Indicator"])
    writer.writerows([[f"#{org}", f"#{user}", last, first, email, "", "#"] for org, user, last, first, email in rows])
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    return path


def test_brightspace_round_trip_with_its_grade_export_as_roster(tmp_path: Path, session, capsys):
    from grader import batch
    from grader.cli import main

    roster = brightspace_export(tmp_path / "CS101_GradesExport_2026-03-02-09-00.csv", [
        ("0012345", "alovelace", "Lovelace", "Ada", "ada@example.edu"),
        ("0012346", "jsmith1", "Smith", "John", "js1@example.edu"),
        ("0012347", "jsmith2", "Smith", "John", "js2@example.edu"),          # two students, one name
        ("0012348", "bnobody", "Nobody", "Bea", "bea@example.edu"),          # handed nothing in
    ])
    archive = brightspace_zip(tmp_path / "HW3 Download Mar 2, 2026 900 AM.zip", {
        "index.html": b"<html></html>",
        "39786-640693 - Ada Lovelace - Mar 1, 2026 1159 PM/hw3.py": CAROL,
        "39787-640694 - John Smith - Mar 1, 2026 1130 AM/hw3.py": CAROL,
        "39788-640695 - John Smith - Mar 1, 2026 1131 AM/hw3.py": BROKEN,
    })
    out = tmp_path / "out"
    report = batch.run_batch(archive, out, session.config, session=session, progress=False, roster=roster)
    results = report.results
    assert len(results) == 6                        # Ada, both John Smiths' hand-ins, the two John Smiths, Bea
    ada = next(r for r in results if r.student.name == "Ada Lovelace")
    assert (ada.student.id, ada.student.login, ada.student.on_roster) == ("0012345", "alovelace", True)
    johns = [r for r in results if r.student.name == "John Smith" and r.status != "no-submission"]
    assert len(johns) == 2 and {r.student.on_roster for r in johns} == {False}
    assert all(any(p.code == "roster-same-name" and "0012346" in p.message and "0012347" in p.message
                   for p in r.problems) for r in johns)
    assert johns[0].score != johns[1].score                          # both graded, neither merged
    assert any(r.status == "no-submission" and r.student.id == "0012348" for r in results)
    # the two John Smiths are listed, each told that a hand-in under their name may be theirs
    for uid in ("0012346", "0012347"):
        (row,) = [r for r in results if r.student.id == uid]
        assert row.status == "no-submission" and any(p.code == "roster-same-name" for p in row.problems)

    capsys.readouterr()
    assert main(["export", str(out), "--format", "brightspace", "--assignment", "HW3"]) == 0
    err = capsys.readouterr().err
    text = (out / "gradebook-brightspace.csv").read_text(encoding="utf-8")
    rows = read_back(text)
    assert list(rows[0]) == ["OrgDefinedId", "Username", "HW3 Points Grade", "End-of-Line Indicator"]
    assert [(r["OrgDefinedId"], r["Username"], r["End-of-Line Indicator"]) for r in rows] == [
        ("#0012345", "#alovelace", "#")]
    assert float(rows[0]["HW3 Points Grade"]) == pytest.approx(ada.score, abs=0.005)
    assert "2 submissions have no Brightspace OrgDefinedId or Username" in err


def test_brightspace_folders_under_one_name_are_never_merged(tmp_path: Path):
    archive = brightspace_zip(tmp_path / "dl.zip", {
        "index.html": b"<html></html>",
        "39787-640694 - John Smith - Mar 1, 2026 1130 AM/hw3.py": CAROL,
        "39790-640701 - John Smith - Mar 1, 2026 1205 PM/hw3.ipynb": BOB,
        "39786-640693 - Ada Lovelace - Mar 1, 2026 1159 PM/hw3.py": CAROL,
    })
    intake = lms.read_intake(archive)
    johns = [f for f in intake.found if f.student.name == "John Smith"]
    assert sorted(f.student.id for f in johns) == ["39787-640694", "39790-640701"]
    assert len(set(lms.unique_names(intake.found))) == 3
    for f in johns:
        (note,) = [n for n in f.notes if n.code == "lms-same-name"]
        assert "39787-640694" in note.message and "39790-640701" in note.message and "newest is 39790" in note.message
    intake.source.close()


# ------------------------------------------------------------------------------------------------
# Moodle's grading worksheet as the roster


def test_moodle_grading_worksheet_as_roster(tmp_path: Path):
    from grader import roster

    path = tmp_path / "Grades-CS101-HW3-77.csv"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([
        ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
         "Last modified (submission)", "Last modified (grade)", "Feedback comments"],
        ["Participant 3001", "Ada Lovelace", "ada@example.edu", "Submitted for grading", "", "100.00", "Yes",
         "Sunday, 1 March 2026, 11:59 PM", "-", ""],
        ["Participant 3003", "José Núñez", "jose@example.edu", "No submission", "", "100.00", "Yes", "-", "-", ""],
    ])
    path.write_text(out.getvalue(), encoding="utf-8")
    entries = roster.read_roster(path)
    assert [(e.id, e.name, e.email) for e in entries] == [("3001", "Ada Lovelace", "ada@example.edu"),
                                                          ("3003", "José Núñez", "jose@example.edu")]
    found = roster.reconcile({"Ada_Lovelace_3001": Student("3001", "Ada Lovelace", lms="moodle"),
                              "Eve_3009": Student("3009", "Eve", lms="moodle")}, entries)
    assert list(found.matched) == ["Ada_Lovelace_3001"] and found.unknown == ["Eve_3009"]
    assert [e.id for e in found.missing] == ["3003"]


def test_a_bad_lms_export_row_is_a_clear_error(tmp_path: Path):
    from grader import roster

    path = tmp_path / "worksheet.csv"
    path.write_text("Identifier,Full name\nStudent 7,Ada\n", encoding="utf-8")
    with pytest.raises(roster.RosterError, match="line 2.*Participant <number>"):
        roster.read_roster(path)


# ------------------------------------------------------------------------------------------------
# One word for one state: the untouched template is "blank" in the class view, grades.csv and the export


def test_the_blank_template_is_blank_in_every_gradebook(tmp_path: Path, session, capsys):
    from grader import batch
    from grader.cli import main
    from grader.results import Standing

    folder = write(tmp_path / "class", {"tmpl.ipynb": (Path(__file__).resolve().parent.parent / "submissions" /
                                                       "template.ipynb").read_bytes(), "carol.py": CAROL})
    out = tmp_path / "out"
    batch.run_batch(folder, out, session.config, session=session, progress=False)
    grades = {r["student"]: r["status"] for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert grades == {"tmpl": Standing.BLANK.value, "carol": Standing.COUNTED.value}
    capsys.readouterr()
    assert main(["export", str(out), "--format", "csv", "--output", "-"]) == 0
    exported = {r["submission"]: r["status"] for r in read_back(capsys.readouterr().out)}
    assert exported == {"tmpl": "blank", "carol": "graded"}
    assert 'data-status="blank"' in (out / "summary.html").read_text() or ">blank<" in (out / "summary.html").read_text()


# ------------------------------------------------------------------------------------------------
# Moodle team submissions: before 4.1 a folder per member, `<group>-<full name>_<participant id>_`
# (locallib.php download_submissions); 4.1+ `<group name>_<group id>` (downloader.php), which looks like a
# participant's folder unless the "Default group" one is there


def test_moodle_before_4_1_team_folders_carry_the_group_before_the_member(tmp_path: Path):
    source = write(tmp_path / "moodle", {
        "Group A-Ada Lovelace_3001_assignsubmission_file_/hw3.py": CAROL,
        "Group A-Bob Smith-Jones_3002_assignsubmission_file_/hw3.py": CAROL,
        "Team-2-Mary-Jane Doe_3003_assignsubmission_file_/hw3.py": BROKEN,
        "Team-2-Li Wei_3004_assignsubmission_file_/hw3.py": BROKEN,
        "Default group-José Núñez_3005_assignsubmission_file_/hw3.py": CAROL,
    })
    intake = lms.read_intake(source)
    assert intake.format == lms.MOODLE and intake.skipped == []
    got = {f.student.id: f.student.name for f in intake.found}
    assert got == {"3001": "Ada Lovelace", "3002": "Bob Smith-Jones", "3003": "Mary-Jane Doe", "3004": "Li Wei",
                   "3005": "José Núñez"}
    notes = {f.student.id: [n.message for n in f.notes if n.code == "lms-team-member"] for f in intake.found}
    assert "'Group A'" in notes["3001"][0] and "'Team-2'" in notes["3003"][0] and "no group" in notes["3005"][0]
    # the id is the member's own participant id: the grade goes back to them
    results = [graded(f.student.name, 50, f.student, problems=f.notes) for f in intake.found]
    text, _ = export.moodle(loaded(results))
    assert sorted(r["Identifier"] for r in read_back(text)) == [f"Participant {i}" for i in range(3001, 3006)]


def test_a_moodle_4_team_folder_whose_id_is_a_participant_s_is_not_theirs(tmp_path: Path):
    """No "Default group" folder (every student in a group): `Group A_12` is read as a participant's
    folder; the grading worksheet as roster shows participant 12 is someone else, so it is not matched
    to them, and the worksheet back to Moodle leaves it out (Moodle would give Zoe the group's grade)."""
    from grader import course, roster

    path = tmp_path / "worksheet.csv"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([
        ["Identifier", "Full name", "Email address", "Status", "Grade"],
        ["Participant 12", "Zoe Zed", "zoe@example.edu", "", ""],
        ["Participant 3001", "Ada O'Brien_Lovelace", "ada@example.edu", "", ""],
    ])
    path.write_text(out.getvalue(), encoding="utf-8")
    source = write(tmp_path / "moodle", {
        "Group A_12_assignsubmission_file/hw3.py": CAROL,
        "Ada OBrien Lovelace_3001_assignsubmission_file/hw3.py": CAROL,     # clean_filename's doing
    })
    intake = lms.read_intake(source)
    names = lms.unique_names(intake.found)
    entries = roster.read_roster(path)
    found = roster.reconcile({n: f.student for n, f in zip(names, intake.found)}, entries)
    assert list(found.matched) == ["Ada_OBrien_Lovelace_3001"]
    assert list(found.not_theirs) == ["Group_A_12"] and [e.id for e in found.missing] == ["12"]
    student, notes = course._on_roster("Group_A_12", intake.found[0].student, found)
    assert student.on_roster is False and notes[0].code == "roster-not-participant" and "Zoe Zed" in notes[0].message
    text, warnings = export.moodle(loaded([graded("Group_A_12", 50, student, problems=notes)]))
    assert read_back(text) == [] and any("Group_A_12" in w for w in warnings)


def test_moodle_grade_export_as_roster_meets_the_download_by_name(tmp_path: Path, session):
    """grade/export/txt: `First name, Last name, ID number, Institution, Department, Email address,
    <items>, Last downloaded from this course`. No participant id: a hand-in meets its student by the
    name its folder shows (clean_filename's), when one student bears it; its participant id stays the
    key for the worksheet back to Moodle."""
    from grader import batch

    path = tmp_path / "CS101 Grades.csv"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([
        ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
         "Assignment: HW3 (Real)", "Last downloaded from this course"],
        ["Ada", "O'Brien", "S001", "", "", "ada@example.edu", "-", "1772400000"],
        ["José", "Núñez", "", "", "", "jose@example.edu", "-", "1772400000"],
        ["Bea", "Absent", "S003", "", "", "bea@example.edu", "-", "1772400000"],
        ["Li", "Wei", "S004", "", "", "li1@example.edu", "-", "1772400000"],
        ["Li", "Wei", "S005", "", "", "li2@example.edu", "-", "1772400000"],
    ])
    path.write_text(out.getvalue(), encoding="utf-8")
    source = write(tmp_path / "moodle", {
        "Ada OBrien_3001_assignsubmission_file/hw3.py": CAROL,
        "José Núñez_3003_assignsubmission_file/hw3.py": BROKEN,
        "Li Wei_3004_assignsubmission_file/hw3.py": CAROL,
        "Eve Extra_3009_assignsubmission_file/hw3.py": CAROL,
    })
    archive = Path(shutil.make_archive(str(tmp_path / "CS101-HW3-77"), "zip", source))
    report = batch.run_batch(archive, tmp_path / "out", session.config, session=session, progress=False, roster=path)
    by_name = {}
    for r in report.results:
        by_name.setdefault(r.student.name, []).append(r)
    (ada,) = by_name["Ada O'Brien"]
    assert (ada.student.id, ada.student.sis_id, ada.student.on_roster) == ("3001", "S001", True)
    (jose,) = by_name["José Núñez"]
    assert jose.student.id == "3003" and jose.student.email == "jose@example.edu"
    (bea,) = by_name["Bea Absent"]
    assert bea.status == "no-submission"
    lis = by_name["Li Wei"]                                   # two on the roster, one hand-in: matched to neither
    assert sorted(r.status for r in lis) == ["graded", "no-submission", "no-submission"]
    (eve,) = by_name["Eve Extra"]
    assert eve.student.on_roster is False
    text, warnings = export.moodle(loaded(report.results, top=ada.max_score))
    assert sorted(r["Identifier"] for r in read_back(text)) == ["Participant 3001", "Participant 3003"]
    said = "\n".join(warnings)
    assert "Eve" in said and "Li_Wei" in said


def test_a_brightspace_roster_with_one_key_field_gives_a_file_with_that_key_only():
    results = [graded("a", 80, Student("alovelace", "Ada Lovelace", lms="brightspace", login="alovelace",
                                       on_roster=True))]
    text, warnings = export.brightspace(loaded(results), "Homework 3")
    assert list(csv.reader(io.StringIO(text))) == [["Username", "Homework 3 Points Grade", "End-of-Line Indicator"],
                                                   ["#alovelace", "80", "#"]]
    assert any("'Homework 3'" in w and "Max. Points" in w for w in warnings)


def test_a_brightspace_name_meets_its_roster_whatever_its_unicode_form(tmp_path: Path):
    """A grade export saved on macOS may hold decomposed names (`Jose\\u0301`); the download's are composed."""
    import unicodedata

    from grader import roster

    path = brightspace_export(tmp_path / "grades.csv", [
        ("0012345", "jnunez", unicodedata.normalize("NFD", "Núñez"), unicodedata.normalize("NFD", "José"), "j@x")])
    found = roster.reconcile({"José_Núñez": Student("José Núñez", "José Núñez", lms="brightspace")},
                             roster.read_roster(path))
    assert [e.id for e in found.matched.values()] == ["0012345"]


def test_moodle_grading_worksheet_in_another_language_as_roster(tmp_path: Path):
    """Moodle writes the worksheet in the downloader's language: the header is get_string('recordid',
    'assign') ('Identificador' in es, 'ID' in de) and each Identifier is get_string('hiddenuser',
    'assign') and the participant id run together (gradingtable.php col_recordid), which is
    'Participante3001' in es and 'Teilnehmer/in3001' in de (their language packs' strings, without
    the English one's trailing space). Such a worksheet was refused as a roster ("line 1 must be a
    header naming the columns: id,name..."), so a class downloaded in Spanish could not be checked
    against its list. It is recognised by what Moodle's download always has: the record id first,
    every cell of it the same word followed by the participant id."""
    from grader import roster

    def worksheet(name: str, rows: list[list[str]]) -> Path:
        path = tmp_path / name
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
        return path

    spanish = worksheet("Calificaciones-es.csv", [
        ["Identificador", "Nombre completo", "Dirección de correo", "Estado", "Calificación",
         "Calificación máxima", "La calificación puede ser cambiada", "Última modificación (entrega)",
         "Última modificación (calificación)", "Comentarios de retroalimentación"],
        ["Participante3001", "Ada Lovelace", "ada@example.edu", "Enviado para calificar", "", "100,00", "Sí",
         "domingo, 1 de marzo de 2026, 23:59", "-", ""],
        ["Participante3003", "José Núñez", "jose@example.edu", "Sin entrega", "", "100,00", "Sí", "-", "-", ""],
    ])
    entries = roster.read_roster(spanish)
    assert [(e.id, e.name, e.email) for e in entries] == [("3001", "Ada Lovelace", "ada@example.edu"),
                                                          ("3003", "José Núñez", "jose@example.edu")]
    found = roster.reconcile({"Ada_Lovelace_3001": Student("3001", "Ada Lovelace", lms="moodle")}, entries)
    assert list(found.matched) == ["Ada_Lovelace_3001"] and [e.id for e in found.missing] == ["3003"]
    german = worksheet("Bewertungen-de.csv", [
        ["ID", "Vollständiger Name", "E-Mail-Adresse", "Status", "Bewertung"],
        ["Teilnehmer/in3001", "Ada Lovelace", "ada@example.edu", "Zur Bewertung abgegeben", ""],
    ])
    assert [(e.id, e.name) for e in roster.read_roster(german)] == [("3001", "Ada Lovelace")]
    english = worksheet("no-space.csv", [["Identifier", "Full name", "Status"], ["Participant3001", "Ada", "-"]])
    assert [e.id for e in roster.read_roster(english)] == ["3001"]     # a version whose string has no space
