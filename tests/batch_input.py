"""Making a batch's input folder (a class of submissions) for the tests."""
from __future__ import annotations

import shutil
from pathlib import Path

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"


def round_robin_class(folder: Path, students: int, examples: list[str], digits: int = 2) -> Path:
    """A class of `students` copies of `examples` (files of submissions/), taken in turn, named
    s00, s01, ... (`digits` wide) with each example's suffix."""
    folder.mkdir()
    for i in range(students):
        example = examples[i % len(examples)]
        shutil.copy(SUBMISSIONS / example, folder / f"s{i:0{digits}d}{Path(example).suffix}")
    return folder


def without_utf8_flag(archive: bytes) -> bytes:
    """A zip's bytes with general-purpose flag 11 (names in UTF-8) cleared in every local and central
    header: how Windows' and macOS' own zip tools and Brightspace write UTF-8 names, which zipfile
    then reads as cp437 unless told otherwise."""
    raw = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := raw.find(signature, start)) >= 0:
            flags = int.from_bytes(raw[at + offset:at + offset + 2], "little") & ~0x800
            raw[at + offset:at + offset + 2] = flags.to_bytes(2, "little")
            start = at + 4
    return bytes(raw)
