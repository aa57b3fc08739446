"""The class view of a batch, as plain numbers: score statistics, per-question outcomes, mistake counts.

Kept apart from the HTML so that the numbers can be tested (and reused by other views) without
parsing markup, and so that the templates only loop and format. The chart geometry is computed here
too: an SVG bar is just four numbers, and computing them in Python keeps arithmetic out of Jinja.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from ..results import PASSED, UNREADABLE, Result

HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class Bar:
    """One rectangle of a chart, in SVG user units, with the text that labels it."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    tooltip: str


@dataclass(frozen=True)
class Segment:
    """One coloured part of a stacked horizontal bar (passed / partial / failed students)."""

    x: float
    width: float
    kind: str
    count: int


@dataclass
class QuestionStats:
    """How the class did on one question."""

    id: str
    title: str
    max_score: float
    students: int = 0
    mean: float = 0.0
    passed: int = 0            # students with full marks
    partial: int = 0
    failed: int = 0            # students with no marks
    case_statuses: list[tuple[str, int]] = field(default_factory=list)   # non-passing case outcomes
    mistakes: list[tuple[str, int]] = field(default_factory=list)        # diagnosis id -> students
    segments: list[Segment] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.students if self.students else 0.0


@dataclass(frozen=True)
class MistakeStats:
    """A diagnosed mistake and how many students made it."""

    question: str
    id: str
    students: int
    hint: str


@dataclass
class ClassView:
    count: int
    max_score: float
    mean: float | None
    median: float | None
    lowest: float | None
    highest: float | None
    unreadable: int
    case_sets: list[str]
    histogram: list[Bar]
    questions: list[QuestionStats]
    mistakes: list[MistakeStats]


# Chart geometry (SVG user units). The histogram is a 10-bin column chart; the pass-rate chart is
# one stacked row per question.
HIST_WIDTH, HIST_HEIGHT, HIST_TOP, HIST_BOTTOM, HIST_LEFT = 560, 220, 20, 30, 36
RATE_WIDTH, RATE_LABEL, RATE_ROW = 560, 92, 26


def question_order(results: list[Result]) -> list[tuple[str, str, float]]:
    """(id, title, max score) of every question, in the order in which results first list them."""
    seen: dict[str, tuple[str, str, float]] = {}
    for result in results:
        for q in result.questions:
            seen.setdefault(q.id, (q.id, q.title, q.max_score))
    return list(seen.values())


def build(results: list[Result]) -> ClassView:
    scores = [r.score for r in results]
    max_score = max((r.max_score for r in results), default=0.0)
    questions = [_question_stats(qid, title, top, results) for qid, title, top in question_order(results)]
    return ClassView(
        count=len(results),
        max_score=max_score,
        mean=statistics.fmean(scores) if scores else None,
        median=statistics.median(scores) if scores else None,
        lowest=min(scores) if scores else None,
        highest=max(scores) if scores else None,
        unreadable=sum(1 for r in results if r.status == UNREADABLE),
        case_sets=sorted({r.case_set for r in results if r.case_set}),
        histogram=histogram(scores, max_score),
        questions=questions,
        mistakes=_mistakes(results),
    )


def histogram(scores: list[float], max_score: float, bins: int = HISTOGRAM_BINS) -> list[Bar]:
    """Column bars for the share of `max_score` reached; a full score falls in the last bin."""
    counts = [0] * bins
    for score in scores:
        share = score / max_score if max_score > 0 else 0.0
        counts[min(bins - 1, max(0, int(share * bins)))] += 1
    tallest = max(counts, default=0) or 1
    plot_height = HIST_HEIGHT - HIST_TOP - HIST_BOTTOM
    slot = (HIST_WIDTH - HIST_LEFT) / bins
    bars = []
    for i, count in enumerate(counts):
        height = plot_height * count / tallest
        low, high = 100 * i // bins, 100 * (i + 1) // bins
        bars.append(Bar(x=round(HIST_LEFT + i * slot + 3, 2), y=round(HIST_TOP + plot_height - height, 2),
                        width=round(slot - 6, 2), height=round(height, 2), label=f"{low}–{high}",
                        value=str(count),
                        tooltip=f"{count} student{'s' if count != 1 else ''} scored {low}–{high}%"))
    return bars


def _question_stats(qid: str, title: str, top: float, results: list[Result]) -> QuestionStats:
    stats = QuestionStats(qid, title, top)
    statuses: Counter[str] = Counter()
    mistakes: Counter[str] = Counter()
    total = 0.0
    for result in results:
        q = next((q for q in result.questions if q.id == qid), None)
        if q is None:
            continue
        stats.students += 1
        total += q.score
        if q.status == "passed":
            stats.passed += 1
        elif q.status == "partial":
            stats.partial += 1
        else:
            stats.failed += 1
        statuses.update(c.status for c in q.cases if c.status != PASSED)
        mistakes.update(set(q.diagnosis))
    stats.mean = total / stats.students if stats.students else 0.0
    stats.case_statuses = statuses.most_common()
    stats.mistakes = mistakes.most_common()
    stats.segments = _segments(stats)
    return stats


def _segments(stats: QuestionStats) -> list[Segment]:
    width = RATE_WIDTH - RATE_LABEL - 8
    segments, x = [], float(RATE_LABEL)
    for kind, count in (("passed", stats.passed), ("partial", stats.partial), ("failed", stats.failed)):
        if count and stats.students:
            w = width * count / stats.students
            segments.append(Segment(round(x, 2), round(w, 2), kind, count))
            x += w
    return segments


def _mistakes(results: list[Result]) -> list[MistakeStats]:
    students: Counter[tuple[str, str]] = Counter()
    hints: dict[tuple[str, str], str] = {}
    for result in results:
        for q in result.questions:
            for mistake in set(q.diagnosis):
                students[(q.id, mistake)] += 1
            for hint in q.hints:
                hints.setdefault((q.id, hint.id), hint.hint)
    return [MistakeStats(qid, mid, n, hints.get((qid, mid), ""))
            for (qid, mid), n in sorted(students.items(), key=lambda kv: (-kv[1], kv[0]))]
