"""LMS bulk downloads as batch input: each format built here from its documented naming rules.

Canvas "Download Submissions" (lib/content_zipper.rb): `<sortable name, word chars, lower>[_LATE]_
<user id | anon_<id>>_<attachment id>_<display name>`, re-uploads renamed `<stem>-N<ext>`, text entries
`<...>_<user id>_text.html`. Gradescope "Export Submissions": `submission_<id>/` folders and a
`submission_metadata.yml` of `:submitters:` (`:name:`, `:sid:`, `:email:`) and `:created_at:`.
Moodle "Download all submissions": `<Full Name>_<participant id>_assignsubmission_file_/<file>`.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from grader import batch, lms
from grader.results import GRADED, UNREADABLE
from batch_output import student_folder

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
ALICE = (SUBMISSIONS / "alice_correct.ipynb").read_bytes()
BOB = (SUBMISSIONS / "bob_seed_mistakes.ipynb").read_bytes()
CAROL = (SUBMISSIONS / "carol_module.py").read_bytes()
DAVE = (SUBMISSIONS / "dave_broken.ipynb").read_bytes()


def make_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def canvas_zip(path: Path) -> Path:
    """A Canvas download: a late student with a Unicode name, a re-upload, two files, anonymous, text entry."""
    return make_zip(path, {
        "núñezjosé_LATE_1001_5001_hw3.ipynb": ALICE,
        "smithbob_1002_5002_hw3.ipynb": DAVE,           # first upload (broken) ...
        "smithbob_1002_5010_hw3-1.ipynb": BOB,          # ... re-uploaded: Canvas adds -1; this one counts
        "leecarol_1003_5003_hw3.py": CAROL,
        "leecarol_1003_5004_notes.txt": b"my notes",
        "o_brien_late_1004_5020_model-2.py": CAROL,     # older Canvas: lower-case late; a name with _ ; -2 alone
        "wangerin_1005_text.html": b"<p>I typed it</p>",
        "__MACOSX/._núñezjosé_LATE_1001_5001_hw3.ipynb": b"\x00",
    })


# ------------------------------------------------------------------------------------------------
# Reading the formats (nothing graded)


def test_canvas_names_are_read_by_the_rules(tmp_path: Path):
    intake = lms.read_intake(canvas_zip(tmp_path / "submissions.zip"))
    assert intake.format == lms.CANVAS and intake.skipped == []
    by_id = {f.student.id: f for f in intake.found}
    assert set(by_id) == {"1001", "1002", "1003", "1004", "1005"}
    jose = by_id["1001"].student
    assert (jose.name, jose.late, jose.files, jose.submission_id) == ("núñezjosé", True, ["hw3.ipynb"], "5001")
    bob = by_id["1002"]
    assert [name for _, name in bob.files] == ["hw3.ipynb"]
    assert bob.files[0][0].path.endswith("_5010_hw3-1.ipynb") and bob.student.late is False
    assert any(n.code == "lms-older-upload" and "hw3-1.ipynb" in n.message for n in bob.notes)
    assert sorted(name for _, name in by_id["1003"].files) == ["hw3.py", "notes.txt"]
    obrien = by_id["1004"].student
    assert (obrien.name, obrien.late, obrien.files) == ("o_brien", True, ["model-2.py"])
    assert by_id["1005"].student.files == ["text.html"]


def test_canvas_anonymous_grading(tmp_path: Path):
    intake = lms.read_intake(make_zip(tmp_path / "a.zip", {"anon_x7Kq2_5005_hw3.ipynb": ALICE,
                                                            "LATE_anon_Zz9_5006_hw3.py": CAROL}))
    assert intake.format == lms.CANVAS
    assert {(f.student.id, f.student.name, f.student.late) for f in intake.found} == {
        ("anon_x7Kq2", "", False), ("anon_Zz9", "", True)}


def gradescope_export(root: Path) -> Path:
    base = root / "assignment_4242_export"
    (base / "submission_101").mkdir(parents=True)
    (base / "submission_101" / "hw3.ipynb").write_bytes(ALICE)
    (base / "submission_102" / "work").mkdir(parents=True)
    (base / "submission_102" / "work" / "hw3.ipynb").write_bytes(BOB)
    (base / "submission_103").mkdir()
    (base / "submission_103" / "hw3.py").write_bytes(CAROL)
    (base / "submission_999").mkdir()                       # a folder the metadata does not list
    (base / "submission_999" / "hw3.py").write_bytes(CAROL)
    (base / "submission_metadata.yml").write_text("""\
