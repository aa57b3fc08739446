"""The Gradescope autograder: the zip, the harness run end to end, and results.json to the letter.

results.json is validated against a JSON Schema of Gradescope's specification
(tests/gradescope_schema.json). The harness is simulated as Gradescope runs it: the zip unpacked
into ROOT/source (with its file modes), the submission in ROOT/submission beside
submission_metadata.json, and the zip's own `run_autograder` executed with AUTOGRADER_ROOT=ROOT and
the current interpreter first on PATH as `python3` (setup.sh, which installs system packages, is
not run). The promises checked: a result always; hidden cases never shown beyond pass/fail; the
secret only in the root-only secret file; a time-out costs its question, not the submission.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from grader import gradescope
from grader.config import DEMO_SECRET, load_config
from grader.render import gradescope as render
from grader.results import PASSED
from grader.runner import Limits
from grader.spec import HIDDEN, PUBLIC

from gradescope_run import run_autograder
from cli_run import run_cli
from shared_cases import shared_case_set

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
SCHEMA = json.loads((Path(__file__).with_name("gradescope_schema.json")).read_text(encoding="utf-8"))
SECRET = "tests-gradescope-secret-7f3a9c"
QUESTION_IDS = ["1a", "1b", "2a", "2b", "2c", "2c-regime", "3-step", "3b", "3c-gates", "3c-cell", "3c-carousel"]
HIDDEN_LINE = re.compile(r"^(`\w+`: \d+ of \d+ hidden cases pass\.|[✓✗] hidden case \d+: "
                         r"(passed|wrong answer|raised an exception or returned something that is not an answer|"
                         r"took too long|the process died|the name is not defined|not run|did not pass))$")

# A hostile module: right on 1(a) except that it shouts its inputs in an exception, and loops forever
# in 3(c) carousel. Everything else is carol's correct module.
LEAKY = '''
def sigmoid_jacobian(W, x):
    raise ValueError("LEAK " + repr(W.tolist()) + repr(x.tolist()) + "<script>alert(1)</script>\\x1b[31m")

def cell_state_gradient(fs):
    while True:
        pass
'''


def validate(data: dict) -> None:
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.fixture(scope="module")
def secret_config():
    """A real (non-demo) secret, short case time limits so that time-outs are cheap."""
    config = load_config(env={"GRADER_SECRET": SECRET})
    return dataclasses.replace(config, limits=Limits(case_seconds=0.5), hidden_visibility="after_due_date")


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory, secret_config) -> Path:
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    gradescope.build_autograder(out, secret_config)
    return out


def unpack(zip_path: Path, dest: Path) -> None:
    """Unzip as Gradescope does, keeping each member's permission bits."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(dest / info.filename, mode)


