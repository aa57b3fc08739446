"""Evidence of copying across a class, from three independent sources, for instructors only.

1. *Identical wrong answers.* Two students who return the same wrong numbers on cases they never
   saw (hidden cases) are the strongest signal a numerical grader has: correct answers carry no
   signal, a shared unusual mistake does. Each wrong answer is reduced to a digest of its value
   rounded to ~9 significant digits; a shared digest counts for little when a catalogued common
   mistake explains it, when it is degenerate (zeros, a constant, NaN), or when many students in
   the class share it (common, not copied).
2. *Code.* Winnowed fingerprints (MOSS's algorithm) of the code cells, with identifiers and
   strings normalised (renamed variables don't hide a copy),
   taken as a set (reordered cells don't either), comments ignored, and the template's starter code
   removed as boilerplate.
3. *Written answers.* Winnowed character n-grams of the write-up, whitespace, case and the
   spacing inside formulas folded (characters, not words, so Chinese works as well as English),
   with the template's text removed.

Cost is near-linear in the class: each source builds an inverted index fingerprint -> students and
only pairs that share a fingerprint are looked at; a fingerprint shared by a large part of the class
is common knowledge, not evidence, and is not expanded into pairs.

This module knows nothing about processes, notebooks or HTML: it takes plain `Evidence` records and
returns plain `Pair` records (the batch builds the records; `grader.render.similarity` draws them).
"""
from __future__ import annotations

import hashlib
import io
import itertools
import keyword
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable
from zlib import crc32

from .results import AnswerPrint

# Fingerprint sizes. Code: copydetect's defaults (k-grams of 25 normalised characters, every
# shared run of 30 guaranteed to be seen). copydetect itself is not imported: it imports
# matplotlib.pyplot (0.36 s) on every batch. Text: shorter grams, because prose sentences are short and
# Chinese packs a word into one or two characters.
CODE_K, CODE_WINDOW = 25, 6
TEXT_K, TEXT_WINDOW = 12, 4
MIN_CODE_FINGERPRINTS = 8      # below this a submission has too little code of its own to compare
MIN_TEXT_FINGERPRINTS = 8
SIGNIFICANT_BITS = 30          # mantissa bits kept in a wrong answer's digest (~9 decimal digits)
NAMED_WEIGHT = 0.1             # a shared wrong answer that a catalogued mistake explains
DEGENERATE_WEIGHT = 0.1        # zeros, a constant, non-finite values
CASES_FOR_FULL_WEIGHT = 3      # a question's shared wrong answers count fully from this many cases


@dataclass(frozen=True)
class Thresholds:
    """When a pair is flagged (`[similarity]` in grader.toml)."""

    code: float = 0.6             # share of the smaller submission's own code fingerprints found in the other
    text: float = 0.5             # the same for the written answers
    numbers: float = 1.0          # questions with identical unusual wrong answers (weighted; see `numbers`)
    common: int = 10              # a fingerprint (or wrong answer) held by more students than this is
                                  # common knowledge, not evidence (MOSS's -m, whose default is 10)


@dataclass(frozen=True)
class Evidence:
    """What one student's submission offers to the comparison."""

    student: str
    code: str = ""
    written: tuple[tuple[str, str], ...] = ()      # (part id, text)
    wrong: tuple[AnswerPrint, ...] = ()           # wrong answers returned as values (`Result.wrong_answers`)


@dataclass
class Pair:
    """The evidence that two students' work is not independent."""

    a: str
    b: str
    code: float = 0.0                       # 0..1
    text: float = 0.0                       # 0..1
    numbers: float = 0.0                    # weighted count of questions with identical wrong answers
    shared_wrong: list[tuple[AnswerPrint, AnswerPrint]] = field(default_factory=list)
    code_marks: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])   # char spans in each code
    text_parts: list[tuple[str, float]] = field(default_factory=list)            # (part id, share) per part
    flagged: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def combined(self) -> float:
        """One number to rank pairs by: each source as a 0..1 strength, combined as independent
        evidence (1 − Π(1 − sᵢ)), so two moderate sources outrank one."""
        strengths = (min(1.0, self.code), min(1.0, self.text), min(1.0, self.numbers / 2))
        return 1.0 - math.prod(1.0 - s for s in strengths)


# ------------------------------------------------------------------------------------------------
# Wrong answers