submission_101:
  :submitters:
  - :name: Alice Liddell
    :sid: 'A001'
    :email: alice@uni.edu
  :created_at: 2026-03-01 22:10:05.123456000 -08:00
  :score: 0.0
  :status: Processed
submission_102:
  :submitters:
  - :name: Bob Stone
    :sid: ''
    :email: bob@uni.edu
  - :name: Eve Stone
    :sid: 'E005'
    :email: eve@uni.edu
  :created_at: 2026-03-03 09:00:00.000000000 -08:00
submission_103:
  :submitters:
  - :name: "Carol !!python/object:os.system"
    :sid: 'C003'
  :created_at: 2026-03-01 12:00:00 -08:00
""", encoding="utf-8")
    return base


def test_gradescope_metadata_is_read_safely(tmp_path: Path):
    folder = gradescope_export(tmp_path / "dl")
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", tmp_path / "dl")
    for source in (folder.parent, Path(archive)):
        intake = lms.read_intake(source)
        assert intake.format == lms.GRADESCOPE
        by_id = {f.student.id: f.student for f in intake.found}
        assert set(by_id) == {"A001", "bob@uni.edu", "E005", "C003"}      # SID, else e-mail; a group is two
        alice = by_id["A001"]
        assert alice.name == "Alice Liddell" and alice.submission_id == "101" and alice.email == "alice@uni.edu"
        assert alice.submitted_at.startswith("2026-03-01T22:10:05") and alice.submitted_at.endswith("-08:00")
        assert by_id["E005"].files == ["work/hw3.ipynb"]
        assert by_id["C003"].name == "Carol !!python/object:os.system"      # a string, never a tag
        assert any("submission_999" in s for s in intake.skipped)
        intake.source.close()


def test_gradescope_metadata_with_a_python_tag_is_refused(tmp_path: Path):
    folder = tmp_path / "dl"
    (folder / "submission_1").mkdir(parents=True)
    (folder / "submission_1" / "hw3.py").write_bytes(CAROL)
    (folder / "submission_metadata.yml").write_text("submission_1: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(lms.IntakeError, match="not valid YAML"):
        lms.read_intake(folder)


def moodle_folder(root: Path) -> Path:
    root.mkdir()
    (root / "Ada Lovelace_3001_assignsubmission_file_").mkdir()
    (root / "Ada Lovelace_3001_assignsubmission_file_" / "hw3.ipynb").write_bytes(ALICE)
    (root / "Ada Lovelace_3001_assignsubmission_onlinetext_").mkdir()
    (root / "Ada Lovelace_3001_assignsubmission_onlinetext_" / "onlinetext.html").write_text("<p>hi</p>")
    (root / "Group A-Alan Turing_3002_assignsubmission_file_").mkdir()
    (root / "Group A-Alan Turing_3002_assignsubmission_file_" / "hw3.ipynb").write_bytes(BOB)
    (root / "Participant_3003_assignsubmission_file_hw3.py").write_bytes(CAROL)    # flat form, blind marking
    return root


@pytest.mark.parametrize("as_zip", [False, True])
def test_moodle_folders_and_flat_files(tmp_path: Path, as_zip: bool):
    source = moodle_folder(tmp_path / "moodle")
    if as_zip:
        source = Path(shutil.make_archive(str(tmp_path / "moodle-dl"), "zip", source))
    intake = lms.read_intake(source)
    assert intake.format == lms.MOODLE
    by_id = {f.student.id: f for f in intake.found}
    assert {i: f.student.name for i, f in by_id.items()} == {
        "3001": "Ada Lovelace", "3002": "Group A-Alan Turing", "3003": "Participant"}
    assert sorted(n for _, n in by_id["3001"].files) == ["hw3.ipynb", "onlinetext.html"]
    assert [n for _, n in by_id["3003"].files] == ["hw3.py"]


def test_a_plain_zip_is_one_entry_per_student(tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", {"class/alice.ipynb": ALICE, "class/bob/hw3.ipynb": BOB,
                                                 "class/bob/notes.md": b"x"})
    intake = lms.read_intake(archive)
    assert intake.format == lms.FOLDER
    assert [f.student.id for f in intake.found] == ["alice", "bob"]   # a zip of the class's folder
    archive = make_zip(tmp_path / "flat.zip", {"alice.ipynb": ALICE, "bob/hw3.ipynb": BOB})
    assert [f.student.id for f in lms.read_intake(archive).found] == ["alice", "bob"]


# ------------------------------------------------------------------------------------------------
# Reading safely


def test_path_escapes_are_refused_and_links_never_followed(tmp_path: Path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("smithbob_1002_5002_hw3.ipynb", BOB)
        z.writestr("../../etc/evil_1003_5003_x.py", CAROL)
        z.writestr("/abs_1004_5004_x.py", CAROL)
        link = zipfile.ZipInfo("linky_1005_5005_hw3.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    intake = lms.read_intake(archive)
    assert [f.student.id for f in intake.found] == ["1005", "1002"]
    assert len([s for s in intake.skipped if "outside the archive" in s]) == 2
    staged = lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")
    linky = next(s for s in staged if s.student.id == "1005")
    assert not any(linky.path.iterdir())                        # nothing written for a link
    assert any(n.code == "lms-refused-file" and "symbolic link" in n.message for n in linky.notes)
    assert not (tmp_path / "etc").exists()


def test_a_folder_link_is_not_followed(tmp_path: Path):
    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / "smithbob_1002_5002_hw3.ipynb").write_bytes(BOB)
    os.symlink("/etc/passwd", folder / "sneaky_1003_5003_hw3.py")
    intake = lms.read_intake(folder)
    staged = lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")
    sneaky = next(s for s in staged if s.student.id == "1003")
    assert list(sneaky.path.iterdir()) == []
    assert any("symbolic link" in n.message for n in sneaky.notes)


def test_size_count_and_ratio_caps(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(lms, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(lms, "RATIO_FLOOR", 100)
    archive = make_zip(tmp_path / "big.zip", {"big_1_1_hw3.py": b"x = 1\n" + b"#" * 200_000,
                                               "ok_2_2_hw3.py": CAROL[:900]})
    intake = lms.read_intake(archive)
    problems = {f.student.id: f.files[0][0].problem for f in intake.found}
    assert "limit" in problems["1"] and problems["2"] == ""
    monkeypatch.setattr(lms, "MAX_FILE_BYTES", 10**9)
    problems = {f.student.id: f.files[0][0].problem for f in lms.read_intake(archive).found}
    assert "compresses" in problems["1"]                 # 200 kB of one byte deflates far beyond 200:1
    monkeypatch.setattr(lms, "MAX_MEMBERS", 1)
    with pytest.raises(lms.IntakeError, match="members"):
        lms.read_intake(archive)
    monkeypatch.setattr(lms, "MAX_MEMBERS", 100)
    monkeypatch.setattr(lms, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(lms.IntakeError, match="unpacks"):
        lms.read_intake(archive)


def test_a_file_that_is_not_a_zip_is_a_clear_error(tmp_path: Path):
    (tmp_path / "x.zip").write_bytes(b"PK not really")
    with pytest.raises(lms.IntakeError, match="not a zip"):
        lms.read_intake(tmp_path / "x.zip")


# ------------------------------------------------------------------------------------------------
# Graded end to end


def corrupt(archive: Path, marker: bytes) -> None:
    """Flip one byte of a stored member's data: its CRC no longer matches."""
    data = bytearray(archive.read_bytes())
    at = data.index(marker)
    data[at] ^= 0x01
    archive.write_bytes(bytes(data))


