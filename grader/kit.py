"""The student kit: what students get so that they can run `grader check` on their own machine.

    kit/
      README.md              how to install and run the self-check (written for students)
      template.ipynb         the blank notebook to fill in
      pyproject.toml         `pip install .` gives the `grader` command
      grader/                the grading engine (the same code the instructors run)
      grader/public_cases.json  the questions and the public cases, expected values included, with
                             what each named mistake returns on each of them and the hints, the
                             probes derived from them and the questions' block axes
      grader/environment.json   the student environment: `pip install .` installs these packages,
                                and `grader check` warns about any other import
      grader/locale/         the translation catalogs (compiled)
      templates/             the HTML report templates (package grader.templates)

What is left out, and why: the reference answers (`reference/`) and the assignment registry
(`assignments/`: case generators, mistake catalogue, structure checks, rubrics) never go in, so
neither hidden cases nor answers can be recovered from the kit. The self-check reads the questions
and public cases from `public_cases.json` instead (see `caseset.for_self_check`); the mistakes'
answers on the public cases, computed at build time, are data there, so the kit names the same
mistakes as the instructor's check without the catalogue's code (only the assignment's structure
fits, which are code, are missing). The kit is built without ever reading the hidden-case
secret, and the repository's DEMO secret, which is a constant in `grader/config.py`, is replaced in
the kit's copy (the kit draws no hidden cases, so the value has no use there). `audit` checks the
finished kit for all of this before it is put in place.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import __version__, caseset, pysource
from .config import DEMO_SECRET, ENVIRONMENT_NAME, Config
from .environment import project_name
from .spec import CaseSet

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
# Paths (relative to the kit) that must never exist in it.
FORBIDDEN_PARTS = {"reference", "assignments", "tests", "secret", ".git"}
SKIP_NAMES = {"__pycache__", ".DS_Store"}
KIT_SECRET_LINE = 'DEMO_SECRET = "not-in-the-student-kit"'
DEMO_LINE = re.compile(r'^DEMO_SECRET = "[^"\n]*"$', re.MULTILINE)


class KitError(ValueError):
    """The kit cannot be built (or would leak); the message says why."""


@dataclass(frozen=True)
class KitSources:
    """Where the pieces of a kit come from (a checkout by default)."""

    package: Path = PACKAGE_DIR
    templates: Path = PROJECT_ROOT / "templates"
    pyproject: Path = PROJECT_ROOT / "pyproject.toml"
    notebook: Path = PROJECT_ROOT / "submissions" / "template.ipynb"

    def check(self) -> None:
        for what, path in (("the grader package", self.package), ("the report templates", self.templates),
                           ("pyproject.toml", self.pyproject), ("the blank template notebook", self.notebook)):
            if not path.exists():
                raise KitError(f"{what} is not at {path}; build the kit from a checkout of the grader")


def build_kit(out: str | os.PathLike, config: Config, sources: KitSources = KitSources()) -> CaseSet:
    """Build the kit into the folder `out` (which must not exist, or be empty); return its cases.

    The kit is assembled in a temporary folder beside `out`, audited, and only then renamed into
    place, so a failed build leaves nothing half-made behind.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise KitError(f"{out} already exists and is not empty; remove it or choose another folder")
    sources.check()
    public = caseset.build(config.load_assignment(), None)    # no secret: hidden cases are never drawn
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _copy_tree(sources.package, staging / "grader")
        _copy_tree(sources.templates, staging / "templates")
        _strip_demo_secret(staging / "grader" / "config.py")
        caseset.save_public(public, staging / "grader" / caseset.BUNDLED_NAME, lang=config.lang)
        shutil.copyfile(sources.notebook, staging / "template.ipynb")
        (staging / "grader" / ENVIRONMENT_NAME).write_text(json.dumps({"packages": list(config.environment)}),
                                                          encoding="utf-8")
        (staging / "pyproject.toml").write_text(pyproject(sources.pyproject, staging / "grader", config.environment),
                                                encoding="utf-8")
        (staging / "README.md").write_text(readme(public, config.environment), encoding="utf-8")
        audit(staging, secrets=[config.secret, DEMO_SECRET], code_lines=instructor_code_lines(config))
        os.chmod(staging, 0o755)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return public


def _copy_tree(source: Path, target: Path) -> None:
    def ignore(_folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_NAMES or n.endswith((".pyc", ".tmp")) or n == caseset.BUNDLED_NAME}

    shutil.copytree(source, target, ignore=ignore)


