"""Gradescope: building the autograder zip, and the entry point its `run_autograder` calls.

The zip (`build_autograder`), as Gradescope's autograder specification asks, has at its root:

    setup.sh         run once, as root, when Gradescope builds the image (Ubuntu 22.04): installs
                     python3, venv, bubblewrap, the grader with its dependencies and the student
                     environment (`[environment] packages`) into /autograder/venv; makes the
                     grader, the reference and the secret root-only
    run_autograder   run per submission: `python -m grader gradescope` (below)
    grader.toml      the configuration (limits, hidden_visibility), naming the secret file
    hidden_secret    the instructor's secret for the hidden cases (mode 0600, root-only)
    src/             the grader's source: pyproject.toml and its packages (reference included)
    Dockerfile       for Gradescope's manual Docker option (FROM gradescope/autograder-base)

`run` grades /autograder/submission (or $AUTOGRADER_ROOT/submission, so that tests can simulate
the harness) and writes /autograder/results/results.json, always: a broken setup or a grader fault
still gives Gradescope a valid file that says so (and `run_autograder` writes one itself when the
grader cannot even start). It applies grader.toml's [late] policy to submission_metadata.json's
`created_at`, the due date moved by the student's Gradescope extension. Student code runs in the sandbox, as an
unprivileged uid of its own (the sandbox drops to it because Gradescope runs us as root), with
the per-case and per-question time limits of the configuration, so a question that times out costs
that question only. The secret and the grader's files are readable by root only.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import shlex
import stat
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from . import late, lms, submitted
from .config import CONFIG_NAME, Config, Limits, load_config
from .files import write_atomic, write_bytes_atomic
from .late import parse_time
from .load import SUFFIXES, LoadError, pick_candidate
from .render import gradescope as render
from .results import Problem, Result, Student

DEFAULT_ROOT = "/autograder"
SECRET_NAME = "hidden_secret"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SKIP_NAMES = {"__pycache__", ".DS_Store", ".git"}


class GradescopeError(ValueError):
    """The autograder cannot be built; the message says why."""


def autograder_root() -> Path:
    return Path(os.environ.get("AUTOGRADER_ROOT") or DEFAULT_ROOT)


# ------------------------------------------------------------------------------------------------
# Running inside Gradescope


def submission_path(folder: Path) -> Path:
    """What to grade in Gradescope's submission folder: the folder itself (grader.load picks the one
    notebook or module in it), or the single folder inside it when a student uploaded a folder.

    Only a real folder counts as that inner folder: a link to one (say, to the reference) is never
    followed; grading the outer folder then refuses it with a message that says so.
    """
    try:
        pick_candidate(folder)
        return folder
    except LoadError:
        try:
            with submitted.Folder(folder) as opened:
                inner = [e.name for e in opened.entries()
                         if e.kind is submitted.Kind.FOLDER and not e.name.startswith((".", "__"))]
        except (submitted.Refused, OSError):
            inner = []
        return folder / inner[0] if len(inner) == 1 else folder


def gradable(folder: Path, staging: Path) -> tuple[Path, list[Problem]]:
    """What to grade (`submission_path`) and the notes worth telling the student. Gradescope unpacks
    an uploaded zip itself; a zip that still reaches the folder (committed to a GitHub repository,
    zipped twice) and is all there is, is opened like a zip handed in within a batch download
    (`grader.lms`: in memory, bounded, its notebooks, modules and written answers flattened into
    `staging`). A zip beside a notebook or module is left alone."""
    path = submission_path(folder)
    if path != folder:
        return path, []
    try:
        pick_candidate(folder)
        return folder, []
    except LoadError:
        pass
    try:
        with submitted.Folder(folder) as opened:
            entries = [e for e in opened.entries() if not submitted.hidden(e.name)]
            zips = [e for e in entries if e.kind is submitted.Kind.FILE and e.name.lower().endswith(".zip")]
            if len(zips) != 1:
                return folder, [received(entries)] if not any(e.kind is submitted.Kind.FILE and
                                                             Path(e.name).suffix.lower() in SUFFIXES
                                                             for e in entries) else []
            name = zips[0].name
            data = opened.read(name, lms.MAX_FILE_BYTES)
    except (submitted.Refused, OSError) as exc:
        return folder, [Problem("lms-unreadable-file", f"the zip could not be read ({str(exc)[:200]})")]
    notes: list[Problem] = []
    staging.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    lms.unpack_zip(data, name, staging, written, notes)
    return (staging if written else folder), notes


def received(entries: list) -> Problem:
    """What Gradescope handed over, in the student's own file names, when none of it can be graded."""
    if not entries:
        return Problem("gradescope-upload", "Gradescope received no file from you: upload your notebook (.ipynb) "
                                            "or module (.py) itself")
    names = [e.name for e in entries[:8]]
    more = f" and {len(entries) - 8} more" if len(entries) > 8 else ""
    return Problem("gradescope-upload", f"Gradescope received {', '.join(names)}{more}: none of it is a notebook "
                                        "(.ipynb) or module (.py); upload the notebook itself (not a PDF or a link)")


