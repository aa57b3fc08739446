"""Shared fixtures: one warm grading session for the whole test run (starting a worker costs ~0.4 s)."""
from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from grader.config import Config, load_config
from grader.session import Session
from grader.spec import PUBLIC, CaseSet
from shared_cases import shared_build, shared_builds, shared_case_set  # noqa: F401 - shared_builds: a fixture

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"

# pytest keeps each test module with its assertions rewritten in __pycache__ (ignored by git), unless
# bytecode writing is off (PYTHONDONTWRITEBYTECODE, as in some shells and CI images): then every
# xdist worker parses and rewrites all the test modules again, 2-3 s of CPU each on every run (a
# first run in a fresh clone pays that either way). The cache is the test run's own, so it is kept
# whatever the environment says; subprocesses and the sandboxed workers still follow it (and -B).
sys.dont_write_bytecode = False


@pytest.fixture(scope="session")
def config():
    return load_config(env={})


@pytest.fixture(scope="session")
def session(config, warm_sessions):
    """Instructor view: public and hidden cases (demo secret), on the process's shared case set."""
    return warm_sessions.pinned(config)


@pytest.fixture(scope="session")
def public_session(config, warm_sessions):
    """Student self-check view: public cases only."""
    return warm_sessions.pinned(config, PUBLIC)


class WarmSessions:
    """Warm Sessions kept for the whole test process, one per configuration and visibility, on the
    process's shared build (shared_cases): for the grading the grader starts itself (`grader grade`,
    Gradescope's entry point; see `borrowed_sessions`) and tests that need a configuration of their
    own. Each Session started a worker (~0.5 s of CPU at the bwrap level, ~1 s at the rlimits level,
    measured in a cgroup on this machine); a kept one grades the next submission as the session
    fixture does, the zygote's clean-up between jobs keeping one job from another.

    Only the `keep` most recently used stay open, besides the pinned ones (the `session` and
    `public_session` fixtures, open until the end): each holds one of the machine's hundred student
    uids (sandbox.MAX_LEASES), shared with every other test run here."""

    def __init__(self, keep: int = 2):
        self.keep = keep
        self._pinned: list[tuple[Config, str, Session]] = []
        self._open: list[tuple[Config, str, Session]] = []       # least recently used first

    def __call__(self, config: Config, visibility: str = "all") -> Session:
        """The kept Session of `config` and `visibility` (Config holds dicts: looked up by equality)."""
        for kept_config, kept_visibility, session in self._pinned:
            if kept_config == config and kept_visibility == visibility:
                return session
        for i, (kept_config, kept_visibility, session) in enumerate(self._open):
            if kept_config == config and kept_visibility == visibility:
                self._open.append(self._open.pop(i))
                return session
        self._open.append((config, visibility, self._start(config, visibility)))
        while len(self._open) > self.keep:
            self._open.pop(0)[2].close()
        return self._open[-1][2]

    def pinned(self, config: Config, visibility: str = "all") -> Session:
        """The Session of `config` and `visibility`, kept open until the end of the test process."""
        for i, (kept_config, kept_visibility, session) in enumerate(self._open):
            if kept_config == config and kept_visibility == visibility:
                self._pinned.append(self._open.pop(i))
                return session
        for kept_config, kept_visibility, session in self._pinned:
            if kept_config == config and kept_visibility == visibility:
                return session
        self._pinned.append((config, visibility, self._start(config, visibility)))
        return self._pinned[-1][2]

    @staticmethod
    def _start(config: Config, visibility: str) -> Session:
        secret = None if visibility == PUBLIC else config.secret
        return Session(config, visibility=visibility, case_set=shared_build(config.load_assignment(), secret))

    def close(self) -> None:
        for _, _, session in self._pinned + self._open:
            session.close()
        self._pinned.clear()
        self._open.clear()


@pytest.fixture(scope="session")
def warm_sessions() -> Iterator[WarmSessions]:
    kept = WarmSessions()
    try:
        yield kept
    finally:
        kept.close()


class _Borrowed:
    """A kept Session lent to a `with Session(...) as session:` of the grader's own: the block's end
    leaves it open for the next test."""

    def __init__(self, session: Session):
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc) -> None:
        pass


@pytest.fixture
def borrowed_sessions(warm_sessions, monkeypatch) -> None:
    """While the test runs, a one-worker `Session(config[, visibility])` that the grader opens itself
    (`grader grade`, Gradescope's entry point) is the kept one of `warm_sessions`, for tests of what
    those print and write, not of a Session's start (tests/test_font_list.py, the red team's own
    sessions, the batches' own sessions keep starting theirs)."""
    import grader.session

    real = grader.session.Session

    def borrow(config: Config, visibility: str = "all", workers: int = 1, case_set: CaseSet | None = None,
               extras=None):
        if workers != 1 or case_set is not None or extras is not None:
            return real(config, visibility=visibility, workers=workers, case_set=case_set, extras=extras)
        return _Borrowed(warm_sessions(config, visibility))

    monkeypatch.setattr(grader.session, "Session", borrow)


@pytest.fixture(scope="session")
def public_cases(config) -> CaseSet:
    """The public cases, as the self-check has them (built without a secret): one set, and so one
    memo, for every test file of this process that checks on them (see shared_cases)."""
    return shared_case_set(config, PUBLIC)


