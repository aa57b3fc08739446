"""Hostile hand-ins inside an LMS bulk download: a student uploads a zip (Canvas keeps it as it is)
built to escape the staging folder, to smuggle the reference in through a link entry, or to
explode when unpacked.

Promise (SECURITY.md: packaging tricks; no collateral damage; always an answer): nothing is
written outside the grader's own staging folder, no link is followed, the attacker's score is what
their code earns (no reference answers), the bomb is refused without being unpacked, and every
other student of the download is graded in full.
"""
from __future__ import annotations

import os
import stat
import uuid
import zipfile
from pathlib import Path

import pytest

from batch_input import without_utf8_flag
from conftest import CAROL, FULL, ROOT
from grader import lms
from grader.batch import run_batch

REFERENCE = ROOT / "reference" / "__init__.py"


def hostile_zip(path: Path, marker: str) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"../../../../tmp/{marker}-up.py", "print('escaped')\n")
        z.writestr(f"/tmp/{marker}-abs.py", "print('escaped')\n")
        link = zipfile.ZipInfo("hw3.py")                      # a symbolic link entry to the reference
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, str(REFERENCE))
        # 300 MB of spaces, compressed ~1000:1. Written in 1 MB pieces: the same archive as one
        # 300 MB string (same bytes), without building that string (3.1 s of CPU here, now 0.9 s).
        with z.open("bomb.ipynb", "w") as bomb:
            bomb.write(b"{")
            for _ in range(300):
                bomb.write(b" " * 2**20)
            bomb.write(b"}")


def test_a_hostile_zip_in_a_canvas_download(session, tmp_path):
    marker = f"hw3-hostile-{uuid.uuid4().hex[:8]}"
    upload = tmp_path / "upload.zip"
    hostile_zip(upload, marker)
    download = tmp_path / "submissions.zip"
    with zipfile.ZipFile(download, "w") as z:
        z.write(upload, "mallorymallet_2002_9002_hw3.zip")
        z.writestr("carolcarter_1001_9001_hw3.py", CAROL)
    out = tmp_path / "out"
    report = run_batch(download, out, session.config, session=session, progress=False)

    by_id = {r.student.id: r for r in report.results}
    assert by_id["1001"].score == FULL                                   # the others are graded in full
    mallory = by_id["2002"]
    assert mallory.score < FULL                                          # the link brought no reference
    said = " ".join(p.message for p in mallory.problems)
    # each refused, and said: the two escapes, the link, the bomb
    assert said.count("points outside the archive") == 2 and "symbolic link" in said and "300.0 MB" in said
    assert not list(Path("/tmp").glob(f"{marker}*"))                      # ... and nothing was written there
    assert not list(tmp_path.rglob(f"{marker}*"))
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert written < 50 * 2**20                                          # the bomb was never unpacked


# ------------------------------------------------------------------------------------------------
# The download's shape: what tells the formats apart cannot be handed in by a student, and survives
# being zipped again inside folders.

NOTEBOOK = (ROOT / "submissions" / "alice_correct.ipynb").read_bytes()
FAKE_METADATA = b"submission_1:\n  :submitters:\n  - :name: Mallory\n    :sid: '666'\n"
REAL_METADATA = (b"submission_1:\n  :submitters:\n  - :name: Ada\n    :sid: '1'\n"
                 b"submission_2:\n  :submitters:\n  - :name: Mallory\n    :sid: '2'\n")


def _write(root: Path, files: dict[str, bytes], as_zip: bool) -> Path:
    if as_zip:
        with zipfile.ZipFile(root.with_suffix(".zip"), "w") as z:
            for name, data in files.items():
                z.writestr(name, data)
        return root.with_suffix(".zip")
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.mark.parametrize("planted", [FAKE_METADATA, b"[not, a, mapping]"])
@pytest.mark.parametrize("as_zip", [False, True])
def test_a_student_cannot_turn_a_class_folder_into_a_gradescope_export(tmp_path, as_zip, planted):
    """Mallory hands in a folder holding a `submission_metadata.yml`: before, the whole class was read
    as a Gradescope export of Mallory alone (alice and bob lost), or the batch stopped on her file."""
    source = _write(tmp_path / "class", {"alice.ipynb": NOTEBOOK, "bob/hw3.ipynb": NOTEBOOK,
                                         "mallory/hw3.ipynb": NOTEBOOK,
                                         "mallory/submission_metadata.yml": planted}, as_zip)
    intake = lms.read_intake(source)
    assert intake.format == lms.FOLDER
    assert sorted(f.student.id for f in intake.found) == ["alice", "bob", "mallory"]
    intake.source.close()


