"""The student environment: one declared list, installed everywhere, and imports beyond it warned about."""
from __future__ import annotations

import dataclasses
import json
import zipfile

import nbformat
import pytest

from grader import environment, gradescope, kit
from grader.config import ConfigError, load_config, tomllib
from grader.environment import DEFAULT_PACKAGES, module_names, project_name, unavailable
from grader.load import load

from conftest import ROOT, SUBMISSIONS

CAROL = (SUBMISSIONS / "carol_module.py").read_text()


def notebook(tmp_path, cells, name="student.ipynb"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def test_the_default_is_numpy_scipy_matplotlib_and_the_student_extra_installs_exactly_it():
    assert load_config(env={}).environment == DEFAULT_PACKAGES == ("numpy", "scipy", "matplotlib")
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["student"]
    assert sorted(project_name(p) for p in extra) == sorted(DEFAULT_PACKAGES)


def test_every_default_package_imports_in_the_graded_environment(session, tmp_path):
    cells = [f"import {m}\nprint('ok', {m}.__name__)" for m in sorted(module_names(DEFAULT_PACKAGES))]
    result = session.grade(notebook(tmp_path, cells + [CAROL]))
    assert [c.status for c in result.cells] == ["ok"] * len(result.cells)
    assert result.score == 100


def test_grader_toml_declares_more_packages(tmp_path):
    (tmp_path / "grader.toml").write_text('[environment]\npackages = ["numpy", "scikit-learn>=1.3", "torch"]\n')
    config = load_config(tmp_path / "grader.toml", env={})
    assert config.environment == ("numpy", "scikit-learn>=1.3", "torch")
    assert module_names(config.environment) == {"numpy", "sklearn", "torch"}
    (tmp_path / "bad.toml").write_text('[environment]\npackages = ["numpy; rm -rf /"]\n')
    with pytest.raises(ConfigError, match="not pip requirements"):
        load_config(tmp_path / "bad.toml", env={})


def test_imports_are_read_from_cells_magics_included(tmp_path):
    cells = ["%matplotlib inline\nimport numpy as np\nimport torch.nn as nn", "!pip install jax\nfrom jax import numpy",
             "%%writefile hw3_impl.py\nimport numpy", "import hw3_impl, os, sys\nfrom . import x\nimport IPython",
             "def f(:\n import nothing_here", "if False:\n    import tensorflow"]
    program = load(notebook(tmp_path, cells))
    found = [(i.module, i.unit, i.line) for i in unavailable(program, DEFAULT_PACKAGES)]
    assert found == [("torch", 1, 3), ("jax", 2, 2), ("tensorflow", 6, 2)]


def test_self_check_warns_about_an_import_the_graded_environment_lacks(config, tmp_path, warm_sessions):
    """A guarded import never fails a cell; declared away, the check must still warn."""
    narrow = dataclasses.replace(config, environment=("numpy", "matplotlib"))
    s = warm_sessions(narrow, visibility="public")
    result = s.grade(notebook(tmp_path, ["try:\n    import scipy.linalg as sla\nexcept ImportError:\n    sla = None",
                                         CAROL]))
    warnings = [p.message for p in result.problems if p.code == "unavailable-import"]
    assert warnings == ["`scipy` is not available when this is graded (cell 1, line 2: `import scipy`); the graded "
                        "environment has the Python standard library and numpy, matplotlib"]
    assert result.score == 100


def test_a_module_submission_is_read_too(public_session, tmp_path):
    path = tmp_path / "student.py"
    path.write_text("try:\n    import torch\nexcept ImportError:\n    torch = None\n" + CAROL)
    result = public_session.grade(path)
    assert [p.message.split(" (")[0] for p in result.problems if p.code == "unavailable-import"] == [
        "`torch` is not available when this is graded"]
    assert result.score == 100


def test_gradescope_setup_and_config_install_the_list(tmp_path, config):
    wide = dataclasses.replace(config, environment=("numpy", "scipy", "matplotlib", "scikit-learn>=1.3"))
    gradescope.build_autograder(tmp_path / "a.zip", wide, allow_demo_secret=True)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        setup = archive.read("setup.sh").decode()
        toml = archive.read("grader.toml").decode()
    assert "pip install numpy scipy matplotlib 'scikit-learn>=1.3'" in setup
    written = tomllib.loads(toml)
    assert written["environment"]["packages"] == ["numpy", "scipy", "matplotlib", "scikit-learn>=1.3"]


def test_the_kit_installs_and_declares_the_list(tmp_path, config):
    wide = dataclasses.replace(config, environment=("numpy", "scipy", "matplotlib", "pandas"))
    kit.build_kit(tmp_path / "kit", wide)
    deps = tomllib.loads((tmp_path / "kit" / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {project_name(d) for d in deps} >= {"numpy", "scipy", "matplotlib", "pandas"}
    assert sum(project_name(d) == "numpy" for d in deps) == 1
    bundled = json.loads((tmp_path / "kit" / "grader" / "environment.json").read_text())
    assert bundled == {"packages": ["numpy", "scipy", "matplotlib", "pandas"]}
    assert "`pandas`" in (tmp_path / "kit" / "README.md").read_text()


def test_a_kit_reads_its_bundled_list(tmp_path):
    from grader.config import default_environment

    (tmp_path / "environment.json").write_text(json.dumps({"packages": ["numpy", "sympy"]}))
    assert default_environment(tmp_path / "environment.json") == ("numpy", "sympy")
    (tmp_path / "broken.json").write_text("{")
    assert default_environment(tmp_path / "broken.json") == DEFAULT_PACKAGES
    assert default_environment(tmp_path / "absent.json") == DEFAULT_PACKAGES
    assert environment.check_packages(["numpy"]) == ("numpy",)


def test_a_declared_package_the_grader_lacks_is_said_to_the_instructor(config, tmp_path, warm_sessions):
    from grader.render import gradescope as render

    wide = dataclasses.replace(config, environment=("numpy", "scipy", "matplotlib", "surely-not-installed-pkg"))
    s = warm_sessions(wide)
    result = s.grade(notebook(tmp_path, [CAROL]))
    problem = next(p for p in result.problems if p.code == "environment-incomplete")
    assert "`surely-not-installed-pkg`" in problem.message
    assert "surely-not-installed-pkg" not in render.results_json(result)["output"]
    assert environment.not_installed(DEFAULT_PACKAGES) == []


def test_the_self_check_imports_only_what_the_graded_environment_has(config, tmp_path, warm_sessions):
    """scipy is installed here; declared away, the self-check fails the cell that imports it, as
    grading would where it is not installed. Libraries' own imports and the notebook's files are free."""
    narrow = dataclasses.replace(config, environment=("numpy", "matplotlib"))
    cells = ["import scipy.linalg as sla\nLATER = 1", "%%writefile mine.py\nX = 3\n", "import mine\nprint('mine', mine.X)",
             "import matplotlib.pyplot as plt\nimport pylab\nfrom mpl_toolkits.mplot3d import Axes3D", CAROL]
    s = warm_sessions(narrow, visibility="public")
    checked = s.grade(notebook(tmp_path, cells))
    assert [c.index for c in checked.cells if c.status != "ok"] == [1]
    assert "not where this is graded" in checked.cells[0].error and checked.cells[0].missing_module == "scipy"
    assert "mine 3" in checked.output and checked.score == 100
    s = warm_sessions(narrow)
    graded = s.grade(notebook(tmp_path, cells))
    assert all(c.status == "ok" for c in graded.cells), "grading itself gates nothing: scipy is really here"


def test_allowed_modules_are_the_declared_packages_own():
    allowed = environment.allowed_modules(DEFAULT_PACKAGES)
    assert {"numpy", "scipy", "matplotlib", "pylab", "mpl_toolkits", "IPython"} <= set(allowed)
    assert "PIL" not in allowed


def test_imports_are_read_ahead_only_within_a_budget_of_source():
    """They are read in the grader's own process: a hand-in of megabytes of import lines must not
    make it build a tree of all of them (tests/hostile/test_hostile_memory.py); a real one is read whole."""
    from grader.load import NOTEBOOK, Program, Unit

    small = Unit(index=0, source="import torch\n")
    flood = Unit(index=1, source="import tensorflow\n" + "import os\n" * (environment.IMPORTS_READ_BYTES // 10))
    after = Unit(index=2, source="import jax\n")
    program = Program(kind=NOTEBOOK, filename="hw3.ipynb", units=[small, flood, after])
    assert [i.module for i in environment.imports(program)] == ["torch"]      # stops at the flood
    program = Program(kind=NOTEBOOK, filename="hw3.ipynb", units=[small, after])
    assert [i.module for i in environment.imports(program)] == ["torch", "jax"]
