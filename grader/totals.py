"""One submission's totals, computed one way for every output that shows them.

    auto 71.56/100 + written 21/35 = 92.56/135

The auto-graded part comes from the questions; the written part is what a person has scored so
far; a late penalty (grader.late) is taken from their sum. The maximum always counts every written part (scored or not), so a class's totals are out of
the same number for everyone, before and after the TA scores are merged: the report's header, the
class view, grades.csv and the review page all read these numbers from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .results import Result

DECIMALS = 2      # how many decimals a person sees: the reports, the class view, the terminal, the export


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
        auto = f"auto {shown(self.auto)}/{shown(self.auto_max)}"
        if not self.written_parts:
            return auto + (f" − late {shown(self.penalty)} = {shown(self.total)}/{shown(self.max)}" if self.penalty else "")
        if self.written is None:
            written = f"written not yet scored (–/{shown(self.written_max)})"
        elif not self.complete:
            written = f"written {shown(self.written)}/{shown(self.written_max)} ({self.written_scored} of {self.written_parts} parts scored)"
        else:
            written = f"written {shown(self.written)}/{shown(self.written_max)}"
        late = f" − late {shown(self.penalty)}" if self.penalty else ""
        return f"{auto} + {written}{late} = {shown(self.total)}/{shown(self.max)}"


def totals(result: Result) -> Totals:
    scored = [w.score for w in result.written if w.score is not None]
    return Totals(auto=round(result.auto_score, 4),
                  auto_max=float(sum(q.max_score for q in result.questions)),
                  written=round(float(sum(scored)), 4) if scored else None,
                  written_max=float(sum(w.max_score for w in result.written)),
                  written_scored=len(scored),
                  written_parts=len(result.written),
                  penalty=float(result.late.points) if result.late is not None else 0.0)


def shown(value: float, decimals: int = DECIMALS) -> str:
    """`value` as every page, terminal line and gradebook export writes it: rounded half-up to
    `decimals` places from its shortest decimal text (so 0.625 -> "0.63" and 2.675 -> "2.68", as a
    person rounds; `f"{x:.2f}"` rounds the binary float half-even, "0.62" and "2.67", and a report
    then disagreed with the Canvas column by a cent), without trailing zeros."""
    quantum = Decimal(1).scaleb(-decimals)
    text = format(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def waiting_answers(result: Result) -> int:
    """Answered written parts (found in the hand-in) that no TA has scored yet: their points are in
    no total until a scores file is merged. The class view counts them and `grader export` warns of
    them, by this one rule."""
    return sum(1 for w in result.written if w.found and w.score is None)