def read_metadata(root: Path) -> dict:
    """Gradescope's submission_metadata.json (its "Submission Metadata" page: `created_at`, the
    submission time; `assignment` with the course-wide `due_date`; `users`, each with `name`,
    `email`, `sid` and, in real files, their own `assignment.due_date`, later when Gradescope gave
    them an extension); {} when it is missing or not an object."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _users(meta: dict) -> list[dict]:
    users = meta.get("users")
    return [u for u in users if isinstance(u, dict)] if isinstance(users, list) else []


def student_name(root: Path) -> str | None:
    """The submitter's name from submission_metadata.json, for the instructor's log only."""
    users = _users(read_metadata(root))
    return str(users[0].get("name"))[:100] if users and users[0].get("name") else None


def student(meta: dict) -> Student | None:
    """Who handed in (the first submitter of a group) and when: `created_at` is what the late
    policy compares with the due date. None without metadata."""
    users = _users(meta)
    if not users and not meta.get("created_at"):
        return None
    first = users[0] if users else {}
    ident = str(first.get("sid") or first.get("email") or first.get("id") or "")
    return Student(id=ident[:200], name=str(first.get("name") or "")[:200], lms="gradescope",
                   submission_id=str(meta.get("id") or ""), submitted_at=str(meta.get("created_at") or ""),
                   email=str(first.get("email") or "")[:200])


def extension(meta: dict) -> timedelta:
    """How much later than the assignment's `due_date` this submission is due: Gradescope writes a
    student's extension as their own `users[].assignment.due_date`; of a group, the latest counts."""
    assignment = meta.get("assignment") if isinstance(meta.get("assignment"), dict) else {}
    default = parse_time(assignment.get("due_date"))
    if default is None:
        return timedelta(0)
    shifts = [timedelta(0)]
    for user in _users(meta):
        own = user.get("assignment")
        due = parse_time(own.get("due_date")) if isinstance(own, dict) else None
        if due is not None:
            shifts.append(due - default)
    return max(shifts)


def apply_late(result: Result, config: Config, meta: dict) -> Result:
    """The [late] policy of grader.toml on this submission, from Gradescope's `created_at`, its due
    date moved by the student's Gradescope extension. No policy or no metadata: no penalty."""
    who = student(meta)
    if who is None:
        return result
    result = dataclasses.replace(result, student=who)
    if config.late is None:
        return result
    policy = dataclasses.replace(config.late, due=config.late.due + extension(meta))
    return late.apply(result, policy)


def run(root: Path | None = None, config_path: str | os.PathLike | None = None) -> dict:
    """Grade the submission under `root` and write results/results.json; return what was written."""
    from .render import terminal
    from .session import Session

    root = root or autograder_root()
    results = root / "results" / "results.json"
    started = time.monotonic()
    try:
        if config_path is None and (root / "source" / CONFIG_NAME).is_file():
            config_path = root / "source" / CONFIG_NAME
        config = load_config(config_path)
        name = student_name(root)
        with tempfile.TemporaryDirectory(prefix="unpacked-") as staging, Session(config, workers=1) as session:
            path, notes = gradable(root / "submission", Path(staging))
            result = session.grade(path, name)
        result.problems.extend(notes)
        result = apply_late(result, config, read_metadata(root))
        data = render.results_json(result, config.hidden_visibility, time.monotonic() - started,
                                   hidden_score=config.hidden_score)
        text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)   # NaN is not JSON: refused here
        print(terminal.table(result))      # stdout: the instructor's view (stdout_visibility hidden)
    except Exception:  # noqa: BLE001 - Gradescope must always get a results.json
        print("the autograder failed:\n" + traceback.format_exc(), file=sys.stdout)
        data = render.failure_json("", time.monotonic() - started)
        text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    results.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(results, text)
    return data


# ------------------------------------------------------------------------------------------------
# Building the zip


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes
    mode: int = 0o644


SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 base).
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive

apt-get update
apt-get install -y python3 python3-pip python3-venv bubblewrap
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --upgrade pip
"$ROOT/venv/bin/python" -m pip install "$SOURCE/src"
# The student environment (grader.toml [environment] packages): what student code may import.
"$ROOT/venv/bin/python" -m pip install @STUDENT_PACKAGES@

# Student code runs as an unprivileged uid. Where bubblewrap cannot make namespaces (Docker often
# forbids them) the sandbox falls back to rlimits and that uid sees the file system: make the
# grader, the reference answers, the registry and the secret readable by root only.
SITE="$("$ROOT/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
for package in {private}; do
    if [ -d "$SITE/$package" ]; then chmod -R go-rwx "$SITE/$package"; fi
