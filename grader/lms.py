"""Reading what a learning-management system hands out: a bulk download in, one submission per student out.

`grader batch` accepts, and tells apart by their shape (no flag needed):

* **Canvas** "Download Submissions": a zip (or the folder it unzips to) of flat files named
  `<name>[_LATE]_<user id>_<attachment id>_<original name>`. `<name>` is the student's sortable
  name ("Núñez, José"), lower-cased and stripped of everything but word characters ("núñezjosé");
  `LATE` (older Canvas: `late`) marks a late hand-in; with anonymous grading the name is absent and
  the user id is `anon_<anonymous id>`. A student with several files has several entries with one
  user id. A file uploaded again under the same name is renamed by Canvas with a `-N` suffix before
  the extension (`hw3-1.ipynb`; from the 8th time `hw3-<uuid>.ipynb`): of one student's files that
  differ only by that suffix, the newest (highest attachment id) is graded and the others are named
  in the report. Text and URL
  hand-ins are `<name>[_LATE]_<user id>_text.html` / `_link.html`. Canvas puts no time in the zip.
  The zip holds the files of each student's current attempt only (`submission.attachment_ids`), so
  a resubmitted `hw3-1.ipynb` is usually alone, and graded under that name. On a group assignment
  it holds one entry per group, under one member's user id, named after the group
  (`Assignment#representatives`); `course` notes it when a roster names that id otherwise.
* **Gradescope** "Export Submissions": a folder per submission (`submission_<id>/`) and a
  `submission_metadata.yml` that maps each folder to its submitters (`:name:`, `:sid:`,
  `:email:`) and its time (`:created_at:`), possibly inside one top folder. Read with
  `yaml.safe_load` (never a YAML tag that builds objects). A group submission is one entry per
  submitter, each graded from the same files.
* **Moodle** "Download all submissions": `<Full Name>_<participant id>_assignsubmission_file/…`
  (one folder per student and plug-in, the default since Moodle 3.1; Moodle 3.1-4.0 end the folder
  name with one more `_`), or the same prefix on flat file names (`…_assignsubmission_file_hw3.ipynb`);
  `Participant_<id>_…` under blind marking. Moodle replaces `_` in names by spaces, so the first `_`
  ends the name (and its `clean_filename` deletes `'&<>"`|:` from it: "O'Brien" is "OBrien").
  With team submissions (4.1+) a hand-in is a group's, `<group name>_<group id>_…`, and the
  students in no group hand in as `Default group_…` (no id): when that entry is there, every hand-in
  is noted as a group's. Without it a group's hand-in looks like a participant's.
* **Blackboard Learn** "Assignment File Download": flat `<assignment>_<username>_attempt_<time>` files and
  a `.txt` receipt per attempt (`grader.blackboard`).
* **Brightspace (D2L)** "Download": `<n>-<n> - <Full Name> - <Mon D, YYYY HMM AM>/…` folders (or flat
  files with ` - <file>` after the date) and an `index.html` (`grader.brightspace`).
* **nbgrader**'s `submitted/` folder: `{student_id}/{assignment_id}/…` (coursedir.py's
  `directory_structure`) with the `timestamp.txt` that `nbgrader collect` copies from the exchange
  ("%Y-%m-%d %H:%M:%S.%f %Z", UTC unless `c.Exchange.timezone` says otherwise: then read in `[late]
  zone` when its abbreviation is that zone's): told apart by those stamps. A student folder holding
  several assignments is graded from the one named as the grader's assignment. The stamp is the
  student's own claim (`NbgraderStamp`): where the download kept its files' times, a stamp earlier
  than the last recorded change of it (or, with no stamp, of its folder) gives way to that change.
* **A plain folder** (or a zip of one): one file or folder per student, named as the instructor
  likes; the name is the identity, as before.

Identity is the LMS's id (`results.Student`), never the file name; the display name, the
original file names, the submission time and the late flag are kept with it.

Reading is safe by construction: nothing is extracted but the files a submission may be graded from
(notebooks, modules, written answers: `load.SUFFIXES`), each into a staging folder of its own, under
a name made safe here. Archive members with absolute or `..` paths are refused; symbolic links are
never followed (a link member or a linked file is refused); the count of members, each file's size,
the total size and the compression ratio are capped. A member that cannot be read (corrupt,
encrypted, too large) costs its student that file, with a note in their report, and nobody else.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterable

from .load import MAX_SENT_BYTES, SUFFIXES
from .results import Problem, Student
from .text import clean, cut_utf8

MAX_MEMBERS = 100_000                # entries in one download
MAX_TOTAL_BYTES = 8 * 2**30          # uncompressed, all entries together
# One file: the largest the loader reads (a notebook with its saved plots; a module or a write-up
# over the loader's MAX_BYTES is staged and then refused by the loader, with the same sentence).
MAX_FILE_BYTES = MAX_SENT_BYTES
MAX_RATIO = 200                      # uncompressed / compressed, for members above RATIO_FLOOR
RATIO_FLOOR = 1 << 20
MAX_METADATA_BYTES = 64 * 2**20      # Gradescope's submission_metadata.yml
MAX_NESTED_MEMBERS = 1000            # files in a zip that a student handed in
MAX_ZIP_DEPTH = 2                    # zips opened one inside the other in a hand-in (hw3.zip/submission.zip)
MAX_GROUP = 50                       # submitters of one Gradescope submission
MAX_DEPTH = 4                        # folder levels listed below a download folder (export/submission/sub/file)
MAX_WRAPPERS = 4                     # folders around a download zipped again (Downloads/HW3/…)
NAME_LIMIT = 80
METADATA = "submission_metadata.yml"
JUNK = ("__MACOSX",)

CANVAS, GRADESCOPE, MOODLE, NBGRADER, FOLDER = "canvas", "gradescope", "moodle", "nbgrader", "folder"
NBGRADER_STAMP = "timestamp.txt"

# The name is Ruby's [[:word:]] characters (letters, marks, digits, `_`), which Python's \w does not
# quite match (combining marks): any characters are taken, up to the first `_[LATE_]<id>_<id>_`.
# Canvas collapses `_<digits>_` inside names, so that first match is the right one (Canvas's own
# re-upload parser takes the first two all-digit `_` fields too). content_zipper.rb joins
# `[users_name, "LATE", id].compact`: users_name is nil only under anonymous grading, where the id is
# `anon_<5 base58 characters>`, so a numeric id always follows a name and its `_` (the name may be
# empty: `_1001_...`), and an anonymous id never does. A name of digits ("20230017") or "late" is a name.
_CANVAS_WHO = (r"(?:(?:(?P<alate>LATE|late)_)?(?P<anon>anon_[0-9A-Za-z]+)"
               r"|(?P<name>[^/]*?)_(?:(?P<late>LATE|late)_)?(?P<id>\d+))")
CANVAS_FILE = re.compile(rf"^{_CANVAS_WHO}_(?P<file>\d+)_(?P<orig>.+)$", re.S)
CANVAS_TEXT = re.compile(rf"^{_CANVAS_WHO}_(?P<orig>text|link)\.html$", re.S)
# Attachment.make_unique_filename renames an upload whose name is taken `<base>-N<ext>` (N = 1..7), then
# `<base>-<uuid><ext>`; <ext> is the leftmost match of its extname pattern (`hw3.v2.ipynb` -> `hw3-1.v2.ipynb`).
CANVAS_EXT = re.compile(r"(?:\.[A-Za-z][A-Za-z0-9]*)*\.[A-Za-z0-9]*$")
CANVAS_RENAMED = re.compile(r"(?P<base>.+)-(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.S)
# Moodle 4.1+ names a folder `..._assignsubmission_file` (mod/assign/classes/downloader.php), Moodle
# 3.1-4.0 `..._assignsubmission_file_`; a flat file is `..._assignsubmission_file_<file name>`.
MOODLE_ENTRY = re.compile(r"^(?P<name>[^_/]+)_(?P<id>\d+)_assign(?:submission|feedback)_(?P<plugin>[a-z0-9]+)"
                          r"(?:_(?P<rest>.*))?$", re.S)
# With team submissions Moodle 4.1+ names a hand-in `<group name>_<group id>`, and the one of the students
# in no group `get_string('defaultteam')` ("Default group") with no id: seeing it tells team mode apart.
MOODLE_TEAM_DEFAULT = re.compile(r"^(?P<name>[^_/]+)_assignsubmission_(?P<plugin>[a-z0-9]+)(?:_(?P<rest>.*))?$",
                                 re.S)


class IntakeError(ValueError):
    """The download as a whole cannot be read (not a zip, too many members, too large...)."""


# ------------------------------------------------------------------------------------------------
# Sources: a zip or a folder, seen as a list of member files with POSIX paths


@dataclass(frozen=True)
class Member:
    """One file of the download. `problem` says why it cannot be read ("" when it can)."""

    path: str
    size: int
    problem: str = ""


class Source:
    """The files of a download, listed without reading them, read one at a time and bounded."""

    location: Path
    members: list[Member]
    refused: list[str]          # members refused outright (path escapes), for the batch's summary

    def open(self, member: Member) -> BinaryIO:  # pragma: no cover - interface
        """`member`'s bytes as a file to read in chunks (a context manager): staging copies it to
        disk through a bounded buffer (`copy_bounded`) instead of holding the file whole."""
        raise NotImplementedError

    def read(self, member: Member) -> bytes:
        """`member` whole (the small ones: Gradescope's metadata, receipts, time stamps), bounded."""
        with self.open(member) as fh:          # a zip raises BadZipFile on a bad CRC at the end of the data
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise OSError("larger than the file size limit")
        return data

    def modified(self, path: str) -> float | None:
        """When the file system last saw `path` (a member or a folder of the download) change, as a
        POSIX time; None where the download keeps no such time with a zone (a zip's are local)."""
        return None

    def close(self) -> None:
        pass


def safe_member_path(raw: str) -> str | None:
    """`raw` as a relative POSIX path inside the archive, or None if it would land outside it."""
    text = raw.replace("\\", "/")
    if "\x00" in text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def hidden(path: str) -> bool:
    """Dot files, macOS resource forks and `__pycache__` are never anyone's submission."""
    return any(p.startswith(".") or p in JUNK or p == "__pycache__" for p in path.split("/"))


class ZipSource(Source):
    def __init__(self, path: Path):
        self.location = path
        try:
            self.zip = zipfile.ZipFile(path)
        except Exception as exc:  # noqa: BLE001 - BadZipFile, OSError, ValueError...: the archive is unusable
            raise IntakeError(f"{path.name} cannot be read as a zip archive: {exc}") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            self.zip.close()
            raise IntakeError(f"{path.name} has {len(infos)} members; the limit is {MAX_MEMBERS}")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            self.zip.close()
            raise IntakeError(f"{path.name} unpacks to {total / 2**30:.1f} GiB; the limit is "
                              f"{MAX_TOTAL_BYTES // 2**30} GiB")
        self.members, self.refused, self._infos = [], [], {}
        raw = _raw_legacy_names(infos)
        codec = legacy_codec(raw)
        note = names_note(raw, codec, path.name)
        if note:
            self.refused.append(note)
        for info in infos:
            if info.is_dir():
                continue
            name = safe_member_path(_utf8_name(info, codec))
            if name is None:
                self.refused.append(f"{info.filename[:200]!r}: a path outside the archive; refused")
                continue
            if hidden(name):
                continue
            if name in self._infos:
                self.refused.append(f"{name[:200]}: appears twice in the archive; only the first is read")
                continue
            self._infos[name] = info
            self.members.append(Member(name, info.file_size, _zip_problem(info)))

    def open(self, member: Member) -> BinaryIO:
        return self.zip.open(self._infos[member.path])

    def close(self) -> None:
        self.zip.close()


def _utf8_name(info: zipfile.ZipInfo, codec: str = "") -> str:
    """The member's name. Without the UTF-8 flag, zipfile reads names as cp437; tools that write
    UTF-8 without setting the flag are common, so such a name is read as UTF-8 when it decodes, else
    in `codec`, the archive's legacy code page (`legacy_codec`), when one was found."""
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode(codec) if codec else info.filename
    except UnicodeDecodeError:
        return info.filename


# Windows' own zip tool (and most zip tools on Windows) writes names in the machine's ANSI/OEM code
# page without the UTF-8 flag: GBK on Chinese Windows, Shift-JIS (cp932) on Japanese Windows. zipfile
# reads them as cp437 ("ÕÅ╝Õ╝á"), which garbled the names, and the identities made from them.
LEGACY_CODECS = (("gbk", "gb2312"), ("cp932", "shift_jis"))    # (decoder, its common subset)
CJK_TEXT = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]+")


