"""The Gradescope container against what Gradescope really gives it (its autograder docs:
gradescope-autograders.readthedocs.io "specs" and "submission_metadata", and the "The autograder
failed to execute correctly" entry of "troubleshooting": a missing or malformed results.json).

Cheap: a fake /autograder root in tmp_path; the grading session faked where the grading itself is
not what is checked.
"""
from __future__ import annotations

import dataclasses
import json
import math
import zipfile
from pathlib import Path

import jsonschema
import pytest

from grader import gradescope
from grader.config import load_config
from grader.render import gradescope as render
from grader.results import Result

from gradescope_run import run_autograder

SCHEMA = json.loads((Path(__file__).with_name("gradescope_schema.json")).read_text(encoding="utf-8"))
SECRET = "tests-gradescope-real-secret-5d1e"


def validate(data: dict) -> None:
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.fixture(scope="module")
def real_zip(tmp_path_factory) -> Path:
    config = load_config(env={"GRADER_SECRET": SECRET})
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    gradescope.build_autograder(out, config)
    return out


def test_a_grader_that_cannot_even_start_still_leaves_a_results_json(tmp_path: Path, real_zip: Path):
    """Gradescope shows "The autograder failed to execute correctly" when results.json is missing:
    run_autograder writes one itself when `python -m grader` dies before writing it."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(real_zip) as archive:
        archive.extractall(root / "source")
    (root / "source" / "src" / "grader" / "__init__.py").write_text("raise ImportError('broken install')\n")
    (root / "submission").mkdir()
    (root / "submission" / "hw3.py").write_text("x = 1\n")
    proc = run_autograder(root, tmp_path, timeout=120)
    results = root / "results" / "results.json"
    assert results.is_file(), proc.stderr
    data = json.loads(results.read_text(encoding="utf-8"))
    validate(data)
    assert data["score"] == 0 and "not your fault" in data["output"]
    assert "broken install" not in data["output"]          # the instructor's detail stays in stdout/stderr


class FakeSession:
    """Stands in for grader.session.Session: returns a prepared Result."""
    result: Result

    def __init__(self, config, workers=1):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def grade(self, path, name=None):
        return dataclasses.replace(FakeSession.result, submission=name or "x")


@pytest.fixture
def fake_root(tmp_path: Path, session, monkeypatch):
    """A fake /autograder with a template submission's real Result, graded once per test."""
    import grader.session

    FakeSession.result = session.grade(Path(__file__).resolve().parent.parent / "submissions" / "carol_module.py")
    monkeypatch.setattr(grader.session, "Session", FakeSession)
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "hw3.py").write_text("x = 1\n")
    return root


def test_a_result_that_is_not_valid_json_still_leaves_a_results_json(fake_root: Path, monkeypatch):
    """NaN is not JSON: a non-finite number must not leave Gradescope without a results.json."""
    real = render.results_json

    def with_nan(*args, **kwargs):
        data = real(*args, **kwargs)
        data["score"] = math.nan
        return data

    monkeypatch.setattr(render, "results_json", with_nan)
    config = tmp_config(fake_root.parent, "")
    gradescope.run(fake_root, config)
    data = json.loads((fake_root / "results" / "results.json").read_text(encoding="utf-8"))
    validate(data)
    assert data["score"] == 0 and "not your fault" in data["output"]


def tmp_config(folder: Path, extra: str) -> Path:
    path = folder / "grader.toml"
    path.write_text(f'[grader]\nsecret = "{SECRET}"\n' + extra, encoding="utf-8")
    return path


def metadata(root: Path, created_at: str, due: str, user_due: str | None = None) -> None:
    user = {"email": "s@example.edu", "id": 7, "name": "A Student", "sid": "123"}
    if user_due:
        user["assignment"] = {"due_date": user_due, "late_due_date": None, "release_date": None}
    (root / "submission_metadata.json").write_text(json.dumps(
        {"id": 42, "created_at": created_at, "submission_method": "upload", "users": [user],
         "assignment": {"id": 3, "title": "HW3", "due_date": due, "late_due_date": None, "total_points": "100.0"},
         "previous_submissions": []}), encoding="utf-8")


LATE = "[late]\ndue = 2026-03-01T23:59:00-05:00\npenalty_per_day = 10\ncap = 50\n"


