"""What an assignment is, as plain data: questions, their cases and how answers are compared.

The engine reads these objects and nothing else about a homework. A second homework is a
second registry of `Question`s (see `assignments/`); nothing in `grader/` changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

# The names of the kinds of answer the engine knows how to transport out of the sandbox and
# compare; what each kind does is `grader.kinds.KINDS` (the one table), its encoder `jobwire.ENCODERS`.
ARRAY = "array"            # anything that converts to a real float64 array of the reference's shape
ARRAY_DICT = "array_dict"  # a mapping with fixed keys, each value an array as above
LABEL = "label"            # one string out of a fixed set
NAME_SET = "name_set"      # a set (or list/tuple) of strings, compared as a set

PUBLIC = "public"
HIDDEN = "hidden"


@dataclass(frozen=True)
class Tolerance:
    """Elementwise |got - expected| <= rtol*|expected| + atol*scale, scale = max|expected|.

    The absolute part scales with the reference's own magnitude so that a gradient whose entries
    are all ~1e-12 is held to the same relative standard as one of order 1: a zero answer can never
    pass against a non-zero reference (that needs rtol + atol < 1, which `__post_init__` enforces).
    """

    rtol: float = 1e-6
    atol: float = 1e-8

    def __post_init__(self) -> None:
        if not (0 <= self.rtol and 0 <= self.atol and self.rtol + self.atol < 1):
            raise ValueError(f"tolerance must satisfy 0 <= rtol, atol and rtol + atol < 1, got {self}")

    def describe(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}·max|expected|"


@dataclass(frozen=True)
class CaseInput:
    """One set of arguments for a graded function, with a short human label (e.g. "n=1, large inputs")."""

    label: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Mistake:
    """A named wrong answer: what a student computes when they hold a particular misconception."""

    id: str
    hint: str
    compute: Callable[..., Any]
    # Optional predicate for answers that are not numbers (e.g. "the set contains a signed quantity").
    matches: Callable[[Any], bool] | None = None


@dataclass(frozen=True)
class ProbeInput:
    """Inputs derived from a case to locate a wrong answer (e.g. the same sequence cut to T = 1),
    with what to tell when the answer on them is right or wrong. A probe is called like a case,
    never scored, and only read when its case failed (`grader.diagnose.locate`)."""

    name: str
    args: tuple[Any, ...]
    right: str        # where-sentence when the probe passes (the case having failed)
    wrong: str        # where-sentence when the probe fails too


@dataclass(frozen=True)
class Finding:
    """What an assignment's structure check says about one wrong answer: mistake (family) ids,
    where-sentences, and the hints of ids the catalogue does not list."""

    ids: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    hints: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """One auto-graded question of an assignment.

    `reference` is called with each case's arguments on the trusted side only; the sandbox receives
    the arguments and never the expected answer. `call=False` means `name` is a value (a constant
    the student defines), read once: there are no inputs to vary, so it has exactly one case.
    """

    id: str
    title: str
    points: float
    name: str
    kind: str
    reference: Callable[..., Any] | None = None
    public_cases: Callable[[Any], Sequence[CaseInput]] = lambda rng: ()
    hidden_cases: Callable[[Any], Sequence[CaseInput]] = lambda rng: ()
    call: bool = True
    keys: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    tolerance: Tolerance = field(default_factory=Tolerance)
    mistakes: tuple[Mistake, ...] = ()
    # Locating a wrong answer by the question's structure (grader.diagnose.locate):
    # probes: a case's args -> ProbeInputs; blocks: names of the answer's leading axes (1-based
    # indices), whose wrong blocks are described ("only the blocks with t − k ≥ 1");
    # structure: (args, expected, got, tolerance) -> Finding (assignment code, not in the kit).
    probes: Callable[[tuple], Sequence[ProbeInput]] | None = None
    blocks: tuple[str, ...] = ()
    structure: Callable[..., Finding] | None = None

    def __post_init__(self) -> None:
        from .kinds import KINDS      # the kinds build on the judging code, which builds on this module

        if self.kind not in KINDS:
            raise ValueError(f"question {self.id}: unknown answer kind {self.kind!r}")
        if KINDS[self.kind].needs_keys and not self.keys:
            raise ValueError(f"question {self.id}: an {self.kind} answer needs its keys")


@dataclass(frozen=True)
class WrittenPart:
    """A free-text part that a person grades; `marker` is how the template tags the student's answer."""

    id: str
    title: str
    points: float
    rubric: str


@dataclass(frozen=True)
class Assignment:
    """An assignment: its auto-graded questions and its written parts, in the order students see them."""

    name: str
    title: str
    questions: tuple[Question, ...]
    written: tuple[WrittenPart, ...] = ()
    # Where markdown answers to written parts are marked: `<!-- answer: ID -->` by default.
    answer_marker: str = "answer"
    # For submissions written as prose (.md/.txt) without markers: text -> grader.written.WrittenParse
    # (the text of each written part, and the auto-graded answers the text states).
    written_parser: Callable[[str], Any] | None = None
    # What the hidden cases vary, for students (the kit's README): the homework's words, not the engine's.
    hidden_cases_note: str = "other sizes and edge cases"

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    @property
    def max_score(self) -> float:
        return float(sum(q.points for q in self.questions))


@dataclass(frozen=True)
class Case:
    """A concrete case: arguments plus, on the trusted side only, the expected answer."""

    uid: str
    question_id: str
    visibility: str
    label: str
    args: tuple[Any, ...]
    expected: Any = None
    parent: str = ""                    # a probe: the uid of the case it was derived from
    probe: ProbeInput | None = None     # a probe: its name and where-sentences (its args are `args`)


@dataclass(frozen=True)
class CaseSet:
    """Every case of an assignment, built once per grading run and shared by all submissions."""

    assignment: Assignment
    cases: tuple[Case, ...]
    digest: str
    # What every submission would otherwise recompute from a case alone (the shown inputs and
    # expected answer, the known mistakes' wrong answers): filled on first use, shared by all the
    # submissions a Session grades. Keyed by case uid (or by a name for the whole set, like ("calls",)),
    # so a case set's memo is only ever its own.
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def for_question(self, qid: str) -> list[Case]:
        """The question's scored cases (probes are not cases of their own)."""
        return [c for c in self.cases if c.question_id == qid and not c.parent]

    def probes_of(self, uid: str) -> list[Case]:
        return [c for c in self.cases if c.parent == uid]

    def only(self, visibility: str) -> "CaseSet":
        kept = tuple(c for c in self.cases if c.visibility == visibility)
        # The digest names the cases actually kept: a public-only set built with a secret must
        # carry the same digest as one built without (the kit's, the self-check's).
        from .caseset import digest

        fingerprint = digest([c for c in kept if c.probe is None])      # as `build`
        if len(kept) == len(self.cases) and fingerprint == self.digest:
            # Nothing left out (a set built without a secret is public already): the same set,
            # and so the same memo, which a fresh copy would have to fill again for every submission
            # graded on it (the seed notebook's wrong answers alone: ~0.6 s of CPU).
            return self
        return CaseSet(self.assignment, kept, fingerprint)

