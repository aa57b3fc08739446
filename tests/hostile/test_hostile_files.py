"""The trusted side's file handling: links, FIFOs, sockets, device nodes and sparse files in what
students hand in (issue 9, findings 1 and 7).

Promises: the grader never follows a symbolic link from the trusted side (a link to the reference,
at the top of a Gradescope upload, as an entry of `grader batch DIR`, or inside a folder, earns
nothing and says why); a special file never blocks or floods it (a FIFO, a socket, a device node:
refused or ignored with a plain message, the other students graded); every file it reads is read up
to a bound (a 20 GB sparse file costs a stat, not a read). Nothing here asserts a time: a hang is
caught by running the step in a thread that must finish, and the bytes read are counted by the
kernel (`rchar` of /proc/self/io).
"""
from __future__ import annotations

import json
import os
import socket
import stat
import threading
from pathlib import Path
from typing import Callable

import pytest

from conftest import CANARY_SECRET, CAROL, FULL, ROOT, assert_safe_text, module, notebook
from grader import batch, cli, gradescope
from grader.results import GRADED, UNREADABLE

REFERENCE = ROOT / "reference"
# Codes of a refusal: a link, or a file that is not a regular file.
REFUSED = {"symlink", "special-file"}
BOUND = 120.0            # seconds a step may take before it is called hung (a hang, not a timing)
GB = 2**30


# ------------------------------------------------------------------------------------------------
# Helpers


def bounded(step: Callable[[], object], unblock: Callable[[], None] = lambda: None, seconds: float = BOUND):
    """`step()`'s value; the test fails (instead of hanging) if it does not return in `seconds`.

    `unblock` releases a step stuck on purpose (e.g. opens a FIFO's other end) so that nothing of
    the test outlives it.
    """
    box: dict[str, object] = {}

    def target():
        try:
            box["value"] = step()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        unblock()
        thread.join(seconds)
        pytest.fail(f"the grader was still blocked after {seconds:g} s")
    if "error" in box:
        raise box["error"]        # type: ignore[misc]
    return box.get("value")


def fifo_unblocker(*fifos: Path) -> Callable[[], None]:
    """Open each FIFO's write end (and close it): a reader stuck in open() or read() returns."""
    def unblock():
        for fifo in fifos:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
    return unblock


