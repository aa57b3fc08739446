"""Reading an HW3 answer written as prose (Markdown with LaTeX, like shared/seed/*.txt).

Three jobs, all heuristics tuned to how students lay out this homework, none of which may fail:

* **Where each part is.** Sections start at "Exercise 1/2/3" headings (or "## 2 ..." numbered
  headings); parts start at lines that begin with "(a)", "b)", "### 2(c)", "**(b)**", and so on.
  Without exercise headings, the exercise number is read from "2(c)" or counted from the letters
  starting again at (a). Parts 1(a), 1(b), 2(a), 2(b), 2(c), 3(a), 3(c) go to a person.
* **2(c): W³⁰.** The matrix after "W^{30} =" (pmatrix/bmatrix/array/…, nested brackets, or a bare
  "0" for the zero matrix). In a chain "W^{30} = Q Λ^{30} Q^{-1} = [product] = [result]" the last
  lone matrix of the chain is the answer.
* **3(b): the always-positive quantities.** Names (f_t, i_t, o_t, C̃_t, C_t, h_t, in LaTeX or words)
  in clauses that call them positive, minus those in clauses that say they can be negative.

A value that cannot be read is simply not stated: the pipeline then reports the question as not
found in the text, and the part's text still reaches the TA.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import numpy as np

from grader.written import WrittenParse

# (exercise, letter) of the homework -> the written part a TA grades
PART_OF = {"1a": "1a-derivation", "1b": "1b-derivation", "2a": "2a-expansion", "2b": "2b-proof",
           "2c": "2c-observations", "3a": "3a-gates", "3c": "3c-interpretation"}
TAIL_LIMIT = 4000            # how far after "W^{30}" its equation may run
MAX_ANCHORS = 50             # the last this many "W^{30}" of a text are read (bounds the work)
MAX_ENTRIES = 64             # a matrix larger than this is not an answer to 2(c)
CLAIM_TEXT_LIMIT = 20000     # how much text is searched for "... are positive"


def parse(text: str) -> WrittenParse:
    """The parts and the auto-graded answers of an HW3 write-up."""
    sections = split_sections(text)
    parts = {PART_OF[key]: body for key, body in sections.items() if key in PART_OF and body.strip()}
    answers = {}
    w30 = find_w30(sections.get("2c", "")) if "2c" in sections else None
    if w30 is None:
        w30 = find_w30(text)
    if w30 is not None:
        answers["2c"] = w30
    positive = find_always_positive(sections["3b"]) if "3b" in sections else None
    if positive is None and "3b" not in sections:
        positive = find_always_positive(text)
    if positive is not None:
        answers["3b"] = positive
    return WrittenParse(parts=parts, answers=answers)


# ------------------------------------------------------------------------------------------------
# sections

# Matched against a line with its indentation removed. Each run of blanks belongs to exactly one
# part of a pattern (no two optional blank runs side by side), so no line makes them backtrack.
_HEAD = r"(?:\#{1,6}[ \t]*)?(?:(?:\*\*|__)[ \t]*)?"
_EXERCISE = re.compile(_HEAD + r"(?:\d+[ \t]*(?:[.:)][ \t]*)?)?(?:exercise|problem|question|aufgabe)[ \t]*(\d)\b",
                       re.IGNORECASE)
_NUMBERED_HEADING = re.compile(r"#{1,6}[ \t]*(\d)(?:[ \t]*[.:])?[ \t]+[^\W\d_(]", re.UNICODE)
_PART = re.compile(
    _HEAD + r"""(?:(?:part|exercise|problem|question)[ \t]*)?
        (?:(?P<ex>\d)[ \t]*(?:\.[ \t]*)?)?
        (?:\((?P<a>[a-c])\)|(?P<b>[a-c])\))
        (?:\*\*|__)?\*?(?=\s|$|[:.\-—–*])""", re.IGNORECASE | re.VERBOSE)
_HEADING_PART = re.compile(r"#{1,6}[ \t]*(?P<ex>\d)[ \t]*(?:\.[ \t]*)?(?P<a>[a-c])\b", re.IGNORECASE)


@dataclass
class _Cursor:
    exercise: int | None = None
    counted: int = 0               # exercises inferred from letters restarting at (a)
    last_letter: str = ""
    key: str | None = None


def split_sections(text: str) -> dict[str, str]:
    """{"1a": text, "2c": text, ...}: the text under each part marker, up to the next marker."""
    cursor = _Cursor()
    chunks: dict[str, list[str]] = {}
    for line in text.splitlines():
        head = line.lstrip()
        part = _PART.match(head) or _HEADING_PART.match(head)
        exercise = None if part else (_EXERCISE.match(head) or _NUMBERED_HEADING.match(head))
        if exercise:
            cursor.exercise, cursor.key, cursor.last_letter = int(exercise.group(1)), None, ""
            continue
        if part:
            letter = (part.group("a") or part.groupdict().get("b") or "").lower()
            cursor.key = _key(cursor, part.group("ex"), letter)
            chunks.setdefault(cursor.key, []).append(head[part.end():])
            continue
        if cursor.key is not None:
            chunks[cursor.key].append(line)
    return {key: "\n".join(lines).strip("\n") for key, lines in chunks.items()}


def _key(cursor: _Cursor, number: str | None, letter: str) -> str:
    if number:
        exercise = int(number)
        cursor.exercise = exercise
    elif cursor.exercise is not None:
        exercise = cursor.exercise
    else:
        if cursor.counted == 0 or letter <= cursor.last_letter:
            cursor.counted += 1
        exercise = cursor.counted
    cursor.last_letter = letter
    return f"{exercise}{letter}"


# ------------------------------------------------------------------------------------------------
# 2(c): W^30

_W30 = re.compile(r"W(?:\s*\})?\s*(?:\^\s*\{\s*30\s*\}|\^\s*\(\s*30\s*\)|\^\s*30(?!\d)|³⁰|_\s*\{\s*30\s*\}|_\s*30(?!\d)"
                  r"|\*\*\s*30(?!\d))")
_ENV = re.compile(r"\\begin\s*\{\s*(?P<env>[pbBvV]?matrix\*?|smallmatrix|array)\s*\}(?:\s*\{[^{}]*\})?"
                  r"(?P<body>.*?)\\end\s*\{\s*(?P=env)\s*\}", re.DOTALL)
_NESTED = re.compile(r"\[\s*\[[^\[\]]*\](?:\s*(?:,\s*)?\[[^\[\]]*\])*\s*(?:,\s*)?\]")
_SEMICOLON = re.compile(r"\[[^\[\];]*;[^\[\]]*\]")
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")
_RELATION = re.compile(r"=|≈|\\approx\b|\\simeq\b|\\doteq\b|\\equiv\b")
_FILLER = re.compile(r"\\left\b|\\right\b|\\[,;:! ]|\\q?quad\b|\\\\|\\cr\b|\\displaystyle\b|[\s$&.,~()\[\]{}]")
_ZERO = re.compile(r"^(?:\\(?:mathbf|boldsymbol|bm|mathbb)\s*\{?\s*[0O]\s*\}?|0|\\mathbf\s*0)"
                   r"(?:_\s*\{?\s*2\s*\\times\s*2\s*\}?)?$")


def find_w30(text: str) -> np.ndarray | None:
    """The matrix the text gives for W^30, or None: the last "W^{30} = ..." that states one.

    Each equation runs from its "W^{30}" to the end of the paragraph, the next "W^{30}", or
    TAIL_LIMIT characters, whichever comes first.
    """
    text = _BLANKS.sub(" ", text)       # one blank per run: no regex below backtracks over long runs
    anchors = list(_W30.finditer(text))[-MAX_ANCHORS:]
    ends = [a.start() for a in anchors[1:]] + [len(text)]
    for anchor, end in reversed(list(zip(anchors, ends))):
        tail = _paragraph(text[anchor.end(): min(end, anchor.end() + TAIL_LIMIT)])
        value = _chain_value(tail)
        if value is not None:
            return value
    return None


def _paragraph(text: str) -> str:
    end = re.search(r"\n\s*\n", text)
    return text[: end.start()] if end else text


@dataclass(frozen=True)
class _Matrix:
    start: int
    end: int
    value: np.ndarray | None     # None when its entries are not all numbers


def _matrices(text: str) -> list[_Matrix]:
    spans: list[_Matrix] = []
    for match in _ENV.finditer(text):
        spans.append(_Matrix(match.start(), match.end(), _latex_matrix(match.group("body"))))
    for pattern, reader in ((_NESTED, _nested_matrix), (_SEMICOLON, _semicolon_matrix)):
        for match in pattern.finditer(text):
            if not any(m.start <= match.start() < m.end for m in spans):
                spans.append(_Matrix(match.start(), match.end(), reader(match.group(0))))
    return sorted(spans, key=lambda m: m.start)


def _chain_value(tail: str) -> np.ndarray | None:
    """In "= A = B = [matrix] ..." the last segment that is one numeric matrix and nothing else."""
    matrices = _matrices(tail)
    cuts = [m.start() for m in _RELATION.finditer(tail)
            if not any(x.start <= m.start() < x.end for x in matrices)]
    if not cuts or _residue(tail[: cuts[0]]):
        return None                      # "W^{30}" not followed by "=": a mention, not an answer
    bounds = list(zip(cuts, cuts[1:] + [len(tail)]))
    value = None
    for start, end in bounds:
        segment = tail[start:end]
        segment = _RELATION.sub("", segment, count=1) if _RELATION.match(segment) else segment
        offset = end - len(segment)
        inside = [m for m in matrices if start <= m.start and m.end <= end]
        if not inside:
            if _ZERO.match(_residue(segment)):
                value = np.zeros((2, 2))
            elif _residue(segment) and "\n" in segment.strip():
                break                    # the equation ended; another line of text began
            continue
        before = _residue(tail[offset: inside[0].start])
        after = _residue(tail[inside[-1].end: end])
        if len(inside) == 1 and not before and inside[0].value is not None:
            value = inside[0].value
        if after:
            break                        # text after the matrix: the next statement has begun
    return value


def _residue(text: str) -> str:
    return _FILLER.sub("", text)


def _latex_matrix(body: str) -> np.ndarray | None:
    rows = [row for row in re.split(r"\\\\|\\cr\b", body)]
    cells = [[c for c in row.split("&") if c.strip()] for row in rows]
    return _numeric([r for r in cells if r])


def _nested_matrix(text: str) -> np.ndarray | None:
    rows = re.findall(r"\[([^\[\]]*)\]", text[1:-1])
    return _numeric([[c for c in re.split(r"[,\s]+", row) if c] for row in rows])


def _semicolon_matrix(text: str) -> np.ndarray | None:
    rows = text[1:-1].split(";")
    return _numeric([[c for c in re.split(r"[,\s]+", row) if c] for row in rows])


def _numeric(rows: list[list[str]]) -> np.ndarray | None:
    if not rows or any(len(r) != len(rows[0]) for r in rows) or len(rows) * len(rows[0]) > MAX_ENTRIES:
        return None
    values = [[number(c) for c in row] for row in rows]
    if any(v is None for row in values for v in row):
        return None
    return np.array(values, dtype=np.float64)


_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_TIMES_TEN = re.compile(r"(?:\\times|\\cdot|×|·|\*|x)?\s*10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?$")
_FRAC = re.compile(r"^([+-]?)\\d?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}$")


def number(cell: str) -> float | None:
    """A LaTeX or plain number ("0.0153", "-1.5e-2", "1.5 \\times 10^{-2}", "\\frac{1}{4}"), or None."""
    text = re.sub(r"\\[,;:! ]|\\left|\\right|[\s$]", "", cell).replace("−", "-").replace("–", "-")
    while text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    frac = _FRAC.match(text)
    if frac:
        num, den = number(frac.group(2)), number(frac.group(3))
        if num is None or not den:
            return None
        return (-1 if frac.group(1) == "-" else 1) * num / den
    scale = 0
    power = _TIMES_TEN.search(text)
    if power:
        scale, text = int(power.group(1)), text[: power.start()] or "1"
    if not _NUMBER.match(text):
        return None
    value = float(text) * 10.0 ** scale if abs(scale) < 300 else None
    return value if value is not None and np.isfinite(value) else None


# ------------------------------------------------------------------------------------------------
# 3(b): the always-positive quantities

_NAMES = (   # order matters: C̃ before C
    ("c_tilde", r"\\(?:tilde|widetilde)\s*\{?\s*[cC]\s*(?:_\s*\{?\s*t\s*\}?)?\s*\}?(?:_\s*\{?\s*t\s*\}?)?"
                r"|[cC]\u0303(?:_\s*\{?\s*t\s*\}?)?|\b[cC]_?tilde\b|\b[cC]\s*tilde\b|candidate(?:\s+cell)?(?:\s+state)?"),
    ("c", r"\b[cC]_\s*\{?\s*t\s*(?:-\s*1)?\s*\}?|\bcell\s+state|(?<![\w\\])C(?![\w'])|(?<![\w\\])c(?![\w'])"),
    ("h", r"\bh_\s*\{?\s*t\s*(?:-\s*1)?\s*\}?|\bhidden\s+state|(?<![\w\\])h(?![\w'])"),
    ("f", r"\bf_\s*\{?\s*t\s*\}?|\bforget\s+gates?|(?<![\w\\])f(?![\w'(])"),
    ("i", r"\bi_\s*\{?\s*t\s*\}?|\binput\s+gates?|(?<![\w\\])i(?![\w'])"),
    ("o", r"\bo_\s*\{?\s*t\s*\}?|\boutput\s+gates?|(?<![\w\\])o(?![\w'])"),
)
_QUOTED = re.compile(r"""["'](c_tilde|f|i|o|c|h)["']""")
_CLAUSE_BREAK = re.compile(r"[.;!?](?=\s|$)|\n|\\\\|\b(?:while|whereas|but|however|although|though|since|"
                           r"because|so|thus|hence|therefore|as|unlike|except)\b", re.IGNORECASE)
_POSITIVE = re.compile(r"(?<!non)(?<!non-)positive|\bnon-?negative|>\s*0|greater\s+than\s+(?:0|zero)"
                       r"|(?:\\in|∈)\s*\(\s*0\s*,\s*1\s*\)", re.IGNORECASE)
_NOT = re.compile(r"\bnot\b|n't\b|\bnever\b|\bno\b", re.IGNORECASE)
_NEGATED = re.compile(r"(?:\bnot\b|n't\b|\bnever\b|\bno\b)[^.;]{0,25}$", re.IGNORECASE)
_NEGATIVE = re.compile(r"(?<!non-)(?<!non)\bnegative\b|\bnon-?positive\b|<\s*0|\bsigned\b|change\s+sign",
                       re.IGNORECASE)


def find_always_positive(text: str) -> frozenset[str] | None:
    """The names the text calls always positive, or None when it calls nothing positive.

    Within a clause, each name belongs to the nearest statement after it ("f_t and i_t are
    positive"), or else to the nearest before it ("positive: f_t, i_t"; "..., not h_t").
    """
    positive: set[str] = set()
    negative: set[str] = set()
    for clause in _CLAUSE_BREAK.split(_plain(text[:CLAIM_TEXT_LIMIT])):
        if not clause or not clause.strip():
            continue
        claims = sorted(_claims(clause))
        if not claims:
            continue
        places = [at for at, _ in claims]
        for where, name in _names(clause):
            nearest = bisect.bisect_left(places, where)          # the first claim at or after the name
            sign = claims[nearest][1] if nearest < len(claims) else claims[-1][1]
            (positive if sign > 0 else negative).add(name)
    found = positive - negative
    return frozenset(found) if found else None


def _claims(clause: str) -> list[tuple[int, int]]:
    """(position, +1 or -1) of every "is positive" and "can be negative" in a clause."""
    claims = [(m.start(), -1 if _NEGATED.search(clause[max(0, m.start() - 40): m.start()]) else +1)
              for m in _POSITIVE.finditer(clause)]
    claims += [(m.start(), -1) for m in _NEGATIVE.finditer(clause)]
    # a "not" that negates no "positive" after it is a claim of its own: "..., not h_t"
    claims += [(m.start(), -1) for m in _NOT.finditer(clause)
               if not _POSITIVE.search(clause[m.end(): m.end() + 25])]
    return claims


def _plain(text: str) -> str:
    """LaTeX spacing and text macros out of the way; "\\text{are positive}" -> "are positive"."""
    text = re.sub(r"\\(?:text|mathrm|textbf|textit|mathit|operatorname|emph)\s*\{([^{}]*)\}", r" \1 ", text)
    text = re.sub(r"\\[,;:! ]|\\q?quad\b|\\left\b|\\right\b|\$|~|\\bigodot|\\odot", " ", text)
    return _BLANKS.sub(" ", text.replace("−", "-"))


def _names(clause: str) -> list[tuple[int, str]]:
    """(position, name) of every quantity named in a clause."""
    found = [(m.start(), m.group(1)) for m in _QUOTED.finditer(clause)]
    clause = _QUOTED.sub(lambda m: " " * len(m.group(0)), clause)
    for name, pattern in _NAMES:
        for m in re.finditer(pattern, clause):
            found.append((m.start(), name))
        clause = re.sub(pattern, lambda m: " " * len(m.group(0)), clause)
    return sorted(found)
