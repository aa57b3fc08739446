"""An unfinished batch says so, first, in every class file.

While a batch runs, after Ctrl-C, or after a crash or `kill -9`, the class files hold only the
submissions graded so far. Taken for the whole class, they are one upload away from a wrong
gradebook, so each says it in its first line or heading:

    summary.html   a heading "36 of 40 not graded yet" above everything else
    grades.csv     a first line "# INCOMPLETE: 36 of 40 submissions not graded yet; ..."
    results.json   a first key "incomplete": {"not_graded": 36, "total": 40, "message": ...}

A run that grades everyone writes them again without it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Incomplete:
    not_graded: int
    total: int

    def headline(self) -> str:
        """The summary page's first heading."""
        return f"{self.not_graded} of {self.total} not graded yet"

    def message(self) -> str:
        return (f"{self.headline()}: this batch is running, was interrupted or crashed; run the same command "
                "again to finish it")

    def csv_line(self) -> str:
        return f"# INCOMPLETE: {self.not_graded} of {self.total} submissions not graded yet; run the batch again to finish\r\n"

    def to_dict(self) -> dict:
        return {"not_graded": self.not_graded, "total": self.total, "message": self.message()}
