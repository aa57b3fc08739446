"""The only way the trusted side reads what a student handed in: never a link, never unbounded.

A hand-in is hostile data on the grading machine, read by a grader that may run as root. So:

- **No link is ever followed.** A path is classified with `lstat`; a file is opened with
  `O_NOFOLLOW`, and a folder's entries relative to the folder's own descriptor (`openat`), so a
  symbolic link (to the reference, to another student's hand-in, to /dev/zero) is refused or
  ignored, never read, at the top of a hand-in as inside it.
- **Regular files only.** What is opened is checked on the open descriptor (`fstat`, `S_ISREG`);
  it is opened with `O_NONBLOCK`, so a FIFO cannot block the open, and FIFOs, sockets and device
  nodes are refused before any read.
- **Every read is bounded.** At most `cap + 1` bytes are read, whatever `st_size` says (a file can
  grow while it is read); a file whose size is over the cap is refused from its `stat` alone, so a
  20 GB sparse file costs nothing. A folder is listed up to a bound of entries, walked to a bound
  of depth, and hashed up to a bound of bytes.

A refusal is a `Refused` with a stable `code` (`symlink`, `special-file`, `too-large`,
`too-many-files`) and a sentence for the student; `grader.load` turns it into a `LoadError`.
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

# Open flags for anything of a hand-in: never through a link, never blocking, never a controlling tty.
# getattr: the student's self-check also reads their own notebook through here on Windows, which
# has none of these flags (nor the `dir_fd` reads a folder uses); a file given by path still works.
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
    | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
CHUNK = 1 << 20

# Bounds of a folder hand-in: a homework is a handful of files, a few folders deep.
MAX_ENTRIES = 5000          # entries in one folder (more: refused)
MAX_WALK_ENTRIES = 20000    # entries hashed in a whole hand-in (more: the rest is not hashed)
MAX_DEPTH = 12              # folder depth hashed
MAX_HASH_BYTES = 256 * 2**20  # bytes read to hash a whole hand-in (past this: sizes only)


class Kind(Enum):
    """What a directory entry is, as `lstat` sees it (the value is how a person calls it)."""

    FILE = "file"
    FOLDER = "folder"
    LINK = "symbolic link"
    FIFO = "named pipe (FIFO)"
    SOCKET = "socket"
    DEVICE = "device node"
    OTHER = "special file"
    MISSING = "missing"


class Refused(Exception):
    """A hand-in (or a part of it) the grader will not read; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Entry:
    """One entry of a folder, as `lstat` saw it (never through a link)."""

    name: str
    kind: Kind
    size: int = 0
    mtime_ns: int = 0


def kind_of(mode: int) -> Kind:
    if stat.S_ISREG(mode):
        return Kind.FILE
    if stat.S_ISDIR(mode):
        return Kind.FOLDER
    if stat.S_ISLNK(mode):
        return Kind.LINK
    if stat.S_ISFIFO(mode):
        return Kind.FIFO
    if stat.S_ISSOCK(mode):
        return Kind.SOCKET
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Kind.DEVICE
    return Kind.OTHER


