"""One submission's way through the grader: load → run → compare → score, into a `Result`.

This is the function that `grader grade`, `grader check`, `grader batch` and the Gradescope entry
point all call. It never raises for a bad submission: whatever goes wrong ends up in the result.
"""
from __future__ import annotations

import hashlib
import inspect
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import __version__, explain
from .compare import ComplexArray, compare, describe, describe_input
from .kinds import kind_of
from .diagnose import consistent_variants, locate, matching_variants, named
from .load import NOT_RUN_BY_TAG, WRITTEN, LoadError, Program, load
from .names import Definitions
from .results import (CRASHED, ERROR, FAILED, GRADED, HIDDEN_MESSAGES, MISSING, NOT_RUN, PASSED, TIMEOUT,
                      UNREADABLE, AnswerPrint, CaseResult, CellReport, CellStatus, Problem,
                      QuestionResult, Result, StaffCase)
from .protocol import CallSpec, RawAnswer, RunReport, RunStatus, Sink
from .score import question_result
from .similarity import answer_digest
from .spec import PUBLIC, Case, CaseSet, Finding, Question
from .text import clean, first_line

@dataclass
class Extras:
    """Hooks for what lies beside auto-grading (written answers, parsed numeric answers)."""

    # program -> {question id: raw value} for submissions that state answers in prose
    parse_written: Callable[[Program, CaseSet], dict[str, Any]] | None = None
    # (program, assignment) -> list of WrittenAnswer
    collect_written: Callable[[Program, Any], list] | None = None
    notes: list[str] = field(default_factory=list)
    # the student environment's packages (grader.environment): imports beyond them are warned about
    environment: tuple[str, ...] | None = None
    not_installed: list[str] | None = None      # of `environment`, found once per session


def grade(path: str | Path, case_set: CaseSet, run: Callable[[Program, list[CallSpec], Sink], RunReport],
          name: str | None = None, visibility: str = "all", extras: Extras | None = None) -> Result:
    """Grade the submission at `path` on `case_set`; always returns a Result.

    `run` executes the program and calls it on the cases (`Session.run`: a sandboxed worker),
    handing each answer to the sink it is given as soon as it is settled: each answer is judged
    then and dropped, so a submission's answers are never all held at once.
    """
    started = time.monotonic()
    path = Path(path)
    extras = extras or Extras()
    result = Result(submission=clean(name or path.name, 300).replace("\n", " "), status=GRADED, score=0.0,
                    max_score=case_set.assignment.max_score, assignment=case_set.assignment.name,
                    grader_version=__version__, case_set=case_set.digest, visibility=visibility)
    try:
        program = load(path)
    except LoadError as exc:
        result.status = UNREADABLE
        result.problems.append(Problem(exc.code, clean(exc.message, 500)))
        result.questions = unrun(case_set, f"not run: {clean(exc.message, 300)}")
        result.written = _unanswered(case_set, extras)
        result.seconds = round(time.monotonic() - started, 3)
        return result
    except OSError as exc:
        result.status = UNREADABLE
        result.problems.append(Problem("unreadable", f"the submission could not be read: {exc.strerror}"))
        result.questions = unrun(case_set, "not run: the submission could not be read")
        result.written = _unanswered(case_set, extras)
        result.seconds = round(time.monotonic() - started, 3)
        return result

    result.source_sha256, result.kind = program.sha256, program.kind
    result.problems += [Problem(code, clean(message, 500)) for code, message in program.notes]
    if extras.collect_written is not None:
        result.written = extras.collect_written(program, case_set.assignment)

    sources = {unit.index: unit.source for unit in program.units}
    defs = Definitions(sources)
    judged = Judged(case_set)
    if program.kind == WRITTEN:
        for answer in _written_answers(program, case_set, extras).values():
            judged(answer)
        judged.raise_fault()
        report = RunReport(isolation="not run (written answers)")
    else:
        report = run(program, _calls(case_set), judged)
        judged.raise_fault()
        result.cells = [CellReport(i, CellStatus(run.status), clean(run.error, 1000), _head(program, i),
                                   run.missing_module, list(run.figures), run.figures_dropped)
                        for i, run in sorted(report.cells.items())]
        result.cells = _with_cells_not_run(result.cells, program)
        runtime = explain.import_problems(result.cells) + explain.run_out_of_order(program, result.cells)
        explain.blame_failed_import(result.cells, sources, defs, program.kind, report.shell_escapes)
        explain.module_timeout(result.cells, program.kind)
        failed = {c.missing_module for c in result.cells if c.missing_module}
        result.problems += [p for module, p in _environment_problems(program, extras) if module not in failed]
        result.problems += runtime
        result.output = clean(report.output, 20000)
        result.problems += explain.ipython_problems(report.cells, sources)
        if report.shell_escapes:
            escapes = "; ".join(clean(e, 80) for e in report.shell_escapes[:5])
            result.problems.append(Problem("shell-escape-not-run",
                                           f"shell commands are not run by the grader: {escapes}"))
        for note in report.notes:
            result.problems.append(Problem("isolation", clean(note, 300)))
    result.isolation = report.isolation

    questions = judged.questions()
    not_run = Definitions({unit.index: unit.source for unit in program.not_run}) if program.not_run else None
    for question in questions:
        explain.blame_failed_import_in_cases(question.cases, result.cells, sources, defs, program.kind, question.name,
                                             not_run)
    result.questions += questions
    result.problems += judged.changed_arguments()
    result.problems += explain.redefined(questions, defs, program.kind,
                                  {q.id: q.call for q in case_set.assignment.questions})
    result.staff, result.wrong_answers = judged.staff, judged.wrong
    result.score = round(sum(q.score for q in result.questions), 4)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def judge_all(case_set: CaseSet, report: RunReport, problems: list[Problem] | None = None) -> list[QuestionResult]:
    """Every question of `case_set` judged on the answers of `report` (used by `grader.jupyter`,
    whose answers come from the live kernel rather than from a run of a file); what the answers
    show of the code (a function that changes its arguments) goes to `problems`."""
    judged = Judged(case_set)
    for answer in report.answers.values():
        judged(answer)
    judged.raise_fault()
    if problems is not None:
        problems += judged.changed_arguments()
    return judged.questions()