@pytest.mark.parametrize("as_zip", [False, True])
def test_a_metadata_file_handed_in_to_gradescope_is_not_the_export_s(tmp_path, as_zip):
    """The student's own `submission_metadata.yml` inside their submission folder, first in the zip."""
    source = _write(tmp_path / "export", {"submission_2/submission_metadata.yml": FAKE_METADATA,
                                          "submission_metadata.yml": REAL_METADATA,
                                          "submission_1/hw3.ipynb": NOTEBOOK,
                                          "submission_2/hw3.ipynb": NOTEBOOK}, as_zip)
    intake = lms.read_intake(source)
    assert intake.format == lms.GRADESCOPE
    assert sorted((f.student.id, f.student.name) for f in intake.found) == [("1", "Ada"), ("2", "Mallory")]
    intake.source.close()


GRADESCOPE_META = b"submission_1:\n  :submitters:\n  - :name: Ada\n    :sid: '1'\n"
WRAPPED = {
    lms.CANVAS: {"smithbob_1002_5002_hw3.ipynb": NOTEBOOK, "leekim_1003_5003_hw3.ipynb": NOTEBOOK},
    lms.MOODLE: {"Bob Smith_3002_assignsubmission_file/hw3.ipynb": NOTEBOOK,
                 "Kim Lee_3003_assignsubmission_file/hw3.ipynb": NOTEBOOK},
    lms.GRADESCOPE: {"submission_metadata.yml": GRADESCOPE_META, "submission_1/hw3.ipynb": NOTEBOOK},
}


@pytest.mark.parametrize("lms_format", sorted(WRAPPED))
@pytest.mark.parametrize("wrappers", ["", "HW3/", "Downloads/HW3 (1)/", "a/b/c/"])
def test_a_download_zipped_again_inside_folders_is_still_its_lms(tmp_path, lms_format, wrappers):
    """Unpacked, moved into a folder or two and zipped again (Finder's Compress, Explorer's Send to):
    before, any two folders around it made the whole class one student named after the inner folder."""
    files = {f"{wrappers}{name}": data for name, data in WRAPPED[lms_format].items()}
    files["__MACOSX/" + next(iter(files)).rsplit("/", 1)[0] + "/._x"] = b"\x00"
    source = _write(tmp_path / "again", files, as_zip=True)
    intake = lms.read_intake(source)
    assert intake.format == lms_format and intake.skipped == []
    assert len(intake.found) == len([n for n in WRAPPED[lms_format] if n != "submission_metadata.yml"])
    intake.source.close()


def _zipped(files: dict[str, bytes], utf8: bool = True) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    # as Windows' and macOS' own zip tools write: UTF-8 names, no flag 11
    return buffer.getvalue() if utf8 else without_utf8_flag(buffer.getvalue())


def _staged(tmp_path: Path, download: dict[str, bytes]):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in download.items():
            z.writestr(name, data)
    intake = lms.read_intake(archive)
    staged = lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")
    return {s.student.id: s for s in staged}


def test_a_zip_inside_the_zip_a_student_handed_in_is_opened_once_more(tmp_path):
    """'Compress' a folder holding the zip made before: the notebook is two zips deep. Before, the
    inner zip was skipped without a word and the report said the hand-in held only hw3.zip."""
    inner = _zipped({"hw3/hw3.ipynb": NOTEBOOK, "__MACOSX/hw3/._hw3.ipynb": b"\x00"})
    deeper = _zipped({"again.zip": _zipped({"x/inner.zip": _zipped({"hw3.ipynb": NOTEBOOK})})})
    staged = _staged(tmp_path, {
        "smithbob_1002_5002_hw3.zip": _zipped({"HW3 final/submission.zip": inner}),
        "leekim_1003_5003_hw3.zip": deeper,                                         # three zips deep
        "ngtam_1004_5004_hw3.zip": _zipped({"hw3.py": CAROL, "old.zip": inner}),    # code beside it
    })
    bob = staged["1002"]
    assert [p.name for p in bob.path.iterdir()] == ["hw3.ipynb"]
    assert any("hw3/hw3.ipynb" in n.message and "submission.zip" in n.message for n in bob.notes)
    kim = staged["1003"]
    assert list(kim.path.iterdir()) == []
    said = " ".join(n.message for n in kim.notes)
    assert "inner.zip" in said and "not opened" in said
    assert not any(n.code == "lms-nothing-gradable" for n in kim.notes)
    tam = staged["1004"]
    assert [p.name for p in tam.path.iterdir()] == ["hw3.py"]
    assert any("old.zip" in n.message and "not opened" in n.message for n in tam.notes)


