"""Configuration: one declarative file (grader.toml), overridable by environment and flags.

    [grader]
    assignment = "assignments.hw3"     # the registry module (it defines ASSIGNMENT)
    secret_file = "/path/to/secret"    # or: secret = "..." ; env GRADER_SECRET / GRADER_SECRET_FILE win
    isolation = "best"                 # "best" | "bwrap" | "rlimits"
    workers = 2                        # parallel submissions in a batch (default: all cores)

    [limits]                           # see grader.runner.Limits for every field
    case_seconds = 2
    submission_seconds = 180

    [written]                          # manual points per written part (defaults: the registry's)
    "2b-proof" = 5

    [gradescope]
    hidden_visibility = "after_published"

    [environment]                      # what student code may import besides the standard library
    packages = ["numpy", "scipy", "matplotlib"]

Without any secret the repository's DEMO secret is used, and every report says so: its hidden
cases are reproducible by anyone with this repository, so it must never be used for real grades.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .environment import DEFAULT_PACKAGES, PackageListError, check_packages
from .runner import Limits
from .spec import Assignment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEMO_SECRET = "hw3-demo-secret--public--not-for-real-grading"
DEFAULT_ASSIGNMENT = "assignments.hw3"
CONFIG_NAME = "grader.toml"
ENVIRONMENT_NAME = "environment.json"      # a student kit's packages (written by grader.kit)


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class Config:
    assignment: str = DEFAULT_ASSIGNMENT
    secret: str = DEMO_SECRET
    secret_source: str = "demo"
    isolation: str | None = None          # None: the best available
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: Limits = field(default_factory=Limits)
    written_points: dict[str, float] = field(default_factory=dict)
    hidden_visibility: str = "after_published"
    environment: tuple[str, ...] = field(default_factory=lambda: default_environment())

    @property
    def demo_secret(self) -> bool:
        return self.secret_source == "demo"

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
                raise ConfigError(f"[written] names unknown parts: {sorted(unknown)}")
            written = tuple(dataclasses.replace(w, points=float(self.written_points.get(w.id, w.points)))
                            for w in assignment.written)
            assignment = dataclasses.replace(assignment, written=written)
        return assignment


def load_config(path: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Config:
    """Read `path` (or $GRADER_CONFIG, or ./grader.toml if present), then apply the environment."""
    env = dict(os.environ if env is None else env)
    raw: dict[str, Any] = {}
    chosen = path or env.get("GRADER_CONFIG") or (CONFIG_NAME if Path(CONFIG_NAME).is_file() else None)
    base = Path(".")
    if chosen:
        chosen = Path(chosen)
        try:
            raw = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {chosen} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"configuration file {chosen} is not valid TOML: {exc}") from None
        base = chosen.parent
    section = raw.get("grader", {})
    values: dict[str, Any] = {}
    if "assignment" in section:
        values["assignment"] = str(section["assignment"])
    isolation = str(section.get("isolation", "best"))
    if isolation not in ("best", "bwrap", "rlimits"):
        raise ConfigError(f"isolation must be best, bwrap or rlimits, not {isolation!r}")
    values["isolation"] = None if isolation == "best" else isolation
    if "workers" in section:
        values["workers"] = _positive_int(section["workers"], "workers")

    secret, source = DEMO_SECRET, "demo"
    if "secret" in section:
        secret, source = str(section["secret"]), "config"
    if "secret_file" in section:
        secret, source = _read_secret(base / str(section["secret_file"])), "config secret_file"
    if env.get("GRADER_SECRET_FILE"):
        secret, source = _read_secret(Path(env["GRADER_SECRET_FILE"])), "GRADER_SECRET_FILE"
    if env.get("GRADER_SECRET"):
        secret, source = env["GRADER_SECRET"], "GRADER_SECRET"
    values["secret"], values["secret_source"] = secret, source

    limits = raw.get("limits", {})
    known = {f.name: f.type for f in dataclasses.fields(Limits)}
    unknown = set(limits) - set(known)
    if unknown:
        raise ConfigError(f"[limits] has unknown settings {sorted(unknown)}; known: {sorted(known)}")
    try:
        values["limits"] = Limits(**{k: type(getattr(Limits(), k))(v) for k, v in limits.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[limits] has a bad value: {exc}") from None
    values["written_points"] = {str(k): float(v) for k, v in raw.get("written", {}).items()}
    visibility = str(raw.get("gradescope", {}).get("hidden_visibility", "after_published"))
    if visibility not in ("hidden", "after_due_date", "after_published", "visible"):
        raise ConfigError(f"gradescope.hidden_visibility {visibility!r} is not a Gradescope visibility")
    values["hidden_visibility"] = visibility
    if "packages" in raw.get("environment", {}):
        try:
            values["environment"] = check_packages(raw["environment"]["packages"])
        except PackageListError as exc:
            raise ConfigError(str(exc)) from None
    return Config(**values)


def default_environment(bundled: Path | None = None) -> tuple[str, ...]:
    """The student environment when grader.toml names none: the one a student kit was built with
    (`environment.json` beside this module), else numpy, scipy and matplotlib."""
    bundled = bundled or Path(__file__).with_name(ENVIRONMENT_NAME)
    try:
        return check_packages(json.loads(bundled.read_text(encoding="utf-8"))["packages"])
    except (OSError, ValueError, KeyError, TypeError, PackageListError):
        return DEFAULT_PACKAGES


def _read_secret(path: Path) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"the secret file {path} cannot be read: {exc.strerror}") from None
    if not secret:
        raise ConfigError(f"the secret file {path} is empty")
    return secret


def _positive_int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ConfigError(f"{name} must be at least 1")
    return number