def harness(tmp_path: Path, zip_path: Path, files: dict[str, bytes], metadata: bool = True) -> tuple[dict, str]:
    root = tmp_path / "autograder"
    unpack(zip_path, root / "source")
    (root / "submission").mkdir(parents=True)
    for name, data in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)
    if metadata:
        (root / "submission_metadata.json").write_text(json.dumps(
            {"id": 1, "created_at": "2026-01-01T00:00:00Z", "submission_method": "upload",
             "users": [{"email": "s@example.edu", "id": 7, "name": "A Student"}],
             "assignment": {"id": 3, "title": "HW3", "total_points": "100.0"}, "previous_submissions": []}))
    proc = run_autograder(root, tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = root / "results" / "results.json"
    data = json.loads(results.read_text(encoding="utf-8"))
    validate(data)
    return data, proc.stdout


def by_number(data: dict) -> dict[str, dict]:
    return {t["number"]: t for t in data["tests"]}


# ------------------------------------------------------------------------------------------------
# The zip


def test_zip_has_what_gradescope_needs(built_zip: Path):
    with zipfile.ZipFile(built_zip) as archive:
        names = set(archive.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in archive.infolist()}
        for required in ("setup.sh", "run_autograder", "grader.toml", "hidden_secret", "Dockerfile",
                         "src/pyproject.toml", "src/grader/cli.py", "src/reference/__init__.py",
                         "src/assignments/hw3/__init__.py", "src/templates/report.html"):
            assert required in names
        assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
        assert modes["hidden_secret"] == 0o600
        setup = archive.read("setup.sh").decode()
        assert "apt-get install -y python3 python3-pip python3-venv bubblewrap" in setup
        assert "pip install" in setup and "chmod -R go-rwx" in setup
        assert "for package in grader reference assignments; do" in setup     # what HW3's registry declares
        assert archive.read("run_autograder").decode().startswith("#!")
        assert "grader gradescope" in archive.read("run_autograder").decode()
        assert archive.read("Dockerfile").decode().count("FROM gradescope/autograder-base") == 1
        toml = archive.read("grader.toml").decode()
        assert 'secret_file = "hidden_secret"' in toml and 'hidden_visibility = "after_due_date"' in toml
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_the_secret_is_only_in_the_root_only_secret_file(built_zip: Path):
    with zipfile.ZipFile(built_zip) as archive:
        holders = [n for n in archive.namelist() if SECRET.encode() in archive.read(n)]
    assert holders == ["hidden_secret"]
    assert stat.S_IMODE(built_zip.stat().st_mode) == 0o600


def test_refuses_the_demo_secret_unless_allowed(tmp_path: Path):
    demo = load_config(env={})
    with pytest.raises(gradescope.GradescopeError, match="DEMO secret"):
        gradescope.build_autograder(tmp_path / "a.zip", demo)
    assert not (tmp_path / "a.zip").exists()
    gradescope.build_autograder(tmp_path / "a.zip", demo, allow_demo_secret=True)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.read("hidden_secret").decode().strip() == DEMO_SECRET


def test_cli_build_autograder_refuses_demo_secret(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = run_cli(["build-autograder", tmp_path / "a.zip"], cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "--allow-demo-secret" in proc.stderr


# ------------------------------------------------------------------------------------------------
# From an ordinary install (pip install ., not editable): no checkout to package


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GRADER_", "VIRTUAL_ENV"))}


@pytest.fixture(scope="module")
def installed_zip(made_once) -> Path:
    """`pip install .` (a copy of the project, so that the build leaves the checkout alone) into a fresh
    virtualenv, then that install's own `grader build-autograder`, run away from any checkout: made
    once per test run, whichever workers run the tests that use it."""
    return made_once("installed", _build_from_an_install) / "autograder.zip"


def _build_from_an_install(base: Path) -> None:
    import sysconfig

    from grader.config import tomllib

    project = base / "project"
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {p.split(".")[0] for p in meta["packages"]} | set(meta.get("package-dir", {}).values())
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in sorted(folders):
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    env_dir = base / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env_dir)],
                   check=True, timeout=120)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # numpy & co. from this test's environment, as plain path entries (no .pth processed: this
    # environment's editable install of the grader stays out of the new one).
    lent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_lent_site_packages.pth").write_text("\n".join(sorted(lent)) + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--disable-pip-version-check", str(project)],
                             capture_output=True, text=True, timeout=300, env=_clean_env(), cwd=base)
    assert install.returncode == 0, install.stderr
    where = subprocess.run([str(python), "-c", "import grader, os; print(os.path.realpath(grader.__file__))"],
                           capture_output=True, text=True, env=_clean_env(), cwd=base, check=True).stdout
    assert where.startswith(os.path.realpath(site)), where          # the installed copy, not the checkout
    out = base / "autograder.zip"
    build = subprocess.run([str(env_dir / "bin" / "grader"), "build-autograder", str(out)], capture_output=True,
                           text=True, timeout=300, env={**_clean_env(), "GRADER_SECRET": SECRET}, cwd=base)
    assert build.returncode == 0, build.stderr


def test_build_autograder_works_from_an_ordinary_install(installed_zip: Path, tmp_path: Path):
    with zipfile.ZipFile(installed_zip) as archive:
        names = set(archive.namelist())
        for required in ("setup.sh", "run_autograder", "grader.toml", "hidden_secret", "src/pyproject.toml",
                         "src/grader/cli.py", "src/grader/templates/report.html", "src/grader/templates/style.css",
                         "src/reference/__init__.py", "src/assignments/hw3/__init__.py"):
            assert required in names, required
        assert not any("__pycache__" in n or n.endswith(".pyc") or ".dist-info" in n for n in names)
        archive.extractall(tmp_path / "unpacked")
    # What Gradescope's setup.sh does with src/: build and install it. The wheel must hold the templates.
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--disable-pip-version-check", "-w", str(tmp_path / "wheels"), str(tmp_path / "unpacked" / "src")],
                           capture_output=True, text=True, timeout=300, env=_clean_env(), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        inside = set(archive.namelist())
    assert {"grader/templates/report.html", "assignments/hw3/__init__.py", "reference/__init__.py"} <= inside


def test_the_autograder_from_an_ordinary_install_grades(installed_zip: Path, tmp_path: Path):
    data, _ = harness(tmp_path, installed_zip, {"alice_correct.ipynb": (SUBMISSIONS / "alice_correct.ipynb").read_bytes()})
    assert data["score"] == pytest.approx(100)


# ------------------------------------------------------------------------------------------------
# The harness, end to end