def test_the_late_policy_applies_from_created_at(fake_root: Path):
    metadata(fake_root, "2026-03-03T10:00:00.123456-05:00", "2026-03-01T23:59:00.000000-05:00")
    data = gradescope.run(fake_root, tmp_config(fake_root.parent, LATE))
    validate(data)
    full = FakeSession.result.score
    assert data["score"] == pytest.approx(full * 0.8, abs=1e-3)       # two started days: -20%
    assert "2 days after your due date 2026-03-01T23:59:00-05:00" in data["output"] and "20%" in data["output"]
    # the output is visible while the hidden tests (and so the total) are not: no points in it
    assert "total after the penalty" not in data["output"] and "−20" not in data["output"].replace("−20%", "")


def test_on_time_is_not_penalised(fake_root: Path):
    metadata(fake_root, "2026-03-01T20:00:00-05:00", "2026-03-01T23:59:00-05:00")
    data = gradescope.run(fake_root, tmp_config(fake_root.parent, LATE))
    assert data["score"] == pytest.approx(FakeSession.result.score, abs=1e-3)
    assert "after your due date" not in data["output"]


def test_a_gradescope_extension_moves_the_due_date(fake_root: Path):
    """A student with an extension has their own, later, users[].assignment.due_date."""
    metadata(fake_root, "2026-03-03T10:00:00-05:00", "2026-03-01T23:59:00-05:00",
             user_due="2026-03-04T23:59:00-05:00")
    data = gradescope.run(fake_root, tmp_config(fake_root.parent, LATE))
    assert data["score"] == pytest.approx(FakeSession.result.score, abs=1e-3)
    # the same time, ten hours past an extension of one day: one late day
    metadata(fake_root, "2026-03-03T10:00:00-05:00", "2026-03-01T23:59:00-05:00",
             user_due="2026-03-02T23:59:00-05:00")
    data = gradescope.run(fake_root, tmp_config(fake_root.parent, LATE))
    assert data["score"] == pytest.approx(FakeSession.result.score * 0.9, abs=1e-3)
    assert "1 day after your due date 2026-03-02T23:59:00-05:00" in data["output"]


def test_the_penalty_also_holds_for_a_public_only_score(fake_root: Path):
    metadata(fake_root, "2026-03-03T10:00:00-05:00", "2026-03-01T23:59:00-05:00")
    on_time = render.results_json(FakeSession.result, "after_published", hidden_score="public-only")["score"]
    data = gradescope.run(fake_root, tmp_config(
        fake_root.parent, LATE + '[gradescope]\nhidden_score = "public-only"\nhidden_visibility = "after_published"\n'))
    validate(data)
    assert on_time > 0 and data["score"] == pytest.approx(on_time * 0.8, abs=1e-3)


def test_the_late_policy_is_packaged(real_zip: Path, tmp_path: Path):
    path = tmp_config(tmp_path, LATE)
    config = load_config(path, env={})
    text = gradescope.grader_toml(config)
    (tmp_path / "c.toml").write_text(text.replace('secret_file = "hidden_secret"', f'secret = "{SECRET}"'))
    again = load_config(tmp_path / "c.toml", env={})
    assert again.late == config.late


# ------------------------------------------------------------------------------------------------
# What /autograder/submission holds: the student's files under their own names


def zipped(members: dict[str, bytes]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_handed_in_as_a_file_is_opened(tmp_path: Path):
    """A zip that reached the submission folder unopened (inside a repository, or zipped twice) is
    opened like a zip in a batch download, its notebook or module graded."""
    from grader.load import pick_candidate

    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "HW3 final (1).zip").write_bytes(zipped({"HW3/hw3 - Copy.py": b"x = 1\n", "HW3/notes.pdf": b"%PDF"}))
    path, notes = gradescope.gradable(folder, tmp_path / "unpacked")
    chosen, _ = pick_candidate(path)
    assert chosen.name == "hw3 - Copy.py" and chosen.read_bytes() == b"x = 1\n"
    assert any("HW3 final (1).zip" in n.message for n in notes)


def test_what_needs_no_unpacking_is_graded_where_it_is(tmp_path: Path):
    folder = tmp_path / "submission"
    (folder / "repo" / ".git").mkdir(parents=True)       # a GitHub submission: the repository's files
    (folder / "repo" / "HW3 (1).ipynb").write_text("{}")
    (folder / "repo" / "README.md").write_text("# hw3")
    assert gradescope.gradable(folder, tmp_path / "unpacked") == (folder / "repo", [])
    (folder / "old.zip").write_bytes(zipped({"hw3.py": b"x = 1\n"}))
    (folder / "hw3.py").write_text("x = 2\n")             # a module beside a zip: the module, the zip unopened
    assert gradescope.gradable(folder, tmp_path / "unpacked") == (folder, [])
    assert not (tmp_path / "unpacked").exists()


