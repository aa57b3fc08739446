"""Where a submission's code defines its names, read from the source (never run), to explain a
`NameError` or a graded name that is missing in the student's terms.

Real notebooks are run out of order while they are written: a cell uses a function that a cell
further down defines, and the saved notebook works in the student's kernel but not from the top,
which is how it is graded (as Jupyter's Restart & Run All runs it). Or the cell that defines a
graded name failed before reaching it; or the name is spelt differently (`grad_loss` for `grad`),
or defined only as a method inside a class. A report that says only "`grad` is not defined" leaves
the student to guess which; these say which.

Generic: nothing here knows the homework. Every source is parsed through `grader.pysource`; a cell
that Python cannot parse (IPython magics) is read with its magic and shell lines left out.
"""
from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field
from typing import Callable

from . import pysource

# Cell magics whose body is not Python run in the namespace: the body defines nothing.
_FOREIGN_CELL_MAGICS = re.compile(r"%%\s*(writefile|file|bash|sh|script|html|javascript|js|latex|markdown|svg|"
                                  r"perl|ruby|python2|python3|pypy|system|sx)\b")
_MAGIC_LINE = re.compile(r"^\s*(%|!)")
_PLAIN_DEFINITION = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)",
                               re.MULTILINE)
PARSE_LIMIT = 256 * 2**10       # characters of one unit read here (a bigger one is not read)


@dataclass(frozen=True)
class Deletion:
    """A top-level line that removes names from the namespace as it runs: `del f`, `%xdel f`,
    `%reset` (every name), `%reset_selective REGEX` (the names the pattern finds), with or without
    -f (see `_DELETING_MAGIC`). A name
    defined above it and used below it is then not defined, which the code alone does not show
    the student who reads their definition a few cells up."""

    line: int
    text: str                              # the line as written, for the report
    names: frozenset[str] = frozenset()    # the names deleted, when listed
    everything: bool = False               # `%reset -f`
    pattern: str = ""                      # `%reset_selective -f`: IPython deletes the names it searches out

    def deletes(self, name: str) -> bool:
        if self.everything or name in self.names:
            return True
        if self.pattern:
            try:
                return re.search(self.pattern, name) is not None
            except re.error:
                return False
        return False


# IPython's line magics that delete names. Without -f, `%reset` and `%reset_selective` ask for a
# confirmation through stdin, which a kernel run headless (nbclient, and so the grader) does not
# have: IPython then deletes without asking, as with -f.
_DELETING_MAGIC = re.compile(r"^\s*%(reset|reset_selective|xdel)\b(.*)$")


def _magic_deletion(number: int, line: str) -> Deletion | None:
    match = _DELETING_MAGIC.match(line)
    if not match:
        return None
    magic, words = match.group(1), match.group(2).split()
    rest = [w for w in words if not w.startswith("-")]
    text = line.strip()
    if magic == "xdel":
        return Deletion(number, text, names=frozenset(rest[:1])) if rest else None
    if magic == "reset":
        # `%reset [-f] in|out|dhist` flushes histories, not the namespace (`array` deletes the
        # numpy arrays, which only running the code tells)
        return Deletion(number, text, everything=True) if not rest else None
    return Deletion(number, text, pattern=rest[0]) if rest else None


@dataclass(frozen=True)
class Deleted:
    """Where a name was defined last, and the later line that deleted it."""

    unit: int
    line: int
    by: int                  # the unit holding the deletion
    deletion: Deletion


@dataclass
class Defined:
    """The names one unit binds at top level (functions, classes, assignments, imports, inside
    `if`/`for`/`with`/`try` blocks too), and the functions its top-level classes hold."""

    names: set[str] = field(default_factory=set)
    methods: dict[str, str] = field(default_factory=dict)    # method name -> "Class.method"
    main_only: set[str] = field(default_factory=set)         # bound only under `if __name__ == "__main__":`
    assigned: dict[str, int] = field(default_factory=dict)   # name -> line, when its last binding is `name = ...`
    bound: dict[str, int] = field(default_factory=dict)      # name -> line of its last top-level binding
    deletions: list[Deletion] = field(default_factory=list)  # top-level `del`, `%reset -f`... in line order


def defined(source: str) -> Defined:
    """What `source` (one cell or a module) defines at top level; empty when it cannot be read."""
    found = Defined()
    if len(source) > PARSE_LIMIT:
        return found
    if _FOREIGN_CELL_MAGICS.match(source.lstrip()):
        return found                   # its body is not Python that runs here
    tree = _parse(source)
    if tree is None:
        # Python cannot read it (a syntax error: the cell fails as a whole): its top-level `def`,
        # `class` and `name =` lines still say what it was meant to define.
        for match in _PLAIN_DEFINITION.finditer(source):
            found.names.add(match.group(1) or match.group(2))
        return found
    _collect(tree.body, found)
    magics = [d for d in (_magic_deletion(n, line) for n, line in enumerate(source.split("\n"), 1)) if d]
    if magics:
        found.deletions = sorted(found.deletions + magics, key=lambda d: d.line)
    guarded, outside = Defined(), Defined()
    _collect([n for node in tree.body if isinstance(node, ast.If) and _is_main_guard(node.test) for n in node.body],
             guarded)
    _collect([node for node in tree.body if not (isinstance(node, ast.If) and _is_main_guard(node.test))], outside)
    found.main_only = guarded.names - outside.names
    return found