def test_harness_grades_a_correct_notebook(tmp_path: Path, built_zip: Path):
    data, stdout = harness(tmp_path, built_zip, {"alice_correct.ipynb": (SUBMISSIONS / "alice_correct.ipynb").read_bytes()})
    assert data["score"] == pytest.approx(100)
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(100)
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(100)
    tests = by_number(data)
    for qid in QUESTION_IDS:
        assert tests[qid]["visibility"] == "visible" and tests[qid]["status"] == "passed"
    assert tests["1a hidden"]["visibility"] == "after_due_date"    # from the config, through grader.toml
    assert "A Student" in stdout and "auto 100/100" in stdout         # the instructor's log: the report's breakdown
    assert SECRET not in json.dumps(data)


def test_harness_a_timeout_costs_its_question_and_nothing_leaks(tmp_path: Path, built_zip: Path, secret_config):
    secret_file = tmp_path / "autograder" / "source" / "hidden_secret"
    probe = (f"import os\nprint('uid', os.getuid())\n"
             f"try:\n    print('SECRET-READ', open({str(secret_file)!r}).read())\n"
             f"except OSError as exc:\n    print('SECRET-DENIED', type(exc).__name__)\n")
    module = probe + (SUBMISSIONS / "carol_module.py").read_text(encoding="utf-8") + LEAKY
    data, _ = harness(tmp_path, built_zip, {"hw3.py": module.encode()}, metadata=False)
    assert "SECRET-DENIED" in data["output"] and "SECRET-READ" not in data["output"]
    if os.geteuid() == 0:                  # as on Gradescope: the student's code runs as a uid of its own
        assert "uid 0\n" not in data["output"] and re.search(r"uid 6\d{4}", data["output"])
    tests = by_number(data)
    assert tests["3c-carousel"]["score"] == 0 and tests["3c-carousel hidden"]["score"] == 0
    assert "took longer than" in tests["3c-carousel"]["output"]    # after two time-outs the rest is not run
    assert tests["1a"]["score"] == 0 and "LEAK" in tests["1a"]["output"]   # public: the student's own error
    for qid in QUESTION_IDS:
        if qid not in ("1a", "3c-carousel"):
            assert tests[qid]["status"] == "passed"
            if f"{qid} hidden" in tests:
                assert tests[f"{qid} hidden"]["status"] == "passed"
    assert data["score"] == pytest.approx(100 - 10 - 5)
    assert_no_hidden_leak(data, secret_config)


def test_harness_unreadable_and_empty_submissions_still_get_results(tmp_path: Path, built_zip: Path):
    data, _ = harness(tmp_path / "a", built_zip, {"dave.ipynb": (SUBMISSIONS / "dave_broken.ipynb").read_bytes()})
    assert data["score"] == 0 and "could not be graded" in data["output"]
    data, _ = harness(tmp_path / "b", built_zip, {})
    assert data["score"] == 0 and data["tests"]


def test_harness_finds_a_notebook_inside_an_uploaded_folder(tmp_path: Path, built_zip: Path):
    data, _ = harness(tmp_path, built_zip,
                      {"hw3/alice.ipynb": (SUBMISSIONS / "alice_correct.ipynb").read_bytes()})
    assert data["score"] == pytest.approx(100)


def test_harness_with_a_broken_setup_still_writes_a_valid_result(tmp_path: Path, built_zip: Path):
    root = tmp_path / "autograder"
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(built_zip) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = b"[grader\nnot toml" if info.filename == "grader.toml" else src.read(info)
            dst.writestr(info, data)
    data, stdout = harness(tmp_path, broken, {"a.ipynb": (SUBMISSIONS / "alice_correct.ipynb").read_bytes()})
    assert data["score"] == 0 and "could not grade" in data["output"]
    assert "not valid TOML" in stdout
    assert (root / "results" / "results.json").is_file()


# ------------------------------------------------------------------------------------------------
# Rendering (pure function of a Result)


def assert_no_hidden_leak(data: dict, config) -> None:
    """No hidden input, expected value or hidden-only label appears anywhere in results.json."""
    text = json.dumps(data, ensure_ascii=False)
    case_set = shared_case_set(config)
    public_labels = {c.label for c in case_set.cases if c.visibility == PUBLIC}
    for case in case_set.cases:
        if case.visibility != HIDDEN:
            continue
        if case.label not in public_labels:
            assert f"({case.label})" not in text
        for value in list(case.args) + [case.expected]:
            arrays = value.values() if isinstance(value, dict) else [value]
            for array in arrays:
                if isinstance(array, np.ndarray):
                    for x in array.ravel()[:8]:
                        if len(repr(float(x))) >= 12:       # a "random" float: a match is a leak
                            assert repr(float(x)) not in text, f"hidden value of {case.uid} leaked"
    for test in data["tests"]:
        if test["number"].endswith("hidden"):
            for line in test["output"].splitlines():
                assert HIDDEN_LINE.match(line), line


