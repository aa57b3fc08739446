"""Building the concrete cases of an assignment: public ones fixed, hidden ones from a secret.

The expected answers are computed here, on the trusted side, by the assignment's reference. The
same secret always gives the same cases (re-grades are reproducible), and the case set carries a
digest of every input and expected value so that a report can say which cases it was graded on.
"""
from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .spec import (HIDDEN, PUBLIC, Assignment, Case, CaseSet, Mistake, ProbeInput, Question, Tolerance,
                   WrittenPart)

# Public cases are public: they are the same for everyone and need no secret.
PUBLIC_SEED = "public"


def _rng(*parts: str) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def build(assignment: Assignment, secret: str | None) -> CaseSet:
    """All cases of `assignment`; hidden ones only when a secret is given."""
    cases: list[Case] = []
    for question in assignment.questions:
        batches = [(PUBLIC, question.public_cases(_rng(assignment.name, question.id, PUBLIC_SEED)))]
        if secret is not None and question.call:
            batches.append((HIDDEN, question.hidden_cases(_rng(assignment.name, question.id, HIDDEN, secret))))
        for visibility, inputs in batches:
            inputs = list(inputs)
            for number, (case_input, label) in enumerate(zip(inputs, distinct_labels([i.label for i in inputs]))):
                args = tuple(case_input.args)
                expected = _expected(question.reference, args, question.id)
                cases.append(Case(f"{question.id}/{visibility}/{number}", question.id, visibility,
                                  label, args, expected))
    return CaseSet(assignment, tuple(cases + _probes(assignment, cases)), digest(cases))


def distinct_labels(labels: list[str]) -> list[str]:
    """`labels` with each one that occurs more than once numbered in order ("n=4, d=2 #1", "… #2").

    Hidden inputs are drawn at random, so two can be drawn alike: the report's chips, the class
    view's most failed cases and the instructor page name a case by its label, and a student or a
    TA must be able to tell which of two it is. A label that occurs once is left as it is.
    """
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    shown = []
    for label in labels:
        if counts[label] == 1:
            shown.append(label)
            continue
        seen[label] = seen.get(label, 0) + 1
        shown.append(f"{label} #{seen[label]}")
    return shown


def _probes(assignment: Assignment, cases: list[Case]) -> list[Case]:
    """The probe cases of every case whose question has probes, after all scored cases (so that a
    probe that hangs can never cost a scored case its turn)."""
    probes = []
    for case in cases:
        question = assignment.question(case.question_id)
        if question.probes is None:
            continue
        for probe in question.probes(copy.deepcopy(case.args)):
            args = tuple(probe.args)
            probes.append(Case(f"{case.uid}/probe/{probe.name}", case.question_id, case.visibility,
                               f"{case.label} ({probe.name})", args,
                               _expected(question.reference, args, question.id), parent=case.uid, probe=probe))
    return probes