def test_canvas_download_graded_with_identity_kept(tmp_path: Path, session):
    archive = canvas_zip(tmp_path / "submissions.zip")
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_STORED) as z:     # one broken entry
        z.writestr("brokenentry_1006_5030_hw3.py", b"MARKER_OF_A_BROKEN_ENTRY = 1\n" + CAROL)
    corrupt(archive, b"MARKER_OF_A_BROKEN_ENTRY")
    out = tmp_path / "out"
    report = batch.run_batch(archive, out, session.config, session=session, progress=False)
    assert report.intake == lms.CANVAS
    by_id = {r.student.id: r for r in report.results}
    assert set(by_id) == {"1001", "1002", "1003", "1004", "1005", "1006"}
    assert by_id["1001"].score == pytest.approx(100) and by_id["1001"].student.late is True
    assert by_id["1001"].submission == "núñezjosé_1001"
    assert 0 < by_id["1002"].score < 100                                # the re-upload, not the broken first one
    assert by_id["1003"].score == pytest.approx(100)
    assert by_id["1005"].status == UNREADABLE                           # a text entry is not a notebook
    broken = by_id["1006"]
    assert broken.status == UNREADABLE
    assert any(p.code == "lms-unreadable-file" for p in broken.problems)
    assert sum(r.status == GRADED for r in report.results) == 4
    saved = json.loads((student_folder(out, "núñezjosé_1001") / "result.json").read_text(encoding="utf-8"))
    assert saved["student"]["id"] == "1001" and saved["student"]["files"] == ["hw3.ipynb"]

    again = batch.run_batch(archive, out, session.config, session=session, progress=False)
    assert again.graded == 0 and again.reused == 6            # staged files hash the same: nothing re-run
    assert {r.student.id for r in again.results} == set(by_id)


