"""The few scripts our own pages carry (the class table, the review form), and the page's
Content-Security-Policy that lets exactly those run.

Every page declares `script-src` with the sha256 of each of its scripts (or `'none'`): a script
that student text might ever smuggle into a page would not match a hash, so it would not run,
whatever slipped past escaping. The scripts are static files in templates/ (no data inside them:
pages pass data through the DOM), so their hashes are fixed per release.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import jinja2
from markupsafe import Markup


@dataclass(frozen=True)
class Script:
    name: str
    code: Markup            # our own file, inserted verbatim (never data)

    @property
    def csp_hash(self) -> str:
        digest = hashlib.sha256(str(self.code).encode("utf-8")).digest()
        return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def script(name: str, env: jinja2.Environment) -> Script:
    """templates/<name>, as a Script, read by `env`'s loader (where the page's templates are: a
    checkout or the package)."""
    source, _, _ = env.loader.get_source(env, name)
    if "</script" in source.lower():
        raise ValueError(f"{name} must not contain '</script'")
    return Script(name, Markup(source))


def csp(scripts: list[Script]) -> str:
    """The Content-Security-Policy of a page running only `scripts` (and loading nothing)."""
    script_src = " ".join(s.csp_hash for s in scripts) or "'none'"
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {script_src}; "
            "base-uri 'none'; form-action 'none'")
