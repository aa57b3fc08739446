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

from conftest import CAROL, FULL, ROOT
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