def test_gradescope_export_graded(tmp_path: Path, session):
    gradescope_export(tmp_path / "dl")
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", tmp_path / "dl")
    report = batch.run_batch(archive, tmp_path / "out", session.config, session=session, progress=False)
    by_id = {r.student.id: r for r in report.results}
    assert by_id["A001"].score == pytest.approx(100)
    assert 0 < by_id["bob@uni.edu"].score < 100             # found in its subfolder (files are flattened)
    assert by_id["E005"].score == by_id["bob@uni.edu"].score  # the group's other member: same files
    assert any(p.code == "lms-group" for p in by_id["E005"].problems)
    assert by_id["C003"].score == pytest.approx(100)


def test_moodle_download_graded(tmp_path: Path, session):
    folder = moodle_folder(tmp_path / "moodle")
    report = batch.run_batch(folder, tmp_path / "out", session.config, session=session, progress=False)
    by_id = {r.student.id: r for r in report.results}
    assert by_id["3001"].score == pytest.approx(100) and by_id["3001"].student.name == "Ada Lovelace"
    assert 0 < by_id["3002"].score < 100
    assert by_id["3003"].score == pytest.approx(100)


def test_a_deep_tree_in_a_plain_folder_is_not_walked(tmp_path: Path, monkeypatch):
    folder = tmp_path / "class"
    deep = folder / "alice" / "venv" / "lib" / "python3" / "site-packages"
    deep.mkdir(parents=True)
    for i in range(50):
        (deep / f"m{i}.py").write_text("")
    (folder / "alice" / "hw3.ipynb").write_bytes(ALICE)
    monkeypatch.setattr(lms, "MAX_MEMBERS", 10)
    intake = lms.read_intake(folder)
    assert intake.format == lms.FOLDER and [f.whole for f in intake.found] == ["alice"]


def test_gradescope_metadata_of_aliases_is_never_expanded(tmp_path: Path):
    """A 'billion laughs' document: nested aliases that would be 10^9 items written out."""
    folder = tmp_path / "dl"
    (folder / "submission_1").mkdir(parents=True)
    (folder / "submission_1" / "hw3.py").write_bytes(CAROL)
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (folder / "submission_metadata.yml").write_text(
        "x:\n" + "".join(f"  {line}\n" for line in levels) +
        "submission_1:\n  :submitters:\n  - :name: *a8\n    :sid: *a8\n    :email: e@u.edu\n"
        "  - *a8\n", encoding="utf-8")
    intake = lms.read_intake(folder)
    (found,) = intake.found
    assert (found.student.id, found.student.name) == ("e@u.edu", "")