def test_a_bomb_inside_a_zip_inside_a_zip_is_refused(tmp_path):
    """The inner zip shares the hand-in's 20 MB budget: a 300 MB notebook two zips deep is never unpacked."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z, z.open("bomb.ipynb", "w") as bomb:
        for _ in range(300):
            bomb.write(b" " * 2**20)
    staged = _staged(tmp_path, {"mallorymallet_2002_9002_hw3.zip": _zipped({"inner.zip": buffer.getvalue()}),
                                "leekim_1003_5003_hw3.ipynb": NOTEBOOK})
    mallory = staged["2002"]
    assert list(mallory.path.iterdir()) == []
    assert any(n.code == "lms-refused-file" and "bomb.ipynb" in n.message for n in mallory.notes)
    assert [p.name for p in staged["1003"].path.iterdir()] == ["hw3.ipynb"]


def test_names_in_a_handed_in_zip_without_the_utf8_flag(tmp_path):
    """A student's zip from a tool that writes UTF-8 names without flag 11 (zipfile reads them as cp437)."""
    staged = _staged(tmp_path, {"smithbob_1002_5002_hw3.zip": _zipped({"作业3/作业3.ipynb": NOTEBOOK}, utf8=False)})
    assert [p.name for p in staged["1002"].path.iterdir()] == ["作业3.ipynb"]


LONG = "\U0001d49c" * 80            # 80 letters of 4 bytes each: 320 bytes, past a file name's 255


def test_names_the_disk_cannot_hold_and_a_file_that_is_also_a_folder_cost_nothing(session, tmp_path):
    """Staging writes each hand-in's files under names made from the download's: a Canvas user name
    or an uploaded file name of 80-100 letters (300+ bytes in UTF-8; Linux holds 255), and a zip
    holding `h.py` and `h.py/x.py`, each stopped the whole batch with a traceback. The names are
    cut to what a disk holds, a file that cannot be written is a note for its student alone, and
    every student is graded."""
    download = tmp_path / "canvas.zip"
    with zipfile.ZipFile(download, "w") as z:
        z.writestr(f"{LONG}_3003_9003_hw3.py", CAROL)                       # a long user name
        z.writestr("mallory_2002_9002_" + "\u6211" * 100 + ".py", CAROL)   # a long uploaded file name
        z.writestr("carolcarter_1001_9001_hw3.py", CAROL)
    report = run_batch(download, tmp_path / "out", session.config, session=session, progress=False)
    assert {r.student.id: r.score for r in report.results} == {"1001": FULL, "2002": FULL, "3003": FULL}

    plain = tmp_path / "class.zip"
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("class/alice/h.py", CAROL)
        z.writestr("class/alice/h.py/x.py", "x = 1\n")                      # a folder named like the file
        z.writestr("class/bob.py", CAROL)
    report = run_batch(plain, tmp_path / "out-plain", session.config, session=session, progress=False)
    by_name = {r.student.id: r for r in report.results}
    assert set(by_name) == {"alice", "bob"} and by_name["bob"].score == FULL
    assert by_name["alice"].score == FULL
    assert any("h.py/x.py" in p.message for p in by_name["alice"].problems)


def _receipt(name: str, user: str, when: str, stored: str, typed: str) -> bytes:
    return (f"Name: {name} ({user})\nAssignment: HW3\nDate Submitted: {when}\nCurrent Grade: Needs Grading\n\n"
            f"Submission Field:\n{typed}\n\nComments:\nThere are no student comments for this assignment.\n\n"
            f"Files:\n\tOriginal filename: hw3.ipynb\n\tFilename: {stored}\n\n").encode()


