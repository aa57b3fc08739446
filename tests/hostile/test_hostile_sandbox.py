"""The sandbox's claims, each checked from inside a submission, and the fallback made visible.

Claims (grader/sandbox.py): a read-only Python installation without the grader's own packages; no
secret, configuration or results path reachable; a private writable scratch; no network (see the
DoS family); its own PID namespace; dies with the grader; a clean environment; rlimits on CPU,
address space, file size, open files and processes; an unprivileged uid of its own, separate from
the zygote's. Where bubblewrap is missing or cannot start, the rlimits level is used and says so,
and --require-sandbox refuses (exit 4).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import (ATTACK_LIMITS, CAROL, FULL, ROOT, assert_all_promises, attack_config, checked_student_uids,
                      module, new_session, processes_of, student_uids)
from grader import cli, sandbox
from grader.runner import Worker

LEVELS = ["best", "rlimits"]


def _report(session, tmp_path, code: str) -> dict:
    """Run `code` at top level after the correct solution; it prints one JSON line, returned here."""
    source = CAROL + "\nimport json as _j\n" + code + "\nprint('REPORT ' + _j.dumps(report))\n"
    result = session.grade(module(tmp_path, source))
    assert_all_promises(result, session, tmp_path)
    line = next(l for l in result.output.splitlines() if l.startswith("REPORT "))
    return json.loads(line[len("REPORT "):])


@pytest.fixture
def visible_dir():
    """A world-readable, world-writable directory outside any sandbox, holding a config and a secret."""
    path = Path("/tmp") / f"hw3-visible-{os.getpid()}-{time.monotonic_ns()}"
    path.mkdir(mode=0o777)
    os.chmod(path, 0o777)
    (path / "grader.toml").write_text('[grader]\nsecret = "canary-config-secret"\n')
    os.chmod(path / "grader.toml", 0o644)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("level", LEVELS)
def test_identity_capabilities_and_limits(sessions, tmp_path, level):
    session = sessions(level)
    report = _report(session, tmp_path, '''
import os, resource
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
try:
    parent = dict(l.split(":", 1) for l in open(f"/proc/{os.getppid()}/status").read().splitlines() if ":" in l)
    parent_uid = int(parent["Uid"].split()[0])
except FileNotFoundError:
    parent_uid = None                  # out of sight (the rlimits level as root: a /proc with hidepid)
report = {"uids": list(os.getresuid()), "gids": list(os.getresgid()), "groups": os.getgroups(),
          "cap_eff": status["CapEff"].strip(), "cap_prm": status["CapPrm"].strip(), "nnp": status["NoNewPrivs"].strip(),
          "parent_uid": parent_uid, "parent_pid": os.getppid(),
          "limits": {name: resource.getrlimit(getattr(resource, name))[0]
                     for name in ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE")}}
''')
    uid = report["uids"][0]
    assert report["uids"] == [uid] * 3 and report["gids"] == [uid] * 3 and report["groups"] == []
    assert uid in student_uids(session) and uid >= sandbox.FIRST_UID
    parent_uid = report["parent_uid"]
    if parent_uid is None:
        # The student cannot see the zygote at all; its uid, seen from outside (no PID namespace here):
        assert level == "rlimits"
        status = Path(f"/proc/{report['parent_pid']}/status").read_text()
        parent_uid = int(next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1])
    assert parent_uid not in (0, uid)                           # the zygote has a uid of its own
    assert int(report["cap_eff"], 16) == 0 and int(report["cap_prm"], 16) == 0 and report["nnp"] == "1"
    limits = report["limits"]
    assert limits["RLIMIT_CPU"] == ATTACK_LIMITS.cpu_seconds
    assert limits["RLIMIT_FSIZE"] == ATTACK_LIMITS.fsize_mb * 2**20
    assert limits["RLIMIT_NOFILE"] == ATTACK_LIMITS.nofile
    assert limits["RLIMIT_NPROC"] == ATTACK_LIMITS.nproc
    assert limits["RLIMIT_CORE"] == 0
    assert 0 < limits["RLIMIT_AS"] < (ATTACK_LIMITS.memory_mb + 4096) * 2**20


@pytest.mark.parametrize("level", LEVELS)
def test_limits_bite(sessions, tmp_path, level):
    session = sessions(level)
    report = _report(session, tmp_path, f'''
import os
report = {{}}
handles = []
try:
    for i in range(10_000):
        handles.append(open(os.devnull))
except OSError as exc:
    report["files"] = [len(handles), type(exc).__name__]
for h in handles:
    h.close()
try:
    with open("big", "wb") as fh:
        fh.write(b"x" * ({ATTACK_LIMITS.fsize_mb} * 2**20 + 1))
        fh.flush()
    report["fsize"] = "written"
except OSError as exc:
    report["fsize"] = type(exc).__name__
try:
    hog = bytearray({ATTACK_LIMITS.memory_mb + 256} * 2**20)
    report["memory"] = "allocated"
except MemoryError:
    report["memory"] = "MemoryError"
children = 0
try:
    for i in range(1000):
        pid = os.fork()
        if pid == 0:
            import time
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as exc:
    report["procs"] = [children, type(exc).__name__]
''')
    assert report["files"][0] < ATTACK_LIMITS.nofile and report["files"][1] == "OSError"
    assert report["fsize"] != "written"
    assert report["memory"] == "MemoryError"
    assert report["procs"][0] < ATTACK_LIMITS.nproc


@pytest.mark.parametrize("level", LEVELS)
def test_clean_environment(sessions, tmp_path, level, monkeypatch):
    monkeypatch.setenv("HW3_LEAK_PROBE", "canary-environment")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    # The worker's interpreter honours the PYTHON* variables of its environment (for its hash seed:
    # sandbox.WORKER_PYTHON_FLAGS), so none of the grader's own may reach it: these would run a
    # startup file, keep the zygote waiting at a prompt after its script, or turn warnings into errors.
    monkeypatch.setenv("PYTHONSTARTUP", str(ROOT / "grader" / "__init__.py"))
    monkeypatch.setenv("PYTHONINSPECT", "1")
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    session = new_session(attack_config(None if level == "best" else level))
    try:
        report = _report(session, tmp_path, "import os, sys\nreport = {'env': dict(os.environ), 'path': sys.path}")
    finally:
        session.close()
    env = report["env"]
    assert "HW3_LEAK_PROBE" not in env and "PYTHONPATH" not in env
    assert not {"PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONWARNINGS"} & set(env)
    assert env["PYTHONHASHSEED"] == "0"
    assert not any(k.startswith("GRADER") for k in env)
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "IPYTHONDIR", "MPLBACKEND", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                        "MKL_NUM_THREADS", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "LC_ALL", "LANG", "LC_CTYPE",
                        "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PWD"}
    # The checkout is not on the path; a virtualenv that happens to live inside it (CI makes .venv
    # there) is the Python installation, which the sandbox shows read-only on purpose.
    installation = (sys.prefix, sys.exec_prefix)
    assert not any(p.startswith(str(ROOT)) and not p.startswith(installation) for p in report["path"])


@pytest.mark.parametrize("level", LEVELS)
def test_installation_read_only_scratch_private_and_writable(sessions, tmp_path, level):
    session = sessions(level)
    report = _report(session, tmp_path, '''
import os, sys, tempfile
report = {}
for name, folder in (("prefix", sys.prefix), ("numpy", os.path.dirname(__import__("numpy").__file__))):
    try:
        with open(os.path.join(folder, "student-was-here"), "w") as fh:
            fh.write("x")
        report[name] = "written"
    except OSError as exc:
        report[name] = type(exc).__name__
with open("scratch-file", "w") as fh:
    fh.write("mine")
report["scratch"] = open("scratch-file").read()
with tempfile.NamedTemporaryFile("w", delete=False) as fh:
    fh.write("tmp")
report["tmp"] = open(fh.name).read()
report["listing"] = sorted(os.listdir("."))
''')
    assert report["prefix"] != "written" and report["numpy"] != "written"
    assert report["scratch"] == "mine" and report["tmp"] == "tmp"
    assert set(report["listing"]) <= {".output", "scratch-file", ".ipython"} | {n for n in report["listing"] if n.startswith("tmp")}
    assert not (Path(sys.prefix) / "student-was-here").exists()


@pytest.mark.parametrize("level", LEVELS)
def test_configuration_secret_and_results_paths_unreachable(sessions, tmp_path, level, visible_dir):
    session = sessions(level)
    report = _report(session, tmp_path, f'''
report = {{}}
try:
    report["config"] = open({str(visible_dir / "grader.toml")!r}).read()
except OSError as exc:
    report["config"] = type(exc).__name__
try:
    with open({str(visible_dir / "results.json")!r}, "w") as fh:
        fh.write("forged")
    report["results"] = "written"
except OSError as exc:
    report["results"] = type(exc).__name__
''')
    if level == "rlimits" and "landlock" not in session.grade(module(tmp_path, CAROL, "probe.py")).isolation:
        pytest.skip("without Landlock, world-readable files stay readable at the rlimits level (documented)")
    assert "canary-config-secret" not in report["config"]
    assert report["results"] != "written" and not (visible_dir / "results.json").exists()


def test_own_pid_namespace(attack_session, tmp_path):
    """The student sees only its own sandbox's processes, in a pid namespace that is not the grader's.

    (Not "its pid is small": the session is shared, and a zygote that has forked a few hundred jobs
    before this test, as a full run's red-team files do, hands out pids in the hundreds, 249 once.)"""
    report = _report(attack_session, tmp_path, '''
import os
pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
cmdlines = []
for p in pids:
    try:
        cmdlines.append(open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace"))
    except OSError:
        pass
report = {"pids": pids, "me": os.getpid(), "pytest": any("pytest" in c for c in cmdlines),
          "namespace": os.readlink("/proc/self/ns/pid")}
''')
    assert len(report["pids"]) < 10 and report["me"] in report["pids"]
    assert report["namespace"] != os.readlink("/proc/self/ns/pid"), "the student shares the grader's pid namespace"
    assert not report["pytest"]


@pytest.fixture(params=["/var/tmp", "/tmp"])
def fake_site(request):
    """A site-packages-like directory with an installed `reference` and an innocent neighbour, where
    any uid can reach it; also under /tmp, where a CI checkout's venv lives (the sandbox has a
    /tmp of its own, which must not hide it)."""
    root = Path(request.param) / f"hw3-site-{os.getpid()}-{time.monotonic_ns()}"
    for package, text in (("reference", "ANSWER = 'leaked'\n"), ("neighbour", "VALUE = 'visible'\n")):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text(text)
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("level", LEVELS)
def test_hidden_packages_inside_the_installation(tmp_path, monkeypatch, fake_site, level):
    """An installed grader puts `reference` next to numpy: the sandbox must hide it (bwrap: an
    empty tmpfs over it; rlimits with Landlock: no read right beneath it) while its neighbours
    stay importable."""
    original_roots = sandbox._python_roots
    monkeypatch.setattr(sandbox, "_python_roots", lambda: original_roots() + [str(fake_site)])
    monkeypatch.setattr(sandbox, "_hidden_dirs", lambda private=(): [str(fake_site / "reference")])
    source = CAROL + f'''
import sys
sys.path.append({str(fake_site)!r})
import neighbour
print("neighbour", neighbour.VALUE)
try:
    import reference
    print("reference", getattr(reference, "ANSWER", "empty"))
except ImportError as exc:
    print("reference hidden", type(exc).__name__)
try:
    print("read", open({str(fake_site / "reference" / "__init__.py")!r}).read())
except OSError as exc:
    print("read refused", type(exc).__name__)
'''
    with new_session(attack_config(None if level == "best" else level)) as session:
        result = session.grade(module(tmp_path, source))
    if level == "rlimits" and "landlock" not in result.isolation:
        pytest.skip("without Landlock the rlimits level cannot hide world-readable files (documented)")
    assert "neighbour visible" in result.output, result.output[-500:]
    assert "leaked" not in result.output, result.output[-500:]


def test_fallback_when_bubblewrap_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))          # no bwrap on PATH
    assert shutil.which("bwrap") is None and "not installed" in sandbox.bwrap_why_not()
    with new_session(attack_config()) as session:
        result = session.grade(module(tmp_path, CAROL))
        assert result.score == FULL
        assert result.isolation.startswith("rlimits")
        notes = [p.message for p in result.problems if p.code == "isolation"]
        assert any("bubblewrap unavailable" in n and "not installed" in n for n in notes)