def test_duplicate_members_and_hostile_names(tmp_path: Path):
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Ada\x1b[31m <b>L</b>_3001_assignsubmission_file_/hw3.py", CAROL)
        with pytest.warns(UserWarning):
            z.writestr("Ada\x1b[31m <b>L</b>_3001_assignsubmission_file_/hw3.py", b"x = 2\n")
    intake = lms.read_intake(archive)
    (found,) = intake.found
    assert "\x1b" not in found.student.name and found.student.id == "3001"
    assert any("appears twice" in s for s in intake.skipped)


def test_only_what_may_be_graded_is_extracted(tmp_path: Path, monkeypatch):
    archive = make_zip(tmp_path / "c.zip", {"leeann_7_70_report.pdf": b"%PDF" + b"0" * 5000,
                                             "leeann_7_71_hw3.ipynb": ALICE, "leeann_7_72_data.npy": b"\x93NUMPY"})
    intake = lms.read_intake(archive)
    read = []
    original = intake.source.open
    monkeypatch.setattr(intake.source, "open", lambda member: read.append(member.path) or original(member))
    (staged,) = lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")
    assert read == ["leeann_7_71_hw3.ipynb"]
    assert sorted(p.name for p in staged.path.iterdir()) == ["hw3.ipynb"]
    assert staged.student.files == ["data.npy", "hw3.ipynb", "report.pdf"]     # all named in the result


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_handed_in_is_opened_safely(tmp_path: Path):
    link = zipfile.ZipInfo("hw3/evil.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hw3/hw3.ipynb", ALICE)
        z.writestr("hw3/notes.md", b"notes")
        z.writestr("__MACOSX/hw3/._hw3.ipynb", b"\x00")
        z.writestr("../../escape.py", CAROL)
        z.writestr(link, "/etc/passwd")
        z.writestr("hw3/inner.zip", zipped({"deeper.py": CAROL}))
    archive = make_zip(tmp_path / "c.zip", {"leeann_7_70_hw3.zip": buffer.getvalue(),
                                             "kim_8_80_hw3.zip": b"PK this is no zip"})
    intake = lms.read_intake(archive)
    staged = {s.student.id: s for s in
              lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")}
    lee = staged["7"]
    assert sorted(p.name for p in lee.path.iterdir()) == ["hw3.ipynb", "notes.md"]
    codes = [n.code for n in lee.notes]
    assert codes.count("lms-refused-file") == 2 and "lms-unpacked" in codes
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "st" / "escape.py").exists()
    assert list(staged["8"].path.iterdir()) == [] and staged["8"].notes[0].code == "lms-unreadable-file"


def test_a_canvas_zip_of_zips_is_graded(tmp_path: Path, session):
    archive = make_zip(tmp_path / "c.zip", {"leeann_7_70_hw3.zip": zipped({"hw3/hw3.ipynb": ALICE})})
    report = batch.run_batch(archive, tmp_path / "out", session.config, session=session, progress=False)
    (result,) = report.results
    assert result.score == pytest.approx(100) and result.student.files == ["hw3.zip"]


def test_member_names_cannot_carry_escape_codes(tmp_path: Path):
    archive = make_zip(tmp_path / "c.zip", {"kim_8_80_\x1b[2Jhw3\x07.ipynb": b"\x00binary",
                                             "kim_8_81_\x1b[2Jhw3.zip": b"not a zip"})
    intake = lms.read_intake(archive)
    (staged,) = lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")
    text = " ".join(n.message for n in staged.notes) + " ".join(staged.student.files)
    assert staged.notes and "\x1b" not in text and "\x07" not in text


def test_a_zip_of_the_class_folder_is_one_student_per_entry(tmp_path: Path, session):
    """The issue: a .zip became one student called "class", marked unreadable."""
    archive = make_zip(tmp_path / "class.zip", {"class/alice.ipynb": ALICE, "class/bob/hw3.ipynb": BOB,
                                                 "class/carol.py": CAROL})
    report = batch.run_batch(archive, tmp_path / "out", session.config, session=session, progress=False)
    scores = {r.submission: r.score for r in report.results}
    assert set(scores) == {"alice", "bob", "carol"}
    assert scores["alice"] == pytest.approx(100) and scores["carol"] == pytest.approx(100) and 0 < scores["bob"] < 100


def test_a_download_graded_again_rewrites_nothing(tmp_path: Path, session):
    archive = canvas_zip(tmp_path / "submissions.zip")
    out = tmp_path / "out"
    batch.run_batch(archive, out, session.config, session=session, progress=False)
    saved = json.loads((student_folder(out, "núñezjosé_1001") / "result.json").read_text(encoding="utf-8"))
    record = json.loads((student_folder(out, "núñezjosé_1001") / "batch.json").read_text(encoding="utf-8"))
    assert saved["student"]["id"] == record["result"]["student"]["id"] == "1001"     # written once, with it
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("students/*/*") if p.is_file()}
    # five students, each: report, result, record, work view, instructor view (.html, .json)
    assert len(stamps) == 5 * 6
    again = batch.run_batch(archive, out, session.config, session=session, progress=False)
    assert again.graded == 0 and again.changed == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps




