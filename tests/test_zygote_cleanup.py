"""The zygote's clean-up after a job (as root, with a student uid of its own): it keeps every
promise without a process of its own, and the zygote is itself again afterwards."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from grader import sandbox

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh process that becomes a zygote (its own uid, CAP_SETUID and CAP_SETGID only), starts
# a "job" as the student uid (a child and a daemonised grandchild, files in scratch and in a shared
# /tmp), then cleans up with the zygote's own Cleanup. RLIMIT_NPROC of 1 for the zygote's uid: the
# zygote cannot start another process, as a zygote at its process limit could not.
HELPER = textwrap.dedent('''
    import json, os, resource, sys, time
    from grader import worker
    uid, zygote_uid, scratch, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    worker.become_zygote(zygote_uid, zygote_uid)
    ready_r, ready_w = os.pipe()
    job = os.fork()
    if job == 0:
        try:
            null = os.open(os.devnull, os.O_WRONLY)      # a job that outlives a failed clean-up does
            os.dup2(null, 1)                             # not keep the test waiting for its output
            os.dup2(null, 2)
            worker.become_student(uid, uid)
            os.makedirs(os.path.join(scratch, "job", "deep", "er"))
            open(os.path.join(scratch, "job", "deep", "er", "f"), "w").close()
            open(os.path.join(tmp, "left-by-the-job"), "w").close()
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.write(ready_w, b"x")
                    time.sleep(60)
                os._exit(0)
            time.sleep(60)
        finally:
            os._exit(1)
    os.close(ready_w)
    if os.read(ready_r, 1) != b"x":
        raise SystemExit("the job could not start")
    others = open(os.path.join(tmp, "not-the-jobs"), "w")
    others.close()
    resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
    ids = (os.getresuid(), os.getresgid(), os.getgroups())
    cleanup = worker.Cleanup(scratch, [tmp], False)
    try:
        problem = cleanup.run((uid, uid))
    except OSError as exc:
        problem = f"{type(exc).__name__}: {exc}"
    alive = worker._live_processes_of(uid, exclude=os.getpid())
    status = worker._proc_status("self")
    print(json.dumps({
        "problem": problem, "alive": alive,
        "tmp": sorted(os.listdir(tmp)),
        "same_ids": (os.getresuid(), os.getresgid(), os.getgroups()) == ids,
        "caps": int(status["CapEff"], 16), "cwd": os.getcwd(),
    }))
    os.waitpid(job, os.WNOHANG)
''')


@pytest.mark.skipif(os.geteuid() != 0, reason="a student uid of its own needs root")
def test_the_zygote_cleans_up_a_job_without_a_process_of_its_own():
    lease = sandbox.UidLease.claim()
    base = Path(tempfile.mkdtemp(prefix="zygote-cleanup-"))    # beside pytest's folders, which are 0700
    try:
        base.chmod(0o755)
        scratch, tmp = base / "scratch", base / "tmp"
        scratch.mkdir()
        tmp.mkdir()
        tmp.chmod(0o1777)
        os.chown(scratch, lease.uid, lease.uid)
        scratch.chmod(0o700)
        done = subprocess.run([sys.executable, "-c", HELPER, str(lease.uid), str(lease.zygote_uid), str(scratch),
                               str(tmp)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        left_in_scratch = os.listdir(scratch)
    finally:
        lease.release()
        shutil.rmtree(base, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["problem"] == ""
    assert report["alive"] == []                      # the child and the daemonised grandchild
    assert left_in_scratch == []
    assert report["tmp"] == ["not-the-jobs"]          # only the job's entries are removed
    assert report["same_ids"]
    setuid_setgid = (1 << 6) | (1 << 7)
    assert report["caps"] == setuid_setgid            # the next job can still be made the student
    assert report["cwd"] == "/"


# A job of one process that has run for a while (its memory written, so that its exit takes the
# kernel some time), then the zygote's clean-up given that process: it waits for the job's
# process to end, then looks through /proc once, instead of looking again and again while it dies.
WAITS_HELPER = textwrap.dedent('''
    import json, os, sys
    from grader import worker
    uid, zygote_uid, scratch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    worker.become_zygote(zygote_uid, zygote_uid)
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()
    job = os.fork()
    if job == 0:
        try:
            null = os.open(os.devnull, os.O_WRONLY)      # the test waits for the helper's output only
            os.dup2(null, 1)
            os.dup2(null, 2)
            worker.become_student(uid, uid)
            held = bytearray(64 * 2**20)
            held[::4096] = b"x" * len(held[::4096])
            os.write(ready_w, b"x")
            os.read(hold_r, 1)          # until killed
        finally:
            os._exit(1)
    if os.read(ready_r, 1) != b"x":
        raise SystemExit("the job could not start")
    scans = []
    real = worker._live_processes_of
    worker._live_processes_of = lambda *a, **k: scans.append(1) or real(*a, **k)
    problem = worker.Cleanup(scratch, [], False).run((uid, uid), job)
    worker._live_processes_of = real
    _, status = os.waitpid(job, 0)
    print(json.dumps({"problem": problem, "scans": len(scans), "killed": os.WIFSIGNALED(status),
                      "alive": worker._live_processes_of(uid, exclude=os.getpid())}))
''')


@pytest.mark.skipif(os.geteuid() != 0, reason="a student uid of its own needs root")
def test_the_clean_up_waits_for_the_jobs_process_instead_of_polling_proc():
    lease = sandbox.UidLease.claim()
    base = Path(tempfile.mkdtemp(prefix="zygote-cleanup-"))
    try:
        base.chmod(0o755)
        scratch = base / "scratch"
        scratch.mkdir()
        os.chown(scratch, lease.uid, lease.uid)
        runs = [subprocess.run([sys.executable, "-c", WAITS_HELPER, str(lease.uid), str(lease.zygote_uid),
                                str(scratch)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}) for _ in range(3)]
    finally:
        lease.release()
        shutil.rmtree(base, ignore_errors=True)
    for done in runs:
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.splitlines()[-1])
        assert report["problem"] == "" and report["killed"] and report["alive"] == []
        assert report["scans"] == 1
