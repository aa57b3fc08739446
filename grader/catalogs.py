"""Keeping the translation catalogs up to date, with Babel (a maintainer's tool, run from a checkout).

    python -m grader.catalogs extract    # grader/locale/grader.pot from the code, the self-check
                                         # template and the assignment's titles, hints and sentences
    python -m grader.catalogs update     # merge the .pot into every grader/locale/<lang>/LC_MESSAGES/grader.po
    python -m grader.catalogs compile    # the .mo files the grader reads (committed: see grader.i18n)

Extraction reads the strings marked in the code (`_`, `N_`, `gettext`, and `g`, the views' name for
a catalog's gettext) and in `templates/selfcheck.html` (Jinja2's `{% trans %}`), plus the strings an
assignment shows students without marking them: question and written-part titles, the mistakes'
hints, and the sentences of its structure checks (`MESSAGES` of the assignment's package).
"""
from __future__ import annotations

import importlib
import io
import sys
from pathlib import Path

from .i18n import DOMAIN, LOCALE_DIR

ROOT = LOCALE_DIR.parent.parent
POT = LOCALE_DIR / f"{DOMAIN}.pot"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "g": None, "ngettext": (1, 2)}


def extract(assignment_module: str = "assignments.hw3"):
    """A Babel catalog of every student-facing string."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    catalog = Catalog(project="hw3-grader", domain=DOMAIN, charset="utf-8")
    for path in sorted((ROOT / "grader").rglob("*.py")):
        for lineno, message, comments, context in extract_from_file("python", str(path), keywords=KEYWORDS):
            catalog.add(message, locations=[(str(path.relative_to(ROOT)), lineno)], auto_comments=comments)
    template = ROOT / "templates" / "selfcheck.html"
    options = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}
    for lineno, message, comments, context in extract_from_file("jinja2", str(template), keywords=KEYWORDS,
                                                                options=options):
        catalog.add(message, locations=[(str(template.relative_to(ROOT)), lineno)])
    for message, where in assignment_strings(assignment_module):
        catalog.add(message, locations=[(where, 0)])
    return catalog


def assignment_strings(module_name: str) -> list[tuple[str, str]]:
    """(string, where from) for what an assignment shows students without marking it for translation."""
    module = importlib.import_module(module_name)
    assignment = module.ASSIGNMENT
    found = []
    for q in assignment.questions:
        found.append((q.title, f"{module_name}:{q.id}"))
        found += [(m.hint, f"{module_name}:{q.id}:{m.id}") for m in q.mistakes]
    found += [(w.title, f"{module_name}:{w.id}") for w in assignment.written]
    found += [(s, f"{module_name}:MESSAGES") for s in getattr(module, "MESSAGES", ())]
    return [(text, where) for text, where in found if text]


def write_pot() -> None:
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, extract(), omit_header=False, sort_output=True, width=100)
    POT.write_bytes(buffer.getvalue())


def po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def update() -> None:
    from babel.messages.pofile import read_po, write_po

    template = read_po(POT.open("rb"))
    for po in po_files():
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        catalog.update(template, no_fuzzy_matching=True)
        buffer = io.BytesIO()
        write_po(buffer, catalog, sort_output=True, width=100, ignore_obsolete=True)
        po.write_bytes(buffer.getvalue())


def compiled(po: Path) -> bytes:
    """The .mo bytes Babel compiles from `po` (what `compile` writes, what the test compares)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=po.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> None:
    for po in po_files():
        po.with_suffix(".mo").write_bytes(compiled(po))


def main(argv: list[str]) -> int:
    actions = {"extract": write_pot, "update": update, "compile": compile_all}
    if len(argv) != 1 or argv[0] not in actions:
        print(f"usage: python -m grader.catalogs {{{'|'.join(actions)}}}", file=sys.stderr)
        return 2
    actions[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