def calls(case_set: CaseSet) -> list[CallSpec]:
    """What to call for every case of `case_set` (the same for every submission)."""
    return _calls(case_set)


def _unanswered(case_set: CaseSet, extras: Extras) -> list:
    """The written parts of an unreadable submission (none found), when written parts are collected."""
    if extras.collect_written is None:
        return []
    from .written import unanswered

    return unanswered(case_set.assignment)


class Judged:
    """The sink a run hands its answers to: each is judged on arrival and only its verdict kept,
    with what only staff see (hidden cases in full, wrong answers as digests), and what locating
    a wrong answer needs (`diagnose.locate`): the value of a wrong answer of ordinary size, and
    whether each probe passed.

    A fault in judging is kept for after the run (`raise_fault`): it is the grader's, and must
    cost this submission its result, not the worker its job.
    """

    def __init__(self, case_set: CaseSet):
        self.case_set = case_set
        self.cases = {case.uid: case for case in case_set.cases}
        self.verdicts: dict[str, CaseResult] = {}
        self.wrong_values: dict[str, Any] = {}      # uid -> the value of a wrong answer, to locate it
        self.wrong_keys: dict[str, Any] = {}        # uid -> that value's key (RawAnswer.key), when it has one
        self.probes: dict[str, bool] = {}           # probe uid -> whether its answer was right
        self.matched: dict[str, list[int]] = {}     # uid -> the catalogue variants a wrong answer matched
        self.staff: list[StaffCase] = []
        self.wrong: list[AnswerPrint] = []
        self.changed: dict[str, tuple[str, str, tuple[str, ...]]] = {}   # question id -> (name, case, arguments)
        self.fault: Exception | None = None

    def wants(self, call: CallSpec) -> bool:
        """A probe is worth calling only for a wrong answer that `_locate` will locate: its case's
        answer was a value, wrong, and of ordinary size. For a submission right everywhere that is
        none of them (a quarter of a notebook's calls)."""
        return not call.parent or call.parent in self.wrong_values

    def __call__(self, answer: RawAnswer) -> None:
        case = self.cases.get(answer.uid)
        if case is None or self.fault is not None:
            return
        try:
            question = self.case_set.assignment.question(case.question_id)
            if case.probe is not None:
                if answer.status == ANSWERED:
                    self.probes[case.uid] = judgment(question, case, answer, self.case_set.memo).status == PASSED
                return
            verdict = _judge(question, case, answer, self.case_set.memo, self.staff, self.matched)
            self.verdicts[answer.uid] = verdict
            if answer.changed and case.visibility == PUBLIC:
                self.changed.setdefault(question.id, (question.name, verdict.label, answer.changed))
            if verdict.status == FAILED and answer.status == ANSWERED:
                # the text the page shows and the digest, judged with the verdict just now by `_judge`
                found = judgment(question, case, answer, self.case_set.memo)
                self.wrong.append(_print(case, verdict, found))
                if _size(answer.value) <= LOCATE_BYTES:
                    self.wrong_values[case.uid] = answer.value
                    self.wrong_keys[case.uid] = answer.key
        except Exception as exc:  # noqa: BLE001 - re-raised by raise_fault once the run is over
            self.fault = exc

    def raise_fault(self) -> None:
        if self.fault is not None:
            raise self.fault

    def changed_arguments(self) -> list[Problem]:
        """One problem per function seen changing its arguments in place (on a public case: a
        hidden case's answer carries nothing but its value)."""
        problems = []
        for question in self.case_set.assignment.questions:
            if question.id not in self.changed:
                continue
            name, label, arguments = self.changed[question.id]
            listed = ", ".join(f"`{a}`" for a in arguments)
            first = arguments[0] if arguments[0].isidentifier() else "x"
            problems.append(Problem("changes-arguments", clean(
                f"`{name}` changes its argument{'s' if len(arguments) > 1 else ''} {listed} in place (case {label}): "
                f"a function must not change its inputs; work on a copy (`{first} = {first}.copy()`) or build "
                "the result in a new array. Each case gets fresh inputs, so the grade is not affected, but code "
                "that uses those inputs again after the call computes with the changed values", 600)))
        return problems

    def question(self, question: Question) -> list[CaseResult]:
        """The verdicts of a question's cases, in order; a case never answered is "not run"."""
        return [self.verdicts.get(case.uid) or _judge(question, case, None, self.case_set.memo)
                for case in self.case_set.for_question(question.id)]

    def questions(self) -> list[QuestionResult]:
        """Every question's result, with where its wrong answers go wrong."""
        results = []
        for question in self.case_set.assignment.questions:
            judged = self.question(question)
            self._consistent(question, judged)
            hints = {m.id: m.hint for m in question.mistakes}
            where = self._locate(question, judged, hints)
            result = question_result(question, judged, hints)
            result.where = where
            results.append(result)
        return results

    def _consistent(self, question: Question, judged: list[CaseResult]) -> None:
        """Names only the variants that the question's other answers do not contradict
        (`diagnose.consistent_variants`), in the cases' verdicts, the staff's view and the copying
        evidence alike."""
        cases = self.case_set.for_question(question.id)
        matched = {case.uid: self.matched[case.uid] for case in cases if case.uid in self.matched}
        if not matched:
            return
        answered_wrong = {wrong.case for wrong in self.wrong if wrong.question == question.id}
        kept = consistent_variants(question, [(case, verdict.status == PASSED) for case, verdict in zip(cases, judged)],
                                   matched, self.case_set.memo, answered_wrong)
        changed = {}
        for case, verdict in zip(cases, judged):
            if case.uid in matched:
                ids = named(question, [n for n in matched[case.uid] if n in kept])
                if ids != verdict.diagnosis:
                    verdict.diagnosis = changed[case.uid] = ids
        for staff in self.staff:
            if staff.uid in changed:
                staff.diagnosis = list(changed[staff.uid])
        for wrong in self.wrong:
            if wrong.case in changed:
                wrong.named = list(changed[wrong.case])

    def _locate(self, question: Question, judged: list[CaseResult], hints: dict[str, str]) -> list[str]:
        """Where the question's wrong answers go wrong (`diagnose.locate`), once per sentence; family
        ids found by the structure are added to their case's diagnosis, their hints to `hints`.

        A probe that was right for one case and wrong for another (clipping shows only where the
        numbers are large) locates nothing: neither of its sentences is told."""
        where: list[str] = []
        pairs: set[tuple[str, str]] = set()
        for case, verdict in zip(self.case_set.for_question(question.id), judged):
            if case.uid not in self.wrong_values or verdict.status != FAILED:
                continue
            answered = [(probe, self.probes[probe.uid]) for probe in self.case_set.probes_of(case.uid)
                        if probe.uid in self.probes]
            probes = [(probe.probe, right) for probe, right in answered]
            pairs.update((probe.right, probe.wrong) for probe, _ in probes)
            finding = self._finding(question, case, probes, tuple((probe.uid, right) for probe, right in answered))
            verdict.diagnosis += [i for i in finding.ids if i not in verdict.diagnosis]
            for mid, hint in finding.hints.items():
                hints.setdefault(mid, hint)
            where += [w for w in finding.where if w not in where]
        both = {sentence for pair in pairs if set(pair) <= set(where) for sentence in pair}
        return [w for w in where if w not in both]

    def _finding(self, question: Question, case: Case, probes: list, answered: tuple) -> Finding:
        """`diagnose.locate` of the case's wrong answer, kept in the case set's memo by its key and
        the probes' verdicts (`answered`: (probe uid, right)), all it depends on: a class's wrong
        answers repeat, and the structure checks are the costliest part of judging one."""
        key = self.wrong_keys.get(case.uid)
        if key is None:
            return locate(question, case, self.wrong_values[case.uid], probes)
        table = kept_by_answer(self.case_set.memo, "findings")
        found = table.get(case.uid, (key, answered))
        if found is None:
            found = locate(question, case, self.wrong_values[case.uid], probes)
            table.put(case.uid, (key, answered), found)
        return found


