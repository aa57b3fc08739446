"""Self-contained HTML reports: one page per submission (`report`) and the class view (`summary`).

Both are pure functions of `Result` objects and return a complete document with its CSS inline: no
scripts, no web fonts, no CDN, so a report opens the same from a laptop, an LMS upload or an e-mail.

Every string that came from a submission is hostile until shown otherwise. Two layers keep it inert:
`_sanitised` strips ANSI escapes and control characters from a copy of the result (the pipeline already
does, but renderers also receive hand-built or JSON-loaded results), and Jinja2's autoescape escapes
every value placed in the page. The templates never use `|safe`.
"""
from __future__ import annotations

import dataclasses
import math
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import jinja2
import markupsafe

from ..results import (ATOMS, MODULE, NOT_RUN, PASSED, STATUS_TYPES, UNREADABLE, CaseResult, CaseStatus, CellStatus,
                       QuestionResult, QuestionStatus, Result, Standing, field_names)
from ..slim import StandIn, stand_in
from ..text import clean
from ..totals import Totals, shown, totals, waiting_answers
from . import classview, richtext, scripts

TEMPLATE_PACKAGE = "grader.templates"
TEXT_LIMIT = 20000          # the pipeline bounds outputs at 20000 characters; nothing here needs more
NAME_LIMIT = 300


# ----------------------------------------------------------------------------------------------
# Templates


def template_dir() -> Path | None:
    """`templates/` beside the `grader/` package in a checkout, or None when running installed.

    A checkout is recognised by its pyproject.toml, so that an unrelated top-level `templates/`
    folder in site-packages is never mistaken for ours.
    """
    root = Path(__file__).resolve().parent.parent.parent
    candidate = root / "templates"
    return candidate if (candidate / "report.html").is_file() and (root / "pyproject.toml").is_file() else None


def loader(local: Path | None, package: str = TEMPLATE_PACKAGE) -> jinja2.BaseLoader:
    """Templates from the folder `local` (a checkout's `templates/`) or, without one, from `package`.

    Installed, `templates/` is shipped as the package `grader.templates` (see pyproject.toml), which
    may live in a zip or wheel cache: `importlib.resources` reads it wherever it is.
    """
    if local is not None:
        return jinja2.FileSystemLoader(str(local))
    root = resources.files(package)

    def load(name: str) -> str | None:
        item = root.joinpath(name)
        return item.read_text(encoding="utf-8") if item.is_file() else None

    return jinja2.FunctionLoader(load)