def answer_digest(value: Any) -> tuple[str, bool]:
    """(digest, degenerate) of a wrong answer as the trusted side holds it: a float64 array, a
    dict of them, a label or a set of names. Two answers computed by the same formula in another
    order differ in the last bits; ~9 significant digits keep them equal and different formulas
    apart."""
    import numpy as np

    from .compare import ComplexArray

    h = hashlib.sha256()
    values: list[Any] = []
    if isinstance(value, dict):
        for key in sorted(value):
            h.update(b"key\0" + str(key).encode())
            values.append(value[key])
    else:
        values.append(value)
    degenerate = True
    # a complex answer: both parts, the imaginary one after the real one
    values = [part for item in values
              for part in ((item.real, item.imag) if isinstance(item, ComplexArray) else (item,))]
    for item in values:
        if isinstance(item, (str, frozenset, set)):
            h.update(b"text\0" + repr(sorted(item) if not isinstance(item, str) else item).encode())
            degenerate = False
            continue
        array = np.asarray(item, dtype=np.float64)
        h.update(b"array\0" + repr(array.shape).encode())
        finite = np.isfinite(array)
        clean_values = np.where(finite, array, 0.0)
        mantissa, exponent = np.frexp(clean_values)
        h.update(np.round(mantissa * 2.0**SIGNIFICANT_BITS).astype(np.int64).tobytes())
        h.update(exponent.astype(np.int64).tobytes())
        h.update(np.packbits(finite).tobytes())
        h.update(np.packbits(np.isnan(array)).tobytes())
        if array.size and finite.all() and np.ptp(array) > 0:
            degenerate = False
    return h.hexdigest()[:32], degenerate


def number_evidence(students: list[Evidence], thresholds: Thresholds) -> dict[tuple[str, str], Pair]:
    """Pairs of students who share wrong answers, with each question's shared answers weighted.

    Per question, a pair's evidence is the largest weight among its shared wrong answers (1 for an
    unusual one held by two students; less when more students hold it, when a named mistake or
    a degenerate value explains it), scaled down when fewer than CASES_FOR_FULL_WEIGHT cases are
    shared. The pair's `numbers` is the sum over questions.
    """
    holders: dict[tuple[str, str], list[tuple[str, AnswerPrint]]] = defaultdict(list)
    for student in students:
        for wrong in student.wrong:
            holders[(wrong.case, wrong.digest)].append((student.student, wrong))
    limit = thresholds.common
    shared: dict[tuple[str, str], dict[str, list[tuple[float, AnswerPrint, AnswerPrint]]]] = defaultdict(
        lambda: defaultdict(list))
    for (_case, _digest), group in holders.items():
        if len(group) < 2 or len(group) > limit:
            continue
        rarity = 1.0 / (len(group) - 1)
        for (sa, wa), (sb, wb) in itertools.combinations(sorted(group, key=lambda g: g[0]), 2):
            weight = rarity
            if wa.named or wb.named:
                weight *= NAMED_WEIGHT
            if wa.degenerate:
                weight *= DEGENERATE_WEIGHT
            shared[(sa, sb)][wa.question].append((weight, wa, wb))
    pairs: dict[tuple[str, str], Pair] = {}
    for key, by_question in shared.items():
        pair = Pair(*key)
        for question, items in sorted(by_question.items()):
            strength = max(w for w, _, _ in items) * min(1.0, len(items) / CASES_FOR_FULL_WEIGHT)
            pair.numbers += strength
            pair.shared_wrong += [(wa, wb) for _, wa, wb in items]
        pair.numbers = round(pair.numbers, 4)
        pairs[key] = pair
    return pairs


# ------------------------------------------------------------------------------------------------
# Fingerprints (winnowing: Schleimer, Wilkerson and Aiken, SIGMOD 2003, the algorithm behind MOSS)


@dataclass
class Prints:
    """One document's winnowed fingerprints (hash -> where in the normalised document they start),
    and for each normalised character the offset of the original character it came from."""

    positions: dict[int, list[int]]
    origin: list[int] = field(default_factory=list)
    k: int = CODE_K

    @property
    def hashes(self) -> set[int]:
        return set(self.positions)


