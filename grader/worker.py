"""The untrusted side: runs inside the sandbox, executes a submission and calls what it defines.

This file is started as a standalone script (``python -I worker.py --zygote``) by `grader.runner`,
inside the sandbox that `grader.sandbox` describes. It imports nothing from the grader: it must not
be able to reach anything that knows an expected value, and it never decides whether an answer is
right. It only reports what the submission did and returned, as plain data (JSON lines; arrays as
base64 of little-endian float64 with their shape).

Why a "zygote": starting Python and importing numpy and IPython costs ~0.6 s, executing a small
notebook a few milliseconds. The zygote pays the start-up once, then forks a fresh child per job,
so every submission starts from the same clean, warm state at the cost of a fork.

Protocol (one JSON object per line).
  grader -> zygote (stdin):   {"op": "run", "job", "program", "skip", "limits"}
                              {"op": "cases", "job", "cases", "case_seconds"}   (relayed to the child)
                              {"op": "kill", "job"}  {"op": "quit"}
  zygote/child -> grader:     {"ev": "ready"} {"ev": "cell", ...} {"ev": "loaded", ...}
                              {"ev": "case", ...} {"ev": "done"} {"ev": "exit", ...} {"ev": "clean"}
The child writes its events straight to the grader; anything it writes there is its own claim
about its own answers, which the grader checks like any other returned value.
"""
from __future__ import annotations

import base64
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import sys
import time
import traceback

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

MAX_ELEMENTS = 5_000_000      # an answer larger than this is not an answer to this homework
MAX_TEXT = 2000               # characters of any error message the child reports

_libc = None


