"""LMS downloads and gradebooks built from the LMSs' own source code, not from our reading of it.

Sources (each rule below cites the one it follows):

* Moodle ``mod/assign/classes/downloader.php`` (4.1+): a folder per student and plug-in named
  ``clean_filename(<prefix> . '_' . <subtype> . '_' . <type>)`` -- *no* trailing underscore (Moodle
  3.1-4.0 wrote ``..._assignsubmission_file_``); ``<prefix>`` is ``fullname()`` with ``_`` replaced by
  a space, then ``_<participant id>`` (``get_uniqueid_for_user``), or ``Participant_<id>`` under blind
  marking. ``clean_filename`` (``PARAM_FILE``) deletes control characters and ``&<>"`|':\\/``.
* Canvas ``lib/gradebook_exporter.rb``: the header ``Student, ID, [SIS User ID,] SIS Login ID,
  [Integration ID,] Section, <title> (<id>)...``; ``SIS User ID`` only for a user allowed to see SIS
  data; optionally ``LastName, FirstName`` instead of ``Student``; a ``Manual Posting`` row before
  ``    Points Possible``; the test student last (``StudentViewEnrollment``); a student in several
  sections has them joined by ``to_sentence``; the user's CSV settings may choose ``;`` as the
  separator and add a byte-order mark.
* Canvas ``app/models/gradebook_importer.rb``: a row is matched by ``ID`` (an integer), else
  ``SIS User ID``, else ``SIS Login ID``, else by the exact name or sortable name; an assignment
  column is matched by the id in ``Title (id)``, else by its exact title, else a new assignment is
  created; grades of an assignment with unposted anonymous submissions are not imported.
"""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from batch_input import without_utf8_flag
from grader import lms

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
ALICE = (SUBMISSIONS / "alice_correct.ipynb").read_bytes()
BOB = (SUBMISSIONS / "bob_seed_mistakes.ipynb").read_bytes()
CAROL = (SUBMISSIONS / "carol_module.py").read_bytes()
DAVE = (SUBMISSIONS / "dave_broken.ipynb").read_bytes()


def write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


# ------------------------------------------------------------------------------------------------
# Moodle 4.1+ "Download all submissions" (mod/assign/classes/downloader.php)


MOODLE_41 = {
    # fullname() "Ada Lovelace", participant id 3001: a notebook, a stray PDF, an online text
    "Ada Lovelace_3001_assignsubmission_file/hw3.ipynb": ALICE,
    "Ada Lovelace_3001_assignsubmission_file/report.pdf": b"%PDF-1.4",
    "Ada Lovelace_3001_assignsubmission_onlinetext/onlinetext.html": b"<p>see my notebook</p>",
    # the same full name, another participant
    "Ada Lovelace_3002_assignsubmission_file/hw3.ipynb": BOB,
    # accents kept; "Mary_Jane" written "Mary Jane"; O'Brien's apostrophe deleted by clean_filename
    "José Núñez_3003_assignsubmission_file/hw3.ipynb": ALICE,
    "Mary Jane OBrien-Smith_3004_assignsubmission_file/work/hw3.py": CAROL,
    # blind marking
    "Participant_3005_assignsubmission_file/hw3.ipynb": BOB,
}


@pytest.mark.parametrize("as_zip", [False, True])
def test_moodle_4_folders_have_no_trailing_underscore(tmp_path: Path, as_zip: bool):
    source = write(tmp_path / "moodle", MOODLE_41)
    if as_zip:
        source = Path(shutil.make_archive(str(tmp_path / "CS101-HW3-77"), "zip", source))
    intake = lms.read_intake(source)
    assert intake.format == lms.MOODLE and intake.skipped == []
    by_id = {f.student.id: f for f in intake.found}
    assert {i: f.student.name for i, f in by_id.items()} == {
        "3001": "Ada Lovelace", "3002": "Ada Lovelace", "3003": "José Núñez",
        "3004": "Mary Jane OBrien-Smith", "3005": "Participant"}
    assert sorted(by_id["3001"].student.files) == ["hw3.ipynb", "onlinetext.html", "report.pdf"]
    assert by_id["3004"].student.files == ["work/hw3.py"]
    assert len(set(lms.unique_names(intake.found))) == 5          # two Ada Lovelaces, two folders
    intake.source.close()


# ------------------------------------------------------------------------------------------------
# The roster: Canvas gradebook exports as lib/gradebook_exporter.rb writes them


HEX_LOGIN = "3f786850e387550fdab836ed7e6dc881de23001b"       # the test student's login: hmac_sha1("Test Student_<id>")


def gradebook(path: Path, rows: list[list[str]], sep: str = ",", bom: bool = False) -> Path:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\r\n").writerows(rows)
    path.write_text(("\ufeff" if bom else "") + out.getvalue(), encoding="utf-8")
    return path


def test_canvas_gradebook_of_a_user_without_sis_rights(tmp_path: Path):
    """No `SIS User ID` column (a TA who may not see SIS data), a Manual Posting row, two sections."""
    from grader import roster

    path = gradebook(tmp_path / "gb.csv", [
        ["Student", "ID", "SIS Login ID", "Section", "HW3 (4242)", "Current Score"],
        ["", "", "", "", "Manual Posting", ""],
        ["    Points Possible", "", "", "", "135", "(read only)"],
        ["Núñez, José", "1001", "jnunez", "Sec A and Sec B", "", "90"],
        ["O'Brien, Seán", "1004", "sobrien", "Sec A", "", ""],
        ["Student, Test", "1999", HEX_LOGIN, "Sec A and Sec B", "", ""],
    ])
    entries = roster.read_roster(path)
    assert entries == [roster.RosterEntry("1001", "Núñez, José", "", "jnunez", "Sec A and Sec B"),
                       roster.RosterEntry("1004", "O'Brien, Seán", "", "sobrien", "Sec A")]


def test_canvas_gradebook_with_semicolons_a_bom_and_integration_ids(tmp_path: Path):
    """The user's CSV settings choose `;` (locales with a decimal comma) and a byte-order mark."""
    from grader import roster

    path = gradebook(tmp_path / "gb.csv", [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Root Account", "Section", "HW3 (4242)"],
        ["    Points Possible", "", "", "", "", "", "", "135"],
        ["Müller, Jörg", "1001", "S1001", "jmuller", "int-1", "school.instructure.com", "Sec A", "12,5"],
        ["Student, Test", "1999", "", HEX_LOGIN, "", "school.instructure.com", "Sec A", ""],
    ], sep=";", bom=True)
    assert roster.read_roster(path) == [roster.RosterEntry("1001", "Müller, Jörg", "S1001", "jmuller", "Sec A")]


def test_canvas_gradebook_with_last_and_first_name_columns(tmp_path: Path):
    """The "LastName, FirstName" option of the export; the test student in another language."""
    from grader import roster

    path = gradebook(tmp_path / "gb.csv", [
        ["LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Section", "HW3 (4242)"],
        ["    Points Possible", "", "", "", "", "", "135"],
        ["Lovelace", "Ada", "1001", "S1001", "alovelace", "Sec A", ""],
        ["Prueba", "Estudiante", "1999", "", HEX_LOGIN, "Sec A", ""],
    ])
    assert roster.read_roster(path) == [roster.RosterEntry("1001", "Lovelace, Ada", "S1001", "alovelace", "Sec A")]