def winnow(document: str, k: int, window: int, boilerplate: frozenset[int] | set[int] = frozenset()
           ) -> dict[int, list[int]]:
    """The winnowed k-gram hashes of `document` (hash -> where each starts), minus `boilerplate`.

    In every run of `window` consecutive k-grams the smallest hash is kept (the rightmost on ties),
    so any shared stretch of at least k + window - 1 characters shows up in both documents'
    fingerprints, and a document of n characters keeps about 2n/(window + 1) of them. Grams are
    hashed with CRC-32 (not Python's salted `hash`), so a class compared twice gives the same
    pairs and shares.
    """
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    count = len(document) - k + 1
    if count <= 0:
        return {}
    data = document.encode("utf-8", "surrogatepass")
    if len(data) == len(document):        # ASCII: a character is a byte
        grams = np.fromiter((crc32(data[i:i + k]) for i in range(count)), dtype=np.int64, count=count)
    else:
        grams = np.fromiter((crc32(document[i:i + k].encode("utf-8", "surrogatepass")) for i in range(count)),
                            dtype=np.int64, count=count)
    width = min(window, count)
    windows = sliding_window_view(grams, width)
    # the rightmost smallest hash of each window: argmin over the window read backwards
    chosen = np.unique(np.arange(len(windows)) + (width - 1) - np.argmin(windows[:, ::-1], axis=1))
    kept: dict[int, list[int]] = {}
    for where, value in zip(chosen.tolist(), grams[chosen].tolist()):
        if value not in boilerplate:
            kept.setdefault(value, []).append(where)
    return kept


