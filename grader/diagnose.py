"""Naming the mistake behind a wrong answer.

For a case that failed, each known wrong variant of its question is computed on the same inputs
(trusted side) and compared with what the student returned, with the question's own tolerance.
A diagnosis only annotates a failure: it never changes a status, and it is never looked for on a
passing case. A variant that coincides with the reference on a case's inputs (e.g. a transposed
1×1 Jacobian) cannot tell anything there and is skipped.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .compare import matches
from .kinds import kind_of
from .spec import PUBLIC, Case, Finding, Question


def diagnose(question: Question, case: Case, got: Any, memo: dict | None = None) -> list[str]:
    """The ids of the question's mistakes that `got` matches on this case, each named once.

    One id may have several variants (several ways of coding the same misconception). A variant's
    wrong answer depends on the case alone: with a `memo` (the case set's) it is computed once per
    case for all submissions, not once per failing submission.
    """
    return named(question, matching_variants(question, case, got, memo))


def matching_variants(question: Question, case: Case, got: Any, memo: dict | None = None) -> list[int]:
    """The positions in `question.mistakes` of every variant (or predicate) that `got` matches on this case."""
    found = []
    memo = {} if memo is None else memo
    for number, mistake in enumerate(question.mistakes):
        if mistake.matches is not None:
            try:
                hit = bool(mistake.matches(got))
            except Exception:  # noqa: BLE001 - a catalogue predicate must not break grading
                hit = False
            if hit:
                found.append(number)
            continue
        usable, wrong = _variant(question, case, number, memo)
        if usable and matches(question.kind, wrong, got, question.tolerance, question.keys):
            found.append(number)
    return found


def named(question: Question, numbers: list[int]) -> list[str]:
    """The mistake ids of the variants at `numbers`, each once, in catalogue order."""
    ids: list[str] = []
    for number in sorted(numbers):
        if question.mistakes[number].id not in ids:
            ids.append(question.mistakes[number].id)
    return ids


def _variant(question: Question, case: Case, number: int, memo: dict) -> tuple[bool, Any]:
    key = ("variant", case.uid, number)
    if key not in memo:
        memo[key] = _telling_wrong_answer(question, case, question.mistakes[number])
    return memo[key]


def consistent_variants(question: Question, cases: list[tuple[Case, bool]], matched: dict[str, list[int]],
                        memo: dict | None = None, answered_wrong: frozenset[str] | set[str] = frozenset()
                        ) -> set[int]:
    """Of the variants matched on some failed case (`matched`: case uid -> variant numbers), those the
    student's other answers do not contradict.

    A diagnosis claims that the student computes what the variant computes. A case the student got
    right where the variant is wrong (`cases`: each case of the question with whether it passed)
    says otherwise; so does a wrong value (`answered_wrong`: the uids of the failed cases that came
    back as a value) that no variant of the same mistake gives where this one tells something (a
    variant that equals the answer on the smallest inputs only, while the larger ones are wrong in
    another way, is a coincidence). For an answer of few possible values (a label) one such case is enough: a match
    there is as likely a coincidence as not. For numbers a match within the tolerance is strong
    evidence, and a student who holds a misconception may still get an edge case right by treating
    it apart (p = 0 as the identity): the variant is kept unless the cases it is contradicted on
    outnumber those it was matched on (a coincidence on a degenerate input: a 90° rotation's power
    that equals another formula's, a reflection to an even power). Predicates (`Mistake.matches`) are
    about the answer alone and always kept.
    """
    memo = {} if memo is None else memo
    support: dict[int, int] = {}
    for numbers in matched.values():
        for number in numbers:
            support[number] = support.get(number, 0) + 1
    few = kind_of(question.kind).few_values
    kept = set()
    for number, count in support.items():
        if question.mistakes[number].matches is not None:
            kept.add(number)
            continue
        mid = question.mistakes[number].id
        against = sum(1 for case, passed in cases
                      if (passed or (case.uid in answered_wrong and not _names(question, matched.get(case.uid, ()), mid)))
                      and _variant(question, case, number, memo)[0])
        if (against == 0) if few else (against <= count):
            kept.add(number)
    return kept


def _names(question: Question, numbers, mistake_id: str) -> bool:
    """Whether one of the variants at `numbers` is a way of making the mistake `mistake_id`."""
    return any(question.mistakes[n].id == mistake_id for n in numbers)


def _telling_wrong_answer(question: Question, case: Case, mistake) -> tuple[bool, Any]:
    """(True, the variant's answer on this case), or (False, None) when it tells nothing here:
    undefined on the case's inputs, or indistinguishable from the right answer."""
    try:
        wrong = mistake.compute(*copy.deepcopy(case.args))
    except Exception:  # noqa: BLE001 - a variant may be undefined on an edge case
        return False, None
    wrong = kind_of(question.kind).normalise(wrong)
    if matches(question.kind, case.expected, wrong, question.tolerance, question.keys):
        return False, None
    return True, wrong


# ------------------------------------------------------------------------------------------------
# Where a wrong answer goes wrong, by the question's structure
#
# A mistake nobody catalogued still gets told *where* it shows: which blocks of a block-structured
# answer are wrong (`Question.blocks`), whether the answer is right on simpler inputs derived from
# the case (`Question.probes`: e.g. the same sequence cut to one step), and whatever the
# assignment's own structure check finds (`Question.structure`: e.g. a family of mistakes fitted to
# the answer). All three are declared by the assignment; nothing here knows what the blocks or
# probes mean. Sentences are plain English with their numbers and names in them; the student's
# views translate them (`grader.i18n.MESSAGES`).

from .i18n import N_  # noqa: E402 - marks the sentences below for translation, nothing more

BLOCK_SENTENCES = {
    "ge": N_("only the ({a}, {b}) blocks with {a} − {b} ≥ {m} are wrong"),
    "eq": N_("only the ({a}, {b}) blocks with {a} − {b} = {m} are wrong"),
    "upper": N_("only the ({a}, {b}) blocks with {a} < {b} are wrong (they should be zero)"),
    "all": N_("every ({a}, {b}) block is wrong"),
    "lower": N_("every ({a}, {b}) block with {a} ≥ {b} is wrong; those with {a} < {b} are right"),
    "list": N_("the wrong ({a}, {b}) blocks are {blocks}"),
    "one-axis": N_("the wrong {a} are {blocks}"),
}
RELATION_SENTENCES = {
    "negated": N_("the answer is the right one with the opposite sign"),
    "scaled": N_("the answer is the right one times {factor}"),
    "transposed": N_("the answer is the transpose of the right one"),
    "keys": N_("only {keys} are wrong; the other entries are right"),
    "close": N_("the answer is close to the right one: it agrees to about {digits} significant digits, the "
                "tolerance asks for {needed} (float32 arithmetic, numbers typed with few digits, a "
                "finite-difference estimate or a small term left out can each leave an answer this close)"),
}


def locate(question: Question, case: Case, got: Any, probes: list[tuple[Any, bool]] = ()) -> Finding:
    """Where `got`, a wrong answer to `case`, goes wrong: ids and where-sentences.

    `probes`: (ProbeInput, whether the answer on its inputs was right), for the case's probes that
    were answered. Never raises: a structure check that fails tells nothing.

    A near miss (the answer agrees to a few digits) is told how close it is and which blocks are out
    of tolerance, but not what its probes or the structure check say: a small error that grows with
    the input's size (rounding) or scales every entry is right or wrong on a simpler input by how it
    grows, not because a part of the formula is wrong (float32 arithmetic, right on a probe's short
    input, was told which part of the computation goes wrong on longer ones).
    """
    ids: list[str] = []
    where: list[str] = []
    hints: dict[str, str] = {}
    found = kind_of(question.kind).relations(case.expected, got, question.tolerance, question.keys)
    where += _worded(found)
    if any(name == "close" for name, _ in found):
        probes, structure = (), None
    else:
        structure = question.structure
    if question.blocks and kind_of(question.kind).has_blocks:
        # A hidden case's wrong blocks are told by a rule only, never listed (a list would tell its size).
        sentence = describe_blocks(question.blocks, case.expected, got, question.tolerance,
                                   listing=case.visibility == PUBLIC)
        if sentence:
            where.append(sentence)
    for probe, right in probes:
        sentence = probe.right if right else probe.wrong
        if sentence and sentence not in where:
            where.append(sentence)
    if structure is not None:
        try:
            finding = structure(copy.deepcopy(case.args), case.expected, got, question.tolerance)
        except Exception:  # noqa: BLE001 - an assignment's structure check must not break grading
            finding = None
        if isinstance(finding, Finding):
            ids += [i for i in finding.ids if i not in ids]
            where += [w for w in finding.where if w not in where]
            hints.update(finding.hints)
    return Finding(tuple(ids), tuple(where), hints)


def relations(question: Question, expected: Any, got: Any) -> list[str]:
    """How a wrong answer relates to the right one, whatever the question: opposite sign, a constant
    factor, transposed; for a dict answer, which entries are wrong. Each kind finds its relations
    (`Kind.relations`); they are worded here."""
    return _worded(kind_of(question.kind).relations(expected, got, question.tolerance, question.keys))


def _worded(found: list[tuple[str, dict[str, str]]]) -> list[str]:
    return [RELATION_SENTENCES[name].format(**fields) for name, fields in found]


def wrong_blocks(expected: Any, got: Any, tol, axes: int) -> np.ndarray | None:
    """A boolean array over the first `axes` axes: which blocks hold an element out of tolerance
    (None when the answer is not an array of the expected shape)."""
    try:
        expected, got = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if got.shape != expected.shape or expected.ndim < axes:
        return None
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~(np.abs(got - expected) <= tol.rtol * np.abs(expected) + tol.atol * scale)
    return bad.reshape(expected.shape[:axes] + (-1,)).any(axis=-1)


def describe_blocks(names: tuple[str, ...], expected: Any, got: Any, tol, listing: bool = True) -> str:
    """One sentence naming the wrong blocks by the simplest rule that fits them exactly; without
    `listing`, nothing when no rule fits (rather than the list of blocks)."""
    bad = wrong_blocks(expected, got, tol, len(names))
    if bad is None or not bad.any():
        return ""
    if len(names) == 1:
        if not listing:
            return ""
        listed = ", ".join(str(i + 1) for i in np.flatnonzero(bad)[:8])
        return BLOCK_SENTENCES["one-axis"].format(a=names[0], blocks=listed)
    a, b = names[0], names[1]
    bad2 = bad.reshape(bad.shape[0], bad.shape[1], -1).any(axis=-1)
    if bad2.all():
        return BLOCK_SENTENCES["all"].format(a=a, b=b)
    rows, cols = np.indices(bad2.shape)
    lag = rows - cols                                   # a − b with 1-based indices alike
    if np.array_equal(bad2, lag >= 0):
        return BLOCK_SENTENCES["lower"].format(a=a, b=b)
    for m in range(1, max(bad2.shape)):
        if np.array_equal(bad2, lag >= m):
            return BLOCK_SENTENCES["ge"].format(a=a, b=b, m=m)
    for m in range(0, max(bad2.shape)):
        if np.array_equal(bad2, lag == m):
            return BLOCK_SENTENCES["eq"].format(a=a, b=b, m=m)
    if np.array_equal(bad2, lag < 0):
        return BLOCK_SENTENCES["upper"].format(a=a, b=b)
    if not listing:
        return ""
    wrong = [f"({i + 1}, {j + 1})" for i, j in zip(*np.nonzero(bad2))]
    listed = ", ".join(wrong[:6]) + (" …" if len(wrong) > 6 else "")
    return BLOCK_SENTENCES["list"].format(a=a, b=b, blocks=listed)
