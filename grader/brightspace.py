"""Brightspace (D2L) Assignments "Download", read as `lms.read_intake` reads the others.

The zip holds an `index.html` (the submissions and the students' comments, for people) and a folder
per submission, `<number>-<number> - <Full Name> - <Mon D, YYYY HMM AM>/<file>` (`Sep 24, 2024 926 PM`:
the hour and minutes run together, in the downloader's time zone, which is not named); older versions
put the same prefix on flat files, `… - <Mon D, YYYY HMM AM> - <file>`. Its names are UTF-8 without
the zip's UTF-8 flag (read as such by `lms`). On a group assignment the name is the group's.

The download names no user id: the identity is the name shown, the numbers are kept as the
submission's id. Several folders under one name are either one student's several submissions or
students who share a name, and the download cannot tell which: each folder is graded on its own (its
id then the submission's numbers), none merged, each flagged with the others and which is newest. A
roster (Brightspace's grade export) then matches a name borne by one student (its hand-ins are then
flagged as that student's several submissions) and flags a name two students share. The time has no
zone: it is kept as a wall clock (`2024-09-24T21:26:00`), which the late policy reads in its
`[late] zone` (DST included), and otherwise does not use (the report says so).
"""
from __future__ import annotations

import re
from datetime import datetime

from . import lms
from .results import Problem, Student

BRIGHTSPACE = "brightspace"
INDEX = "index.html"
ENTRY = re.compile(r"^(?P<sub>\d+-\d+) - (?P<name>.+?) - (?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2}), (?P<year>\d{4}) "
                   r"(?P<hour>\d{1,2})(?P<minute>\d\d) (?P<half>[AP]M)(?: - (?P<orig>.+))?$", re.S)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def is_brightspace(tops: set[str]) -> bool:
    """At least half the entries at the top (besides `index.html`) are named as Brightspace names them."""
    named = tops - {INDEX}
    return bool(named) and sum(ENTRY.match(t) is not None for t in named) >= 0.5 * len(named)


def read(source: lms.Source, prefix: str) -> lms.Intake:
    submissions: dict[str, list] = {}          # name -> [(time, number, [(member, original)])]
    by_top: dict[str, tuple] = {}
    skipped = []
    for member in source.members:
        rel = member.path[len(prefix):] if member.path.startswith(prefix) else ""
        top, _, inner = rel.partition("/")
        if rel == INDEX:
            continue
        m = ENTRY.match(top)
        original = inner if inner and m is not None and not m["orig"] else (m["orig"] if m is not None else "")
        if m is None or not original or (inner and m["orig"]):
            skipped.append(f"{member.path}: does not follow Brightspace's naming rule; skipped")
            continue
        key = top if not m["orig"] else top[: -len(m["orig"]) - 3]
        if key not in by_top:
            by_top[key] = (_time(m), m["sub"], [])
            submissions.setdefault(lms._scalar(" ".join(m["name"].split())), []).append(by_top[key])
        by_top[key][2].append((member, original))
    found = [f for name, tries in submissions.items() for f in _found(name, sorted(tries, key=lambda t: (t[0], t[1])))]
    return lms.Intake(BRIGHTSPACE, source, sorted(found, key=lambda f: (f.student.name, f.key)), skipped)


def _time(m: re.Match) -> datetime:
    hour = int(m["hour"]) % 12 + (12 if m["half"] == "PM" else 0)
    month = MONTHS.index(m["month"]) + 1 if m["month"] in MONTHS else 1
    try:
        return datetime(int(m["year"]), month, int(m["day"]), hour, min(int(m["minute"]), 59))
    except ValueError:
        return datetime.min


def _wall_clock(when: datetime) -> str:
    """The folder's time as ISO 8601 without a zone (the downloader's wall clock, which the download
    does not name): `late` reads it in the policy's `[late] zone`, or not at all; "" if unreadable."""
    return "" if when == datetime.min else when.isoformat()


def _found(name: str, tries: list) -> list[lms.Found]:
    """One hand-in per folder of `name` (oldest first): never merged, since the name is all the
    download says of who handed each in."""
    out = []
    for when, number, files in tries:
        found = lms.Found(Student(id=name if len(tries) == 1 else number, name=name, lms=BRIGHTSPACE,
                                  submission_id=number, submitted_at=_wall_clock(when)))
        for member, original in sorted(files, key=lambda f: (f[0].path.count("/"), f[0].path)):
            found.add(member, original)
        out.append(found)
    if len(tries) > 1:
        listed = ", ".join(f"{t[1]} ({t[0]:%b %d, %Y %H:%M})" for t in tries)
        for found in out:
            found.notes.append(Problem("lms-same-name", f"Brightspace's download holds {len(tries)} submissions "
                                                        f"named {name}: {listed}; it names no user, so they are "
                                                        f"one student's submissions (the newest is {tries[-1][1]}) "
                                                        f"or students who share the name. Each was graded on its "
                                                        f"own, none merged: decide whose each one is"))
    return out
