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


def legacy_named_zip(files: dict[bytes, bytes]) -> bytes:
    """A zip whose member names are the raw bytes given (GBK, Shift-JIS...) without the UTF-8 flag,
    as Windows' own zip tool writes them in the machine's code page: zipfile always flags a non-ASCII
    name as UTF-8, so each is written under an ASCII stand-in of the same length, then replaced in
    the local and central headers (their CRCs cover the data, not the name)."""
    import io
    import zipfile

    stand_ins = {f"{i}".rjust(len(raw), "~").encode(): raw for i, raw in enumerate(files)}
    assert all(len(k) == len(v) for k, v in stand_ins.items()) and len(set(stand_ins)) == len(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for stand_in, data in zip(stand_ins, files.values()):
            z.writestr(stand_in.decode(), data)
    raw = out.getvalue()
    for stand_in, name in stand_ins.items():
        assert raw.count(stand_in) == 2, stand_in          # once in the local header, once in the central one
        raw = raw.replace(stand_in, name)
    return raw