def make_environment(template_loader: jinja2.BaseLoader,
                     bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """A Jinja2 environment that autoescapes everything and fails loudly on a misspelt name."""
    env = jinja2.Environment(loader=template_loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             bytecode_cache=bytecode_cache)
    env.filters["points"] = points
    env.filters["percent"] = percent
    env.filters["slug"] = slug
    env.filters["bar_width"] = bar_width
    env.filters["plural"] = plural
    from .scripts import csp

    env.globals["csp"] = csp
    # The status enums, so that a template compares with `CaseStatus.PASSED`, never with a literal.
    env.globals.update({kind.__name__: kind for kind in STATUS_TYPES})
    env.globals["case_blocks"] = CaseBlocks(env)
    return env


# A case's block in a question's list of cases, as the templates indented it when they drew each
# case with its own `{{ }}`: a question's blocks are now joined here, one call per question
# instead of one Jinja2 call and escape per case (~190 on an instructor page).
CASE_LINE = "  {}\n"


class CaseBlocks:
    """Each case's block of a report or an instructor page (and a question's hidden-case chips),
    drawn once per distinct case in a run.

    A class's students mostly pass the same cases with the same values, and drawing the cases'
    blocks was most of the time spent on those two pages (~9 ms of ~11 a student). A block is
    drawn by a macro of cases.html from exactly the values passed to it here, and is kept under
    those same values: two cases share a block only if they would draw it alike, and a block
    can depend on nothing else. The table belongs to its environment (a run's, made by the
    caller), and is emptied when full: full is LIMIT blocks, or CHARS characters of blocks (a
    block shows up to ~60,000 characters of a student's answers; a typical one ~1,500), so that a
    class of huge, all different answers costs the writer a few megabytes, not a hundred. Pages
    are the same with or without it.
    """

    LIMIT = 2048
    CHARS = 2_000_000

    def __init__(self, env: jinja2.Environment):
        self._env = env
        self._macros: Any = None
        self._blocks: dict[tuple, Any] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def public(self, case: CaseResult) -> Any:
        """A report's public case (the student sees it)."""
        return self._block("public_case", (case.status, case.label, tuple(case.diagnosis), case.message,
                                           tuple((case.inputs or {}).items()), case.expected, case.got,
                                           case.tolerance))

    def hidden(self, cases: list[CaseResult]) -> Any:
        """A report's chips for a question's hidden cases (each one's status and label, nothing else)."""
        return self._block("hidden_chips", (tuple((case.status, case.label) for case in cases),))

    def staff(self, case: Any) -> Any:
        """An instructor page's case (a `grader.render.instructor.CaseView`)."""
        return self._block("staff_case", self._staff_values(case))

    def staff_json(self, case: Any, encode: Callable[[Any], str]) -> str:
        """An instructor JSON's case: `encode(case)`, its JSON text, kept under every value the
        case holds (those of its block on the page), so that a case alike for many students (a
        hidden case's inputs and expected value, passed) is encoded once in a run."""
        return self._block("staff_json", self._staff_values(case), lambda: encode(case))

    @staticmethod
    def _staff_values(case: Any) -> tuple:
        return (case.uid, case.visibility, case.label, case.status, case.passed, tuple(case.diagnosis),
                case.message, tuple(case.inputs.items()), case.expected, case.got)

    def staff_all(self, cases: list) -> Any:
        """Every case of an instructor page's question, each block on its own line (`CASE_LINE`)."""
        return markupsafe.Markup("".join([CASE_LINE.format(self.staff(case)) for case in cases]))

    def public_all(self, cases: list[CaseResult]) -> Any:
        """Every public case of a report's question, each block on its own line (`CASE_LINE`)."""
        return markupsafe.Markup("".join([CASE_LINE.format(self.public(case)) for case in cases]))

    def __len__(self) -> int:
        return len(self._blocks)

    def _block(self, macro: str, values: tuple, make: Callable[[], Any] | None = None) -> Any:
        """The block kept under `(macro, *values)`, else made (`make()`, by default the macro of
        cases.html called with `values`) and kept."""
        key = (macro, *values)
        try:
            block = self._blocks.get(key)
        except TypeError:       # a value that cannot be a key (a list, in a result read from a hand-made file)
            return make() if make is not None else self._draw(macro, values)
        if block is None:
            block = make() if make is not None else self._draw(macro, values)
            with self._lock:
                if len(self._blocks) >= self.LIMIT or self._chars + len(block) > self.CHARS:
                    self._blocks.clear()
                    self._chars = 0
                if len(block) <= self.CHARS:
                    self._blocks[key] = block
                    self._chars += len(block)
        return block

    def _draw(self, macro: str, values: tuple) -> Any:
        if self._macros is None:
            self._macros = self._env.get_template("cases.html").module
        return getattr(self._macros, macro)(*values)

    @property
    def chars(self) -> int:
        """The characters of the blocks kept."""
        return self._chars


def environment() -> jinja2.Environment:
    """A new environment for the project's templates (a checkout's, or the installed package's).

    The parsed templates live as long as the environment: a caller that renders many pages (a
    batch: a report per student) makes one and passes it to every render function, so that each
    template is parsed once per run. Nothing is kept here between calls; a render function given
    no environment makes its own (Jinja2's bytecode cache on disk keeps that cheap).
    """
    return make_environment(loader(template_dir()), bytecode_cache())


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja2's own cache of compiled templates, kept between runs; None where it cannot be had.

    Compiling the templates cost every batch ~45 ms, loading them compiled ~1.5 ms. The cache
    lives in Jinja2's default place, a directory of this user's under the temporary directory,
    which Jinja2 refuses to use (RuntimeError) unless it is a real directory owned by this user
    and closed to everyone else: nobody else can plant compiled code in it. Entries are keyed by
    each template's source, so an edited template is compiled afresh.
    """
    try:
        return jinja2.FileSystemBytecodeCache()
    except (RuntimeError, OSError):
        return None


# ----------------------------------------------------------------------------------------------
# Formatting helpers (also used as template filters)


def points(value: float | None) -> str:
    """A score as people write it: 7.5, 10, 3.13 — at most two decimals, no trailing zeros."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return shown(value)


def percent(fraction: float | None) -> str:
    if fraction is None or not math.isfinite(fraction):
        return "–"
    return f"{100 * fraction:.0f}%"


def plural(items) -> str:
    """"s" after a noun counting `items` (a number or a collection) when there are several."""
    count = items if isinstance(items, (int, float)) else len(items)
    return "s" if count > 1 else ""


def bar_width(fraction: float | None) -> str:
    """The CSS width of a bar filled to `fraction` of its track (a filter, so that templates do no arithmetic)."""
    if fraction is None or not math.isfinite(fraction):
        fraction = 0.0
    return f"{100 * fraction:.1f}%"


def slug(text: str) -> str:
    """A string safe to use as an HTML id or fragment (question ids are data, not markup)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "x"


def safe_link(path: str) -> str:
    """A relative file path as a link that cannot be read as a `javascript:` (or any other) URL.

    Batch links are built from submission file names, and a student can name a file
    `javascript:alert(1).ipynb`, `a#b.ipynb` or `50%.ipynb`. Every character but `/` and the
    unreserved ones is percent-encoded (so `:`, `#`, `?` and `%` stay part of the file name), and a
    path that would still start like a scheme or a network location is made explicitly relative.
    """
    path = clean(path, 1000).replace("\n", "").strip()
    if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", path) or path.startswith("//"):
        path = "./" + path
    return quote(path, safe="/-._~")


# ----------------------------------------------------------------------------------------------
# Sanitising


def _clean_copy(value: Any, limit: int) -> Any:
    """A copy of a Result's tree (dataclasses, lists, dicts) with every string cleaned; one pass,
    dispatching on the exact type (this runs over every case of every report)."""
    kind = type(value)
    if kind is str:
        return clean(value, limit)
    if kind in ATOMS or kind is StandIn:      # a shared stand-in holds no submission text (grader.slim)
        return value
    if kind is list:
        return [_clean_copy(v, limit) for v in value]
    if kind is dict:
        return {clean(str(k), NAME_LIMIT): _clean_copy(v, limit) for k, v in value.items()}
    names = field_names(kind)
    if names is not None:
        return kind(**{name: _clean_copy(getattr(value, name), limit) for name in names})
    if isinstance(value, str):
        return clean(value, limit)
    if isinstance(value, list):
        return [_clean_copy(v, limit) for v in value]
    if isinstance(value, dict):
        return {clean(str(k), NAME_LIMIT): _clean_copy(v, limit) for k, v in value.items()}
    return value


def _sanitised(result: Result) -> Result:
    """A copy of `result` with every string stripped of control characters and bounded in length."""
    copy = _clean_copy(result, TEXT_LIMIT)
    copy.submission = clean(result.submission, NAME_LIMIT).replace("\n", " ")
    return copy


# ----------------------------------------------------------------------------------------------
# The per-submission report


@dataclass(frozen=True)
class QuestionView:
    """A question with the counts the report shows, so that the template only formats."""

    q: QuestionResult
    public: list[CaseResult]
    hidden: list[CaseResult]
    public_passed: int
    hidden_passed: int

    @property
    def fraction(self) -> float:
        return self.q.score / self.q.max_score if self.q.max_score else 0.0


@dataclass(frozen=True)
class ToFix:
    """A question that lost points, as the report's "What to fix first" list names it."""

    view: QuestionView
    lost: float

    @property
    def q(self) -> QuestionResult:
        return self.view.q


def to_fix(questions: list[QuestionView]) -> list[ToFix]:
    """The questions that lost points, the most points first (then in the assignment's order): on a
    phone the report's table hides its status and diagnosis columns to the right, and the failing
    questions lie among the passing ones, screens down."""
    lost = [ToFix(v, v.q.max_score - v.q.score) for v in questions if v.q.max_score and v.q.score < v.q.max_score - 1e-9]
    return sorted(lost, key=lambda item: -item.lost)


def _question_view(q: QuestionResult) -> QuestionView:
    public, hidden = q.public, q.hidden
    return QuestionView(q, public, hidden, sum(c.status == PASSED for c in public),
                        sum(c.status == PASSED for c in hidden))


FULL_MARKS = 0.999       # a share of the maximum shown as full marks (rounding of the written parts' points)


def standing_of(fraction: float) -> QuestionStatus:
    """How a score's share of the maximum is shown (the colour of the total's bar): full, partial or none."""
    if fraction >= FULL_MARKS:
        return QuestionStatus.PASSED
    return QuestionStatus.PARTIAL if fraction > 0 else QuestionStatus.FAILED


def report(result: Result, env: jinja2.Environment | None = None, work_href: str | None = None) -> str:
    """The per-student report: score, problems, every question with its cases, execution, written parts.

    `work_href`: the page showing the work as graded (a relative file path), linked when given.
    """
    result = _sanitised(result)
    # One set of totals for every output (grader.totals): auto + written = total, out of a maximum
    # that counts every written part, scored or not.
    sums = totals(result)
    result.score, result.max_score = sums.total, sums.max
    fraction = result.score / result.max_score if result.max_score else 0.0
    questions = [_question_view(q) for q in result.questions]
    stated = [v for v in questions if any(c.status != NOT_RUN for c in v.q.cases)]
    failed_cells = [c for c in result.cells if c.status != CellStatus.OK]
    return (env or environment()).get_template("report.html").render(
        result=result,
        problems=[p for p in result.problems if not p.for_staff],    # the set-up's are staff's (summary)
        questions=questions,
        failed_cells=failed_cells,
        to_fix=[] if result.status == UNREADABLE or is_written_only(result) else to_fix(questions),
        module=result.kind == MODULE,
        unreadable=result.status == UNREADABLE,
        self_check=result.visibility == "public",
        fraction=fraction,
        overall=standing_of(fraction),
        totals=sums,
        work_href=safe_link(work_href) if work_href else None,
        written_only=is_written_only(result),
        stated=stated,
        unstated=[v for v in questions if v not in stated],
        written_html={w.id: richtext.render(w.text) for w in result.written},
        title=f"{result.submission} — {result.assignment or 'grading report'}",
    )


def is_written_only(result: Result) -> bool:
    """A hand-in of written answers alone (a .md/.txt write-up): no code ran, answers were read
    from the text. Its report shows the answers it states, not every case as "not run"."""
    return result.status != UNREADABLE and not result.cells and result.isolation.startswith("not run (written")


# ----------------------------------------------------------------------------------------------
# The class summary


@dataclass(frozen=True, slots=True)
class ClassFigures:
    """What the class statistics (grader.render.classview.build) read of a row's sanitised result,
    and nothing else: a few hundred bytes a student, its questions shared with the rows."""

    submission: str
    status: str
    score: float
    max_score: float
    questions: list[QuestionResult]
    case_set: str
    assignment: str
    grader_version: str

    @classmethod
    def of(cls, result: Result) -> "ClassFigures":
        return cls(result.submission, result.status, result.score, result.max_score, result.questions,
                   result.case_set, result.assignment, result.grader_version)


@dataclass(frozen=True)
class StudentRow:
    result: Result
    href: str | None
    scores: dict[str, QuestionResult]
    standing: Standing = Standing.COUNTED  # counted in the statistics, blank, or unreadable
    staff_href: str | None = None          # the instructor-only view of this submission
    sums: Totals | None = None             # its totals (grader.totals): the written column shows their written part
    waiting: int = 0                       # answered written parts with no TA score yet (`waiting_answers`)

    @property
    def written_note(self) -> str:
        """The written cell's tooltip: how many parts a TA has scored (the total is final once all are)."""
        if self.sums is None or not self.sums.written_parts:
            return "no written part in this hand-in"
        return f"{self.sums.written_scored} of {self.sums.written_parts} written parts scored"

    @property
    def full(self) -> bool:
        return bool(self.result.max_score) and self.result.score >= self.result.max_score - 1e-9

    @property
    def counted(self) -> bool:
        return self.standing == Standing.COUNTED

    @property
    def tags(self) -> str:
        """What the table's filter (table.js, FILTERS) matches this row by."""
        group = self.standing.value if self.standing != Standing.UNGRADABLE else NOT_GRADED
        return " ".join([group, "full" if self.full else "not-full"] + [tag for tag, _, _ in self.flags])

    @property
    def flags(self) -> list[tuple[str, str, str]]:
        """What a TA must still do or know about this row, as (tag, words, detail): the row shows
        the words (the detail as their tooltip), the filter and the count above the table the tag."""
        found = []
        if self.waiting and self.counted:
            found.append((TO_SCORE, f"{self.waiting} written to score",
                          "answered written parts with no TA score yet: score them on review.html"))
        late = self.result.late
        if late is not None or (self.result.student is not None and self.result.student.late):
            words = f"late −{points(late.percent)}%" if late is not None and late.percent else "late"
            found.append((LATE, words, late.note or f"handed in {late.submitted_at}, due {late.due}"
                          if late is not None else "the LMS marks this hand-in late"))
        if self.result.regrade is not None:
            moved = "; ".join(f"{i.item}: {points(i.old)} → {points(i.new)}" for i in self.result.regrade.items)
            found.append((CHANGED, "score changed", f"graded again on {self.result.regrade.when}: {moved}"))
        return found

    @property
    def shown(self) -> str:
        """The status word in the table: the standing, or why it could not be graded."""
        return self.result.status.value if self.standing == Standing.UNGRADABLE else self.standing.value

    @property
    def badge(self) -> str:
        """The badge's CSS classes: coloured by the submission's status, a blank one greyed."""
        grey = f" s-{CaseStatus.NOT_RUN.value}" if self.standing == Standing.BLANK else ""
        return f"s-{self.result.status.value}{grey}"


NOT_GRADED = "not-graded"
# What a TA must act on, by the tag a row carries (`StudentRow.flags`): the count above the table,
# the row's flag and the filter say each in these words, so the three never disagree.
TO_SCORE, LATE, CHANGED = "to-score", "late", "changed"
ATTENTION = ((TO_SCORE, "with written answers to score"), (LATE, "late"), (NOT_GRADED, "not graded"),
             (CHANGED, "with a changed score"))
# The student table's filter: (value matched against a row's tags, label).
FILTERS = (("", "everyone"), (Standing.COUNTED.value, Standing.COUNTED.value), (Standing.BLANK.value, Standing.BLANK.value),
           (NOT_GRADED, "not graded"), ("full", "full marks"), ("not-full", "not full marks"),
           *((tag, words.removeprefix("with ")) for tag, words in ATTENTION if tag != NOT_GRADED))


# Status by text and icon, never by colour alone (and the same words everywhere).
STANDING_MARKS = {Standing.COUNTED: ("✓", Standing.COUNTED.value), Standing.BLANK: ("○", "blank (nothing attempted)"),
                  Standing.UNGRADABLE: ("✗", "not graded")}
QUESTION_MARKS = {QuestionStatus.PASSED: "✓", QuestionStatus.PARTIAL: "◐", QuestionStatus.FAILED: "✗"}


def summary(results: list[Result], links: dict[str, str] | list[str | None] | None = None,
            env: jinja2.Environment | None = None, incomplete: str | None = None,
            staff_links: dict[str, str] | list[str | None] | None = None,
            staff_pages: list[tuple[str, str]] = ()) -> str:
    """The class view: statistics, charts, common failures and mistakes, and a table of every student.

    `links`: the path of each result's report, relative to the summary page (a file path, not a
    URL: it is percent-encoded here), as a list aligned with `results` or a dict keyed by
    `Result.submission`. `incomplete`: the
    message of an unfinished batch (grader.batchstate), shown as the page's first heading.
    `staff_links`: like `links`, to each submission's instructor-only view. `staff_pages`: (label,
    path) of the class's other pages for staff (review, similarity).
    """
    return "".join(summary_chunks(results, links, env, incomplete, staff_links, staff_pages))


def summary_chunks(results: list[Result], links: dict[str, str] | list[str | None] | None = None,
                   env: jinja2.Environment | None = None, incomplete: str | None = None,
                   staff_links: dict[str, str] | list[str | None] | None = None,
                   staff_pages: list[tuple[str, str]] = ()) -> Iterator[str]:
    """`summary` in pieces, as Jinja2 generates them: a batch writes them to the file as they come,
    so a large class's page is never held whole (nor the list of its fragments)."""
    links, staff_links = aligned(links, results), aligned(staff_links, results)
    order = sorted(range(len(results)), key=lambda i: results[i].submission.lower())
    shared: dict = {}

    def row(i: int) -> StudentRow:
        raw, href, staff = results[i], links[i], staff_links[i]
        result = _class_view_of(raw, shared)
        return StudentRow(result, safe_link(href) if href else None, {q.id: q for q in result.questions},
                          classview.standing(raw), safe_link(staff) if staff else None, totals(raw),
                          waiting_answers(raw))

    # The statistics come before the table: one pass keeps of each row only what they are over
    # (`ClassFigures`), the table's pass makes each row again as the page reaches it, so a large
    # class's rows (a sanitised copy of every result) are never all held at once.
    figures, standings, with_written = [], {}, False
    needing = dict.fromkeys((tag for tag, _ in ATTENTION), 0)
    notices = setup_notices(results)
    for i in order:
        made = row(i)
        figures.append(ClassFigures.of(made.result))
        standings[made.result.submission] = made.standing
        with_written = with_written or bool(made.sums.written_parts)
        for tag in made.tags.split():
            if tag in needing:
                needing[tag] += 1
        del made
    view = classview.build(figures, standings)
    question_ids = [qid for qid, _, _ in classview.question_order(figures)]
    assignment = next((r.assignment for r in figures if r.assignment), "")
    versions = sorted({r.grader_version for r in figures if r.grader_version})
    rows = (row(i) for i in order)
    env = env or environment()
    return env.get_template("summary.html").generate(
        view=view,
        rows=rows,
        question_ids=question_ids,
        columns=len(question_ids) + 3 + with_written,   # student, total, one per question, written, status
        with_written=with_written,             # a column for the TA's scores, which every total includes
        assignment=assignment,
        versions=versions,
        geometry=view.geometry,
        filters=FILTERS,
        attention=[(tag, needing[tag], words) for tag, words in ATTENTION if needing[tag]],
        staff_pages=[(label, safe_link(path)) for label, path in staff_pages],
        title=f"{assignment or 'Class'} — class summary" + (" (INCOMPLETE)" if incomplete else ""),
        incomplete=incomplete,
        setup_notices=notices,
        standing_marks=STANDING_MARKS,
        question_marks=QUESTION_MARKS,
        scripts=[scripts.script("table.js", env)],
    )


@dataclass(frozen=True)
class SetupNotice:
    """A problem with the grader's set-up (results.SETUP_PROBLEMS), said once for the class: which
    one, and how many of the submissions it concerns."""

    code: str
    message: str
    count: int
    total: int

    @property
    def scope(self) -> str:
        noun = f"submission{plural(self.total)}"
        return f"all {self.total} {noun}" if self.count == self.total else f"{self.count} of {self.total} {noun}"


NOTICE_LIMIT = 20       # distinct set-up messages listed (a sandbox note can name each worker)


def setup_notices(results: list[Result]) -> list[SetupNotice]:
    """The set-up problems of a class's results, each distinct message once with its count, in
    order of first appearance. A batch's slim results share such a problem (grader.slim), so this
    walks a few objects per student."""
    counts: dict[tuple[str, str], int] = {}
    for result in results:
        for problem in {(p.code, p.message) for p in result.problems if p.for_staff}:
            counts[problem] = counts.get(problem, 0) + 1
    return [SetupNotice(code, clean(message, TEXT_LIMIT), count, len(results))
            for (code, message), count in list(counts.items())[:NOTICE_LIMIT]]


def aligned(links: dict | list | None, results: list[Result]) -> list:
    """Per-result values (one per result, in order, as a batch gives them) from a list as it is, or
    from a dict keyed by `Result.submission` (a caller holding names only); None where none."""
    if links is None:
        return [None] * len(results)
    if isinstance(links, dict):
        return [links.get(r.submission) for r in results]
    if len(links) != len(results):
        raise ValueError(f"{len(links)} links for {len(results)} results")
    return list(links)


def _class_view_of(result: Result, shared: dict) -> Result:
    """What the class view shows of a result, sanitised: its scores, questions, diagnoses and case
    statuses.

    The case texts (inputs, expected and returned values, messages; labels and diagnoses are kept
    for the most failed cases), the output and the written answers are left out before sanitising:
    copying and cleaning them for every student was most of the cost of the summary, which shows
    none of them. Each case is cleaned once per object (`shared`: id -> (case, its clean copy),
    for this page): a batch's slim results share their cases (grader.slim), so the class's rows
    share the clean copies too, instead of holding a copy of every case of every student.
    """
    sums = totals(result)       # the totals every output shows: auto + written, out of the same maximum
    bare = dataclasses.replace(result, questions=[], cells=[], output="", written=[], score=sums.total,
                               max_score=sums.max)
    view = _sanitised(bare)
    view.questions = [_shown_question(q, shared) for q in result.questions]
    return view


def _shown_question(question: QuestionResult, shared: dict) -> QuestionResult:
    """A question as the class view shows it, sanitised, made once per question object (a batch's
    slim results share a question among the students it came out the same for: grader.slim)."""
    known = shared.get(("question", id(question)))
    if known is None:           # the question is kept in the entry: its id is not reused meanwhile
        shown = _clean_copy(dataclasses.replace(question, cases=[]), TEXT_LIMIT)
        shown.cases = [_shown_case(c, shared) for c in question.cases]
        known = shared[("question", id(question))] = (question, shown)
    return known[1]


def _shown_case(case: CaseResult, shared: dict) -> CaseResult:
    known = shared.get(id(case))
    if known is None:        # the case is kept in the entry too: its id is not reused while the page is made
        clean_case = CaseResult(clean(case.uid, TEXT_LIMIT), case.visibility, clean(case.label, TEXT_LIMIT),
                                case.status, diagnosis=[clean(d, TEXT_LIMIT) for d in case.diagnosis])
        known = shared[id(case)] = (case, clean_case)
    return known[1]
