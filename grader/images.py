"""How many pixels an image says it has, read from its header, before anything shows it.

A figure's bytes are bounded wherever one is kept, but a few kilobytes of PNG or JPEG may declare
16000 x 16000 pixels (a blank image compresses to almost nothing): 1 GB of RGBA in the browser of
everyone who opens a page that shows it. Figures come from the sandbox's events (which a job can
forge) and from the outputs saved in a student's notebook (the work view); both are kept only when
their header declares a drawable size, and never as an animation (APNG's many frames).
"""
from __future__ import annotations

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless...): C0-CF but DHT, JPG and DAC.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG whose first chunk is its header and which is not animated; else None."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        if data[at + 4:at + 8] == b"acTL":
            return None
        at += 12 + int.from_bytes(data[at:at + 4], "big")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's first frame header; None if there is none."""
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:                    # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            at += 2                           # markers without a length
            continue
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if marker in _JPEG_FRAMES:
            if at + 9 > len(data):
                return None
            return int.from_bytes(data[at + 7:at + 9], "big"), int.from_bytes(data[at + 5:at + 7], "big")
        if marker == 0xDA or length < 2:      # image data before any frame header
            return None
        at += 2 + length
    return None


def drawable(data: bytes, pixels: int) -> bool:
    """Whether `data` is a PNG or JPEG whose header declares at most `pixels` (a pixel of rounding
    allowed on each side), not animated."""
    size = png_size(data) if data.startswith(PNG_SIGNATURE) else jpeg_size(data)
    if size is None:
        return False
    width, height = size
    return width > 0 and height > 0 and (width - 1) * (height - 1) <= pixels
