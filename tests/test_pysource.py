"""The grader parses Python (a submission's imports, the registry, the kit's audit) in its own
process, from several threads at once in a batch. On CPython 3.11 two parses at the same moment
can fail with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905);
seen here once, when a new session read the registry while a stopped batch's threads finished.
`grader.pysource.parse` is the one way the grader parses; these tests are the race, made likely."""
from __future__ import annotations

import ast
import gc
import threading
import time

from grader import config, environment, pysource
from grader.load import MODULE, Program, Unit

SOURCE = "\n".join(f"def f{i}(x):\n    import numpy as np\n    return [x, {{'a': (1, 2, x)}}]" for i in range(40))


def _let_others_in(phase, info):
    """A collection that runs Python code (here a gc callback; in a batch, a finaliser): another
    thread may take over in the middle of a parse."""
    if phase == "start":
        time.sleep(0)


def race(parse, threads: int = 4, parses: int = 30) -> list[str]:
    """The SystemErrors of `threads` threads each parsing SOURCE `parses` times, while collections
    (made frequent) let other threads in. Without a lock, CPython 3.11 fails within the first
    ~0.1 s here, every time (4 runs in 4)."""
    errors: list[str] = []

    def work():
        for _ in range(parses):
            try:
                parse(SOURCE)
            except SystemError as exc:
                errors.append(str(exc))
                return

    threshold = gc.get_threshold()
    gc.callbacks.append(_let_others_in)
    gc.set_threshold(20)
    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        gc.callbacks.remove(_let_others_in)
        gc.set_threshold(*threshold)
    return errors


def test_parses_from_many_threads_at_once_never_fail():
    assert race(pysource.parse) == []


def test_the_grader_parses_only_through_pysource(monkeypatch):
    """The grader's readers of Python (a submission's imports, the registry's private packages)
    parse through `pysource.parse`, so that no thread of the grader parses beside another."""
    calls = []
    real = pysource.parse

    def counting(source):
        calls.append(source)
        return real(source)

    monkeypatch.setattr(pysource, "parse", counting)
    program = Program(kind=MODULE, filename="hw3.py", units=[Unit(index=0, source=SOURCE)])
    assert [i.module for i in environment.imports(program)] == ["numpy"] * 40
    assert calls == [SOURCE]
    config.declared_private_packages("assignments.hw3")
    assert len(calls) == 2


def test_a_plain_parse_is_the_same_tree():
    assert ast.dump(pysource.parse(SOURCE)) == ast.dump(ast.parse(SOURCE))


def test_no_other_parse_in_the_engine():
    """Any new reader of Python in the engine goes through `pysource.parse` too. Not the shell that
    runs student code (`studentshell.py`): it is loaded, by path, only into the processes that run
    it, where IPython itself parses every cell with `ast.parse`, and cannot import the grader."""
    from pathlib import Path

    engine = Path(pysource.__file__).parent
    direct = [str(p.relative_to(engine)) for p in engine.rglob("*.py")
              if p.name not in ("pysource.py", "studentshell.py") and any(call in p.read_text(encoding="utf-8")
                                                 for call in ("ast.parse(", "PyCF_ONLY_AST"))]
    assert direct == []