def test_utf8_names_without_the_utf8_flag(tmp_path: Path):
    """Zip tools that write UTF-8 names without setting flag bit 11 (zipfile then reads cp437)."""
    archive = make_zip(tmp_path / "c.zip", {"núñezjosé_1001_5001_hw3.ipynb": ALICE})
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + offset
        flags = int.from_bytes(data[at:at + 2], "little") & ~0x800
        data[at:at + 2] = flags.to_bytes(2, "little")
    archive.write_bytes(bytes(data))
    with zipfile.ZipFile(archive) as z:
        assert z.namelist() != ["núñezjosé_1001_5001_hw3.ipynb"]         # read as cp437 by zipfile
    (found,) = lms.read_intake(archive).found
    assert (found.student.name, found.student.id) == ("núñezjosé", "1001")


def test_the_download_itself_may_be_reached_through_a_link(tmp_path: Path):
    real = moodle_folder(tmp_path / "moodle")
    os.symlink(real, tmp_path / "latest")
    assert lms.read_intake(tmp_path / "latest").format == lms.MOODLE


def _with_plots(notebook: bytes, megabytes: int) -> bytes:
    """`notebook` as saved with its figures: each code cell's outputs hold a PNG of noise (base64,
    which the zip cannot compress) until the file is `megabytes` MB, as `plt.show()` saves them."""
    import base64

    nb = json.loads(notebook)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    png = base64.b64encode(os.urandom((megabytes * 2**20 // len(code)) * 3 // 4)).decode()
    for cell in code:
        cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                            "data": {"image/png": png, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}]
    return json.dumps(nb).encode()


def test_a_notebook_made_big_by_its_plots_is_graded_from_a_download(tmp_path: Path, session):
    """A 26 MB notebook (its figures saved) in a Canvas download: staged, graded in full, its work
    page drawn; it was refused at 20 MB, the size of the file as sent, and scored 0."""
    big = _with_plots(ALICE, 26)
    archive = make_zip(tmp_path / "submissions.zip", {"plotterpat_1001_5001_hw3.ipynb": big,
                                                      "leecarol_1003_5003_hw3.py": CAROL})
    out = tmp_path / "out"
    report = batch.run_batch(archive, out, session.config, session=session, progress=False)
    pat = next(r for r in report.results if r.student.id == "1001")
    assert pat.score == pytest.approx(100), [p.message for p in pat.problems]
    assert "outputs-not-read" in {p.code for p in pat.problems}
    page = (student_folder(out, pat.submission) / "work.html").read_text(encoding="utf-8")
    assert "sigmoid_jacobian" in page and 'class="notice error"' not in page and "the limit is" not in page


def test_staging_a_download_streams_its_files_instead_of_holding_them(tmp_path: Path):
    """A member of the download (up to MAX_FILE_BYTES, 100 MB) was read whole into memory before it
    was written out, and a zip a student handed in was read whole and then opened in memory, its
    files read whole again: a 100 MB notebook inside a 100 MB hand-in zip held 200 MB at once in the
    grader. Staging copies in bounded chunks and spools a handed-in zip to disk, so what it holds
    does not grow with the files (measured with tracemalloc: Python's own allocations)."""
    import tracemalloc

    big = 12 * 2**20
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as z:      # stored: no ratio to trip the bomb check
        z.writestr("hw3/hw3.ipynb", b"1" * big)
    archive = make_zip(tmp_path / "c.zip", {"leeann_7_70_hw3.ipynb": b"2" * big,
                                             "parkjin_8_71_hw3.zip": inner.getvalue()}, zipfile.ZIP_STORED)
    del inner
    intake = lms.read_intake(archive)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        staged = lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        intake.source.close()
    assert [(p.name, p.stat().st_size) for s in staged for p in s.path.rglob("*.ipynb")] == [
        ("hw3.ipynb", big), ("hw3.ipynb", big)]
    assert peak < big / 3, f"staging held {peak / 2**20:.1f} MiB at its peak"
