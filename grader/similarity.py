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
import itertools
import keyword
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

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


@dataclass(frozen=True)
class Template:
    """What every student was given: removed before comparing (it is shared, not copied)."""

    code: str = ""
    written: str = ""


@dataclass(slots=True)
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
    reducer = Reducer()
    students = list(students)
    reduced = [Reduced(s.student, None, None, reducer.rows(s.wrong)) for s in students]
    pairs, pending = _number_pairs(reduced, reducer, thresholds)
    _fill_shared_wrong(pairs, pending, {(i, at): w for i, s in enumerate(students) for at, w in enumerate(s.wrong)})
    return pairs


def _number_pairs(reduced: list[Reduced], reducer: Reducer, thresholds: Thresholds
                  ) -> tuple[dict[tuple[str, str], Pair], dict[tuple[str, str], list[tuple[Row, Row]]]]:
    """`number_evidence` on the compact rows: the pairs with their `numbers`, and for each pair the
    (student, position) of the wrong answers it shares, in the order `shared_wrong` lists them (the
    AnswerPrints themselves are read again only for these rows, `_fill_shared_wrong`).

    Every (case, digest) held by 2..`common` students is a group; groups are taken in the order a
    walk through the class meets them (first holder, then that holder's position), each group's
    holders by name, as a dictionary filled student by student would hold them."""
    import numpy as np

    names = [r.student for r in reduced]
    lengths = np.array([len(r.wrong) for r in reduced], dtype=np.int64)
    if not lengths.sum():
        return {}, {}
    rows = np.concatenate([r.wrong for r in reduced])
    # rows are in (student, position) order already and lexsort is stable: ties keep that order
    order = np.lexsort((rows["lo"], rows["hi"], rows["kind"], rows["case"]))
    change = np.zeros(len(rows), dtype=bool)
    change[0] = True
    for name in ("case", "kind", "hi", "lo"):
        column = rows[name][order]
        change[1:] |= column[1:] != column[:-1]
        del column
    del rows
    starts = np.flatnonzero(change)
    del change
    sizes = np.diff(np.r_[starts, len(order)])
    keep = (sizes >= 2) & (sizes <= thresholds.common)
    first_row = np.cumsum(lengths) - lengths

    def row(k: int) -> Row:
        owner = int(np.searchsorted(first_row, k, side="right")) - 1
        return owner, k - int(first_row[owner])

    groups = sorted((row(int(order[s])), int(s), int(n)) for s, n in zip(starts[keep], sizes[keep]))
    shared: dict[tuple[str, str], dict[str, list[tuple[float, Row, Row]]]] = defaultdict(lambda: defaultdict(list))
    for _first, start, size in groups:
        members = sorted(((names[r[0]], r) for r in (row(int(k)) for k in order[start:start + size])),
                         key=lambda m: m[0])
        rarity = 1.0 / (size - 1)
        for (sa, ra), (sb, rb) in itertools.combinations(members, 2):
            wa, wb = reduced[ra[0]].wrong[ra[1]], reduced[rb[0]].wrong[rb[1]]
            weight = rarity
            if wa["named"] or wb["named"]:
                weight *= NAMED_WEIGHT
            if wa["degenerate"]:
                weight *= DEGENERATE_WEIGHT
            shared[(sa, sb)][reducer.questions.names[int(wa["question"])]].append((weight, ra, rb))
    pairs: dict[tuple[str, str], Pair] = {}
    pending: dict[tuple[str, str], list[tuple[Row, Row]]] = {}
    for key, by_question in shared.items():
        pair = Pair(*key)
        rows_of_pair: list[tuple[Row, Row]] = []
        for question, items in sorted(by_question.items()):
            strength = max(w for w, _, _ in items) * min(1.0, len(items) / CASES_FOR_FULL_WEIGHT)
            pair.numbers += strength
            rows_of_pair += [(ra, rb) for _, ra, rb in items]
        pair.numbers = round(pair.numbers, 4)
        pairs[key] = pair
        pending[key] = rows_of_pair
    return pairs, pending


def _fill_shared_wrong(pairs: dict[tuple[str, str], Pair], pending: dict[tuple[str, str], list[tuple[Row, Row]]],
                       answers: dict[Row, AnswerPrint]) -> None:
    for key, rows in pending.items():
        pairs[key].shared_wrong = [(answers[ra], answers[rb]) for ra, rb in rows]


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


