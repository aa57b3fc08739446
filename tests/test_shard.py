"""Past one machine: `batch --shard K/N` grades a deterministic slice; `merge` builds one class view."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from grader import batch, shard
from grader.cli import main
from batch_output import student_folder

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"


def test_slices_are_deterministic_disjoint_and_cover_everyone():
    names = [f"student{i}" for i in range(200)]
    slices = [[n for n, _ in shard.select([(n, None) for n in names], f"{k}/4")] for k in range(1, 5)]
    assert sorted(sum(slices, [])) == sorted(names)
    assert all(len(s) > 20 for s in slices)                      # sha256 spreads them
    # a student's slice does not depend on who else is in the class
    assert [n for n, _ in shard.select([("student7", None)], f"{shard.slice_of('student7', 4)}/4")] == ["student7"]
    for bad in ("0/3", "4/3", "x", "1/0", ""):
        with pytest.raises(ValueError):
            shard.parse(bad)


def test_three_local_shards_merge_to_the_unsharded_class(tmp_path: Path, session, config, shared_builds):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(["alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py",
                              "dave_broken.ipynb", "alice_correct.ipynb", "carol_module.py"]):
        shutil.copy(SUBMISSIONS / name, folder / f"s{i}_{name}")
    whole = batch.run_batch(folder, tmp_path / "whole", config, session=session, progress=False)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{r.submission},{r.submission}\n" for r in whole.results)
                      + "ghost,Never Handed In\n", encoding="utf-8")
    outs = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}"
        report = batch.run_batch(folder, out, config, session=session, progress=False, shard=f"{k}/3",
                                 roster=roster)
        assert {r.submission for r in report.results} == {        # its slice, and no "missing" rows:
            r.submission for r in whole.results if shard.slice_of(r.submission, 3) == k}   # a shard cannot know
        assert "grader merge --roster lists the missing" in batch.describe(report, out)
        outs.append(str(out))
    merged = tmp_path / "merged"
    assert main(["merge", *outs, "--out", str(merged)]) == 0
    data = json.loads((merged / "results.json").read_text(encoding="utf-8"))
    got = {r["submission"]: r["score"] for r in data["results"]}
    assert got == {r.submission: r.score for r in whole.results}
    assert data["case_set"] == session.case_set.digest
    rows = list(csv.DictReader(io.StringIO((merged / "grades.csv").read_text(encoding="utf-8"))))
    assert sorted(r["student"] for r in rows) == sorted(got)
    for name in got:
        assert (student_folder(merged, name) / "report.html").is_file()
    assert main(["merge", outs[0], outs[0], "--out", str(tmp_path / "twice")]) == 2     # a student in two shards
    assert main(["merge", *outs, "--out", str(tmp_path / "with-roster"), "--roster", str(roster)]) == 0
    data = json.loads((tmp_path / "with-roster" / "results.json").read_text(encoding="utf-8"))
    missing = [r for r in data["results"] if r["status"] == "no-submission"]
    assert [r["student"]["id"] for r in missing] == ["ghost"]
    assert all(r["student"]["on_roster"] for r in data["results"])


def test_a_merge_into_an_out_folder_in_use_is_refused_and_changes_nothing(tmp_path: Path, session, config, capsys,
                                                                          shared_builds):
    """`grader merge` wrote OUT's reports and class files without holding OUT, as a batch does
    (batch.holding): two merges into one OUT at once (two TAs, or a merge started while a batch
    still writes there) each wrote the class files, and the last to finish silently replaced the
    other's. A merge now holds OUT too: one started while OUT is held stops before it writes."""
    import fcntl
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "carol_module.py", folder / "carol.py")
    shard_out = tmp_path / "shard1"
    batch.run_batch(folder, shard_out, config, session=session, progress=False, shard="1/1")
    out = tmp_path / "merged"
    out.mkdir()
    holder = os.open(out / batch.LOCK, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)           # as another merge or batch still writing
        capsys.readouterr()
        assert main(["merge", str(shard_out), "--out", str(out)]) == 2
        assert "another grader batch or merge is writing" in capsys.readouterr().err   # names what holds it
        assert sorted(p.name for p in out.iterdir()) == [batch.LOCK]  # nothing written
    finally:
        os.close(holder)
    assert main(["merge", str(shard_out), "--out", str(out)]) == 0     # free again once the other has ended
    assert (out / "results.json").is_file()
