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


def test_case_arguments_decode_to_the_same_fresh_arrays_without_an_import_per_value(monkeypatch):
    """Every case's arguments are decoded in the sandboxed child (~1,200 arrays a submission):
    `decode_args` ran `import numpy` at every node of the tree (half its time). The result is the
    same: fresh, writable, C-contiguous float64 arrays, dicts and lists rebuilt, scalars as they are."""
    import builtins
    import json

    import numpy as np

    from grader import jobwire

    W = np.arange(12.0).reshape(3, 4).T          # not C-contiguous: sent as its values
    args = [{"W": W, "x": [np.ones(2), -0.0, 3]}, np.array([2.5]), [[np.zeros((0, 2))]], "name", None, 7]
    wire = json.loads(jobwire.dumps({"args": jobwire.encode_args(args)}))["args"]
    jobwire.decode_args(wire)                   # numpy found once, as the child finds it
    imports: list[str] = []
    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: imports.append(name) or real_import(name, *a, **k))
    first, second = jobwire.decode_args(wire), jobwire.decode_args(wire)
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert [name for name in imports if name.startswith("numpy")] == []

    def same(got, sent):
        if isinstance(sent, np.ndarray):
            assert type(got) is np.ndarray and got.dtype == np.float64 and got.shape == sent.shape
            assert got.flags.c_contiguous and got.flags.writeable and got.flags.owndata
            assert got.tobytes() == np.ascontiguousarray(sent, dtype=np.float64).tobytes()
        elif isinstance(sent, dict):
            assert type(got) is dict and list(got) == list(sent)
            for k in sent:
                same(got[k], sent[k])
        elif isinstance(sent, list):
            assert type(got) is list and len(got) == len(sent)
            for g, s in zip(got, sent):
                same(g, s)
        else:
            assert got == sent and type(got) is type(sent) and str(got) == str(sent)

    same(first, args)
    first[0]["W"][0, 0] = 99.0                  # each call has its own arrays
    assert second[0]["W"][0, 0] == 0.0


def test_a_cases_round_in_the_child_imports_nothing(monkeypatch):
    """Around each call the child copies the arguments, encodes the answer and compares the
    arguments again; each of these ran `import numpy` (three imports a case, ~800 a job). Same
    answers, same account of an argument changed in place."""
    import builtins

    import numpy as np

    from grader import jobwire

    def f(W, x):
        W *= 2
        return W @ x

    def run() -> tuple:
        args = [np.eye(2), np.array([1.0, 2.0])]
        before = jobwire.snapshot(args)
        answer = jobwire.encode_answer("array", [], f(*args))
        return answer, jobwire.changed_arguments(f, args, before)

    expected = run()
    imports: list[str] = []
    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: imports.append(name) or real_import(name, *a, **k))
    got = run()
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert [name for name in imports if name.startswith("numpy")] == []
    assert got == expected and expected[1] == ["W"]
    assert np.frombuffer(__import__("base64").b64decode(got[0]["b64"])).tolist() == [2.0, 4.0]


def _batch(cases: list[tuple[str, str, list]]) -> dict:
    """A case batch as the child parses it from the grader's line (`jobwire.cases_message`)."""
    import json

    from grader import jobwire

    wires = [jobwire.case_wire(uid, name, True, "array", [], args) for uid, name, args in cases]
    return json.loads(jobwire.cases_message(7, "public", 5.0, wires))


def _answers(batch: dict, namespace: dict) -> list[dict]:
    import json

    from grader import jobwire

    read, write = os.pipe()
    try:
        worker._answer_batch(batch, namespace, worker.Channel(write), 7)
        os.close(write)
        with os.fdopen(read, "rb") as fh:
            lines = [json.loads(line) for line in fh.read().splitlines()]
    except BaseException:
        os.close(read)
        raise
    return [e for e in lines if e.get("ev") == jobwire.Ev.CASE.value and "phase" not in e]


