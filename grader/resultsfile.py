"""Reading a class's results.json one student at a time.

`grader export`, `grader diff` and `grader merge` read whole classes. results.json holds every
student's full result (~60 KB each): parsed at once, 5,000 students would be gigabytes of Python
objects. The batch writes it as `{<head fields>,"results":[<result>,<result>,...]}`: `read_head`
reads the head fields, and `iter_results` decodes one result after another from a buffer refilled
in 1 MB chunks (`json.JSONDecoder.raw_decode`), so only one student's result is in memory at a
time. Any other layout of the same JSON (indented by hand, keys reordered) is read whole instead:
correct, only not streamed.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

from .results import Result

CHUNK = 1 << 20
HEAD_BYTES = 4096                    # the head fields lie within the first read, however small CHUNK is
HEAD = re.compile(r'\s*\{(?P<head>[^\[\]]*?)"results"\s*:\s*\[', re.S)
SEPARATORS = " \t\r\n,"


class ResultsFileError(ValueError):
    """The file is not a batch's results.json (missing, not JSON, cut short)."""


def read_head(path: str | os.PathLike) -> dict[str, Any]:
    """The head fields of a results.json (assignment, grader_version, case_set)."""
    path = Path(path)
    with _open(path) as fh:
        buffer = _read(path, fh, max(CHUNK, HEAD_BYTES))
    head = _head(buffer)
    # no field before "results": they may come after it (a file rewritten by another tool)
    return head[0] if head is not None and head[0] else _whole(path)[0]


def iter_results(path: str | os.PathLike) -> Iterator[Result]:
    """Every result of a results.json, one at a time (the file is open only while iterating)."""
    path = Path(path)
    with _open(path) as fh:
        buffer = _read(path, fh, max(CHUNK, HEAD_BYTES))
        head = _head(buffer)
        if head is None:
            yield from _whole(path)[1]
            return
        yield from _stream(path, fh, buffer, head[1])


def _open(path: Path):
    try:
        return open(path, encoding="utf-8")
    except FileNotFoundError:
        raise ResultsFileError(f"{path} does not exist: not a batch output") from None
    except OSError as exc:
        raise ResultsFileError(f"{path} cannot be read: {exc.strerror}") from None


def _read(path: Path, fh, size: int | None = None) -> str:
    try:
        return fh.read(size or CHUNK)
    except (UnicodeDecodeError, OSError) as exc:
        raise ResultsFileError(f"{path} cannot be read: {exc}") from None


def _head(buffer: str) -> tuple[dict[str, Any], int] | None:
    """The fields before "results" and where the list starts; None if the file is laid out otherwise."""
    m = HEAD.match(buffer)
    if m is None:
        return None
    try:
        value = json.loads("{" + m.group("head").strip().rstrip(",") + "}")
    except ValueError:
        return None
    return (value, m.end()) if isinstance(value, dict) else None


def _whole(path: Path) -> tuple[dict[str, Any], list[Result]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["results"]
        head = {k: v for k, v in data.items() if k != "results"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ResultsFileError(f"{path} is not a batch's results.json ({exc})") from None
    return head, [_result(path, e) for e in entries]


def _result(path: Path, entry: Any) -> Result:
    try:
        return Result.from_dict(entry)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ResultsFileError(f"{path} holds an entry that is not a result ({exc})") from None


def _stream(path: Path, fh, buffer: str, pos: int) -> Iterator[Result]:
    decoder = json.JSONDecoder()
    while True:
        while pos < len(buffer) and buffer[pos] in SEPARATORS:
            pos += 1
        if pos < len(buffer) and buffer[pos] == "]":
            return
        try:
            if pos >= len(buffer):
                raise ValueError("the buffer is used up")
            entry, end = decoder.raw_decode(buffer, pos)
        except ValueError:
            more = _read(path, fh)
            if not more:
                raise ResultsFileError(f"{path} is cut short or is not JSON") from None
            buffer, pos = buffer[pos:] + more, 0
            continue
        yield _result(path, entry)
        pos = end