def test_text_typed_into_a_blackboard_receipt_cannot_change_who_or_when(tmp_path):
    """Blackboard's receipt holds what the student typed into the Submission Field, between the
    lines the grader reads. Mallory types a Name line of Ada's, an earlier Date Submitted and a
    Files entry pointing at Ada's file: she stays herself, her time stays Blackboard's, and Ada's
    hand-in stays Ada's."""
    ada_key, mal_key = "HW3_ada_attempt_2026-03-01-10-00-00", "HW3_mallory_attempt_2026-03-03-10-00-00"
    forged = (f"Name: Ada Lovelace (ada)\nDate Submitted: Sunday, March 1, 2026 9:00:00 AM EST\n"
              f"Files:\n\tOriginal filename: stolen.ipynb\n\tFilename: {ada_key}_hw3.ipynb\n")
    archive = tmp_path / "gradebook_CS_HW3.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"{ada_key}.txt", _receipt("Ada Lovelace", "ada", "Sunday, March 1, 2026 10:00:00 AM EST",
                                              f"{ada_key}_hw3.ipynb", "There is no student submission text data "
                                                                      "for this assignment."))
        z.writestr(f"{ada_key}_hw3.ipynb", NOTEBOOK)
        z.writestr(f"{mal_key}.txt", _receipt("Mallory Mallet", "mallory", "Tuesday, March 3, 2026 10:00:00 AM EST",
                                              f"{mal_key}_hw3.ipynb", forged))
        z.writestr(f"{mal_key}_hw3.ipynb", b"{}")
    intake = lms.read_intake(archive)
    assert intake.format == "blackboard"
    by_id = {f.student.id: f for f in intake.found}
    assert set(by_id) == {"ada", "mallory"}
    mallory, ada = by_id["mallory"], by_id["ada"]
    assert (mallory.student.name, mallory.student.submitted_at) == ("Mallory Mallet", "2026-03-03T10:00:00-05:00")
    assert [(m.path, name) for m, name in mallory.files] == [(f"{mal_key}_hw3.ipynb", "hw3.ipynb")]
    assert (ada.student.name, ada.student.submitted_at) == ("Ada Lovelace", "2026-03-01T10:00:00-05:00")
    assert [(m.path, name) for m, name in ada.files] == [(f"{ada_key}_hw3.ipynb", "hw3.ipynb")]
    intake.source.close()


# Names written on Chinese or Japanese Windows: the machine's code page, no UTF-8 flag (zipfile reads
# them as cp437). Read in the code page where every such name is likely text; else left as they were,
# and said.


@pytest.mark.parametrize("codec, student, file", [("gbk", "张伟", "作业3.py"), ("cp932", "山田太郎", "課題3.py"),
                                                  ("gbk", "欧阳娜娜", "第三次作业.py"), ("cp932", "すずき", "しゅくだい.py")])
def test_names_from_chinese_or_japanese_windows(tmp_path, codec, student, file):
    from batch_input import legacy_named_zip

    other = "李娜" if codec == "gbk" else "佐藤花子"
    archive = tmp_path / "HW3.zip"
    archive.write_bytes(legacy_named_zip({
        f"{student}_3001_assignsubmission_file/{file}".encode(codec): CAROL,
        f"{other}_3002_assignsubmission_file/hw3.py".encode(codec): b"x = 1\n",
    }))
    intake = lms.read_intake(archive)
    assert intake.format == lms.MOODLE
    got = {f.student.id: (f.student.name, f.student.files) for f in intake.found}
    assert got == {"3001": (student, [file]), "3002": (other, ["hw3.py"])}
    assert any(codec in line for line in intake.skipped)
    intake.source.close()


def test_a_plain_folder_zipped_on_chinese_windows_keeps_its_names(tmp_path):
    from batch_input import legacy_named_zip

    archive = tmp_path / "class.zip"
    archive.write_bytes(legacy_named_zip({"王芳.py".encode("gbk"): CAROL, "alice.py".encode(): CAROL}))
    intake = lms.read_intake(archive)
    assert sorted(lms.unique_names(intake.found)) == ["alice", "王芳"]
    intake.source.close()


def test_names_in_no_likely_code_page_are_kept_as_read_and_said(tmp_path):
    """A Western name written in cp850 by an old Windows zip tool (é is 0x82, which cp932 reads as
    part of a full-width letter and GBK as a rare ideograph), and bytes valid in no code page: read
    as zipfile reads them, and the intake says that those names may be garbled."""
    from batch_input import legacy_named_zip

    archive = tmp_path / "class.zip"
    archive.write_bytes(legacy_named_zip({"Renée.py".encode("cp850"): CAROL, b"\xff\xfe\x80.py": CAROL,
                                          b"bob.py": CAROL}))
    intake = lms.read_intake(archive)
    names = sorted(lms.unique_names(intake.found))
    assert "bob" in names and len(names) == 3
    assert "Renée".encode("cp850").decode("cp437") in names
    assert any("no likely code page" in line for line in intake.skipped)
    intake.source.close()


