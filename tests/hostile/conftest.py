"""The red-team suite's shared parts: sessions with small limits, a correct solution to build attacks
on, and one check per promise of /work/shared/SECURITY.md.

Most attacks are "a correct solution for every question but one, plus an attack": the attacked
question must earn nothing it should not, and every other question must still get full marks.
Each test then checks the promises that apply: no secret in the result, no process of the student
uid left, nothing written outside scratch, every text field safe to show, the next submission
graded in full by the same worker.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import threading
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Iterable

import nbformat
import pytest

from assignments.hw3 import ASSIGNMENT
from grader.config import load_config
from grader.pipeline import HIDDEN_MESSAGES
from grader.results import PASSED, Result
from grader.runner import Limits
from grader.sandbox import FIRST_UID, MAX_LEASES
from grader.session import Session
from shared_cases import shared_case_set

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "submissions"
CAROL = (SUBMISSIONS / "carol_module.py").read_text(encoding="utf-8")
FULL = ASSIGNMENT.max_score
POINTS = {q.id: q.points for q in ASSIGNMENT.questions}
NAMES = {q.id: q.name for q in ASSIGNMENT.questions}

CANARY_SECRET = "canary-7f3a9c1e-grader-secret"
# Small limits keep the suite fast (a hanging call costs case_seconds plus a grace of a second), yet
# leave an honest call on a busy machine (other test runs, CI) plenty of time.
ATTACK_LIMITS = Limits(case_seconds=2, cell_seconds=4, submission_seconds=40, memory_mb=512, tmpfs_mb=16,
                       nproc=32, fsize_mb=4, output_bytes=20000)
# Most attacks of test_hostile_dos.py are waited out: time-outs shorter than the other families' keep it
# fast, and are still a hundred times what an honest call or cell of this homework takes. One
# time-out stops a question: its other cases would hang the same way (and each costs a busy
# half-second or more); stopping after a number of them is the runner's own tests' business.
DOS_LIMITS = replace(ATTACK_LIMITS, case_seconds=0.5, cell_seconds=2, timeouts_per_question=1)
ANSWER_BOUND = 60.0          # generous: every attack must be answered well within this (seconds)
STUDENT_UIDS = range(FIRST_UID, FIRST_UID + MAX_LEASES)
SHARED_TMP = [Path(p) for p in ("/tmp", "/var/tmp", "/dev/shm") if os.path.isdir(p)]


def attack_config(isolation: str | None = None, limits: Limits = ATTACK_LIMITS):
    """The configuration of every attack session: a secret that must never show, small limits."""
    return replace(load_config(env={"GRADER_SECRET": CANARY_SECRET}), limits=limits,
                   isolation=isolation, workers=1)


# The plain rlimits level (no Landlock) on a machine that has Landlock: its workers are given no
# ruleset. What it promises is weaker (README), and its clean-up of the host's shared temporary
# directories is a code path of its own.
PLAIN_RLIMITS = "rlimits-plain"


@contextlib.contextmanager
def _without_landlock():
    from grader import sandbox

    original = sandbox._landlock_args
    sandbox._landlock_args = lambda scratch, private=(): []
    try:
        yield
    finally:
        sandbox._landlock_args = original


def new_session(config, **options) -> Session:
    """`Session(config, **options)` on the test process's case set for the assignment and secret of
    `config` (shared_cases): the red team opens a Session per level and limits, and some tests one
    per grader run (a profile of a loaded suite run found 12% of the test processes' time in case
    set builds). The case set is only read, as every test already shares its session's; the
    Session's own build is tested wherever a test opens one without this."""
    return Session(config, case_set=shared_case_set(config), **options)


def open_session(level: str = "best", limits: Limits = ATTACK_LIMITS) -> Session:
    """A Session at `level`: "best", "bwrap", "rlimits", or PLAIN_RLIMITS (rlimits, Landlock withheld
    from the workers it starts now)."""
    if level == PLAIN_RLIMITS:
        with _without_landlock():
            return new_session(attack_config("rlimits", limits))
    return new_session(attack_config(None if level == "best" else level, limits))