def bytes_read() -> int:
    """Bytes this process has read with read(2) and friends so far (page cache included)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def sparse(path: Path, size: int = 20 * GB) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def make_socket(path: Path) -> Path:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()          # the socket file stays
    return path


def make_device(path: Path) -> Path:
    """A character device node like /dev/zero (endless zeros); skips where mknod is not allowed."""
    try:
        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


def codes(result) -> set[str]:
    return {p.code for p in result.problems}


def assert_refused(result, code: str | None = None) -> None:
    """Unreadable, nothing earned, and a plain message naming the reason."""
    assert result.status == UNREADABLE and result.score == 0, (result.status, result.score, codes(result))
    found = codes(result) & REFUSED
    assert found if code is None else code in found, codes(result)
    message = next(p.message for p in result.problems if p.code in REFUSED)
    assert ("link" in message if "symlink" in found else "special" in message or "pipe" in message
            or "socket" in message or "device" in message), message
    assert "Traceback" not in message
    assert all(c.status == "not-run" for q in result.questions for c in q.cases)
    assert_safe_text(result)


# ------------------------------------------------------------------------------------------------
# Finding 1: a linked submission runs the reference


def _gradescope(tmp_path: Path, monkeypatch, build: Callable[[Path], None]) -> dict:
    """Run the Gradescope entry point on an upload made by `build(submission_folder)`."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    build(root / "submission")
    monkeypatch.setenv("GRADER_SECRET", CANARY_SECRET)
    monkeypatch.delenv("GRADER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    bounded(lambda: gradescope.run(root))
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


GRADESCOPE_LINKS = {
    # the red team's finding: the only entry is a link to the reference package
    "folder-link-at-top": lambda s: (s / "hw3").symlink_to(REFERENCE, target_is_directory=True),
    "file-link-at-top": lambda s: (s / "hw3.py").symlink_to(REFERENCE / "__init__.py"),
    # the same one level down, inside the single folder a student uploaded
    "folder-link-nested": lambda s: ((s / "upload").mkdir(),
                                     (s / "upload" / "hw3").symlink_to(REFERENCE, target_is_directory=True)),
    "file-link-nested": lambda s: ((s / "upload").mkdir(), (s / "upload" / "hw3.py").symlink_to(REFERENCE / "__init__.py")),
    # a relative link, as an unpacked archive would carry it
    "relative-file-link": lambda s: (s / "hw3.py").symlink_to(os.path.relpath(REFERENCE / "__init__.py", s)),
}


@pytest.mark.parametrize("variant", sorted(GRADESCOPE_LINKS))
def test_a_gradescope_upload_that_is_a_link_to_the_reference_earns_nothing(tmp_path, monkeypatch, variant,
                                                                          borrowed_sessions):
    data = _gradescope(tmp_path, monkeypatch, GRADESCOPE_LINKS[variant])
    assert data["score"] == 0, f"a link to the reference scored {data['score']}"
    text = json.dumps(data)
    assert "symbolic link" in text and "never follows" in text, data.get("output", "")[:500]
    assert CANARY_SECRET not in text


def test_links_as_batch_entries_are_refused_and_the_batch_goes_on(attack_session, tmp_path):
    """`grader batch DIR`: a top-level entry that is a link (to the reference's file or folder, to
    another student's hand-in, or broken) is that student's refusal; the others are graded."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "alice.py")
    (folder / "mallory.py").symlink_to(REFERENCE / "__init__.py")
    (folder / "trudy").symlink_to(REFERENCE, target_is_directory=True)
    (folder / "copycat.py").symlink_to(folder / "alice.py")
    (folder / "ghost.py").symlink_to(tmp_path / "nowhere.py")
    report = bounded(lambda: batch.run_batch(folder, out, attack_session.config, session=attack_session,
                                             progress=False))
    by_name = {r.submission: r for r in report.results}
    assert set(by_name) == {"alice", "mallory", "trudy", "copycat", "ghost"}
    assert by_name["alice"].status == GRADED and by_name["alice"].score == FULL
    for name in ("mallory", "trudy", "copycat", "ghost"):
        assert_refused(by_name[name], "symlink")
    assert (out / "summary.html").is_file() and (out / "grades.csv").is_file()


def test_a_link_given_to_grader_grade_is_refused(attack_session, tmp_path):
    link = tmp_path / "hw3.py"
    link.symlink_to(REFERENCE / "__init__.py")
    assert_refused(attack_session.grade(link), "symlink")


@pytest.mark.parametrize("command", ["grade", "check"])
def test_the_command_line_refuses_a_link_with_exit_3(tmp_path, monkeypatch, capsys, command, shared_builds,
                                                     borrowed_sessions):
    monkeypatch.setenv("GRADER_SECRET", CANARY_SECRET)
    monkeypatch.chdir(tmp_path)
    link = tmp_path / "hw3.py"
    link.symlink_to(REFERENCE / "__init__.py")
    status = cli.main([command, str(link), "--json", str(tmp_path / "r.json")])
    captured = capsys.readouterr()
    assert status == cli.EXIT_UNREADABLE, captured.out[-500:]
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["score"] == 0 and "symlink" in {p["code"] for p in data["problems"]}
    assert "symbolic link" in captured.out and "Traceback" not in captured.out + captured.err


LINKS_IN_FOLDERS = {
    "file-link-out": lambda f: (f / "hw3.py").symlink_to(REFERENCE / "__init__.py"),
    "folder-link-out": lambda f: (f / "hw3").symlink_to(REFERENCE, target_is_directory=True),
    # a link that stays inside the folder is not followed either: no link is
    "file-link-inside": lambda f: ((f / "work").mkdir(), module(f / "work", CAROL, "real.py"),
                                   (f / "hw3.py").symlink_to(Path("work") / "real.py")),
    "link-through-linked-folder": lambda f: ((f / "ref").symlink_to(REFERENCE, target_is_directory=True),
                                             (f / "hw3.py").symlink_to(Path("ref") / "__init__.py")),
}


@pytest.mark.parametrize("variant", sorted(LINKS_IN_FOLDERS))
def test_a_folder_whose_only_submission_is_a_link_is_refused(attack_session, tmp_path, variant):
    student = tmp_path / "student"
    student.mkdir()
    LINKS_IN_FOLDERS[variant](student)
    assert_refused(attack_session.grade(student), "symlink")


def test_a_link_next_to_the_real_submission_is_ignored_and_said(attack_session, tmp_path):
    """A notebook link would win over the real module if it were followed; it is ignored, inside or out."""
    student = tmp_path / "student"
    student.mkdir()
    module(student, CAROL, "hw3.py")
    (student / "old").mkdir()
    notebook(student / "old", ["import os\nos._exit(1)"], "answers.ipynb")
    (student / "answers.ipynb").symlink_to(Path("old") / "answers.ipynb")      # inside the folder
    (student / "more.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")          # outside it
    result = attack_session.grade(student)
    assert result.score == FULL
    note = next(p for p in result.problems if p.code == "ignored-symlink")
    assert "answers.ipynb" in note.message and "link" in note.message


# ------------------------------------------------------------------------------------------------
# Finding 7: a FIFO hangs the batch; a sparse file makes it read 20 GB


SPECIAL = {"fifo": lambda p: (os.mkfifo(p), p)[1], "socket": make_socket, "device": make_device}


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_a_special_file_in_a_students_folder_does_not_stop_the_batch(attack_session, tmp_path, kind):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "alice.py")
    (folder / "bob").mkdir()
    module(folder / "bob", CAROL, "hw3.py")
    special = SPECIAL[kind](folder / "bob" / "data.npy")
    report = bounded(lambda: batch.run_batch(folder, out, attack_session.config, session=attack_session,
                                             progress=False), fifo_unblocker(special))
    by_name = {r.submission: r for r in report.results}
    assert by_name["alice"].score == FULL and by_name["bob"].score == FULL
    assert "ignored-special" in codes(by_name["bob"])
    assert (out / "summary.html").is_file()


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_a_special_file_as_the_submission_is_refused(attack_session, tmp_path, kind):
    """As the root given to `grader grade`, and as the only candidate in a folder."""
    root = SPECIAL[kind](tmp_path / "hw3.py")
    assert_refused(bounded(lambda: attack_session.grade(root), fifo_unblocker(root)), "special-file")
    student = tmp_path / "student"
    student.mkdir()
    inner = SPECIAL[kind](student / "hw3.ipynb")
    assert_refused(bounded(lambda: attack_session.grade(student), fifo_unblocker(inner)), "special-file")


def test_special_files_as_batch_entries_are_refused_and_the_batch_goes_on(attack_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    module(folder, CAROL, "alice.py")
    fifo = SPECIAL["fifo"](folder / "pipe.ipynb")
    SPECIAL["socket"](folder / "sock.py")
    report = bounded(lambda: batch.run_batch(folder, out, attack_session.config, session=attack_session,
                                             progress=False), fifo_unblocker(fifo))
    by_name = {r.submission: r for r in report.results}
    assert by_name["alice"].score == FULL
    assert_refused(by_name["pipe"], "special-file")
    assert_refused(by_name["sock"], "special-file")


def test_fingerprinting_a_fifo_or_a_device_never_blocks_or_reads_it(tmp_path):
    student = tmp_path / "student"
    student.mkdir()
    module(student, CAROL, "hw3.py")
    fifo = SPECIAL["fifo"](student / "pipe")
    (student / "deep" / "er").mkdir(parents=True)
    SPECIAL["fifo"](student / "deep" / "er" / "pipe2")
    first = bounded(lambda: batch.fingerprint(student), fifo_unblocker(fifo, student / "deep" / "er" / "pipe2"))
    assert first == batch.fingerprint(student)
    before = bytes_read()
    make_device(student / "zero")
    bounded(lambda: batch.fingerprint(student))
    assert bytes_read() - before < 64 * 2**20


def test_a_20_GB_sparse_file_is_never_read(tmp_path):
    """Next to a real submission, nested in a sub-folder, or as the submission itself: a stat, not
    a read (counted by the kernel), both when fingerprinting for the batch and when loading."""
    from grader.load import load

    student = tmp_path / "student"
    (student / "data").mkdir(parents=True)
    module(student, CAROL, "hw3.py")
    sparse(student / "weights.bin")
    sparse(student / "data" / "nested.npy")
    alone = sparse(tmp_path / "huge.ipynb")
    before = bytes_read()
    bounded(lambda: batch.fingerprint(student))
    bounded(lambda: batch.fingerprint(alone))
    assert load(student).filename == "hw3.py"
    with pytest.raises(Exception, match="limit"):
        load(alone)
    assert bytes_read() - before < 200 * 2**20, f"{(bytes_read() - before) / GB:.1f} GB read"
    fingerprint = batch.fingerprint(student)
    with open(student / "weights.bin", "r+b") as fh:   # a change to an over-size file still shows
        fh.truncate(20 * GB + 1)
    assert batch.fingerprint(student) != fingerprint


def test_a_batch_with_sparse_files_reads_only_what_it_grades(attack_session, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    (folder / "bob").mkdir(parents=True)
    module(folder, CAROL, "alice.py")
    module(folder / "bob", CAROL, "hw3.py")
    sparse(folder / "bob" / "big.bin")
    sparse(folder / "eve.ipynb")
    before = bytes_read()
    report = bounded(lambda: batch.run_batch(folder, out, attack_session.config, session=attack_session,
                                             progress=False))
    assert bytes_read() - before < GB, f"{(bytes_read() - before) / GB:.1f} GB read"
    by_name = {r.submission: r for r in report.results}
    assert by_name["alice"].score == FULL and by_name["bob"].score == FULL
    assert by_name["eve"].status == UNREADABLE and "too-large" in codes(by_name["eve"])


# ------------------------------------------------------------------------------------------------
# Folders built to exhaust the reader: deep, wide, badly named


def test_a_folder_nested_thousands_deep_does_not_stop_the_batch(attack_session, tmp_path):
    """Hashing walks a bounded depth (a recursive walk hit Python's recursion limit and took the
    whole batch down)."""
    folder, out = tmp_path / "in", tmp_path / "out"
    (folder / "bob").mkdir(parents=True)
    module(folder, CAROL, "alice.py")
    module(folder / "bob", CAROL, "hw3.py")
    nest(folder / "bob", 1500)
    try:
        report = bounded(lambda: batch.run_batch(folder, out, attack_session.config, session=attack_session,
                                                 progress=False))
    finally:
        unnest(folder / "bob")
    by_name = {r.submission: r for r in report.results}
    assert by_name["alice"].score == FULL and by_name["bob"].score == FULL


def nest(path: Path, levels: int) -> None:
    """`path`/d/d/.../d, `levels` deep, made through descriptors (the path is longer than PATH_MAX)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            deeper = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = deeper
    finally:
        os.close(fd)


def unnest(path: Path) -> None:
    """Remove what `nest` made, one level at a time from the top (no recursion, no long path)."""
    while (path / "d").is_dir():
        if (path / "d" / "d").is_dir():
            os.rename(path / "d" / "d", path / "d.next")
            os.rmdir(path / "d")
            os.rename(path / "d.next", path / "d")
        else:
            os.rmdir(path / "d")


def test_badly_named_links_and_files_get_a_plain_message(attack_session, tmp_path):
    """Names that are not UTF-8, or carry markup and control characters, in the refusal."""
    student = tmp_path / "student"
    student.mkdir()
    raw = os.fsencode(student) + b"/\xff<script>\x1b[31m.py"
    os.symlink(os.fsencode(REFERENCE / "__init__.py"), raw)
    result = attack_session.grade(student)
    assert_refused(result, "symlink")


@pytest.mark.parametrize("level", ["best", "rlimits"])
def test_a_shell_mkdir_makes_nothing_outside_the_sandbox(sessions, tmp_path, level):
    """`!mkdir` of named folders is done in the student's own process (studentshell.make_folders):
    aimed at the grader's checkout, the test's folder or up out of scratch, it can make no more
    than `os.makedirs` there could, which is nothing outside the sandbox."""
    targets = [tmp_path / "outside", ROOT / "grader" / "made_by_mkdir", ROOT / "made_by_mkdir"]
    command = "!mkdir -p " + " ".join(str(t) for t in targets) + " ../../../up_and_out"
    result = sessions(level).grade(notebook(tmp_path, [command, "%mkdir " + str(tmp_path / "plain"), CAROL]))
    assert result.score == FULL
    for target in targets + [tmp_path / "plain"]:
        assert not target.exists(), f"{target} was made from the sandbox"
