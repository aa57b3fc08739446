"""Configuration: one declarative schema, read from grader.toml and the environment.

Every setting is one `Setting` in `SCHEMA` (section, name, type, default, bounds, help), in the
manner of Otter's `autograder_config.py`: the parser, `grader config --show` and the README's table
are all derived from it, so a key cannot be documented without being parsed or parsed without being
documented. The `[limits]` section is the `Limits` dataclass below: each field carries its bounds and
help as metadata, and the schema lists its fields.

    [grader]
    assignment = "assignments.hw3"     # the registry module (it defines ASSIGNMENT)
    secret_file = "/path/to/secret"    # or: secret = "..." ; env GRADER_SECRET / GRADER_SECRET_FILE win
    isolation = "best"                 # "best" | "bwrap" | "rlimits"

    [limits]
    case_seconds = 2

    [written]                          # manual points per written part (defaults: the registry's)
    "2b-proof" = 5

A key the schema does not know is an error that names it (a misspelt `isolaton = "bwrap"` would
otherwise silently drop the sandbox requirement), and so is a value of the wrong type or out of its
bounds; `ConfigError` reaches the command line as exit 2, never as a traceback.

    [late]                             # see grader.late; absent (or policy = "none"): no penalty
    due = 2026-03-01T23:59:00-05:00
    grace_minutes = 15
    penalty_per_day = 10               # percent of the points earned
    cap = 50                           # percent

    [environment]                      # what student code may import besides the standard library
    packages = ["numpy", "scipy", "matplotlib"]

Without any secret the repository's DEMO secret is used, and every staff page says so: its hidden
cases are reproducible by anyone with this repository, so it must never be used for real grades.
A secret of one's own must resist guessing (`MIN_SECRET_CHARS`): the case-set digest printed on
every report would let a student test guesses offline.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import importlib
import importlib.util
import json
import math
import os
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from . import pysource
from .environment import DEFAULT_PACKAGES, PackageListError, check_packages
from .late import LatePolicy, LatePolicyError
from .late import parse as parse_late
from .similarity import Thresholds
from .spec import Assignment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEMO_SECRET = "hw3-demo-secret--public--not-for-real-grading"
DEFAULT_ASSIGNMENT = "assignments.hw3"
CONFIG_NAME = "grader.toml"
MIN_SECRET_CHARS = 16        # with MIN_SECRET_DISTINCT: far beyond what a student can try offline
MIN_SECRET_DISTINCT = 8
ISOLATIONS = ("best", "bwrap", "rlimits")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
WRITTEN = "written"          # the section whose keys are the registry's written parts
ENVIRONMENT_NAME = "environment.json"      # a student kit's packages (written by grader.kit)
MAX_FIGURES = 8              # as in worker.py: the most plots a submission may keep
MAX_FIGURE_BYTES = 120_000   # as in worker.py: the largest PNG kept
MAX_FIGURE_PIXELS = 2_000_000  # as in worker.py: the largest plot drawn (a PNG's header saying more is not kept)


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


EVENT_OVERHEAD = 256 * 2**10    # an event line's room besides one answer's base64 (keys, shapes, texts)


def _limit(default: float, help: str, minimum: float, maximum: float) -> Any:
    """A `Limits` field with the bounds and help the schema reads."""
    return field(default=default, metadata={"help": help, "minimum": minimum, "maximum": maximum})


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission. Defaults suit a homework of small numerical functions."""

    case_seconds: float = _limit(2.0, "wall time for one call of a student function (the reference takes "
                                      "milliseconds)", 0.01, 3600)
    cell_seconds: float = _limit(20.0, "wall time for one notebook cell (or the whole module)", 0.1, 86400)
    submission_seconds: float = _limit(180.0, "wall time for everything one submission does", 1, 86400)
    memory_mb: int = _limit(1536, "address space (MiB) on top of the warm interpreter", 64, 1 << 20)
    cpu_seconds: int = _limit(300, "CPU time (s) of one submission's process", 1, 86400)
    nproc: int = _limit(32, "processes and threads of the student uid (when it has its own)", 1, 4096)
    fsize_mb: int = _limit(16, "largest file (MiB) student code may write", 1, 1 << 16)
    nofile: int = _limit(128, "open files of one student process", 32, 1 << 16)
    tmpfs_mb: int = _limit(64, "size (MiB) of the private scratch and /tmp (bwrap)", 1, 1 << 16)
    tmpfs_inodes: int = _limit(16384, "files in scratch and in /tmp, each, where the isolation level can cap "
                                      "them (see the README)", 64, 1 << 24)
    output_bytes: int = _limit(65536, "printed output kept per cell", 1024, 1 << 26)
    figures: int = _limit(3, f"plots kept per submission as small PNGs (0: none drawn)", 0, MAX_FIGURES)
    timeouts_per_question: int = _limit(2, "time-outs after which a question's other cases are not run", 1, 1000)
    # The largest HW3 answer is ~50 kB; these bound what the trusted side reads and decodes.
    answer_mb: float = _limit(8.0, "one case's answer (MiB of decoded float64); larger fails that case", 0.01, 4096)
    answers_mb: float = _limit(64.0, "all of one submission's answers together (MiB); past it the rest are not run",
                               0.01, 1 << 16)

    @property
    def answer_bytes(self) -> int:
        return int(self.answer_mb * 2**20)

    @property
    def answers_bytes(self) -> int:
        return int(self.answers_mb * 2**20)

    @property
    def event_line_bytes(self) -> int:
        """The longest event line read: an answer of `answer_mb` in base64, or the printed output
        JSON-escaped (6 bytes a character at worst), plus room for the rest."""
        return max(4 * math.ceil(self.answer_bytes / 3), 6 * self.output_bytes) + EVENT_OVERHEAD

    def for_worker(self, own_uid: bool) -> dict[str, Any]:
        limits = {"cell_seconds": self.cell_seconds, "memory_mb": self.memory_mb,
                  "cpu_seconds": self.cpu_seconds, "fsize_mb": self.fsize_mb,
                  "nofile": self.nofile, "output_bytes": self.output_bytes,
                  "answer_bytes": self.answer_bytes, "figures": max(0, min(self.figures, MAX_FIGURES))}
        if own_uid:
            # RLIMIT_NPROC counts every process of the real uid: only meaningful for a uid of its own.
            limits["nproc"] = self.nproc
        return limits