def test_fallback_when_bubblewrap_cannot_start(tmp_path, monkeypatch):
    """Simulates a machine where user namespaces are blocked: bwrap exists but fails."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with new_session(attack_config()) as session:
        result = session.grade(module(tmp_path, CAROL))
    assert result.score == FULL and result.isolation.startswith("rlimits")
    assert any("No permissions to creating new namespace" in p.message for p in result.problems if p.code == "isolation")


def _failing_bwrap(tmp_path: Path, monkeypatch) -> Path:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    return fake


def test_require_sandbox_refuses_when_bubblewrap_cannot_start(tmp_path, monkeypatch, capsys):
    """No probe runs before the first worker: its failed start is the refusal, for grade and batch alike."""
    _failing_bwrap(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    path = module(tmp_path, CAROL)
    status = cli.main(["grade", "--require-sandbox", str(path), "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert status == cli.EXIT_SANDBOX
    assert "No permissions to creating new namespace" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "carol.py").write_text(CAROL)
    status = cli.main(["batch", "--require-sandbox", str(folder), "--out", str(tmp_path / "out")])
    assert status == cli.EXIT_SANDBOX and "required" in capsys.readouterr().err
    assert not list((tmp_path / "out").rglob("report.html"))   # nobody was graded as an internal error


def test_bubblewrap_failing_after_it_worked_is_an_error_not_a_downgrade(tmp_path, monkeypatch):
    """Once a bwrap worker came up in this process, a later failure to start one (whatever a
    submission did to cause it) must never quietly weaken the sandbox for the next submissions."""
    fake = _failing_bwrap(tmp_path, monkeypatch)
    sandbox.VERDICTS.record(str(fake), ATTACK_LIMITS.tmpfs_mb, "")     # as if a worker had started
    with new_session(attack_config()) as session:
        result = session.grade(module(tmp_path, CAROL))
    assert result.score == 0 and result.status == "error"
    assert not result.isolation.startswith("rlimits")
    assert any("did not start" in p.message for p in result.problems)


def test_require_sandbox_refuses_without_bubblewrap(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    path = module(tmp_path, CAROL)
    status = cli.main(["grade", "--require-sandbox", str(path), "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert status == cli.EXIT_SANDBOX == 4
    assert "bwrap" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def test_rlimits_requested_explicitly_is_reported(sessions, tmp_path):
    session = sessions("rlimits")
    result = session.grade(module(tmp_path, CAROL))
    assert result.score == FULL and result.isolation.startswith("rlimits")
    data = result.to_dict()
    assert data["isolation"] == result.isolation


def test_two_sessions_never_share_a_student_uid(sessions, tmp_path):
    first = sessions("best")
    first.grade(module(tmp_path, CAROL))
    second = sessions("best", twin=True)
    second.grade(module(tmp_path, CAROL, "again.py"))
    assert set(checked_student_uids(first)).isdisjoint(checked_student_uids(second))


GRADER_THEN_KILLED = r'''
import sys, time, json
sys.path.insert(0, {root!r})
sys.path.insert(0, {here!r})
from grader.runner import Limits, Worker, run_program
from grader.load import load
worker = Worker(level={level!r}, limits=Limits(cell_seconds=120, submission_seconds=300))
worker.start()
started = open(f"/proc/{{worker.proc.pid}}/stat").read().rsplit(")", 1)[1].split()[19]
print(json.dumps({{"uid": worker.student_uid, "zygote": [worker.proc.pid, started]}}), flush=True)
run_program(worker, load({path!r}), [])
'''


def _running(pid: int, started: str) -> bool:
    """Whether process `pid`, started at `started` (clock ticks since boot), is alive: a pid alone
    may already belong to another process on a busy machine."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == started and fields[0] not in ("Z", "X")