def test_a_zip_handed_in_from_chinese_windows_is_unpacked_under_its_names(tmp_path):
    from batch_input import legacy_named_zip

    download = {"Ada Lovelace_3001_assignsubmission_file/作业.zip": legacy_named_zip({"作业3.py".encode("gbk"): CAROL})}
    staged = _staged(tmp_path, download)
    assert [p.name for p in staged["3001"].path.iterdir()] == ["作业3.py"]


def test_a_gbk_download_unpacked_by_linux_unzip_keeps_its_names(tmp_path):
    """Linux's `unzip` keeps a Windows zip's GBK names as bytes, which are no UTF-8 (Python shows them
    with surrogate escapes): read in GBK as a zip's are, the files still read from their real names."""
    import os

    root = tmp_path / "dl"
    root.mkdir()
    moodle = os.fsencode(root) + b"/" + "张伟_3001_assignsubmission_file".encode("gbk")
    os.mkdir(moodle)
    with open(moodle + b"/" + "作业3.py".encode("gbk"), "wb") as fh:
        fh.write(CAROL.encode())
    os.mkdir(os.fsencode(root) + b"/" + "李娜_3002_assignsubmission_file".encode("gbk"))
    with open(os.fsencode(root) + b"/" + "李娜_3002_assignsubmission_file/hw3.py".encode("gbk"), "wb") as fh:
        fh.write(b"x = 1\n")
    intake = lms.read_intake(root)
    assert intake.format == lms.MOODLE
    assert {f.student.id: (f.student.name, f.student.files) for f in intake.found} == {
        "3001": ("张伟", ["作业3.py"]), "3002": ("李娜", ["hw3.py"])}
    staged = lms.to_submissions(intake, list(zip(lms.unique_names(intake.found), intake.found)), tmp_path / "st")
    assert [p.read_bytes() for s in staged if s.student.id == "3001" for p in s.path.iterdir()] == [CAROL.encode()]


def test_a_plain_class_folder_with_gbk_names_is_graded_in_place(tmp_path):
    import os

    root = tmp_path / "class"
    root.mkdir()
    folder = os.fsencode(root) + b"/" + "王芳".encode("gbk")
    os.mkdir(folder)
    with open(folder + b"/hw3.py", "wb") as fh:
        fh.write(CAROL.encode())
    intake = lms.read_intake(root)
    (entry,) = intake.found
    assert lms.unique_names(intake.found) == ["王芳"]
    path, _ = lms.stage(intake, entry, tmp_path / "st")
    assert (path / "hw3.py").read_bytes() == CAROL.encode()


# nbgrader writes timestamp.txt with the student's own `nbgrader submit` (its clock, into a folder of the
# exchange the student owns); `nbgrader collect` copies it into submitted/ keeping the files' and the
# folder's modification times (shutil.copytree). Those times are the file system's record.
def _stamp(when: str) -> bytes:
    return f"{when}.000000 UTC".encode()


def _epoch(when: str) -> float:
    from datetime import datetime, timezone

    return datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp()


def _nbgrader_submitted(root: Path, hand_ins: dict[str, tuple[bytes | None, str]]) -> Path:
    """`submitted/<student>/hw3/` with a module, the stamp text (None: no stamp) and the time its
    folder and files were last written, as `nbgrader collect` leaves them."""
    for student, (stamp, written) in hand_ins.items():
        folder = root / student / "hw3"
        folder.mkdir(parents=True)
        (folder / "hw3.py").write_text(CAROL, encoding="utf-8")
        if stamp is not None:
            (folder / "timestamp.txt").write_bytes(stamp)
        for path in (*folder.iterdir(), folder):
            os.utime(path, (_epoch(written), _epoch(written)))
    return root


