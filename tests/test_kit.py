"""The student kit: it works on its own (installed in a fresh virtualenv, far from the repository),
and it carries nothing of the instructors': no reference code, no registry, no secret, no hidden case.
"""
from __future__ import annotations

import ast
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from grader import caseset, kit
from grader.config import DEMO_SECRET, load_config
from grader.spec import HIDDEN, PUBLIC

from assignments.hw3 import ASSIGNMENT
from cli_run import run_cli
from shared_cases import shared_build

# what a self-check of the kit runs and counts (probes are run, never counted)
PUBLIC_COUNT = sum(c.probe is None for c in shared_build(ASSIGNMENT, None).cases)

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
SECRET = "tests-kit-secret-41d07e"
DATA_FILES = ("README.md", "pyproject.toml", "template.ipynb", "grader/public_cases.json")


@pytest.fixture(scope="module")
def secret_config():
    return load_config(env={"GRADER_SECRET": SECRET})


@pytest.fixture(scope="module")
def built_kit(tmp_path_factory, secret_config) -> Path:
    out = tmp_path_factory.mktemp("kit") / "hw3-kit"
    kit.build_kit(out, secret_config)
    return out


@pytest.fixture(scope="module")
def venv(made_once, secret_config) -> Path:
    """A fresh virtualenv (system site-packages for numpy & co., no downloads) with the kit installed:
    made once per test run, whichever workers run the tests that use it."""
    return made_once("kit-venv", lambda folder: _install_kit(folder, secret_config)) / "env"


def _install_kit(folder: Path, secret_config) -> None:
    env_dir = folder / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env_dir)],
                   check=True, timeout=120)
    python = env_dir / "bin" / "python"
    if sys.prefix != sys.base_prefix:
        # Run from a venv (as CI does), the new venv's "system" packages are the base interpreter's;
        # lend it this venv's site-packages too, as plain path entries: their .pth files (an editable
        # install of the grader among them) are not processed, so `reference` stays unreachable.
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (Path(site) / "_lent_site_packages.pth").write_text("\n".join(sorted(paths)) + "\n")
    source = folder / "kit-copy"      # a kit of its own (a build writes into its source tree), made as built_kit is
    kit.build_kit(source, secret_config)
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--disable-pip-version-check", str(source)],
                          capture_output=True, text=True, timeout=300, env=_clean_env(), cwd=folder)
    assert proc.returncode == 0, proc.stderr


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GRADER_", "VIRTUAL_ENV"))}


def _kit_files(kit_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(kit_dir)): p.read_bytes() for p in kit_dir.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------------------------
# It works without the repository


