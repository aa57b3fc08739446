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

from . import pysource

# Cell magics whose body is not Python run in the namespace: the body defines nothing.
_FOREIGN_CELL_MAGICS = re.compile(r"%%\s*(writefile|file|bash|sh|script|html|javascript|js|latex|markdown|svg|"
                                  r"perl|ruby|python2|python3|pypy|system|sx)\b")
_MAGIC_LINE = re.compile(r"^\s*(%|!)")
_PLAIN_DEFINITION = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)",
                               re.MULTILINE)
PARSE_LIMIT = 256 * 2**10       # characters of one unit read here (a bigger one is not read)


@dataclass
class Defined:
    """The names one unit binds at top level (functions, classes, assignments, imports, inside
    `if`/`for`/`with`/`try` blocks too), and the functions its top-level classes hold."""

    names: set[str] = field(default_factory=set)
    methods: dict[str, str] = field(default_factory=dict)    # method name -> "Class.method"
    main_only: set[str] = field(default_factory=set)         # bound only under `if __name__ == "__main__":`
    assigned: dict[str, int] = field(default_factory=dict)   # name -> line, when its last binding is `name = ...`


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
        lines = lines[1:]
    plain = ["pass" if _MAGIC_LINE.match(line) and not line[:1].isspace() else
             (re.match(r"\s*", line).group(0) + "pass" if _MAGIC_LINE.match(line) else line) for line in lines]
    try:
        return pysource.parse("\n".join(plain))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _collect(body: list[ast.stmt], found: Defined) -> None:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.names.add(node.name)
            found.assigned.pop(node.name, None)
        elif isinstance(node, ast.ClassDef):
            found.names.add(node.name)
            found.assigned.pop(node.name, None)
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.methods.setdefault(item.name, f"{node.name}.{item.name}")
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found.names.add(name.id)
                        found.assigned[name.id] = node.lineno
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    found.names.add(alias.asname or alias.name.split(".")[0])
        else:
            if isinstance(node, (ast.For, ast.AsyncFor)):
                for name in ast.walk(node.target):
                    if isinstance(name, ast.Name):
                        found.names.add(name.id)
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        for name in ast.walk(item.optional_vars):
                            if isinstance(name, ast.Name):
                                found.names.add(name.id)
            for block in ("body", "orelse", "finalbody"):
                inner = getattr(node, block, None)
                if isinstance(inner, list):
                    _collect(inner, found)
            for handler in getattr(node, "handlers", []) or []:
                _collect(handler.body, found)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.NamedExpr):
                found.names.add(node.value.target.id)


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
