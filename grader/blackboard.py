"""Blackboard Learn's "Assignment File Download" (Grade Center), read as `lms.read_intake` reads the others.

The zip (`gradebook_<course>_<assignment>_<time>.zip`) is flat. Each attempt is a receipt
`<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt` and the attempt's files, each
`<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<original file name>`. The receipt says:

    Name: Ada Lovelace (alovelace)
    Assignment: HW3
    Date Submitted: Monday, March 1, 2021 11:59:00 PM EST
    Current Grade: Needs Grading

    Submission Field:
    There is no student submission text data for this assignment.

    Comments:
    There are no student comments for this assignment.

    Files:
    	Original filename: hw3.ipynb
    	Filename: HW3_alovelace_attempt_2021-03-01-23-59-00_hw3.ipynb

The username (in parentheses after the name) is the identity; since a username or an assignment name
may hold `_`, it is taken from the receipt, and from the file name only for an attempt without one
(the text after the assignment name that the other receipts give). With "all attempts" downloaded,
a student has several: the newest is graded and the others are named in the report. The time in the
file name is the server's wall clock with no zone; the receipt's zone is read when it names one
offset (EST, CET, UTC...), never when it could name two (CST, IST, BST): then no late penalty.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath

from . import lms
from .results import Problem, Student

BLACKBOARD = "blackboard"
MEMBER = re.compile(r"^(?P<key>(?P<head>.+?)_attempt_(?P<stamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d))"
                    r"(?:_(?P<orig>.+)|(?P<receipt>\.txt))$", re.S)
MAX_RECEIPT_BYTES = 1 << 20
NAME_LINE = re.compile(r"^\s*Name:\s*(?P<name>.*?)\s*\((?P<user>[^()\n]+)\)\s*$", re.M)
FIELD_LINE = r"^\s*{}:[ \t]*(?P<value>[^\n]*?)\s*$"
FILE_PAIR = re.compile(r"^\s*Original filename:[ \t]*(?P<orig>[^\n]*?)\s*\n\s*Filename:[ \t]*(?P<stored>[^\n]*?)\s*$",
                       re.M)
NO_TEXT = "There is no student submission text data for this assignment."
DATE_FORMAT = "%A, %B %d, %Y %I:%M:%S %p"
# Abbreviations that name one offset only (CST, IST, BST... name several: such a time is not used)
ZONES = {"UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
         "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "WET": 0, "WEST": 1, "CET": 1, "CEST": 2, "EET": 2,
         "EEST": 3, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "ACST": 9.5, "ACDT": 10.5, "AWST": 8,
         "NZST": 12, "NZDT": 13}


def is_blackboard(flat: list[str]) -> bool:
    """At least half the files at the top are attempt files or receipts, and one is a receipt."""
    matched = [MEMBER.match(name) for name in flat]
    return (bool(flat) and sum(m is not None for m in matched) >= 0.5 * len(flat)
            and any(m is not None and m["receipt"] for m in matched))


@dataclass
class Attempt:
    """One attempt: its receipt (if any) and its files, by the part of their names they share."""

    key: str
    head: str
    stamp: str
    receipt: lms.Member | None = None
    files: list[tuple[lms.Member, str]] = field(default_factory=list)


@dataclass
class Receipt:
    name: str = ""
    user: str = ""
    assignment: str = ""
    when: str = ""              # ISO 8601, "" when the zone names no single offset
    when_text: str = ""
    text: bool = False          # something was typed into the Submission Field
    originals: dict[str, str] = field(default_factory=dict)     # stored file name -> original


def read(source: lms.Source, prefix: str, zone: str = "") -> lms.Intake:
    """The download's hand-ins; `zone` (the late policy's IANA zone) reads a receipt's time whose
    abbreviation names several offsets (CST) when it is that zone's own abbreviation then."""
    attempts, skipped = _attempts(source, prefix)
    receipts = {key: _receipt(source, a.receipt, zone) for key, a in attempts.items() if a.receipt is not None}
    assignment = _assignment(attempts, receipts)
    by_user: dict[str, list[tuple[Attempt, Receipt | None]]] = {}
    for key, attempt in attempts.items():
        user = _user(attempt, receipts.get(key), assignment)
        by_user.setdefault(user, []).append((attempt, receipts.get(key)))
    found = [_found(user, sorted(tries, key=lambda t: t[0].stamp)) for user, tries in by_user.items()]
    return lms.Intake(BLACKBOARD, source, sorted(found, key=lambda f: (f.student.name, f.key)), skipped)