SHOWN_LIMIT = 3000      # characters of an answer's description that a report shows


class Descriptions:
    """How answers read in a report (cleaned and bounded), made once per distinct value and kept
    for the next submission.

    Describing arrays (numpy's text, `grader.arraytext`) is the largest part of judging, and a
    class's answers repeat: solutions that compute a result by the same formula agree to the last
    bit (85% of the public answers of the test corpus's 16 submissions equal another one's).
    A value is known by a digest of its exact numbers (`_exact_key`), so two values share a text
    only when they are the same numbers. Bounded (the oldest goes first), and shared by the batch's
    grading threads; kept in the case set's memo, so it lives as long as the session.
    """

    SIZE = 2048

    def __init__(self):
        self._texts: dict[bytes, str] = {}
        self._lock = threading.Lock()

    def __call__(self, kind: str, value: Any) -> str:
        key = _exact_key(kind, value)
        if key is None:
            return clean(describe(kind, value), SHOWN_LIMIT)
        with self._lock:
            text = self._texts.get(key)
        if text is None:
            text = clean(describe(kind, value), SHOWN_LIMIT)
            with self._lock:
                if len(self._texts) >= self.SIZE:
                    self._texts.pop(next(iter(self._texts)), None)
                self._texts[key] = text
        return text


def described(memo: dict, kind: str, value: Any) -> str:
    """`compare.describe(kind, value)`, made safe to show and bounded (`text.clean`), through the
    case set's table of descriptions already made."""
    table = memo.get(("descriptions",))
    if table is None:
        table = memo.setdefault(("descriptions",), Descriptions())
    return table(kind, value)