def _expected(reference, args: tuple[Any, ...], qid: str) -> Any:
    if reference is None:
        raise ValueError(f"question {qid} has no reference answer to build cases from")
    value = reference(*copy.deepcopy(args))
    if isinstance(value, dict):
        return {k: np.array(v, dtype=np.float64) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    if isinstance(value, str):
        return value
    return np.array(value, dtype=np.float64)


def _feed(h: "hashlib._Hash", value: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(repr(value.shape).encode())
        h.update(np.ascontiguousarray(value, dtype="<f8").tobytes())
    elif isinstance(value, dict):
        for key in sorted(value):
            h.update(str(key).encode())
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for item in value:
            _feed(h, item)
        h.update(b"]")
    elif isinstance(value, (set, frozenset)):
        _feed(h, sorted(value))
    else:
        h.update(repr(value).encode())


def digest(cases: list[Case] | tuple[Case, ...]) -> str:
    """A short fingerprint of every case's inputs and expected answer."""
    h = hashlib.sha256()
    for case in cases:
        h.update(case.uid.encode())
        _feed(h, case.args)
        _feed(h, case.expected)
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------------
# The public cases as JSON: what the student kit ships instead of the reference and the registry
#
# A self-check needs the questions (names, kinds, keys, tolerances, points) and the public cases
# with their expected values. To name the same mistakes as the instructor's check, each public case
# also carries what each named mistake returns on it (computed here, at build time) and each
# question its mistakes' hints: data, never the catalogue's code. Hidden cases, rubrics and the
# reference never go into this file: `public_json` keeps public cases only.

KIT_FORMAT = 1
BUNDLED_NAME = "public_cases.json"


class CaseFileError(ValueError):
    """A public-cases file that cannot be used; the message says why."""


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"ndarray": [float(x) for x in np.asarray(value, dtype=np.float64).ravel()],
                "shape": list(value.shape)}
    if isinstance(value, dict):
        return {"dict": {str(k): _encode(v) for k, v in value.items()}}
    if isinstance(value, (set, frozenset)):
        return {"set": sorted(_encode(v) for v in value)}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return {"list": [_encode(v) for v in value]}
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot write a {type(value).__name__} to the public cases file")


def _decode(data: Any) -> Any:
    if isinstance(data, dict):
        if set(data) == {"ndarray", "shape"}:
            shape = tuple(int(s) for s in data["shape"])
            return np.array(data["ndarray"], dtype=np.float64).reshape(shape)
        (tag, inner), = data.items()
        if tag == "dict":
            return {k: _decode(v) for k, v in inner.items()}
        if tag == "set":
            return frozenset(_decode(v) for v in inner)
        if tag == "tuple":
            return tuple(_decode(v) for v in inner)
        if tag == "list":
            return [_decode(v) for v in inner]
        raise CaseFileError(f"unknown value tag {tag!r}")
    return data


def _params(question: Question) -> list[str]:
    """The argument names of a graded function, for the self-check's "inputs" lines."""
    try:
        return list(inspect.signature(question.reference).parameters) if question.call else []
    except (TypeError, ValueError):
        return []


def public_json(case_set: CaseSet, lang: str | None = None) -> dict[str, Any]:
    """The public part of `case_set` as plain JSON data (hidden cases are left out, always).
    `lang`: the course's language for feedback, if it sets one (`grader.selfcheck.course_lang`)."""
    assignment = case_set.assignment
    public = [c for c in case_set.cases if c.visibility == PUBLIC and not c.parent]
    probes = [c for c in case_set.cases if c.visibility == PUBLIC and c.parent]
    return {
        "format": KIT_FORMAT,
        "assignment": {"name": assignment.name, "title": assignment.title,
                       "answer_marker": assignment.answer_marker, **({"lang": lang} if lang else {}),
                       "written": [{"id": w.id, "title": w.title, "points": w.points} for w in assignment.written]},
        "questions": [{"id": q.id, "title": q.title, "points": q.points, "name": q.name, "kind": q.kind,
                       "call": q.call, "keys": list(q.keys), "labels": list(q.labels),
                       "tolerance": {"rtol": q.tolerance.rtol, "atol": q.tolerance.atol}, "params": _params(q),
                       "blocks": list(q.blocks)}
                      for q in assignment.questions],
        "cases": [{"uid": c.uid, "question_id": c.question_id, "label": c.label, "args": _encode(c.args),
                   "expected": _encode(c.expected), "mistakes": _wrong_answers(assignment.question(c.question_id), c)}
                  for c in public]
                 + [{"uid": c.uid, "question_id": c.question_id, "label": c.label, "args": _encode(c.args),
                     "expected": _encode(c.expected), "parent": c.parent,
                     "probe": {"name": c.probe.name, "right": c.probe.right, "wrong": c.probe.wrong}}
                    for c in probes],
        "hints": {q.id: {m.id: m.hint for m in q.mistakes} for q in assignment.questions if q.mistakes},
        "digest": digest(public),
    }


def _wrong_answers(question: Question, case: Case) -> list[dict[str, Any]]:
    """What each named mistake of `question` returns on this public case, as data: the kit names
    the same mistakes as the instructor's check without the catalogue's code (its inputs are public
    already, and a wrong answer is no answer). Variants that tell nothing here (undefined, or equal
    to the right answer) are left out, as `diagnose` leaves them out; equal ones are kept once."""
    from .diagnose import _telling_wrong_answer

    found: list[dict[str, Any]] = []
    for number, mistake in enumerate(question.mistakes):
        usable, wrong = _telling_wrong_answer(question, case, mistake)
        if not usable:
            continue
        entry = {"id": mistake.id, "answer": _encode(wrong)}
        same = next((e for e in found if e["id"] == entry["id"] and e["answer"] == entry["answer"]), None)
        if same is None:
            found.append({**entry, "variants": [number]})
        else:
            same["variants"].append(number)     # which variants gave it: one variant's answers, case by case
    return found


def _kit_reference(qid: str, params: list[str]):
    """Stands where the reference was: it has the graded function's signature (the self-check shows
    inputs by argument name) and refuses to be called, because the kit has no answers to compute."""

    def unavailable(*args: Any) -> Any:
        raise RuntimeError(f"question {qid}: the reference answers are not part of the student kit")

    unavailable.__signature__ = inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params])
    return unavailable


class _Recorded:
    """A mistake variant's answers on the public cases, recorded when the kit was built: what
    `diagnose` compares with (and, across cases, what tells a coincidence from the mistake:
    `diagnose.consistent_variants`). Asked about any other inputs, it has no answer (and so tells
    nothing there)."""

    def __init__(self, answers: dict[str, Any]):
        self.answers = answers          # the key of a case's args -> the variant's answer there

    def __call__(self, *args: Any) -> Any:
        key = _args_key(args)
        if key not in self.answers:
            raise LookupError("recorded for another case")
        return copy.deepcopy(self.answers[key])


