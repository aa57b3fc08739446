"""What the course adds to a grade once the code is graded: who it is, the roster, the late policy.

Applied afresh on every run (like the TA scores), never stored in the resume records: a corrected
roster or a changed due date shows at once, without running a single submission again.

    graded results ──▶ + the LMS identity and intake notes of each submission (`lms`)
                   ──▶ + roster: matched students named, unknown ids flagged, missing students
                         added as "no submission" results (`roster`)
                   ──▶ − the late penalty (`late`)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from . import late as late_policy
from .results import NO_SUBMISSION, Problem, Result, Student
from .roster import Reconciled, RosterEntry, reconcile
from .text import clean

OWN_CODES = ("lms-", "roster-", "no-submission")


@dataclass
class CourseView:
    """The submissions and results after the course's rules, and what the roster found."""

    submissions: list
    results: list[Result]
    roster: Reconciled | None = None
    missing: list[str] = field(default_factory=list)     # names given to "no submission" placeholders


def finalize(submissions: list, results: list[Result], roster: list[RosterEntry] | None,
             policy: "late_policy.LatePolicy | None", case_set, add_missing: bool = True) -> CourseView:
    """Copies of `results` (in the order of `submissions`) with identity, roster and late policy applied.

    `add_missing=False` (a shard, which sees only its slice of the class) matches and flags but
    adds no "no submission" rows: `grader merge --roster` adds them for the whole class.
    """
    out = [identify(result, submission) for submission, result in zip(submissions, results)]
    submissions = list(submissions)
    view = CourseView(submissions, out)
    if roster is not None:
        apply_roster(view, roster, case_set, add_missing)
    if policy is not None:
        view.results = [late_policy.apply(r, policy) for r in view.results]
    return view


def identify(result: Result, submission) -> Result:
    """A copy of `result` carrying its submission's LMS identity and intake notes.

    Also applied as soon as a submission is graded, so that its files and resume record hold them
    and a re-run with the same download rewrites nothing.
    """
    student = getattr(submission, "student", None)
    problems = [p for p in result.problems if not p.code.startswith(OWN_CODES)]
    problems += list(getattr(submission, "notes", ()))
    return dataclasses.replace(result, student=dataclasses.replace(student) if student else result.student,
                               problems=problems)


def apply_roster(view: CourseView, roster: list[RosterEntry], case_set, add_missing: bool = True) -> None:
    """Name the matched students, flag the unknown and shared ones, add the missing (in place)."""
    from .batch import Submission, safe_name

    found = reconcile({s.name: r.student for s, r in zip(view.submissions, view.results)}, roster)
    view.roster = found
    for i, (submission, result) in enumerate(zip(view.submissions, view.results)):
        student, notes = _on_roster(submission.name, result.student, found)
        problems = [p for p in result.problems if not p.code.startswith("roster-")] + notes
        view.results[i] = dataclasses.replace(result, student=student, problems=problems)
    taken = {s.name.lower() for s in view.submissions}
    for entry in found.missing if add_missing else []:
        base = safe_name(f"{entry.name}_{entry.id}" if entry.name else entry.id)
        name, number = base, 2
        while name.lower() in taken:
            name, number = f"{base}-{number}", number + 1
        taken.add(name.lower())
        student = Student(id=entry.id, name=entry.name, lms="roster", sis_id=entry.sis_id, login=entry.login,
                          section=entry.section, email=entry.email, on_roster=True)
        view.submissions.append(Submission(name, Path(), student=student))
        result = no_submission(name, student, case_set)
        maybe = [s for s, ids in found.same_name.items() if entry.id in ids]
        if maybe:
            result.problems.append(Problem("roster-same-name", f"the download holds a hand-in under this student's "
                                                               f"name, which another roster student bears too; it "
                                                               f"may be theirs: {', '.join(maybe)}"))
        view.results.append(result)
        view.missing.append(name)


def match_submissions(submissions: list, roster: list[RosterEntry]) -> list:
    """The submissions with their roster identity and notes, before grading (same rules as
    `apply_roster`, which then changes nothing): their files are written once, already right."""
    found = reconcile({s.name: s.student for s in submissions}, roster)
    out = []
    for submission in submissions:
        student, notes = _on_roster(submission.name, submission.student, found)
        kept = tuple(n for n in submission.notes if not n.code.startswith("roster-"))
        kept += _canvas_group(submission.student, found.matched.get(submission.name))
        out.append(dataclasses.replace(submission, student=student, notes=kept + tuple(notes)))
    return out


