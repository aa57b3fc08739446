"""The student environment: what student code may import when it is graded, and who imports more.

One list of packages (`[environment] packages` in grader.toml; default numpy, scipy, matplotlib)
is what the graded environment has besides the standard library and IPython. The README's set-up,
the Gradescope image (`setup.sh`) and the student kit all install exactly that list, and the
self-check reads a submission's imports (without running anything) and warns, before hand-in,
about a module the graded environment will not have: on the student's own machine `import torch`
works, in the grader it fails that cell, and everything the cell defines with it.
"""
from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass

from . import pysource
from .load import NOTEBOOK, Program

DEFAULT_PACKAGES = ("numpy", "scipy", "matplotlib")
# Always there when a submission is graded, whatever the list says: the grader's own dependencies
# (it runs notebooks with IPython; `tqdm` progress bars are common in student code). Not promised
# to students, but "not available" would be untrue of them.
ALWAYS = frozenset({"IPython", "traitlets", "tqdm", "nbformat", "jinja2", "__future__"})
# pip names whose import name differs (the others import as their name, lower case, "-" → "_").
IMPORT_NAMES = {
    "scikit-learn": ("sklearn",), "scikit-image": ("skimage",), "pillow": ("PIL",), "pyyaml": ("yaml",),
    "opencv-python": ("cv2",), "opencv-python-headless": ("cv2",), "beautifulsoup4": ("bs4",),
    "torch": ("torch",), "tensorflow": ("tensorflow",), "jax": ("jax",), "jaxlib": ("jaxlib",),
    "python-dateutil": ("dateutil",), "ipython": ("IPython",), "ipywidgets": ("ipywidgets",),
}
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9._,-]*\])?\s*([<>=!~]=?[^;\s]*(,\s*[<>=!~]=?[^;\s]*)*)?$")
WRITEFILE = re.compile(r"^%%(?:writefile|file)(?:\s+-a)?\s+(\S+)\.py\s*$", re.MULTILINE)


class PackageListError(ValueError):
    """A package list entry that pip could not install."""


def check_packages(packages) -> tuple[str, ...]:
    """The list, validated: each entry a pip requirement (`name`, `name>=1.2`, `name[extra]`)."""
    if not isinstance(packages, (list, tuple)) or not all(isinstance(p, str) for p in packages):
        raise PackageListError("[environment] packages must be a list of package names")
    cleaned = tuple(p.strip() for p in packages)
    bad = [p for p in cleaned if not REQUIREMENT.match(p)]
    if bad:
        raise PackageListError(f"[environment] packages has entries that are not pip requirements: {bad}")
    return cleaned


def project_name(requirement: str) -> str:
    match = REQUIREMENT.match(requirement.strip())
    return match.group(1) if match else requirement.strip()


def module_names(packages) -> frozenset[str]:
    """The top-level modules the packages provide, as `import` spells them."""
    names = set()
    for requirement in packages:
        name = project_name(requirement)
        names.update(IMPORT_NAMES.get(name.lower(), (name.replace("-", "_").replace(".", "_").lower(),)))
    return frozenset(names)


@dataclass(frozen=True)
class Import:
    """One `import` of a module the graded environment lacks."""

    module: str
    unit: int          # the notebook's cell index (0 for a module)
    line: int


# Source read for its imports, per program. They are read in the grader's own process, where a
# parse builds a tree of the whole source: a hand-in of 15 MB of `import os` lines (under the 20 MB
# cap) cost 2.6 GB and 13 s there. Real cells and modules are a few kilobytes; past this budget a
# unit's imports are not read ahead, and the run itself still names a module it cannot import.
IMPORTS_READ_BYTES = 256 * 2**10


def imports(program: Program) -> list[Import]:
    """Every absolute import of the program, in order, by top-level module (cells that do not
    parse, even after IPython's transformations, are skipped: running them will say why), read
    from its units in order while their sizes fit IMPORTS_READ_BYTES in all."""
    found = []
    budget = IMPORTS_READ_BYTES
    for unit in program.units:
        if "import" not in unit.source:
            continue                   # most cells: not worth a parse (a batch reads every notebook)
        budget -= len(unit.source)
        if budget < 0:
            break
        for module, line in _imports_in(_as_python(unit.source) if program.kind == NOTEBOOK else unit.source):
            found.append(Import(module, unit.index, line))
    return found