def _is_main_guard(test: ast.expr) -> bool:
    """`__name__ == "__main__"` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides)
            and any(isinstance(x, ast.Constant) and x.value == "__main__" for x in sides))


def _parse(source: str) -> ast.Module | None:
    try:
        return pysource.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        pass
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        if _FOREIGN_CELL_MAGICS.match(lines[0].strip()):
            return None
        lines = ["pass"] + lines[1:]          # the body keeps its line numbers
    plain = ["pass" if _MAGIC_LINE.match(line) and not line[:1].isspace() else
             (re.match(r"\s*", line).group(0) + "pass" if _MAGIC_LINE.match(line) else line) for line in lines]
    try:
        return pysource.parse("\n".join(plain))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _bind(found: Defined, node: ast.stmt, name: str) -> None:
    found.names.add(name)
    found.bound[name] = node.lineno


def _collect(body: list[ast.stmt], found: Defined) -> None:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _bind(found, node, node.name)
            found.assigned.pop(node.name, None)
        elif isinstance(node, ast.ClassDef):
            _bind(found, node, node.name)
            found.assigned.pop(node.name, None)
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.methods.setdefault(item.name, f"{node.name}.{item.name}")
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        _bind(found, node, name.id)
                        found.assigned[name.id] = node.lineno
        elif isinstance(node, ast.Delete):
            names = frozenset(t.id for t in node.targets if isinstance(t, ast.Name))
            if names:
                found.deletions.append(Deletion(node.lineno, "del " + ", ".join(sorted(names)), names=names))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    _bind(found, node, alias.asname or alias.name.split(".")[0])
        else:
            if isinstance(node, (ast.For, ast.AsyncFor)):
                for name in ast.walk(node.target):
                    if isinstance(name, ast.Name):
                        _bind(found, node, name.id)
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        for name in ast.walk(item.optional_vars):
                            if isinstance(name, ast.Name):
                                _bind(found, node, name.id)
            for block in ("body", "orelse", "finalbody"):
                inner = getattr(node, block, None)
                if isinstance(inner, list):
                    _collect(inner, found)
            for handler in getattr(node, "handlers", []) or []:
                _collect(handler.body, found)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.NamedExpr):
                _bind(found, node, node.value.target.id)


BUDGET = 2 * 2**20      # characters of one submission's source read here in all (the grader's own CPU)


class Definitions:
    """Every unit's definitions, read when first asked for (most reports never ask), within a budget:
    past it, a unit reads as defining nothing (an explanation is left out, never a grade)."""

    def __init__(self, sources: dict[int, str]):
        self.sources = sources
        self._units: dict[int, Defined] = {}
        self._left = BUDGET

    def of(self, index: int) -> Defined:
        if index not in self._units:
            source = self.sources.get(index, "")
            self._left -= len(source)
            self._units[index] = defined(source) if self._left >= 0 else Defined()
        return self._units[index]

    def where(self, name: str) -> list[int]:
        """The units that bind `name` at top level, in order."""
        return [i for i in sorted(self.sources) if name in self.of(i).names]

    def spelt_like(self, name: str) -> str:
        """A name the code defines that is probably `name` misspelt ("" when none is close)."""
        every = sorted({n for i in self.sources for n in self.of(i).names if n != name})
        folded = [n for n in every if n.lower() == name.lower()]
        if folded:
            return folded[0]
        close = difflib.get_close_matches(name, every, n=1, cutoff=0.8)
        return close[0] if close else ""

    def rebound(self, name: str) -> tuple[int, int] | None:
        """(unit, line) when the last unit that binds `name` does so by an assignment (`f = f(W, x)`
        replaces the function `f` with its result), else None."""
        where = self.where(name)
        if not where or name not in self.of(where[-1]).assigned:
            return None
        return where[-1], self.of(where[-1]).assigned[name]

    def deleted(self, name: str, before: int | None = None,
                ran: Callable[[int, Deletion], bool] = lambda unit, deletion: True) -> Deleted | None:
        """The line that deleted `name` after its last definition, in the units before `before` (all
        when None), when one did; `ran(unit, deletion)` says whether that line was reached (a cell
        that failed above it deleted nothing)."""
        found: Deleted | None = None
        defined_at: tuple[int, int] | None = None
        for unit in sorted(self.sources):
            if before is not None and unit >= before:
                break
            of = self.of(unit)
            events = [(d.line, d) for d in of.deletions if d.deletes(name) and ran(unit, d)]
            if name in of.bound:
                events.append((of.bound[name], None))
            for line, deletion in sorted(events, key=lambda e: (e[0], e[1] is not None)):
                if deletion is None:
                    defined_at, found = (unit, line), None
                elif defined_at is not None and found is None:
                    found = Deleted(defined_at[0], defined_at[1], unit, deletion)
        return found

    def main_only(self, name: str) -> bool:
        """Whether every unit that binds `name` binds it only under `if __name__ == "__main__":`."""
        where = self.where(name)
        return bool(where) and all(name in self.of(i).main_only for i in where)

    def method(self, name: str) -> str:
        """"Class.name" when `name` is defined only as a method of a top-level class."""
        for i in sorted(self.sources):
            if name in self.of(i).methods:
                return self.of(i).methods[name]
        return ""
