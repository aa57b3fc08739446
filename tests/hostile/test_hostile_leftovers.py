"""What one job leaves behind for the next one graded by the same worker: code planted where the
next job would run it, and names and permissions meant to make the clean-up fail.

Every place a job can write is emptied after it (scratch, its home, IPython's directory and /tmp at
the bwrap level; scratch only at the rlimits level with Landlock, the host's temporary directories
of the student uid without it). A job plants, in each of them, what the next job would run if it
were still there: `sitecustomize`/`usercustomize` and a `.pth` (run by any Python the next job
starts), modules named like standard ones it imports (`bisect`, `csv`) and like the helper it
writes itself, an *unchecked* hash-based `.pyc` of that helper in `__pycache__` (Python loads it
without looking at the source), IPython start-up files, a `matplotlibrc`; then it makes them hard to
remove: names with a newline, bytes that are not UTF-8, dots and dashes, 255 bytes; a FIFO, a
socket, a symbolic link loop, its own working directory replaced by a link, directories with no
permissions. Promises: the next submission, graded by the same worker, gets full marks, runs none
of it, and finds nothing of it; the worker survives.
"""
from __future__ import annotations

import json

import pytest

from conftest import CAROL, FULL, PLAIN_RLIMITS, assert_all_promises, module, notebook

# The plain rlimits level too (Landlock withheld): there the job writes the host's /tmp, /var/tmp and
# /dev/shm, and the clean-up removes the student uid's entries from them.
LEVELS = ["best", "rlimits", PLAIN_RLIMITS]
MARK = "hw3-planted-5d1e"

PLANT = CAROL + f'''
import importlib.util, marshal, os, socket, sys, tempfile
_MARK = {MARK!r}
_CODE = f"print({{_MARK!r}}, __name__)\\n"
_planted = []
def _put(path, text, mode=0o644):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
        os.chmod(path, mode)
        _planted.append(path)
    except OSError:
        pass
_here = os.getcwd()
_home = os.path.expanduser("~")
_user_site = os.path.join(_home, ".local", "lib", f"python{{sys.version_info[0]}}.{{sys.version_info[1]}}", "site-packages")
_ipython = [os.environ.get("IPYTHONDIR", ""), os.path.join(_home, ".ipython"), os.path.join(os.path.dirname(_here), ".ipython"),
            "/tmp/.ipython", os.path.join(tempfile.gettempdir(), ".ipython")]
_dirs = [_here, os.path.dirname(_here), _home, _user_site, "/tmp", tempfile.gettempdir(), "/var/tmp", "/dev/shm", "/scratch"]
for _d in _dirs:
    for _name in ("sitecustomize.py", "usercustomize.py", "bisect.py", "csv.py", "helper.py"):
        _put(os.path.join(_d, _name), _CODE)
    _put(os.path.join(_d, "zz-planted.pth"), f"import sys; print({{_MARK!r}}, 'pth')\\n")
    _put(os.path.join(_d, "matplotlibrc"), "axes.titlesize: 3\\n")
    _put(os.path.join(_d, ".config", "matplotlib", "matplotlibrc"), "axes.titlesize: 3\\n")
for _d in _ipython:
    if _d:
        _put(os.path.join(_d, "profile_default", "startup", "00-planted.py"), _CODE)
        _put(os.path.join(_d, "profile_default", "ipython_config.py"), _CODE)
# An unchecked hash-based .pyc of the helper the next job writes (PEP 552: flags 0b01, never
# compared with the source).
_tag = sys.implementation.cache_tag
_pyc = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + bytes(8) + marshal.dumps(compile(_CODE, "helper.py", "exec"))
for _d in (_here, os.path.dirname(_here), "/tmp"):
    try:
        os.makedirs(os.path.join(_d, "__pycache__"), exist_ok=True)
        with open(os.path.join(_d, "__pycache__", f"helper.{{_tag}}.pyc"), "wb") as fh:
            fh.write(_pyc)
        _planted.append(_d + "/__pycache__")
    except OSError:
        pass
# Names and kinds of files a clean-up might trip on, in scratch and /tmp.
for _d in (_here, os.path.dirname(_here), "/tmp"):
    for _name in ("new\\nline", "-rf", "...", ".. ", "x" * 255):
        _put(os.path.join(_d, _name), _CODE)
    try:
        with open(os.path.join(os.fsencode(_d), b"not-utf8-\\xff\\xfe"), "w") as fh:
            fh.write(_CODE)
        os.mkfifo(os.path.join(_d, "planted.fifo"))
        socket.socket(socket.AF_UNIX).bind(os.path.join(_d, "planted.sock"))
        os.symlink("loop-b", os.path.join(_d, "loop-a"))
        os.symlink("loop-a", os.path.join(_d, "loop-b"))
        _locked = os.path.join(_d, "locked")
        os.makedirs(os.path.join(_locked, "inner"))
        _put(os.path.join(_locked, "inner", "bisect.py"), _CODE)
        os.mkfifo(os.path.join(_locked, "inner", "fifo"))
        os.chmod(os.path.join(_locked, "inner"), 0)
        os.chmod(_locked, 0)
        _planted.append(_d + " (odd names)")
    except OSError:
        pass
print("planted:", len(_planted), sorted(set(_planted))[:40])
# Its working directory (where the next job's is made) replaced by a link to /tmp, in its first
# graded call (the cells' printed output is read back from a file in it once they have run).
_correct_sigmoid_jacobian = sigmoid_jacobian
def sigmoid_jacobian(*args):
    if not os.path.islink(_here):
        try:
            os.rename(_here, _here + ".moved")
            os.symlink("/tmp", _here)
        except OSError:
            pass
    return _correct_sigmoid_jacobian(*args)
'''