def unavailable(program: Program, packages) -> list[Import]:
    """The imports the graded environment cannot satisfy: first place of each module."""
    allowed = set(module_names(packages)) | ALWAYS | set(getattr(sys, "stdlib_module_names", ()))
    written = _modules_written(program)
    seen, missing = set(), []
    for item in imports(program):
        if item.module in allowed or item.module in written or item.module in seen:
            continue
        seen.add(item.module)
        missing.append(item)
    return missing


def allowed_modules(packages) -> list[str]:
    """Every top-level module student code may import besides the standard library: the declared
    packages' own modules as installed here (matplotlib brings `pylab` and `mpl_toolkits`), their
    usual import names, and the grader's own dependencies. Not their dependencies: `PIL` comes
    with matplotlib but is not promised."""
    import importlib.metadata as metadata

    names = set(module_names(packages)) | ALWAYS
    for requirement in packages:
        try:
            dist = metadata.distribution(project_name(requirement))
        except (metadata.PackageNotFoundError, ValueError):
            continue
        listed = dist.read_text("top_level.txt")
        if listed:
            names.update(listed.split())
            continue
        for path in dist.files or ():
            top = path.parts[0] if path.parts else ""
            if top and not top.endswith((".dist-info", ".libs", ".data")) and top not in ("..", "__pycache__"):
                names.add(top.split(".")[0] if top.endswith((".py", ".so", ".pyd")) else top)
    return sorted(n for n in names if n.isidentifier())


def not_installed(packages) -> list[str]:
    """The declared packages whose modules this Python (the graded environment: student code runs
    on the grader's own installation) cannot find: the list promises what is not there."""
    import importlib.util

    missing = []
    for requirement in packages:
        name = project_name(requirement)
        modules = IMPORT_NAMES.get(name.lower(), (name.replace("-", "_").replace(".", "_").lower(),))
        try:
            found = all(importlib.util.find_spec(m) is not None for m in modules)
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def describe(item: Import, packages, kind: str) -> str:
    where = f"cell {item.unit}, line {item.line}" if kind == NOTEBOOK else f"line {item.line}"
    names = ", ".join(project_name(p) for p in packages)
    return (f"`{item.module}` is not available when this is graded ({where}: `import {item.module}`); the graded "
            f"environment has the Python standard library and {names or 'nothing else'}")


def _modules_written(program: Program) -> set[str]:
    """Modules the notebook writes itself (`%%writefile name.py`): importing those is fine."""
    return {match.group(1).split("/")[-1] for unit in program.units for match in WRITEFILE.finditer(unit.source)}


# Cell magics whose body is Python that runs (the others' bodies are not Python, or not run).
PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun", "debug")
LINE_MAGIC = re.compile(r"^(\s*)(?:[%!]|\w[\w.]*\s*=\s*[%!])")


def _as_python(source: str) -> str:
    """A cell as Python that `ast` can read for its imports: magic and `!` lines become `pass`,
    a `%%time`-like cell is its body, any other cell magic's body is not Python. Plain cells are
    left as they are. (IPython's own transformer would need IPython imported in the grader's
    process, ~0.1 s of a batch, for what this does in microseconds.)"""
    stripped = source.lstrip()
    if stripped.startswith("%%"):
        first, _, body = stripped.partition("\n")
        name = first[2:].split(maxsplit=1)[0] if first[2:].split() else ""
        return _as_python(body) if name in PYTHON_CELL_MAGICS else ""
    lines = []
    for line in source.splitlines():
        match = LINE_MAGIC.match(line)
        if match or line.rstrip().endswith("?") and not line.lstrip().startswith("#"):
            lines.append((match.group(1) if match else "") + "pass")
        else:
            lines.append(line)
    return "\n".join(lines)


def _imports_in(source: str) -> list[tuple[str, int]]:
    try:
        tree = pysource.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return sorted(found, key=lambda item: item[1])