def _args_key(args: tuple) -> str:
    h = hashlib.sha256()
    _feed(h, tuple(args))
    return h.hexdigest()


def _kit_mistakes(recorded: list[tuple[str, Any, tuple, Any]], hints: dict[str, str]) -> tuple[Mistake, ...]:
    """One Mistake per variant of the catalogue (`variant`: its number there), holding its answers on
    every public case where it tells something; a file without the numbers gives one per case."""
    variants: dict[tuple[int, int], tuple[str, dict[str, Any]]] = {}
    for count, (mid, variant, args, answer) in enumerate(recorded):
        key = (0, variant) if variant is not None else (1, count)      # the catalogue's order first
        variants.setdefault(key, (mid, {}))[1][_args_key(args)] = answer
    return tuple(Mistake(mid, str(hints.get(mid, "")), _Recorded(answers))
                 for mid, answers in (variants[key] for key in sorted(variants)))


def from_public_json(data: Any) -> CaseSet:
    """A public-only CaseSet from `public_json` data, checked against its own digest."""
    try:
        if data.get("format") != KIT_FORMAT:
            raise CaseFileError(f"format {data.get('format')!r}; this grader reads format {KIT_FORMAT}")
        meta = data["assignment"]
        questions = tuple(
            Question(q["id"], q["title"], float(q["points"]), q["name"], q["kind"],
                     reference=_kit_reference(q["id"], list(q.get("params", []))), call=bool(q["call"]),
                     keys=tuple(q["keys"]), labels=tuple(q["labels"]), blocks=tuple(q.get("blocks", ())),
                     tolerance=Tolerance(float(q["tolerance"]["rtol"]), float(q["tolerance"]["atol"])))
            for q in data["questions"])
        written = tuple(WrittenPart(w["id"], w["title"], float(w["points"]), rubric="")
                        for w in meta.get("written", []))
        assignment = Assignment(meta["name"], meta["title"], questions, written,
                                answer_marker=meta.get("answer_marker", "answer"))
        known = {q.id for q in questions}
        cases = []
        wrong: dict[str, list[tuple[str, int | None, tuple, Any]]] = {}
        for c in data["cases"]:
            if c["question_id"] not in known:
                raise CaseFileError(f"case {c['uid']} belongs to no question")
            probe = c.get("probe")
            case = Case(c["uid"], c["question_id"], PUBLIC, c["label"], tuple(_decode(c["args"])),
                        _decode(c["expected"]), parent=str(c.get("parent", "")),
                        probe=ProbeInput(str(probe["name"]), (), str(probe["right"]), str(probe["wrong"]))
                        if probe else None)
            cases.append(case)
            for m in c.get("mistakes", []):
                answer = _decode(m["answer"])
                for variant in m.get("variants") or [None]:
                    if variant is not None and (not isinstance(variant, int) or isinstance(variant, bool)):
                        raise CaseFileError(f"case {c['uid']}: a mistake's variant is not a number")
                    wrong.setdefault(case.question_id, []).append((str(m["id"]), variant, case.args, answer))
        hints = data.get("hints", {})
        questions = tuple(replace(q, mistakes=_kit_mistakes(wrong.get(q.id, []), hints.get(q.id, {})))
                          for q in questions)
        assignment = replace(assignment, questions=questions)
    except CaseFileError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CaseFileError(f"it is not a public-cases file of this grader ({type(exc).__name__}: {exc})") from None
    if digest([c for c in cases if not c.parent]) != data.get("digest"):
        raise CaseFileError("its cases do not match their digest (the file was changed or damaged)")
    return CaseSet(assignment, tuple(cases), data["digest"])


def save_public(case_set: CaseSet, path: str | os.PathLike, lang: str | None = None) -> None:
    from .files import write_atomic

    write_atomic(path, json.dumps(public_json(case_set, lang), ensure_ascii=False, indent=1))


def load_public(path: str | os.PathLike) -> CaseSet:
    """Read a public-cases file (`grader check --cases FILE`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"the public cases file {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CaseFileError(f"the public cases file {path} is not JSON: {exc}") from None
    try:
        return from_public_json(data)
    except CaseFileError as exc:
        raise CaseFileError(f"the public cases file {path} cannot be used: {exc}") from None


def bundled_public_cases() -> Path | None:
    """The public-cases file shipped inside the package (the student kit), if there is one."""
    path = Path(__file__).with_name(BUNDLED_NAME)
    return path if path.is_file() else None


def for_self_check(config: Any, cases_path: str | os.PathLike | None = None) -> CaseSet:
    """The public cases for `grader check`: from `cases_path` if given; else built from the
    assignment registry; else (the student kit, where the registry is absent) from the bundled file."""
    from .config import ConfigError

    if cases_path is not None:
        return load_public(cases_path)
    try:
        assignment = config.load_assignment()
    except ConfigError:
        bundled = bundled_public_cases()
        if bundled is None:
            raise
        return load_public(bundled)
    return build(assignment, None)