def _prctl(option: int, arg: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl(option, arg, 0, 0, 0)


def _short(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Channel:
    """Writes event lines to the grader on a file descriptor nobody else is meant to use."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, **event) -> None:
        data = (json.dumps(event, allow_nan=True) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


# ----------------------------------------------------------------------------------------------
# Values in and out


def decode(value):
    """Rebuild case arguments: tagged arrays become fresh C-contiguous float64 arrays."""
    import numpy as np

    if isinstance(value, dict) and "__ndarray__" in value:
        raw = base64.b64decode(value["__ndarray__"])
        return np.frombuffer(raw, dtype="<f8").reshape(value["shape"]).astype(np.float64, order="C")
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class Unconvertible(Exception):
    """The returned object is not an answer of the expected kind; the message says why."""


def encode_array(obj):
    import numpy as np

    try:
        arr = np.asarray(obj)
    except Exception as exc:  # noqa: BLE001 - student objects can raise anything
        raise Unconvertible(f"cannot be turned into an array ({type(exc).__name__}: {_short(str(exc), 300)})")
    if arr.dtype.kind == "c":
        if np.any(arr.imag != 0):
            raise Unconvertible("returned complex numbers; the answer must be real")
        arr = arr.real
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except Exception as exc:  # noqa: BLE001
            raise Unconvertible(
                f"returned values of type {arr.dtype} that are not numbers "
                f"({type(exc).__name__}: {_short(str(exc), 300)})")
    if arr.size > MAX_ELEMENTS:
        raise Unconvertible(f"returned {arr.size} numbers; that is far too many for this answer")
    plain = np.ascontiguousarray(arr, dtype="<f8")
    return {"shape": list(plain.shape), "b64": base64.b64encode(plain.tobytes()).decode()}


def encode_answer(kind: str, keys: list, obj):
    """Turn what the student returned into plain data of the question's kind."""
    if kind == "array":
        return encode_array(obj)
    if kind == "array_dict":
        if not hasattr(obj, "keys") or not hasattr(obj, "__getitem__"):
            raise Unconvertible(f"returned {type(obj).__name__}; expected a dict with keys {keys}")
        present = set()
        try:
            present = {k for k in obj.keys() if isinstance(k, str)}
        except Exception as exc:  # noqa: BLE001
            raise Unconvertible(f"its keys cannot be listed ({type(exc).__name__})")
        missing = [k for k in keys if k not in present]
        if missing:
            raise Unconvertible(f"the returned dict lacks the key(s) {missing}")
        return {k: encode_array(obj[k]) for k in keys}
    if kind == "label":
        if not isinstance(obj, str):
            raise Unconvertible(f"returned {type(obj).__name__}; expected a string")
        return str.__str__(obj)[:200]
    if kind == "name_set":
        if not isinstance(obj, (set, frozenset, list, tuple)):
            raise Unconvertible(f"returned {type(obj).__name__}; expected a set of names")
        items = list(obj)
        if len(items) > 100 or not all(isinstance(x, str) for x in items):
            raise Unconvertible("expected a set of strings (gate names)")
        return sorted({str.__str__(x)[:50] for x in items})
    raise Unconvertible(f"unknown answer kind {kind}")


# ----------------------------------------------------------------------------------------------
# The child: one job


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def _set_limits(limits: dict) -> None:
    def cap(which, value):
        try:
            soft, hard = resource.getrlimit(which)
            value = int(value)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_CPU, limits.get("cpu_seconds", 300))
    cap(resource.RLIMIT_FSIZE, limits.get("fsize_mb", 16) * 2**20)
    cap(resource.RLIMIT_NOFILE, limits.get("nofile", 64))
    if limits.get("nproc"):
        cap(resource.RLIMIT_NPROC, limits["nproc"])
    if limits.get("memory_mb"):
        # Address space on top of what the warm zygote already maps (numpy, IPython).
        with open("/proc/self/statm") as fh:
            vm_pages = int(fh.read().split()[0])
        base = vm_pages * os.sysconf("SC_PAGE_SIZE")
        cap(resource.RLIMIT_AS, base + limits["memory_mb"] * 2**20)


def _describe(exc: BaseException) -> str:
    return _short(f"{type(exc).__name__}: {exc}")


class Shell:
    """IPython semantics for notebook cells, with shell escapes recorded instead of run."""

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "NoColor"
        config.InteractiveShell.xmode = "Plain"
        self.ip = InteractiveShell.instance(config=config)
        self.escapes: list[str] = []
        self.ip.system = self.ip.system_raw = self.ip.system_piped = self._escape
        self.ip.getoutput = self._escape
        for magic in ("bash", "sh", "script", "system", "sx", "perl", "ruby", "python2", "python3", "pypy"):
            kind = "cell" if magic in ("bash", "sh", "script", "perl", "ruby", "python2", "python3", "pypy") else "line"
            self.ip.register_magic_function(self._escape_magic(magic), magic_kind=kind, magic_name=magic)
        # Plots are not graded; %matplotlib must not fail where no GUI or backend exists.
        self.ip.register_magic_function(lambda line="": None, magic_kind="line", magic_name="matplotlib")

    def _escape(self, cmd, *args, **kwargs):
        self.escapes.append(_short(str(cmd), 200))
        return None

    def _escape_magic(self, name):
        def magic(line="", cell=None):
            self.escapes.append(_short(f"%%{name} {line}".strip(), 200))
        return magic

    def warm(self) -> None:
        """Load what the first real cell would otherwise load (magics, traceback formatting)."""
        import io
        import contextlib

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            self.ip.run_cell("%time _ = 1", store_history=False)
            self.ip.run_cell("1/0", store_history=False)
            self.ip.run_cell("def f(:\n  pass", store_history=False)
        self.escapes.clear()
        self.ip.user_ns.pop("_", None)

    def run(self, source: str):
        """Run one cell; return the exception it raised, or None."""
        result = self.ip.run_cell(source, store_history=False)
        return result.error_before_exec or result.error_in_exec

    @property
    def namespace(self) -> dict:
        return self.ip.user_ns


def _child(job: dict, channel: Channel, cases_fd: int, shell: Shell | None, scratch: str) -> None:
    import numpy  # noqa: F401 - already imported by the zygote; here for clarity

    job_id = job["job"]
    limits = job.get("limits", {})
    program = job["program"]
    os.setsid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, _alarm)
    workdir = os.path.join(scratch, "job")
    os.chdir(workdir)
    out_path = os.path.join(workdir, ".output")
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    _set_limits(limits)

    # --- execute the program, unit by unit
    skip = set(job.get("skip", []))
    cell_seconds = float(limits.get("cell_seconds", 10))
    if program["kind"] == "notebook":
        namespace = shell.namespace
        namespace["__name__"] = "__main__"
    else:
        import builtins
        namespace = {"__name__": "submission", "__file__": program.get("filename", "submission.py"),
                     "__builtins__": builtins}
    for unit in program["units"]:
        index = unit["index"]
        if index in skip:
            continue
        channel.send(ev="cell", job=job_id, index=index, phase="start")
        signal.setitimer(signal.ITIMER_REAL, cell_seconds)
        status, error = "ok", ""
        try:
            if shell is not None and program["kind"] == "notebook":
                exc = shell.run(unit["source"])
            else:
                exc = None
                try:
                    code = compile(unit["source"], program.get("filename", "submission.py"), "exec")
                    exec(code, namespace)
                except BaseException as e:  # noqa: BLE001 - everything the module does is reported
                    exc = e
        except Timeout as e:  # raised outside IPython's own handling
            exc = e
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if isinstance(exc, Timeout):
            status, error = "timeout", f"the cell ran longer than {cell_seconds:g} s"
        elif exc is not None:
            status, error = "error", _describe(exc)
        channel.send(ev="cell", job=job_id, index=index, status=status, error=error)

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    output = ""
    try:
        with open(out_path, "rb") as fh:
            output = fh.read(int(limits.get("output_bytes", 65536))).decode("utf-8", "replace")
    except OSError:
        pass
    # From here on, nothing the student prints is shown to anyone: it could echo hidden inputs.
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    channel.send(ev="loaded", job=job_id, output=output,
                 shell=list(shell.escapes) if shell is not None else [])

    # --- wait for the cases, then call
    message = _read_line(cases_fd)
    if message is None:
        os._exit(0)
    batch = json.loads(message)
    case_seconds = float(batch.get("case_seconds", 5))
    for case in batch["cases"]:
        uid = case["uid"]
        channel.send(ev="case", job=job_id, uid=uid, phase="start")
        started = time.perf_counter()
        event = {"ev": "case", "job": job_id, "uid": uid}
        if case["name"] not in namespace:
            event.update(status="missing", error=f"`{case['name']}` is not defined")
        else:
            signal.setitimer(signal.ITIMER_REAL, case_seconds)
            try:
                target = namespace[case["name"]]
                if case["call"]:
                    if not callable(target):
                        raise Unconvertible(f"`{case['name']}` is not a function")
                    args = decode(case["args"])
                    returned = target(*args)
                else:
                    returned = target
                signal.setitimer(signal.ITIMER_REAL, 0)
                event.update(status="ok", value=encode_answer(case["kind"], case.get("keys", []), returned))
            except Timeout:
                event.update(status="timeout", error=f"took longer than {case_seconds:g} s")
            except Unconvertible as exc:
                event.update(status="unconvertible", error=_short(str(exc)))
            except RecursionError:
                event.update(status="error", error="RecursionError: maximum recursion depth exceeded")
            except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
                event.update(status="error", error=_describe(exc))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        event["seconds"] = round(time.perf_counter() - started, 6)
        try:
            channel.send(**event)
        except (TypeError, ValueError) as exc:
            channel.send(ev="case", job=job_id, uid=uid, status="unconvertible", error=_describe(exc))
    channel.send(ev="done", job=job_id)
    os._exit(0)


