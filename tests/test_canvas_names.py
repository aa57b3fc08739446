"""Canvas's naming rules (lib/content_zipper.rb), generated for arbitrary names and read back.

    users_name = sortable_name.gsub(/_(\\d+)_/, '\\1').downcase           # sanitize_user_name
    users_name = nil under anonymous grading (anonymize_students?), when the id is "anon_<id>"
    filename   = [users_name, ("LATE" if late), user_id | "anon_<id>"].compact.join("_")
    filename   = filename.gsub(/[^[[:word:]]]/, "")                    # sanitize_file_name
    member     = "#{filename}_#{attachment.id}_#{display_name.gsub(%r{[\\x00/\\\\:*?"<>|]+}, '_')}"
"""
from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from grader import lms

ATTACHMENT_BAD = re.compile(r'[\x00/\\:*?"<>|]+')


def user_name(sortable: str) -> str:
    return re.sub(r"_(\d+)_", r"\1", sortable).lower()


def canvas_member(sortable: str, late: bool, user: str, attachment: int, display: str) -> str:
    name = None if user.startswith("anon_") else user_name(sortable)
    parts = [p for p in (name, "LATE" if late else None, user) if p is not None]
    prefix = re.sub(r"[^\w]", "", "_".join(parts))
    return f"{prefix}_{attachment}_{ATTACHMENT_BAD.sub('_', display)}"


def ambiguous(name: str) -> bool:
    """Names Canvas's own rules leave ambiguous: ending in `_<digits>` or `_late` (a name that is all
    digits, or "late", is not: a numeric id always follows a name and its `_`)."""
    return bool(re.search(r"_(\d+|late)$", name, re.I))


text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
users = st.one_of(st.integers(1, 10**12).map(str), st.from_regex(r"anon_[0-9A-Za-z]{3,8}", fullmatch=True))
displays = st.builds(lambda stem, ext: stem + ext, text.filter(bool), st.sampled_from([".ipynb", ".py", ".md", ".pdf"]))


@settings(max_examples=200, deadline=None)
@given(text, st.booleans(), users, st.integers(1, 10**12), displays)
def test_every_canvas_name_is_read_back(sortable, late, user, attachment, display):
    member = canvas_member(sortable, late, user, attachment, display)
    m = lms.CANVAS_FILE.match(member)
    assert m is not None
    name = "" if user.startswith("anon_") else re.sub(r"[^\w]", "", user_name(sortable))
    if ambiguous(name):
        return
    assert (m["id"] or m["anon"], bool(m["late"] or m["alate"]), int(m["file"])) == (user, late, attachment)
    assert m["orig"] == ATTACHMENT_BAD.sub("_", display)
    assert (m["name"] or "") == name


def test_a_name_with_a_combining_mark_is_read():
    """Ruby's [[:word:]] keeps combining marks (a name in NFD form), Python's \\w does not."""
    m = lms.CANVAS_FILE.match("nu\u0301n\u0303ezjose\u0301_LATE_1001_5001_hw3.ipynb")
    assert m is not None and (m["id"], m["late"], m["file"], m["orig"]) == ("1001", "LATE", "5001", "hw3.ipynb")


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[0-9]{1,12}", fullmatch=True), st.booleans(), st.integers(1, 10**12), displays)
def test_a_name_of_digits_is_never_taken_for_the_user_id(digits, late, attachment, display):
    """A sortable name that is a student number: the user id is the number after it."""
    m = lms.CANVAS_FILE.match(canvas_member(digits, late, "1001", attachment, display))
    assert m is not None and (m["name"], m["id"], bool(m["late"]), int(m["file"])) == (digits, "1001", late, attachment)