def _exact_key(kind: str, value: Any) -> bytes | None:
    """A digest that only values with the same numbers (and shapes, and keys) share; None for a value
    that is not made of float64 arrays as the runner decodes them (labels, names: cheap to describe)."""
    digest = hashlib.blake2b(kind.encode(), digest_size=16)
    items = value.items() if isinstance(value, dict) else (("", value),)
    for name, item in items:
        parts = (item.real, item.imag) if isinstance(item, ComplexArray) else (item,)
        digest.update(b"\0key\0" + str(name).encode() + (b"\0complex" if len(parts) == 2 else b""))
        for part in parts:
            if type(part) is not np.ndarray or part.dtype != np.float64:
                return None
            digest.update(repr(part.shape).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
    return digest.digest()


# A wrong answer larger than this is not located (HW3's largest answer is ~50 kB): what the sink
# keeps to locate stays small however much a submission returns.
LOCATE_BYTES = 256 * 2**10


def _size(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, ComplexArray):
        return _size(value.real) + _size(value.imag)
    return int(getattr(value, "nbytes", 0))


def _environment_problems(program: Program, extras: Extras) -> list[tuple[str, Problem]]:
    """(module, problem) for each module the program imports that the graded environment lacks,
    read from the source without running it: on a student's machine the import may work."""
    if extras.environment is None:
        return []
    from . import environment

    try:
        missing = environment.unavailable(program, extras.environment)
    except Exception:  # noqa: BLE001 - a warning must never cost the grade
        return []
    problems = [(item.module, Problem("unavailable-import", clean(environment.describe(item, extras.environment,
                                                                                        program.kind), 500)))
                for item in missing[:10]]
    if extras.not_installed is None:
        extras.not_installed = environment.not_installed(extras.environment)
    if extras.not_installed:
        names = ", ".join(f"`{n}`" for n in extras.not_installed)
        problems.append(("", Problem("environment-incomplete", f"grader.toml's [environment] lists {names}, which "
                                     "this grader's Python does not have: student code that imports it fails here; "
                                     "install the list where the grader runs")))
    return problems


def _calls(case_set: CaseSet) -> list[CallSpec]:
    """What the worker is to call, made once per case set (the same for every submission)."""
    if ("calls",) not in case_set.memo:
        case_set.memo[("calls",)] = [_call(case_set.assignment.question(c.question_id), c) for c in case_set.cases]
    return case_set.memo[("calls",)]


def _call(question: Question, case: Case) -> CallSpec:
    return CallSpec(case.uid, question.id, question.name, question.call, question.kind, question.keys, case.args,
                    hidden=case.visibility != PUBLIC or bool(case.parent),     # probes last: see caseset._probes
                    parent=case.parent or "")


def _written_answers(program: Program, case_set: CaseSet, extras: Extras) -> dict[str, RawAnswer]:
    parsed = extras.parse_written(program, case_set) if extras.parse_written else {}
    answers = {}
    for case in case_set.cases:
        if case.question_id in parsed:
            answers[case.uid] = RawAnswer(case.uid, ANSWERED, parsed[case.question_id])
        else:
            answers[case.uid] = RawAnswer(case.uid, NOT_RUN, message="not run: a written submission has no code; "
                                                                         "this answer was not found in the text")
    return answers


# A comparison's verdict (grader.compare's words) and a run's status for a case that gave no value
# (the worker protocol's words, grader.protocol) as case statuses; anything else is an ERROR.
ANSWERED = RunStatus.OK     # the protocol's status of a case that returned a value
VERDICTS = {PASSED.value: PASSED, FAILED.value: FAILED}
UNANSWERED = {MISSING.value: MISSING, TIMEOUT.value: TIMEOUT, CRASHED.value: CRASHED, NOT_RUN.value: NOT_RUN}


@dataclass(frozen=True)
class Judgment:
    """What judging one value against a case gives: the same for every answer of that exact value
    (`RawAnswer.key`), so it is made once and kept (`Judgments`). Never mutated: a CaseResult
    copies what it needs (its diagnosis list included)."""

    status: Any                        # PASSED, FAILED or ERROR (results.CaseStatus)
    message: str
    shown: str | None                  # the value as pages show it: public cases, and every failure
    numbers: tuple[int, ...] = ()      # the catalogue's variants it matches (a failure)
    diagnosis: tuple[str, ...] = ()    # their mistake ids
    digest: tuple[str, bool] | None = None     # a failure's copying evidence (similarity.answer_digest)


class Judgments:
    """What depends on a case and an exact answer alone (its `Judgment`, where it goes wrong), by
    case and the value's key (`RawAnswer.key`, its wire form), so that an answer the class gave
    before is not compared, described, diagnosed and located again: a class's answers repeat
    (`Descriptions`), to the last bit when computed by the same formula. Never a student's
    duration or message. Bounded in entries and in the characters of the keys (the values'
    base64), oldest first out; shared by the batch's grading threads, in the case set's memo (it
    lives as long as the session: `kept_by_answer`)."""

    SIZE = 4096
    CHARS = 4 * 2**20

    def __init__(self):
        self._found: dict[tuple, tuple[Any, int]] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, uid: str, key) -> Any:
        with self._lock:
            entry = self._found.get((uid, key))
        return entry[0] if entry is not None else None

    def put(self, uid: str, key, found: Any) -> None:
        size = _key_chars(key)
        if size > self.CHARS:
            return
        with self._lock:
            while self._found and (len(self._found) >= self.SIZE or self._chars + size > self.CHARS):
                self._chars -= self._found.pop(next(iter(self._found)))[1]
            if (uid, key) not in self._found:
                self._found[(uid, key)] = (found, size)
                self._chars += size


