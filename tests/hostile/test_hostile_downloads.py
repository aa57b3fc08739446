"""Hostile hand-ins inside an LMS bulk download: a student uploads a zip (Canvas keeps it as it is)
built to escape the staging folder, to smuggle the reference in through a link entry, or to
explode when unpacked.

Promise (SECURITY.md: packaging tricks; no collateral damage; always an answer): nothing is
written outside the grader's own staging folder, no link is followed, the attacker's score is what
their code earns (no reference answers), the bomb is refused without being unpacked, and every
other student of the download is graded in full.
"""
from __future__ import annotations

import stat
import uuid
import zipfile
from pathlib import Path

import pytest

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
