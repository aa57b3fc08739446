"""Written answers: collected from marked notebook cells and from prose, and numbers read from prose.

The seed (`submissions/seed_written.md`, a real student's LaTeX write-up) must grade 2(c) as the
zero matrix (named `zero-instead-of-small`), 3(b) as right, and list its written parts for review.
"""
from __future__ import annotations

import string

import nbformat
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference
from assignments.hw3 import ASSIGNMENT, WRITTEN
from assignments.hw3.written import PART_OF, find_always_positive, find_w30, number, parse, split_sections
from grader.load import load
from grader.results import NOT_RUN
from grader.spec import CaseSet
from grader.written import PART_LIMIT, WrittenParse, collect, marked_parts, parse_written

from conftest import ROOT, SUBMISSIONS

SEED = SUBMISSIONS / "seed_written.md"
PART_IDS = [w.id for w in WRITTEN]
W30 = np.asarray(reference.W_30)


def notebook(tmp_path, cells: list[tuple[str, str]], name="student.ipynb"):
    """A notebook from (kind, source) pairs, kind "md" or "code"."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                for kind, src in cells]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def written_file(tmp_path, text: str, name="answers.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def by_id(answers):
    return {a.id: a for a in answers}


# ------------------------------------------------------------------------------------------------
# the seed, end to end


def test_the_seed_copy_is_the_seed():
    original = ROOT.parent / "shared" / "seed" / "000_edd0500abe8f3551.txt"
    if not original.is_file():
        pytest.skip("the shared seed is not next to this checkout")
    assert SEED.read_bytes() == original.read_bytes()


def test_seed_grades_2c_as_zero_named_and_3b_right(session):
    result = session.grade(SEED)
    questions = {q.id: q for q in result.questions}
    assert result.isolation.startswith("not run")
    assert questions["2c"].score == 0
    assert questions["2c"].diagnosis == ["zero-instead-of-small"]
    assert questions["3b"].score == questions["3b"].max_score
    assert questions["3b"].diagnosis == []
    for qid, q in questions.items():
        if qid not in ("2c", "3b"):
            assert q.score == 0 and all(c.status == NOT_RUN for c in q.cases), qid
            assert "not found in the text" in q.cases[0].message


def test_seed_lists_its_written_parts_for_review(session):
    written = by_id(session.grade(SEED).written)
    assert list(written) == PART_IDS
    for pid, answer in written.items():
        assert answer.found, pid
        assert answer.score is None and answer.max_score == 5 and answer.rubric
    assert "diag(\\sigma^{'})W" in written["1a-derivation"].text
    assert "W^{30}" in written["2c-observations"].text
    assert "forget  the old subject" in written["3a-gates"].text
    assert "\\approx" in written["3c-interpretation"].text or "≈ 1" in written["3c-interpretation"].text
    # 3(b) is auto-graded, not a written part; Exercise 3's preamble belongs to no part
    assert "are\\  positive" not in "".join(a.text for a in written.values())


def test_seed_sections():
    sections = split_sections(SEED.read_text())
    assert set(sections) == {"1a", "1b", "2a", "2b", "2c", "3a", "3b", "3c"}
    assert "Student Name" not in "".join(sections.values())
    assert sections["2b"].lstrip().startswith("$$Assume\\ Q")
    assert "tnah(C_t)" not in sections["3a"]            # the LSTM equations come before (a)


def test_seed_parse_states_2c_and_3b():
    parsed = parse(SEED.read_text())
    np.testing.assert_array_equal(parsed.answers["2c"], np.zeros((2, 2)))
    assert parsed.answers["3b"] == frozenset({"f", "i", "o"})
    assert set(parsed.parts) == set(PART_IDS)


def test_the_same_text_as_txt_is_read_the_same(session, tmp_path):
    path = written_file(tmp_path, SEED.read_text(encoding="utf-8"), "seed.txt")
    result = session.grade(path)
    assert {q.id: q.score for q in result.questions} == {q.id: q.score for q in session.grade(SEED).questions}


def test_a_right_written_answer_earns_the_points(session, tmp_path):
    text = ("## Exercise 2\n(c)\n$$W^{30} = Q\\Lambda^{30}Q^{-1} = \\begin{bmatrix} 0.0152608170 & 0.0203477560 \\\\ "
            "0.0203477560 & 0.0271303413 \\end{bmatrix}$$\n\n## Exercise 3\n(b) Only $f_t$, $i_t$ and $o_t$ are "
            "always positive, while $\\tilde{C}_t$, $C_t$ and $h_t$ can be negative.\n")
    questions = {q.id: q for q in session.grade(written_file(tmp_path, text)).questions}
    assert questions["2c"].score == 5 and questions["3b"].score == 5


def test_written_wrong_answers_are_named(session, tmp_path):
    text = ("Exercise 2\n(c) W^30 = [[0.02, 0.02], [0.02, 0.03]]\n\nExercise 3\n"
            "(b) f_t, i_t, o_t and C_t are positive.\n")
    questions = {q.id: q for q in session.grade(written_file(tmp_path, text)).questions}
    assert questions["2c"].score == 0 and questions["2c"].diagnosis == ["rounded"]
    assert questions["3b"].score == 0 and questions["3b"].diagnosis == ["includes-non-positive-quantity"]


# ------------------------------------------------------------------------------------------------
# notebooks: marked cells


def test_template_has_a_marker_for_every_part_and_no_answers():
    program = load(SUBMISSIONS / "template.ipynb")
    assert set(marked_parts(program)) == set(PART_IDS)
    answers = collect(program, ASSIGNMENT)
    assert [a.id for a in answers] == PART_IDS
    assert all(not a.found and a.text == "" for a in answers)


def test_marked_cell_and_the_markdown_after_it_until_code_or_marker(tmp_path):
    path = notebook(tmp_path, [
        ("md", "# HW3"),
        ("md", "<!-- answer: 1a-derivation -->\n**Your answer (1a):** dy/dx = diag(σ')W"),
        ("md", "continued in a second cell"),
        ("code", "x = 1"),
        ("md", "not an answer: after a code cell"),
        ("md", "<!-- answer: 2b-proof -->\nBase case n = 1."),
        ("md", "<!--answer:2C-OBSERVATIONS-->\n|λ| < 1 vanishes"),
        ("md", "more on 2c"),
    ])
    answers = by_id(collect(load(path), ASSIGNMENT))
    assert answers["1a-derivation"].text == "dy/dx = diag(σ')W\n\ncontinued in a second cell"
    assert answers["2b-proof"].text == "Base case n = 1."
    assert answers["2c-observations"].text == "|λ| < 1 vanishes\n\nmore on 2c"
    assert "not an answer" not in "".join(a.text for a in answers.values())
    assert not answers["3a-gates"].found and answers["3a-gates"].text == ""
    assert answers["1a-derivation"].title == WRITTEN[0].title and answers["1a-derivation"].max_score == 5


def test_text_above_a_marker_and_two_markers_in_one_cell(tmp_path):
    path = notebook(tmp_path, [
        ("md", "<!-- answer: 3a-gates -->\nf keeps the old state."),
        ("md", "i writes new content.\n<!-- answer: 3c-interpretation -->\nexactly the identity"),
        ("md", "<!-- answer: unknown-part -->\nignored"),
    ])
    answers = by_id(collect(load(path), ASSIGNMENT))
    assert answers["3a-gates"].text == "f keeps the old state.\n\ni writes new content."
    assert answers["3c-interpretation"].text == "exactly the identity"
    assert "ignored" not in "".join(a.text for a in answers.values())


def test_answer_text_is_cleaned_and_bounded(tmp_path):
    hostile = "<script>alert(1)</script>\x1b[31mred\x1b[0m\x00nul\u202etrick " + "x" * (PART_LIMIT + 5000)
    path = notebook(tmp_path, [("md", "<!-- answer: 2b-proof -->\n" + hostile)])
    text = by_id(collect(load(path), ASSIGNMENT))["2b-proof"].text
    assert "\x1b" not in text and "\x00" not in text and "\u202e" not in text
    assert text.startswith("<script>alert(1)</script>red")     # escaping is the templates' job
    assert len(text) <= PART_LIMIT and "more characters cut" in text


def test_a_notebook_without_markers_has_no_answers_and_no_parsed_values(tmp_path):
    path = notebook(tmp_path, [("md", "Exercise 2\n(c) W^{30} = 0"), ("code", "W_30 = 0")])
    program = load(path)
    assert all(not a.found for a in collect(program, ASSIGNMENT))
    assert parse_written(program, CaseSet(ASSIGNMENT, (), "")) == {}


def test_notebooks_get_their_written_parts_through_the_session(session):
    written = by_id(session.grade(SUBMISSIONS / "alice_correct.ipynb").written)
    assert list(written) == PART_IDS
    assert all(w.found for w in written.values())


def test_a_markdown_submission_with_markers_uses_them(tmp_path):
    text = "<!-- answer: 2b-proof -->\nBy induction.\n\nExercise 2\n(c) W^{30} = 0\n"
    program = load(written_file(tmp_path, text))
    answers = by_id(collect(program, ASSIGNMENT))
    assert answers["2b-proof"].text.startswith("By induction.")
    assert not answers["1a-derivation"].found


# ------------------------------------------------------------------------------------------------
# sections of a write-up


@pytest.mark.parametrize("text, keys", [
    ("## Exercise 1\n(a) one\n(b) two\n## Exercise 2\n(a) three", {"1a": "one", "1b": "two", "2a": "three"}),
    ("### 1(a)\none\n### 2(c)\ntwo\n### 3(a)\nthree", {"1a": "one", "2c": "two", "3a": "three"}),
    ("**1a)** one\n**2.b)** two", {"1a": "one", "2b": "two"}),
    ("(a) one\n(b) two\n(a) three\n(c) four", {"1a": "one", "1b": "two", "2a": "three", "2c": "four"}),
    ("Problem 3\na) gates\nc) carousel", {"3a": "gates", "3c": "carousel"}),
    ("# 2 Vanishing gradients\n(b)* proof", {"2b": "proof"}),
    ("Question 2 (c) all in one line", {"2c": "all in one line"}),
])
def test_sections_are_found_in_common_layouts(text, keys):
    sections = split_sections(text)
    assert {k: v.strip() for k, v in sections.items()} == keys


def test_every_written_part_has_a_section():
    assert sorted(PART_OF.values()) == sorted(PART_IDS)


# ------------------------------------------------------------------------------------------------
# 2(c): W^30 in the text


def close(value):
    return value is not None and np.allclose(value, W30, rtol=1e-6, atol=0)


@pytest.mark.parametrize("text", [
    r"$$W^{30} = \begin{pmatrix} 0.0152608170 & 0.0203477560 \\ 0.0203477560 & 0.0271303413 \end{pmatrix}$$",
    r"$W^{30} \approx \left[\begin{array}{cc} 0.0152608170 & 0.0203477560 \\ 0.0203477560 & 0.0271303413"
    r"\end{array}\right]$",
    r"W^30 = [[0.0152608170, 0.0203477560], [0.0203477560, 0.0271303413]]",
    r"W_{30} = [0.0152608170, 0.0203477560; 0.0203477560, 0.0271303413]",
    r"W³⁰ = \begin{bmatrix}1.52608170\times 10^{-2} & 2.03477560 \cdot 10^{-2}\\ 2.03477560e-2 & 2.71303413E-2"
    r"\end{bmatrix}",
    r"$$W^{30} = Q\Lambda^{30}Q^{-1} = \begin{pmatrix}-0.6&-0.8\\-0.8&0.6\end{pmatrix}"
    r"\begin{pmatrix}0.9^{30}&0\\0&0.4^{30}\end{pmatrix}\begin{pmatrix}-0.6&-0.8\\-0.8&0.6\end{pmatrix}"
    r" = \begin{pmatrix}0.0152608170&0.0203477560\\0.0203477560&0.0271303413\end{pmatrix}$$",
    "W^{30} =\n$$\n\\begin{pmatrix}\n0.0152608170 & 0.0203477560 \\\\\n0.0203477560 & 0.0271303413\n"
    "\\end{pmatrix}\n$$",
    r"$\mathbf{W}^{30} = \begin{matrix} 0.0152608170 & 0.0203477560 \\ 0.0203477560 & 0.0271303413 \end{matrix}$",
])
def test_w30_is_read_in_many_notations(text):
    assert close(find_w30(text)), find_w30(text)


@pytest.mark.parametrize("text", [r"W^{30} = 0", r"$$W^{30} \approx \mathbf{0}$$",
                                  r"W^{30} = \begin{pmatrix} & 0& 0 \\&0 &0 \end{pmatrix}"])
def test_the_zero_answer_is_the_zero_matrix(text):
    np.testing.assert_array_equal(find_w30(text), np.zeros((2, 2)))


@pytest.mark.parametrize("text", [
    "we compute W^{30} next",                                        # a mention, not an answer
    r"W^{30} = Q \Lambda^{30} Q^{-1}",                               # no numbers
    r"W^{30} = \begin{pmatrix} a & b \\ c & d \end{pmatrix}",        # not numbers
    r"W^{30} = 0.0424 \begin{pmatrix} 0.36 & 0.48 \\ 0.48 & 0.64 \end{pmatrix}",   # a scalar times a matrix
    r"W^{30} = \begin{pmatrix} 1 & 2 \\ 3 \end{pmatrix}",            # ragged
    r"W^{300} = \begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",       # another power
    "",
])
def test_no_w30_is_read_where_none_is_stated(text):
    assert find_w30(text) is None


def test_the_next_equation_is_not_taken_for_w30():
    text = ("W^{30} = \\begin{pmatrix}0.0152608170&0.0203477560\\\\0.0203477560&0.0271303413\\end{pmatrix}\n"
            "Q = \\begin{pmatrix}-0.6&-0.8\\\\-0.8&0.6\\end{pmatrix}")
    assert close(find_w30(text))


@pytest.mark.parametrize("cell, value", [("0.5", 0.5), ("-1.5e-2", -0.015), ("−2", -2.0), (r"\frac{1}{4}", 0.25),
                                         (r"3 \times 10^{-2}", 0.03), ("10^{2}", 100.0), ("{0.1}", 0.1),
                                         (r"-\frac{3}{4}", -0.75)])
def test_numbers(cell, value):
    assert number(cell) == pytest.approx(value)


@pytest.mark.parametrize("cell", ["a", "0.9^{30}", "", r"\frac{1}{0}", "1e999", "...", "1.2.3"])
def test_not_numbers(cell):
    assert number(cell) is None


# ------------------------------------------------------------------------------------------------
# 3(b): always positive


@pytest.mark.parametrize("text, names", [
    (r"$$f_t ,\ i_t, \ o_t \ are\  positive.$$", {"f", "i", "o"}),
    (r"$f_t$, $i_t$ and $o_t$ are always positive, while $\tilde{C}_t$, $C_t$ and $h_t$ can be negative.",
     {"f", "i", "o"}),
    (r"f_t, i_t and o_t are positive, C_t, h_t and \tilde C_t can be negative", {"f", "i", "o"}),
    (r"Only the gates f_t, i_t, o_t are positive, not \tilde{C_t}", {"f", "i", "o"}),
    ("The forget gate, the input gate and the output gate are positive since σ(z) > 0.", {"f", "i", "o"}),
    (r"f_t, i_t, o_t, C_t \text{ are positive}", {"f", "i", "o", "c"}),
    (r"$f_t, i_t, o_t, h_t > 0$", {"f", "i", "o", "h"}),
    ('ALWAYS_POSITIVE = {"f", "i", "o", "c_tilde"}', {"f", "i", "o", "c_tilde"}),
    ("Positive: f_t, i_t, o_t. C̃_t is in (-1, 1), so it can be negative.", {"f", "i", "o"}),
    (r"f_t, i_t, o_t \in (0, 1) are positive; h_t is not always positive.", {"f", "i", "o"}),
    (r"f_t, i_t and o_t are non-negative", {"f", "i", "o"}),
])
def test_always_positive_is_read(text, names):
    assert find_always_positive(text) == frozenset(names)


@pytest.mark.parametrize("text", ["", "h_t can be negative", r"\tilde{C}_t is not always positive",
                                  "the sigmoid is positive", "no idea"])
def test_nothing_positive_is_read_where_nothing_is_called_positive(text):
    assert find_always_positive(text) is None


# ------------------------------------------------------------------------------------------------
# robustness: the parser is total


LATEXISH = st.text(alphabet=string.printable + "λσ∂≈−√∈³⁰̃" + "\\{}^_&$", max_size=400)
FRAGMENTS = st.lists(st.sampled_from([
    "W^{30}", "=", r"\begin{pmatrix}", r"\end{pmatrix}", "&", r"\\", "0.5", "-", "e", "[", "]", ";", ",",
    "(a)", "(b)", "(c)", "## Exercise 2", "\n", "\n\n", "f_t", "positive", "not", "negative", r"\tilde{C}_t",
    "10^{", "}", r"\frac{", "$$", "$", "W_30", "[[", "]]"]), max_size=60).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(LATEXISH, FRAGMENTS))
def test_parse_never_fails(text):
    parsed = parse(text)
    assert isinstance(parsed, WrittenParse)
    assert set(parsed.parts) <= set(PART_IDS)
    assert set(parsed.answers) <= {"2c", "3b"}
    if "2c" in parsed.answers:
        value = parsed.answers["2c"]
        assert isinstance(value, np.ndarray) and value.dtype == np.float64 and np.all(np.isfinite(value))
    if "3b" in parsed.answers:
        assert parsed.answers["3b"] <= {"f", "i", "o", "c_tilde", "c", "h"}


@pytest.mark.parametrize("text", [
    "W^{30} = [[1]" + "[1] " * 1000,                 # nested brackets that never close
    ("W^{30} = [[1]" + " ," * 2000 + "\n") * 20,
    "W^{30} = [" + ";" * 4000,
    "W^{30} = " + "\\begin{pmatrix}" * 300,
    "#" + " " * 100000 + "x",                         # long blank runs where a heading may start
    "** " + " " * 100000 + "(a",
    ("W" + " " * 50000) * 10,
    "(b) f_t positive \\tilde" + " " * 20000,
    "W^{30} = \\begin{pmatrix}" + "1" * 3000 + "x\\end{pmatrix}",
    ("W^{30} = Q\n" * 100000),                        # many mentions, none an answer
    "f_t i_t o_t h_t C_t not positive negative " * 20000,
])
def test_pathological_text_is_read_without_backtracking_forever(text):
    """Inputs that make naive patterns backtrack exponentially; these must simply finish."""
    parsed = parse(text)
    assert "2c" not in parsed.answers