# The next job: writes and imports its own helper, imports what it may, starts a Python, plots,
# then lists every place a job can write (two levels deep).
NEXT = [CAROL, '''%%writefile helper.py
VALUE = 42
''', '''
import helper, bisect, csv, subprocess, sys
assert helper.VALUE == 42, helper
try:
    print("child:", subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout.strip())
except PermissionError:
    print("child: cannot run")       # the rlimits level, a Python under /root: only preloaded modules
''', '''
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
print("titlesize:", plt.rcParams["axes.titlesize"])
''', '''
import json, os, tempfile
here = os.getcwd()
found = []
for top in {here, os.path.dirname(here), os.path.expanduser("~"), "/tmp", tempfile.gettempdir(), "/var/tmp", "/dev/shm"}:
    try:
        names = os.listdir(top)
    except OSError:
        continue
    for name in names:
        path = os.path.join(top, name)
        try:
            if os.lstat(path).st_uid != os.getuid():
                continue             # the machine's or the worker's, not a job's (a host's shared /tmp)
        except OSError:
            continue
        found.append(path)
        if os.path.isdir(path) and not os.path.islink(path):
            try:
                found += [os.path.join(path, n) for n in os.listdir(path)]
            except OSError:
                found.append(path + "/?")
print("LEFT " + json.dumps(sorted(found)))
''']


@pytest.mark.parametrize("level", LEVELS)
def test_nothing_planted_reaches_the_next_job(sessions, tmp_path, level):
    session = sessions(level)
    planted = session.grade(module(tmp_path, PLANT, "plant.py"))
    assert_all_promises(planted, session, tmp_path)
    if level == PLAIN_RLIMITS:
        assert planted.isolation == "rlimits"
    line = next(l for l in planted.output.splitlines() if l.startswith("planted:"))
    assert int(line.split()[1]) >= 20, line                       # it did plant
    result = session.grade(notebook(tmp_path, NEXT, "next.ipynb"))
    assert_all_promises(result, session, tmp_path)
    assert result.score == FULL
    assert [c.status for c in result.cells] == ["ok"] * len(NEXT), [(c.index, c.error[:300]) for c in result.cells]
    assert MARK not in result.output, result.output[-2000:]
    assert ("child: 42" in result.output or "child: cannot run" in result.output) and "titlesize: 3" not in result.output
    left = json.loads(next(l for l in result.output.splitlines() if l.startswith("LEFT "))[len("LEFT "):])
    # Only what this job made itself (its output, its helper, IPython's fresh directory) and what
    # belongs to the worker or to the machine (the host's own temporary files, not the student's).
    odd = [p for p in left if any(s in p for s in ("planted", "customize", "bisect", "csv.py", "loop-", "locked",
                                                   "not-utf8", "new\n", "-rf", "...", "xxxxxxxx", "matplotlibrc",
                                                   "__pycache__", ".moved", ".local", ".config"))]
    assert not odd, odd[:20]
