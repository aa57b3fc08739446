"""Reading a submission: a file or folder in, a `Program` (the code to run) out.

Nothing here runs student code. Every way a submission can be unreadable becomes a `LoadError`
with a stable code and a plain sentence, never a traceback: a notebook that is not JSON, not
UTF-8, empty, huge, of another language; a folder with no or several candidate files; files that
would shadow a library; symbolic links and special files (never followed or opened: see
`grader.submitted`, the only reader of hand-ins).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import submitted
from .results import MODULE, NOTEBOOK, WRITTEN  # noqa: F401 - the kinds, re-exported

# What is kept of a hand-in: a module, a write-up, a notebook's cells without their saved outputs.
MAX_BYTES = 20 * 2**20
# A notebook as handed in, its saved outputs included: every `plt.show()` saves a PNG in base64, and
# a notebook with its figures is often 20-50 MB. Outputs are not graded (the code runs again), so a
# notebook over MAX_BYTES is read without them (`_without_outputs`), in a process of its own whose
# address space is capped (SLIM_MB: the text, then its parse, which drops each cell's outputs as
# soon as the cell is read), and only what is kept, at most MAX_BYTES, reaches the grader.
MAX_SENT_BYTES = 100 * 2**20
SLIM_MB = 512
SLIM_SECONDS = 120
MAX_CODE_CELLS = 2000
# A notebook's JSON becomes Python objects in the grader's own process, where some JSON costs far
# more than its text: `{}` is three characters and ~70 bytes parsed (a 19 MB notebook of them took
# the grader to 550 MB), a short string or number 10-15 times its text. A notebook of at most this
# many values (a real one of 20 MB has ~500,000) stays within ~80 MB parsed, whatever they are.
MAX_JSON_VALUES = 1_000_000
# The address space of the throwaway process that counts the values of a notebook whose text alone
# cannot tell (see `_json_values_within`): a notebook of at most MAX_JSON_VALUES parses well within it.
COUNT_MB = 256
COUNT_SECONDS = 120
NOTED = 5            # ignored links (and special files) named one by one; past that, counted
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


# A notebook's cells are numbered from 1, counting every cell from the top (markdown and raw too):
# Jupyter, JupyterLab, Colab and VS Code show no cell index (only `In [n]`, which changes with every
# run), so "cell 18" must be the 18th cell a student counts, and `work.html` labels each cell so.
# Every report names a cell by this number ("line 2 (cell 3)"), which the code runs as "<cell 3>".
FIRST_CELL = 1


@dataclass(frozen=True)
class Unit:
    """One piece of code executed as a whole: a notebook code cell, or a whole module."""

    index: int                # a notebook cell's number as the student counts it (FIRST_CELL, ...)
    source: str


@dataclass
class Program:
    kind: str                               # notebook | module | written
    filename: str
    units: list[Unit]
    markdown: list[Unit] = field(default_factory=list)   # markdown cells, or a written submission's text
    notes: list[tuple[str, str]] = field(default_factory=list)  # (code, message) worth reporting
    sha256: str = ""
    # A notebook's code cells as last run in Jupyter: (cell index, execution_count), for those saved with one
    execution_counts: list[tuple[int, int]] = field(default_factory=list)
    # Code cells tagged `SKIP_TAG`: read (they are the student's work) but never run, as nbclient runs a notebook
    not_run: list[Unit] = field(default_factory=list)

    def to_worker(self) -> dict:
        return {"kind": self.kind, "filename": os.path.basename(self.filename),
                "units": [{"index": u.index, "source": u.source} for u in self.units]}


def load(path: str | os.PathLike) -> Program:
    """Read a submission file, or the one candidate file in a folder.

    Every byte is read through `grader.submitted`: a link or a special file, at the top or in
    the folder, is never followed or opened, and no more than `MAX_BYTES` are read.
    """
    path = Path(path)
    entry = submitted.probe(path)
    if entry.kind is submitted.Kind.MISSING:
        raise LoadError("not-found", f"{path} does not exist")
    name, notes, kept = read_kept(path)
    kind = _kind(name)
    if kind == NOTEBOOK:
        program = _notebook(name, kept.text)
    elif kind == MODULE:
        program = Program(MODULE, name, [Unit(0, kept.text)])
    else:
        program = Program(WRITTEN, name, [], [Unit(0, kept.text)])
    program.notes = notes + kept.notes + program.notes
    program.sha256 = kept.sha256
    return program


@dataclass(frozen=True)
class Kept:
    """What is read of a hand-in's file: its text (a notebook over MAX_BYTES without its outputs),
    the sha256 of the file as sent, and the notes on what was left out."""

    text: str
    sha256: str
    notes: list[tuple[str, str]] = field(default_factory=list)


def read_kept(path: str | os.PathLike) -> tuple[str, list[tuple[str, str]], Kept]:
    """The file at `path`, or the one candidate file in the folder at `path`: its name, the notes on
    the folder, and what is kept of it. The one way the loader and the work view read a hand-in."""
    path = Path(path)
    entry = submitted.probe(path)
    if entry.kind is submitted.Kind.MISSING:
        raise LoadError("not-found", f"{path} does not exist")
    notes: list[tuple[str, str]] = []
    try:
        if entry.kind is submitted.Kind.FOLDER:
            with submitted.Folder(path) as folder:
                name, notes = _pick(folder)
                return name, notes, _read(name, lambda cap: folder.open(name, cap))
        name = path.name
        if entry.kind is not submitted.Kind.FILE:
            raise submitted.refusal(name, entry.kind)
        _kind(name)
        return name, notes, _read(name, lambda cap: submitted.open_file(path, cap))
    except submitted.Refused as exc:
        raise LoadError(exc.code, exc.message) from None


def _kind(name: str) -> str:
    kind = SUFFIXES.get(os.path.splitext(name)[1].lower())
    if kind is None:
        raise LoadError("unsupported-type",
                        f"{name} is not a notebook (.ipynb), a Python module (.py) or a written answer (.md/.txt)")
    return kind


def _read(name: str, opener) -> Kept:
    """What is kept of the file `opener(cap)` opens: all of it up to MAX_BYTES; past that, a
    notebook (up to MAX_SENT_BYTES) without its outputs. A file over its cap is refused from its size."""
    notebook = _kind(name) == NOTEBOOK
    try:
        fd = opener(MAX_SENT_BYTES if notebook else MAX_BYTES)
    except submitted.Refused as exc:
        if exc.code == "too-large" and notebook:
            raise LoadError(exc.code, exc.message + " (clear the notebook's outputs before handing it in)") from None
        raise
    try:
        size = os.fstat(fd).st_size
        if size > MAX_BYTES and notebook:
            return _without_outputs(name, fd, size)
        data = submitted.read_open(fd, name, MAX_BYTES)
    finally:
        os.close(fd)
    if not data:
        raise LoadError("empty", f"{name} is empty")
    kept = Kept(_decode(name, data), hashlib.sha256(data).hexdigest())
    if notebook and not _few_values(kept.text, MAX_JSON_VALUES):
        return _without_many_values(name, data, kept)
    return kept


def _without_many_values(name: str, data: bytes, kept: Kept) -> Kept:
    """A notebook whose text may hold more than MAX_JSON_VALUES values, read without its outputs:
    an interactive figure (plotly, bokeh) saves its data as JSON there, and a few of them pass the
    bound. What is left is bounded by `notebook_json` as before; a notebook that cannot be read so
    is kept whole, and its parse says why it is refused (`too-complex`, `not-json`)."""
    try:
        slim = _without_outputs(name, data, len(data))
    except LoadError:
        return kept
    note = (f"{name}'s saved outputs hold more than {MAX_JSON_VALUES} JSON values (the data of interactive plots): "
            "its outputs were not read (they are not graded: the code is run again)")
    return Kept(slim.text, kept.sha256, [("outputs-not-read", note)])


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}"


def _without_outputs(name: str, sent: int | bytes, size: int) -> Kept:
    """The notebook `sent` (a descriptor open on it, or its bytes) without its saved outputs, cell
    attachments and widget state, read by `_DROP_OUTPUTS` in a process of its own; refused as too
    large when it is not a notebook that can be read so, or when what is left is over MAX_BYTES."""
    over = f"{name} is {_megabytes(size)} MB"
    given = {"input": sent} if isinstance(sent, bytes) else {"stdin": sent}
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", _DROP_OUTPUTS, str(MAX_SENT_BYTES),
                               str(MAX_BYTES), str(SLIM_MB)],
                              capture_output=True, timeout=SLIM_SECONDS, check=False, **given)
    except subprocess.TimeoutExpired:
        done = None
    except OSError as exc:
        raise LoadError("too-large", f"{over}; the limit is {MAX_BYTES // 2**20} MB ({exc.strerror})") from None
    why = _why_not_kept(done)
    if why is not None:
        raise LoadError("too-large", f"{over}; past {MAX_BYTES // 2**20} MB a notebook is read without its saved "
                                     f"outputs, but this file {why}") from None
    if done.returncode == KEPT_TOO_LARGE:
        kept = int(done.stdout.decode("ascii", "replace").strip() or 0)
        raise LoadError("too-large", f"{over}, and {_megabytes(kept)} MB without its saved outputs; the limit is "
                                     f"{MAX_BYTES // 2**20} MB (clear the notebook's outputs before handing it "
                                     "in)") from None
    digest, _, text = done.stdout.partition(b"\n")
    note = (f"{over} with its saved outputs (plots, images), more than the {MAX_BYTES // 2**20} MB read in full: "
            "its outputs were not read (they are not graded: the code is run again)")
    return Kept(text.decode("utf-8", "surrogatepass"), digest.decode("ascii"), [("outputs-not-read", note)])


KEPT_TOO_LARGE = 6      # `_DROP_OUTPUTS`'s exit status when what is left is over MAX_BYTES (stdout: its size)


def _why_not_kept(done: subprocess.CompletedProcess | None) -> str | None:
    """Why `_DROP_OUTPUTS` could not read the notebook, as the end of a sentence; None when it did."""
    if done is None:
        return f"could not be read within {SLIM_SECONDS} seconds"
    if done.returncode in (0, KEPT_TOO_LARGE):
        return None
    detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
    reasons = {2: "is not a notebook: it is a binary file, not text",
               4: "is not a notebook: it is not UTF-8 text",
               5: f"is not a notebook: it is not JSON ({detail[-1][:200] if detail else 'unreadable'})"}
    return reasons.get(done.returncode, f"could not be read within {SLIM_MB} MB of memory")


# Run by `_without_outputs` with the notebook on stdin: exit 0 with the sha256 of what was sent, a
# newline and the notebook without outputs (compact JSON) on stdout; else the status `_why_not_kept`
# reads, or KEPT_TOO_LARGE with the size of what is left. Each cell's outputs are dropped by the
# parse's object_hook as soon as the cell is read, so only one cell's outputs are ever held.
_DROP_OUTPUTS = r"""
import hashlib, json, sys
sent, kept, megabytes = (int(a) for a in sys.argv[1:4])
try:
    import resource        # not on Windows, where the self-check also reads notebooks
    resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, megabytes * 2**20))
