"""The late policy: a due date, a grace period, a penalty per late day, a cap — or none.

    [late]
    due = 2026-03-01T23:59:00-05:00    # a TOML date-time (or the same as a string); no zone = UTC
    grace_minutes = 15                 # hand-ins up to this long after `due` are on time
    penalty_per_day = 10               # percent of the points earned, per started day late
    cap = 50                           # at most this many percent in all (100: down to zero)
    period_hours = 24                  # the length of one "day"
    zone = "America/Toronto"           # optional IANA zone: a `due` without an offset, and the LMS's
                                       # times that carry none (Brightspace's), are in it, DST included

A late day is started as soon as the grace period is over: one minute past the grace costs one
day. The time comes from the LMS (Gradescope's `created_at`, nbgrader's `timestamp.txt`, checked
against the download's file times by `lms.NbgraderStamp`, since the student's own client writes it). A
download that only flags a hand-in as late without saying when (Canvas's `LATE` in the file name)
is charged one day, the least a late hand-in can cost, and the report says that the time was
unknown. A time the LMS gives on its wall clock without a zone (Brightspace's folder names) is read
in `zone`, with the offset in force on that day (zoneinfo: a fixed `-05:00` is an hour off for half
the year where clocks change); with no `zone` it is not guessed, and the report says how to set it.
A submission with neither a
time nor a late flag (a plain folder) is never penalised: the grader cannot know.

The penalty is taken from the student's total (automatic and written points), recorded in
`Result.late`, shown in the report as a problem line, and in the gradebooks as its own column.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .results import Late, Problem, Result, Student


class LatePolicyError(ValueError):
    """The [late] settings cannot be used; the message names the setting."""


@dataclass(frozen=True)
class LatePolicy:
    due: datetime
    grace_minutes: float = 0.0
    penalty_per_day: float = 0.0      # percent
    cap: float = 100.0                # percent
    period_hours: float = 24.0
    zone: str = ""                    # IANA name; "" = none (a `due` without an offset is UTC)


def parse(section: dict[str, Any]) -> LatePolicy | None:
    """The policy of a `[late]` table; None for no table or `policy = "none"`."""
    if not section or str(section.get("policy", "")).lower() == "none":
        return None
    known = {"due", "grace_minutes", "penalty_per_day", "cap", "period_hours", "policy", "zone"}
    unknown = set(section) - known
    if unknown:
        raise LatePolicyError(f"[late] has unknown settings {sorted(unknown)}; known: {sorted(known)}")
    if "due" not in section:
        raise LatePolicyError("[late] needs a due date (due = 2026-03-01T23:59:00-05:00), or policy = \"none\"")
    zone = str(section.get("zone") or "").strip()
    due = parse_time(section["due"], zone_info(zone))
    if due is None:
        raise LatePolicyError(f"[late] due {section['due']!r} is not a date-time")
    values = {}
    for name, low, high in (("grace_minutes", 0, 10**6), ("penalty_per_day", 0, 100), ("cap", 0, 100),
                            ("period_hours", 1e-3, 10**6)):
        if name in section:
            try:
                value = float(section[name])
            except (TypeError, ValueError):
                raise LatePolicyError(f"[late] {name} must be a number, not {section[name]!r}") from None
            if not (low <= value <= high) or math.isnan(value):
                raise LatePolicyError(f"[late] {name} must be between {low} and {high}, not {value}")
            values[name] = value
    return LatePolicy(due=due, zone=zone, **values)


def zone_info(name: str) -> tzinfo | None:
    """The IANA zone `name` ("America/Toronto"), None for ""; LatePolicyError for a name it does not know."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise LatePolicyError(f"[late] zone {name!r} is not a time zone name the system knows "
                              "(an IANA name such as \"America/Toronto\" or \"Asia/Shanghai\")") from None


def parse_time(value: Any, zone: tzinfo | None = None) -> datetime | None:
    """A TOML/YAML date-time or ISO 8601 text as an aware datetime (naive = in `zone`, else UTC);
    None if neither. A naive time is placed in `zone` with the offset in force then (DST)."""
    where = zone or timezone.utc
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=where)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=where)
    if isinstance(value, str) and value.strip():
        try:
            return parse_time(datetime.fromisoformat(value.strip().replace("Z", "+00:00")), zone)
        except ValueError:
            return None
    return None


