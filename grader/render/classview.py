"""The class view of a batch, as plain numbers: score statistics, per-question outcomes, mistake counts.

Kept apart from the HTML so that the numbers can be tested (and reused by other views) without
parsing markup, and so that the templates only loop and format. The chart geometry is computed here
too: an SVG bar is just four numbers, and computing them in Python keeps arithmetic out of Jinja.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from ..results import ERROR, GRADED, HIDDEN_MESSAGES, MISSING, NOT_RUN, PASSED, QuestionStatus, Result, Standing

HISTOGRAM_BINS = 10
FAILING_CASES_SHOWN = 3

# What a submission counts as in the class statistics: a `Standing` (grader.results). Only
# COUNTED ones enter the mean, the median, the histogram and the per-question numbers.
COUNTED, BLANK, UNGRADABLE = Standing.COUNTED, Standing.BLANK, Standing.UNGRADABLE
# A case "not attempted": the name is missing, not run, or it raised (a template's
# NotImplementedError). A submission is blank when nearly all its cases are so, it earned nothing
# and it has no written answer.
_NOT_ATTEMPTED = {ERROR, MISSING, NOT_RUN}
BLANK_SHARE = 0.9


def standing(result: Result) -> Standing:
    """COUNTED, BLANK or UNGRADABLE: where `result` goes in the class view (see above).

    Needs the result's written answers: call it before they are dropped.
    """
    if result.status != GRADED:
        return UNGRADABLE
    cases = [c for q in result.questions for c in q.cases]
    untried = sum(1 for c in cases if c.status in _NOT_ATTEMPTED)
    if result.auto_score == 0 and not any(w.found for w in result.written) and cases \
            and untried >= BLANK_SHARE * len(cases):
        return BLANK
    return COUNTED


def status_word(result: Result) -> str:
    """The status a gradebook row shows: the submission's, except that a blank one (the template
    handed in untouched) says "blank", as the class view does, not "graded" beside its 0."""
    return BLANK.value if result.status == GRADED and standing(result) == BLANK else result.status.value


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

    @property
    def centre(self) -> float:
        """Where the bar's labels are centred."""
        return round(self.x + self.width / 2, 2)

    @property
    def value_y(self) -> float:
        """The baseline of the count written above the bar."""
        return round(self.y - 5, 2)

    @property
    def empty(self) -> bool:
        return self.value == "0"


@dataclass(frozen=True)
class Segment:
    """One coloured part of a stacked horizontal bar (passed / partial / failed students)."""

    x: float
    width: float
    kind: QuestionStatus         # full marks (PASSED), PARTIAL, or none (FAILED)
    count: int
    colour: str = ""


@dataclass(frozen=True)
class FailingCase:
    """A case students fail: which, how many, the ways they failed it, and how many failed only it.

    `alone` is what tells an unfair case (a tolerance too tight, an input off the specification):
    students whose code is right on every other case of the question and wrong on this one."""

    label: str
    visibility: str
    students: int
    share: float                 # of the graded students who have this question
    mistake: str                 # the most common diagnosis on this case, or what happened to it in words
    mistakes: tuple[tuple[str, int], ...] = ()   # every diagnosis (or what happened), most common first
    alone: int = 0               # students for whom it is the question's only failing case


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
    failing_cases: list[FailingCase] = field(default_factory=list)       # every failing case, most failed first
    segments: list[Segment] = field(default_factory=list)

    @property
    def most_failed(self) -> list[FailingCase]:
        """The cases shown in the table's cell; the others (`more_failed`) are folded under it."""
        return self.failing_cases[:FAILING_CASES_SHOWN]

    @property
    def more_failed(self) -> list[FailingCase]:
        return self.failing_cases[FAILING_CASES_SHOWN:]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.students if self.students else 0.0


@dataclass(frozen=True)
class RateRow:
    """One question's row of the per-question chart: its stacked bar and where its texts go."""

    q: QuestionStats
    text_y: float                # baseline of the question id and of the "full" share
    bar_y: float                 # top of the track and of its segments
    text_colour: str             # readable on the segment under it (Geometry.share_colour)


@dataclass(frozen=True)
class Geometry:
    """The fixed parts of both charts (SVG user units), so that axes, tracks and bars agree."""

    hist_width: int = 560
    hist_height: int = 220
    hist_top: int = 20
    hist_bottom: int = 30        # room below the axis for the band labels
    hist_left: int = 36
    rate_width: int = 560
    rate_label: int = 92         # room left of the bars for the question id
    rate_row: int = 26
    bar_height: int = 18

    @property
    def hist_axis(self) -> int:
        return self.hist_height - self.hist_bottom

    @property
    def hist_label_y(self) -> int:
        return self.hist_axis + 16

    @property
    def rate_track(self) -> int:
        """The width of a question's bar (its track)."""
        return self.rate_width - self.rate_label - 8

    @property
    def rate_share_x(self) -> int:
        """Where the "NN% full" text ends."""
        return self.rate_width - 14

    def rate_height(self, rows: int) -> int:
        return rows * self.rate_row + 4

    def rate_row_at(self, index: int, q: "QuestionStats") -> RateRow:
        top = index * self.rate_row
        return RateRow(q, top + 17, top + 4, self.share_colour(q))

    def share_colour(self, q: "QuestionStats") -> str:
        """The colour of the 11 px "NN% full" text, for 4.5:1 against the segment it ends on (WCAG
        1.4.3): white on red, dark ink on green and yellow (white was 3.2:1 and 2.2:1 there),
        grey on the empty track."""
        under = next((s for s in q.segments if s.x <= self.rate_share_x - 1 <= s.x + s.width), None)
        if under is None:
            return "#59636e"
        return "#ffffff" if under.kind == QuestionStatus.FAILED else "#1f2328"