class Sessions:
    """Warm Sessions, one per isolation level and limits, opened on first use and kept for the whole
    test process: each red-team file used to open its own (a worker start is ~0.4 s of CPU).

    Between files only the `keep` most recently used stay open (`trim`; most files use the best
    and the rlimits level with the usual limits): each holds one of this machine's hundred student
    uids (`sandbox.MAX_LEASES`, shared with every other grader and test run here; a full run at
    load ~40 found them all taken once), so a test process holds no more of them than a file of
    its own needs, plus these two. Within a file none is closed, as before. Sharing across files is
    what sharing within a file always was: every attack must leave its worker able to grade the
    next submission in full (`assert_next_graded_fully`), and a worker an attack killed is started
    again on the next run."""

    def __init__(self, keep: int = 2):
        self.keep = keep
        self._open: dict[tuple[str, Limits, bool], Session] = {}      # least recently used first

    def __call__(self, level: str = "best", limits: Limits = ATTACK_LIMITS, twin: bool = False) -> Session:
        """The kept Session of `level` and `limits`; with `twin`, a second one of the same level and
        limits, with workers of its own: the other student of a test that grades two at the same
        moment (each such test opened and closed one, a worker start each: ~0.2 s of CPU at the
        bwrap level, ~0.5 s at the rlimits levels)."""
        key = (level, limits, twin)
        session = self._open.pop(key, None)
        self._open[key] = session if session is not None else open_session(level, limits)
        return self._open[key]

    def trim(self) -> None:
        """Close the least recently used sessions beyond `keep`."""
        while len(self._open) > self.keep:
            self._open.pop(next(iter(self._open))).close()

    def close(self) -> None:
        for session in self._open.values():
            session.close()
        self._open.clear()


@pytest.fixture(scope="session")
def _kept_sessions():
    opened = Sessions()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def sessions(_kept_sessions):
    # The grader's own environment carries the secret too: nothing of it may reach the sandbox.
    # Set around every red-team file (not the whole run: other tests read the environment), so it
    # is there whenever one of these sessions starts a worker, first or again.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_SECRET", CANARY_SECRET)
        try:
            yield _kept_sessions
        finally:
            _kept_sessions.trim()


@pytest.fixture
def attack_session(sessions) -> Session:
    """The strongest isolation this machine has (bubblewrap here). Looked up by every test, so that
    the sessions kept between files are the ones the tests used last."""
    return sessions("best")


# ------------------------------------------------------------------------------------------------
# Writing submissions


def with_function(qid: str, body: str, base: str = CAROL) -> str:
    """The correct solution with question `qid`'s function (or value) replaced by `body`.

    `body` is appended, so it rebinds the name; the correct definition above it stays available
    to the attack under `_correct_<name>` when it wants to answer honestly after trying a trick.
    """
    name = NAMES[qid]
    return f"{base}\n\n_correct_{name} = {name}\n\n{body}\n"


def module(tmp_path: Path, source: str, name: str = "attack.py") -> Path:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return path