def _strip_demo_secret(config_py: Path) -> None:
    text = config_py.read_text(encoding="utf-8")
    text, count = DEMO_LINE.subn(KIT_SECRET_LINE, text)
    if count != 1:
        raise KitError("grader/config.py no longer defines DEMO_SECRET on one line; update grader.kit")
    config_py.write_text(text, encoding="utf-8")


def _subpackages(package: Path) -> list[str]:
    found = []
    for init in sorted(package.rglob("__init__.py")):
        parts = init.parent.relative_to(package.parent).parts
        if not any(p in SKIP_NAMES for p in parts):
            found.append(".".join(parts))
    return found


# The grader's dependencies that only grading needs, never a student's self-check: the sandbox's
# kernel filter (Linux only), LMS downloads, the batch's progress bar.
GRADING_ONLY = frozenset({"pyseccomp", "pyyaml", "tqdm"})


def pyproject(main_pyproject: Path, package: Path, environment: tuple[str, ...] = ()) -> str:
    """The kit's pyproject.toml: the grader's own dependencies and the student environment's
    packages (so that the student's machine has what the graded one has), and only the grader's
    packages."""
    from .config import tomllib

    project = tomllib.loads(main_pyproject.read_text(encoding="utf-8"))["project"]
    own = [d for d in project.get("dependencies", []) if project_name(d).lower() not in GRADING_ONLY]
    named = {project_name(d).lower() for d in own}
    extra = [p for p in environment if project_name(p).lower() not in named]
    dependencies = "".join(f"    {json.dumps(d)},\n" for d in own + extra)
    packages = ", ".join(f'"{p}"' for p in _subpackages(package) + ["grader.templates"])
    return f'''[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "hw3-selfcheck"
version = "{__version__}"
description = "Self-check for the homework: runs your notebook on the public test cases"
readme = "README.md"
requires-python = "{project.get("requires-python", ">=3.10")}"
dependencies = [
{dependencies}]

[project.scripts]
grader = "grader.cli:main"

[tool.setuptools]
packages = [{packages}]

[tool.setuptools.package-dir]
"grader.templates" = "templates"

[tool.setuptools.package-data]
"grader.templates" = ["*.html", "*.j2", "*.css", "*.js"]
"grader" = ["*.json", "locale/*/LC_MESSAGES/*.mo"]
'''


def readme(public: CaseSet, environment: tuple[str, ...] = ()) -> str:
    """The students' README: install, run, read the output; what the self-check does not tell."""
    assignment = public.assignment
    packages = ", ".join(f"`{project_name(p)}`" for p in environment) or "nothing else"
    rows = "\n".join(f"| `{q.id}` | {q.title} | `{q.name}` | {q.points:g} | {len(public.for_question(q.id))} |"
                     for q in assignment.questions)
    written = "\n".join(f"- `{w.id}` — {w.title} ({w.points:g} points)" for w in assignment.written)
    written_part = (f"\nThe written parts are graded by a person, not by this check. Answer each one in the\n"
                    f"markdown cell that starts with `<!-- {assignment.answer_marker}: ID -->` (keep that line):\n\n"
                    f"{written}\n") if written else ""
    return f"""# {assignment.title}: self-check kit

This kit runs your notebook on the **public test cases** of the homework and tells you, for
every graded function, which cases pass and why the others do not, and names a known mistake when
it recognises one. It uses the same cases, tolerances and messages as the grading; your code runs
in a separate process on your own machine (the grading itself runs it in a sandbox).

## Install (once)

Python 3.10 or newer, on macOS, Windows, Linux, Colab or a JupyterHub. In this folder:

    python -m venv .venv
    source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
    pip install .

(in Colab or a JupyterHub notebook: `%pip install ./<this folder>`). This installs the `grader`
command (and numpy, nbformat, IPython, Jinja2, Babel if you do not have them), and the packages
your code may use. Without installing, `python -m grader ...` works the same when run from this
folder, provided those packages are installed.

## What your code may import

When your notebook is graded, it can import the Python standard library and {packages} (plots
are drawn off-screen; `plt.show()` never waits). Nothing else is installed there: a cell that
imports anything else fails when graded, with everything it defines. `grader check` runs your
notebook the same way (such an import fails there too, even where the package is installed on
your machine) and warns about it at the top of its report.

## Check your work

In the notebook, in a cell of your own (the grader does not need it):

    import grader
    grader.check("1a")        # one question, with the functions as they are now in the notebook
    grader.check()            # every question, and which written answers the saved notebook holds
    grader.check_written()    # only the written answers (save first: unsaved edits are not seen)

If it says it cannot find the saved notebook (a folder with several notebooks, or a kernel started
elsewhere), name it: `grader.check(notebook="hw3.ipynb")`.

From a terminal, on the saved file:

    grader check template.ipynb            # every question
    grader check template.ipynb 1a 2b      # some questions only
    grader check template.ipynb --lang zh_CN   # 中文反馈 (also: GRADER_LANG=zh_CN, or your locale)

Before you have written anything, each function reads "not written yet": that is your to-do list.
A failure that several cases share is shown once, with the other cases named.

The exit code is 0 when every public case passes, 1 when some fail, 2 when the file does not
exist, 3 when it cannot be read as a notebook at all. Hand in one `.ipynb` notebook (a `.py`
module with the same names works too).

## What is checked

| id | question | name to define | points | public cases |
|---|---|---|---|---|
{rows}

A question's points are shared out evenly over its cases. Every array you return must have exactly
the expected shape, be finite, and match the expected values within the tolerance the report
shows. A missing name, an exception or a time-out fails that case only.
{written_part}
## What the check does not tell you

- **Hidden cases.** After you hand in, your functions are also run on hidden cases
  ({assignment.hidden_cases_note}). Every kind of hidden case has at least one public case here,
  so a check that passes means no whole kind fails later; it still does not guarantee full marks.
- **Written answers** are graded by a person.

`grader/{caseset.BUNDLED_NAME}` holds the public cases with their expected values, if you want to
look at them directly.
"""