def test_a_calls_arguments_are_compared_with_what_was_sent_not_with_copies(monkeypatch):
    """The child copied every argument array before each call (`jobwire.snapshot`, ~1,300 copies a
    job) to tell afterwards whether the call changed it; the decoded wire bytes are already that
    record: each call still gets fresh, writable arrays of its own, a change in place is still
    named, and an argument that cannot be decoded still fails its case alone."""
    import numpy as np

    from grader import jobwire

    seen: list = []

    def scales_in_place(W, x):
        seen.append(W)
        W *= 2
        return W @ x["v"]

    def leaves_alone(W, x):
        seen.append(W)
        assert type(W) is np.ndarray and W.flags.writeable and W.flags.owndata and W.flags.c_contiguous
        return W @ x["v"]

    def changes_the_dict(W, x):
        x["v"][0] = 5.0
        return W @ x["v"]

    W, x = np.eye(2), {"v": np.array([1.0, 2.0])}
    batch = _batch([("a/0", "scales_in_place", [W, x]), ("a/1", "leaves_alone", [W, x]),
                    ("a/2", "changes_the_dict", [W, x]), ("a/3", "leaves_alone", [W, x])])
    batch["cases"][3]["args"][0]["shape"] = [3, 3]                # decodes to an error: that case alone
    namespace = {f.__name__: f for f in (scales_in_place, leaves_alone, changes_the_dict)}
    expected = _answers(batch, namespace)
    monkeypatch.setattr(jobwire, "snapshot", lambda args: (_ for _ in ()).throw(AssertionError("copied")))
    seen.clear()
    got = _answers(batch, namespace)
    for event in expected + got:
        event.pop("seconds")
    assert got == expected
    assert [e["status"] for e in got] == ["ok", "ok", "ok", "error"]
    assert [e.get("changed") for e in got] == [["W"], None, ["x"], None]
    assert "cannot reshape array of size 4 into shape (3,3)" in got[3]["error"]
    assert seen[0] is not seen[1] and seen[1].tolist() == [[1.0, 0.0], [0.0, 1.0]]   # fresh for each call


def _tree(root) -> list[tuple[str, int, bytes]]:
    import stat

    found = []
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = os.path.join(folder, name)
            info = os.lstat(path)
            content = open(path, "rb").read() if stat.S_ISREG(info.st_mode) else b""
            found.append((os.path.relpath(path, root), stat.S_IMODE(info.st_mode), content))
    return sorted(found)


def test_each_jobs_ipython_profile_is_the_one_the_zygote_prepared_its_folders_made_again(tmp_path, monkeypatch):
    """Each job made IPython's profile for its scratch directory anew (a traitlets object whose every
    folder is made twice over, ~1 ms of a job's CPU with the pages it copies from the zygote); the
    zygote now makes it once, and a job only makes its folders again in the emptied scratch: the
    same folders, modes and files as before, and the same profile seen from the job's shell."""
    import shutil

    from IPython.core.profiledir import ProfileDir

    from grader import studentshell

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "zygote"))
    made = tmp_path / "made-per-job" / ".ipython"
    shell = studentshell.Shell()
    shell.own_directory(str(made))
    expected = _tree(made)
    assert [p for p, *_ in expected] == ["profile_default", "profile_default/log", "profile_default/pid",
                                         "profile_default/security", "profile_default/startup",
                                         "profile_default/startup/README"]

    scratch = tmp_path / "scratch" / ".ipython"
    shell.prepare_directory(str(scratch))
    for _ in range(2):
        shutil.rmtree(scratch.parent)                 # the clean-up empties scratch after each job
        scratch.parent.mkdir()
        with monkeypatch.context() as patched:
            patched.setattr(ProfileDir, "create_profile_dir", classmethod(lambda *a, **k: 1 / 0))
            shell.own_directory(str(scratch))
        assert _tree(scratch) == expected
        assert shell.ip.profile_dir.location == str(scratch / "profile_default")
        assert shell.ip.profile_dir.security_dir == str(scratch / "profile_default" / "security")
        assert shell.ip.ipython_dir == str(scratch) == os.environ["IPYTHONDIR"]
    shell.own_directory(str(made))                    # any other folder: made as before
    assert shell.ip.profile_dir.location == str(made / "profile_default")


