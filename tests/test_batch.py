"""`grader batch`: a folder of submissions in, per-student reports, a gradebook and a class view out.

What is promised: every submission gets a result and a report, whatever it is; one failing
submission (even a fault inside the grader) never stops the batch; a re-run skips what was already
graded with the same content, grader and cases; a batch killed half-way loses nothing it wrote.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_run import run_cli
from grader import batch
from grader.results import ERROR, GRADED, UNREADABLE
from grader.session import Session

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
QUESTION_IDS = ["1a", "1b", "2a", "2b", "2c", "2c-regime", "3-step", "3b", "3c-gates", "3c-cell", "3c-carousel"]


@pytest.fixture()
def class_dir(tmp_path: Path) -> Path:
    """A small class: notebooks, a module, an unreadable file, a folder submission, hidden clutter."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "alice.ipynb")
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    shutil.copy(SUBMISSIONS / "dave_broken.ipynb", folder / "dave.ipynb")
    (folder / "frank").mkdir()
    shutil.copy(SUBMISSIONS / "carol_module.py", folder / "frank" / "hw3.py")
    (folder / "frank" / "notes.txt").write_text("my notes\n")   # a module wins over written text
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    (folder / ".hidden_student.ipynb").write_text("{}")
    return folder


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def home(folder: Path, out: Path, name: str) -> Path:
    """The student `name`'s folder of reports, through the batch's one mapping (OUT/students/...)."""
    return batch.student_dir(out, next(s for s in batch.discover(folder, exclude=[out]) if s.name == name))


# ------------------------------------------------------------------------------------------------
# Finding submissions