def instructor_code_lines(config: Config) -> set[str]:
    """Every substantial line of the function bodies of the reference answers and of the assignment
    registry (case generators, mistake catalogue): none may appear anywhere in the kit."""
    import ast
    import importlib

    files: list[Path] = []
    for name in ("reference", config.assignment):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        origin = Path(getattr(module, "__file__", "") or "")
        files += sorted(origin.parent.glob("*.py")) if origin.name == "__init__.py" else [origin]
    lines: set[str] = set()
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
            tree = pysource.parse(source)
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        numbered = _source_lines(source)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                for statement in body:
                    for line in _segment(numbered, statement).splitlines():
                        line = line.strip()
                        if len(line) >= 24 and not line.startswith("#"):
                            lines.add(line)
    return lines


def _source_lines(source: str) -> list[str]:
    """The lines of `source` as `ast` numbers them (only \\r\\n, \\r and \\n end one), with their ends."""
    import re

    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", source)


def _segment(lines: list[str], node) -> str:
    """What `ast.get_source_segment` returns for `node`, from the source's lines split once: it splits
    the whole source again on every call, which made the audit of a kit cost most of a second."""
    end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return ""
    first, last = node.lineno - 1, end_line - 1
    if first == last:
        return lines[first].encode()[node.col_offset:end_col].decode()
    return "".join([lines[first].encode()[node.col_offset:].decode(), *lines[first + 1:last],
                    lines[last].encode()[:end_col].decode()])


def audit(kit: str | os.PathLike, secrets: list[str], code_lines: set[str] | frozenset[str] = frozenset()) -> None:
    """Refuse a kit that holds instructor material: their folders, a secret, a line of the reference's
    or the registry's code (`instructor_code_lines`), or any hidden case. The mistakes' recorded
    answers on public cases are data, and they are checked to belong to public cases only."""
    kit = Path(kit)
    for path in kit.rglob("*"):
        rel = path.relative_to(kit)
        bad = FORBIDDEN_PARTS.intersection(p.lower() for p in rel.parts)
        if bad:
            raise KitError(f"the kit would contain {rel} (no {', '.join(sorted(bad))} may be shipped)")
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                if secret and secret.encode("utf-8") in data:
                    raise KitError(f"the kit's {rel} contains a hidden-case secret")
            if code_lines:
                text = data.decode("utf-8", "replace")
                leaked = next((line for line in code_lines if line in text), None)
                if leaked is not None:
                    raise KitError(f"the kit's {rel} contains instructor code: {leaked[:80]}")
    cases = caseset.load_public(kit / "grader" / caseset.BUNDLED_NAME)
    if any(c.visibility != "public" for c in cases.cases):
        raise KitError("the kit's public cases include a hidden case")
    raw = json.loads((kit / "grader" / caseset.BUNDLED_NAME).read_text(encoding="utf-8"))
    unexpected = set(raw) - {"format", "assignment", "questions", "cases", "hints", "digest"}
    if unexpected:
        raise KitError(f"the kit's public cases file has unexpected parts: {sorted(unexpected)}")