# ------------------------------------------------------------------------------------------------
# The schema


@dataclass(frozen=True)
class Setting:
    """One key of grader.toml: where it lives, what it accepts, what it means."""

    section: str
    name: str                      # "*" in [written]: any written part of the registry
    type: type                     # str, int, float, bool or datetime (an int is accepted where a float is asked)
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False           # never printed
    default_text: str = ""         # how the default reads when it is computed, e.g. "all cores"

    @property
    def key(self) -> str:
        return f"[{self.section}] {self.name}"

    def parse(self, value: Any, name: str | None = None) -> Any:
        """`value` as this setting's type, or a ConfigError naming the key and what it accepts."""
        where = f"[{self.section}] {name or self.name}"
        if self.type in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{where} must be a number{self._range()}, not {value!r}")
        if self.type is int and isinstance(value, float):
            raise ConfigError(f"{where} must be a whole number{self._range()}, not {value!r}")
        if self.type is str and not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        if self.type is bool and not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        if self.type is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where} must be a list of strings, not {value!r}")
            return list(value)
        if self.type is datetime:
            if not isinstance(value, (datetime, date, str)):
                raise ConfigError(f"{where} must be a date-time (2026-03-01T23:59:00-05:00), not {value!r}")
            return value           # read as a time by its user (grader.late), which says what is wrong
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where} must be one of {', '.join(self.choices)}; not {value!r}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ConfigError(f"{where} must be{self._range()}, not {value!r}")
        return self.type(value)

    def _range(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f" from {_number(self.minimum)} to {_number(self.maximum)}"
        if self.minimum is not None:
            return f" of at least {_number(self.minimum)}"
        return ""

    def type_text(self) -> str:
        if self.choices:
            return " | ".join(f'"{c}"' for c in self.choices)
        kind = {str: "string", int: "integer", float: "number", bool: "true or false", datetime: "date-time",
                list: "list of strings"}[self.type]
        return f"{kind}, {self._range().strip()}" if self.minimum is not None else kind

    def default_repr(self) -> str:
        return self.default_text or _toml_value(self.default)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _limits_settings() -> tuple[Setting, ...]:
    return tuple(Setting("limits", f.name, type(f.default), f.default, f.metadata["help"],
                         minimum=f.metadata["minimum"], maximum=f.metadata["maximum"])
                 for f in dataclasses.fields(Limits))


SCHEMA: tuple[Setting, ...] = (
    Setting("grader", "assignment", str, DEFAULT_ASSIGNMENT, "the registry module (it defines ASSIGNMENT)"),
    Setting("grader", "secret", str, None, "the secret the hidden cases are drawn from (GRADER_SECRET wins); "
            f"at least {MIN_SECRET_CHARS} characters", secret=True, default_text="the public demo secret"),
    Setting("grader", "secret_file", str, None, "a file holding the secret, relative to grader.toml "
            "(GRADER_SECRET_FILE wins)", default_text="none"),
    Setting("grader", "isolation", str, "best", "the sandbox: the best available, bubblewrap required "
            "(exit 4 without it), or rlimits only", choices=ISOLATIONS),
    Setting("grader", "lang", str, None, "the students' language for self-check feedback and the kit (e.g. "
            "\"zh_CN\"; --lang and $GRADER_LANG win)", default_text="their locale"),
    Setting("grader", "workers", int, None, "submissions graded at once in a batch", minimum=1, maximum=1024,
            default_text="all cores"),
    *_limits_settings(),
    Setting(WRITTEN, "*", float, None, "manual points of a written part, keyed by its id (e.g. \"2b-proof\")",
            minimum=0, maximum=1000, default_text="the registry's"),
    Setting("gradescope", "hidden_visibility", str, "hidden", "when Gradescope shows students the hidden "
            "tests (\"hidden\": Gradescope then hides the total score from students too)", choices=VISIBILITIES),
    Setting("gradescope", "hidden_score", str, "total", "what Gradescope's top-level score holds: every case, "
            "or the public cases only (until the hidden ones are published)", choices=("total", "public-only")),
    Setting("environment", "packages", list, list(DEFAULT_PACKAGES), "what student code may import besides the "
            "standard library (pip names); the set-up, setup.sh, the Dockerfile and the kit install exactly these"),
    Setting("late", "policy", str, "none", "\"none\" turns the late policy off; anything else (or leaving it out "
            "with a due date) applies it", default_text="none, unless `due` is set"),
    Setting("late", "due", datetime, None, "the due date-time (TOML date-time, e.g. 2026-03-01T23:59:00-05:00); "
            "the LMS's submission times are compared with it", default_text="none"),
    Setting("late", "grace_minutes", float, 0.0, "minutes after the due time that still count as on time",
            minimum=0, maximum=10**6),
    Setting("late", "penalty_per_day", float, 0.0, "percent of the earned score taken per late period",
            minimum=0, maximum=100),
    Setting("late", "cap", float, 100.0, "the largest penalty, in percent", minimum=0, maximum=100),
    Setting("late", "period_hours", float, 24.0, "how long one late period (\"day\") is", minimum=0.001,
            maximum=10**6),
    Setting("late", "zone", str, None, "the course's IANA time zone (e.g. \"America/Toronto\"): a `due` without an "
            "offset, and LMS times given without one (Brightspace's), are in it, with its daylight saving time",
            default_text="none (a `due` without an offset is UTC; zoneless LMS times are not used)"),
    Setting("reports", "staff_pages", bool, True, "write each student's work.html (the notebook as graded) and "
            "instructor.html in a batch (instructor.json is always written); off, a large batch is several times "
            "faster"),
    Setting("similarity", "enabled", bool, True, "look for copying across the class after every batch "
            "(similarity.html, instructors only)"),
    Setting("similarity", "code", float, Thresholds.code, "flag a pair sharing this share of the smaller "
            "submission's own code fingerprints", minimum=0, maximum=1),
    Setting("similarity", "text", float, Thresholds.text, "flag a pair sharing this share of the shorter "
            "write-up's fingerprints", minimum=0, maximum=1),
    Setting("similarity", "numbers", float, Thresholds.numbers, "flag a pair with this weight of identical "
            "unusual wrong answers (1: about one question, three cases or more)", minimum=0, maximum=1000),
    Setting("similarity", "common", int, Thresholds.common, "a fingerprint or wrong answer held by more "
            "students than this is common, not evidence", minimum=2, maximum=1_000_000),
    Setting("similarity", "template", str, None, "the blank template handed out, relative to grader.toml "
            "(its code and text are not evidence)", default_text="the checkout's submissions/template.ipynb"),
)

ENVIRONMENT = (
    ("GRADER_CONFIG", "the grader.toml to read when --config is not given (default: ./grader.toml if present)"),
    ("GRADER_SECRET", "the secret, overriding the file's"),
    ("GRADER_SECRET_FILE", "a file holding the secret, overriding the file's"),
)


def setting(section: str, name: str) -> Setting:
    for s in SCHEMA:
        if s.section == section and s.name in (name, "*"):
            return s
    raise KeyError(f"[{section}] {name}")


# ------------------------------------------------------------------------------------------------
# The configuration


@dataclass(frozen=True)
class Config:
    assignment: str = DEFAULT_ASSIGNMENT
    secret: str = DEMO_SECRET
    secret_source: str = "demo"
    isolation: str | None = None          # None: the best available
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: Limits = field(default_factory=Limits)
    written_points: dict[str, float] = field(default_factory=dict)
    # Hidden tests are "hidden" by default: Gradescope documents that students "will not be able to
    # see their total score" while tests are hidden, so the total (hidden cases included) is
    # recorded without revealing them (grader.render.gradescope).
    hidden_visibility: str = "hidden"
    hidden_score: str = "total"           # or "public-only": the top-level score leaves hidden cases out
    source: str = "defaults"              # the file read, for `grader config`
    similarity: Thresholds = field(default_factory=Thresholds)
    similarity_enabled: bool = True
    similarity_template: str | None = None   # None: the checkout's submissions/template.ipynb, if any
    late: LatePolicy | None = None        # grader.late; None: no late penalty
    lang: str | None = None               # the students' language for self-check feedback (None: their locale)
    environment: tuple[str, ...] = field(default_factory=lambda: default_environment())
    staff_pages: bool = True              # [reports] staff_pages: work.html and instructor.html per student

    @property
    def demo_secret(self) -> bool:
        return self.secret_source == "demo"

    def private_packages(self) -> tuple[str, ...]:
        """The packages student code must not read besides the engine's: what the assignment's
        registry declares in PRIVATE_PACKAGES (its reference answers...), and the registry's own
        top-level package. Known before the registry is imported (see `declared_private_packages`)."""
        return declared_private_packages(self.assignment)

    def load_assignment(self) -> Assignment:
        try:
            module = importlib.import_module(self.assignment)
        except ImportError as exc:
            raise ConfigError(f"the assignment module {self.assignment!r} cannot be imported: {exc}") from None
        assignment = getattr(module, "ASSIGNMENT", None)
        if not isinstance(assignment, Assignment):
            raise ConfigError(f"{self.assignment} does not define ASSIGNMENT")
        if self.written_points:
            unknown = set(self.written_points) - {w.id for w in assignment.written}
            if unknown:
                raise ConfigError(f"[written] names unknown parts: {sorted(unknown)}; the assignment's parts "
                                  f"are {sorted(w.id for w in assignment.written)}")
            written = tuple(dataclasses.replace(w, points=float(self.written_points.get(w.id, w.points)))
                            for w in assignment.written)
            assignment = dataclasses.replace(assignment, written=written)
        return assignment


PRIVATE_DECLARATION = "PRIVATE_PACKAGES"


def declared_private_packages(registry: str) -> tuple[str, ...]:
    """The registry's PRIVATE_PACKAGES (a literal tuple of top-level package names) and its own
    top-level package; () when the registry is not here (the student kit, which has none).

    The sandbox must know them when the workers start, and they start before the registry is
    imported (its reference answers and numpy load while the workers warm up): the declaration is
    read from the registry's source without running it, and only a declaration that is not a
    literal makes the registry be imported to read it.
    """
    try:
        spec = importlib.util.find_spec(registry)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return ()
    declared = _literal_declaration(spec.origin)
    if declared is None:
        declared = getattr(importlib.import_module(registry), PRIVATE_DECLARATION, ())
    if isinstance(declared, str) or not all(isinstance(n, str) and n.isidentifier() for n in declared):
        raise ConfigError(f"{registry}.{PRIVATE_DECLARATION} must be a tuple of top-level package names, "
                          f"not {declared!r}")
    return tuple(dict.fromkeys((*declared, registry.split(".")[0])))


def _literal_declaration(origin: str | None) -> tuple[str, ...] | None:
    """PRIVATE_PACKAGES as assigned at the top of the module at `origin`, if it is a literal;
    () if the module assigns none; None if it cannot be told without running the module."""
    if not origin or not origin.endswith(".py"):
        return None
    try:
        tree = pysource.parse(Path(origin).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AnnAssign) and node.value is not None else []
        if any(isinstance(t, ast.Name) and t.id == PRIVATE_DECLARATION for t in targets):
            try:
                return tuple(ast.literal_eval(node.value))
            except (ValueError, TypeError, SyntaxError):
                return None
    return ()


def load_config(path: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Config:
    """Read `path` (or $GRADER_CONFIG, or ./grader.toml if present), then apply the environment."""
    env = dict(os.environ if env is None else env)
    chosen = path or env.get("GRADER_CONFIG") or (CONFIG_NAME if Path(CONFIG_NAME).is_file() else None)
    raw, base = ({}, Path(".")) if not chosen else (_read_toml(Path(chosen)), Path(chosen).parent)
    values = parse_sections(raw)
    grader, limits = values.get("grader", {}), values.get("limits", {})
    secret, source = _secret(grader, base, env)
    isolation = grader.get("isolation", "best")
    config = Config(assignment=grader.get("assignment", DEFAULT_ASSIGNMENT), secret=secret, secret_source=source,
                    isolation=None if isolation == "best" else isolation,
                    limits=Limits(**limits), written_points=values.get(WRITTEN, {}),
                    hidden_visibility=values.get("gradescope", {}).get("hidden_visibility", "hidden"),
                    hidden_score=values.get("gradescope", {}).get("hidden_score", "total"),
                    source=str(chosen) if chosen else "defaults", **_similarity(values.get("similarity", {}), base),
                    late=_late(values.get("late", {})), lang=grader.get("lang"),
                    **_environment(values.get("environment", {})),
                    staff_pages=values.get("reports", {}).get("staff_pages", True))
    if "workers" in grader:
        config = dataclasses.replace(config, workers=grader["workers"])
    return config


def _environment(values: dict[str, Any]) -> dict[str, Any]:
    """[environment] packages, checked (grader.environment), when the file names them."""
    if "packages" not in values:
        return {}
    try:
        return {"environment": check_packages(values["packages"])}
    except PackageListError as exc:
        raise ConfigError(str(exc)) from None


def default_environment(bundled: Path | None = None) -> tuple[str, ...]:
    """The student environment when grader.toml names none: the one a student kit was built with
    (`environment.json` beside this module), else numpy, scipy and matplotlib."""
    bundled = bundled or Path(__file__).with_name(ENVIRONMENT_NAME)
    try:
        return check_packages(json.loads(bundled.read_text(encoding="utf-8"))["packages"])
    except (OSError, ValueError, KeyError, TypeError, PackageListError):
        return DEFAULT_PACKAGES


def _late(values: dict[str, Any]) -> LatePolicy | None:
    """[late] as a policy (grader.late), or None when there is none."""
    try:
        return parse_late(values)
    except LatePolicyError as exc:
        raise ConfigError(str(exc)) from None


def _similarity(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """[similarity] as Config fields: the thresholds, whether to run, the template's path."""
    thresholds = {f.name for f in dataclasses.fields(Thresholds)}
    chosen: dict[str, Any] = {"similarity": Thresholds(**{k: v for k, v in values.items() if k in thresholds})}
    if "enabled" in values:
        chosen["similarity_enabled"] = values["enabled"]
    if "template" in values:
        chosen["similarity_template"] = str(base / values["template"])
    return chosen


def parse_sections(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check every section and key of a parsed TOML document against SCHEMA; return the typed values."""
    sections = sorted({s.section for s in SCHEMA})
    values: dict[str, dict[str, Any]] = {}
    for section, table in raw.items():
        if section not in sections:
            raise ConfigError(f"unknown section [{section}]{_did_you_mean(section, sections)}; "
                              f"the sections are {', '.join(f'[{s}]' for s in sections)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{section} must be a section ([{section}]), not a value")
        names = [s.name for s in SCHEMA if s.section == section]
        values[section] = {}
        for name, value in table.items():
            if name not in names and "*" not in names:
                raise ConfigError(f"unknown setting {name!r} in [{section}]{_did_you_mean(name, names)}; "
                                  f"the settings of [{section}] are {', '.join(names)}")
            values[section][str(name)] = setting(section, name).parse(value, name)
    return values


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"configuration file {path} is a folder") from None
    except OSError as exc:
        raise ConfigError(f"configuration file {path} cannot be read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None


def _secret(grader: dict[str, Any], base: Path, env: dict[str, str]) -> tuple[str, str]:
    """The secret and where it came from; the environment wins over the file. Any secret but the demo
    one must resist guessing."""
    secret, source = DEMO_SECRET, "demo"
    if "secret" in grader:
        secret, source = grader["secret"], "[grader] secret"
    if "secret_file" in grader:
        secret, source = _read_secret(base / grader["secret_file"]), "[grader] secret_file"
    if env.get("GRADER_SECRET_FILE"):
        secret, source = _read_secret(Path(env["GRADER_SECRET_FILE"])), "GRADER_SECRET_FILE"
    if env.get("GRADER_SECRET"):
        secret, source = env["GRADER_SECRET"], "GRADER_SECRET"
    if source != "demo":
        check_secret(secret, source)
    return secret, source


def check_secret(secret: str, source: str) -> None:
    """Refuse a secret that could be guessed: anyone can test guesses against a report's case digest."""
    if len(secret) < MIN_SECRET_CHARS or len(set(secret)) < MIN_SECRET_DISTINCT:
        raise ConfigError(
            f"the secret from {source} is too easy to guess ({len(secret)} characters, {len(set(secret))} different): "
            f"use at least {MIN_SECRET_CHARS} characters, {MIN_SECRET_DISTINCT} of them different, e.g. the output "
            "of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")


def _read_secret(path: Path) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"the secret file {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the secret file {path} is not text") from None
    if not secret:
        raise ConfigError(f"the secret file {path} is empty")
    return secret


# ------------------------------------------------------------------------------------------------
# Describing it: `grader config --show` and the README table


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def current_values(config: Config) -> dict[tuple[str, str], Any]:
    """Each key's value in `config` (written parts: only those the configuration sets)."""
    values: dict[tuple[str, str], Any] = {
        ("grader", "assignment"): config.assignment,
        ("grader", "isolation"): config.isolation or "best",
        ("grader", "workers"): config.workers,
        **({("grader", "lang"): config.lang} if config.lang else {}),
        ("gradescope", "hidden_visibility"): config.hidden_visibility,
        ("gradescope", "hidden_score"): config.hidden_score,
        ("environment", "packages"): list(config.environment),
    }
    values.update({("limits", f.name): getattr(config.limits, f.name) for f in dataclasses.fields(Limits)})
    values.update({(WRITTEN, part): points for part, points in config.written_points.items()})
    values.update({("similarity", f.name): getattr(config.similarity, f.name)
                   for f in dataclasses.fields(Thresholds)})
    values[("similarity", "enabled")] = config.similarity_enabled
    values[("reports", "staff_pages")] = config.staff_pages
    if config.late is not None:
        values.update({("late", f.name): getattr(config.late, f.name) for f in dataclasses.fields(config.late)})
        values[("late", "due")] = config.late.due.isoformat()
    if config.similarity_template:
        values[("similarity", "template")] = config.similarity_template
    return values


def show(config: Config, written_defaults: dict[str, float] | None = None) -> str:
    """Every key with its value in `config`, its default and its help (the secret is never printed);
    with the registry's `written_defaults`, every written part too."""
    values = current_values(config)
    for part, points in (written_defaults or {}).items():
        values.setdefault((WRITTEN, part), points)
    lines = [f"# configuration: {config.source}", ""]
    for section in dict.fromkeys(s.section for s in SCHEMA):
        lines.append(f"[{section}]")
        for s in (s for s in SCHEMA if s.section == section):
            lines += _show_setting(s, config, values)
        lines.append("")
    lines.append("# environment")
    lines += [f"#   {name}: {text}" for name, text in ENVIRONMENT]
    return "\n".join(lines)


def _show_setting(s: Setting, config: Config, values: dict[tuple[str, str], Any]) -> list[str]:
    help_line = f"    # {s.help}; {s.type_text()}; default: {s.default_repr()}"
    if s.name == "*":
        set_here = [(name, v) for (sec, name), v in values.items() if sec == s.section]
        return [f"{_toml_value(name)} = {_toml_value(float(v))}" for name, v in set_here] + \
               ["# \"<part id>\" = points", help_line]
    if s.secret:
        shown = "(demo secret: NOT for real grades)" if config.demo_secret else f"(set, from {config.secret_source})"
        return [f"# {s.name} = {shown}", help_line]
    if (s.section, s.name) not in values:
        return [f"# {s.name} = (not set)", help_line]
    return [f"{s.name} = {_toml_value(values[(s.section, s.name)])}", help_line]


def markdown_table() -> str:
    """The README's table of settings, generated from SCHEMA (a test keeps the README equal to it)."""
    rows = ["| section | key | type | default | meaning |", "|---|---|---|---|---|"]
    for s in SCHEMA:
        name = "*part id*" if s.name == "*" else f"`{s.name}`"
        default = s.default_text or f"`{_toml_value(s.default)}`"
        kind = "one of " + ", ".join(f"`{c}`" for c in s.choices) if s.choices else s.type_text()
        rows.append(f"| `[{s.section}]` | {name} | {kind} | {default} | {s.help} |")
    return "\n".join(rows)
