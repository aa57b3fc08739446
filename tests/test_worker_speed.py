"""What the sandboxed child does per case, made cheaper without changing what it reports."""
from __future__ import annotations

import os

from grader import worker


def _failing_call(code: worker.StudentCode, namespace: dict) -> BaseException:
    try:
        namespace["f"]()
    except BaseException as exc:  # noqa: BLE001
        return exc
    raise AssertionError("f did not raise")


def test_a_traceback_resolves_each_file_name_once_per_job(tmp_path, monkeypatch):
    """A blank template fails ~270 calls, each traceback passing the worker's own file and
    numpy's: their real paths were looked up again for every failing call (~860 lstat calls a job)."""
    source = "import json\n\ndef f():\n    return json.loads('{')\n"
    code = worker.StudentCode({"<cell 3>": source}, "submission.py", str(tmp_path))
    namespace: dict = {}
    exec(compile(source, "<cell 3>", "exec"), namespace)
    first = code.explain(_failing_call(code, namespace))

    looked_up: list[str] = []
    real = os.path.realpath
    monkeypatch.setattr(os.path, "realpath", lambda p, *a, **k: looked_up.append(p) or real(p, *a, **k))
    again = [code.explain(_failing_call(code, namespace)) for _ in range(5)]

    assert all(text == first for text in again)          # the same account, the student's frames only
    assert "line 4 in `f` (cell 3)" in first[0] and "json" not in first[1].split("\n")[1]
    assert looked_up == []                                # json's and this file's paths: known already


def test_a_file_in_the_jobs_folder_is_still_the_students_frame(tmp_path):
    helper = tmp_path / "helper.py"
    helper.write_text("def g():\n    raise ValueError('bad')\n")
    code = worker.StudentCode({}, "submission.py", str(tmp_path))
    namespace: dict = {}
    exec(compile(helper.read_text(), str(helper), "exec"), namespace)
    for _ in range(2):
        try:
            namespace["g"]()
        except ValueError as exc:
            summary, printed = code.explain(exc)
        assert "line 2 in `g` (helper.py)" in summary and "ValueError: bad" in printed


def test_a_case_start_line_is_recognised_by_its_bytes_and_reads_as_its_parse(monkeypatch):
    """Half of a job's events are case start lines; each cost a JSON parse in the grader. The
    expected ones are now recognised by their exact bytes, and read as exactly what the parse
    gave; any other line (a forged variant, another job's) is parsed or skipped as before."""
    import json

    from grader import jobwire
    from grader.runner import EventReader

    parsed: list[bytes] = []
    real_parse = jobwire.parse_event
    monkeypatch.setattr(jobwire, "parse_event", lambda line: parsed.append(line) or real_parse(line))
    reader = EventReader(-1)
    reader.expect_starts(7, ["1a/public/0", "2b/hidden/3"])
    lines = [jobwire.case_start_line(7, "1a/public/0"), jobwire.case_start_line(7, "2b/hidden/3"),
             b'{"ev": "case", "job": 7, "uid": "1a/public/0",  "phase": "start"}\n',   # not byte for byte
             jobwire.case_start_line(8, "1a/public/0"),                                   # another job's
             jobwire.case_start_line(7, "9z/public/0")]                                   # not in the batch
    reader.feed(b"".join(lines))
    events = [reader.pop(7) for _ in range(4)]
    assert events == [json.loads(lines[i]) for i in (0, 1, 2, 4)]
    assert [list(e) for e in events[:2]] == [list(json.loads(lines[0]))] * 2          # the same keys, in order
    assert parsed == [lines[2][:-1], lines[4][:-1]]                                  # only the others parsed
    reader.expect_starts(7, ())
    reader.feed(lines[0])
    assert reader.pop(7) == json.loads(lines[0]) and len(parsed) == 3
