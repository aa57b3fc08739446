"""One submission's totals, computed one way for every output that shows them.

    auto 71.56/100 + written 21/35 = 92.56/135

The auto-graded part comes from the questions; the written part is what a person has scored so
far; a late penalty (grader.late) is taken from their sum. The maximum always counts every written part (scored or not), so a class's totals are out of
the same number for everyone, before and after the TA scores are merged: the report's header, the
class view, grades.csv and the review page all read these numbers from here.
"""
from __future__ import annotations

from dataclasses import dataclass

from .results import Result


@dataclass(frozen=True)
class Totals:
    auto: float
    auto_max: float
    written: float | None          # None: no written part scored yet
    written_max: float
    written_scored: int            # how many written parts have a score
    written_parts: int
    penalty: float = 0.0           # the late penalty taken (grader.late), in points

    @property
    def total(self) -> float:
        return round(max(0.0, self.auto + (self.written or 0.0) - self.penalty), 4)

    @property
    def max(self) -> float:
        return round(self.auto_max + self.written_max, 4)

    @property
    def complete(self) -> bool:
        """Whether every written part has been scored (the total is final)."""
        return self.written_scored == self.written_parts

    def line(self) -> str:
        """The breakdown as one line of text, e.g. "auto 71.56/100 + written 21/35 = 92.56/135"."""
        auto = f"auto {_n(self.auto)}/{_n(self.auto_max)}"
        if not self.written_parts:
            return auto + (f" − late {_n(self.penalty)} = {_n(self.total)}/{_n(self.max)}" if self.penalty else "")
        if self.written is None:
            written = f"written not yet scored (–/{_n(self.written_max)})"
        elif not self.complete:
            written = f"written {_n(self.written)}/{_n(self.written_max)} ({self.written_scored} of {self.written_parts} parts scored)"
        else:
            written = f"written {_n(self.written)}/{_n(self.written_max)}"
        late = f" − late {_n(self.penalty)}" if self.penalty else ""
        return f"{auto} + {written}{late} = {_n(self.total)}/{_n(self.max)}"


def totals(result: Result) -> Totals:
    scored = [w.score for w in result.written if w.score is not None]
    return Totals(auto=round(result.auto_score, 4),
                  auto_max=float(sum(q.max_score for q in result.questions)),
                  written=round(float(sum(scored)), 4) if scored else None,
                  written_max=float(sum(w.max_score for w in result.written)),
                  written_scored=len(scored),
                  written_parts=len(result.written),
                  penalty=float(result.late.points) if result.late is not None else 0.0)


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