def test_a_case_batch_crosses_the_zygote_and_the_pipe_without_being_copied(monkeypatch):
    """The zygote passes each case batch (~40 and ~160 kB) to the job's child unparsed. On the way it
    was copied ~8 times (joined from 64 kB reads, split off as a line, given its newline again, cut
    into 64 kB writes, the rest copied after each), each copy written into pages the zygote shares
    copy-on-write with the forked child: ~300 page faults a job. A batch read at once is now the line
    itself, the pipe to the child holds it whole, and what a write did not take is written from a view;
    the child reads the line it was sent, whatever the pieces."""
    import threading

    batch = b'{"op": "cases", "job": 3, "cases": [' + b'"x", ' * 40_000 + b'"y"]}\n'
    lines, rest = worker.split_lines(batch)
    assert lines == [batch] and lines[0] is batch and rest == b""
    assert worker.split_lines(b'{"op": "kill"}\n' + batch[:10]) == ([b'{"op": "kill"}\n'], batch[:10])
    assert worker.split_lines(batch[:10]) == ([], batch[:10])

    read, write = os.pipe()
    relay = worker.Relay(write)
    written: list = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: written.append(data) or real_write(fd, data))
    worker._hold_a_batch(write)
    relay.add(batch)
    assert not relay.waiting and len(written) == 1 and written[0].obj is batch    # one write, the line itself
    reader = worker.LineReader(read)
    assert reader.line() == batch[:-1].decode()

    big = b'{"op": "cases", "job": 3, "cases": [' + b'"z", ' * 500_000 + b'"y"]}\n'   # more than the pipe holds
    relay.add(big)
    relay.add(batch)
    assert relay.waiting                                                           # the child reads nothing yet
    got: list = []
    thread = threading.Thread(target=lambda: got.extend([reader.line(), reader.line()]))
    thread.start()
    while relay.waiting:
        relay.push()
    thread.join()
    assert got == [big[:-1].decode(), batch[:-1].decode()]
    relay.close()
    os.close(read)


def test_a_failing_calls_account_places_its_innermost_frame_alone(tmp_path, monkeypatch):
    """A case reports the one-line account of its error (`explain(exc)[0]`); the printable traceback
    beside it, every student frame placed and joined, was made for each of a blank template's ~270
    failing calls and thrown away. `summary` is that first line, word for word, placing only the
    innermost student frame."""
    helper = tmp_path / "helper.py"
    helper.write_text("def g(x):\n    return 1 / x\n")
    cell = "import helper\n\ndef f(x):\n    return h(x)\n\ndef h(x):\n    return helper.g(x)\n"
    bad = "def k(:\n"

    class Odd(Exception):
        def __str__(self):
            raise RuntimeError("no")

    code = worker.StudentCode({"<cell 2>": cell, "<cell 5>": bad}, "submission.py", str(tmp_path))
    namespace: dict = {}
    monkeypatch.syspath_prepend(str(tmp_path))
    exec(compile(cell, "<cell 2>", "exec"), namespace)
    errors: list[BaseException] = []
    for call in (lambda: namespace["f"](0), lambda: compile(bad, "<cell 5>", "exec"), lambda: namespace["f"]("x")):
        try:
            call()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
    try:
        raise Odd()
    except Odd as exc:
        errors.append(exc)

    placed: list = []
    real = worker.StudentCode.place
    monkeypatch.setattr(worker.StudentCode, "place", lambda self, *a: placed.append(a) or real(self, *a))
    for exc in errors:
        placed.clear()
        assert code.summary(exc) == code.explain(exc)[0]
        first = len(placed)
        placed.clear()
        code.summary(exc)
        assert len(placed) <= 1 and (first <= 1 or len(placed) < first)
    assert "line 2 in `g` (helper.py): ZeroDivisionError" in code.summary(errors[0])
