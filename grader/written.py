"""Written answers: collecting the free-text parts for a person, and reading answers stated in prose.

Two kinds of submission carry written answers:

* A notebook (or a Markdown file) made from the template. Each answer cell starts with a marker
  line, `<!-- answer: ID -->` (`Assignment.answer_marker` names the word `answer`). A part's text is
  its marked cell plus the markdown cells that follow it, up to the next marker or code cell.
* A submission written as prose (`.md`/`.txt`, no markers), like a LaTeX write-up. Where its parts
  begin is homework-specific ("Exercise 2 ... (c)"), so the assignment supplies a parser
  (`Assignment.written_parser`: text -> `WrittenParse`) that returns the text of each part and any
  auto-graded answers the text states (e.g. "W^{30} = [matrix]").

`collect` and `parse_written` are the two `pipeline.Extras` hooks (wired in `session.default_extras`).
Neither runs student code, and both are total: whatever the text, they return a value.
Everything kept from a submission goes through `grader.text.clean` and is bounded in length.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .load import WRITTEN, Program, Unit
from .results import WrittenAnswer
from .spec import Assignment, CaseSet, WrittenPart
from .text import clean

# One written part is a few paragraphs of LaTeX; a part longer than this is cut (and says so).
PART_LIMIT = 20000
# The template's own words in an answer cell; an answer that is only these is no answer.
_PLACEHOLDERS = (re.compile(r"\*\*\s*Your answer[^*\n]{0,40}\*\*\s*:?", re.IGNORECASE),
                 re.compile(r"_write here_", re.IGNORECASE))


# A markdown cell that opens with a heading starts a new section of the notebook.
_HEADING = re.compile(r"\s*#{1,6}\s")


@dataclass
class WrittenParse:
    """What an assignment's prose parser found in a written submission.

    `parts`: written-part id -> the text of that part (only parts that were found).
    `answers`: auto-graded question id -> the value the text states (e.g. an array).
    """

    parts: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)


def marker_pattern(word: str = "answer") -> re.Pattern[str]:
    """`<!-- answer: ID -->`, tolerant of spacing and case; group 1 is the part id."""
    return re.compile(r"<!--\s*" + re.escape(word) + r"\s*:\s*([A-Za-z0-9][\w.\-]*)\s*-->", re.IGNORECASE)


def marked_parts(program: Program, marker: str = "answer") -> dict[str, str]:
    """The text of every marked answer in a program's markdown, by part id (raw, not yet cleaned).

    Cells are taken in notebook order. An answer runs from its marker over the markdown cells that
    follow, and ends at a code cell, at the next marker, or at a markdown cell that starts with a
    heading (`## Exercise 3`, `### 3(b)`: the template's next question, not the student's answer).
    A marker may sit anywhere in a cell (students sometimes type above it): text before the first
    marker of a cell continues the open answer, if any. A part marked twice gets both texts, in order.
    """
    pattern = marker_pattern(marker)
    code = {unit.index for unit in program.units + program.not_run}
    cells: list[tuple[int, Unit | None]] = sorted(
        [(u.index, u) for u in program.markdown] + [(i, None) for i in code], key=lambda item: item[0])
    texts: dict[str, list[str]] = {}
    current: str | None = None
    for _, cell in cells:
        if cell is None:            # a code cell
            current = None
            continue
        pieces = pattern.split(cell.source)      # [before, id1, text1, id2, text2, ...]
        if _HEADING.match(pieces[0]):
            current = None
        if current is not None and pieces[0].strip():
            texts[current].append(pieces[0])
        for part_id, text in zip(pieces[1::2], pieces[2::2]):
            current = part_id.lower()
            texts.setdefault(current, []).append(text)
    return {part_id: "\n\n".join(t.strip("\n") for t in chunks) for part_id, chunks in texts.items()}


def has_markers(program: Program, marker: str = "answer") -> bool:
    pattern = marker_pattern(marker)
    return any(pattern.search(unit.source) for unit in program.markdown)


def answer_text(raw: str) -> str:
    """A part's text as a person should see it: the template's placeholders gone, cleaned, bounded."""
    text = raw
    for placeholder in _PLACEHOLDERS:
        text = placeholder.sub("", text)
    return clean(text.strip(), PART_LIMIT).strip()


def prose(program: Program) -> str:
    """The whole text of a written submission (all its markdown units, in order)."""
    return "\n\n".join(unit.source for unit in sorted(program.markdown, key=lambda u: u.index))


def parse_prose(program: Program, assignment: Assignment) -> WrittenParse:
    """The assignment's parser applied to a written submission; empty for anything else."""
    if program.kind != WRITTEN or assignment.written_parser is None:
        return WrittenParse()
    parsed = assignment.written_parser(prose(program))
    if not isinstance(parsed, WrittenParse):
        raise TypeError(f"{assignment.name}'s written_parser returned {type(parsed).__name__}, not WrittenParse")
    return parsed


def collect(program: Program, assignment: Assignment) -> list[WrittenAnswer]:
    """One `WrittenAnswer` per written part of the assignment, in the assignment's order.

    Marked answers win; a written submission without markers is split by the assignment's parser.
    A part counts as found when there is some text for it beyond the template's placeholder.
    """
    if has_markers(program, assignment.answer_marker):
        raw = marked_parts(program, assignment.answer_marker)
    elif program.kind == WRITTEN:
        raw = parse_prose(program, assignment).parts
    else:
        raw = {}
    return [_answer(part, answer_text(raw.get(part.id.lower(), ""))) for part in assignment.written]


def unanswered(assignment: Assignment) -> list[WrittenAnswer]:
    """Every written part, not found: what a submission that could not be read has. Its total is
    then out of the same maximum as everyone else's (grader.totals)."""
    return [_answer(part, "") for part in assignment.written]


def _answer(part: WrittenPart, text: str) -> WrittenAnswer:
    return WrittenAnswer(id=part.id, title=part.title, max_score=float(part.points), text=text,
                         rubric=part.rubric, score=None, found=bool(text))


def parse_written(program: Program, case_set: CaseSet) -> dict[str, Any]:
    """{question id: value} for the auto-graded answers a written submission states in its text.

    Only ids of the assignment's questions are kept; the pipeline compares each value with the
    reference exactly as it would a value returned by code.
    """
    parsed = parse_prose(program, case_set.assignment)
    known = {q.id for q in case_set.assignment.questions}
    return {qid: value for qid, value in parsed.answers.items() if qid in known}