def _key_chars(key: Any) -> int:
    """The characters a key holds (its strings: the values' base64), to bound what Judgments keeps."""
    if isinstance(key, str):
        return len(key)
    if isinstance(key, (tuple, frozenset)):
        return sum(_key_chars(part) for part in key) + 8
    return 8


def kept_by_answer(memo: dict, name: str) -> Judgments:
    """The case set's table called `name` of what depends on a case and an exact answer alone."""
    table = memo.get((name,))
    return table if table is not None else memo.setdefault((name,), Judgments())


def judgment(question: Question, case: Case, raw: RawAnswer, memo: dict) -> Judgment:
    """The judgment of an answered case's value, from the case set's table when the same value was
    judged on this case before (`raw.key`), else made now (`_judgment`) and kept."""
    table = kept_by_answer(memo, "judgments")
    if raw.key is None:
        return _judgment(question, case, raw.value, memo)
    found = table.get(case.uid, raw.key)
    if found is None:
        found = _judgment(question, case, raw.value, memo)
        table.put(case.uid, raw.key, found)
    return found


def _judgment(question: Question, case: Case, value: Any, memo: dict) -> Judgment:
    """Compare `value` with the case's expected answer; for a failure, word it, name the
    catalogue's mistakes it matches and digest it for the copying evidence."""
    verdict = compare(question.kind, case.expected, value, question.tolerance, question.keys)
    status = VERDICTS.get(verdict.status, ERROR)
    message = clean(verdict.message, 3000)
    if case.probe is not None:          # a probe's answer tells only whether it is right
        return Judgment(status, message, None)
    if status == PASSED:
        return Judgment(status, message, described(memo, question.kind, value) if case.visibility == PUBLIC else None)
    numbers = tuple(matching_variants(question, case, value, memo))
    return Judgment(status, message, described(memo, question.kind, value), numbers,
                    tuple(named(question, list(numbers))), answer_digest(value) if status == FAILED else None)