except (ImportError, ValueError, OSError):
    pass

def without_outputs(value):
    if "cell_type" in value:
        if isinstance(value.get("outputs"), list):
            value["outputs"] = []
        value.pop("attachments", None)
    return value

try:
    raw = sys.stdin.buffer.read(sent + 1)
    if b"\x00" in raw[:8192]:
        sys.exit(2)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        sys.exit(4)
    del raw
    try:
        nb = json.loads(text, object_hook=without_outputs)
    except (ValueError, RecursionError) as exc:
        msg = getattr(exc, "msg", str(exc)).removesuffix(" at")
        where = f" at line {exc.lineno}, column {exc.colno}" if hasattr(exc, "lineno") else ""
        print(msg + where, file=sys.stderr)
        sys.exit(5)
    del text
    if isinstance(nb, dict) and isinstance(nb.get("metadata"), dict):
        nb["metadata"].pop("widgets", None)
    out = json.dumps(nb, ensure_ascii=False).encode("utf-8", "surrogatepass")
except MemoryError:
    sys.exit(3)
if len(out) > kept:
    print(len(out))
    sys.exit(6)
sys.stdout.buffer.write(digest.encode() + b"\n" + out)
"""


def pick_candidate(folder: str | os.PathLike) -> tuple[Path, list[tuple[str, str]]]:
    """The submission in a folder (see `_pick`), as a path, and the notes worth reporting."""
    folder = Path(folder)
    try:
        with submitted.Folder(folder) as opened:
            name, notes = _pick(opened)
    except submitted.Refused as exc:
        raise LoadError(exc.code, exc.message) from None
    return folder / name, notes


def _pick(folder: submitted.Folder) -> tuple[str, list[tuple[str, str]]]:
    """Choose the submission in a folder: one notebook; else one module; else one written answer.

    Only regular files count: links (wherever they point, inside the folder or out) and special
    files (FIFOs, sockets, devices) are ignored and named in a note; a folder whose only
    candidates were such is refused with their code, so the student learns why.
    """
    notes: list[tuple[str, str]] = []
    by_kind: dict[str, list[str]] = {NOTEBOOK: [], MODULE: [], WRITTEN: []}
    links: list[str] = []
    special: list[submitted.Entry] = []
    files: list[str] = []              # every regular file: those not graded are named in a note
    for entry in folder.entries():
        if submitted.hidden(entry.name):
            continue
        if entry.kind is submitted.Kind.LINK:
            links.append(entry.name)
            continue
        if submitted.is_special(entry.kind):
            special.append(entry)
            continue
        if entry.kind is not submitted.Kind.FILE:
            continue
        kind = SUFFIXES.get(os.path.splitext(entry.name)[1].lower())
        stem = os.path.splitext(entry.name)[0]
        if kind == MODULE and _shadows(stem):
            notes.append(("ignored-shadowing", f"{entry.name} would shadow the module `{stem}`; it was not run"))
            continue
        files.append(entry.name)
        if kind is not None:
            by_kind[kind].append(entry.name)
    for name in links[:NOTED]:
        notes.append(("ignored-symlink", f"{name} is a symbolic link, which the grader never follows; it was "
                                         "ignored (hand in the file itself)"))
    for entry in special[:NOTED]:
        notes.append(("ignored-special", f"{entry.name} is a {entry.kind.value}, a special file, which the grader "
                                         "never reads; it was ignored"))
    more = max(0, len(links) - NOTED) + max(0, len(special) - NOTED)
    if more:
        notes.append(("ignored-symlink" if len(links) > NOTED else "ignored-special",
                      f"{more} more symbolic links or special files were ignored"))
    for kind in (NOTEBOOK, MODULE, WRITTEN):
        found = by_kind[kind]
        if kind == WRITTEN:
            found = [p for p in found if os.path.splitext(p)[0].lower() not in ("readme", "requirements")] or found
        if len(found) == 1:
            return found[0], notes + _not_graded(found[0], files)
        if len(found) > 1:
            raise LoadError("ambiguous", f"the folder {folder.label} holds several {kind} files ({', '.join(found)}); "
                                         "hand in exactly one")
    detail = f" ({'; '.join(m for c, m in notes)})" if notes else ""
    code = "symlink" if links else "special-file" if special else "no-candidate"
    raise LoadError(code, f"the folder {folder.label} holds no notebook (.ipynb), module (.py) "
                          f"or written answer (.md/.txt) that can be read{detail}")


def _not_graded(chosen: str, files: list[str]) -> list[tuple[str, str]]:
    """A note naming the folder's other files: a hand-in is one file, and a helper module or a PDF
    of derivations beside the notebook is never read. Said in the report, so that a name the
    notebook imports from such a module is not simply "missing" to the TA and the student."""
    others = sorted(name for name in files if name != chosen)
    if not others:
        return []
    shown = ", ".join(others[:NOTED]) + (f" and {len(others) - NOTED} more" if len(others) > NOTED else "")
    return [("ignored-other", f"not read: {shown}. Only {chosen} is read (a hand-in is one file); "
                              f"code or answers in the other files count only when they are in {chosen}")]


def _shadows(stem: str) -> bool:
    return stem in SHADOWING or stem in getattr(sys, "stdlib_module_names", ())


def _decode(name: str, data: bytes) -> str:
    """The text of a hand-in's file: UTF-8 (a BOM allowed), or, for a module, the encoding its first
    lines declare, as Python itself reads a source file (PEP 263: `# -*- coding: gbk -*-`).

    Anything else is refused with where its first byte that is not text is and what to do: a
    notebook or Markdown file saved by an editor in Windows-1252 or GBK was, before, "not UTF-8
    text (bad byte at position 5121)", which told a student neither the place nor the cure."""
    if b"\x00" in data[:8192]:
        raise LoadError("binary", f"{name} is a binary file, not text")
    encoding, declared = _encoding(name, data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LoadError("not-utf8", _not_text(name, data, encoding, declared, exc.start)) from None
    if not text.strip():
        raise LoadError("empty", f"{name} holds only white space")
    return text


UTF8 = "utf-8-sig"      # UTF-8, with or without the byte-order mark some Windows editors write
SAVE_AS_UTF8 = ("save it as UTF-8 (VS Code: Save with Encoding, UTF-8; Notepad: Save As, Encoding UTF-8) and "
                "hand it in again")


def _encoding(name: str, data: bytes) -> tuple[str, str | None]:
    """The codec to read `name` with, and the encoding a module declares (None when it declares none)."""
    if _kind(name) != MODULE:
        return UTF8, None
    import io
    import tokenize

    try:
        found, lines = tokenize.detect_encoding(io.BytesIO(data[:4096]).readline)
    except SyntaxError as exc:
        unknown = str(exc.msg if hasattr(exc, "msg") else exc)
        if unknown.startswith("unknown encoding"):
            declared = unknown.rpartition(": ")[2].strip()[:60]
            raise LoadError("not-utf8", f"{name} declares the encoding {declared} on its first lines, which "
                                        f"Python does not know; {SAVE_AS_UTF8}") from None
        return UTF8, None          # a first line that is not UTF-8 itself: refused as not UTF-8 below
    if found in ("utf-8", "utf-8-sig"):
        declared = found if any(tokenize.cookie_re.match(line.decode("utf-8", "replace")) for line in lines) else None
        return UTF8, declared
    try:
        # Python reads only encodings in which ASCII is ASCII (its declaration is read as ASCII);
        # a bytes-to-bytes codec (base64, zlib) or UTF-16 is no source encoding.
        readable = "# coding".encode(found) == b"# coding" and isinstance(b"# coding".decode(found), str)
    except (LookupError, UnicodeError):
        readable = False
    if not readable:
        raise LoadError("not-utf8", f"{name} declares the encoding {found} on its first lines, which is not "
                                    f"a text encoding; {SAVE_AS_UTF8}")
    return found, found


def _not_text(name: str, data: bytes, encoding: str, declared: str | None, start: int) -> str:
    """Where the first byte that is not `encoding` text is, as a student finds it in an editor
    (line and column, counted from 1), and what to do about it."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode(encoding, "replace")) + 1
    byte = f"0x{data[start]:02X}"
    if declared is not None:
        return (f"{name} declares the encoding {declared} on its first lines, but line {line}, column {column} "
                f"holds the byte {byte}, which is not {declared} text; {SAVE_AS_UTF8}")
    if _kind(name) == NOTEBOOK:
        return (f"{name} is not UTF-8 text: line {line}, column {column} holds the byte {byte}, and Jupyter saves "
                "notebooks as UTF-8 (another editor saved this one in another encoding, such as Windows-1252 or "
                "GBK); open the original in Jupyter and save it again there, or save this file as UTF-8 in that "
                "editor, and hand it in again")
    return (f"{name} is not UTF-8 text: line {line}, column {column} holds the byte {byte} (an editor saved it "
            f"in another encoding, such as Windows-1252 or GBK); {SAVE_AS_UTF8}")


# What a student can do about a notebook that is not JSON (a save or a copy cut short, a merge
# conflict's markers, a web page saved as .ipynb).
NOT_JSON_ADVICE = ("; open it in Jupyter and save it again there, or, if Jupyter cannot open it, use File ▸ "
                   "Revert Notebook to Checkpoint or go back to an earlier copy")


def _json_error(exc: json.JSONDecodeError) -> str:
    """Where the JSON broke, as one phrase: "Expecting value at line 3, column 5". Some of Python's
    messages end with "at" themselves ("Unterminated string starting at"), which gave "at at"."""
    return f"{exc.msg.removesuffix(' at')} at line {exc.lineno}, column {exc.colno}"


def notebook_json(name: str, text: str):
    """`text` parsed as JSON, in bounded memory: a `LoadError` when it holds more than
    `MAX_JSON_VALUES` values (see there), or is not JSON. The one way the trusted side parses a
    notebook (grading, the copying evidence and the work view all read it)."""
    if not _json_values_within(text, MAX_JSON_VALUES):
        raise LoadError("too-complex", f"{name} holds more than {MAX_JSON_VALUES} JSON values, more than a notebook "
                                       "the grader reads can hold (clear the notebook's outputs before handing it in)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError("not-json", f"{name} is not a valid notebook: it is not JSON "
                                    f"({_json_error(exc)}){NOT_JSON_ADVICE}") from None
    except (ValueError, RecursionError):   # e.g. a number with thousands of digits, nesting thousands deep
        raise LoadError("not-json", f"{name} is not a valid notebook: its JSON is nested too deeply "
                                    "or holds numbers too large to read") from None


def _json_values_within(text: str, limit: int) -> bool:
    """Whether the JSON `text` holds at most `limit` values (a text that is not JSON counts as within:
    its parse says why it is refused).

    Every value but the first of its container follows a comma, so the commas and opening brackets
    of the text bound the values from above, at the cost of a count (~10 ms for 20 MB); only a
    text where that bound is over the limit (commas in code and saved outputs count too) has its
    values counted exactly, by parsing it in a process of its own with a capped address space: a
    text that cannot be parsed there is over the limit.
    """
    if _few_values(text, limit):
        return True
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", _COUNT_VALUES, str(limit), str(COUNT_MB)],
                              input=text.encode("utf-8", "surrogatepass"), capture_output=True,
                              timeout=COUNT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _few_values(text: str, limit: int) -> bool:
    """Whether the JSON `text` surely holds at most `limit` values: every value but the first of its
    container follows a comma, so its commas and opening brackets bound them from above."""
    return len(text) <= limit or text.count(",") + text.count("[") + text.count("{") < limit


# Run by `_json_values_within` in a process of its own: exit 0 when stdin's JSON holds at most
# argv[1] values (or is not JSON), 3 when it holds more or cannot be parsed within argv[2] MB.
_COUNT_VALUES = r"""
import gc, json, sys
gc.disable()
limit, megabytes = int(sys.argv[1]), int(sys.argv[2])
try:
    import resource        # not on Windows, where the self-check also reads notebooks
    resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, megabytes * 2**20))
