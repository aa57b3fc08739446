"""Reading a submission: a file or folder in, a `Program` (the code to run) out.

Nothing here runs student code. Every way a submission can be unreadable becomes a `LoadError`
with a stable code and a plain sentence, never a traceback: a notebook that is not JSON, not
UTF-8, empty, huge, of another language; a folder with no or several candidate files; files that
would shadow a library; symlinks that lead outside.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 20 * 2**20
MAX_CODE_CELLS = 2000
NOTEBOOK = "notebook"
MODULE = "module"
WRITTEN = "written"
SUFFIXES = {".ipynb": NOTEBOOK, ".py": MODULE, ".md": WRITTEN, ".txt": WRITTEN}
# A file next to the submission with one of these names would change what `import` finds.
SHADOWING = {"numpy", "IPython", "sitecustomize", "usercustomize", "conftest", "scipy", "matplotlib",
             "traitlets", "reference", "grader", "assignments"}


class LoadError(Exception):
    """The submission cannot be read; `code` is stable for machines, the message is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Unit:
    """One piece of code executed as a whole: a notebook code cell, or a whole module."""

    index: int
    source: str


@dataclass
class Program:
    kind: str                               # notebook | module | written
    filename: str
    units: list[Unit]
    markdown: list[Unit] = field(default_factory=list)   # markdown cells, or a written submission's text
    notes: list[tuple[str, str]] = field(default_factory=list)  # (code, message) worth reporting
    sha256: str = ""

    def to_worker(self) -> dict:
        return {"kind": self.kind, "filename": os.path.basename(self.filename),
                "units": [{"index": u.index, "source": u.source} for u in self.units]}