@pytest.mark.parametrize("level", LEVELS)
def test_everything_dies_with_the_grader(tmp_path, level):
    """SIGKILL the grader while the submission hangs at top level with a detached daemon: with
    bwrap everything goes at once (--die-with-parent, PID namespace); with rlimits the zygote
    goes (parent-death signal) and the next worker to take the uid kills what is left."""
    daemon = '''
import os, time
if os.fork() == 0:
    try:
        os.setsid()         # refused by the filter: a job's processes share its session
    except OSError:
        pass
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
time.sleep(600)
'''
    path = module(tmp_path, CAROL + daemon)
    code = GRADER_THEN_KILLED.format(root=str(ROOT), here=str(Path(__file__).parent),
                                     level=None if level == "best" else level, path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    info = json.loads(proc.stdout.readline())
    if info["uid"] is None:
        proc.kill()
        proc.wait()
        assert os.geteuid() != 0, "the grader runs as root but its worker has no student uid of its own"
        pytest.skip("not root: the submission runs as this uid, so its leftover processes cannot be told apart")
    deadline = time.monotonic() + 20
    while len(processes_of([info["uid"]])) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(processes_of([info["uid"]])) >= 2, "the submission and its daemon should be running"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (processes_of([info["uid"]]) if level == "best" else
                                           _running(*info["zygote"])):
        time.sleep(0.05)
    if level == "best":
        assert not processes_of([info["uid"]]), "the sandbox outlived the grader"
    else:
        assert not _running(*info["zygote"]), "the zygote outlived the grader"
        lease_index = info["uid"] - sandbox.FIRST_UID
        worker = Worker(slot=lease_index, level="rlimits", limits=ATTACK_LIMITS)
        try:
            worker.start()
            if worker.student_uid == info["uid"]:
                assert not processes_of([info["uid"]])
        finally:
            worker.close()
        deadline = time.monotonic() + 5
        while processes_of([info["uid"]]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not processes_of([info["uid"]]), "the next worker on this uid did not remove what was left"