def _attempts(source: lms.Source, prefix: str) -> tuple[dict[str, Attempt], list[str]]:
    attempts: dict[str, Attempt] = {}
    skipped = []
    for member in source.members:
        rel = member.path[len(prefix):] if member.path.startswith(prefix) else "/"
        m = MEMBER.match(rel) if "/" not in rel else None
        if m is None:
            skipped.append(f"{member.path}: does not follow Blackboard's naming rule; skipped")
            continue
        attempt = attempts.setdefault(m["key"], Attempt(m["key"], m["head"], m["stamp"]))
        if m["receipt"]:
            attempt.receipt = member
        else:
            attempt.files.append((member, m["orig"]))
    return attempts, skipped


def _receipt(source: lms.Source, member: lms.Member, zone: str = "") -> Receipt:
    """What a receipt says; an empty Receipt when it cannot be read (the file name still tells the user)."""
    if member.problem or member.size > MAX_RECEIPT_BYTES:
        return Receipt()
    try:
        text = source.read(member).decode("utf-8-sig", "replace").replace("\r\n", "\n")
    except Exception:  # noqa: BLE001 - a broken member costs this receipt only
        return Receipt()
    found = Receipt()
    if (m := NAME_LINE.search(text)) is not None:
        found.name, found.user = lms._scalar(m["name"]), lms._scalar(m["user"])
    found.assignment = _field(text, "Assignment")
    found.when_text = _field(text, "Date Submitted")
    found.when = _when(found.when_text, zone)
    body = text.split("Submission Field:", 1)[1].split("Comments:", 1)[0].strip() if "Submission Field:" in text else ""
    found.text = bool(body) and body != NO_TEXT
    found.originals = {m["stored"]: m["orig"] for m in FILE_PAIR.finditer(text)}
    return found


def _field(text: str, name: str) -> str:
    m = re.search(FIELD_LINE.format(re.escape(name)), text, re.M)
    return lms._scalar(m["value"]) if m else ""


def _when(text: str, zone: str = "") -> str:
    """"Monday, March 1, 2021 11:59:00 PM EST" as ISO 8601, or "" when the abbreviation is not one
    offset and not `zone`'s own at that time (`late.abbreviated`)."""
    from .late import abbreviated

    stamp, _, named = text.rpartition(" ")
    try:
        naive = datetime.strptime(stamp.strip(), DATE_FORMAT)
    except ValueError:
        return ""
    if named.upper() in ZONES:
        return naive.replace(tzinfo=timezone(timedelta(hours=ZONES[named.upper()]))).isoformat()
    when = abbreviated(naive, named, zone) if zone else None
    return when.isoformat() if when is not None else ""


def _assignment(attempts: dict[str, Attempt], receipts: dict[str, Receipt]) -> str:
    """The assignment part of the file names: a receipt's head without `_<username>`."""
    for key, receipt in receipts.items():
        head = attempts[key].head
        if receipt.user and head.endswith("_" + receipt.user):
            return head[: -len(receipt.user) - 1]
    return ""


def _user(attempt: Attempt, receipt: Receipt | None, assignment: str) -> str:
    if receipt is not None and receipt.user and attempt.head.endswith("_" + receipt.user):
        return receipt.user
    if assignment and attempt.head.startswith(assignment + "_"):
        return attempt.head[len(assignment) + 1:]
    return attempt.head.rpartition("_")[2]


def _found(user: str, tries: list[tuple[Attempt, Receipt | None]]) -> lms.Found:
    """The newest attempt, graded; the older ones named in a note."""
    attempt, receipt = tries[-1]
    receipt = receipt or Receipt()
    student = Student(id=lms._scalar(user), name=receipt.name or lms._scalar(user), lms=BLACKBOARD,
                      submission_id=attempt.stamp, submitted_at=receipt.when)
    found = lms.Found(student)
    for member, stored in sorted(attempt.files, key=lambda f: f[0].path):
        found.add(member, receipt.originals.get(PurePosixPath(member.path).name, stored))
    if len(tries) > 1:
        older = ", ".join(t[0].stamp for t in tries[:-1])
        found.notes.append(Problem("lms-older-upload", f"Blackboard holds {len(tries)} attempts; the newest "
                                                       f"({attempt.stamp}) was graded, not {older}"))
    if attempt.receipt is None:
        found.notes.append(Problem("lms-time-unknown", "this attempt has no Blackboard receipt (.txt): its time "
                                                       "is not known, so no late penalty is applied to it"))
    elif receipt.when_text and not receipt.when:
        found.notes.append(Problem("lms-time-unknown", f"Blackboard's receipt says {receipt.when_text!r}, whose "
                                                       "time zone the grader cannot tell: no late penalty is "
                                                       "applied to it. Set [late] zone to the Blackboard server's "
                                                       "zone (e.g. \"America/Chicago\") if this abbreviation is "
                                                       "its own"))
    if not attempt.files:
        what = "text typed into Blackboard's Submission Field" if receipt.text else "no file"
        found.notes.append(Problem("lms-not-a-file", f"this attempt holds {what}: there is no notebook or module "
                                                     "to run. Read it and grade it by hand, or ask for the notebook"))
    return found