def load(path: str | os.PathLike) -> Program:
    """Read a submission file, or the one candidate file in a folder."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise LoadError("not-found", f"{path.name} is a broken symbolic link")
    if not path.exists():
        raise LoadError("not-found", f"{path} does not exist")
    notes: list[tuple[str, str]] = []
    if path.is_dir():
        path, notes = pick_candidate(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError("unsupported-type",
                        f"{path.name} is not a notebook (.ipynb), a Python module (.py) or a written answer (.md/.txt)")
    data = _read_bytes(path)
    kind = SUFFIXES[suffix]
    text = _decode(path.name, data)
    if kind == NOTEBOOK:
        program = _notebook(path.name, text)
    elif kind == MODULE:
        program = Program(MODULE, path.name, [Unit(0, text)])
    else:
        program = Program(WRITTEN, path.name, [], [Unit(0, text)])
    program.notes = notes + program.notes
    program.sha256 = hashlib.sha256(data).hexdigest()
    return program


def pick_candidate(folder: Path) -> tuple[Path, list[tuple[str, str]]]:
    """Choose the submission in a folder: one notebook; else one module; else one written answer."""
    notes: list[tuple[str, str]] = []
    by_kind: dict[str, list[Path]] = {NOTEBOOK: [], MODULE: [], WRITTEN: []}
    root = folder.resolve()
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name.startswith("__pycache__"):
            continue
        if entry.is_symlink():
            try:
                target = entry.resolve(strict=True)
            except (OSError, RuntimeError):   # broken, or a loop
                notes.append(("ignored-symlink", f"{entry.name} is a broken or looping symbolic link; ignored"))
                continue
            if root not in target.parents:
                notes.append(("ignored-symlink", f"{entry.name} is a symbolic link to outside the submission; ignored"))
                continue
        try:
            if not entry.is_file():
                continue
        except OSError:
            continue
        kind = SUFFIXES.get(entry.suffix.lower())
        if kind is None:
            continue
        if kind == MODULE and _shadows(entry.stem):
            notes.append(("ignored-shadowing", f"{entry.name} would shadow the module `{entry.stem}`; it was not run"))
            continue
        by_kind[kind].append(entry)
    for kind in (NOTEBOOK, MODULE, WRITTEN):
        found = by_kind[kind]
        if kind == WRITTEN:
            found = [p for p in found if p.stem.lower() not in ("readme", "requirements")] or found
        if len(found) == 1:
            return found[0], notes
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise LoadError("ambiguous", f"the folder {folder.name} holds several {kind} files ({names}); "
                                         "hand in exactly one")
    shadow = [m for c, m in notes]
    detail = f" ({'; '.join(shadow)})" if shadow else ""
    raise LoadError("no-candidate", f"the folder {folder.name} holds no notebook (.ipynb), module (.py) "
                                    f"or written answer (.md/.txt){detail}")


def _shadows(stem: str) -> bool:
    return stem in SHADOWING or stem in getattr(sys, "stdlib_module_names", ())


def _read_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size == 0:
        raise LoadError("empty", f"{path.name} is empty")
    if size > MAX_BYTES:
        raise LoadError("too-large", f"{path.name} is {size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB "
                                     "(clear the notebook's outputs before handing it in)")
    return path.read_bytes()


def _decode(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError("binary", f"{name} is a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError("not-utf8", f"{name} is not UTF-8 text (bad byte at position {exc.start})") from None
    if not text.strip():
        raise LoadError("empty", f"{name} holds only white space")
    return text


def _notebook(name: str, text: str) -> Program:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError("not-json", f"{name} is not a valid notebook: it is not JSON "
                                    f"({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError):   # e.g. a number with thousands of digits, nesting thousands deep
        raise LoadError("not-json", f"{name} is not a valid notebook: its JSON is nested too deeply "
                                    "or holds numbers too large to read") from None
    if not isinstance(raw, dict) or not ("cells" in raw or "worksheets" in raw):
        raise LoadError("not-notebook", f"{name} is JSON but not a Jupyter notebook (no cells)")
    notes: list[tuple[str, str]] = []
    version = raw.get("nbformat")
    if type(version) is not int or version not in (3, 4):
        raise LoadError("unsupported-nbformat", f"{name} is nbformat {version!r}; only versions 3 and 4 can be read")
    nb = raw if version == 4 else _upgraded(name, raw)
    if version == 3:
        notes.append(("upgraded", "the notebook is in the old nbformat 3; it was upgraded to version 4"))
    cells = nb.get("cells", [])
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise LoadError("invalid-notebook", f"{name} could not be read as a notebook: its cells are not "
                                            "a list of cells")
    language = _language(nb)
    if language is None:
        notes.append(("no-kernelspec", "the notebook names no kernel; it was run as Python"))
    elif language != "python":
        raise LoadError("foreign-kernel", f"{name} is a {language} notebook; this homework must be written in Python")
    units, markdown = [], []
    odd = []
    for index, cell in enumerate(cells):
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        kind = cell.get("cell_type")
        if not isinstance(source, str) or kind not in ("code", "markdown", "raw"):
            odd.append(index)
            continue
        source = _valid_text(source)
        if kind == "code":
            units.append(Unit(index, source))
        else:
            markdown.append(Unit(index, source))
    if odd:
        cells_named = ", ".join(str(i) for i in odd[:5]) + (" …" if len(odd) > 5 else "")
        notes.append(("invalid-notebook", f"the notebook does not fully follow the nbformat schema: cell(s) "
                                          f"{cells_named} have no known type or no text source and were "
                                          "skipped; the other cells were read"))
    if len(units) > MAX_CODE_CELLS:
        raise LoadError("too-many-cells", f"{name} has {len(units)} code cells; the limit is {MAX_CODE_CELLS}")
    if not units:
        notes.append(("no-code", "the notebook has no code cells"))
    return Program(NOTEBOOK, name, units, markdown, notes)


def _upgraded(name: str, raw: dict) -> dict:
    """An nbformat 3 notebook as version 4, by nbformat itself (imported only for these: reading
    version 4 needs nothing but the JSON, and nbformat's import alone costs a batch 70 ms)."""
    import nbformat

    try:
        minor = raw.get("nbformat_minor", 0)
        nb = nbformat.versions[3].to_notebook_json(raw, minor=minor if type(minor) is int else 0)
        return nbformat.convert(nb, 4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on malformed input
        detail = _valid_text(str(exc)[:300]) or type(exc).__name__
        raise LoadError("invalid-notebook", f"{name} could not be read as a notebook: {detail}") from None


def _language(nb) -> str | None:
    """The notebook's language, lower case; None when it names none. Tolerates any metadata shape."""
    def mapping(value) -> dict:
        return value if isinstance(value, dict) else {}

    meta = mapping(nb.get("metadata"))
    spec = mapping(meta.get("kernelspec"))
    info = mapping(meta.get("language_info"))
    language = spec.get("language") or info.get("name")
    if not language:
        kernel = str(spec.get("name", "")).lower()
        if not kernel:
            return None
        language = "python" if "python" in kernel else kernel
    language = _valid_text(str(language)).lower()[:40]
    return "python" if language.startswith("python") else language


def _valid_text(text: str) -> str:
    """`text` with lone surrogates (which JSON escapes can carry) replaced: it must encode as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
