"""How student code runs: a notebook cell or a module, as Jupyter and IPython run them.

One module for both processes that run student code, the sandboxed worker (`worker.py`) and the
self-check's child (`portable_child.py`), so that a notebook or a module behaves the same when a
student checks it and when it is graded: magics, shell escapes recorded and not run, `%timeit`
once, `input()` answered with a clear error, `get_ipython()` in a module exported from a notebook.

Standalone like `jobwire.py`, and for the same reason: both children are scripts that must not
import the grader package (it knows expected values). They load this file from beside themselves
before any student code exists; `grader.sandbox` binds it into the sandbox next to the worker.
Stdlib only at import; IPython is imported when a `Shell` is made. Nothing here is secret.
"""
from __future__ import annotations

import ast
import os
import re
import sys
from typing import Any, Callable

if __package__:
    from . import jobwire               # imported as grader.studentshell (tests, tools)
else:
    jobwire = sys.modules["_grader_jobwire"]    # loaded by the child that loaded this file, first

_short = jobwire.short      # one way to cut a message, on both sides of the sandbox


class Timeout(Exception):
    """A cell or a call ran over its limit (raised by the child's alarm or watchdog)."""


def no_input(prompt: str = "") -> str:
    """`input()` in student code: nobody is at the keyboard (and stdin is never the protocol's)."""
    raise EOFError("input() cannot be answered during grading (nobody is at the keyboard); "
                   "set the value in the code instead")


def _no_stdin(prompt: str = "", default=None, interrupt=None) -> bool:
    """IPython's own confirmations (`%reset`, `%reset_selective`) as a kernel without stdin answers
    them: nbclient's and a headless Restart & Run All's kernel raise StdinNotImplementedError, which
    those magics take as yes. Through `input()` the grader's EOFError picked the default, no, and
    `%reset` deleted nothing where Jupyter deletes every name."""
    from IPython.core.error import StdinNotImplementedError

    raise StdinNotImplementedError("raw_input was called, but this frontend does not support input requests.")


NO_DEBUGGER = "pdb.set_trace() waits for debugger commands, which nobody types during grading: remove it"


def no_debugger(*args, **kwargs) -> None:
    """`breakpoint()` as in a Jupyter kernel: ipykernel imports debugpy, whose breakpoint hook returns
    at once when no debugger is attached, so a `breakpoint()` left in after debugging does nothing
    there. With Python's own hook, pdb read the empty stdin as "quit" and the call raised BdbQuit."""
    return None


def missing_module(exc: BaseException) -> str:
    """The top-level name of the module an import could not find ("" for any other error)."""
    if not isinstance(exc, ImportError):
        return ""
    name = getattr(exc, "name", None)
    if not isinstance(name, str) or not name:
        return ""
    top = name.split(".")[0]
    return top if top.isidentifier() and len(top) <= 100 else ""


class ImportGate:
    """A meta-path finder that lets student code import only the graded environment's modules.

    Installed in the self-check, sandboxed or not (the grader sends the list): on a student's
    machine `import torch` works, and a check that passed would say nothing of the cell that fails
    when graded. Only imports made by student code itself are gated (a library importing its own
    dependencies is not), and only top-level modules that are neither in the list, nor standard,
    nor files of the submission's own directory. `is_student(filename)` says which code is the
    student's.
    """

    def __init__(self, allowed, is_student: Callable[[str], bool]):
        self.allowed = set(allowed) | set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
        self.is_student = is_student

    def find_spec(self, name, path=None, target=None):
        if path is not None or name in self.allowed or not self._from_student():
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name)
        origin = getattr(spec, "origin", None) or ""
        locations = list(getattr(spec, "submodule_search_locations", None) or ())
        if spec is None or any(self.is_student(p) for p in [origin] + locations if p):
            return None                # not installed anyway, or the submission's own file
        raise ModuleNotFoundError(f"No module named '{name}' (it is installed here, but not where this is graded)",
                                  name=name)

    def _from_student(self) -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename
            if not (filename.startswith("<frozen importlib") or "/importlib/" in filename
                    or "\\importlib\\" in filename):
                return self.is_student(filename)
            frame = frame.f_back
        return False

    def invalidate_caches(self) -> None:
        pass