def legacy_codec(names: list[bytes]) -> str:
    """The code page in which every one of `names` (raw bytes of names that are neither ASCII nor
    UTF-8) reads as likely CJK text, or "" (they are then left as zipfile reads them, cp437).

    Likely: every non-ASCII character is a CJK ideograph, kana, CJK punctuation or a full-width
    form, in the code page's common subset (GB 2312; JIS X 0208: no half-width kana, which is what
    GBK's bytes become in cp932), and most of its non-ASCII runs are two characters or more (a
    Western name written in cp1252 or cp850 has single accented letters, which cp932 can read as one
    rare kanji each)."""
    if not names:
        return ""
    for codec, common in LEGACY_CODECS:
        try:
            texts = [n.decode(codec) for n in names]
        except UnicodeDecodeError:
            continue
        if all(_likely(t, common) for t in texts):
            return codec
    return ""


def _likely(text: str, common: str) -> bool:
    runs = re.findall(r"[^\x00-\x7f]+", text)
    if not runs or any(CJK_TEXT.fullmatch(r) is None for r in runs):
        return False
    try:
        "".join(runs).encode(common)
    except UnicodeEncodeError:
        return False
    return sum(len(r) >= 2 for r in runs) * 2 >= len(runs)


def _utf8_text(name: str) -> bool:
    """Whether a name from the disk was valid UTF-8 there (no surrogate escapes)."""
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _raw_legacy_names(infos: list[zipfile.ZipInfo]) -> list[bytes]:
    """The raw names that need a code page: no UTF-8 flag, not ASCII, not valid UTF-8."""
    out = []
    for info in infos:
        if info.flag_bits & 0x800 or info.filename.isascii():
            continue
        raw = info.filename.encode("cp437")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            out.append(raw)
    return out


def names_note(raw: list[bytes], codec: str, where: str) -> str | None:
    """What the intake says about names read in a legacy code page, or left unread."""
    if not raw:
        return None
    if codec:
        return (f"{where}: {len(raw)} names carry no UTF-8 flag and were read as {codec} (as Windows writes "
                f"them on a {'Chinese' if codec == 'gbk' else 'Japanese'} system)")
    return (f"{where}: {len(raw)} names carry no UTF-8 flag and read as no likely code page; they are shown "
            f"as zipfile reads them (cp437), so a name made of them may be garbled: check these students' "
            f"names, or zip the download again with a tool that writes UTF-8 names")