def _judge(question: Question, case: Case, raw: RawAnswer | None, memo: dict | None = None,
           staff: list[StaffCase] | None = None, matched: dict[str, list[int]] | None = None) -> CaseResult:
    """One case's verdict. `memo` (the case set's) keeps what depends on the case alone across submissions.

    A hidden case's details (inputs, expected, got, the real message) go to `staff`, the trusted-only
    list of the Result, never into the CaseResult a student may see.
    """
    memo = {} if memo is None else memo
    public = case.visibility == PUBLIC
    tolerance = question.tolerance.describe() if kind_of(question.kind).numeric else "exact"
    result = CaseResult(case.uid, case.visibility, clean(case.label, 120), NOT_RUN, tolerance=tolerance)
    if public:
        if ("shown", case.uid) not in memo:
            memo[("shown", case.uid)] = (_inputs(question, case), describe(question.kind, case.expected))
        inputs, result.expected = memo[("shown", case.uid)]
        result.inputs = dict(inputs)
    if raw is None:
        result.message = "not run"
        return result
    result.seconds = raw.seconds
    found = None
    if raw.status == ANSWERED:
        found = judgment(question, case, raw, memo)
        result.status, result.message = found.status, found.message
        if public:
            result.got = found.shown
        if found.status != PASSED:
            result.diagnosis = list(found.diagnosis)
            if found.numbers and matched is not None:
                matched[case.uid] = list(found.numbers)
    else:
        result.status = UNANSWERED.get(raw.status, ERROR)
        result.message = clean(raw.message, 1000)
    if not public and staff is not None:
        staff.append(_staff_case(question, case, found, result, memo))
    if not public and result.status != PASSED:
        result.message = HIDDEN_MESSAGES.get(result.status, "did not pass")
    return result


