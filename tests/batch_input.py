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