except (ImportError, ValueError, OSError):
    pass
try:
    stack = [json.loads(sys.stdin.buffer.read())]
except MemoryError:
    sys.exit(3)
except (ValueError, RecursionError):
    sys.exit(0)
count = 0
while stack:
    value = stack.pop()
    count += 1
    if count > limit:
        sys.exit(3)
    if isinstance(value, dict):
        count += len(value)
        stack.extend(value.values())
    elif isinstance(value, list):
        stack.extend(value)
"""


def _notebook(name: str, text: str) -> Program:
    raw = notebook_json(name, text)
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
    elif language == UNSTATED:
        notes.append(("no-kernelspec", f"the notebook's kernel (`{language_of_kernel(nb)}`) names no language; "
                                       "it was run as Python"))
    elif language != "python":
        raise LoadError("foreign-kernel", f"{name} is a {language} notebook; this homework must be written in Python")
    units, markdown, not_run = [], [], []
    counts: list[tuple[int, int]] = []
    odd = []
    for index, cell in enumerate(cells, start=FIRST_CELL):
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        kind = cell.get("cell_type")
        if not isinstance(source, str) or kind not in ("code", "markdown", "raw"):
            odd.append(index)
            continue
        source = _valid_text(source)
        if kind == "code" and _skipped_by_tag(cell):
            not_run.append(Unit(index, source))
        elif kind == "code":
            units.append(Unit(index, source))
            count = cell.get("execution_count", cell.get("prompt_number"))
            if type(count) is int and source.strip():
                counts.append((index, count))
        else:
            markdown.append(Unit(index, source))
    if odd:
        cells_named = ", ".join(str(i) for i in odd[:5]) + (" …" if len(odd) > 5 else "")
        notes.append(("invalid-notebook", f"the notebook does not fully follow the nbformat schema: cell(s) "
                                          f"{cells_named} have no known type or no text source and were "
                                          "skipped; the other cells were read"))
    if len(units) > MAX_CODE_CELLS:
        raise LoadError("too-many-cells", f"{name} has {len(units)} code cells; the limit is {MAX_CODE_CELLS}")
    if not_run:
        notes.append(_skip_note([unit.index for unit in not_run]))
    if not units and not not_run:
        notes.append(("no-code", "the notebook has no code cells"))
    return Program(NOTEBOOK, name, units, markdown, notes, execution_counts=counts, not_run=not_run)


# The cell tag with which nbclient (and so `jupyter nbconvert --execute`, nbgrader's autograder,
# papermill and Jupyter Book) leaves a code cell unsent to the kernel: its `skip_cells_with_tag`.
SKIP_TAG = "skip-execution"


def _skipped_by_tag(cell: dict) -> bool:
    """Whether nbclient would skip this cell: its metadata's `tags` list holds `SKIP_TAG`. (A student
    tags a slow training loop or a scratch cell so; running it anyway timed out its cell, or let a
    placeholder replace an answer above it.) Any other shape of metadata counts as untagged."""
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return isinstance(tags, list) and SKIP_TAG in tags


# What a cell kept from running by its tag shows where a failed cell shows its error.
NOT_RUN_BY_TAG = f"the cell is tagged `{SKIP_TAG}`: it was not run"


def _skip_note(indices: list[int]) -> tuple[str, str]:
    if len(indices) == 1:
        return ("skip-execution", f"cell {indices[0]} is tagged `{SKIP_TAG}`, so it was not run, as Jupyter's nbclient, "
                                  "`jupyter nbconvert --execute` and nbgrader skip it; remove the tag to have it run "
                                  "when graded")
    cells = ", ".join(str(i) for i in indices[:10]) + (" …" if len(indices) > 10 else "")
    return ("skip-execution", f"cells {cells} are tagged `{SKIP_TAG}`, so they were not run, as Jupyter's nbclient, "
                              "`jupyter nbconvert --execute` and nbgrader skip them; remove the tag to have a cell "
                              "run when graded")


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
        # Saved without a language: only the kernel's names are left, and a kernel the student
        # installed under a name of their own (`ipykernel install --name hw3env`) is no other
        # language. A notebook of another language states it (kernelspec.language, language_info).
        kernel = str(spec.get("name", "")).lower()
        if not kernel:
            return None
        shown = str(spec.get("display_name", "")).lower()
        if "python" not in kernel and "python" not in shown:
            return UNSTATED
        language = "python"
    language = _valid_text(str(language)).lower()[:40]
    return "python" if language.startswith("python") else language


UNSTATED = ""      # what `_language` says of a kernel that names no language (None: no kernel at all)


def language_of_kernel(nb) -> str:
    """The kernel's name as saved, for a note (cut, text only)."""
    meta = nb.get("metadata")
    spec = meta.get("kernelspec") if isinstance(meta, dict) else None
    return _valid_text(str(spec.get("name", "")))[:40] if isinstance(spec, dict) else ""


def _valid_text(text: str) -> str:
    """`text` with lone surrogates (which JSON escapes can carry) replaced: it must encode as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