class TextProgressBars:
    """`from tqdm.notebook import tqdm` as in Jupyter, without Jupyter's widgets.

    tqdm's notebook bars are ipywidgets, which a notebook's front end provides and the graded
    environment does not: every such bar would fail its cell ("IProgress not found. Please update
    jupyter and ipywidgets"), and with it the training loop that the cell holds. Progress output is
    not graded, so when the widgets are missing the module's bars are tqdm's text bars (a meta-path
    finder that only touches `tqdm.notebook`, as it is imported)."""

    NAME = "tqdm.notebook"

    def find_spec(self, name, path=None, target=None):
        if name != self.NAME:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _TextBarsLoader(spec.loader)
        return spec

    def invalidate_caches(self) -> None:
        pass


class _TextBarsLoader:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        text_bar = getattr(module, "std_tqdm", None)       # tqdm.notebook's own import of the text bar
        if getattr(module, "IProgress", True) is not None or not isinstance(text_bar, type):
            return                     # the widgets are there (Jupyter's own bars), or a tqdm not known here

        class tqdm_notebook(text_bar):                      # noqa: N801 - tqdm's own name
            def __init__(self, *args, display=True, **kwargs):
                super().__init__(*args, **kwargs)

        def tnrange(*args, **kwargs):
            return tqdm_notebook(range(*args), **kwargs)

        module.tqdm = module.tqdm_notebook = tqdm_notebook
        module.trange = module.tnrange = tnrange


class _MemoryDB(dict):
    """The part of IPython's PickleShareDB that `%cd`, `%bookmark` and `%store` use, in memory."""

    def keys(self, globpat=None):
        import fnmatch

        names = list(super().keys())
        return names if globpat is None else [k for k in names if fnmatch.fnmatchcase(k, globpat)]


# `mkdir [-p] NAME...` with plain names: what a notebook's `!mkdir -p figures` or `%mkdir data` does
# before its cells save there. The grader runs no shell; making the named folders in Python gives the
# student's code nothing it could not do itself (`os.makedirs`), and the cells after it work as in
# Jupyter. Anything a shell would expand or chain (`out_{a,b}`, `$HOME`, `&&`) is not this.
_FOLDER_NAME = re.compile(r"[\w.+@%,=:/-]+")


def make_folders(command: str) -> bool:
    """Do what `command` asks when it is a plain `mkdir` of named folders (True), else nothing."""
    words = command.split()
    if len(words) < 2 or words[0] != "mkdir":
        return False
    options = [w for w in words[1:] if w.startswith("-")]
    names = [w for w in words[1:] if not w.startswith("-")]
    if not names or any(o not in ("-p", "--parents") for o in options) or not all(_FOLDER_NAME.fullmatch(n) for n in names):
        return False
    for name in names:
        try:
            if options:
                os.makedirs(name, exist_ok=True)
            else:
                os.mkdir(name)
        except OSError as exc:
            print(f"mkdir: cannot create directory '{name}': {exc.strerror}", file=sys.stderr)
    return True