# One pass of one compiled pattern over the source (C speed): strings (any prefix, any quotes),
# comments, names, numbers, blanks, and any other single character as an operator. Python's own
# tokenizer rejects notebook magics and shell escapes; this never fails.
TOKEN = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>(?:[rRbBuUfF]{1,2})?(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<name>[^\W\d]\w*)
  | (?P<number>(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)
  | (?P<blank>\s+)
  | (?P<other>.)
""", re.X | re.S)


def normalise_code(code: str) -> tuple[str, list[int]]:
    """Python code as compared, with where each character came from.

    Every name becomes V (a function or class being defined, F or O), every string S; comments
    and blanks are dropped; keywords, operators, punctuation and numbers stay.
    """
    out: list[str] = []
    origin: list[int] = []
    defining = ""
    for match in TOKEN.finditer(code):
        kind, text = match.lastgroup, match.group()
        if kind in ("comment", "blank"):
            continue
        if kind == "name":
            if keyword.iskeyword(text):
                piece, defining = text, {"def": "F", "class": "O"}.get(text, "")
            else:
                piece, defining = defining or "V", ""
        else:
            piece, defining = ("S" if kind == "string" else text), ""
        out.append(piece)
        origin += [match.start()] * len(piece)
    return "".join(out), origin


def code_prints(code: str, boilerplate: frozenset[int] | set[int] = frozenset()) -> Prints:
    """Fingerprints of Python code, names and strings normalised, starter code removed."""
    normal, origin = normalise_code(code)
    return Prints(winnow(normal, CODE_K, CODE_WINDOW, boilerplate), origin, CODE_K)


MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|\\\[.*?\\\]|\\\(.*?\\\)|\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S)
SPACING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)\b|\\[,;:! ]|\\q?quad\b|\s+")
MARKUP = re.compile(r"<!--.*?-->|<[^>]{0,200}>", re.S)


def normalise_text(text: str) -> str:
    """Text as compared: inside math, spacing and sizing commands and blanks dropped (a copied
    derivation keeps its notation and its steps; retyped spacing does not hide it); HTML comments
    and tags dropped; case and whitespace folded."""
    text = MATH.sub(lambda m: " " + SPACING.sub("", m.group(0)) + " ", text)
    text = MARKUP.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def text_prints(text: str, boilerplate: frozenset[int] | set[int] = frozenset()) -> Prints:
    """Fingerprints of a write-up: character grams, so that Chinese is compared as well as English."""
    return Prints(winnow(normalise_text(text), TEXT_K, TEXT_WINDOW, boilerplate), [], TEXT_K)


def _shared_counts(prints: dict[str, set[int]], limit: int) -> Counter:
    """For every pair of students, how many fingerprints they share (common ones not expanded)."""
    index: dict[int, list[str]] = defaultdict(list)
    for student, hashes in prints.items():
        for h in hashes:
            index[h].append(student)
    counts: Counter = Counter()
    for holders in index.values():
        if 2 <= len(holders) <= limit:
            for a, b in itertools.combinations(sorted(holders), 2):
                counts[(a, b)] += 1
    return counts


def overlap_evidence(prints: dict[str, set[int]], minimum: int, thresholds: Thresholds
                     ) -> dict[tuple[str, str], float]:
    """Pair -> the share of the smaller document's fingerprints found in the other one."""
    counts = _shared_counts({s: h for s, h in prints.items() if len(h) >= minimum}, thresholds.common)
    return {pair: round(n / min(len(prints[pair[0]]), len(prints[pair[1]])), 4) for pair, n in counts.items()}


# ------------------------------------------------------------------------------------------------
# The whole comparison


@dataclass(frozen=True)
class Template:
    """What every student was given: removed before comparing (it is shared, not copied)."""

    code: str = ""
    written: str = ""


def compare_class(students: list[Evidence], template: Template = Template(),
                  thresholds: Thresholds = Thresholds()) -> list[Pair]:
    """Every pair with any evidence, strongest first; `flagged` where a source passes its threshold."""
    students = _unique(students)
    code_boiler = code_prints(template.code).hashes if template.code else set()
    text_boiler = text_prints(template.written).hashes if template.written else set()
    code = {s.student: code_prints(s.code, code_boiler) for s in students}
    text = {s.student: text_prints(_joined(s.written), text_boiler) for s in students}

    pairs = number_evidence(students, thresholds)
    for key, share in overlap_evidence({k: p.hashes for k, p in code.items()}, MIN_CODE_FINGERPRINTS,
                                       thresholds).items():
        pairs.setdefault(key, Pair(*key)).code = share
    for key, share in overlap_evidence({k: p.hashes for k, p in text.items()}, MIN_TEXT_FINGERPRINTS,
                                       thresholds).items():
        pairs.setdefault(key, Pair(*key)).text = share

    by_name = {s.student: s for s in students}
    for pair in pairs.values():
        _judge(pair, thresholds)
        if pair.flagged:
            _details(pair, code, by_name, text_boiler)
    return sorted(pairs.values(), key=lambda p: (-p.flagged, -p.combined, p.a, p.b))


def _unique(students: list[Evidence]) -> list[Evidence]:
    seen: set[str] = set()
    kept = []
    for student in students:
        if student.student not in seen:
            seen.add(student.student)
            kept.append(student)
    return kept


def _joined(parts: tuple[tuple[str, str], ...]) -> str:
    return "\n\n".join(text for _, text in parts)


def _judge(pair: Pair, thresholds: Thresholds) -> None:
    if pair.code >= thresholds.code:
        pair.reasons.append(f"code: {pair.code:.0%} of the smaller submission's own code fingerprints shared")
    if pair.text >= thresholds.text:
        pair.reasons.append(f"written answers: {pair.text:.0%} of the shorter write-up's fingerprints shared")
    if pair.numbers >= thresholds.numbers:
        questions = sorted({wa.question for wa, _ in pair.shared_wrong})
        pair.reasons.append(f"identical wrong answers in {', '.join(questions)} "
                            f"({len(pair.shared_wrong)} cases, weight {pair.numbers:g})")
    pair.flagged = bool(pair.reasons)


def _details(pair: Pair, code: dict[str, Prints], by_name: dict[str, Evidence], text_boiler: set[int]) -> None:
    """What the page highlights: the matching code spans, and which written parts match."""
    first, second = code[pair.a], code[pair.b]
    if pair.code > 0:
        shared = first.hashes & second.hashes
        pair.code_marks = (_spans(first, shared), _spans(second, shared))
    parts_b = dict(by_name[pair.b].written)
    for part, text_a in by_name[pair.a].written:
        if part in parts_b:
            a, b = text_prints(text_a, text_boiler).hashes, text_prints(parts_b[part], text_boiler).hashes
            if a and b and a & b:
                pair.text_parts.append((part, round(len(a & b) / min(len(a), len(b)), 4)))


def _spans(prints: Prints, shared: set[int]) -> list[tuple[int, int]]:
    """The original code's character spans covered by the shared fingerprints, merged."""
    starts = sorted(p for h in shared for p in prints.positions.get(h, []))
    merged: list[tuple[int, int]] = []
    for start in starts:
        end = start + prints.k
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    origin = prints.origin
    if not origin:
        return []
    return [(origin[a], origin[min(b, len(origin)) - 1] + 1) for a, b in merged]