def _zip_problem(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symbolic link in the archive; links are never followed"
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.file_size > MAX_FILE_BYTES:
        return f"is {info.file_size / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return f"compresses {info.file_size // max(info.compress_size, 1)}:1 (a zip bomb?); the limit is {MAX_RATIO}:1"
    return ""


class FolderSource(Source):
    """A folder walked without following a single link; `exclude` paths (the output) are skipped.

    Only MAX_DEPTH levels are listed: every format puts a submission's files within them, and a
    plain folder's entries are graded in place, so a student's deep tree (a virtualenv handed in
    by mistake) is never walked file by file.
    """

    def __init__(self, path: Path, exclude: Iterable[Path] = ()):
        self.location = path
        self.members, self.refused = [], []
        excluded = {Path(p).resolve() for p in exclude}
        total = 0
        for root, dirs, files in os.walk(path, followlinks=False):
            here = Path(root)
            if len(here.relative_to(path).parts) >= MAX_DEPTH - 1:
                dirs[:] = []
            keep = []
            for d in sorted(dirs):
                full = here / d
                rel = full.relative_to(path).as_posix()
                if hidden(rel) or full.resolve() in excluded:
                    continue
                if full.is_symlink():
                    self.members.append(Member(rel, 0, "is a symbolic link; links are never followed"))
                    continue
                keep.append(d)
            dirs[:] = keep
            for name in sorted(files):
                full = here / name
                rel = full.relative_to(path).as_posix()
                if hidden(rel):
                    continue
                try:
                    info = os.lstat(full)
                except OSError as exc:
                    self.members.append(Member(rel, 0, f"cannot be read ({exc.strerror})"))
                    continue
                if stat.S_ISLNK(info.st_mode):
                    self.members.append(Member(rel, 0, "is a symbolic link; links are never followed"))
                elif stat.S_ISREG(info.st_mode):
                    problem = (f"is {info.st_size / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB"
                               if info.st_size > MAX_FILE_BYTES else "")
                    self.members.append(Member(rel, info.st_size, problem))
                    # a file over the limit is that student's refusal and is never read: it does not
                    # count towards the folder's total (a 20 GB sparse file must not stop the class)
                    total += info.st_size if not problem else 0
                if len(self.members) > MAX_MEMBERS:
                    raise IntakeError(f"{path} holds more than {MAX_MEMBERS} files")
        if total > MAX_TOTAL_BYTES:
            raise IntakeError(f"{path} holds {total / 2**30:.1f} GiB; the limit is {MAX_TOTAL_BYTES // 2**30} GiB")
        self._real = self._decode_legacy_names()

    def _decode_legacy_names(self) -> dict[str, str]:
        """Names that are not UTF-8 on disk (a Chinese or Japanese Windows zip unpacked by Linux's
        `unzip`, which keeps the bytes: Python shows them with surrogate escapes) read in the code page
        where they all are likely text, as a zip's (`legacy_codec`); the member's real path kept for
        reading. Returns shown path -> real path for the renamed members."""
        raw = [os.fsencode(m.path) for m in self.members if not _utf8_text(m.path)]
        codec = legacy_codec([r for r in raw if not r.isascii()])
        note = names_note(raw, codec, self.location.name)
        if note:
            self.refused.append(note)
        real = {}
        for i, member in enumerate(self.members):
            if codec and not _utf8_text(member.path):
                shown = os.fsencode(member.path).decode(codec, "surrogateescape")
                parts, real_parts = shown.split("/"), member.path.split("/")
                for k in range(1, len(parts) + 1):          # the file and every folder above it
                    real["/".join(parts[:k])] = "/".join(real_parts[:k])
                self.members[i] = replace(member, path=shown)
        return real

    def real(self, path: str) -> str:
        """The path on disk of a member or folder of the listing (its name as shown may be decoded)."""
        return self._real.get(path, path)

    def open(self, member: Member) -> BinaryIO:
        fd = os.open(self.location / self.real(member.path), os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError("not a regular file")
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def modified(self, path: str) -> float | None:
        try:
            return os.lstat(self.location / path).st_mtime
        except (OSError, ValueError):
            return None


def open_source(path: str | os.PathLike, exclude: Iterable[str | os.PathLike] = ()) -> Source:
    path = Path(path)          # given by the instructor: a link to the download is followed, none inside it
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise IntakeError(f"{path.name} is a file but not a zip archive: give a folder of submissions "
                              "or an LMS bulk download (.zip)")
        return ZipSource(path)
    if path.is_dir():
        return FolderSource(path, [Path(p) for p in exclude])
    raise IntakeError(f"{path} is not a folder of submissions or a zip of them")


# ------------------------------------------------------------------------------------------------
# What a format finds: one hand-in per student, not yet extracted


@dataclass
class Found:
    """One student's hand-in: who, which members (path in the source -> file name to grade it as)."""

    student: Student
    files: list[tuple[Member, str]] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    whole: str | None = None      # a plain folder's entry, graded in place (no staging)
    origin: str = ""              # the name the download gave this hand-in, as it was (nbgrader: its folder)

    @property
    def key(self) -> str:
        """The identity used for shards, rosters and output folders."""
        return self.student.id

    def add(self, member: Member, original: str) -> bool:
        """Take `member` (uploaded as `original`) unless a file of the same safe name is taken
        already: then the first one is graded and a note says why this one is not."""
        base = safe_file_name(original)
        if any(name == base for _, name in self.files):
            self.notes.append(Problem("lms-duplicate-name", f"{original}: another file named {base} was graded "
                                                            "instead"))
            return False
        self.files.append((member, base))
        self.student.files.append(original)
        return True


@dataclass
class Intake:
    format: str
    source: Source
    found: list[Found]
    skipped: list[str] = field(default_factory=list)   # members that fit no rule, and refused ones


def read_intake(path: str | os.PathLike, exclude: Iterable[str | os.PathLike] = (), assignment: str = "",
                zone: str = "") -> Intake:
    """List the hand-ins of a download (any supported format, told apart by shape). Reads no file
    but Gradescope's metadata and nbgrader's time stamps. `assignment` (the grader's assignment name)
    picks a student's folder of that name in an nbgrader folder that holds several assignments.
    `zone` (the late policy's IANA zone, "" for none) reads the times written with a zone
    abbreviation (nbgrader's stamps, Blackboard's receipts) when it is that zone's own (`late.abbreviated`)."""
    source = open_source(path, exclude)
    try:
        intake = _detect(source, assignment, zone)
    except BaseException:
        source.close()
        raise
    intake.skipped = source.refused + intake.skipped
    _distinct_identities(intake.found)
    return intake


def _origin(entry: Found) -> str:
    """The download's own name for a hand-in: the format's, else the top of its first file's path."""
    if entry.origin:
        return entry.origin
    return entry.files[0][0].path.split("/")[0] if entry.files else ""


def _distinct_identities(found: list[Found]) -> None:
    """No two hand-ins of one download share an identity (`batch.Submission.identity`: the LMS,
    the student's id, the hand-in's id), which names their folder of reports.

    Ids are cleaned for showing and matching (NFC, no control characters, no outer spaces), so
    two names the download keeps apart can clean to one id: nbgrader lets a student submit under
    any id (`nbgrader submit --student 'alice '`, or a decomposed 'josé'), and the two hand-ins
    then wrote one folder, the last replacing the other's result. The hand-in whose own name is
    exactly the id keeps it; every other one gets a hand-in id made from its own name (stable from
    run to run) and a note, and a roster then sees two hand-ins claim one student (flagged)."""
    groups: dict[tuple[str, str, str], list[Found]] = {}
    for entry in found:
        student = entry.student
        groups.setdefault((student.lms, student.id, student.submission_id), []).append(entry)
    for (_, sid, _), entries in groups.items():
        if len(entries) < 2:
            continue
        for entry in entries:
            origin = _origin(entry)
            if origin == sid:
                continue
            tag = hashlib.sha256(origin.encode("utf-8", "surrogateescape")).hexdigest()[:10]
            entry.student.submission_id = "-".join(filter(None, (entry.student.submission_id, f"as-{tag}")))
            entry.notes.append(Problem("lms-same-id", f"this hand-in's name in the download ({origin!r}) is not "
                                       f"{sid!r}, but reads as the same id once cleaned, as {len(entries) - 1} other "
                                       f"hand-in(s) of this download do: it is graded apart, under that id; check "
                                       "whose it is before its grade goes to the gradebook"))


def _detect(source: Source, assignment: str = "", zone: str = "") -> Intake:
    from . import blackboard, brightspace    # their own modules; they build on this one's Found and Intake

    members = source.members
    roots = _roots(members)
    meta = _gradescope_metadata(members, roots)
    if meta is not None:
        return _gradescope(source, meta)
    for prefix in roots:
        inner = [replace(m, path=m.path[len(prefix):]) for m in members if m.path.startswith(prefix)]
        tops = {m.path.split("/")[0] for m in inner}
        flat = [m for m in inner if "/" not in m.path]
        if tops and _share(tops, MOODLE_ENTRY, MOODLE_TEAM_DEFAULT) >= 0.5:
            return _moodle(source, prefix)
        if tops and brightspace.is_brightspace(tops):
            return brightspace.read(source, prefix)
        if flat and blackboard.is_blackboard([m.path for m in flat]):
            return blackboard.read(source, prefix, zone)
        if flat and _share({m.path for m in flat}, CANVAS_FILE, CANVAS_TEXT) >= 0.5:
            return _canvas(source, prefix)
        if _is_nbgrader(inner):
            return _nbgrader(source, prefix, assignment, zone)
    return _plain(source)


def _roots(members: list[Member]) -> list[str]:
    """"" and, while every member lies in one folder, that folder: a zip made of a folder, or of the
    folders a download was unpacked into (`Downloads/HW3/…`), outermost first, MAX_WRAPPERS at most."""
    roots = [""]
    while members and len(roots) <= MAX_WRAPPERS:
        rel = [m.path[len(roots[-1]):] for m in members]
        tops = {r.split("/")[0] for r in rel}
        if len(tops) != 1 or not all("/" in r for r in rel):
            break
        roots.append(f"{roots[-1]}{next(iter(tops))}/")
    return roots


def _gradescope_metadata(members: list[Member], roots: list[str]) -> Member | None:
    """Gradescope's `submission_metadata.yml`: at the top of the export (or of the folders around it),
    or in a folder beside which there is nothing to grade (the export unpacked next to its zip).
    Never one in a hand-in's folder: a student may hand in a file of that name, which must neither
    replace the export's list of submitters nor turn a class folder into an export of one student."""
    for root in roots:
        found = next((m for m in members if m.path == root + METADATA), None)
        if found is not None:
            return found
    for meta in (m for m in members if m.path.count("/") == 1 and m.path.endswith("/" + METADATA)):
        folder = meta.path.split("/")[0] + "/"
        beside = [m for m in members if not m.path.startswith(folder)]
        if all("/" not in m.path and PurePosixPath(m.path).suffix.lower() not in SUFFIXES for m in beside):
            return meta
    return None


def _share(names: set[str], *patterns: re.Pattern) -> float:
    return sum(1 for n in names if any(p.match(n) for p in patterns)) / len(names)


def _iso(value) -> str:
    """A timestamp as ISO 8601 text ("" if none); naive times are taken as UTC."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc).isoformat()
    if isinstance(value, str) and value.strip():
        try:
            return _iso(datetime.fromisoformat(value.strip().replace(" ", "T", 1).replace("Z", "+00:00")))
        except ValueError:
            return ""
    return ""


def in_zone(stamp: str, abbreviation: str, zone: str) -> str:
    """A wall-clock time written with a zone abbreviation, as ISO 8601 in the IANA `zone` when the
    abbreviation is that zone's own then (`late.abbreviated`); "" otherwise, or if unreadable."""
    from .late import abbreviated

    try:
        naive = datetime.fromisoformat(stamp.strip().replace(" ", "T", 1))
    except ValueError:
        return ""
    when = abbreviated(naive, abbreviation, zone) if zone and naive.tzinfo is None else None
    return when.isoformat() if when is not None else ""


def safe_file_name(raw: str) -> str:
    """A file name that is one safe path component: no separator, no leading dot, bounded (in
    characters, and in bytes: well within the 255 a file name may take), NFC."""
    name = unicodedata.normalize("NFC", PurePosixPath(raw.replace("\\", "/")).name)
    name = re.sub(r"[\x00-\x1f\x7f/]", "_", name).lstrip(".").strip() or "file"
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        return cut_utf8(stem[:100], 160) + dot + cut_utf8(ext[:20], 40)
    return cut_utf8(name[:120], 200)


# ------------------------------------------------------------------------------------------------
# Canvas


def _canvas(source: Source, prefix: str) -> Intake:
    by_id: dict[str, Found] = {}
    uploads: dict[str, list[tuple[int, str, Member]]] = {}
    skipped = []
    for member in source.members:
        rel = member.path[len(prefix):] if member.path.startswith(prefix) else None
        if rel is None or "/" in rel:
            skipped.append(f"{member.path}: not a Canvas submission file; skipped")
            continue
        m = CANVAS_FILE.match(rel) or CANVAS_TEXT.match(rel)
        if m is None:
            skipped.append(f"{member.path}: does not follow Canvas's naming rule; skipped")
            continue
        uid = m["id"] or m["anon"]
        found = by_id.get(uid)
        if found is None:
            found = by_id[uid] = Found(Student(id=uid, name=_scalar(m["name"] or ""), lms=CANVAS))
        if m["late"] or m["alate"]:
            found.student.late = True
        original = m["orig"] if "file" in m.groupdict() else f"{m['orig']}.html"
        attachment = int(m["file"]) if "file" in m.groupdict() and m["file"] else 0
        if "file" not in m.groupdict():
            kind = "a text entry typed into Canvas" if m["orig"] == "text" else "a website URL"
            found.notes.append(Problem("lms-not-a-file", f"handed in as {kind} ({original}), not as a file: there "
                                                         "is no notebook or module to run. Read it and grade it by "
                                                         "hand, or ask for the notebook"))
        uploads.setdefault(uid, []).append((attachment, original, member))
    for uid, files in uploads.items():
        found = by_id[uid]
        if found.student.late is None:
            found.student.late = False
        _canvas_files(found, files)
    return Intake(CANVAS, source, sorted(by_id.values(), key=lambda f: (f.student.name, f.key)), skipped)


def _canvas_files(found: Found, files: list[tuple[int, str, Member]]) -> None:
    """Keep the newest of the uploads that differ only by Canvas's `-N` suffix; name the others.

    A name is read as `<base>-N` only when the student has another upload of that base: `model-2.py`
    alone is just a file called `model-2.py`. The newest upload has the highest attachment id.
    """
    bases = [_canvas_base(original) for _, original, _ in files]
    groups: dict[str, list[tuple[int, str, Member]]] = {}
    for (attachment, original, member), base in zip(files, bases):
        if base != original and bases.count(base) < 2:
            base = original
        groups.setdefault(base, []).append((attachment, original, member))
    ids = []
    for base, group in sorted(groups.items()):
        group.sort(key=lambda g: g[0])
        attachment, original, member = group[-1]
        found.files.append((member, base))
        found.student.files.append(original)
        if attachment:
            ids.append(str(attachment))
        older = [g[1] for g in group[:-1]]
        if older:
            found.notes.append(Problem("lms-older-upload", f"Canvas holds several uploads of {base}; the newest "
                                                           f"({original}) was graded, not {', '.join(older)}"))
    found.student.submission_id = ",".join(ids)


def canvas_user_name(sortable: str) -> str:
    """The name Canvas's download gives a user of this sortable name (lib/content_zipper.rb:
    `sortable_name.gsub(/_(\\d+)_/, '\\1').downcase`, then every character but Ruby's [[:word:]] --
    letters, marks, decimal digits, connector punctuation -- deleted), NFC."""
    name = re.sub(r"_([0-9]+)_", r"\1", sortable).lower()
    kept = (c for c in name if unicodedata.category(c)[0] in "LM" or unicodedata.category(c) in ("Nd", "Pc"))
    return unicodedata.normalize("NFC", "".join(kept))


def _canvas_base(original: str) -> str:
    """The name `original` was renamed from by Canvas (`hw3-2.ipynb` -> `hw3.ipynb`), else `original`.
    A candidate counts only if Canvas's renaming of it gives `original` back: `hw3.v2-1.ipynb` is not
    a rename of `hw3.v2.ipynb` (that one is `hw3-1.v2.ipynb`)."""
    ext = _canvas_ext(original)
    m = CANVAS_RENAMED.fullmatch(original[: len(original) - len(ext)])
    if m is None or _canvas_ext(m["base"] + ext) != ext:
        return original
    return m["base"] + ext


def _canvas_ext(name: str) -> str:
    m = CANVAS_EXT.search(name)
    return m.group(0) if m else ""


# ------------------------------------------------------------------------------------------------
# Gradescope


def _gradescope(source: Source, meta: Member) -> Intake:
    import yaml

    root = meta.path[: -len(METADATA)]
    if meta.problem or meta.size > MAX_METADATA_BYTES:
        raise IntakeError(f"{meta.path} cannot be read: {meta.problem or 'too large'}")
    try:
        data = yaml.safe_load(source.read(meta))
    except (OSError, zipfile.BadZipFile) as exc:
        raise IntakeError(f"{meta.path} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise IntakeError(f"{meta.path} is not valid YAML: {str(exc)[:300]}") from None
    if not isinstance(data, dict):
        raise IntakeError(f"{meta.path} does not map submission folders to their submitters")
    if len(data) > MAX_MEMBERS:
        raise IntakeError(f"{meta.path} lists more than {MAX_MEMBERS} submissions")
    members: dict[str, list[Member]] = {}
    for member in source.members:
        if member.path.startswith(root) and member != meta:
            rel = member.path[len(root):]
            members.setdefault(rel.split("/")[0] if "/" in rel else "", []).append(member)
    found: list[Found] = []
    skipped = [f"{m.path}: not inside a submission folder; skipped" for m in members.pop("", [])]
    for folder, info in data.items():
        folder = _scalar(folder)
        info = info if isinstance(info, dict) else {}
        submitters = info.get(":submitters") or info.get("submitters") or []
        files = members.pop(folder, [])
        when = _iso(info.get(":created_at") or info.get("created_at"))
        if isinstance(submitters, list) and len(submitters) > MAX_GROUP:
            skipped.append(f"{folder}: {len(submitters)} submitters (more than {MAX_GROUP}); skipped")
            continue
        late = info.get(":late") if isinstance(info.get(":late"), bool) else None
        sub_id = folder.removeprefix("submission_")
        if not isinstance(submitters, list) or not submitters:
            skipped.append(f"{folder}: no submitter in {METADATA}; skipped")
            continue
        for person in submitters:
            if not isinstance(person, dict):
                skipped.append(f"{folder}: a submitter that is not a name/sid/email mapping; skipped")
                continue
            sid = _scalar(person.get(":sid") or person.get("sid"))
            email = _scalar(person.get(":email") or person.get("email"))
            name = _scalar(person.get(":name") or person.get("name"))
            student = Student(id=sid or email or f"{sub_id}:{name}", name=name, lms=GRADESCOPE,
                              submission_id=sub_id, submitted_at=when, late=late, email=email, sis_id=sid)
            entry = Found(student)
            for member in sorted(files, key=lambda m: (m.path.count("/"), m.path)):
                entry.add(member, member.path[len(root) + len(folder) + 1:])
            if len(submitters) > 1:
                others = ", ".join(_scalar(p.get(":name")) for p in submitters if isinstance(p, dict) and p is not person)
                entry.notes.append(Problem("lms-group", f"a group submission, shared with {others}"))
            found.append(entry)
    skipped += [f"{root}{folder}/: not listed in {METADATA}; skipped" for folder in sorted(members)]
    return Intake(GRADESCOPE, source, found, skipped)


def _scalar(value, limit: int = 200) -> str:
    """A YAML value as bounded, clean text; "" for anything but a scalar (a list or mapping built of
    aliases could be billions of items long once written out: it is never turned into text)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    # NFC: a download unpacked and zipped again on macOS has decomposed names (`Jose\u0301`)
    text = unicodedata.normalize("NFC", str(value)[: limit * 2])
    return clean(text, limit).replace("\n", " ").strip()


# ------------------------------------------------------------------------------------------------
# Moodle


def _moodle(source: Source, prefix: str) -> Intake:
    by_id: dict[str, Found] = {}
    skipped = []
    team = False
    for member in source.members:
        rel = member.path[len(prefix):] if member.path.startswith(prefix) else ""
        top, _, inner = rel.partition("/")
        m = MOODLE_ENTRY.match(top)
        uid = m["id"] if m else ""
        if m is None:
            m = MOODLE_TEAM_DEFAULT.match(top)
            uid = m["name"] if m else ""
            team = team or m is not None
        if m is None:
            skipped.append(f"{member.path}: does not follow Moodle's naming rule; skipped")
            continue
        if m["plugin"] != "file" and not m["rest"] and not inner:
            continue
        original = inner if inner else m["rest"] or ""     # folder form, or the flat form's file name
        if not original:
            continue
        found = by_id.setdefault(uid, Found(Student(id=_scalar(uid), name=_scalar(m["name"]), lms=MOODLE)))
        found.add(member, original)
    if not team and any(f.student.name.startswith(MOODLE_OLD_DEFAULT) for f in by_id.values()):
        _moodle_old_teams(list(by_id.values()))
    for found in by_id.values() if team else ():
        name, gid = found.student.name, found.student.id
        who = (f"group {name!r} (Moodle group id {gid})" if gid != name
               else f"the students in no group ({name!r}, which has no id)")
        found.notes.append(Problem("lms-group", f"a Moodle team submission: this hand-in is that of {who}, not of "
                                                "one participant; its grade is for every member of the group, "
                                                "whom the download does not name"))
    return Intake(MOODLE, source, sorted(by_id.values(), key=lambda f: (f.student.name, f.key)), skipped)


MOODLE_OLD_DEFAULT = "Default group-"      # get_string('defaultteam') . '-' before a member's name (Moodle < 4.1)


def _moodle_old_teams(found: list[Found]) -> None:
    """Moodle before 4.1 names a team submission's folder after a member: `<group name>-<full name>_<the
    member's participant id>` (locallib.php download_submissions), and `Default group-<full name>_<id>`
    for a student in no group. The id is the member's, so the hand-in stays theirs; the name loses the
    group's part, which a note keeps. Where the group's name ends is where most folders agree (the
    longest of the most shared prefixes: a group's is shared by its members' folders, a hyphen in a
    person's name seldom is), else at the first hyphen."""
    names = [f.student.name for f in found]
    prefixes: dict[str, int] = {}
    for name in names:
        for at in [i for i, c in enumerate(name) if c == "-"]:
            prefixes[name[:at + 1]] = prefixes.get(name[:at + 1], 0) + 1
    for f in found:
        name = f.student.name
        cuts = [name[:i + 1] for i, c in enumerate(name) if c == "-" and i + 1 < len(name)]
        if not cuts:
            continue
        shared = [p for p in cuts if prefixes.get(p, 0) >= 2]
        group = (MOODLE_OLD_DEFAULT if name.startswith(MOODLE_OLD_DEFAULT)
                 else max(shared, key=lambda p: (prefixes[p], len(p))) if shared else cuts[0])
        f.student.name = name[len(group):]
        who = ("no group (\"Default group\")" if group == MOODLE_OLD_DEFAULT
               else f"group {group[:-1]!r}")
        f.notes.append(Problem("lms-team-member", f"a Moodle team submission (Moodle before 4.1 names it after a "
                                                  f"member): the hand-in of {who}, downloaded under "
                                                  f"{f.student.name} (participant {f.student.id}), whose grade "
                                                  f"this is; members the download does not name get theirs in "
                                                  f"Moodle"))


# ------------------------------------------------------------------------------------------------
# nbgrader


def _is_nbgrader(members: list[Member]) -> bool:
    """`{student_id}/{assignment_id}/…` throughout, and a `timestamp.txt` in at least half the students'
    assignment folders (what `nbgrader collect` writes into `submitted/`)."""
    parts = [m.path.split("/") for m in members]
    if not parts or any(len(p) < 3 for p in parts):
        return False
    students = {p[0] for p in parts}
    stamped = {p[0] for p in parts if len(p) == 3 and p[2] == NBGRADER_STAMP}
    return len(stamped) >= 0.5 * len(students)


def _nbgrader(source: Source, prefix: str, assignment: str, zone: str = "") -> Intake:
    by_student: dict[str, dict[str, list[Member]]] = {}
    for member in source.members:
        student, folder = member.path[len(prefix):].split("/")[:2]
        by_student.setdefault(student, {}).setdefault(folder, []).append(member)
    found, stamps = [], []
    for student, folders in sorted(by_student.items()):
        entry = Found(Student(id=_scalar(student), name=_scalar(student), lms=NBGRADER), origin=student)
        found.append(entry)
        chosen = list(folders) if len(folders) == 1 else [f for f in folders if f.casefold() == assignment.casefold()]
        if len(chosen) != 1:
            entry.notes.append(Problem("lms-nbgrader-assignments", f"this student's folder holds several nbgrader "
                                       f"assignments ({', '.join(sorted(folders))}), none named {assignment!r} (the "
                                       "grader's assignment): nothing was graded. Give the grader a copy of the "
                                       "folder that holds only this assignment"))
            continue
        root = f"{prefix}{student}/{chosen[0]}/"
        stamp = NbgraderStamp(entry, source.modified(root.rstrip("/")))
        stamps.append(stamp)
        for member in sorted(folders[chosen[0]], key=lambda m: (m.path.count("/"), m.path)):
            inner = member.path[len(root):]
            if inner == NBGRADER_STAMP:
                stamp.read(source, member, zone)
                continue
            entry.add(member, inner)
    _settle_nbgrader_times(stamps)
    return Intake(NBGRADER, source, found)


# How far the time in timestamp.txt may lie before the last change the file system recorded for it
# or its folder: `nbgrader submit` takes its time when it starts, then copies the student's files and
# writes the stamp (seconds; minutes for a large folder).
NBGRADER_SLACK_SECONDS = 600


@dataclass
class NbgraderStamp:
    """One student's nbgrader time: what timestamp.txt says, and what the file system recorded.

    The stamp is written by the student's own `nbgrader submit` (their clock, into a folder of the
    exchange that they own, which they can edit until `nbgrader collect` copies it); `collect`
    copies it with the files' and the folder's modification times (shutil.copytree). Those times
    are the one record in the download the student did not write as text: where the download
    kept them (see `_settle_nbgrader_times`), a stamp earlier than them is not believed."""

    entry: Found
    folder_time: float | None
    stamp_time: float | None = None       # the file's own modification time
    said: str = ""                        # what the file says, cleaned
    claimed: datetime | None = None       # ... as a time (None when missing or unreadable)

    def read(self, source: Source, member: Member, zone: str = "") -> None:
        """The stamp, in UTC as nbgrader writes it by default, or in the exchange's own zone
        (c.Exchange.timezone: "… CDT") when that is the policy's `zone` (see `read_intake`)."""
        text = ""
        if not member.problem and member.size <= 1000:
            text = (_read(lambda: source.read(member), NBGRADER_STAMP, "the download", self.entry.notes)
                    or b"").decode("utf-8", "replace").strip()
        self.said = clean(text, 60) or "nothing"
        self.stamp_time = source.modified(member.path)
        stamp, _, named = text.rpartition(" ")
        when = _iso(stamp) if named.upper() in ("UTC", "GMT", "Z") else in_zone(stamp, named, zone)
        self.claimed = datetime.fromisoformat(when) if when else None

    @property
    def recorded(self) -> datetime | None:
        """The last change the file system recorded for the stamp, or for its folder when there is
        none (deleting it changed the folder). Not the folder beside a stamp: staff who save a fix
        into a notebook there (an editor's save replaces the file) change the folder, not the stamp."""
        when = self.stamp_time if self.stamp_time is not None else self.folder_time
        return datetime.fromtimestamp(when, timezone.utc) if when is not None else None

    def agrees(self) -> bool:
        recorded = self.recorded
        return (self.claimed is not None and recorded is not None
                and abs((recorded - self.claimed).total_seconds()) <= NBGRADER_SLACK_SECONDS)

    def contradicted(self) -> bool:
        recorded = self.recorded
        return recorded is not None and (self.claimed is None or
                                         (recorded - self.claimed).total_seconds() > NBGRADER_SLACK_SECONDS)


def _settle_nbgrader_times(stamps: list[NbgraderStamp]) -> None:
    """Each student's submission time: the stamp's, unless the file system recorded a later change.

    The recorded times are believed only when the download kept them, which the class tells: a copy
    made without its times (`cp -r`, a checkout) makes every file as new as the copy, and then most
    stamps disagree with their files. So they are evidence when at least half of the readable stamps
    agree with them (within NBGRADER_SLACK_SECONDS); a student alone in a download is taken at their
    stamp's word."""
    readable = [s for s in stamps if s.claimed is not None]
    kept_times = bool(readable) and 2 * sum(s.agrees() for s in readable) >= len(readable) and any(
        s.agrees() for s in readable)
    for stamp in stamps:
        student, notes = stamp.entry.student, stamp.entry.notes
        if kept_times and stamp.contradicted():
            recorded = stamp.recorded
            student.submitted_at = recorded.isoformat()
            if stamp.claimed is None and stamp.stamp_time is None:
                said = f"there is no {NBGRADER_STAMP}"
            else:
                said = f"{NBGRADER_STAMP} says {stamp.said!r}"
            notes.append(Problem("lms-time-recorded", f"{said}, but the download's file times show this hand-in "
                                 f"last changed at {recorded.isoformat()}, as most students' stamps agree with "
                                 "theirs: that time is used for the late policy"))
        elif stamp.claimed is not None:
            student.submitted_at = stamp.claimed.isoformat()
        elif stamp.stamp_time is not None or stamp.said:
            notes.append(Problem("lms-time-unknown", f"{NBGRADER_STAMP} says {stamp.said!r}, which is not a time in "
                                                     "UTC, nor in [late] zone's own abbreviation, that the grader can "
                                                     "read: no late penalty is applied to it"))


# ------------------------------------------------------------------------------------------------
# A plain folder (as before) or a zip of one


def _plain(source: Source) -> Intake:
    """One entry per top-level file or folder. A zip whose members all lie in one folder is a zip of
    the class's folder (`submissions/alice.ipynb`, ...): its entries are that folder's."""
    prefix = ""
    roots = _roots(source.members)
    if isinstance(source, ZipSource) and len(roots) > 1:
        prefix = roots[1]
    groups: dict[str, list[Member]] = {}
    for member in source.members:
        groups.setdefault(member.path[len(prefix):].split("/")[0], []).append(member)
    found = []
    for top, members in sorted(groups.items()):
        is_file = len(members) == 1 and members[0].path == prefix + top
        key = PurePosixPath(top).stem if is_file else top
        entry = Found(Student(id=key, name=key, lms=FOLDER))
        if isinstance(source, FolderSource) and not any(m.problem for m in members if m.path == top):
            entry.whole = source.real(top)          # graded in place, exactly as before
        for member in sorted(members, key=lambda m: m.path):
            inner = member.path[len(prefix) + len(top) + 1:]
            entry.files.append((member, safe_file_name(member.path) if is_file else inner))
            entry.student.files.append(PurePosixPath(member.path).name if is_file else inner)
        found.append(entry)
    return Intake(FOLDER, source, found)


# ------------------------------------------------------------------------------------------------
# Staging: the files a hand-in may be graded from, and nothing else, in a folder of its own


def stage(intake: Intake, found: Found, folder: Path) -> tuple[Path, list[Problem]]:
    """Write `found`'s candidate files into `folder` (created); return what to grade and the notes.

    Members that are not notebooks, modules or written answers are not extracted (the loader would
    ignore them). A zip that a student handed in (`hw3.zip`) is spooled to disk and its candidate
    files are extracted, flattened, under the same rules as the download (a zip inside it is opened
    too, MAX_ZIP_DEPTH zips deep: see `unpack_zip`) -- unless a notebook or module was handed in beside it, which is then the
    hand-in (the zip is named in a note). A member that cannot be read is a note for this student alone.
    """
    notes = list(found.notes)
    if found.whole is not None:
        for member, _ in found.files:
            if member.problem:
                notes.append(Problem("lms-refused-file", f"{member.path}: {member.problem}; not read"))
        return intake.source.location / found.whole, notes
    folder.mkdir(parents=True, exist_ok=False)
    written: set[str] = set()
    # a notebook or module uploaded as such is the hand-in: a zip beside it (old attempts, data) is
    # not opened, or its files would make the folder ambiguous
    code = [PurePosixPath(name).name for _, name in found.files
            if PurePosixPath(name).suffix.lower() in (".ipynb", ".py")]
    for member, name in found.files:
        target = "/".join(safe_file_name(p) for p in name.split("/"))
        suffix = PurePosixPath(target).suffix.lower()
        if suffix not in SUFFIXES and suffix != ".zip":
            continue
        shown = PurePosixPath(member.path).name
        if suffix == ".zip" and code:
            notes.append(Problem("lms-zip-not-opened", f"{PurePosixPath(name).name} was not opened: "
                                                       f"{', '.join(code[:3])} handed in beside it is graded"))
            continue
        if member.problem:
            notes.append(Problem("lms-refused-file", f"{shown}: {member.problem}; not read"))
            continue
        if target.lower() in written:
            continue
        if suffix == ".zip":
            with tempfile.TemporaryFile(dir=folder.parent) as spool:     # on disk, beside the staging folder
                if _spool(lambda: intake.source.open(member), spool, shown, "the download", notes):
                    unpack_zip(spool, shown, folder, written, notes)
        else:
            _put(folder, target, lambda: intake.source.open(member), written, name, shown, "the download", notes)
    said = ("lms-refused-file", "lms-unreadable-file", "lms-not-a-file", "lms-zip-not-opened")
    if not written and not any(n.code in said for n in notes):
        held = [PurePosixPath(name).name for _, name in found.files]
        notes.append(Problem("lms-nothing-gradable", (f"the hand-in holds only {', '.join(held[:5])}"
                                                      f"{' …' if len(held) > 5 else ''}" if held else
                                                      "the hand-in holds no file at all")
                             + ": no notebook (.ipynb), module (.py) or written answer (.md/.txt) to grade"))
    return folder, notes


def _read(read, shown: str, where: str, notes: list[Problem]) -> bytes | None:
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - BadZipFile, zlib.error, OSError...: this student's file only
        notes.append(_unreadable(shown, where, exc))
        return None


COPY_CHUNK = 1 << 20          # staging copies a file through a buffer of this size, never holding it whole


class _WriteFailed(OSError):
    """Writing a staged file failed (the disk), as opposed to reading it from the download."""


def copy_bounded(source: BinaryIO, target: BinaryIO, limit: int = MAX_FILE_BYTES) -> int:
    """Copy `source` into `target` COPY_CHUNK bytes at a time; OSError once past `limit` bytes (a
    size the archive declared falsely, a file that grew), _WriteFailed when `target` refuses them."""
    copied = 0
    while chunk := source.read(COPY_CHUNK):
        copied += len(chunk)
        if copied > limit:
            raise OSError("larger than the file size limit")
        try:
            target.write(chunk)
        except OSError as exc:
            raise _WriteFailed(exc.errno, exc.strerror) from None
    return copied


def _spool(opener: Callable[[], BinaryIO], spool: BinaryIO, shown: str, where: str, notes: list[Problem]) -> bool:
    """Copy a zip handed in into `spool` (a temporary file) to be opened from there; False, and a note
    for this student, when it cannot be read or written."""
    try:
        with opener() as source:
            copy_bounded(source, spool)
        spool.seek(0)
        return True
    except _WriteFailed as exc:
        notes.append(Problem("lms-unreadable-file", f"{shown} could not be unpacked for grading "
                                                    f"({exc.strerror or type(exc).__name__})"))
    except Exception as exc:  # noqa: BLE001 - BadZipFile, zlib.error, OSError...: this student's file only
        notes.append(_unreadable(shown, where, exc))
    return False


def _unreadable(shown: str, where: str, exc: BaseException) -> Problem:
    detail = str(exc)[:200] or type(exc).__name__
    return Problem("lms-unreadable-file", f"{shown} could not be read from {where} ({detail})")


def _put(folder: Path, target: str, opener: Callable[[], BinaryIO], written: set[str], shown: str,
         read_as: str, where: str, notes: list[Problem]) -> None:
    """Stage one file, copied from `opener()` in chunks. One that cannot be read (a bad CRC, past the
    size limit: noticed only once read) or written (a file and a folder of the same name in the
    hand-in, a name the disk refuses) is a note for this student, never the batch's end; nothing
    of it is left in the staging folder."""
    path = folder / target
    with contextlib.ExitStack() as stack:
        try:
            source = stack.enter_context(opener())
        except Exception as exc:  # noqa: BLE001 - this student's file only
            notes.append(_unreadable(read_as, where, exc))
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            out = stack.enter_context(open(path, "xb"))
        except OSError as exc:
            notes.append(Problem("lms-unreadable-file", f"{shown} could not be unpacked for grading "
                                                        f"({exc.strerror or type(exc).__name__})"))
            return
        try:
            copy_bounded(source, out)
        except Exception as exc:  # noqa: BLE001 - reading (BadZipFile, zlib.error, the limit) or writing
            out.close()
            path.unlink(missing_ok=True)
            notes.append(Problem("lms-unreadable-file", f"{shown} could not be unpacked for grading "
                                                        f"({exc.strerror or type(exc).__name__})")
                         if isinstance(exc, _WriteFailed) else _unreadable(read_as, where, exc))
            return
    written.add(target.lower())


def unpack_zip(data: bytes | BinaryIO, shown: str, folder: Path, written: set[str], notes: list[Problem],
               budget: list[int] | None = None, depth: int = 1) -> None:
    """The candidate files of a zip a student handed in, flattened into `folder`, bounded like a download.

    A zip inside it (a folder compressed with the zip made before in it) is opened as well, down to
    MAX_ZIP_DEPTH zips, unless a notebook or module lies beside it (then that is the hand-in, as in
    `stage`); every level shares one `budget` of MAX_FILE_BYTES unpacked, so nesting buys no room.
    `data` is the zip's bytes, or a seekable file holding them (a spool on disk: see `stage`), and
    its files are copied out in chunks, a zip inside it spooled to disk in turn.
    """
    import io

    budget = [MAX_FILE_BYTES] if budget is None else budget
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data)
        infos = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - not a zip, or a broken one
        notes.append(Problem("lms-unreadable-file", f"{shown} is not a readable zip archive ({str(exc)[:120]})"))
        return
    if len(infos) > MAX_NESTED_MEMBERS:
        notes.append(Problem("lms-refused-file", f"{shown} holds {len(infos)} files (more than "
                                                 f"{MAX_NESTED_MEMBERS}); not opened"))
        return
    codec = legacy_codec(_raw_legacy_names(infos))
    listed = [(info, _nested_path(info, codec)) for info in infos if not info.is_dir()]
    code = [PurePosixPath(p).name for _, p in listed
            if p is not None and not hidden(p) and PurePosixPath(p).suffix.lower() in (".ipynb", ".py")]
    taken = []
    for info, path in listed:
        if path is not None and hidden(path):
            continue
        if path is None:
            notes.append(Problem("lms-refused-file", f"{shown}: {info.filename[:120]!r} points outside the "
                                                     "archive; not read"))
            continue
        target = safe_file_name(path)
        suffix = PurePosixPath(target).suffix.lower()
        if suffix == ".zip":
            _unpack_inner(archive, info, path, shown, code, folder, written, notes, budget, depth)
            continue
        if suffix not in SUFFIXES:
            continue
        problem = _zip_problem(info)
        if not problem and info.file_size > budget[0]:
            problem = f"would take {shown} past {MAX_FILE_BYTES // 2**20} MB unpacked"
        if problem:
            notes.append(Problem("lms-refused-file", f"{shown}: {path[:120]} {problem}; not read"))
            continue
        budget[0] -= info.file_size
        if target.lower() in written:
            notes.append(Problem("lms-duplicate-name", f"{shown}: {path[:120]}: another file named {target} "
                                                       "was graded instead"))
            continue
        _put(folder, target, lambda: archive.open(info), written, f"{shown}: {path[:120]}",
             f"{shown}: {path[:120]}", "its zip", notes)
        if target.lower() in written:
            taken.append(path)
    if taken:
        notes.append(Problem("lms-unpacked", f"read {', '.join(taken[:5])}{' …' if len(taken) > 5 else ''} "
                                             f"from {shown}"))


def _nested_path(info: zipfile.ZipInfo, codec: str = "") -> str | None:
    return safe_member_path(_utf8_name(info, codec))


def _unpack_inner(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, shown: str, code: list[str],
                  folder: Path, written: set[str], notes: list[Problem], budget: list[int], depth: int) -> None:
    """A zip found inside `shown`: opened in turn (sharing the budget), or named in a note saying why not."""
    inner = f"{shown}: {path[:120]}"
    why = (f"{', '.join(code[:3])} beside it is graded" if code else
           f"a zip inside a zip inside a zip is not opened (hand in the notebook itself)" if depth >= MAX_ZIP_DEPTH
           else _zip_problem(info) or (f"would take {shown} past {MAX_FILE_BYTES // 2**20} MB unpacked"
                                       if info.file_size > budget[0] else ""))
    if why:
        notes.append(Problem("lms-zip-not-opened", f"{inner} was not opened: {why}"))
        return
    budget[0] -= info.file_size
    with tempfile.TemporaryFile(dir=folder.parent) as spool:
        if _spool(lambda: archive.open(info), spool, inner, "its zip", notes):
            unpack_zip(spool, inner, folder, written, notes, budget, depth + 1)


def display_key(student: Student) -> str:
    """`name_id` for a student of an LMS download, the bare name for a plain folder's entry."""
    if student.lms == FOLDER or not student.name or student.name == student.id:
        return student.id
    return f"{student.name}_{student.id}"


def unique_names(found: list[Found]) -> list[str]:
    """The name of each hand-in (an output folder, and what reports show): `name_id` for an LMS
    download, the file or folder name for a plain folder, made unique as `batch.discover` does
    (`alice-2`). A plain folder's identity is this name."""
    from .batch import safe_name

    taken: set[str] = set()
    names = []
    for entry in found:
        base = safe_name(display_key(entry.student))
        name, number = base, 2
        while name.lower() in taken:
            name, number = f"{base}-{number}", number + 1
        taken.add(name.lower())
        names.append(name)
    return names


def to_submissions(intake: Intake, chosen: list[tuple[str, Found]], staging: Path) -> list:
    """`batch.Submission`s for the `chosen` (name, hand-in) pairs, each staged under `staging`."""
    from .batch import Submission

    out = []
    for index, (name, found) in enumerate(chosen):
        if found.student.lms == FOLDER:
            found.student.id = found.student.name = name
        # the folder bears the hand-in's name: the loader's messages name it (never "000003")
        try:
            path, notes = stage(intake, found, staging / f"{index:06d}" / name)
        except OSError as exc:
            # this student's files could not be staged at all: a note for them, never the batch's end
            path = staging / f"{index:06d}"
            path.mkdir(parents=True, exist_ok=True)
            notes = [*found.notes, Problem("lms-unreadable-file", f"the hand-in could not be unpacked for grading "
                                                                  f"({exc.strerror or type(exc).__name__})")]
        # the notes quote member names from the download: no escape codes into a terminal or report
        notes = tuple(Problem(n.code, clean(n.message, 500).replace("\n", " ")) for n in notes)
        found.student.files = [clean(unicodedata.normalize("NFC", f), 300).replace("\n", " ")
                               for f in found.student.files]
        out.append(Submission(name, path, student=found.student, notes=notes))
    return out