class Shell:
    """IPython semantics for notebook cells, with shell escapes recorded instead of run.

    What a student's notebook relies on works as in Jupyter: `%cd`/`%pwd` (IPython's directory
    history lives in memory, not in a database the student uid could not write), `%timeit` (run
    once: timing is not graded, and its default of ~7 × 0.2 s per line would slow a batch),
    `%matplotlib`/`%pylab` (plots are drawn off-screen, see `Figures`), `?`/`??`, `display()`.
    IPython's tracebacks show the student's frames only (`StudentCode`).
    """

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "NoColor"
        config.InteractiveShell.xmode = "Plain"
        self.ip = InteractiveShell.instance(config=config)
        # `%cd`, `%bookmark` and `%store` write IPython's pickled database under the IPython
        # directory, which the student uid does not own; a job's own dict (copied by the fork) is
        # all a graded run needs.
        self.ip.db = _MemoryDB()
        self.escapes: list[str] = []
        self.cell_name = "<cell>"
        self.shown: BaseException | None = None
        self.base_hooks: dict[str, int] = {}
        self.job_profile: Any = None        # the jobs' IPython profile (prepare_directory)
        self.ip.system = self.ip.system_raw = self.ip.system_piped = self._escape
        self.ip.getoutput = self._escape
        # `%pip` too: IPython's runs `{sys.executable} -m pip`, and that command, the grader's own
        # interpreter's path, is not what the student wrote.
        for magic in ("bash", "sh", "script", "system", "sx", "perl", "ruby", "python2", "python3", "pypy",
                      "pip", "conda", "mamba", "micromamba", "uv"):
            kind = "cell" if magic in ("bash", "sh", "script", "perl", "ruby", "python2", "python3", "pypy") else "line"
            self.ip.register_magic_function(self._escape_magic(magic, kind), magic_kind=kind, magic_name=magic)
        # Plots are drawn by the Agg backend whatever the notebook asks for; %matplotlib must not
        # fail where no GUI exists.
        self.ip.register_magic_function(lambda line="": None, magic_kind="line", magic_name="matplotlib")
        self.ip.register_magic_function(self._pylab, magic_kind="line", magic_name="pylab")
        self._timeit = self.ip.find_magic("timeit")
        if self._timeit is not None:
            self.ip.register_magic_function(self._timeit_once, magic_kind="line_cell", magic_name="timeit")
        # As in Jupyter: %store works (on the job's in-memory db), and exit() ends nothing here
        # (ipykernel would stop the kernel after the cell; the cells after it are graded anyway).
        try:
            self.ip.extension_manager.load_extension("storemagic")
        except Exception:  # noqa: BLE001 - an IPython without it: %store is simply unknown
            pass
        self.ip.ask_exit = lambda: None
        self.ip.ask_yes_no = _no_stdin
        sys.breakpointhook = no_debugger
        self._no_debugger_prompt()
        self._kernel_exit()
        self._kernel_magics()
        if not any(isinstance(finder, TextProgressBars) for finder in sys.meta_path):
            sys.meta_path.insert(0, TextProgressBars())
        # Removed from IPython.display in IPython 8 and still in many course notebooks' first cell;
        # it only chose the inline figures' format.
        import IPython.display
        if not hasattr(IPython.display, "set_matplotlib_formats"):
            IPython.display.set_matplotlib_formats = lambda *formats, **kwargs: None
        # The cell's real index names its code (tracebacks say "cell 4", not "Cell In[1]").
        self.ip.compile.get_code_name = lambda raw, transformed, number: self.cell_name
        self.stopped: BaseException | None = None
        self.history = False             # cells keep Jupyter's output history (see `keep_history`)
        self.source = ""                 # the running cell's source
        self._body_lines: list[int] = []  # for each cell magic running, the cell's lines above its body
        self._magic_lines: list[int | None] = []   # for each magic running, the cell's lines above its code
        self.timed_lines = 1             # the cell's lines above the code `%time`/`%%time` ran last
        self._cell_magics = 0
        self._count_cell_magics()
        shown = self.ip.showtraceback

        def show_noted(*args, **kwargs):
            self._note_shown(sys.exc_info()[1])
            return shown(*args, **kwargs)
        self.ip.showtraceback = show_noted
        self.base_hooks = self._hook_counts()

    def _kernel_exit(self) -> None:
        """`exit`/`quit` as ipykernel defines them: they take an optional `keep_kernel` (students
        write `exit(0)` or `quit(1)` as in a script) and end no cell. The terminal IPython's take no
        argument, and `exit(0)` failed its cell with a TypeError about `ExitAutocall` that Jupyter
        never shows. `%reset` makes the namespace again from `exiter`, so the kernel's stays."""
        from IPython.core.autocall import ExitAutocall

        class KernelExit(ExitAutocall):
            def __call__(self, keep_kernel=False):
                self._ip.ask_exit()

        self.ip.exiter = KernelExit(self.ip)
        self.ip.user_ns["exit"] = self.ip.user_ns["quit"] = self.ip.exiter

    def _kernel_magics(self) -> None:
        """The magics ipykernel adds to the terminal's IPython (`ipykernel.zmqshell.KernelMagics`),
        as a kernel runs them: a classic Notebook template begins with `%autosave 0`, and without
        these the cell failed at its first line ("Line magic function `%autosave` not found"), and
        with it the imports below that line. What acts on the front end (autosave, the screen, an
        editor, a console) does nothing; `%less`/`%more` show a file, `%man` is a shell command."""
        from IPython.core import page
        from IPython.core.error import UsageError
        from IPython.utils import openpy

        def autosave(line=""):
            try:
                interval = int(line)
            except ValueError as exc:
                raise UsageError(f"%autosave requires an integer, got {line!r}") from exc
            print(f"Autosaving every {interval} seconds" if interval else "Autosave disabled")

        def less(line=""):
            name = line.strip()
            if not name:
                raise UsageError("Missing filename.")
            if name.endswith(".py"):
                page.page(openpy.read_py_file(name, skip_encoding_cookie=False))
                return
            with open(name) as fh:
                page.page(fh.read())

        def man(line=""):
            self._escape(f"man {line} | col -b")

        for name, magic in (("autosave", autosave), ("less", less), ("more", less), ("man", man),
                            *((front, lambda line="": None) for front in ("clear", "edit", "connect_info",
                                                                           "qtconsole"))):
            self.ip.register_magic_function(magic, magic_kind="line", magic_name=name)

    @staticmethod
    def _no_debugger_prompt() -> None:
        """`pdb.set_trace()` (and IPython's `set_trace`, a subclass's) stops at its own line, saying why:
        it asks for commands even in Jupyter, where a kernel without stdin fails the call, and here pdb
        read the empty stdin as "quit" and the call failed one line later with a bare "BdbQuit: "."""
        import bdb
        import pdb

        def set_trace(debugger, frame=None, *args, **kwargs):
            raise bdb.BdbQuit(NO_DEBUGGER)
        pdb.Pdb.set_trace = set_trace

    def _count_cell_magics(self) -> None:
        """Know when a cell magic (`%%time`, a notebook's own) is running the cell's body, and where
        that body starts in the cell (`_numbered_as_the_cell`)."""
        run_cell_magic = self.ip.run_cell_magic

        def counted(magic_name, line, cell, *args, **kwargs):
            self._cell_magics += 1
            self._body_lines.append(self._lines_before(cell))
            self._magic_lines.append(self._body_lines[-1])
            try:
                return run_cell_magic(magic_name, line, cell, *args, **kwargs)
            finally:
                self._cell_magics -= 1
                self._body_lines.pop()
                self._magic_lines.pop()
        self.ip.run_cell_magic = counted
        run_line_magic = self.ip.run_line_magic

        def placed(magic_name, line, _stack_depth=1):
            # IPython finds the caller's namespace `_stack_depth` frames up (`%time x = 1` assigns
            # there): one more, for this frame
            caller = sys._getframe(_stack_depth)
            self._magic_lines.append(caller.f_lineno - 1 if caller.f_code.co_filename == self.cell_name else None)
            try:
                return run_line_magic(magic_name, line, _stack_depth=_stack_depth + 1)
            finally:
                self._magic_lines.pop()
        self.ip.run_line_magic = placed
        self._numbered_as_the_cell()

    def _lines_before(self, body: str) -> int:
        """How many of the running cell's lines come before a cell magic's body (the magic's own
        line, and blank lines above it): the body is the end of the cell's source."""
        shown = body.rstrip("\n")
        at = self.source.rfind(shown) if shown.strip() else -1
        return self.source.count("\n", 0, at) if at > 0 else 0

    def _numbered_as_the_cell(self) -> None:
        """A cell magic that runs its body as a cell (`%%capture`) has it compiled under the cell's
        name but numbered from the body's first line: an error in it, or in a function it defined,
        was placed a line too high, quoting the line above the real one. The body's parse is
        shifted down by the lines above it, as `%%time`'s "<timed exec>" is placed (worker's
        StudentCode)."""
        import ast

        ast_parse = self.ip.compile.ast_parse

        def parse(source, filename="<unknown>", symbol="exec"):
            if filename == "<unknown>" and self._magic_lines:
                # a magic parsing the code it runs (`%time`'s "<timed exec>"): where that code is
                lines = self._magic_lines[-1]
                self.timed_lines = 1 if lines is None else lines
            offset = self._body_lines[-1] if self._body_lines and filename == self.cell_name else 0
            try:
                tree = ast_parse(source, filename, symbol)
            except SyntaxError as exc:
                if offset and exc.lineno:
                    exc.lineno += offset
                    if getattr(exc, "end_lineno", None):
                        exc.end_lineno += offset
                raise
            return ast.increment_lineno(tree, offset) if offset else tree
        self.ip.compile.ast_parse = parse

    def _note_shown(self, exc: BaseException | None) -> None:
        """An exception IPython shows: `shown`, and `stopped` when a cell magic caught it from the
        cell's body (which then ended there, see `run`)."""
        if exc is None:
            return
        self.shown = exc
        if self._cell_magics:
            self.stopped = exc

    def _escape(self, cmd, *args, **kwargs):
        if not make_folders(str(cmd)):
            self.escapes.append(_short(str(cmd), 200))
        return None

    def _escape_magic(self, name: str, kind: str):
        """A magic that runs a shell or a package manager: recorded as the student wrote it
        (`%pip install numpy`, `%%bash`), not run."""
        prefix = "%%" if kind == "cell" else "%"

        def magic(line="", cell=None):
            self.escapes.append(_short(f"{prefix}{name} {line}".strip(), 200))
        return magic

    def _pylab(self, line=""):
        """`%pylab`: numpy and pyplot names in the namespace, plots off-screen."""
        self.ip.run_cell("import numpy\nimport matplotlib\nfrom matplotlib import pylab, mlab, pyplot\n"
                         "np = numpy\nplt = pyplot\nfrom pylab import *\nfrom numpy import *",
                         store_history=False)

    def _timeit_once(self, line="", cell=None, local_ns=None):
        """`%timeit` and `%%timeit`, with one loop of one run whatever the options say."""
        import re

        options = re.match(r"(\s*-(?:[nr]\s*\d+|[pv]\s*\S+|[tcqo]+)\b)*", line)
        kept = re.sub(r"-[nr]\s*\d+", "", options.group(0)) if options else ""
        rest = line[options.end():] if options else line
        return self._timeit(f"-n1 -r1 {kept.strip()} {rest.strip()}".replace("  ", " "), cell, local_ns)

    _timeit_once.needs_local_scope = True
    _timeit_once._ipython_magic_no_var_expand = True

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
        self.base_hooks = self._hook_counts()

    def _hook_counts(self) -> dict[str, int]:
        return {event: len(callbacks) for event, callbacks in self.ip.events.callbacks.items()}

    def has_cell_hooks(self) -> bool:
        """Whether the notebook registered callbacks on IPython's cell events (beyond the shell's
        own, counted at warm-up): then plain cells must go through IPython too."""
        return any(len(callbacks) > self.base_hooks.get(event, 0)
                   for event, callbacks in self.ip.events.callbacks.items())

    def for_job(self, code: Any, directory: str) -> None:
        """Make the zygote's shell this job's: its tracebacks, its IPython directory."""
        self.student_tracebacks(code)
        self.own_directory(directory)

    def prepare_directory(self, path: str) -> None:
        """In the zygote, once: the IPython profile of the jobs' directory `path` (`own_directory`).

        Making a `ProfileDir` is a traitlets object whose every folder is made twice over: ~1 ms
        of each job's CPU, with the zygote's pages it copies. Made here, each job only makes its
        folders again (the clean-up empties scratch after every job)."""
        from IPython.core.profiledir import ProfileDir

        try:
            os.makedirs(path, exist_ok=True)
            self.job_profile = ProfileDir.create_profile_dir(os.path.join(path, "profile_default"),
                                                             config=self.ip.config)
        except Exception:  # noqa: BLE001 - each job makes its own, as without this
            self.job_profile = None

    def own_directory(self, path: str) -> None:
        """In a job: IPython's directory (profile, security, logs) is a fresh one in the job's
        scratch, owned by the student uid and emptied with it: the zygote's, made at warm-up,
        belongs to another uid, and whatever IPython writes there (`%cd`'s history once did)
        would fail."""
        from IPython.core.profiledir import ProfileDir
        from IPython.utils.path import ensure_dir_exists

        try:
            os.makedirs(path, exist_ok=True)
            location = os.path.join(path, "profile_default")
            prepared = self.job_profile
            if prepared is not None and prepared.location == location:
                ensure_dir_exists(location)       # what setting a profile's location does, then its folders
                prepared.check_dirs()
                self.ip.profile_dir = prepared
            else:
                self.ip.profile_dir = ProfileDir.create_profile_dir(location, config=self.ip.config)
            self.ip.ipython_dir = path
            os.environ["IPYTHONDIR"] = path
        except Exception:  # noqa: BLE001 - a full scratch: the in-memory db still serves %cd
            pass

    def student_tracebacks(self, code: Any) -> None:
        """In a job: IPython shows the student's frames only (`StudentCode.explain`), never its own
        or the grader's; `shown` is the last exception shown, so that the job does not show it twice."""
        def show(*args, **kwargs):
            exc = sys.exc_info()[1]
            if exc is None:
                return
            self._note_shown(exc)
            try:
                sys.stdout.flush()
                print(code.explain(exc)[1], file=sys.stderr)
            except Timeout:
                raise
            except Exception:  # noqa: BLE001 - the student may have replaced sys.stderr
                pass
        self.ip.showtraceback = self.ip.showsyntaxerror = self.ip.showindentationerror = show

    def keep_history(self, sources: list[str]) -> None:
        """Keep Jupyter's output history when a cell reads it (`W_30 = _`, `Out[5]`, `_5`, `In[3]`,
        `_i`): every cell then runs through IPython with its history stored, so that the n-th cell
        run is `In[n]`/`Out[n]`, as under Restart & Run All, and `_`, `__`, `___` start as "".
        Other notebooks keep the faster plain-Python cells (see `run_cell`)."""
        self.history = any(reads_history(self.ip, source) for source in sources)
        if self.history:
            for name in ("_", "__", "___"):
                self.ip.user_ns.setdefault(name, "")

    def skipped(self) -> None:
        """A cell the job does not run (the self-check's own cell) still takes its number, as in Jupyter."""
        if self.history:
            self.ip.execution_count += 1

    def run(self, source: str, name: str = "<cell>"):
        """Run one cell; return the exception it raised, or None.

        An exception a cell magic caught and showed counts too: IPython 8 (the last for Python
        3.10) shows an error inside `%%time` and ends the magic without raising, so the cell's
        body stopped there and its later names are missing, yet `run_cell` reports success;
        IPython 9 raises it. Either way the report says where the cell stopped. (An error shown
        by a line magic such as `%run`, or by an event callback, does not stop the cell.)"""
        self.cell_name, self.source = name, source
        self.shown = self.stopped = None
        result = self.ip.run_cell(source, store_history=self.history)
        error = result.error_before_exec or result.error_in_exec
        return error if error is not None else self.stopped

    def as_python(self, source: str, filename: str) -> tuple[Any, int, SyntaxError | None]:
        """A module's source through IPython's input transformations, compiled, and the first line
        they changed: (code, line, None). (None, 0, error) when the changed source does not compile
        either (its error is the first one that is not IPython syntax); (None, 0, None) when
        nothing changed or IPython cannot read it."""
        try:
            transformed = self.ip.transform_cell(source)
            if transformed.rstrip("\n") == source.rstrip("\n"):
                return None, 0, None
            code = compile(transformed, filename, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return None, 0, exc
        except Timeout:
            raise
        except BaseException:  # noqa: BLE001 - IPython cannot read it either: Python's own error stands
            return None, 0, None
        lines = zip(source.splitlines(), transformed.splitlines())
        return code, next((n for n, (a, b) in enumerate(lines, 1) if a != b), 1), None

    @property
    def namespace(self) -> dict:
        return self.ip.user_ns

    def use_namespace(self, namespace: dict) -> None:
        """Run IPython in a module's own globals, as `ipython file.py` does: the body of a cell
        magic (`get_ipython().run_cell_magic('time', '', body)` in an exported notebook) then
        defines the module's names, not names of a namespace nobody grades. IPython's own names
        (`In`, `Out`, `_`...) are added; the module's names, set before, stay as they are."""
        own = dict(namespace)
        self.ip.init_create_namespaces(user_ns=namespace)
        self.ip.init_user_ns()
        namespace.update(own)


# Names of Jupyter's output history: `_`, `__`, `___`, `_5`, `Out`/`_oh`, `In`/`_ih`, `_i`, `_ii`, `_iii`, `_i5`.
_HISTORY_NAME = r"_{1,3}|_\d+|Out|_oh|In|_ih|_i{1,3}|_i\d+"
_HISTORY_TEXT = re.compile(rf"(?<![\w.])(?:{_HISTORY_NAME})(?!\w)")
_HISTORY = re.compile(rf"(?:{_HISTORY_NAME})\Z")


def reads_history(ip: Any, source: str) -> bool:
    """Whether the cell reads a name of the output history (read, never run; a cell that is not
    Python is read after IPython's transformations, as its magics run). Only cells whose text holds
    such a name are parsed, and `for _ in ...` alone (a store) does not count."""
    if not _HISTORY_TEXT.search(source):
        return False
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        try:
            tree = ast.parse(ip.transform_cell(source))
        except Timeout:
            raise
        except Exception:  # noqa: BLE001 - IPython cannot read it either: it reads nothing
            return False
    except (MemoryError, RecursionError):
        return False
    return any(isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and _HISTORY.match(node.id)
               for node in ast.walk(tree))


def run_cell(shell: Shell, source: str, namespace: dict, filename: str) -> BaseException | None:
    """Run one notebook cell: as plain Python when it is plain Python, else through IPython.

    Most cells are plain Python, and IPython's run_cell costs about a millisecond a cell in a
    freshly forked job (a third of a whole notebook's grading); only cells that do not compile
    (magics, shell escapes, top-level await, stray indentation) need IPython's transformations.
    Both share IPython's namespace, so a notebook that mixes them sees one set of names. The one
    difference: a plain cell's last expression is not echoed as `Out[n]` (output is not graded).
    A `from __future__` import holds for the cells below it, as in a kernel (`future_flags`).
    """
    try:
        code = compile(source, filename, "exec", flags=future_flags(shell), dont_inherit=True)
    except (SyntaxError, ValueError):       # ValueError: a NUL byte in the source
        code = None
    except Timeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - MemoryError, RecursionError: source that exhausts the compiler
        return exc
    if code is None or shell.history or shell.has_cell_hooks():
        # Outside the `except`: IPython's own error must not carry the plain-Python attempt's
        # SyntaxError as its context. A notebook that registered cell hooks (`%autoreload`
        # reloads edited modules before each cell) gets IPython for every cell, as in Jupyter.
        return shell.run(source, filename)
    keep_future_flags(shell, code)
    try:
        exec(code, namespace)
    except BaseException as exc:  # noqa: BLE001 - everything a cell does is reported
        return exc
    return None


# Every `from __future__` feature's compiler flag (`annotations`, and the ones Python 3 has by default).
_FUTURE_FLAGS = 0
for _feature in __import__("__future__").all_feature_names:
    _FUTURE_FLAGS |= getattr(__import__("__future__"), _feature).compiler_flag


def future_flags(shell: Shell) -> int:
    """The `from __future__` features that earlier cells stated: a kernel compiles every cell with
    them, since IPython's compiler (like `codeop`) keeps each future flag it has compiled. A plain
    cell compiled alone lost them: after `from __future__ import annotations` in the first cell, an
    annotation naming a type imported only for type checkers (`x: torch.Tensor`) was evaluated,
    and the cell failed with a NameError that Jupyter never shows."""
    return shell.ip.compile.flags & _FUTURE_FLAGS


def keep_future_flags(shell: Shell, code: Any) -> None:
    """Record the future features a plain cell states in IPython's compiler, where a kernel keeps
    them, so that later cells, plain or run through IPython, are compiled with them."""
    shell.ip.compile.flags |= code.co_flags & _FUTURE_FLAGS


def run_module(shell_for: Callable[[], Shell | None], source: str, namespace: dict,
               filename: str) -> tuple[BaseException | None, int]:
    """Run a module as `python` runs it; return the exception it raised (or None), and the first
    line that needed IPython (0: none did).

    Compiled without the caller's `from __future__` flags: student code means what it would mean
    run by `python` itself. A module that Python refuses to compile but IPython's input syntax
    makes Python (magics and `!commands` pasted in from a notebook) is run as IPython runs it, as
    the notebook ran it: a line about plots must not cost every graded name below it. A real
    syntax error is still reported, at its own line rather than at the first magic. `shell_for`
    gives the shell (or None without IPython), asked only for such a module.
    """
    line = 0
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        shell = shell_for()
        code, line, refused = shell.as_python(source, filename) if shell is not None else (None, 0, None)
        if code is None:
            return refused or exc, 0
    except Timeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - MemoryError, RecursionError, a NUL byte (ValueError)
        return exc, 0
    try:
        exec(code, namespace)
    except BaseException as exc:  # noqa: BLE001 - everything the code does is reported
        return exc, line
    return None, line


def ipython_for_module(shell_for: Callable[[], Shell | None], namespace: dict,
                       prepare: Callable[[Shell], None] | None = None) -> Callable[[], Any]:
    """`get_ipython` for a module, as `ipython file.py` and `%run` give it: a notebook exported as a
    script calls it for every magic and `!command`. On first use the shell runs in the module's
    `namespace` (`Shell.use_namespace`) and `prepare` makes it the job's own, so that a module
    that never calls it pays nothing."""
    ready: list[bool] = []

    def get_ipython():
        shell = shell_for()
        if shell is None:
            raise NameError("name 'get_ipython' is not defined (IPython is not installed)")
        if not ready:
            ready.append(True)
            shell.use_namespace(namespace)
            if prepare is not None:
                prepare(shell)
        return shell.ip

    return get_ipython