# ------------------------------------------------------------------------------------------------
# The Canvas import file, read as app/models/gradebook_importer.rb reads it


def canvas_file(results, assignment=None, top=100.0):
    import csv
    import io

    from grader import export

    loaded = export.Loaded(Path("results.json"), "hw3", top=top)
    loaded.results = lambda: iter(results)
    text, warnings = export.canvas(loaded, assignment)
    rows = list(csv.reader(io.StringIO(text)))
    return rows, warnings


def graded(name: str, score: float, student):
    from grader.results import GRADED, Result

    return Result(submission=name, status="graded", score=score, max_score=100, student=student)


def test_anonymous_ids_are_not_canvas_user_ids(tmp_path: Path):
    """`anon_<id>` is no user id ("anon_x7Kq2".to_i is 0); Canvas imports no grade of an assignment
    whose anonymous submissions are not posted yet."""
    from grader.results import Student

    rows, warnings = canvas_file([graded("anon_x7Kq2", 80, Student(id="anon_x7Kq2", lms="canvas")),
                                  graded("anon_Zz9", 70, Student(id="anon_Zz9", lms="canvas"))], "HW3 (4242)")
    assert [r[1] for r in rows[2:]] == ["", ""]
    said = " ".join(warnings)
    assert "anonymous" in said and "SpeedGrader" in said


def test_one_student_twice_is_not_left_to_canvas_to_choose(tmp_path: Path):
    """Two rows with one ID: Canvas's importer keeps the last one read. Neither score is sent."""
    from grader.results import Student

    rows, warnings = canvas_file([
        graded("Nunez_Jose_1001", 90, Student(id="1001", name="Núñez, José", lms="gradescope", on_roster=True)),
        graded("Nunez_Jose_1001-2", 40, Student(id="1001", name="Núñez, José", lms="gradescope", on_roster=True)),
        graded("Lee_Carol_1003", 100, Student(id="1003", name="Lee, Carol", lms="canvas", on_roster=True)),
    ], "HW3 (4242)")
    scores = {(r[1], r[5]) for r in rows[2:]}
    assert scores == {("1001", ""), ("1003", "100")}
    said = " ".join(warnings)
    assert "1001" in said and "Nunez_Jose_1001-2" in said and "by hand" in said


def test_a_column_without_the_assignment_id_makes_a_new_assignment():
    from grader import export
    from grader.results import Student

    people = [graded("Lee_Carol_1003", 100, Student(id="1003", name="Lee, Carol", lms="canvas"))]
    rows, warnings = canvas_file(people)
    assert rows[0][5] == "hw3" and warnings == []
    note = export.column_note(rows[0][5])
    assert "new assignment" in note and "(12345)" in note
    rows, warnings = canvas_file(people, "HW3 (4242)")
    assert rows[0][5] == "HW3 (4242)" and warnings == [] and export.column_note(rows[0][5]) is None


def test_rows_the_roster_does_not_know_are_not_sent_to_canvas_to_match_by_name():
    """A Gradescope submission whose SID and e-mail are on no roster row: in the file, Canvas would
    look its SIS User ID and then its name up, and give the grade to whoever has that name."""
    from grader.results import Student

    rows, warnings = canvas_file([
        graded("Alice_Liddell_A001", 100, Student(id="A001", name="Alice Liddell", lms="gradescope", sis_id="A001",
                                                 on_roster=False)),
        graded("Lee_Carol_1003", 90, Student(id="1003", name="Lee, Carol", lms="gradescope", sis_id="C003",
                                             on_roster=True)),
    ], "HW3 (4242)")
    assert [r[:2] for r in rows[2:]] == [["Lee, Carol", "1003"]]
    assert any("Alice_Liddell_A001" in w and "not on the roster" in w for w in warnings)


# ------------------------------------------------------------------------------------------------
# Canvas "Download Submissions" (lib/content_zipper.rb), names made by Canvas's own rule


def canvas_download(path: Path, entries: list[tuple[str, bool, str, int, str, bytes]]) -> Path:
    """`entries`: (sortable name, late, user id or anon_<id>, attachment id, display name, bytes)."""
    import zipfile

    from tests.test_canvas_names import canvas_member

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for sortable, late, user, attachment, display, data in entries:
            z.writestr(canvas_member(sortable, late, user, attachment, display), data)
    return path


def test_canvas_names_from_real_sortable_names(tmp_path: Path):
    archive = canvas_download(tmp_path / "submissions.zip", [
        ("O'Brien, Seán", False, "1001", 9001, "hw3.ipynb", ALICE),
        ("Smith, Bob", True, "1002", 9002, "hw3.ipynb", BOB),            # two students called Bob Smith
        ("Smith, Bob", False, "1007", 9007, "HW3 final: v2.ipynb", ALICE),
        ("Nguyen 2nd, An", False, "1003", 9003, "hw3.py", CAROL),          # a digit in the name
        ("Lee_42_, Kim", False, "1004", 9004, "hw3.ipynb", ALICE),         # Canvas collapses _42_ to 42
        ("Smith-Jones, Ann", False, "1005", 9005, "hw3.ipynb", ALICE),
        ("Smith-Jones, Ann", False, "1005", 9006, "report.pdf", b"%PDF-1.4"),
        ("Ng, Tam", False, "1006", 9010, "hw3-1.ipynb", ALICE),            # a resubmission: only the new attempt
    ])
    intake = lms.read_intake(archive)
    assert intake.format == lms.CANVAS and intake.skipped == []
    got = {f.student.id: (f.student.name, f.student.late, f.student.files) for f in intake.found}
    assert got == {
        "1001": ("obrienseán", False, ["hw3.ipynb"]),
        "1002": ("smithbob", True, ["hw3.ipynb"]),
        "1007": ("smithbob", False, ["HW3 final_ v2.ipynb"]),
        "1003": ("nguyen2ndan", False, ["hw3.py"]),
        "1004": ("lee42kim", False, ["hw3.ipynb"]),
        "1005": ("smithjonesann", False, ["hw3.ipynb", "report.pdf"]),
        "1006": ("ngtam", False, ["hw3-1.ipynb"]),
    }
    names = lms.unique_names(intake.found)
    assert "smithbob_1002" in names and "smithbob_1007" in names