@pytest.fixture(scope="session")
def made_once(tmp_path_factory) -> Callable[[str, Callable[[Path], None]], Path]:
    """`made_once(name, make)`: a folder that `make` fills once per test run, shared by the xdist workers.

    For what costs seconds to make and is only read afterwards (a virtualenv with a pip install): as
    a module fixture, each worker that runs one of its tests would make its own. The first worker
    makes it under a lock, the others wait for it; one that fails to make it leaves nothing behind,
    so the next one tries again (and fails the same way, with its own message)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent            # this run's folder, shared by its workers (never another run's)

    def make_once(name: str, make: Callable[[Path], None]) -> Path:
        folder = base / name
        with open(base / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / ".made").is_file():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                try:
                    make(folder)
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
                (folder / ".made").touch()
        return folder

    return make_once


@pytest.fixture()
def collector_unfrozen() -> None:
    """Wait until no block of grader.heap runs in this process and nothing is frozen, so that a
    test can assert the collector's state. A batch stopped by Ctrl-C lets its grading threads
    finish their current grade in the background (each inside such a block), and the test
    process that ran it may run this test next. Fails if that does not happen within 60 s."""
    import gc
    import time

    from grader import heap

    deadline = time.monotonic() + 60
    while heap.blocks_running() or gc.get_freeze_count():
        assert time.monotonic() < deadline, "a grade or batch of an earlier test is still running"
        time.sleep(0.05)


# ------------------------------------------------------------------------------------------------
# Files that share what is costly to make: one xdist worker runs them all


# The browser files share one headless Chromium and one graded class (the batch their pages come
# from): each file made its own, ~1.5 s of CPU for a browser and ~2 s for the batch each time.
SHARED_SCOPES = {
    "tests/test_browser.py": "browser",
    "tests/test_browser_staff.py": "browser",
    "tests/test_browser_phone.py": "browser",
}


# The units of work that take longest (measured: their tests' durations summed), heaviest first.
# xdist hands out units by their number of tests, which starts test_diagnosis's 143 quick tests
# before test_kit's 11 slow ones: a long unit handed out last is the run's tail, one worker busy
# while the others have nothing left. Started first, the short units fill in around them. Units
# not named here follow in xdist's order; a name that no longer exists changes nothing.
LONGEST_FIRST = (
    "tests/hostile/test_hostile_memory.py",
    "browser",
    "tests/hostile/test_hostile_kernel.py",
    "tests/test_batch.py",
    "tests/test_student_styles.py",
    "tests/hostile/test_hostile_dos.py",
    "tests/hostile/test_hostile_leaks.py",
    "tests/test_kit.py",
    "tests/test_gradescope.py",
    "tests/hostile/test_hostile_tampering.py",
    "tests/test_jupyter.py",
    "tests/hostile/test_hostile_sandbox.py",
    "tests/test_portable.py",
)


def _longest_first(unit: str) -> int:
    return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, except that the files of SHARED_SCOPES are one unit of work (their session
    fixtures are then made once, on the worker that runs them all), and the units of LONGEST_FIRST
    are handed out first."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFileScheduling(LoadFileScheduling):
        _ordered = False

        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return SHARED_SCOPES.get(path, path)

        def _assign_work_unit(self, node) -> None:
            if not self._ordered:         # the queue is complete when the first unit is handed out
                units = sorted(self.workqueue.items(), key=lambda unit: _longest_first(unit[0]))
                self.workqueue.clear()
                self.workqueue.update(units)
                self._ordered = True
            super()._assign_work_unit(node)

    return SharedFileScheduling(config, log)


class SharedBrowser:
    """One headless Chromium for every browser file, started when a test first needs it and quit
    as soon as the browser files are done (`pytest_runtest_teardown`), not when the test process
    ends: an idle headless Chromium still burns CPU (its browser, GPU and renderer processes took
    ~100 s of CPU in a 2,000 s run on a loaded machine, nearly all of it after its last test)."""

    def __init__(self) -> None:
        self._driver = None
        self._profile: str | None = None

    def get(self):
        if self._driver is None:
            self._driver, self._profile = _start_chromium()
        return self._driver

    def quit(self) -> None:
        driver, profile, self._driver, self._profile = self._driver, self._profile, None, None
        try:
            if driver is not None:
                driver.quit()
        finally:
            if profile is not None:
                shutil.rmtree(profile, ignore_errors=True)


def _start_chromium():
    """Headless Chromium (tests/test_browser.py says when it is skipped) and its profile folder."""
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    from test_browser import CHROMEDRIVER, CHROMIUM, WIDTH

    profile = tempfile.mkdtemp(prefix="grader-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={WIDTH},1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options), profile
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise


_BROWSER = SharedBrowser()


@pytest.fixture(scope="session")
def _browser_quit_at_the_end():
    """Whatever happens, no Chromium outlives the test process."""
    yield _BROWSER
    _BROWSER.quit()


@pytest.fixture
def driver(_browser_quit_at_the_end):
    """The shared headless Chromium (see SharedBrowser)."""
    return _browser_quit_at_the_end.get()


def _browser_unit(item) -> bool:
    if item is None:
        return False
    path = Path(str(item.path)).resolve()
    return path.is_relative_to(ROOT) and SHARED_SCOPES.get(path.relative_to(ROOT).as_posix()) == "browser"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Quit the shared Chromium after the last test of the browser files this process runs, once
    that test's own fixtures (which may still use it) are torn down."""
    try:
        return (yield)
    finally:
        if _browser_unit(item) and not _browser_unit(nextitem):
            _BROWSER.quit()


@pytest.fixture(scope="session")
def staff_class(session, tmp_path_factory) -> Path:
    """The bundled examples graded as a class (`grader batch`): the staff's pages and the phone
    widths look at it, and none of their tests changes it."""
    from grader import batch

    folder = tmp_path_factory.mktemp("in")
    for name in ("alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py", "dave_broken.ipynb",
                 "seed_written.md", "template.ipynb"):
        shutil.copy(SUBMISSIONS / name, folder / name)
    target = tmp_path_factory.mktemp("out")
    batch.run_batch(folder, target, session.config, session=session, progress=False)
    return target