def _canvas_group(student: Student | None, entry: RosterEntry | None) -> tuple[Problem, ...]:
    """A note when Canvas's download names a hand-in otherwise than it names the roster student of
    its user id: on a group assignment (Assignment#representatives) Canvas hands in one entry per
    group, under one member's id, named after the group. Compared before the roster renames the
    student (`on_roster` still None), so said once; kept with the intake's notes (`lms-`)."""
    from .lms import CANVAS, canvas_user_name

    if (student is None or entry is None or student.lms != CANVAS or student.on_roster is not None
            or not student.name or not entry.name or student.id.startswith("anon_")):
        return ()
    expected = canvas_user_name(entry.name)
    if canvas_user_name(student.name) == expected:
        return ()
    return (Problem("lms-canvas-group", f"Canvas's download names this hand-in {clean(student.name, 80)!r}, not "
                                        f"{expected!r} as it would name {clean(entry.name, 80)}: a group "
                                        "assignment's hand-in, which Canvas gives under one member's id and "
                                        "the group's name. The group's other members are not in the download "
                                        "(with a roster they are listed as having no submission): check the "
                                        "group in Canvas and give its members this grade there"),)


def _kept_id(student: Student, entry: RosterEntry) -> str:
    """The id a matched student keeps: the roster's, except a Moodle participant id met by name on a
    roster without participant ids (Moodle's grade export): that id is the only key Moodle's worksheet
    import reads back (grader.export.moodle_key), and the roster's id is kept as the SIS id."""
    from .lms import MOODLE

    if student.lms == MOODLE and student.id.isdigit() and entry.id != student.id and entry.shown_name:
        return student.id
    return entry.id


def _on_roster(name: str, student: Student | None, found: Reconciled) -> tuple[Student, list[Problem]]:
    """A submission's identity as the roster names it, and what to say about it."""
    entry = found.matched.get(name)
    student = student or Student(id=name, name=name, lms="folder")
    if entry is None and name in found.not_theirs:
        other = found.not_theirs[name]
        return dataclasses.replace(student, on_roster=False), [Problem(
            "roster-not-participant", f"the download names this hand-in {clean(student.name, 100)!r} with the id "
                                      f"{clean(student.id, 40)}, but participant {clean(other.id, 40)} on the roster "
                                      f"is {clean(other.name, 100)!r}: a team submission (Moodle 4.1+ names it "
                                      f"'<group>_<group id>'), whose id is the group's, not a participant's. It was "
                                      f"graded but matched to nobody; give the group's members this grade in Moodle")]
    if entry is None and name in found.same_name:
        ids = found.same_name[name]
        return dataclasses.replace(student, on_roster=False), [Problem(
            "roster-same-name", f"the download names this hand-in {clean(student.name, 100)!r} only, and "
                                f"{len(ids)} roster students bear that name ({', '.join(clean(i, 40) for i in ids)}): "
                                "it was graded but matched to neither; find out whose it is and enter the grade "
                                "by hand")]
    if entry is None:
        return dataclasses.replace(student, on_roster=False), [Problem(
            "roster-unknown", f"the id {clean(student.id, 100)} is not on the roster; this submission was graded "
                              "but belongs to nobody on it")]
    student = dataclasses.replace(student, id=_kept_id(student, entry), on_roster=True, name=entry.name or student.name,
                                  sis_id=entry.sis_id or student.sis_id, login=entry.login, section=entry.section,
                                  email=entry.email or student.email)
    others = [n for names in found.shared.values() if name in names for n in names if n != name]
    if not others:
        return student, []
    return student, [Problem("roster-shared", f"roster student {clean(entry.id, 100)} also has the submission "
                                              f"{', '.join(others)}; none was merged")]


def no_submission(name: str, student: Student, case_set) -> Result:
    """The result of a roster student who handed nothing in: zero points, saying so, no questions run."""
    from . import __version__

    return Result(submission=name, status=NO_SUBMISSION, score=0.0, max_score=case_set.assignment.max_score,
                  problems=[Problem("no-submission", "no submission was found for this student in the download")],
                  assignment=case_set.assignment.name, grader_version=__version__, case_set=case_set.digest,
                  student=student)