def test_discover_skips_hidden_and_names_each_student_once(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("alice.ipynb", "alice.py", "Alice.txt", "<script>x.ipynb", ".secret.ipynb", "-rf.py"):
        (folder / name).write_text("x")
    (folder / "__pycache__").mkdir()
    (folder / "bob folder").mkdir()
    (folder / "reports").mkdir()
    found = batch.discover(folder, exclude=[folder / "reports"])
    names = [s.name for s in found]
    assert len(names) == len(set(n.lower() for n in names)) == 6
    assert set(names) == {"Alice", "alice-2", "alice-3", "script_x", "rf", "bob_folder"}
    for name in names:
        assert "/" not in name and not name.startswith(".") and name == batch.safe_name(name)


def test_discover_refuses_a_missing_folder(tmp_path: Path):
    with pytest.raises(batch.BatchError, match="not a folder"):
        batch.discover(tmp_path / "nope")


def test_fingerprint_follows_content_not_hidden_files(tmp_path: Path):
    one = tmp_path / "one"
    one.mkdir()
    (one / "hw.py").write_text("x = 1\n")
    first = batch.fingerprint(one)
    (one / ".ipynb_checkpoints").mkdir()
    (one / ".ipynb_checkpoints" / "hw.py").write_text("x = 2\n")
    assert batch.fingerprint(one) == first
    (one / "hw.py").write_text("x = 2\n")
    assert batch.fingerprint(one) != first
    (one / "hw.py").write_text("x = 1\n")
    (one / "extra.py").write_text("")
    assert batch.fingerprint(one) != first
    file = tmp_path / "hw.py"
    file.write_text("x = 1\n")
    assert batch.fingerprint(file) != first    # a file is not the folder holding it
    os.symlink("/etc/passwd", one / "link.py")
    assert batch.fingerprint(one) == batch.fingerprint(one)    # links are hashed by target, not read


# ------------------------------------------------------------------------------------------------
# A whole batch


def test_batch_writes_every_report_and_the_class_files(class_dir: Path, tmp_path: Path, session: Session):
    out = tmp_path / "out"
    seen = []
    report = batch.run_batch(class_dir, out, session.config, session=session, progress=False,
                             on_result=lambda s, r: seen.append(s.name))
    assert sorted(seen) == ["alice", "bob", "dave", "frank"]
    assert report.graded == 4 and report.reused == 0 and report.failures == 1
    by_name = {r.submission: r for r in report.results}
    assert by_name["alice"].score == pytest.approx(100)
    assert by_name["frank"].score == pytest.approx(100)
    assert 0 < by_name["bob"].score < 100
    assert by_name["dave"].status == UNREADABLE
    for name in by_name:
        folder = home(class_dir, out, name)
        assert folder.parent == out / "students"
        assert (folder / "report.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
        saved = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        assert saved["submission"] == name and saved["score"] == pytest.approx(by_name[name].score)
        assert (folder / "batch.json").is_file()
    assert not list(out.rglob("*.tmp"))

    rows = read_csv(out / "grades.csv")
    assert [r["student"] for r in rows] == ["alice", "bob", "dave", "frank"]
    for column in QUESTION_IDS + ["total", "status"]:
        assert column in rows[0]
    assert float(rows[0]["total"]) == pytest.approx(100)
    assert rows[2]["status"] == UNREADABLE

    everything = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [r["submission"] for r in everything["results"]] == ["alice", "bob", "dave", "frank"]
    assert everything["case_set"] == session.case_set.digest
    assert everything["results"] == [json.loads((home(class_dir, out, n) / "result.json").read_text(encoding="utf-8"))
                                     for n in ["alice", "bob", "dave", "frank"]]

    summary = (out / "summary.html").read_text(encoding="utf-8")
    for name in by_name:
        assert f'href="students/{home(class_dir, out, name).name}/report.html"' in summary

    review = (out / "review.html").read_text(encoding="utf-8")
    assert "2b-proof" in review and "alice" in review


def test_rerun_skips_unchanged_and_regrades_what_changed(class_dir: Path, tmp_path: Path, session: Session):
    out = tmp_path / "out"
    batch.run_batch(class_dir, out, session.config, session=session, progress=False)
    alice_report = (home(class_dir, out, "alice") / "report.html").stat().st_mtime_ns

    again = batch.run_batch(class_dir, out, session.config, session=session, progress=False)
    assert again.graded == 0 and again.reused == 4
    assert (home(class_dir, out, "alice") / "report.html").stat().st_mtime_ns == alice_report
    assert [r.score for r in again.results] == [json.loads((home(class_dir, out, n) / "result.json").read_text())["score"]
                                                for n in ("alice", "bob", "dave", "frank")]

    # bob hands in the correct notebook late; frank edits a file inside his folder
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", class_dir / "bob.ipynb")
    (class_dir / "frank" / "hw3.py").write_text("def sigmoid_jacobian(W, x):\n    return W\n")
    changed = []
    third = batch.run_batch(class_dir, out, session.config, session=session, progress=False,
                            on_result=lambda s, r: changed.append(s.name))
    assert sorted(changed) == ["bob", "frank"] and third.reused == 2
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert float(rows["bob"]["total"]) == pytest.approx(100)
    assert float(rows["frank"]["total"]) == pytest.approx(0)

    forced = batch.run_batch(class_dir, out, session.config, session=session, progress=False, force=True)
    assert forced.graded == 4 and forced.reused == 0


def test_a_changed_case_set_or_damaged_record_means_regrading(class_dir: Path, tmp_path: Path, session: Session):
    out = tmp_path / "out"
    batch.run_batch(class_dir, out, session.config, session=session, progress=False)
    record = json.loads((home(class_dir, out, "alice") / "batch.json").read_text())
    record["stamp"]["case_set"] = "0" * 16      # as if graded on other cases
    (home(class_dir, out, "alice") / "batch.json").write_text(json.dumps(record))
    (home(class_dir, out, "bob") / "batch.json").write_text("{ not json")
    (home(class_dir, out, "frank") / "report.html").unlink()       # a report lost: regrade rather than trust the record
    regraded = []
    batch.run_batch(class_dir, out, session.config, session=session, progress=False,
                    on_result=lambda s, r: regraded.append(s.name))
    assert sorted(regraded) == ["alice", "bob", "frank"]
    assert (home(class_dir, out, "frank") / "report.html").is_file()


class FaultySession(Session):
    """Fault injection: the grader itself raises on one submission (the real Session grades the rest)."""

    def grade(self, path, name=None):
        if name == "bob":
            raise RuntimeError("injected fault")
        return super().grade(path, name)


def test_a_grader_fault_costs_one_result_not_the_batch(class_dir: Path, tmp_path: Path, config, shared_builds):
    out = tmp_path / "out"
    with FaultySession(config) as faulty:
        report = batch.run_batch(class_dir, out, config, session=faulty, progress=False)
        by_name = {r.submission: r for r in report.results}
        assert by_name["bob"].status == ERROR and by_name["bob"].score == 0
        assert any("injected fault" in p.message for p in by_name["bob"].problems)
        assert by_name["alice"].status == GRADED and by_name["alice"].score == pytest.approx(100)
        assert (home(class_dir, out, "bob") / "report.html").is_file()
        assert not (home(class_dir, out, "bob") / "batch.json").exists()     # an error is never kept: retried next run
        rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
        assert rows["bob"]["status"] == ERROR
    retried = []
    batch.run_batch(class_dir, out, config, session=None, workers=1, progress=False,
                    on_result=lambda s, r: retried.append(s.name))
    assert retried == ["bob"]


def test_empty_folder_and_bad_workers_are_clear_errors(tmp_path: Path, config):
    (tmp_path / "in").mkdir()
    with pytest.raises(batch.BatchError, match="holds no submissions"):
        batch.run_batch(tmp_path / "in", tmp_path / "out", config, progress=False)
    (tmp_path / "in" / "a.py").write_text("x = 1\n")
    with pytest.raises(batch.BatchError, match="at least 1"):
        batch.run_batch(tmp_path / "in", tmp_path / "out", config, workers=0, progress=False)


# ------------------------------------------------------------------------------------------------
# The command line, interrupted


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GRADER_SECRET", None)
    return env


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    """`python -m grader *args` as a process of its own: for the batches that are killed or interrupted."""
    return subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=ROOT, env=_environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_at_a_terminal, **kwargs)


def _as_at_a_terminal() -> None:
    """Ctrl-C reaches the command as it does at a terminal, however the test run was started: a
    suite started in the background inherits SIGINT ignored, and Python then never turns it into
    KeyboardInterrupt (the interrupted-batch test would see a batch that cannot be interrupted)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _slow_class(folder: Path, count: int) -> None:
    """Module submissions that take a while to import, so a batch can be stopped half-way: the
    first one 0.6 s, the others 2.5 s each, so that the batch is still running when the test,
    however loaded the machine, sees the first one written and stops it (sleeping costs no CPU)."""
    folder.mkdir()
    body = (SUBMISSIONS / "carol_module.py").read_text(encoding="utf-8")
    for i in range(count):
        pause = 0.6 if i == 0 else 2.5
        (folder / f"s{i:02d}.py").write_text(f"import time\ntime.sleep({pause})\n# {i}\n" + body, encoding="utf-8")


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_an_interrupted_batch_loses_nothing_and_resumes(tmp_path: Path, how, shared_builds):
    folder, out = tmp_path / "in", tmp_path / "out"
    _slow_class(folder, 4)
    proc = _cli("batch", str(folder), "--out", str(out), "--workers", "1",
                start_new_session=True)
    _wait_for(home(folder, out, "s00") / "batch.json", proc)
    os.kill(proc.pid, how)
    _, stderr = proc.communicate(timeout=60)
    if how == signal.SIGINT:
        assert proc.returncode == 130 and "resume" in stderr
        assert "s00" in (out / "summary.html").read_text(encoding="utf-8")
    finished = [json.loads((p.parent / "result.json").read_text(encoding="utf-8"))["submission"]
                for p in out.glob("students/*/batch.json")]  # whatever is there is whole
    assert "s00" in finished and len(finished) < 4
    # the class files say first that the batch is unfinished, whether it was killed or interrupted
    first = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# INCOMPLETE: ") and "of 4 submissions not graded yet" in first
    assert "not graded yet" in (out / "summary.html").read_text(encoding="utf-8")
    assert "incomplete" in json.loads((out / "results.json").read_text(encoding="utf-8"))

    # the same command again (in this process: only the stopped run needs a process of its own)
    proc = run_cli(["batch", folder, "--out", out, "--workers", "2"], cwd=ROOT, env=_environment())
    assert proc.returncode == 0, proc.stderr
    assert f"{len(finished)} unchanged" in proc.stdout
    rows = read_csv(out / "grades.csv")
    assert [r["student"] for r in rows] == [f"s{i:02d}" for i in range(4)]
    assert all(float(r["total"]) == pytest.approx(100) for r in rows)
    assert not list(out.rglob(".*.tmp"))
    assert "not graded yet" not in (out / "summary.html").read_text(encoding="utf-8")


def test_cli_batch_on_a_missing_folder_exits_2(tmp_path: Path):
    proc = run_cli(["batch", tmp_path / "nope", "--out", tmp_path / "out"], cwd=ROOT, env=_environment())
    assert proc.returncode == 2 and "not a folder" in proc.stderr


# ------------------------------------------------------------------------------------------------
# TA scores for the written parts


def test_manual_scores_are_merged_and_follow_the_scores_file(class_dir: Path, tmp_path: Path, session: Session):
    out = tmp_path / "out"
    scores = tmp_path / "scores.csv"
    scores.write_text("student,part,score,comment\nalice,1a-derivation,4,good\nalice,2b-proof,5,\n", encoding="utf-8")
    report = batch.run_batch(class_dir, out, session.config, session=session, progress=False, manual_scores=scores)
    alice = next(r for r in report.results if r.submission == "alice")
    assert {w.id: w.score for w in alice.written}["1a-derivation"] == 4
    saved = json.loads((home(class_dir, out, "alice") / "result.json").read_text(encoding="utf-8"))
    assert {w["id"]: w["score"] for w in saved["written"]}["2b-proof"] == 5
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert float(rows["alice"]["written"]) == pytest.approx(9)
    assert float(rows["alice"]["total"]) == pytest.approx(109)

    # A corrected file: re-run grades nothing again, but the new TA scores show everywhere.
    scores.write_text("alice,1a-derivation,2\n", encoding="utf-8")
    again = batch.run_batch(class_dir, out, session.config, session=session, progress=False, manual_scores=scores)
    assert again.graded == 0
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert float(rows["alice"]["total"]) == pytest.approx(102)
    saved = json.loads((home(class_dir, out, "alice") / "result.json").read_text(encoding="utf-8"))
    assert {w["id"]: w["score"] for w in saved["written"]}["2b-proof"] is None

    # Without the file, the TA scores are kept, not dropped (issue 12; tests/test_kept_scores.py).
    plain = batch.run_batch(class_dir, out, session.config, session=session, progress=False)
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert float(rows["alice"]["total"]) == pytest.approx(102)
    assert any("re-applied" in note for note in plain.notes)


def test_a_bad_scores_file_still_leaves_complete_grades(class_dir: Path, tmp_path: Path, shared_builds):
    out, scores = tmp_path / "out", tmp_path / "scores.csv"
    scores.write_text("nobody,1a-derivation,4\nalice,1a-derivation,400\n", encoding="utf-8")
    proc = run_cli(["batch", class_dir, "--out", out, "--workers", "1", "--manual-scores", scores], cwd=ROOT,
                   env=_environment())
    stderr = proc.stderr
    assert proc.returncode == 2
    assert "line 1" in stderr and "line 2" in stderr and "without these TA scores" in stderr
    rows = read_csv(out / "grades.csv")
    assert [r["student"] for r in rows] == ["alice", "bob", "dave", "frank"]
    assert (out / "summary.html").is_file()


def test_two_hand_ins_of_one_student_never_share_a_folder(tmp_path: Path):
    """An LMS download can hold two hand-ins that the roster puts on one student (flagged, never
    merged): each keeps a folder of its own, told apart by the LMS's id of the hand-in."""
    from grader.results import Student

    first = batch.Submission("ana", tmp_path / "a.ipynb", student=Student(id="1001", lms="canvas", submission_id="5001"))
    second = batch.Submission("ana-2", tmp_path / "b.ipynb", student=Student(id="1001", lms="canvas",
                                                                            submission_id="5002"))
    assert batch.student_dir(tmp_path, first) != batch.student_dir(tmp_path, second)
    again = batch.Submission("ana", tmp_path / "elsewhere.ipynb",
                             student=Student(id="1001", lms="canvas", submission_id="5001"))
    assert batch.student_dir(tmp_path, first) == batch.student_dir(tmp_path, again)    # stable across runs


def test_a_batchs_collections_leave_out_what_existed_before_it(class_dir: Path, tmp_path: Path, session: Session,
                                                              collector_unfrozen):
    """A batch collects garbage (give_back_memory, twice) and Python collects as it allocates; in a
    process that lives on (this test session, a notebook) walking everything it ever kept made
    those collections cost ~0.1-0.3 s per batch. What existed before the batch is frozen while it
    runs (gc.freeze: left out of every collection), and given back to the collector when it ends,
    whether it ends well or not."""
    import gc

    kept_before = object.__new__(type("KeptBefore", (), {}))       # tracked by the collector
    assert gc.is_tracked(kept_before) and gc.get_freeze_count() == 0
    frozen_during: list[int] = []
    batch.run_batch(class_dir, tmp_path / "out", session.config, session=session, progress=False,
                    on_result=lambda s, r: frozen_during.append(gc.get_freeze_count()))
    assert len(frozen_during) == 4 and min(frozen_during) > 0       # everything from before: left out
    assert gc.get_freeze_count() == 0                                # ... and given back
    with pytest.raises(batch.BatchError):
        batch.run_batch(tmp_path / "no-such-folder", tmp_path / "out2", session.config, session=session,
                        progress=False)
    assert gc.get_freeze_count() == 0                                # a batch that fails gives it back too


def test_a_process_that_froze_objects_itself_keeps_them_frozen(class_dir: Path, tmp_path: Path, session: Session,
                                                               collector_unfrozen):
    """A service that froze its objects itself (before forking, say) keeps its own policy."""
    import gc

    gc.freeze()
    try:
        report = batch.run_batch(class_dir, tmp_path / "out", session.config, session=session, progress=False)
        assert report.graded == 4
        assert gc.get_freeze_count() > 0                             # still frozen: the batch did not unfreeze
    finally:
        gc.unfreeze()


def test_the_command_lines_summary_agrees_with_the_class_view(class_dir: Path, tmp_path: Path, session: Session):
    """`grader batch` ends with the class's mean: the one summary.html shows (over the graded
    submissions, out of the class's maximum), not a mean that counts the blank template and the
    unreadable file as zeros; each note is printed once; one changed total reads as one."""
    shutil.copy(SUBMISSIONS / "template.ipynb", class_dir / "blank.ipynb")
    out = tmp_path / "out"
    scores = tmp_path / "scores.csv"
    scores.write_text("student,part,score,comment\nalice,1a-derivation,4,\n", encoding="utf-8")
    report = batch.run_batch(class_dir, out, session.config, session=session, progress=False, manual_scores=scores)
    text = batch.describe(report, out)
    page = (out / "summary.html").read_text(encoding="utf-8")
    mean = re.search(r'id="mean">([^<]*)<span class="of">/ ([^<]*)</span>', page)
    assert mean, "summary.html shows the mean"
    assert f"mean {mean.group(1)}/{mean.group(2)}" in text, text
    assert "over 3 graded" in text, text          # alice, bob, frank; not the blank one nor dave
    for note in report.notes:
        assert text.count(note) == 1, (note, text)

    (class_dir / "bob.ipynb").write_text((SUBMISSIONS / "alice_correct.ipynb").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    again = batch.run_batch(class_dir, out, session.config, session=session, progress=False)
    assert again.changed == 1
    assert "1 student's total changed since the last run" in batch.describe(again, out)


def test_a_second_batch_into_an_out_folder_in_use_is_refused_and_changes_nothing(class_dir: Path, tmp_path: Path,
                                                                               session: Session):
    """Two TAs merging their scores files, or a re-run started while the last one still writes,
    wrote the same class files and kept scores at once: the one that finished last silently
    replaced the other's. A batch holds its output folder for as long as it runs; a second one
    into the same folder stops at once with a clear error and touches nothing there."""
    import fcntl

    out = tmp_path / "out"
    batch.run_batch(class_dir, out, session.config, session=session, progress=False)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != batch.LOCK}
    holder = os.open(out / batch.LOCK, os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)          # as the batch still running holds it
        with pytest.raises(batch.BatchError, match="another grader batch or merge is writing"):
            batch.run_batch(class_dir, out, session.config, session=session, progress=False, force=True)
        after = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != batch.LOCK}
        assert after == before
    finally:
        os.close(holder)
    again = batch.run_batch(class_dir, out, session.config, session=session, progress=False, force=True)
    assert again.outcomes                                            # free again once the first has ended