def notebook(tmp_path: Path, cells: Iterable[str], name: str = "attack.ipynb", markdown: Iterable[str] = ()) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_markdown_cell(m) for m in markdown] + [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


# ------------------------------------------------------------------------------------------------
# The promises


def scores(result: Result) -> dict[str, float]:
    return {q.id: q.score for q in result.questions}


def assert_honest(result: Result, attacked: dict[str, float] | Iterable[str] = ()) -> None:
    """No inflation, and no collateral damage inside the submission.

    `attacked` maps each attacked question to the most it may earn (a set means 0 for each);
    every other question must get full marks.
    """
    limits = dict(attacked) if isinstance(attacked, dict) else {qid: 0.0 for qid in attacked}
    got = scores(result)
    for qid, points in POINTS.items():
        if qid in limits:
            assert got[qid] <= limits[qid] + 1e-9, f"{qid} earned {got[qid]} > {limits[qid]}: {_messages(result, qid)}"
        else:
            assert got[qid] == points, f"{qid} (not attacked) earned {got[qid]} of {points}: {_messages(result, qid)}"
    assert result.seconds < ANSWER_BOUND
    assert result.isolation, "the result must say which isolation was used"


def _messages(result: Result, qid: str) -> list[str]:
    question = next(q for q in result.questions if q.id == qid)
    return sorted({f"{c.status}: {c.message[:200]}" for c in question.cases if c.status != PASSED})[:4]


def result_text(result: Result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, allow_nan=False)


def assert_no_leak(result: Result) -> None:
    """No secret, and hidden cases shown as pass/fail only."""
    text = result_text(result)
    assert CANARY_SECRET not in text
    for question in result.questions:
        for case in question.hidden:
            assert case.inputs is None and case.expected is None and case.got is None
            assert case.seconds == 0.0, "a hidden case's duration is the student process's claim"
            assert case.status == PASSED or case.message in HIDDEN_MESSAGES.values(), case.message
            assert not re.search(r"\d", case.message)


def hidden_numbers(session: Session, per_case: int = 3) -> list[str]:
    """The exact text of some numbers of every hidden input: none may appear in a result."""
    import numpy as np

    found = []
    for case in session.case_set.cases:
        if case.visibility != "hidden":
            continue
        for arg in case.args:
            values = arg.values() if isinstance(arg, dict) else [arg]
            for value in values:
                if isinstance(value, np.ndarray) and value.size:
                    # Random draws only: hand-picked inputs like 0.5 are shared with public cases.
                    texts = (repr(float(v)) for v in value.ravel())
                    found += islice((t for t in texts if len(t.lstrip("-").replace(".", "")) >= 12), per_case)
    return found


# Every character a hidden number's text (`repr` of a float) can hold: an occurrence of one lies
# wholly inside a maximal run of these characters.
_NUMBER_RUN = re.compile(r"[0-9.eE+\-]{12,}")


def number_runs(text: str) -> str:
    """The distinct runs of number characters of `text` (12 or more), joined by NUL: a hidden number
    is a substring of `text` exactly when it is a substring of this, which is far shorter (a result's
    text is ~100 kB and there are ~2,000 numbers to look for)."""
    return "\0".join(set(_NUMBER_RUN.findall(text)))


def assert_no_hidden_inputs(result: Result, session: Session) -> None:
    runs = number_runs(result_text(result))
    leaked = [n for n in hidden_numbers(session) if n in runs]
    assert not leaked, f"hidden inputs in the result: {leaked[:5]}"


def student_uids(session: Session) -> list[int]:
    """The student uids this session's workers hold (leased: no other grader uses them now)."""
    return [w.student_uid for w in getattr(session, "_all", []) if w.student_uid is not None]


def processes_of(uids: Iterable[int]) -> list[str]:
    """Live processes (not zombies) with one of `uids` as real, effective, saved or file-system uid."""
    wanted = set(uids)
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = (Path("/proc") / name / "status").read_text()
        except OSError:
            continue
        line = next((l for l in status.splitlines() if l.startswith("Uid:")), "")
        state = next((l for l in status.splitlines() if l.startswith("State:")), "State: ?")
        if state.split()[1] in ("Z", "X"):
            continue          # dead; only waiting for its new parent (init here) to reap it
        if wanted & {int(u) for u in line.split()[1:]}:
            found.append(f"{name}: {status.splitlines()[0]} {state}")
    return found


def checked_student_uids(session: Session) -> list[int]:
    """The student uids to look for leftovers of, never silently none: as root every worker has a uid
    of its own (else the checks below would pass vacuously); otherwise the student code runs as this
    very uid, its leftovers cannot be told from the test's own processes and files, and the test says
    so by skipping (after every other promise has been checked)."""
    uids = student_uids(session)
    if os.geteuid() == 0:
        assert uids, "the grader runs as root but no worker has a student uid of its own"
    elif not uids:
        pytest.skip("not root: the student code runs as this uid, so leftover processes and files of the "
                    "submission cannot be told apart from the test's own (run the suite as root)")
    return uids


def assert_no_processes(session: Session) -> None:
    left = processes_of(checked_student_uids(session))
    assert not left, f"processes of the student uid left after grading: {left}"


def files_owned_by(uids: Iterable[int], roots: Iterable[Path], depth: int = 3) -> list[str]:
    """Entries (down to `depth` levels) under `roots` owned by one of `uids`, symbolic links not
    followed, unreadable folders skipped.

    find(1) walks: a shared /tmp can hold tens of thousands of entries at this depth, and a walk in
    Python costs ~0.1 s of CPU there, after every attack."""
    wanted = sorted(set(uids))
    folders = [str(r) for r in roots if os.path.isdir(r)]
    if not wanted or not folders:
        return []
    owned = [arg for i, uid in enumerate(wanted) for arg in ((["-o"] if i else []) + ["-uid", str(uid)])]
    # -H: a root that is a symbolic link (/dev/shm on some systems) is walked, as os.scandir would.
    proc = subprocess.run(["find", "-H", *folders, "-mindepth", "1", "-maxdepth", str(depth), "(", *owned, ")", "-print0"],
                          capture_output=True, check=False)
    # Folders that cannot be read, or entries gone while walking, are skipped; any other trouble fails.
    troubles = [l for l in proc.stderr.decode(errors="replace").splitlines()
                if not l.endswith((": Permission denied", ": No such file or directory"))]
    assert proc.returncode == 0 or (proc.returncode == 1 and not troubles), proc.stderr[-2000:]
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def assert_nothing_written(session: Session, *extra: Path) -> None:
    """The student uid owns nothing outside scratch: not in the shared temporary directories,
    not in the repository, not in the test's own directories."""
    uids = checked_student_uids(session)
    roots = SHARED_TMP + [ROOT, *extra]
    scratch = [w.launch.scratch for w in getattr(session, "_all", []) if w.launch and w.launch.scratch]
    left = [f for f in files_owned_by(uids, roots) if not any(f.startswith(s + "/") for s in scratch)]
    assert not left, f"files written outside scratch: {left[:5]}"


def all_strings(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from all_strings(k)
            yield from all_strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from all_strings(v)


def assert_safe_text(result: Result) -> None:
    """Every string is free of NUL, escape sequences and other control characters, and encodes as
    UTF-8; the HTML report carries no markup from the submission."""
    for text in all_strings(result.to_dict()):
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text), repr(text[:200])
        text.encode("utf-8")
    from grader.render import html as renderer    # a renderer that cannot be imported fails the check

    html = renderer.report(result)
    lowered = html.lower()
    for tag in ("<script", "<img", "<iframe", "<svg onload", "<b>bold"):
        assert tag not in lowered, f"unescaped {tag} in the HTML report"
    assert "\x1b" not in html and "\x00" not in html
    html.encode("utf-8")


def assert_next_graded_fully(session: Session, tmp_path: Path) -> None:
    """The same worker then grades a correct submission in full, its output intact."""
    marker = "next-submission-output " * 40
    path = module(tmp_path, CAROL + f"\nwith open('note.txt', 'w') as fh:\n    fh.write('x')\nprint({marker!r})\n",
                  "next_correct.py")
    result = session.grade(path)
    assert result.score == FULL, [(q.id, q.score, _messages(result, q.id)) for q in result.questions if q.score < q.max_score]
    assert marker in result.output
    assert [c.status for c in result.cells] == ["ok"]


def assert_worker_survived(session: Session) -> None:
    """The zygote outlived the attack: nothing the submission did could reach it (the grader
    would recover from its loss, but then this check shows where the sandbox leaks)."""
    workers = getattr(session, "_all", [])
    assert workers and all(w.alive for w in workers), "the worker had to be replaced"


def assert_all_promises(result: Result, session: Session, tmp_path: Path,
                        attacked: dict[str, float] | Iterable[str] = ()) -> None:
    assert_worker_survived(session)
    assert_honest(result, attacked)
    assert_no_leak(result)
    assert_no_hidden_inputs(result, session)
    assert_safe_text(result)
    assert_no_processes(session)
    assert_nothing_written(session, tmp_path)


# ------------------------------------------------------------------------------------------------
# A listener on the grading machine that no submission may reach


class Listener:
    """A TCP server on the host's loopback and on its other addresses, counting connections."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def host_addresses() -> list[str]:
    """Addresses of this machine other than loopback (where a sandbox without network finds nothing)."""
    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    except OSError:
        pass
    return sorted(a for a in found if not a.startswith("127."))