def _read_line(fd: int) -> str | None:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except InterruptedError:
            continue
        if not chunk:
            return None
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks).decode()


# ----------------------------------------------------------------------------------------------
# The zygote


class Zygote:
    def __init__(self, scratch: str, kill_all: bool):
        self.scratch = scratch
        self.kill_all = kill_all
        self.channel = Channel(os.dup(1))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        self.shell: Shell | None = None
        self.child: int | None = None
        self.job: int | None = None
        self.cases_w: int | None = None
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        _prctl(PR_SET_DUMPABLE, 0)  # children share our uid: keep them out of our memory and fds

    def warm(self) -> None:
        import numpy  # noqa: F401
        try:
            self.shell = Shell()
            self.shell.warm()
        except Exception:  # noqa: BLE001 - modules still run without IPython
            traceback.print_exc()
            self.shell = None

    def announce(self) -> None:
        self.channel.send(ev="ready", pid=os.getpid(), uid=os.getuid(), ipython=self.shell is not None)

    def serve(self) -> None:
        stdin = sys.stdin.buffer
        while True:
            readable, _, _ = select.select([0, self.wake_r], [], [])
            if self.wake_r in readable:
                try:
                    os.read(self.wake_r, 4096)
                except BlockingIOError:
                    pass
                self._reap_child()
            if 0 in readable:
                line = stdin.readline()
                if not line:
                    self._kill_everything()
                    return
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                op = message.get("op")
                if op == "run" and self.child is None:
                    self._start(message)
                elif op == "cases" and self.child is not None and self.cases_w is not None:
                    try:
                        os.write(self.cases_w, line if line.endswith(b"\n") else line + b"\n")
                    except OSError:
                        pass
                elif op == "kill":
                    self._kill_everything()
                    self._finish(status="killed by the grader")
                elif op == "quit":
                    self._kill_everything()
                    return

    def _start(self, message: dict) -> None:
        self._wipe()
        os.makedirs(os.path.join(self.scratch, "job"), exist_ok=True)
        cases_r, cases_w = os.pipe()
        self.job = message["job"]
        pid = os.fork()
        if pid == 0:
            try:
                os.close(cases_w)
                os.close(self.wake_r)
                os.close(self.wake_w)
                signal.set_wakeup_fd(-1)
                _child(message, self.channel, cases_r, self.shell, self.scratch)
            except BaseException:  # noqa: BLE001
                try:
                    self.channel.send(ev="internal", job=message["job"], error=_short(traceback.format_exc()))
                finally:
                    os._exit(70)
            os._exit(0)
        os.close(cases_r)
        self.child, self.cases_w = pid, cases_w

    def _reap_child(self) -> None:
        if self.child is None:
            self._collect_orphans()
            return
        try:
            pid, status = os.waitpid(self.child, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.child, 0
        if pid == 0:
            self._collect_orphans()
            return
        self._kill_everything()
        self._finish(status=_describe_status(status), code=status)

    def _finish(self, status: str, code: int | None = None) -> None:
        if self.job is None:
            return
        if self.cases_w is not None:
            os.close(self.cases_w)
        self.channel.send(ev="exit", job=self.job, status=status, code=code)
        self._wipe()
        self.channel.send(ev="clean", job=self.job)
        self.child, self.cases_w, self.job = None, None, None

    def _collect_orphans(self) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0 or pid == self.child:
                return

    def _kill_everything(self) -> None:
        """Kill the child and every process it started, however it detached itself.

        We are a child subreaper, so a daemonised grandchild is re-parented to us rather than to
        init: killing our children until none are left reaches all of them. Where the runner tells
        us that every process we can signal is the submission's (own PID namespace, or a uid of its
        own), kill(-1) stops a fork bomb at once.
        """
        me = os.getpid()
        for _ in range(200):
            if self.kill_all:
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
            children = _children_of(me)
            if not children:
                break
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                try:
                    pid, _ = os.waitpid(-1, 0)
                except ChildProcessError:
                    break
                if not _children_of(me):
                    break
        self._collect_orphans()

    def _wipe(self) -> None:
        """Leave nothing of one job for the next: the scratch directory (and /tmp, if ours) is emptied."""
        for root in (self.scratch, os.environ.get("TMPDIR", "")):
            if not root or not os.path.isdir(root) or root == "/":
                continue
            for name in os.listdir(root):
                _remove(os.path.join(root, name))


def _remove(path: str) -> None:
    def onerror(func, target, exc_info):
        try:
            os.chmod(os.path.dirname(target) or ".", 0o700)
            os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=onerror)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def _children_of(parent: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: the ppid follows the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(name))
    return found


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by signal {name}"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return f"ended ({status})"


def _chown_tree(root: str, uid: int, gid: int) -> None:
    if not root or not os.path.isdir(root):
        return
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            try:
                os.lchown(name, uid, gid)
            except OSError:
                pass


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("could not drop privileges")


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zygote", action="store_true", required=True)
    parser.add_argument("--scratch", required=True)
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    parser.add_argument("--kill-all", action="store_true")
    args = parser.parse_args(argv)
    os.umask(0o077)
    zygote = Zygote(args.scratch, args.kill_all)
    # Warm up before dropping privileges: the interpreter may live where only root can read
    # (e.g. under /root), and no student code has run yet.
    zygote.warm()
    if args.uid is not None:
        gid = args.gid if args.gid is not None else args.uid
        for root in (args.scratch, os.environ.get("TMPDIR", "")):
            _chown_tree(root, args.uid, gid)
        _drop_privileges(args.uid, gid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)
    zygote.announce()
    zygote.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