# A gram's hash: its characters' code points as a polynomial in GRAM_BASE (odd) with wrap-around
# 64-bit arithmetic, then MurmurHash3's 64-bit finaliser (every input bit moves every output bit),
# of which the top 32 bits are kept: a fingerprint fits the uint32 a class's reduced records keep
# (`sorted_hashes`).
GRAM_BASE = 0x9E3779B97F4A7C15
_MIX = (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53)


def gram_hashes(document: str, k: int):
    """The hash of every k-character gram of `document` (numpy int64, one per start, each below
    2**32; equal grams, equal hashes, wherever they are).

    Computed for every gram at once, one character position at a time (k vector steps, in place):
    hashing each gram on its own (CRC-32 of its bytes, as before) was a Python call per character
    of every student's code and write-up, most of the copying comparison's time."""
    import numpy as np

    count = len(document) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    data = document.encode("utf-8", "surrogatepass")
    if len(data) == len(document):        # ASCII: a character is a byte
        codes = np.frombuffer(data, dtype=np.uint8)
    else:
        codes = np.frombuffer(document.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    hashes = np.zeros(count, dtype=np.uint64)
    base = np.uint64(GRAM_BASE)
    for offset in range(k):
        hashes *= base
        hashes += codes[offset:offset + count]
    for multiplier in _MIX:
        hashes ^= hashes >> np.uint64(33)
        hashes *= np.uint64(multiplier)
    hashes ^= hashes >> np.uint64(33)
    return (hashes >> np.uint64(32)).astype(np.int64)


def winnow(document: str, k: int, window: int, boilerplate: frozenset[int] | set[int] = frozenset()
           ) -> dict[int, list[int]]:
    """The winnowed k-gram hashes of `document` (hash -> where each starts), minus `boilerplate`.

    In every run of `window` consecutive k-grams the smallest hash is kept (the rightmost on ties),
    so any shared stretch of at least k + window - 1 characters shows up in both documents'
    fingerprints, and a document of n characters keeps about 2n/(window + 1) of them. Grams are
    hashed by `gram_hashes` (not Python's salted `hash`), so a class compared twice gives the same
    pairs and shares.
    """
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    count = len(document) - k + 1
    if count <= 0:
        return {}
    grams = gram_hashes(document, k)
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
  | (?P<string>(?:[rRbBuUfF]{1,2})?(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"[^"\\\n]*(?:\\\n[^"\\\n]*)*"|'[^'\\\n]*(?:\\\n[^'\\\n]*)*'))
  | (?P<name>[^\W\d]\w*)
  | (?P<number>(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)
  | (?P<blank>\s+)
  | (?P<other>.)
""", re.X | re.S)


# A backslash and the character it escapes (a newline excepted: a string continued on the next line
# stays one string). `normalise_code` blanks them before TOKEN reads the code: a string is then a
# run of one character class, which the regular expression engine matches in constant memory (an
# alternation repeated per character kept a backtracking state per character: 160 bytes each, 2 GB
# for a 16 MB string literal); blanking keeps every position, and a string's text is "S" anyway.
ESCAPE = re.compile(r"\\[^\n]")
# Characters of one student's code, and of their write-up, that are compared: real homework is tens
# of kilobytes; the comparison's memory (the map from each compared character back to the code)
# and time grow with it, in the grader's own process.
COMPARED_CHARS = 1_000_000


_DEFINES = {"def": "F", "class": "O"}


def normalise_code(code: str) -> tuple[str, list[int]]:
    """Python code as compared, with where each character came from.

    Every name becomes V (a function or class being defined, F or O), every string S; comments
    and blanks are dropped; keywords, operators, punctuation and numbers stay. The map back is
    made at the end, each piece's start repeated over its length (numpy), not piece by piece.
    """
    import numpy as np

    out: list[str] = []
    starts: list[int] = []
    defining = ""
    is_keyword = keyword.iskeyword
    for match in TOKEN.finditer(ESCAPE.sub("  ", code)):
        kind = match.lastgroup
        if kind == "blank" or kind == "comment":
            continue
        if kind == "name":
            text = match.group()
            if is_keyword(text):
                piece, defining = text, _DEFINES.get(text, "")
            else:
                piece, defining = defining or "V", ""
        elif kind == "string":
            piece, defining = "S", ""
        else:
            piece, defining = match.group(), ""
        out.append(piece)
        starts.append(match.start())
    origin = np.repeat(np.array(starts, dtype=np.int64), [len(piece) for piece in out]).tolist()
    return "".join(out), origin


def code_prints(code: str, boilerplate: frozenset[int] | set[int] = frozenset()) -> Prints:
    """Fingerprints of Python code, names and strings normalised, starter code removed."""
    normal, origin = normalise_code(code[:COMPARED_CHARS])
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
    return Prints(winnow(normalise_text(text[:COMPARED_CHARS]), TEXT_K, TEXT_WINDOW, boilerplate), [], TEXT_K)


# ------------------------------------------------------------------------------------------------
# What the comparison keeps of a student: compact fingerprints, never the text


Row = tuple[int, int]       # (student's place in the class, position in their wrong answers)
HEX_DIGEST = re.compile(r"[0-9a-f]{32}")
# The rows are sorted in place by hash range, so a class of any size needs at most this many rows
# (8 bytes each, a few temporaries) at once beyond the fingerprints themselves.
ROWS_PER_BUCKET = 1 << 17


def wrong_dtype():
    """One wrong answer as a fixed-size row: interned case and question, the 128-bit digest (`kind`
    1: a digest that is not 32 hex digits, interned), and the two flags the weighting reads."""
    import numpy as np

    return np.dtype([("case", "<u4"), ("question", "<u4"), ("kind", "u1"), ("hi", "<u8"), ("lo", "<u8"),
                     ("named", "?"), ("degenerate", "?")])


class Interned:
    """Strings as small ints in first-seen order (cases and questions: as many as the assignment
    has, however large the class)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def id(self, text: str) -> int:
        found = self.ids.get(text)
        if found is None:
            found = self.ids[text] = len(self.names)
            self.names.append(text)
        return found


@dataclass(slots=True)
class Reduced:
    """A student as the comparison keeps them once their evidence is read: sorted unique code and
    write-up fingerprints (uint32) and the wrong answers as fixed-size rows, a few KB. The code
    and the text are not kept: the pairs shown are read again (`compare_stream`'s `again`)."""

    student: str
    code: Any           # numpy uint32, sorted, template's fingerprints removed
    text: Any           # the same for the written answers, joined
    wrong: Any          # numpy rows of `wrong_dtype()`, in the order of Evidence.wrong

    @property
    def nbytes(self) -> int:
        return int(self.code.nbytes + self.text.nbytes + self.wrong.nbytes)


class Reducer:
    """Reduces one student's Evidence at a time to a `Reduced` (what the template gave removed).
    Holds the boilerplate and the interned cases and questions for the class."""

    def __init__(self, template: Template | None = None) -> None:
        template = template or Template()
        self.code_boiler: set[int] = code_prints(template.code).hashes if template.code else set()
        self.text_boiler: set[int] = text_prints(template.written).hashes if template.written else set()
        self.cases, self.questions, self.odd_digests = Interned(), Interned(), Interned()
        self.dtype = wrong_dtype()

    def __call__(self, student: Evidence) -> Reduced:
        return Reduced(student.student, sorted_hashes(code_prints(student.code, self.code_boiler).positions),
                       sorted_hashes(text_prints(_joined(student.written), self.text_boiler).positions),
                       self.rows(student.wrong))

    def rows(self, wrong: tuple[AnswerPrint, ...]):
        import numpy as np

        rows = np.zeros(len(wrong), dtype=self.dtype)
        for at, answer in enumerate(wrong):
            if HEX_DIGEST.fullmatch(answer.digest):
                kind, hi, lo = 0, int(answer.digest[:16], 16), int(answer.digest[16:], 16)
            else:
                kind, hi, lo = 1, self.odd_digests.id(answer.digest), 0
            rows[at] = (self.cases.id(answer.case), self.questions.id(answer.question), kind, hi, lo,
                        bool(answer.named), bool(answer.degenerate))
        return rows

    def digest(self, row) -> str:
        return f"{int(row['hi']):016x}{int(row['lo']):016x}" if row["kind"] == 0 \
            else self.odd_digests.names[int(row["hi"])]

    def answer(self, row) -> AnswerPrint:
        """A wrong answer rebuilt from its row alone (its label and value are gone): for a
        submission whose digests changed on disk between the two reads."""
        return AnswerPrint(self.cases.names[int(row["case"])], self.questions.names[int(row["question"])], "",
                           self.digest(row), degenerate=bool(row["degenerate"]))


def sorted_hashes(positions: dict[int, list[int]]):
    """A document's fingerprints as a sorted numpy uint32 array (each below 2**32: `gram_hashes`; 4 bytes each)."""
    import numpy as np

    hashes = np.fromiter(positions, dtype=np.uint32, count=len(positions))
    hashes.sort()
    return hashes


def reduce_class(students: Iterable[Evidence], template: Template = Template()
                 ) -> tuple[list[Reduced], Reducer]:
    """Every student reduced as they arrive, in order; a student seen again replaces the earlier
    record in its place. Only one student's text is held at a time."""
    reducer = Reducer(template)
    kept: list[Reduced] = []
    place: dict[str, int] = {}
    unpacked: list[int] = []
    for student in students:
        reduced = reducer(student)
        if student.student in place:
            kept[place[student.student]] = reduced
        else:
            place[student.student] = len(kept)
            kept.append(reduced)
        unpacked.append(place[student.student])
        del student, reduced           # not held while the next student is read
        if len(unpacked) >= PACKED_STUDENTS:
            _pack(kept, unpacked)
            unpacked = []
    _pack(kept, unpacked)
    return kept, reducer


PACKED_STUDENTS = 256


def _pack(kept: list[Reduced], places: list[int]) -> None:
    """Move the arrays of the students at `places` into one array per kind, each student keeping a
    view of its part. Each student's few KB of fingerprints, made among the large temporaries of
    reading their work, would otherwise stay scattered over the heap and keep it from shrinking
    (at 5,000 students that held more memory than the fingerprints themselves)."""
    import numpy as np

    places = sorted(set(places))
    if not places:
        return
    for name in ("code", "text", "wrong"):
        parts = [getattr(kept[at], name) for at in places]
        joined = np.concatenate(parts)
        ends = np.cumsum([len(part) for part in parts]).tolist()
        for at, start, end in zip(places, [0] + ends[:-1], ends):
            setattr(kept[at], name, joined[start:end])


# ------------------------------------------------------------------------------------------------
# Shared fingerprints: an inverted index, sorted, one range of hash values at a time


def shared_counts(prints: list, limit: int):
    """For every pair of documents (i < j, places in `prints`) that share fingerprints held by at
    most `limit` documents, how many they share: three numpy arrays (i, j, count).

    Each document's fingerprints are sorted, so the class's (hash, document) rows can be taken one
    range of hash values at a time (at most ~ROWS_PER_BUCKET rows held at once), sorted, and cut
    into groups of holders; a group of more than `limit` holders is common knowledge and is not
    expanded into pairs.
    """
    import numpy as np

    count = len(prints)
    total = sum(len(p) for p in prints)
    buckets = max(1, -(-total // ROWS_PER_BUCKET))
    # winnowing keeps each window's smallest hash, so fingerprints crowd the low values: the ranges
    # are cut at the quantiles of a sample, not evenly
    sample = np.sort(np.concatenate([p[::16] for p in prints] or [np.zeros(0, dtype=np.uint32)]))
    edges = sample[(np.arange(1, buckets) * len(sample)) // buckets] if len(sample) else np.zeros(0, dtype=np.uint32)
    del sample
    cuts = np.zeros((count, buckets + 1), dtype=np.int64)
    for at, hashes in enumerate(prints):
        cuts[at, 1:-1] = np.searchsorted(hashes, edges)
        cuts[at, -1] = len(hashes)
    documents = np.arange(count, dtype=np.uint64)
    found_pairs, found_counts = [], []
    for bucket in range(buckets):
        lengths = cuts[:, bucket + 1] - cuts[:, bucket]
        if lengths.sum() == 0:
            continue
        keys = np.concatenate([p[c0:c1] for p, c0, c1 in zip(prints, cuts[:, bucket], cuts[:, bucket + 1])]
                              ).astype(np.uint64)
        keys <<= np.uint64(32)
        keys |= np.repeat(documents, lengths)
        keys.sort()
        hashes = keys >> np.uint64(32)
        starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
        del hashes
        sizes = np.diff(np.r_[starts, len(keys)])
        holders = keys & np.uint64(0xFFFFFFFF)
        del keys
        for size in np.unique(sizes[(sizes >= 2) & (sizes <= limit)]).tolist():
            members = holders[starts[sizes == size][:, None] + np.arange(size)]
            first, second = np.triu_indices(size, 1)
            pairs, counts = np.unique((members[:, first] * np.uint64(count) + members[:, second]).ravel(),
                                      return_counts=True)
            found_pairs.append(pairs)
            found_counts.append(counts)
    if not found_pairs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    pairs, inverse = np.unique(np.concatenate(found_pairs), return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=np.concatenate(found_counts), minlength=len(pairs))
    return (pairs // np.uint64(count)).astype(np.int64), (pairs % np.uint64(count)).astype(np.int64), \
        counts.astype(np.int64)


def overlap_evidence(prints: list, minimum: int, thresholds: Thresholds):
    """For each pair of documents (places in `prints`, `first` < `second`) sharing fingerprints, the
    share of the smaller document's fingerprints found in the other one, as numpy arrays (first,
    second, share); documents with fewer than `minimum` fingerprints are left out."""
    import numpy as np

    chosen = np.array([at for at, hashes in enumerate(prints) if len(hashes) >= minimum], dtype=np.int64)
    first, second, counts = shared_counts([prints[at] for at in chosen.tolist()], thresholds.common)
    first, second = chosen[first], chosen[second]
    sizes = np.array([len(hashes) for hashes in prints], dtype=np.int64)
    smaller = np.minimum(sizes[first], sizes[second])
    shares = np.empty(len(counts), dtype=np.float64)
    for at in range(0, len(counts), ROWS_PER_BUCKET):    # Python's round (correctly rounded), as the
        part = slice(at, at + ROWS_PER_BUCKET)             # shares have always been computed, in slices
        shares[part] = [round(n / m, 4) for n, m in zip(counts[part].tolist(), smaller[part].tolist())]
    return first, second, shares


# ------------------------------------------------------------------------------------------------
# The whole comparison


Again = Callable[[set[str], set[str]], Iterable[Evidence]]
"""`again(names, full)`: the evidence of the students in `names` once more, one at a time, each at
most once; code and written answers are needed only for those in `full` (the others' wrong
answers suffice)."""


def compare_class(students: list[Evidence], template: Template = Template(),
                  thresholds: Thresholds = Thresholds()) -> PairList:
    """Every pair with any evidence, strongest first; `flagged` where a source passes its threshold.
    (The caller holds every Evidence already; `compare_stream` is the form that does not.)"""
    students = list(_unique(students))
    return compare_stream(students, lambda names, full: (s for s in students if s.student in names),
                          template, thresholds)


def compare_stream(students: Iterable[Evidence], again: Again, template: Template = Template(),
                   thresholds: Thresholds = Thresholds()) -> PairList:
    """`compare_class` holding one student's text at a time: `students` is read once and reduced
    (`reduce_class`); the students of flagged pairs, and those whose shared wrong answers a pair
    lists, are read once more through `again` for the details."""
    reduced, reducer = reduce_class(students, template)
    return compare_reduced(reduced, reducer, again, thresholds)


def compare_reduced(reduced: list[Reduced], reducer: Reducer, again: Again,
                    thresholds: Thresholds = Thresholds()) -> PairList:
    """The pairs of a reduced class (`compare_stream`).

    Every pair is a row of numpy arrays (its students' places in name order, its code and text
    shares); only the pairs that share wrong answers or are flagged become `Pair` records with
    their details, so the pairs of a large class cost a few dozen bytes each."""
    import numpy as np

    count = len(reduced)
    names = [r.student for r in reduced]
    by_name = sorted(range(count), key=names.__getitem__)
    rank = np.empty(count, dtype=np.int64)
    rank[by_name] = np.arange(count, dtype=np.int64)
    in_order = [names[at] for at in by_name]

    def keys(first, second):
        a, b = rank[first], rank[second]
        return np.minimum(a, b) * count + np.maximum(a, b)

    numbers, pending = _number_pairs(reduced, reducer, thresholds)
    place = {name: at for at, name in enumerate(names)}
    number_keys = keys(np.array([place[a] for a, _ in numbers], dtype=np.int64),
                       np.array([place[b] for _, b in numbers], dtype=np.int64))
    code_first, code_second, code_shares = overlap_evidence([r.code for r in reduced], MIN_CODE_FINGERPRINTS, thresholds)
    text_first, text_second, text_shares = overlap_evidence([r.text for r in reduced], MIN_TEXT_FINGERPRINTS, thresholds)
    code_keys, text_keys = keys(code_first, code_second), keys(text_first, text_second)
    every = np.unique(np.concatenate([number_keys, code_keys, text_keys]))
    code, text, weight = (np.zeros(len(every)) for _ in range(3))
    code[np.searchsorted(every, code_keys)] = code_shares
    text[np.searchsorted(every, text_keys)] = text_shares
    weight[np.searchsorted(every, number_keys)] = [p.numbers for p in numbers.values()]
    flagged = (code >= thresholds.code) | (text >= thresholds.text) | (weight >= thresholds.numbers)

    rich: dict[int, Pair] = {}
    for at, pair in zip(np.searchsorted(every, number_keys).tolist(), numbers.values()):
        rich[at] = pair
    for at in np.flatnonzero(flagged).tolist():
        if at not in rich:
            key = int(every[at])
            rich[at] = Pair(in_order[key // count], in_order[key % count])
    for at, pair in rich.items():
        pair.code, pair.text = float(code[at]), float(text[at])
    answers = _read_again(reduced, reducer, again, [rich[at] for at in np.flatnonzero(flagged).tolist()], pending)
    _fill_shared_wrong(numbers, pending, answers)
    for pair in rich.values():
        _judge(pair, thresholds)

    # Pair.combined, element by element in the same order of operations, then the same ranking:
    # flagged first, strongest first, then by names
    left = 1.0 - np.minimum(1.0, code)
    left = left * (1.0 - np.minimum(1.0, text))
    left = left * (1.0 - np.minimum(1.0, weight / 2))
    order = np.lexsort((every, -(1.0 - left), ~flagged))
    where = np.empty(len(order), dtype=np.int64)
    where[order] = np.arange(len(order), dtype=np.int64)
    return PairList(in_order, every[order], code[order], text[order],
                    {int(where[at]): pair for at, pair in rich.items()})


class PairList(Sequence):
    """Every pair with any evidence, strongest first, as a read-only sequence of `Pair`.

    A class of thousands has pairs in the hundreds of thousands, almost all of them a shared
    fingerprint or two: those are kept as array rows (the two names' places, the two shares: 24
    bytes) and made into a `Pair` when asked for; the pairs with details (flagged, or sharing wrong
    answers) are kept as they are."""

    def __init__(self, names: list[str], keys, code, text, rich: dict[int, Pair]) -> None:
        self._names, self._keys, self._code, self._text, self._rich = names, keys, code, text, rich

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[at] for at in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        found = self._rich.get(index)
        if found is not None:
            return found
        key, count = int(self._keys[index]), len(self._names)
        return Pair(self._names[key // count], self._names[key % count], float(self._code[index]),
                    float(self._text[index]))

    def __iter__(self) -> Iterator[Pair]:
        for at in range(len(self)):
            yield self[at]

    @property
    def flagged(self) -> list[Pair]:
        """The flagged pairs (they come first), without making a Pair of every other one."""
        return [self._rich[at] for at in sorted(self._rich) if self._rich[at].flagged]

    @property
    def nbytes(self) -> int:
        """The arrays' bytes (the rich pairs' records not counted)."""
        return int(self._keys.nbytes + self._code.nbytes + self._text.nbytes)


def _passes(pair: Pair, thresholds: Thresholds) -> bool:
    """Whether `_judge` will flag the pair (it gives a reason for each source that passes)."""
    return pair.code >= thresholds.code or pair.text >= thresholds.text or pair.numbers >= thresholds.numbers


def _read_again(reduced: list[Reduced], reducer: Reducer, again: Again, flagged: list[Pair],
                pending: dict[tuple[str, str], list[tuple[Row, Row]]]) -> dict[Row, AnswerPrint]:
    """The second, bounded pass: the flagged pairs' details (`_details`) and the shared wrong
    answers' AnswerPrints, reading each student concerned once, one at a time."""
    place = {r.student: at for at, r in enumerate(reduced)}
    rows: dict[int, set[int]] = defaultdict(set)
    for pair_rows in pending.values():
        for ra, rb in pair_rows:
            rows[ra[0]].add(ra[1])
            rows[rb[0]].add(rb[1])
    of_student: dict[str, list[Pair]] = defaultdict(list)
    for pair in flagged:
        of_student[pair.a].append(pair)
        if pair.b != pair.a:
            of_student[pair.b].append(pair)
    full = set(of_student)
    names = full | {reduced[at].student for at in rows}
    answers: dict[Row, AnswerPrint] = {}
    marks: dict[int, list[list[tuple[int, int]]]] = {}
    parts: dict[str, list[tuple[str, Any]]] = {}
    seen: set[str] = set()
    for student in again(names, full):
        at = place.get(student.student)
        if at is None or student.student in seen or student.student not in names:
            continue
        seen.add(student.student)
        for position in rows.get(at, ()):
            answers[(at, position)] = _answer_again(student.wrong, position, reduced[at].wrong[position], reducer)
        if student.student in full:
            _marks(student, reduced, place, reducer, of_student[student.student], marks)
            parts[student.student] = [(part, sorted_hashes(text_prints(text, reducer.text_boiler).positions))
                                      for part, text in student.written]
    for at, positions in rows.items():          # not read again: rebuilt from the rows
        for position in positions:
            if (at, position) not in answers:
                answers[(at, position)] = reducer.answer(reduced[at].wrong[position])
    for pair in flagged:
        if pair.code > 0:
            found = marks.get(id(pair), [[], []])
            pair.code_marks = (found[0], found[1])
        pair.text_parts = _text_parts(parts.get(pair.a, []), parts.get(pair.b, []))
    return answers


def _answer_again(wrong: tuple[AnswerPrint, ...], position: int, row, reducer: Reducer) -> AnswerPrint:
    """The AnswerPrint a row was reduced from, read again; rebuilt from the row if it changed."""
    if position < len(wrong):
        answer = wrong[position]
        if answer.case == reducer.cases.names[int(row["case"])] and answer.digest == reducer.digest(row):
            return answer
    return reducer.answer(row)


def _marks(student: Evidence, reduced: list[Reduced], place: dict[str, int], reducer: Reducer,
           pairs: list[Pair], marks: dict[int, list[list[tuple[int, int]]]]) -> None:
    """This student's side of each flagged pair's highlighted code."""
    import numpy as np

    prints = None
    mine = reduced[place[student.student]].code
    for pair in pairs:
        if pair.code <= 0:
            continue
        if prints is None:
            prints = code_prints(student.code, reducer.code_boiler)
        for side, name in enumerate((pair.a, pair.b)):
            if name == student.student:
                other = reduced[place[pair.b if side == 0 else pair.a]].code
                shared = set(np.intersect1d(mine, other, assume_unique=True).tolist())
                marks.setdefault(id(pair), [[], []])[side] = _spans(prints, shared)


def _text_parts(first: list[tuple[str, Any]], second: list[tuple[str, Any]]) -> list[tuple[str, float]]:
    """Which written parts match: for each part both wrote, the share of the shorter one's
    fingerprints found in the other's."""
    import numpy as np

    parts_b = dict(second)
    found = []
    for part, a in first:
        if part in parts_b:
            b = parts_b[part]
            if len(a) and len(b):
                shared = len(np.intersect1d(a, b, assume_unique=True))
                if shared:
                    found.append((part, round(shared / min(len(a), len(b)), 4)))
    return found


def _unique(students: Iterable[Evidence]) -> Iterator[Evidence]:
    """The students, each name once (the first)."""
    seen: set[str] = set()
    for student in students:
        if student.student not in seen:
            seen.add(student.student)
            yield student


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