def test_an_nbgrader_stamp_edited_after_a_late_hand_in_keeps_its_late_time(tmp_path):
    """Three students hand in on time; Mallory hands in two days late, then writes an earlier time
    into her timestamp.txt (her own file in the exchange); Eve deletes hers; Trudy writes nonsense
    into hers. The download's file times show when each stamp (or, with none, its folder) last
    changed: the late ones stay late."""
    on_time = "2026-03-01 20:00:00"
    late = "2026-03-03 09:30:00"
    root = _nbgrader_submitted(tmp_path / "submitted", {
        "ada": (_stamp(on_time), on_time), "bob": (_stamp("2026-03-01 21:00:00"), "2026-03-01 21:00:00"),
        "carol": (_stamp("2026-03-01 22:00:00"), "2026-03-01 22:00:05"),
        "mallory": (_stamp(on_time), late), "eve": (None, late), "trudy": (b"yesterday, honest", late),
        "dora": (_stamp(on_time), on_time)})
    # Staff saved a fix into Dora's notebook later (an editor's save replaces the file: the folder
    # changes too); her stamp is untouched, and she stays on time.
    os.utime(root / "dora" / "hw3", (_epoch(late), _epoch(late)))
    intake = lms.read_intake(root, assignment="hw3")
    assert intake.format == lms.NBGRADER
    when = {f.student.id: f.student.submitted_at for f in intake.found}
    assert when["ada"] == when["dora"] == "2026-03-01T20:00:00+00:00"
    assert when["carol"] == "2026-03-01T22:00:00+00:00"
    for student in ("mallory", "eve", "trudy"):
        assert when[student] == "2026-03-03T09:30:00+00:00", (student, when[student])
        notes = next(f.notes for f in intake.found if f.student.id == student)
        assert any("2026-03-03" in n.message for n in notes), notes
    intake.source.close()


def test_nbgrader_file_times_that_a_copy_reset_are_not_taken_for_a_late_hand_in(tmp_path):
    """A submitted/ folder copied without its times (cp -r): every file is as new as the copy. The
    stamps are then taken as written, for everyone; nobody is made late by the copy."""
    copied = "2026-11-30 01:00:00"
    root = _nbgrader_submitted(tmp_path / "submitted", {
        student: (_stamp(f"2026-03-01 2{i}:00:00"), copied) for i, student in enumerate(("ada", "bob", "carol"))})
    intake = lms.read_intake(root, assignment="hw3")
    assert {f.student.id: f.student.submitted_at for f in intake.found} == {
        "ada": "2026-03-01T20:00:00+00:00", "bob": "2026-03-01T21:00:00+00:00", "carol": "2026-03-01T22:00:00+00:00"}
    intake.source.close()


def test_two_nbgrader_folders_that_clean_to_one_id_keep_two_reports(session, tmp_path):
    """nbgrader lets a student submit under any id (`nbgrader submit --student`): Mallory hands in
    a blank as 'alice ' (a trailing space) and as the decomposed spelling of 'josé'. The ids clean
    to the real students' own, and both hand-ins of each pair used to share one folder of reports:
    the one written last replaced the other's result.json, which the gradebook export reads. Each
    hand-in keeps a folder of its own, the real student's is the one named exactly so, and the
    look-alike says which id it shares."""
    import json
    import unicodedata

    stamp = b"2026-03-01 10:00:00.000000 UTC"
    hand_ins = {"alice": CAROL, "alice ": "x = 1\n", "josé": CAROL, unicodedata.normalize("NFD", "josé"): "x = 1\n"}
    for folder, source in hand_ins.items():
        (tmp_path / "submitted" / folder / "hw3").mkdir(parents=True)
        (tmp_path / "submitted" / folder / "hw3" / "hw3.py").write_text(source, encoding="utf-8")
        (tmp_path / "submitted" / folder / "hw3" / "timestamp.txt").write_bytes(stamp)
    out = tmp_path / "out"
    report = run_batch(tmp_path / "submitted", out, session.config, session=session, progress=False)
    assert report.intake == lms.NBGRADER
    written = [json.loads(p.read_text(encoding="utf-8")) for p in (out / "students").glob("*/result.json")]
    assert len(written) == len(hand_ins)
    by_id = {}
    for result in written:
        by_id.setdefault(result["student"]["id"], []).append(result)
    for student in ("alice", "josé"):
        scores = sorted(r["score"] for r in by_id[student])
        assert scores == [0.0, FULL], (student, scores)
        lookalike = next(r for r in by_id[student] if r["score"] == 0.0)
        assert any(student in p["message"] and "same id" in p["message"] for p in lookalike["problems"]), \
            lookalike["problems"]
        real = next(r for r in by_id[student] if r["score"] == FULL)
        assert not any("same id" in p["message"] for p in real["problems"])
