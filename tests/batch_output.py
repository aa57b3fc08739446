"""Finding a student's files in a batch's output folder (OUT/students/<...>/), for the tests."""
from __future__ import annotations

from pathlib import Path


def student_folder(out: Path, name: str) -> Path:
    """The folder of reports (OUT/students/<...>/, see grader.batch.student_dir) of the student whose
    display name is `name` in a batch's OUT, found by what their result.json says."""
    import json

    found = []
    for folder in (Path(out) / "students").iterdir():
        try:
            if json.loads((folder / "result.json").read_text(encoding="utf-8"))["submission"] == name:
                found.append(folder)
        except (OSError, ValueError, KeyError):
            continue
    assert len(found) == 1, f"{name}: {found}"
    return found[0]