def test_results_json_for_every_example_validates(session):
    for name in ("alice_correct.ipynb", "bob_seed_mistakes.ipynb", "carol_module.py", "dave_broken.ipynb",
                 "template.ipynb"):
        result = session.grade(SUBMISSIONS / name)
        data = render.results_json(result, "after_published")
        validate(data)
        assert data["score"] == pytest.approx(result.score)
        assert sum(t["score"] for t in data["tests"]) == pytest.approx(result.score, abs=1e-3)
        for test in data["tests"]:
            assert test["output_format"] == "text" and test["name_format"] == "text"
            assert test["visibility"] == ("after_published" if test["number"].endswith("hidden") else "visible")
        assert data["output_format"] == "text" and data["stdout_visibility"] == "hidden"
        assert "DEMO secret" not in data["output"]          # an instructor's warning, not the students'
        assert_no_hidden_leak(data, session.config)


def test_hints_from_hidden_cases_stay_with_the_hidden_test(session):
    result = session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")
    data = render.results_json(result)
    for question in result.questions:
        public_mistakes = {m for c in question.public for m in c.diagnosis}
        public_test = by_number(data).get(question.id)
        for hint in question.hints:
            shown = f"hint: {hint.hint}" in public_test["output"]
            assert shown == (hint.id in public_mistakes)


def test_hostile_text_is_plain_and_clean(session, tmp_path: Path):
    path = tmp_path / "hostile.py"
    path.write_text('print("\\x1b[2J<img src=x onerror=alert(1)>\\x00")\n' + LEAKY.replace("while True", "if False"),
                    encoding="utf-8")
    result = session.grade(path)
    data = render.results_json(result)
    validate(data)
    text = json.dumps(data)
    assert "\\u001b" not in text and "\\u0000" not in text
    assert all(fmt in ("text", "simple_format") for fmt in
               [data["output_format"]] + [t["output_format"] for t in data["tests"]])
    assert "<img src=x" in data["output"]      # shown verbatim as text, never interpreted
    public_case = next(c for q in result.questions for c in q.public if c.status != PASSED)
    assert public_case.message.splitlines()[0][:20] in text


def test_an_unknown_visibility_is_refused(session):
    result = session.grade(SUBMISSIONS / "template.ipynb")
    with pytest.raises(ValueError, match="visibility"):
        render.results_json(result, "sometimes")


def test_submission_path_rules(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    assert gradescope.submission_path(tmp_path / "sub") == tmp_path / "sub"   # empty: graded as is (unreadable)
    (tmp_path / "sub" / "inner").mkdir()
    (tmp_path / "sub" / "inner" / "a.ipynb").write_text("{}")
    assert gradescope.submission_path(tmp_path / "sub") == tmp_path / "sub" / "inner"
    (tmp_path / "sub" / "b.py").write_text("x = 1\n")
    assert gradescope.submission_path(tmp_path / "sub") == tmp_path / "sub"
    shutil.rmtree(tmp_path / "sub")


# ------------------------------------------------------------------------------------------------
# The total score does not reveal the hidden cases (issue 12)


def test_by_default_hidden_tests_are_hidden_and_the_total_is_recorded(session, config):
    """Gradescope: "If test cases are hidden, students will not be able to see their total score"."""
    assert config.hidden_visibility == "hidden" and config.hidden_score == "total"
    result = session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")
    data = render.results_json(result, config.hidden_visibility, hidden_score=config.hidden_score)
    validate(data)
    hidden = [t for t in data["tests"] if t["number"].endswith("hidden")]
    assert hidden and all(t["visibility"] == "hidden" for t in hidden)
    assert data["score"] == pytest.approx(result.score)
    assert "not shown here" in data["output"]


def test_public_only_score_leaves_the_hidden_points_out(session):
    result = session.grade(SUBMISSIONS / "bob_seed_mistakes.ipynb")
    data = render.results_json(result, "after_published", hidden_score="public-only")
    validate(data)
    public = sum(t["score"] for t in data["tests"] if not t["number"].endswith("hidden"))
    assert data["score"] == pytest.approx(public) and data["score"] < result.score
    hidden = [t for t in data["tests"] if t["number"].endswith("hidden")]
    assert all(t["score"] == 0 and t["max_score"] == 0 for t in hidden)
    assert data["extra_data"]["hidden_score"] == pytest.approx(result.score - public, abs=1e-3)
    with pytest.raises(ValueError):
        render.results_json(result, "hidden", hidden_score="sometimes")


def test_hidden_score_is_a_setting(tmp_path):
    from grader.config import ConfigError, load_config

    path = tmp_path / "grader.toml"
    path.write_text('[gradescope]\nhidden_score = "public-only"\nhidden_visibility = "after_published"\n')
    config = load_config(path, env={})
    assert config.hidden_score == "public-only" and config.hidden_visibility == "after_published"
    path.write_text('[gradescope]\nhidden_score = "all"\n')
    with pytest.raises(ConfigError):
        load_config(path, env={})