done
chown -R root:root "$SOURCE"
chmod -R go-rwx "$SOURCE"
"$ROOT/venv/bin/python" -m grader --version
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in /autograder. It always leaves
# results/results.json behind: `grader gradescope` writes one even when grading fails, and when
# the grader cannot even start (a broken install, no Python) this script writes one itself, since
# a missing file is only "The autograder failed to execute correctly" to the student.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
RESULTS="$ROOT/results/results.json"
PYTHON="$ROOT/venv/bin/python"
if [ ! -x "$PYTHON" ]; then PYTHON="$(command -v python3 || echo python3)"; fi
chmod 700 "$SOURCE" 2>/dev/null || true
chmod 600 "$SOURCE/hidden_secret" 2>/dev/null || true
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
cd "$ROOT"
export AUTOGRADER_ROOT="$ROOT"
export PYTHONPATH="$SOURCE/src"
"$PYTHON" -m grader gradescope --config "$SOURCE/grader.toml"
status=$?
if [ ! -s "$RESULTS" ]; then
    echo "run_autograder: the grader exited with status $status without writing $RESULTS; writing a score of 0"
    cat > "$RESULTS" <<'JSON'
@FALLBACK@
JSON
fi
exit "$status"
"""

DOCKERFILE = """# Gradescope's "manual Docker configuration": build this from the unzipped autograder folder,
#   docker build -t USER/autograder . && docker push USER/autograder
# and give Gradescope the image name. Like the zip, the image holds the hidden-case secret: keep it private.
FROM gradescope/autograder-base:latest
COPY . /autograder/source
RUN cp /autograder/source/run_autograder /autograder/run_autograder \\
    && chmod 755 /autograder/run_autograder /autograder/source/setup.sh \\
    && bash /autograder/source/setup.sh \\
    && apt-get clean && rm -rf /var/lib/apt/lists/*
"""


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def run_autograder_sh() -> str:
    """run_autograder, with the results.json it writes when the grader cannot start at all."""
    fallback = json.dumps(render.failure_json("The grader stopped before it could write a result."),
                          ensure_ascii=True, allow_nan=False)
    return RUN_AUTOGRADER.replace("@FALLBACK@", fallback)


def setup_sh(config: Config) -> str:
    """setup.sh: installs the student environment's packages, and makes the engine and the packages
    the assignment declares private root-only."""
    private = " ".join(dict.fromkeys(("grader", *config.private_packages())))
    packages = " ".join(shlex.quote(p) for p in config.environment) or "--version"
    return SETUP_SH.replace("{private}", private).replace("@STUDENT_PACKAGES@", packages)


def grader_toml(config: Config) -> str:
    """The container's grader.toml: this configuration, with the secret read from `hidden_secret`."""
    lines = ["# Written by `grader build-autograder`.", "[grader]",
             f"assignment = {_toml_value(config.assignment)}",
             f"secret_file = {_toml_value(SECRET_NAME)}",
             f"isolation = {_toml_value(config.isolation or 'best')}",
             "workers = 1", "", "[limits]"]
    lines += [f"{f.name} = {_toml_value(getattr(config.limits, f.name))}" for f in fields(Limits)]
    if config.written_points:
        lines += ["", "[written]"] + [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in config.written_points.items()]
    if config.late is not None:
        policy = config.late
        lines += ["", "[late]", f"due = {_toml_value(policy.due.isoformat())}"]
        lines += [f"{f.name} = {_toml_value(getattr(policy, f.name))}" for f in fields(policy) if f.name != "due"]
    lines += ["", "[gradescope]", f"hidden_visibility = {_toml_value(config.hidden_visibility)}",
              f"hidden_score = {_toml_value(config.hidden_score)}"]
    lines += ["", "[environment]", "packages = [" + ", ".join(_toml_value(p) for p in config.environment) + "]", ""]
    return "\n".join(lines)


def _source_members(project: Path) -> list[Member]:
    """pyproject.toml, README.md and every package it names (reference and registry included):
    from a checkout when `project` is one, else from the installed distribution."""
    from .config import tomllib

    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return _installed_members()
    meta = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    tool = meta.get("tool", {}).get("setuptools", {})
    dirs = {p.split(".")[0] for p in tool.get("packages", [])} | set(tool.get("package-dir", {}).values())
    members = [Member("src/pyproject.toml", pyproject.read_bytes())]
    readme = project / "README.md"
    members.append(Member("src/README.md", readme.read_bytes() if readme.is_file() else b"# grader\n"))
    for top in sorted(dirs):
        folder = project / top
        if not folder.is_dir():
            raise GradescopeError(f"pyproject.toml names {top}/, which is not at {folder}")
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(project)
            if path.is_file() and not SKIP_NAMES.intersection(rel.parts) and path.suffix not in (".pyc", ".tmp"):
                members.append(Member(f"src/{rel.as_posix()}", path.read_bytes()))
    return members


def _installed_members() -> list[Member]:
    """The source of an ordinary (non-editable) install: every file the distribution installed under
    its packages (templates and the assignment included, as its RECORD lists them), and a
    pyproject.toml written for that layout, so that Gradescope's `pip install src` rebuilds it."""
    from importlib import metadata

    site = Path(__file__).resolve().parent.parent
    names = metadata.packages_distributions().get(__package__, [])
    if not names:
        raise GradescopeError(f"the grader at {site} is neither a checkout (no pyproject.toml) nor an installed "
                              "distribution; reinstall it with pip")
    dist = metadata.distribution(names[0])
    files = sorted(str(f) for f in dist.files or ()
                   if f.parts and not f.parts[0].endswith((".dist-info", ".egg-info")) and f.parts[0] != ".."
                   and not SKIP_NAMES.intersection(f.parts) and f.suffix not in (".pyc", ".tmp")
                   and (site / f).is_file())
    if not files:
        raise GradescopeError(f"the installed distribution {dist.metadata['Name']} lists no files")
    members = [Member(f"src/{name}", (site / name).read_bytes()) for name in files]
    readme = (dist.metadata.get("Description") or dist.metadata.get("Summary") or "grader").encode()
    members.append(Member("src/README.md", readme))
    members.append(Member("src/pyproject.toml", installed_pyproject(dist, files).encode()))
    return members


def installed_pyproject(dist: Any, files: list[str]) -> str:
    """A pyproject.toml that builds the installed layout back: its packages (every folder holding
    files), their data files, its dependencies (without extras) and its commands."""
    folders = sorted({str(Path(f).parent) for f in files if Path(f).parent != Path(".")})
    packages = [folder.replace("/", ".") for folder in folders]
    data: dict[str, list[str]] = {}
    for f in files:
        if not f.endswith(".py") and Path(f).parent != Path("."):
            data.setdefault(str(Path(f).parent).replace("/", "."), []).append(Path(f).name)
    requires = [r for r in (dist.requires or []) if "extra ==" not in r.replace("'", '"')]
    scripts = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    lines = ["# Written by `grader build-autograder` from the installed distribution.",
             "[build-system]", 'requires = ["setuptools>=64"]', 'build-backend = "setuptools.build_meta"', "",
             "[project]", f"name = {json.dumps(dist.metadata['Name'])}", f"version = {json.dumps(dist.version)}",
             'readme = "README.md"']
    if dist.metadata.get("Requires-Python"):
        lines.append(f"requires-python = {json.dumps(dist.metadata['Requires-Python'])}")
    lines += ["dependencies = [" + ", ".join(json.dumps(r) for r in requires) + "]", "", "[project.scripts]"]
    lines += [f"{json.dumps(ep.name)} = {json.dumps(ep.value)}" for ep in scripts]
    lines += ["", "[tool.setuptools]", "packages = [" + ", ".join(json.dumps(p) for p in packages) + "]", "",
              "[tool.setuptools.package-data]"]
    lines += [f"{json.dumps(package)} = [" + ", ".join(json.dumps(n) for n in names) + "]"
              for package, names in sorted(data.items())]
    return "\n".join(lines) + "\n"


def autograder_members(config: Config, project: Path = PROJECT_ROOT) -> list[Member]:
    config.load_assignment()       # fail now, not on Gradescope, if the registry does not import
    return [
        Member("setup.sh", setup_sh(config).encode(), 0o755),
        Member("run_autograder", run_autograder_sh().encode(), 0o755),
        Member(CONFIG_NAME, grader_toml(config).encode()),
        Member(SECRET_NAME, (config.secret + "\n").encode(), 0o600),
        Member("Dockerfile", DOCKERFILE.encode()),
        *_source_members(project),
    ]


def build_autograder(out: str | os.PathLike, config: Config, allow_demo_secret: bool = False,
                     project: Path = PROJECT_ROOT) -> list[str]:
    """Write the Gradescope autograder zip to `out` (atomically); return the names it holds."""
    if config.demo_secret and not allow_demo_secret:
        raise GradescopeError("refusing to build an autograder with the repository's DEMO secret: anyone with the "
                              "repository could compute the hidden cases. Set GRADER_SECRET (or secret_file in "
                              "grader.toml), or pass --allow-demo-secret for a trial run")
    members = autograder_members(config, project)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | member.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.data)
    write_bytes_atomic(out, buffer.getvalue(), mode=0o600)   # it holds the secret
    return [m.name for m in members]