GEOMETRY = Geometry()


@dataclass(frozen=True)
class MistakeStats:
    """A diagnosed mistake and how many students made it."""

    question: str
    id: str
    students: int
    hint: str


@dataclass
class ClassView:
    count: int                     # graded submissions: the ones the statistics are over
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
    blank: int = 0
    total: int = 0                 # every submission, counted or not
    geometry: Geometry = GEOMETRY

    @property
    def apart(self) -> int:
        """Submissions listed but not in the statistics (blank, or not graded)."""
        return self.blank + self.unreadable

    @property
    def mixed_case_sets(self) -> bool:
        """Graded on more than one case set: the scores are not directly comparable."""
        return len(self.case_sets) > 1

    @property
    def rate_rows(self) -> list[RateRow]:
        return [self.geometry.rate_row_at(i, q) for i, q in enumerate(self.questions)]

    @property
    def rate_height(self) -> int:
        return self.geometry.rate_height(len(self.questions))


# Chart geometry (SVG user units). The histogram is a 10-bin column chart; the pass-rate chart is
# one stacked row per question.
HIST_WIDTH, HIST_HEIGHT, HIST_TOP, HIST_BOTTOM, HIST_LEFT = (GEOMETRY.hist_width, GEOMETRY.hist_height,
                                                             GEOMETRY.hist_top, GEOMETRY.hist_bottom, GEOMETRY.hist_left)
RATE_WIDTH, RATE_LABEL, RATE_ROW = GEOMETRY.rate_width, GEOMETRY.rate_label, GEOMETRY.rate_row
SEGMENT_COLOURS = {QuestionStatus.PASSED: "#2da44e", QuestionStatus.PARTIAL: "#d4a72c", QuestionStatus.FAILED: "#cf222e"}


def question_order(results: list[Result]) -> list[tuple[str, str, float]]:
    """(id, title, max score) of every question, in the order in which results first list them."""
    seen: dict[str, tuple[str, str, float]] = {}
    for result in results:
        for q in result.questions:
            seen.setdefault(q.id, (q.id, q.title, q.max_score))
    return list(seen.values())


def build(results: list[Result], standings: dict[str, Standing] | None = None) -> ClassView:
    """The class view. `standings` (submission -> `standing()`) picks the results the statistics are
    over; without it every result counts (results known to be graded)."""
    standings = standings or {}
    everyone = results
    results = [r for r in everyone if standings.get(r.submission, COUNTED if r.status == GRADED else UNGRADABLE) == COUNTED]
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
        unreadable=sum(1 for r in everyone if standings.get(r.submission, UNGRADABLE if r.status != GRADED else COUNTED)
                       == UNGRADABLE),
        case_sets=sorted({r.case_set for r in results if r.case_set}),
        histogram=histogram(scores, max_score),
        questions=questions,
        mistakes=_mistakes(results),
        blank=sum(1 for r in everyone if standings.get(r.submission) == BLANK),
        total=len(everyone),
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
    failing: Counter[str] = Counter()                    # case uid -> students failing it
    labels: dict[str, tuple[str, str]] = {}
    case_mistakes: dict[str, Counter[str]] = {}
    alone: Counter[str] = Counter()                      # case uid -> students failing only it
    total = 0.0
    for result in results:
        q = next((q for q in result.questions if q.id == qid), None)
        if q is None:
            continue
        stats.students += 1
        total += q.score
        if q.status == QuestionStatus.PASSED:
            stats.passed += 1
        elif q.status == QuestionStatus.PARTIAL:
            stats.partial += 1
        else:
            stats.failed += 1
        statuses.update(c.status for c in q.cases if c.status != PASSED)
        mistakes.update(set(q.diagnosis))
        hidden_number = 0
        failed_here = [case.uid for case in q.cases if case.status != PASSED]
        if len(failed_here) == 1:
            alone[failed_here[0]] += 1
        for case in q.cases:
            hidden_number += case.visibility == "hidden"
            if case.status != PASSED:
                failing[case.uid] += 1
                # hidden cases carry no label for students; staff name them by their place
                label = case.label or (f"hidden case {hidden_number}" if case.visibility == "hidden" else case.uid)
                labels.setdefault(case.uid, (label, case.visibility))
                # no diagnosis: what happened, in the words a hidden case's failure gets (never a status code)
                case_mistakes.setdefault(case.uid, Counter()).update(
                    case.diagnosis or [HIDDEN_MESSAGES.get(case.status, str(case.status))])
    stats.mean = total / stats.students if stats.students else 0.0
    stats.case_statuses = statuses.most_common()
    stats.mistakes = mistakes.most_common()
    stats.failing_cases = [
        FailingCase(labels[uid][0], labels[uid][1], n, n / stats.students if stats.students else 0.0,
                    case_mistakes[uid].most_common(1)[0][0] if case_mistakes.get(uid) else "",
                    tuple(case_mistakes[uid].most_common()) if case_mistakes.get(uid) else (), alone[uid])
        for uid, n in sorted(failing.items(), key=lambda kv: (-kv[1], kv[0]))]
    stats.segments = _segments(stats)
    return stats


def _segments(stats: QuestionStats) -> list[Segment]:
    width = RATE_WIDTH - RATE_LABEL - 8
    segments, x = [], float(RATE_LABEL)
    for kind, count in ((QuestionStatus.PASSED, stats.passed), (QuestionStatus.PARTIAL, stats.partial),
                        (QuestionStatus.FAILED, stats.failed)):
        if count and stats.students:
            w = width * count / stats.students
            segments.append(Segment(round(x, 2), round(w, 2), kind, count, SEGMENT_COLOURS[kind]))
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