def abbreviated(naive: datetime, abbreviation: str, zone: str) -> datetime | None:
    """`naive`, a wall clock an LMS wrote with a zone abbreviation ("CDT", "CST"), as an aware time in
    the IANA `zone` when that zone's own abbreviation at that moment is `abbreviation` (at the hour
    that repeats when clocks go back, the one of the two that bears it); else None. An abbreviation
    alone is never trusted: "CST" is US Central and China, "IST" India, Ireland and Israel."""
    try:
        info = zone_info(zone)
    except LatePolicyError:
        return None
    for fold in (0, 1):
        when = naive.replace(tzinfo=info, fold=fold) if info is not None else None
        if when is not None and (when.tzname() or "").upper() == abbreviation.strip().upper():
            return when
    return None


def zoneless(text: str) -> bool:
    """Whether an LMS time (ISO 8601 text) is a wall clock without a zone (Brightspace's)."""
    try:
        return bool(text.strip()) and datetime.fromisoformat(text.strip().replace("Z", "+00:00")).tzinfo is None
    except ValueError:
        return False


def submitted_time(policy: LatePolicy, text: str) -> datetime | None:
    """When the LMS says a hand-in was made, as an aware time; None when it does not say, or says it
    on a wall clock without a zone and the policy names none (never guessed: UTC would be hours off)."""
    if zoneless(text):
        zone = zone_info(policy.zone)
        return parse_time(text, zone) if zone is not None else None
    return parse_time(text)


def assess(policy: LatePolicy, student: Student | None, earned: float) -> Late | None:
    """The penalty for a hand-in by `student` that earned `earned` points; None when on time or unknown."""
    if student is None:
        return None
    when = submitted_time(policy, student.submitted_at)
    due = policy.due.isoformat()
    if when is None:
        if not student.late:
            return None
        days, submitted, note = 1, "", "the LMS marks this hand-in late but gives no time: charged as one day"
    else:
        over = when - policy.due - timedelta(minutes=policy.grace_minutes)
        if over <= timedelta(0):
            return None
        days = math.ceil(over / timedelta(hours=policy.period_hours))
        submitted, note = when.isoformat(), ""
    percent = min(policy.cap, days * policy.penalty_per_day)
    points = round(max(earned, 0.0) * percent / 100.0, 6)
    return Late(due=due, submitted_at=submitted, days=days, percent=percent, points=points, note=note)


def apply(result: Result, policy: LatePolicy | None) -> Result:
    """A copy of `result` with the penalty taken from its score (and said in its problems)."""
    late = assess(policy, result.student, result.score) if policy is not None else None
    problems = [p for p in result.problems if p.code not in ("late-penalty", "late-time-unknown")]
    if late is None:
        student = result.student
        if policy is not None and not policy.zone and student is not None and zoneless(student.submitted_at):
            problems.append(Problem("late-time-unknown", f"the LMS gives this hand-in's time ({student.submitted_at}) "
                                    "on its wall clock, without a time zone: no late penalty was computed. Set "
                                    "[late] zone to the LMS's time zone (e.g. zone = \"America/Toronto\") and run "
                                    "the batch again"))
        return dataclasses.replace(result, late=None, problems=problems)
    unit = "day" if late.days == 1 else "days"
    when = f"handed in {late.submitted_at}" if late.submitted_at else "handed in late"
    message = (f"{when}, {late.days} {unit} after the due date {late.due} (grace {policy.grace_minutes:g} min): "
               f"−{late.percent:g}% of the points, −{late.points:g}")
    if late.note:
        message += f" ({late.note})"
    score = max(0.0, result.score - late.points)
    message += f"; total after the penalty: {score:.4g} of {result.max_score:.4g}"
    problems.append(Problem("late-penalty", message))
    return dataclasses.replace(result, late=late, problems=problems, score=score)