def probe(path: str | os.PathLike) -> Entry:
    """What `path` itself is (a link is a link, whatever it points to, even nothing)."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return Entry(path.name, Kind.MISSING)
    return Entry(path.name, kind_of(info.st_mode), info.st_size, info.st_mtime_ns)


def is_special(kind: Kind) -> bool:
    return kind in (Kind.FIFO, Kind.SOCKET, Kind.DEVICE, Kind.OTHER)


def refusal(name: str, kind: Kind) -> Refused:
    """The refusal of something that is not a regular file or a real folder."""
    if kind is Kind.LINK:
        return Refused("symlink", f"{name} is a symbolic link; the grader never follows links: "
                                  "hand in the file itself")
    if kind is Kind.FOLDER:
        return Refused("not-a-file", f"{name} is a folder where a file was expected")
    return Refused("special-file", f"{name} is a {kind.value}, a special file, not a regular file; "
                                   "the grader does not read special files: hand in the file itself")


def too_large(name: str, size: int | None, cap: int) -> Refused:
    """`size` None: known only to be over the cap (it grew while it was read)."""
    if size is None:
        return Refused("too-large", f"{name} is larger than the limit of {cap / 2**20:g} MB")
    return Refused("too-large", f"{name} is {size / 2**20:.1f} MB; the limit is {cap / 2**20:g} MB")


# ------------------------------------------------------------------------------------------------
# Reading


def _read_open(fd: int, name: str, cap: int) -> bytes:
    """At most `cap` bytes of the regular file open on `fd`; refused if it is not one, or is larger."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise refusal(name, kind_of(info.st_mode))
    if info.st_size > cap:
        raise too_large(name, info.st_size, cap)
    chunks, total = [], 0
    while total <= cap:
        chunk = os.read(fd, min(CHUNK, cap + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > cap:           # it grew after the fstat
        raise too_large(name, None, cap)
    return b"".join(chunks)


def _open_file(path: str | os.PathLike, name: str, dir_fd: int | None = None) -> int:
    """A descriptor of the regular file at `path`: refused, without opening it, if lstat sees
    anything else (opening a device node can act on the device); the open itself does not follow a
    link or wait for a FIFO's writer should the entry be swapped in between (the caller fstats)."""
    info = os.lstat(path, dir_fd=dir_fd)
    if not stat.S_ISREG(info.st_mode):
        raise refusal(name, kind_of(info.st_mode))
    try:
        return os.open(path, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        # ELOOP: it became a link (O_NOFOLLOW); ENXIO: a socket.
        info = _lstat_or_none(path, dir_fd)
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise refusal(name, kind_of(info.st_mode)) from None
        raise exc


def _lstat_or_none(path, dir_fd: int | None) -> os.stat_result | None:
    try:
        return os.lstat(path, dir_fd=dir_fd)
    except OSError:
        return None


def open_file(path: str | os.PathLike, cap: int) -> int:
    """A descriptor of the regular file at `path` (not through a link), for a reader that streams
    it (the caller closes it); refused from its `fstat` alone when it is larger than `cap`."""
    path = Path(path)
    return _checked(_open_file(path, path.name), path.name, cap)


def _checked(fd: int, name: str, cap: int) -> int:
    """`fd`, once `fstat` shows a regular file of at most `cap` bytes (else closed, and refused)."""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refusal(name, kind_of(info.st_mode))
        if info.st_size > cap:
            raise too_large(name, info.st_size, cap)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_open(fd: int, name: str, cap: int) -> bytes:
    """At most `cap` bytes of the regular file open on `fd` (see `open_file`), from where it stands."""
    return _read_open(fd, name, cap)


def read_file(path: str | os.PathLike, cap: int) -> bytes:
    """The bytes of the regular file at `path` (not through a link), at most `cap` of them."""
    path = Path(path)
    fd = _open_file(path, path.name)
    try:
        return _read_open(fd, path.name, cap)
    finally:
        os.close(fd)


class Folder:
    """A real folder of a hand-in, opened without following a link; its entries are read relative
    to it, so nothing can swap a component of their path for a link in between."""

    def __init__(self, path: str | os.PathLike, label: str | None = None, *, dir_fd: int | None = None):
        path = Path(path) if dir_fd is None else path
        self.label = label or Path(path).name
        try:
            self.fd = os.open(path, _FOLDER_FLAGS, dir_fd=dir_fd)
        except OSError:
            info = _lstat_or_none(path, dir_fd)
            if info is not None and not stat.S_ISDIR(info.st_mode):
                raise refusal(self.label, kind_of(info.st_mode)) from None
            raise

    def entries(self, limit: int = MAX_ENTRIES) -> list[Entry]:
        """Every entry (name order), as lstat sees it; refused if there are more than `limit`."""
        found: list[Entry] = []
        with os.scandir(self.fd) as scan:
            for item in scan:
                if len(found) >= limit:
                    raise Refused("too-many-files", f"the folder {self.label} holds more than {limit} "
                                                    "entries; hand in only the homework's files")
                try:
                    info = item.stat(follow_symlinks=False)
                except OSError:
                    continue          # gone since listed
                found.append(Entry(item.name, kind_of(info.st_mode), info.st_size, info.st_mtime_ns))
        return sorted(found, key=lambda e: e.name)

    def read(self, name: str, cap: int) -> bytes:
        """The bytes of the regular file `name` in this folder, at most `cap` of them."""
        fd = _open_file(name, name, dir_fd=self.fd)
        try:
            return _read_open(fd, name, cap)
        finally:
            os.close(fd)

    def open(self, name: str, cap: int) -> int:
        """A descriptor of the regular file `name` in this folder, as `open_file` gives one."""
        return _checked(_open_file(name, name, dir_fd=self.fd), name, cap)

    def folder(self, name: str) -> "Folder":
        """The real sub-folder `name` (never a link to one)."""
        return Folder(name, f"{self.label}/{name}", dir_fd=self.fd)

    def readlink(self, name: str) -> str:
        """Where the link `name` points (read, never followed)."""
        return os.readlink(name, dir_fd=self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Folder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------
# Hashing (the batch's record of what was graded)


def hidden(name: str) -> bool:
    """Entries a hand-in's readers skip: dot files and Python's caches."""
    return name.startswith(".") or name.startswith("__pycache__")


@dataclass
class _Budget:
    entries: int = MAX_WALK_ENTRIES
    bytes: int = MAX_HASH_BYTES


def digest(path: str | os.PathLike, cap: int) -> str:
    """sha256 of a hand-in: a file's content, or a folder's visible entries (names, kinds, contents).

    Bounded and never blocking: links are hashed by where they point and special files by their
    kind (neither is opened); a file over `cap` bytes, or past the whole hand-in's byte budget, by
    its size and modification time; a folder past the entry or depth bounds by a marker.
    """
    path = Path(path)
    h = hashlib.sha256()
    entry = probe(path)
    budget = _Budget()
    if entry.kind is Kind.LINK:
        h.update(b"link\0" + os.fsencode(os.readlink(path)))
    elif entry.kind is Kind.FILE:
        h.update(b"file\0")
        _hash_file(h, entry, budget, cap, lambda: _open_file(path, path.name))
    elif entry.kind is Kind.FOLDER:
        h.update(b"folder\0")
        try:
            with Folder(path) as folder:
                _hash_folder(h, folder, "", 0, budget, cap)
        except (Refused, OSError) as exc:
            h.update(b"unreadable\0" + str(exc).encode("utf-8", "replace"))
    elif entry.kind is Kind.MISSING:
        h.update(b"missing\0")
    else:
        h.update(b"special\0" + entry.kind.name.encode())
    return h.hexdigest()


def _hash_folder(h, folder: Folder, prefix: str, depth: int, budget: _Budget, cap: int) -> None:
    try:
        entries = [e for e in folder.entries() if not hidden(e.name)]
    except Refused:
        h.update(b"too-many\0")
        return
    for entry in entries:
        if budget.entries <= 0:
            h.update(b"truncated\0")
            return
        budget.entries -= 1
        rel = os.fsencode(prefix + entry.name)
        if entry.kind is Kind.FOLDER:
            h.update(b"D" + rel + b"\0")
            if depth + 1 > MAX_DEPTH:
                h.update(b"too-deep\0")
                continue
            try:
                with folder.folder(entry.name) as sub:
                    _hash_folder(h, sub, prefix + entry.name + "/", depth + 1, budget, cap)
            except (Refused, OSError) as exc:
                h.update(b"unreadable\0" + str(exc).encode("utf-8", "replace"))
        elif entry.kind is Kind.FILE:
            h.update(b"F" + rel + b"\0")
            _hash_file(h, entry, budget, cap, lambda name=entry.name: _open_file(name, name, dir_fd=folder.fd))
        elif entry.kind is Kind.LINK:
            try:
                target = os.fsencode(folder.readlink(entry.name))
            except OSError:
                target = b"?"
            h.update(b"L" + rel + b"\0" + target + b"\0")
        else:
            h.update(b"S" + rel + b"\0" + entry.kind.name.encode() + b"\0")


def _hash_file(h, entry: Entry, budget: _Budget, cap: int, opener) -> None:
    """The file's content, streamed; only its size and time when over `cap` or the byte budget."""
    if entry.size > min(cap, budget.bytes):
        h.update(f"size {entry.size} {entry.mtime_ns}\0".encode())
        return
    try:
        fd = opener()
    except (Refused, OSError) as exc:
        h.update(b"unreadable\0" + str(exc).encode("utf-8", "replace"))
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            h.update(b"special\0")
            return
        left = min(cap, budget.bytes) + 1
        while left > 0:
            chunk = os.read(fd, min(CHUNK, left))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
            budget.bytes -= len(chunk)
        h.update(f"\0{info.st_size}\0".encode())
    except OSError as exc:
        h.update(b"unreadable\0" + (exc.strerror or "").encode())
    finally:
        os.close(fd)