def _print(case: Case, verdict: CaseResult, found: "Judgment") -> AnswerPrint:
    """A wrong answer that came back as a value, as a digest for the copying evidence (staff only).
    `found`: its judgment (its description as a page shows it: the same text, only cut shorter here)."""
    digest, degenerate = found.digest
    return AnswerPrint(case.uid, case.question_id, verdict.label, digest, clean(found.shown, 600),
                       list(verdict.diagnosis), degenerate)


def _staff_case(question: Question, case: Case, found: "Judgment | None", judged: CaseResult, memo: dict) -> StaffCase:
    """A hidden case in full, for the instructor (called before its message is made generic;
    `found`: the judgment of its answer, if it came back as a value)."""
    if ("staff", case.uid) not in memo:
        memo[("staff", case.uid)] = (_inputs(question, case), describe(question.kind, case.expected))
    inputs, expected = memo[("staff", case.uid)]
    got = None
    if found is not None and judged.status != PASSED:
        # a passed case's value is the expected one within the tolerance: the page says so instead
        # of describing ~100 more arrays per student
        got = found.shown
    return StaffCase(case.uid, question.id, judged.label, judged.status, dict(inputs), expected, got,
                     judged.message, list(judged.diagnosis))


def _inputs(question: Question, case: Case) -> dict[str, str]:
    if not case.args:
        return {}
    try:
        names = list(inspect.signature(question.reference).parameters)
    except (TypeError, ValueError):
        names = []
    if len(names) != len(case.args):
        names = [f"arg{i}" for i in range(len(case.args))]
    return {name: describe_input(value) for name, value in zip(names, case.args)}


def _with_cells_not_run(cells: list[CellReport], program: Program) -> list[CellReport]:
    """The cells that ran, and in their places those the notebook's tags kept from running (`load.SKIP_TAG`):
    shown as not run, why said once in the notes."""
    skipped = [CellReport(u.index, CellStatus.SKIPPED, NOT_RUN_BY_TAG, clean(first_line(u.source), 100))
               for u in program.not_run]
    return sorted(cells + skipped, key=lambda cell: cell.index) if skipped else cells


def _head(program: Program, index: int) -> str:
    for unit in program.units:
        if unit.index == index:
            return clean(first_line(unit.source), 100)
    return ""


def unrun(case_set: CaseSet, message: str) -> list[QuestionResult]:
    questions = []
    for question in case_set.assignment.questions:
        cases = [CaseResult(c.uid, c.visibility, clean(c.label, 120), NOT_RUN,
                            message if c.visibility == PUBLIC else HIDDEN_MESSAGES[NOT_RUN])
                 for c in case_set.for_question(question.id)]
        questions.append(question_result(question, cases, {}))
    return questions