def test_a_broken_zip_is_said_not_crashed_on(tmp_path: Path):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "hw3.zip").write_bytes(b"PK\x03\x04 not really")
    path, notes = gradescope.gradable(folder, tmp_path / "unpacked")
    assert path == folder and any("not a readable zip" in n.message for n in notes)


# ------------------------------------------------------------------------------------------------
# Nothing of a hidden case in what students see


def test_what_a_function_prints_on_hidden_cases_is_not_shown(session, tmp_path: Path):
    """Student code that prints its arguments (a debugging print left in) runs on hidden cases too:
    what it prints then must not reach the visible output."""
    from test_gradescope import assert_no_hidden_leak

    carol = (Path(__file__).resolve().parent.parent / "submissions" / "carol_module.py").read_text(encoding="utf-8")
    path = tmp_path / "hw3.py"
    path.write_text(carol + "\n_real = sigmoid_jacobian\n"
                    "def sigmoid_jacobian(W, x):\n    print('ARGS', W.tolist(), x.tolist())\n    return _real(W, x)\n",
                    encoding="utf-8")
    result = session.grade(path)
    for visibility in ("hidden", "after_due_date"):
        data = render.results_json(result, visibility)
        validate(data)
        assert_no_hidden_leak(data, session.config)
        assert "ARGS" not in json.dumps(data)


def test_results_json_stays_small_whatever_the_student_prints_or_raises(session):
    """Gradescope's docs state no size limit for results.json; the output is bounded anyway: each
    test's output, the top-level output and the printed text are cut, so a student who prints or
    raises megabytes still gets a page that loads (and a file well under a megabyte)."""
    result = session.grade(Path(__file__).resolve().parent.parent / "submissions" / "bob_seed_mistakes.ipynb")
    huge = "x" * 2_000_000
    questions = [dataclasses.replace(q, cases=[dataclasses.replace(c, message=huge, got=huge, expected=huge)
                                               for c in q.cases]) for q in result.questions]
    result = dataclasses.replace(result, questions=questions, output=huge)
    data = render.results_json(result, "after_published")
    validate(data)
    size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    assert size < 2 * len(data["tests"]) * render.OUTPUT_LIMIT + 2 * render.TOTAL_LIMIT
    assert size < 1_000_000


def test_public_only_hidden_tests_keep_their_real_status(session):
    """With hidden_score = "public-only" a hidden test carries 0 of 0 points; once it is shown, its
    status must still say whether its cases passed (0 of 0 alone is marked "passed" by Gradescope)."""
    result = session.grade(Path(__file__).resolve().parent.parent / "submissions" / "bob_seed_mistakes.ipynb")
    data = render.results_json(result, "after_published", hidden_score="public-only")
    validate(data)
    for question in result.questions:
        if question.hidden:
            test = next(t for t in data["tests"] if t["number"] == f"{question.id} hidden")
            all_passed = all(c.status == "passed" for c in question.hidden)
            assert test["status"] == ("passed" if all_passed else "failed"), question.id


# ------------------------------------------------------------------------------------------------
# What a student sees when nothing could be graded


def test_an_upload_without_code_names_what_was_received(tmp_path: Path):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "HW3 (1).pdf").write_bytes(b"%PDF-1.4\n")
    _, notes = gradescope.gradable(folder, tmp_path / "unpacked")
    assert any("HW3 (1).pdf" in n.message and ".ipynb" in n.message for n in notes)
    empty = tmp_path / "empty"
    empty.mkdir()
    _, notes = gradescope.gradable(empty, tmp_path / "unpacked2")
    assert any("no file" in n.message for n in notes)


def test_a_reason_shared_by_every_case_is_said_once_per_test(session, tmp_path: Path):
    folder = tmp_path / "submission"
    folder.mkdir()
    result = session.grade(folder)
    data = render.results_json(result, "hidden")
    validate(data)
    for test in data["tests"]:
        if test["visibility"] == "visible":
            assert test["output"].count("holds no notebook") == 1, test["output"][:400]