def test_a_stray_zip_beside_the_notebook_does_not_make_it_ambiguous(tmp_path: Path):
    """A student hands in hw3.ipynb, their report, and a zip of old attempts: the notebook they
    uploaded is graded; the zip is opened only when nothing gradable was uploaded beside it."""
    import io
    import zipfile

    from grader.load import pick_candidate

    backup = io.BytesIO()
    with zipfile.ZipFile(backup, "w") as z:
        z.writestr("old/hw3_v1.ipynb", BOB)
        z.writestr("old/helper.py", CAROL)
    archive = canvas_download(tmp_path / "submissions.zip", [
        ("Smith, Bob", False, "1002", 9002, "hw3.ipynb", ALICE),
        ("Smith, Bob", False, "1002", 9003, "report.docx", b"PK\x03\x04 not really"),
        ("Smith, Bob", False, "1002", 9004, "old attempts.zip", backup.getvalue()),
        ("Lee, Kim", False, "1004", 9005, "hw3.zip", backup.getvalue()),      # only a zip: opened
    ])
    intake = lms.read_intake(archive)
    staged = {s.student.id: s for s in lms.to_submissions(
        intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")}
    bob = staged["1002"]
    assert sorted(p.name for p in bob.path.iterdir()) == ["hw3.ipynb"]
    assert pick_candidate(bob.path)[0].name == "hw3.ipynb"
    assert any("old attempts.zip" in n.message and "not opened" in n.message for n in bob.notes)
    assert sorted(p.name for p in staged["1004"].path.iterdir()) == ["helper.py", "hw3_v1.ipynb"]


# ------------------------------------------------------------------------------------------------
# The round trip: a Canvas gradebook export as roster, a Canvas download, a Canvas import file


def test_canvas_round_trip_from_a_real_gradebook_export(tmp_path: Path, session, capsys):
    import csv
    import dataclasses
    import io
    from datetime import datetime, timezone

    from grader import batch, late
    from grader.cli import main

    class_list = gradebook(tmp_path / "2026-11-29T1200_Grades-CS101.csv", [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW2 (777)", "HW3 (4242)",
         "Current Score", "Unposted Current Score", "Final Score", "Unposted Final Score"],
        ["", "", "", "", "", "", "Manual Posting", "", "", "", ""],
        ["    Points Possible", "", "", "", "", "50", "100", "(read only)", "(read only)", "(read only)",
         "(read only)"],
        ["Núñez, José", "1001", "S1001", "jnunez", "Sec A and Sec B", "40", "", "80", "80", "40", "40"],
        ["Smith, Bob", "1002", "S1002", "bsmith", "Sec A", "30", "", "60", "60", "30", "30"],
        ["Smith, Bob", "1007", "S1007", "bsmith2", "Sec B", "35", "", "70", "70", "35", "35"],
        ["Absent, Amy", "1009", "S1009", "aabsent", "Sec B", "", "", "", "", "", ""],     # inactive: listed
        ["Student, Test", "1999", "", HEX_LOGIN, "Sec A and Sec B", "", "", "", "", "", ""],
    ], bom=True)
    archive = canvas_download(tmp_path / "cs101-hw3 submissions.zip", [
        ("Núñez, José", True, "1001", 9001, "hw3.py", CAROL),
        ("Smith, Bob", False, "1002", 9002, "hw3.py", CAROL),
        ("Smith, Bob", False, "1002", 9003, "report.pdf", b"%PDF-1.4"),
        ("Smith, Bob", False, "1007", 9004, "hw3.py", b"def broken(:\n"),
        ("Student, Test", False, "1999", 9005, "hw3.py", CAROL),             # Student View hand-in
        ("Doe, Jane", False, "1010", 9006, "hw3.py", CAROL),                 # enrolled after the export
    ])
    config = dataclasses.replace(session.config, late=late.LatePolicy(
        due=datetime(2026, 3, 2, 6, 59, tzinfo=timezone.utc), penalty_per_day=10))
    out = tmp_path / "out"
    report = batch.run_batch(archive, out, config, session=session, progress=False, roster=class_list)
    by_id = {r.student.id: r for r in report.results}
    assert set(by_id) == {"1001", "1002", "1007", "1009", "1999", "1010"}
    assert by_id["1001"].student.name == "Núñez, José" and by_id["1001"].student.section == "Sec A and Sec B"
    assert by_id["1001"].late.days == 1 and by_id["1001"].student.files == ["hw3.py"]
    assert by_id["1002"].student.files == ["hw3.py", "report.pdf"]
    assert by_id["1009"].status == "no-submission"
    assert by_id["1010"].student.on_roster is False and by_id["1999"].student.on_roster is False

    capsys.readouterr()
    assert main(["export", str(out), "--format", "canvas", "--assignment", "HW3 (4242)"]) == 0
    err = capsys.readouterr().err
    assert "note:" not in err
    assert "2 rows are for Canvas users not on the roster" in err and "doejane_1010" in err
    rows = list(csv.reader(io.StringIO((out / "gradebook-canvas.csv").read_text(encoding="utf-8"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW3 (4242)"]
    assert "Points Possible" in rows[1][0]
    body = {r[1]: r for r in rows[2:]}
    assert set(body) == {"1001", "1002", "1007", "1009", "1999", "1010"}      # every id a Canvas user id
    full = float(body["1002"][5])
    assert body["1001"][:5] == ["Núñez, José", "1001", "S1001", "jnunez", "Sec A and Sec B"]
    assert float(body["1001"][5]) == pytest.approx(full * 0.9)
    assert body["1009"][5] == "" and float(body["1007"][5]) < full


def test_a_canvas_group_hand_in_is_named_after_the_group(tmp_path: Path):
    """Assignment#representatives: on a group assignment Canvas's download holds one entry per group,
    under one member's user id but named after the group (its sortable_name is the group's name)."""
    from grader import course, roster

    archive = canvas_download(tmp_path / "submissions.zip", [
        ("Team 7: Ünïcode", False, "1002", 9002, "hw3.py", CAROL),          # Bob Smith hands in for Team 7
        ("Núñez, José", False, "1001", 9001, "hw3.py", CAROL),
        ("O'Brien, Seán", True, "1004", 9004, "hw3.py", CAROL),
    ])
    intake = lms.read_intake(archive)
    staged = lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")
    entries = [roster.RosterEntry("1001", "Núñez, José"), roster.RosterEntry("1002", "Smith, Bob"),
               roster.RosterEntry("1003", "Lee, Kim"), roster.RosterEntry("1004", "O'Brien, Seán")]
    matched = {s.student.id: s for s in course.match_submissions(staged, entries)}
    group = [n for n in matched["1002"].notes if n.code == "lms-canvas-group"]
    assert len(group) == 1 and "team7ünïcode" in group[0].message and "Smith, Bob" in group[0].message
    assert not any(n.code == "lms-canvas-group" for s in ("1001", "1004") for n in matched[s].notes)
    again = {s.student.id: s for s in course.match_submissions(list(matched.values()), entries)}
    assert [n.code for n in again["1002"].notes].count("lms-canvas-group") == 1      # said once


def test_a_late_penalty_is_not_taken_twice_without_a_word():
    """Canvas's Late Submission policy "will be applied to a submission when it is graded" (Canvas
    Guides, "How do I apply a Late Submission policy in the Gradebook?"): an imported score too."""
    from grader.results import Late, Student

    late = graded("Lee_Carol_1003", 90, Student(id="1003", name="Lee, Carol", lms="canvas", late=True))
    late.late = Late(due="2026-03-02T06:59:00+00:00", submitted_at="", days=1, percent=10, points=10)
    rows, warnings = canvas_file([late], "HW3 (4242)")
    assert rows[2][5] == "90"
    assert any("Late Submission policy" in w and "Lee_Carol_1003" in w for w in warnings)
    on_time = graded("Lee_Carol_1003", 100, Student(id="1003", name="Lee, Carol", lms="canvas", late=False))
    assert canvas_file([on_time], "HW3 (4242)")[1] == []


# ------------------------------------------------------------------------------------------------
# Gradescope "Export Submissions": the metadata as Ruby's YAML (Psych) writes symbol keys


GRADESCOPE_YML = """\
---
submission_201:
  :submitters:
  - :name: José Núñez
    :sid: 12345
    :email: jose@uni.edu
  :created_at: 2026-03-01 22:10:05.123456789 -08:00
  :score: 0.0
  :status: processed
  :results:
    :score: 0.0
    :tests: []
  :history:
  - :id: 150
    :created_at: 2026-02-28 10:00:00.000000000 -08:00
    :score: 0.0
    :autograder_score: 0.0
    :results: {}
submission_202:
  :submitters:
  - :name: Ann O'Neil
    :sid: '007'
    :email: ann@uni.edu
  - :name: Bo Li
    :email: bo@uni.edu
  :created_at: 2026-03-03 09:00:00.000000000 -08:00
  :score: 0.0
  :status: processed
  :history: []
"""


@pytest.mark.parametrize("as_zip", [False, True])
def test_gradescope_export_as_gradescope_writes_it(tmp_path: Path, as_zip: bool):
    base = write(tmp_path / "dl" / "assignment_4242_export", {
        "submission_201/hw3.ipynb": ALICE,
        "submission_201/answers.pdf": b"%PDF-1.4",
        "submission_202/hw3/hw3.py": CAROL,
        "submission_metadata.yml": GRADESCOPE_YML.encode(),
    })
    source = base.parent
    if as_zip:
        source = Path(shutil.make_archive(str(tmp_path / "submissions"), "zip", source))
    intake = lms.read_intake(source)
    assert intake.format == lms.GRADESCOPE and intake.skipped == []
    by_id = {f.student.id: f.student for f in intake.found}
    assert set(by_id) == {"12345", "007", "bo@uni.edu"}
    jose = by_id["12345"]
    assert (jose.name, jose.email, jose.submission_id) == ("José Núñez", "jose@uni.edu", "201")
    assert jose.submitted_at.startswith("2026-03-01T22:10:05.123456") and jose.submitted_at.endswith("-08:00")
    assert sorted(jose.files) == ["answers.pdf", "hw3.ipynb"]
    assert by_id["007"].name == "Ann O'Neil" and by_id["007"].files == ["hw3/hw3.py"]
    assert by_id["bo@uni.edu"].files == ["hw3/hw3.py"] and by_id["bo@uni.edu"].sis_id == ""
    intake.source.close()


def test_moodle_flat_files_without_folders(tmp_path: Path):
    """The "Download submissions in folders" option off: `clean_filename(<prefix>_<subtype>_<type>_<file>)`."""
    source = write(tmp_path / "moodle", {
        "José Núñez_3003_assignsubmission_file_hw3.ipynb": ALICE,
        "José Núñez_3003_assignsubmission_file_report.docx": b"PK\x03\x04",
        "José Núñez_3003_assignsubmission_onlinetext_onlinetext.html": b"<p>hi</p>",
        "Ann ONeil_3006_assignsubmission_file_hw3_final.py": CAROL,       # "_" in the file name is kept
    })
    intake = lms.read_intake(source)
    assert intake.format == lms.MOODLE and intake.skipped == []
    got = {f.student.id: (f.student.name, sorted(f.student.files)) for f in intake.found}
    assert got == {"3003": ("José Núñez", ["hw3.ipynb", "onlinetext.html", "report.docx"]),
                   "3006": ("Ann ONeil", ["hw3_final.py"])}


def test_an_anonymous_download_against_a_roster_says_why_nobody_matched(tmp_path: Path, session):
    from grader import batch

    class_list = gradebook(tmp_path / "gb.csv", [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW3 (4242)"],
        ["    Points Possible", "", "", "", "", "100"],
        ["Núñez, José", "1001", "S1001", "jnunez", "Sec A", ""],
        ["Smith, Bob", "1002", "S1002", "bsmith", "Sec A", ""],
    ])
    archive = canvas_download(tmp_path / "submissions.zip", [
        ("", False, "anon_x7Kq2", 9001, "hw3.py", CAROL), ("", True, "anon_Zz9pQ", 9002, "hw3.py", CAROL)])
    out = tmp_path / "out"
    report = batch.run_batch(archive, out, session.config, session=session, progress=False, roster=class_list)
    text = batch.describe(report, out)
    assert "anonymous grading" in text and "SpeedGrader" in text


def test_a_canvas_text_or_url_entry_says_what_it_is(tmp_path: Path):
    """content_zipper.rb: `online_text_entry` -> `<name>_<id>_text.html`, `online_url` -> `_link.html`."""
    import zipfile

    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("wangerin_LATE_1005_text.html", "<p>I typed my answers here</p>")
        z.writestr("kimlee_1006_link.html", "<meta http-equiv='refresh' content='0; url=https://colab.x/y'>")
        z.writestr("smithbob_1002_9002_hw3.py", CAROL)
    intake = lms.read_intake(archive)
    staged = {s.student.id: s for s in lms.to_submissions(
        intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")}
    text = [n.message for n in staged["1005"].notes if n.code == "lms-not-a-file"]
    link = [n.message for n in staged["1006"].notes if n.code == "lms-not-a-file"]
    assert text and "text entry" in text[0] and "by hand" in text[0]
    assert link and "website URL" in link[0]
    assert staged["1005"].student.late is True
    assert not any(n.code == "lms-not-a-file" for n in staged["1002"].notes)


def test_moodle_4_download_graded(tmp_path: Path, session):
    from grader import batch

    source = write(tmp_path / "moodle", {
        "José Núñez_3003_assignsubmission_file/hw3.py": CAROL,
        "José Núñez_3003_assignsubmission_file/report.pdf": b"%PDF-1.4",
        "Participant_3005_assignsubmission_file/hw3.py": b"def broken(:\n",
    })
    archive = Path(shutil.make_archive(str(tmp_path / "CS101-HW3-77"), "zip", source))
    report = batch.run_batch(archive, tmp_path / "out", session.config, session=session, progress=False)
    assert report.intake == lms.MOODLE
    by_id = {r.student.id: r for r in report.results}
    assert set(by_id) == {"3003", "3005"}
    assert by_id["3003"].student.name == "José Núñez" and by_id["3003"].submission == "José_Núñez_3003"
    assert by_id["3003"].score > by_id["3005"].score


def test_a_gradescope_email_meets_a_canvas_login_that_is_an_email():
    """Canvas's gradebook export has no e-mail column, but `SIS Login ID` is the e-mail address at
    many schools; Gradescope's `:sid:` is often blank."""
    from grader import roster
    from grader.results import Student

    entries = [roster.RosterEntry("1001", "Smith, Bob", "", "bob.smith@uni.edu", "Sec A"),
               roster.RosterEntry("1002", "Lee, Kim", "S1002", "klee", "Sec A")]
    found = roster.reconcile({
        "bob": Student(id="Bob.Smith@uni.edu", email="Bob.Smith@uni.edu", lms="gradescope"),
        "kim": Student(id="klee", email="", lms="gradescope"),          # a login that is no e-mail: no match
    }, entries)
    assert found.matched == {"bob": entries[0]}
    assert found.unknown == ["kim"]


def test_moodle_4_team_submissions_are_groups(tmp_path: Path):
    """downloader.php, team submissions: `<group name>_<group id>`, and for the students in no group
    `get_string('defaultteam')` ("Default group") with no id at all."""
    source = write(tmp_path / "moodle", {
        "Group A_12_assignsubmission_file/hw3.ipynb": ALICE,
        "Team Ünï 2_13_assignsubmission_file/hw3.ipynb": BOB,
        "Default group_assignsubmission_file/hw3.py": CAROL,
    })
    intake = lms.read_intake(source)
    assert intake.format == lms.MOODLE and intake.skipped == []
    got = {f.student.id: (f.student.name, f.student.files) for f in intake.found}
    assert got == {"12": ("Group A", ["hw3.ipynb"]), "13": ("Team Ünï 2", ["hw3.ipynb"]),
                   "Default group": ("Default group", ["hw3.py"])}
    assert sorted(lms.unique_names(intake.found)) == ["Default_group", "Group_A_12", "Team_Ünï_2_13"]
    for found in intake.found:
        (note,) = [n for n in found.notes if n.code == "lms-group"]
        assert "group" in note.message and "every member" in note.message


def test_a_canvas_name_quoted_against_formulas_is_read_back(tmp_path: Path):
    """gradebook_exporter.rb#student_name: a name starting with "=" is written `="<name>"`."""
    from grader import roster

    path = gradebook(tmp_path / "gb.csv", [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"],
        ["    Points Possible", "", "", "", ""],
        ['="=Ab, Cd"', "1001", "S1", "ab", "Sec A"],
    ])
    assert roster.read_roster(path)[0].name == "=Ab, Cd"


def test_rows_without_a_canvas_id_are_said_to_be_matched_by_sis_id_or_name():
    """Without a roster, a Gradescope row carries its SID as SIS User ID: Canvas looks that up, and
    then the exact name."""
    from grader.results import Student

    rows, warnings = canvas_file([graded("Alice_Liddell_A001", 100, Student(
        id="A001", name="Alice Liddell", lms="gradescope", sis_id="A001"))], "HW3 (4242)")
    assert rows[2][:3] == ["Alice Liddell", "", "A001"]
    assert len(warnings) == 1 and "SIS User ID, else by its exact name" in warnings[0]


# ------------------------------------------------------------------------------------------------
# nbgrader's course directory: `submitted/{student_id}/{assignment_id}/` (coursedir.py's
# directory_structure), each with the `timestamp.txt` that `nbgrader collect` copies from the
# exchange ("%Y-%m-%d %H:%M:%S.%f %Z", exchange.py's timestamp_format)


NBGRADER = {
    "alice/hw3/hw3.ipynb": ALICE,
    "alice/hw3/timestamp.txt": b"2026-03-01 22:10:05.123456 UTC",
    "alice/hw2/hw2.ipynb": BOB,                       # another assignment of the course: not this one
    "alice/hw2/timestamp.txt": b"2026-02-20 10:00:00.000000 UTC",
    "bob_2/hw3/hw3.ipynb": BOB,
    "bob_2/hw3/timestamp.txt": b"2026-03-03 09:00:00.000000 UTC",
    "carol/hw3/hw3.py": CAROL,
}


@pytest.mark.parametrize("as_zip", [False, True])
def test_nbgrader_submitted_folder(tmp_path: Path, as_zip: bool):
    source = write(tmp_path / "submitted", NBGRADER)
    if as_zip:
        source = Path(shutil.make_archive(str(tmp_path / "submitted"), "zip", tmp_path, "submitted"))
    intake = lms.read_intake(source, assignment="hw3")
    assert intake.format == lms.NBGRADER
    got = {f.student.id: (f.student.name, f.student.submitted_at, f.student.files) for f in intake.found}
    assert got == {"alice": ("alice", "2026-03-01T22:10:05.123456+00:00", ["hw3.ipynb"]),
                   "bob_2": ("bob_2", "2026-03-03T09:00:00+00:00", ["hw3.ipynb"]),
                   "carol": ("carol", "", ["hw3.py"])}
    intake.source.close()
    other = lms.read_intake(write(tmp_path / "other", NBGRADER), assignment="project")
    alice = next(f for f in other.found if f.student.id == "alice")
    assert alice.files == [] and "hw2, hw3" in alice.notes[0].message


def test_nbgrader_folder_graded_with_its_times(tmp_path: Path, session):
    import dataclasses
    from datetime import datetime, timezone

    from grader import batch, late

    source = write(tmp_path / "submitted", {
        "alice/hw3/hw3.py": CAROL, "alice/hw3/timestamp.txt": b"2026-03-01 12:00:00.000000 UTC",
        "alice/ps1/ps1.py": b"x = 1\n", "alice/ps1/timestamp.txt": b"2026-01-10 12:00:00.000000 UTC",
        "bob/hw3/hw3.py": CAROL, "bob/hw3/timestamp.txt": b"2026-03-03 12:00:00.000000 UTC",
    })
    config = dataclasses.replace(session.config, late=late.LatePolicy(
        due=datetime(2026, 3, 2, 6, 59, tzinfo=timezone.utc), penalty_per_day=10))
    report = batch.run_batch(source, tmp_path / "out", config, session=session, progress=False)
    assert report.intake == lms.NBGRADER
    by_id = {r.student.id: r for r in report.results}
    assert by_id["alice"].late is None and by_id["bob"].late.days == 2
    assert by_id["bob"].score == pytest.approx(by_id["alice"].score * 0.8)


def test_a_hand_in_with_nothing_to_grade_says_what_it_held(tmp_path: Path, session):
    """A Gradescope submission folder that is empty, a Canvas hand-in of a PDF only: the report names
    what was handed in, and never the grader's own staging folder."""
    from grader import batch

    base = write(tmp_path / "dl", {
        "submission_1/.keep": b"", "submission_2/hw3.pdf": b"%PDF-1.4", "submission_3/hw3.py": CAROL,
        "submission_metadata.yml": b"""\
submission_1:
  :submitters:
  - {":name": Empty Emma, ":sid": 'E1'}
submission_2:
  :submitters:
  - {":name": Pdf Pat, ":sid": 'P1'}
submission_3:
  :submitters:
  - {":name": Full Fred, ":sid": 'F1'}
"""})
    report = batch.run_batch(base, tmp_path / "out", session.config, session=session, progress=False)
    by_id = {r.student.id: r for r in report.results}
    emma, pat = by_id["E1"], by_id["P1"]
    said = {sid: " ".join(p.message for p in r.problems) for sid, r in (("E1", emma), ("P1", pat))}
    assert "no file" in said["E1"] and "hw3.pdf" in said["P1"]
    assert "000000" not in said["E1"] + said["P1"] and "000001" not in said["E1"] + said["P1"]
    assert by_id["F1"].score > 0


def test_a_canvas_name_of_digits_is_a_name_not_the_user_id(tmp_path: Path):
    """content_zipper.rb joins `[users_name, "LATE", id].compact`: users_name is nil only under
    anonymous grading (then the id is `anon_<id>`), so a numeric user id always follows a name and its
    `_`, even an empty one. A sortable name made of a student number ("20230017") or one that reads
    "late" is therefore a name: the first number after it is the user id, as Canvas's own re-upload
    parser (Assignment#infer_comment_context_from_filename) reads it."""
    archive = canvas_download(tmp_path / "submissions.zip", [
        ("20230017", False, "1001", 9001, "hw3.ipynb", ALICE),              # a student number as the name
        ("20230018", True, "1002", 9002, "hw3_v2.ipynb", ALICE),
        ("Late", False, "1003", 9003, "hw3.ipynb", ALICE),                   # a name, not the LATE flag
        ("", False, "1004", 9004, "hw3.ipynb", ALICE),                       # no name at all: "_1004_9004_..."
        ("!!!", True, "1005", 9005, "hw3.ipynb", ALICE),                     # a name of punctuation only
        ("", True, "anon_x7Kq2", 9006, "12_34_hw3.ipynb", ALICE),            # anonymous: no name before the id
    ])
    intake = lms.read_intake(archive)
    assert intake.format == lms.CANVAS and intake.skipped == []
    got = {f.student.id: (f.student.name, f.student.late, f.student.files, f.student.submission_id)
           for f in intake.found}
    assert got == {
        "1001": ("20230017", False, ["hw3.ipynb"], "9001"),
        "1002": ("20230018", True, ["hw3_v2.ipynb"], "9002"),
        "1003": ("late", False, ["hw3.ipynb"], "9003"),
        "1004": ("", False, ["hw3.ipynb"], "9004"),
        "1005": ("", True, ["hw3.ipynb"], "9005"),
        "anon_x7Kq2": ("", True, ["12_34_hw3.ipynb"], "9006"),
    }
    intake.source.close()


def test_a_canvas_upload_renamed_past_seven_times_is_still_an_older_upload(tmp_path: Path):
    """Attachment.make_unique_filename: `<stem>-1<ext>` ... `<stem>-7<ext>`, then `<stem>-<uuid><ext>`
    (`random_backup_name`, from the 8th attempt). The extension is Canvas's own
    `(\\.[A-Za-z][A-Za-z0-9]*)*(\\.[A-Za-z0-9]*)$`, so `hw3.v2.ipynb` is renamed `hw3-1.v2.ipynb`."""
    uuid = "0b6a4f1e-3c2d-4e5f-9a8b-7c6d5e4f3a2b"
    archive = canvas_download(tmp_path / "submissions.zip", [
        ("Ng, Tam", False, "1006", 9010, "hw3-7.ipynb", DAVE),
        ("Ng, Tam", False, "1006", 9011, f"hw3-{uuid}.ipynb", ALICE),       # the newest
        ("Ng, Tam", False, "1006", 9012, "hw3.v2-1.ipynb", BOB),            # not Canvas's renaming of hw3.v2.ipynb
        ("Ng, Tam", False, "1006", 9013, "hw3-1.v2.ipynb", BOB),
        ("Ng, Tam", False, "1006", 9014, "hw3.v2.ipynb", DAVE),
    ])
    (found,) = lms.read_intake(archive).found
    assert sorted(name for _, name in found.files) == ["hw3.ipynb", "hw3.v2-1.ipynb", "hw3.v2.ipynb"]
    graded = {name: member.path.split("_")[2] for member, name in found.files}
    assert graded == {"hw3.ipynb": "9011", "hw3.v2.ipynb": "9014", "hw3.v2-1.ipynb": "9012"}
    older = " ".join(n.message for n in found.notes if n.code == "lms-older-upload")
    assert "hw3-7.ipynb" in older and "hw3-1.v2.ipynb" in older


@pytest.mark.parametrize("lms_format", ["canvas", "moodle", "gradescope"])
def test_names_from_a_download_zipped_again_on_macos_are_nfc(tmp_path: Path, lms_format: str):
    """macOS file names are decomposed (NFD): a download unpacked and zipped again there names José
    `Jose\\u0301`. The names shown and the folders made are those of the download as the LMS wrote it."""
    import unicodedata
    import zipfile

    files = {"canvas": {"núñezjosé_1001_9001_hw3.ipynb": ALICE},
             "moodle": {"José Núñez_3003_assignsubmission_file/hw3.ipynb": ALICE},
             "gradescope": {"submission_metadata.yml": "submission_1:\n  :submitters:\n  - :name: José Núñez\n"
                                                       "    :sid: '7'\n".encode(),
                            "submission_1/hw3.ipynb": ALICE}}[lms_format]
    names = []
    for form in ("NFC", "NFD"):
        archive = tmp_path / f"{form}.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for name, data in files.items():
                z.writestr(unicodedata.normalize(form, name),
                           unicodedata.normalize(form, data.decode()).encode() if name.endswith(".yml") else data)
        intake = lms.read_intake(archive)
        assert intake.format == lms_format
        (found,) = intake.found
        assert unicodedata.is_normalized("NFC", found.student.name)
        names.append((found.student.name, lms.unique_names(intake.found)))
        intake.source.close()
    assert names[0] == names[1]


# ------------------------------------------------------------------------------------------------
# Blackboard Learn "Assignment File Download": `<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>`
# for the receipt (`.txt`) and, with `_<original file name>`, for each file of the attempt


def blackboard_receipt(name: str, user: str, assignment: str, when: str, files: list[tuple[str, str]],
                       text: str = "There is no student submission text data for this assignment.") -> bytes:
    listed = "".join(f"\tOriginal filename: {orig}\n\tFilename: {stored}\n" for orig, stored in files)
    return (f"Name: {name} ({user})\nAssignment: {assignment}\nDate Submitted: {when}\nCurrent Grade: Needs Grading\n\n"
            f"Submission Field:\n{text}\n\nComments:\nThere are no student comments for this assignment.\n\n"
            f"Files:\n{listed}\n").encode()


def blackboard_download(path: Path, attempts: list[tuple[str, str, str, str, str, dict[str, bytes]]]) -> Path:
    """(full name, username, assignment, attempt stamp, receipt's time, {original name: bytes}) per attempt."""
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for name, user, assignment, stamp, when, files in attempts:
            key = f"{assignment}_{user}_attempt_{stamp}"
            stored = [(orig, f"{key}_{orig.replace(' ', '_')}") for orig in files]
            typed = {"text": "<p>typed into the Submission Field</p>"} if not files else {}
            z.writestr(f"{key}.txt", blackboard_receipt(name, user, assignment, when, stored, **typed))
            for (orig, member), data in zip(stored, files.values()):
                z.writestr(member, data)
    return path


def test_blackboard_assignment_file_download(tmp_path: Path):
    hw = "HW_3 RNN"                                          # an assignment name with `_` and a space
    archive = blackboard_download(tmp_path / "gradebook_CS101_HW_3_RNN_2026-03-02-09-00-00.zip", [
        ("Ada Lovelace", "alovelace", hw, "2026-03-01-23-59-00", "Sunday, March 1, 2026 11:59:00 PM EST",
         {"hw3.ipynb": ALICE, "helper notes.md": b"notes"}),
        ("Mary_Jane Watson", "mj_watson", hw, "2026-03-01-20-00-00", "Sunday, March 1, 2026 8:00:00 PM EST",
         {"hw3.ipynb": DAVE}),
        ("Mary_Jane Watson", "mj_watson", hw, "2026-03-02-08-30-00", "Monday, March 2, 2026 8:30:00 AM EST",
         {"hw3.ipynb": BOB}),                               # "all attempts": the newest is graded
        ("José (Pepe) Núñez", "jnunez", hw, "2026-03-01-12-00-00", "Sunday, March 1, 2026 12:00:00 PM CST",
         {"hw3.py": CAROL}),                                # CST: US Central or China? not guessed
        ("Kim Lee", "klee", hw, "2026-03-01-10-00-00", "Sunday, March 1, 2026 10:00:00 AM EST", {}),
    ])
    intake = lms.read_intake(archive)
    assert intake.format == "blackboard" and intake.skipped == []
    by_id = {f.student.id: f for f in intake.found}
    assert set(by_id) == {"alovelace", "mj_watson", "jnunez", "klee"}
    ada = by_id["alovelace"].student
    assert (ada.name, sorted(ada.files), ada.submitted_at) == ("Ada Lovelace", ["helper notes.md", "hw3.ipynb"],
                                                                "2026-03-01T23:59:00-05:00")
    mj = by_id["mj_watson"]
    assert mj.student.name == "Mary_Jane Watson" and mj.student.submission_id == "2026-03-02-08-30-00"
    assert mj.files[0][0].path.endswith("2026-03-02-08-30-00_hw3.ipynb")
    assert any(n.code == "lms-older-upload" and "2026-03-01-20-00-00" in n.message for n in mj.notes)
    jose = by_id["jnunez"]
    assert jose.student.name == "José (Pepe) Núñez" and jose.student.submitted_at == ""
    assert any(n.code == "lms-time-unknown" and "CST" in n.message for n in jose.notes)
    assert [n.code for n in by_id["klee"].notes] == ["lms-not-a-file"]
    staged = {s.student.id: s for s in lms.to_submissions(intake, list(zip(lms.unique_names(intake.found),
                                                                            intake.found)), tmp_path / "st")}
    assert sorted(p.name for p in staged["alovelace"].path.iterdir()) == ["helper notes.md", "hw3.ipynb"]
    assert (staged["mj_watson"].path / "hw3.ipynb").read_bytes() == BOB
    intake.source.close()


def test_a_blackboard_attempt_without_its_receipt_is_still_its_student(tmp_path: Path):
    """The username comes from the file name then: what follows the assignment name the receipts give."""
    import zipfile

    archive = blackboard_download(tmp_path / "gradebook.zip", [
        ("Ada Lovelace", "alovelace", "HW_3", "2026-03-01-23-59-00", "Sunday, March 1, 2026 11:59:00 PM UTC",
         {"hw3.ipynb": ALICE})])
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("HW_3_mj_watson_attempt_2026-03-01-22-00-00_hw3_final_2026-03-01-21-00-00.ipynb", BOB)
    intake = lms.read_intake(archive)
    by_id = {f.student.id: f for f in intake.found}
    assert set(by_id) == {"alovelace", "mj_watson"}
    assert by_id["alovelace"].student.submitted_at == "2026-03-01T23:59:00+00:00"
    assert by_id["mj_watson"].student.files == ["hw3_final_2026-03-01-21-00-00.ipynb"]
    assert [n.code for n in by_id["mj_watson"].notes] == ["lms-time-unknown"]
    intake.source.close()


def test_a_blackboard_download_graded(tmp_path: Path, session):
    from grader import batch

    archive = blackboard_download(tmp_path / "gradebook.zip", [
        ("Ada Lovelace", "alovelace", "HW3", "2026-03-01-23-59-00", "Sunday, March 1, 2026 11:59:00 PM EST",
         {"hw3.ipynb": ALICE}),
        ("Bob Smith", "bsmith", "HW3", "2026-03-01-22-00-00", "Sunday, March 1, 2026 10:00:00 PM EST",
         {"hw3.py": b"def broken(:\n"}),
    ])
    report = batch.run_batch(archive, tmp_path / "out", session.config, session=session, progress=False)
    assert report.intake == "blackboard"
    by_id = {r.student.id: r for r in report.results}
    assert set(by_id) == {"alovelace", "bsmith"}
    assert by_id["alovelace"].score > by_id["bsmith"].score
    assert by_id["alovelace"].submission == "Ada_Lovelace_alovelace"


# ------------------------------------------------------------------------------------------------
# Brightspace (D2L) "Download": `<n>-<n> - <Full Name> - <Mon D, YYYY HMM AM>/<file>` and index.html,
# names in UTF-8 without the zip's UTF-8 flag; older versions: flat files with ` - <file>` after the date


def brightspace_zip(path: Path, entries: dict[str, bytes], utf8_flag: bool = False) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            z.writestr(info, data)
    if not utf8_flag:                       # as D2L writes them: UTF-8 bytes, flag 11 not set
        path.write_bytes(without_utf8_flag(path.read_bytes()))
    return path


@pytest.mark.parametrize("flat", [False, True])
def test_brightspace_download(tmp_path: Path, flat: bool):
    sep = " - " if flat else "/"
    archive = brightspace_zip(tmp_path / "HW3 Download Mar 2, 2026 900 AM.zip", {
        "index.html": b"<html><table><tr><td>Ada Lovelace</td></tr></table></html>",
        f"39786-640693 - Ada Lovelace - Mar 1, 2026 1159 PM{sep}hw3.ipynb": ALICE,
        f"39786-640693 - Ada Lovelace - Mar 1, 2026 1159 PM{sep}helper.py": CAROL,
        f"39790-640701 - José Núñez-Smith - Feb 28, 2026 926 AM{sep}hw3.ipynb": DAVE,
        f"39801-640744 - José Núñez-Smith - Mar 1, 2026 1205 PM{sep}hw3.ipynb": BOB,   # handed in again: graded
        f"39802-640750 - Team 7 - Mar 1, 2026 100 PM{sep}hw3.py": CAROL,              # a group assignment
    })
    intake = lms.read_intake(archive)
    assert intake.format == "brightspace" and intake.skipped == []
    by_id = {f.student.id: f for f in intake.found}
    # José's two folders: his two submissions, or two students named so; the download cannot tell, so
    # both are graded, neither merged, each flagged (tests/test_lms_export.py)
    assert set(by_id) == {"Ada Lovelace", "39790-640701", "39801-640744", "Team 7"}
    assert sorted(by_id["Ada Lovelace"].student.files) == ["helper.py", "hw3.ipynb"]
    jose = by_id["39801-640744"]
    assert jose.student.name == "José Núñez-Smith" and jose.files[0][0].path.startswith("39801-640744")
    assert any(n.code == "lms-same-name" and "39790-640701" in n.message for n in jose.notes)
    # the folder's time as Brightspace wrote it: a wall clock with no zone ([late] zone says which)
    assert by_id["Ada Lovelace"].student.submitted_at == "2026-03-01T23:59:00"
    intake.source.close()


def test_brightspace_times_meet_the_due_date_in_the_courses_time_zone_across_dst(tmp_path: Path):
    """Brightspace's download names each submission's time on the downloader's wall clock, with no
    zone (`Mar 16, 2026 1210 AM`), and a `due` written with a fixed offset is an hour off for half
    the year where clocks change: Toronto is -05:00 until 8 March 2026 and -04:00 after. The late
    policy had no way to say which zone either is in, so no Brightspace hand-in was ever charged,
    and nothing said why. `[late] zone` (an IANA name) places a `due` without an offset and the
    LMS's zoneless times in that zone, each with the offset in force on its day; without it such a
    time is not used, and the report says how to set it."""
    from zoneinfo import ZoneInfo

    from grader import late
    from grader.results import GRADED, Result

    archive = brightspace_zip(tmp_path / "d.zip", {
        "index.html": b"<html></html>",
        "40001-650001 - Ada Lovelace - Mar 15, 2026 1150 PM/hw3.ipynb": ALICE,      # 9 min early (EDT)
        "40002-650002 - Grace Hopper - Mar 16, 2026 1210 AM/hw3.ipynb": ALICE,      # 11 min late
        "40003-650003 - Alan Turing - Mar 17, 2026 1210 AM/hw3.ipynb": ALICE,       # a day and 11 min late
    })
    intake = lms.read_intake(archive)
    by_name = {f.student.name: f.student for f in intake.found}
    intake.source.close()
    policy = late.parse({"due": "2026-03-15T23:59:00", "zone": "America/Toronto", "penalty_per_day": 10})
    assert policy.due.utcoffset().total_seconds() == -4 * 3600                      # EDT, not EST
    winter = late.parse({"due": "2026-01-15T23:59:00", "zone": "America/Toronto"})
    assert winter.due.utcoffset().total_seconds() == -5 * 3600
    assert policy.due == datetime(2026, 3, 15, 23, 59, tzinfo=ZoneInfo("America/Toronto"))
    days = {name: (late.assess(policy, s, 10.0) or None) for name, s in by_name.items()}
    assert days["Ada Lovelace"] is None
    assert (days["Grace Hopper"].days, days["Alan Turing"].days) == (1, 2)
    assert days["Grace Hopper"].submitted_at == "2026-03-16T00:10:00-04:00"
    # no zone: the zoneless time is not guessed (as UTC it would make Ada 4 hours late); the report says why
    bare = late.parse({"due": "2026-03-16T03:59:00Z", "penalty_per_day": 10})
    result = late.apply(Result(submission="ada", status=GRADED, score=10.0, max_score=10.0,
                               student=by_name["Ada Lovelace"]), bare)
    assert result.late is None and result.score == 10.0
    assert any(p.code == "late-time-unknown" and "[late] zone" in p.message for p in result.problems)
    with pytest.raises(late.LatePolicyError, match="zone"):
        late.parse({"due": "2026-03-15T23:59:00", "zone": "Mars/Olympus_Mons"})


def test_a_brightspace_download_unpacked_and_zipped_again(tmp_path: Path, session):
    from grader import batch

    archive = brightspace_zip(tmp_path / "again.zip", {
        "HW3/index.html": b"<html></html>",
        "HW3/39786-640693 - Ada Lovelace - Mar 1, 2026 1159 PM/hw3.ipynb": ALICE,
        "HW3/39787-640694 - Bob Smith - Mar 1, 2026 1130 AM/hw3.py": b"def broken(:\n",
        "__MACOSX/HW3/._index.html": b"\x00",
    }, utf8_flag=True)
    report = batch.run_batch(archive, tmp_path / "out", session.config, session=session, progress=False)
    assert report.intake == "brightspace" and report.skipped == []
    by_id = {r.student.id: r for r in report.results}
    assert set(by_id) == {"Ada Lovelace", "Bob Smith"}
    assert by_id["Ada Lovelace"].score > by_id["Bob Smith"].score


def test_zone_abbreviations_are_read_in_the_courses_time_zone(tmp_path: Path):
    """nbgrader writes timestamp.txt in its exchange's zone (exchange.py set_timestamp:
    `datetime.now(gettz(self.timezone)).strftime("%Y-%m-%d %H:%M:%S.%f %Z")`), so a course with
    c.Exchange.timezone = "America/Chicago" has stamps ending "CST"/"CDT"; Blackboard's receipt
    ends with the server's abbreviation, and "CST" is US Central or China Standard Time. Such
    times were never used (no late penalty, a note). With `[late] zone` they are read when that
    zone's own abbreviation at that moment is the one written (never a guess between two zones);
    an abbreviation that zone does not use stays unknown."""
    nbgrader = write(tmp_path / "submitted", {
        "ann/hw3/hw3.ipynb": ALICE, "ann/hw3/timestamp.txt": b"2026-03-15 23:50:00.000000 CDT",
        "ben/hw3/hw3.ipynb": ALICE, "ben/hw3/timestamp.txt": b"2026-01-15 23:50:00.000000 CST",
        "cat/hw3/hw3.ipynb": ALICE, "cat/hw3/timestamp.txt": b"2026-03-15 23:50:00.000000 IST",
    })
    intake = lms.read_intake(nbgrader, assignment="hw3", zone="America/Chicago")
    got = {f.student.id: f.student.submitted_at for f in intake.found}
    assert got == {"ann": "2026-03-15T23:50:00-05:00", "ben": "2026-01-15T23:50:00-06:00", "cat": ""}
    assert [f.student.submitted_at for f in lms.read_intake(nbgrader, assignment="hw3").found] == ["", "", ""]
    archive = blackboard_download(tmp_path / "gradebook_CS101_HW3_2026-03-02-09-00-00.zip", [
        ("José Núñez", "jnunez", "HW3", "2026-03-01-12-00-00", "Sunday, March 1, 2026 12:00:00 PM CST",
         {"hw3.py": CAROL}),
    ])
    (jose,) = lms.read_intake(archive, zone="America/Chicago").found
    assert jose.student.submitted_at == "2026-03-01T12:00:00-06:00" and not jose.notes
    (far,) = lms.read_intake(archive, zone="Asia/Shanghai").found       # China Standard Time is CST too
    assert far.student.submitted_at == "2026-03-01T12:00:00+08:00"
    (unsure,) = lms.read_intake(archive, zone="Europe/Paris").found
    assert unsure.student.submitted_at == "" and "[late] zone" in unsure.notes[0].message
    unsure_source = lms.read_intake(archive)
    assert unsure_source.found[0].student.submitted_at == ""
    unsure_source.source.close()