def test_installed_kit_checks_submissions_from_anywhere(venv: Path, built_kit: Path, tmp_path: Path):
    python, grader = venv / "bin" / "python", venv / "bin" / "grader"
    for module in ("reference", "assignments"):
        proc = subprocess.run([str(python), "-c", f"import {module}"], cwd=tmp_path, env=_clean_env(),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr
    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"], cwd=tmp_path,
                           env=_clean_env(), capture_output=True, text=True, timeout=60).stdout
    assert where.startswith(str(venv))

    alice = subprocess.run([str(grader), "check", str(SUBMISSIONS / "alice_correct.ipynb")], cwd=tmp_path,
                           env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert alice.returncode == 0, alice.stdout + alice.stderr
    assert f"{PUBLIC_COUNT} of {PUBLIC_COUNT} public cases pass" in alice.stdout

    bob = subprocess.run([str(grader), "check", str(SUBMISSIONS / "bob_seed_mistakes.ipynb")], cwd=tmp_path,
                         env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert bob.returncode == 1, bob.stdout + bob.stderr
    assert "public cases pass" in bob.stdout and "✗ case" in bob.stdout
    assert "hint (forget-gate-only)" in bob.stdout     # the mistakes' answers on public cases are shipped as data

    template = subprocess.run([str(grader), "check", str(built_kit / "template.ipynb")], cwd=tmp_path,
                              env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert template.returncode == 1 and f"0 of {PUBLIC_COUNT} public cases pass" in template.stdout


ISSUE_1A = """def sigmoid_jacobian(W, x):
    return W.copy()                     # sigma' forgotten: the Jacobian of Wx alone
"""
ISSUE_2B = """def matrix_power_eig(M, p):
    lam, V = np.linalg.eig(M)
    return np.real(V @ np.diag(lam ** p) @ V.T)      # V.T where inv(V) belongs
"""


def issue_notebook(folder: Path) -> Path:
    """alice's notebook with the issue's mistakes: σ′ forgotten in 1(a), V.T for inv(V) in 2(b), and the
    two written independently of the catalogue (σ′ of the last step everywhere in 2(a), the seed's
    product rule in 3(c))."""
    from test_structure import LAST_SIGMA_EVERYWHERE, SEED_PRODUCT_RULE

    replacements = {"def sigmoid_jacobian": ISSUE_1A, "def matrix_power_eig": ISSUE_2B,
                    "def bptt_terms": LAST_SIGMA_EVERYWHERE, "def lstm_cell_jacobian": SEED_PRODUCT_RULE}
    nb = json.loads((SUBMISSIONS / "alice_correct.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for marker, replacement in replacements.items():
            if cell["cell_type"] == "code" and marker in source:
                cell["source"] = replacement
    path = folder / "issue.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_the_installed_kit_names_the_same_mistakes_as_the_instructors_check(venv: Path, tmp_path: Path):
    grader = venv / "bin" / "grader"
    notebook = issue_notebook(tmp_path)
    kit_run = subprocess.run([str(grader), "check", str(notebook), "1a", "2b", "--lang", "en"], cwd=tmp_path,
                             env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert kit_run.returncode == 1, kit_run.stdout + kit_run.stderr
    assert "hint (missing-activation-derivative)" in kit_run.stdout
    assert "hint (Q-transpose-instead-of-inverse)" in kit_run.stdout
    here = run_cli(["check", notebook, "1a", "2b", "--lang", "en"], cwd=ROOT, env={**_clean_env(), "PYTHONPATH": str(ROOT)})
    hints = [line for line in kit_run.stdout.splitlines() if "hint (" in line]
    assert hints == [line for line in here.stdout.splitlines() if "hint (" in line]

    chinese = subprocess.run([str(grader), "check", str(notebook), "1a", "2b"], cwd=tmp_path,
                             env={**_clean_env(), "LANG": "zh_CN.UTF-8", "LC_ALL": "zh_CN.UTF-8"},
                             capture_output=True, text=True, timeout=300)
    assert "提示（missing-activation-derivative）：这只是线性映射 Wx 的雅可比矩阵" in chinese.stdout
    assert "提示（Q-transpose-instead-of-inverse）" in chinese.stdout

    # The families and the where-sentences that are data (generated variants, blocks, probes) work in the kit too.
    kit_all = subprocess.run([str(grader), "check", str(notebook), "2a", "3c-cell", "--lang", "en"], cwd=tmp_path,
                             env=_clean_env(), capture_output=True, text=True, timeout=300).stdout
    assert "hint (sigma-prime-not-per-step)" in kit_all
    assert "where: only the (t, k) blocks with t − k ≥ 1 are wrong" in kit_all
    assert "where: the direct term diag(f_t) is right" in kit_all


def test_the_kit_runs_uninstalled_from_its_folder(built_kit: Path, tmp_path: Path):
    copy = tmp_path / "kit"
    shutil.copytree(built_kit, copy)
    proc = subprocess.run([sys.executable, "-m", "grader", "check", "template.ipynb"], cwd=copy,
                          env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert f"0 of {PUBLIC_COUNT} public cases pass" in proc.stdout


def test_kit_self_check_matches_the_repository_self_check(built_kit: Path, public_session):
    """Same cases, same digest, same verdicts as `grader check` in a checkout."""
    from grader.session import Session

    kit_cases = caseset.load_public(built_kit / "grader" / caseset.BUNDLED_NAME)
    assert kit_cases.digest == public_session.case_set.digest
    with Session(public_session.config, visibility=PUBLIC, case_set=kit_cases) as session:
        for name in ("alice_correct.ipynb", "bob_seed_mistakes.ipynb"):
            mine = session.grade(SUBMISSIONS / name)
            theirs = public_session.grade(SUBMISSIONS / name)
            assert [(c.uid, c.status) for q in mine.questions for c in q.cases] == \
                   [(c.uid, c.status) for q in theirs.questions for c in q.cases]
            assert mine.score == pytest.approx(theirs.score)


def test_check_with_a_cases_file_and_a_damaged_one(built_kit: Path, tmp_path: Path):
    env = {**_clean_env(), "PYTHONPATH": str(ROOT)}
    cases = built_kit / "grader" / caseset.BUNDLED_NAME
    ok = run_cli(["check", "--cases", cases, SUBMISSIONS / "alice_correct.ipynb"], cwd=ROOT, env=env)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(cases.read_text(encoding="utf-8"))
    data["cases"][0]["expected"] = data["cases"][1]["expected"]      # tampered expected value
    bad = tmp_path / "public_cases.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    proc = run_cli(["check", "--cases", bad, SUBMISSIONS / "alice_correct.ipynb"], cwd=ROOT, env=env)
    assert proc.returncode == 2 and "digest" in proc.stderr
    (tmp_path / "not.json").write_text("{", encoding="utf-8")
    proc = run_cli(["check", "--cases", tmp_path / "not.json", SUBMISSIONS / "alice_correct.ipynb"], cwd=ROOT, env=env)
    assert proc.returncode == 2 and "not JSON" in proc.stderr


def test_public_json_round_trips_and_never_holds_hidden_cases(secret_config):
    full = caseset.build(secret_config.load_assignment(), secret_config.secret)
    assert any(c.visibility == HIDDEN for c in full.cases)
    data = json.loads(json.dumps(caseset.public_json(full)))
    back = caseset.from_public_json(data)
    public = [c for c in full.cases if c.visibility == PUBLIC]
    assert [c.uid for c in back.cases] == [c.uid for c in public]
    assert back.digest == caseset.build(secret_config.load_assignment(), None).digest
    for mine, original in zip(back.cases, public):
        assert caseset.digest([mine]) == caseset.digest([original])
    question = back.assignment.question("1a")
    assert list(inspect.signature(question.reference).parameters) == ["W", "x"]
    with pytest.raises(RuntimeError, match="not part of the student kit"):
        question.reference(np.zeros((1, 1)), np.zeros(1))


def test_build_refuses_a_non_empty_folder(tmp_path: Path, secret_config):
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "mine.txt").write_text("x")
    with pytest.raises(kit.KitError, match="not empty"):
        kit.build_kit(tmp_path / "kit", secret_config)
    assert [p.name for p in tmp_path.iterdir()] == ["kit"]     # nothing half-built left behind


# ------------------------------------------------------------------------------------------------
# It carries nothing of the instructors'


def _reference_body_lines() -> set[str]:
    """Every substantial line of code in the bodies of reference/__init__.py's functions."""
    source = (ROOT / "reference" / "__init__.py").read_text(encoding="utf-8")
    lines: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            for statement in body:
                for line in ast.get_source_segment(source, statement).splitlines():
                    line = line.strip()
                    if len(line) >= 20 and not line.startswith("#"):
                        lines.add(line)
    assert len(lines) > 20
    return lines


def test_kit_holds_no_reference_registry_secret_or_hidden_case(built_kit: Path, secret_config):
    files = _kit_files(built_kit)
    assert {"README.md", "template.ipynb", "pyproject.toml", "grader/public_cases.json", "grader/cli.py"} <= set(files)
    for name in files:
        parts = set(Path(name).parts)
        assert not parts & {"reference", "assignments", "tests", ".git", "__pycache__"}, name
    everything = b"\n".join(files.values()).decode("utf-8", "replace")

    for line in _reference_body_lines():
        assert line not in everything, f"reference code in the kit: {line}"
    for name in DATA_FILES:
        assert "assignments" not in files[name].decode("utf-8"), name
        assert "reference" not in files[name].decode("utf-8").lower(), name
    assert SECRET not in everything and DEMO_SECRET not in everything

    assignment = secret_config.load_assignment()
    for part in assignment.written:
        assert part.rubric not in everything
    code = kit.instructor_code_lines(secret_config)
    assert any("np.diag(sigmoid(W @ x)) @ W" in line for line in code)        # the mistake catalogue's code
    assert not [line for line in code if line in everything]

    full = caseset.build(assignment, secret_config.secret)
    public_labels = {c.label for c in full.cases if c.visibility == PUBLIC}
    kit_cases = json.loads(files["grader/public_cases.json"])
    assert {c["label"] for c in kit_cases["cases"]} == public_labels
    assert all("/public/" in c["uid"] for c in kit_cases["cases"])
    public_values = {v for c in full.cases if c.visibility == PUBLIC for v in _float_reprs(c)}
    numbers = _float_windows(everything)
    hidden_values = 0
    for case in full.cases:
        if case.visibility == HIDDEN:
            for value in _float_reprs(case) - public_values:    # W³⁰ is public (2c) and a hidden 2b answer
                hidden_values += 1
                assert FLOAT_TEXT.fullmatch(value), value
                # A value whose first WINDOW characters never occur in a run of float characters
                # cannot occur in the kit at all; any other value is searched for in full.
                if value[:WINDOW] in numbers:
                    assert value not in everything, f"a value of {case.uid} is in the kit"
    assert hidden_values > 1000


FLOAT_TEXT = re.compile(r"[-+.0-9e]+")      # every character repr() of a finite float can write
WINDOW = 12                                 # the shortest float text _float_reprs keeps


def _float_windows(text: str) -> set[str]:
    """Every WINDOW-character piece of `text` made only of float characters.

    Why: searching 1.7 MB of kit for each of ~14,000 hidden values one by one took 10 s of CPU. A
    value is made only of float characters, so wherever it occurs in `text` it lies inside one
    maximal run of them, and its first WINDOW characters are one of these pieces: a value whose
    first WINDOW characters are not here is not in `text`.
    """
    return {run[i:i + WINDOW] for run in FLOAT_TEXT.findall(text) if len(run) >= WINDOW
            for i in range(len(run) - WINDOW + 1)}


def _float_reprs(case) -> set[str]:
    """The exact text of every "random-looking" float of a case (inputs and expected answer)."""
    found = set()
    for value in list(case.args) + [case.expected]:
        for array in (value.values() if isinstance(value, dict) else [value]):
            if isinstance(array, np.ndarray):
                found |= {r for r in map(repr, map(float, array.ravel())) if len(r) >= 12}
    return found


def test_audit_catches_a_leak(built_kit: Path, tmp_path: Path):
    """The build's own last check refuses a kit with a secret or an instructor folder in it."""
    copy = tmp_path / "copy"
    shutil.copytree(built_kit, copy)
    kit.audit(copy, secrets=[SECRET])
    (copy / "notes.txt").write_text(f"secret: {SECRET}")
    with pytest.raises(kit.KitError, match="secret"):
        kit.audit(copy, secrets=[SECRET])
    (copy / "notes.txt").unlink()
    (copy / "grader" / "extra.py").write_text("def f(W, x):\n    return np.diag(sigmoid(W @ x)) @ W\n")
    with pytest.raises(kit.KitError, match="instructor code"):
        kit.audit(copy, secrets=[SECRET], code_lines=kit.instructor_code_lines(load_config(env={})))
    (copy / "grader" / "extra.py").unlink()
    (copy / "reference").mkdir()
    with pytest.raises(kit.KitError, match="reference"):
        kit.audit(copy, secrets=[SECRET])


def test_the_kit_needs_none_of_the_grading_only_packages(built_kit: Path, tmp_path: Path):
    """A student installs the self-check only: no sandbox filter, no nbconvert, no YAML, no tqdm;
    and the check runs with them unimportable."""
    from grader.kit import GRADING_ONLY

    text = (built_kit / "pyproject.toml").read_text(encoding="utf-8")
    assert not [name for name in GRADING_ONLY if f'"{name}' in text]
    blocker = ("import sys, importlib.abc\n"
               "class Block(importlib.abc.MetaPathFinder):\n"
               "    def find_spec(self, name, path, target=None):\n"
               "        if name.split('.')[0] in ('yaml', 'tqdm', 'nbconvert', 'seccomp', 'pyseccomp'):\n"
               "            raise ImportError('blocked ' + name)\n"
               "sys.meta_path.insert(0, Block())\n"
               f"sys.path.insert(0, {str(built_kit)!r})\n"
               "import grader.cli\n"
               "sys.exit(grader.cli.main(['check', 'template.ipynb', '1a']))\n")
    proc = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, cwd=built_kit, timeout=300)
    assert proc.returncode == 1 and "public cases pass" in proc.stdout, proc.stdout + proc.stderr
