"""Copying evidence across a class (grader.similarity, grader.copying, the instructors' page).

A class is built for it from the bundled examples: independently written correct solutions in
different styles (alice's notebook, carol's module, the reference written as a module), a copy of
alice with renamed variables, reordered cells and new comments, two independently written modules
that share one unusual wrong answer, two students who make the same *catalogued* mistake, two
Chinese write-ups of which one is a light edit of the other, and an independent English one.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings, strategies as st

from grader import similarity
from grader.batch import run_batch
from grader.config import ConfigError, load_config
from grader.results import AnswerPrint
from grader.similarity import Evidence, Template, Thresholds, compare_class, winnow

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "submissions"
SEED = (SUBMISSIONS / "seed_written.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# Winnowing


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdefgh(){}=+ ", min_size=0, max_size=80),
       st.text(alphabet="abcdefgh(){}=+ ", min_size=30, max_size=60),
       st.text(alphabet="ijklmnop;:, ", min_size=0, max_size=80))
def test_a_shared_stretch_of_k_plus_window_minus_one_always_shares_a_fingerprint(before, shared, after):
    k, window = 8, 4
    first = winnow(before + shared, k, window)
    second = winnow(shared + after, k, window)
    assert set(first) & set(second)


@pytest.mark.parametrize("alphabet", ["abcd (){}=+\n", "aé漢\U0001F600 \udc80"])
def test_a_grams_hash_is_the_grams_alone_and_fits_the_class_records(alphabet):
    """Every gram is hashed at once (similarity.gram_hashes); a hash must still depend on the gram
    alone, wherever it stands (ASCII, other scripts, emoji, a lone surrogate from a bad file), fit
    the uint32 of the class's records, and tell distinct grams apart nearly always."""
    import random

    rng = random.Random(len(alphabet))
    text = "".join(rng.choice(alphabet) for _ in range(30_000))
    k = 12
    hashes = similarity.gram_hashes(text, k).tolist()
    assert len(hashes) == len(text) - k + 1 and all(0 <= h < 2 ** 32 for h in hashes)
    first_hash: dict[str, int] = {}
    for start, value in enumerate(hashes):
        assert first_hash.setdefault(text[start:start + k], value) == value
    for start in range(0, len(hashes), 997):
        assert similarity.gram_hashes(text[start:start + k], k).tolist() == [hashes[start]]
    assert len(set(first_hash.values())) >= 0.999 * len(first_hash)
    for start in range(0, len(hashes), 1009):      # one character changed anywhere: another hash
        gram = text[start:start + k]
        for place in range(k):
            for other in set(alphabet) - {gram[place]}:
                changed = gram[:place] + other + gram[place + 1:]
                assert similarity.gram_hashes(changed, k).tolist() != [hashes[start]], (gram, changed)
    assert similarity.gram_hashes(text[:k - 1], k).tolist() == []


def test_boilerplate_fingerprints_are_removed():
    text = "def given_helper(x):\n    return x * 2 + 1 if x else None\n"
    boiler = similarity.code_prints(text).hashes
    assert boiler
    assert not similarity.code_prints(text, boiler).hashes


def test_renaming_and_comments_do_not_change_normalised_code():
    a, _ = similarity.normalise_code("def f(W, x):\n    return W @ x  # product\n")
    b, _ = similarity.normalise_code("def g(weights, inp):\n    # mine\n    return weights @ inp\n")
    assert a == b


def test_text_normalisation_ignores_spacing_inside_math_and_keeps_chinese():
    a = similarity.normalise_text(r"因此 $$\left( a \, + b \right)$$ 成立")
    b = similarity.normalise_text(r"因此   $$(a+b)$$   成立")
    assert a == b and "因此" in a


# ------------------------------------------------------------------------------------------------
# Numbers


def _wrong(case: str, digest: str, question: str = "1a", named=(), degenerate=False) -> AnswerPrint:
    return AnswerPrint(case, question, f"case {case}", digest, "[[...]]", list(named), degenerate)


def test_a_shared_unusual_wrong_answer_counts_fully_and_a_catalogued_one_barely():
    unusual = [_wrong(f"1a/h{i}", f"d{i}") for i in range(5)]
    catalogued = [_wrong(f"1b/h{i}", f"e{i}", "1b", named=["transposed"]) for i in range(5)]
    pairs = similarity.number_evidence([Evidence("a", wrong=tuple(unusual)), Evidence("b", wrong=tuple(unusual)),
                                        Evidence("c", wrong=tuple(catalogued)),
                                        Evidence("d", wrong=tuple(catalogued))], Thresholds())
    assert pairs[("a", "b")].numbers == pytest.approx(1.0)
    assert pairs[("c", "d")].numbers == pytest.approx(similarity.NAMED_WEIGHT)


def test_a_wrong_answer_many_students_share_is_common_not_copied():
    common = (_wrong("1a/h0", "zeros-ish"),)
    students = [Evidence(f"s{i}", wrong=common) for i in range(30)]
    assert similarity.number_evidence(students, Thresholds()) == {}


def test_answer_digest_keeps_about_nine_digits_and_tells_degenerate_answers():
    import numpy as np

    value = np.array([[0.123456789012, -3.5], [2.0, 1e-7]])
    again, _ = similarity.answer_digest(value * (1 + 1e-14))
    assert similarity.answer_digest(value)[0] == again
    assert similarity.answer_digest(value * (1 + 1e-6))[0] != again
    assert similarity.answer_digest(np.zeros((2, 2)))[1] is True
    assert similarity.answer_digest(value)[1] is False
    assert similarity.answer_digest({"f": value, "i": value})[0] != similarity.answer_digest({"f": value})[0]


# ------------------------------------------------------------------------------------------------
# A class built for it, graded by the real batch


def _renamed_copy(source: Path, target: Path) -> None:
    """alice's notebook as a copier hands it in: variables renamed, cells shuffled, comments added."""
    nb = nbformat.read(source, as_version=4)
    names = {"W": "weights", "U": "in_mat", "xs": "inputs", "gs": "upstream", "h0": "h_start", "T": "steps"}
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        text = cell.source
        for old, new in names.items():
            text = re.sub(rf"\b{old}\b", new, text)
        cell.source = "# my own implementation\n" + text
    rest = [c for c in nb.cells if c.cell_type != "code"]
    imports = [c for c in code if "import" in c.source.split("\n", 2)[1]]
    others = [c for c in code if c not in imports]
    random.Random(7).shuffle(others)
    nb.cells = rest + imports + others
    nbformat.write(nb, target)


UNUSUAL_1A = "0.01 * W"    # both students add this to the right Jacobian: a mistake nobody catalogued


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, session):
    root = tmp_path_factory.mktemp("similarity")
    folder, out = root / "class", root / "out"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "alice_correct.ipynb", folder / "alice.ipynb")
    shutil.copy(SUBMISSIONS / "carol_module.py", folder / "carol.py")
    shutil.copy(SUBMISSIONS / "bob_seed_mistakes.ipynb", folder / "bob.ipynb")
    _renamed_copy(SUBMISSIONS / "alice_correct.ipynb", folder / "mallory.ipynb")
    carol = (SUBMISSIONS / "carol_module.py").read_text(encoding="utf-8")
    odd_carol = carol.replace('return np.einsum("i,ij->ij", _dsigmoid(W @ x), W)',
                              f'return np.einsum("i,ij->ij", _dsigmoid(W @ x), W) + {UNUSUAL_1A}')
    assert odd_carol != carol
    (folder / "pat.py").write_text(odd_carol.replace('"""', "'''"), encoding="utf-8")
    reference = (ROOT / "reference" / "__init__.py").read_text(encoding="utf-8")
    odd_reference = reference.replace("return _dsigmoid(W @ x)[:, None] * W",
                                      f"return _dsigmoid(W @ x)[:, None] * W + {UNUSUAL_1A}")
    assert odd_reference != reference
    (folder / "quinn.py").write_text(odd_reference, encoding="utf-8")
    (folder / "ren.py").write_text(reference, encoding="utf-8")
    (folder / "wei.md").write_text(SEED, encoding="utf-8")
    edited = SEED.replace("因此", "所以").replace("\n\n", "\n").replace(r"\sigma", r"\sigma ")
    (folder / "xiao.md").write_text(edited, encoding="utf-8")
    (folder / "yara.md").write_text(_english_write_up(), encoding="utf-8")
    config = replace(load_config(env={}), workers=2)
    report = run_batch(folder, out, config, progress=False, session=session)    # graded by the warm workers
    pairs = {(p.a, p.b): p for p in report.similarity}
    return out, pairs, report


def _english_write_up() -> str:
    return """# Exercise 1
## (a)
Each output y_i = σ(w_iᵀx) depends on x only through its own pre-activation, so by the chain rule the
derivative of y_i with respect to x_j is σ′(w_iᵀx) times W_ij. Stacking the rows gives diag(σ′(Wx)) W,
an n by d matrix, where σ′(z) = σ(z)(1 − σ(z)).
## (b)
The loss sums over time steps; each h_t depends on W directly and through h_{t−1}. Unrolling the
recursion, ∂L/∂W collects for every t and every k ≤ t the upstream gradient g_t, the product of the
Jacobians diag(σ′)W from step k+1 to t, and the immediate derivative of h_k with respect to W.
# Exercise 2
## (c)
W has eigenvalues 0.9 and 0.4, both below one in modulus, so W to the thirtieth power is tiny but not
zero: gradients through thirty steps vanish. A modulus above one would make them explode instead.
"""


def test_independent_correct_solutions_are_not_flagged(graded_class):
    _, pairs, _ = graded_class
    for a, b in [("alice", "carol"), ("alice", "ren"), ("carol", "ren"), ("alice", "bob"), ("bob", "carol")]:
        pair = pairs.get((a, b))
        assert pair is None or not pair.flagged, (a, b, pair and pair.reasons)


def test_a_copy_with_renamed_variables_and_reordered_cells_is_flagged_by_code(graded_class):
    out, pairs, _ = graded_class
    pair = pairs[("alice", "mallory")]
    assert pair.flagged and pair.code >= 0.6, pair
    assert pair.code_marks[0] and pair.code_marks[1]
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert "alice ⟷ mallory" in page and "<mark>" in page


def test_two_students_sharing_an_unusual_wrong_answer_are_flagged_by_numbers(graded_class):
    _, pairs, _ = graded_class
    pair = pairs[("pat", "quinn")]
    assert pair.flagged and pair.numbers >= 1.0, pair
    assert pair.code < 0.6                       # written independently: only the numbers tell
    assert {wa.question for wa, _ in pair.shared_wrong} == {"1a"}
    assert any("hidden" in wa.case for wa, _ in pair.shared_wrong)      # cases neither ever saw


def test_the_same_unusual_answer_from_the_right_code_is_not_evidence(graded_class):
    _, pairs, _ = graded_class
    assert not any(p.flagged for key, p in pairs.items() if "ren" in key and "quinn" in key and p.numbers)


def test_a_shared_chinese_write_up_is_flagged_by_text_and_an_independent_one_is_not(graded_class):
    _, pairs, _ = graded_class
    assert pairs[("wei", "xiao")].flagged and pairs[("wei", "xiao")].text >= 0.5
    for key in [("wei", "yara"), ("xiao", "yara")]:
        assert key not in pairs or not pairs[key].flagged


def test_similarity_is_for_instructors_only(graded_class):
    """No student-visible file mentions the evidence or holds a wrong-answer digest."""
    out, pairs, _ = graded_class
    digests = {wa.digest for p in pairs.values() for wa, _ in p.shared_wrong}
    assert digests
    for folder in (out / "students").iterdir():
        for name in ("report.html", "result.json", "work.html"):
            text = (folder / name).read_text(encoding="utf-8")
            assert "wrong_answers" not in text and "similarity" not in text
            assert not any(d in text for d in digests)
    results = (out / "results.json").read_text(encoding="utf-8")
    assert not any(d in results for d in digests)
    quinn = next((out / "students").glob("quinn-*"))
    staff = json.loads((quinn / "instructor.json").read_text(encoding="utf-8"))
    assert staff["wrong_answers"] and all(w["question"] == "1a" for w in staff["wrong_answers"])
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert 'href="similarity.html"' in summary


def test_the_csv_lists_every_pair_and_the_command_rebuilds_the_page(graded_class, capsys):
    from grader.cli import main

    out, pairs, _ = graded_class
    rows = (out / "similarity.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("student_a,student_b,flagged")
    assert len(rows) == 1 + len(pairs)
    (out / "similarity.html").unlink()
    assert main(["similarity", str(out)]) == 0
    assert "alice ~ mallory" in capsys.readouterr().out
    assert (out / "similarity.html").is_file()


def test_entries_read_once_give_the_same_pages_as_a_list(graded_class, tmp_path):
    """write_similarity takes any iterable of entries, read once (a generator loading each student
    from disk): the written answers of the pairs shown are then read again from the batch's records,
    and the pages are the ones the batch wrote from its list."""
    from grader import copying

    out, pairs, _ = graded_class
    config = load_config(env={})
    template = copying.template_of(copying.default_template())
    stored = copying.entries_in(out)
    assert len(stored) == 10 and not isinstance(stored, list)
    read: list[str] = []

    def once():
        for entry in stored:
            read.append(entry.name)
            yield entry

    again = copying.write_similarity(tmp_path, once(), template, config.similarity, "hw3")
    assert sorted(read) == sorted(set(read)) and len(read) == 10          # each student read once
    assert [(p.a, p.b, p.code, p.text, p.numbers, p.reasons) for p in again] == \
           [(p.a, p.b, p.code, p.text, p.numbers, p.reasons) for p in pairs.values()]
    for name in ("similarity.csv", "similarity.html"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (out / name).read_text(encoding="utf-8"), name


def test_student_text_on_the_page_is_escaped():
    from grader.render import similarity as render

    code = "".join(f"def f{i}(a, b):\n    return a * {i} + b ** {i + 1} - '<script>alert({i})</script>'\n"
                   for i in range(30))
    students = [Evidence("<img src=x onerror=alert(1)>", code), Evidence("b\x1b[31m", code)]
    pairs = compare_class(students, Template(), Thresholds())
    page = render.page(pairs, {s.student: s for s in students}, Thresholds(), "hw3", 2)
    assert pairs[0].flagged
    assert "<script>" not in page and "<img" not in page and "\x1b" not in page
    assert "&lt;script&gt;" in page


def test_similarity_settings_are_checked(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[similarity]\ncode = 0.8\nenabled = false\ntemplate = "t.ipynb"\n', encoding="utf-8")
    config = load_config(good, env={})
    assert config.similarity.code == 0.8 and not config.similarity_enabled
    assert config.similarity_template == str(tmp_path / "t.ipynb")
    for bad in ('[similarity]\ncode = "high"\n', '[similarity]\ncodee = 0.5\n', '[similarity]\nenabled = 1\n'):
        path = tmp_path / "bad.toml"
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(ConfigError, match="similarity"):
            load_config(path, env={})


def test_the_comparison_is_the_same_in_every_process():
    """Fingerprints do not depend on Python's salted string hash: two runs give the same shares."""
    import subprocess
    import sys

    code = ("from grader.similarity import Evidence, compare_class\n"
            "from pathlib import Path\n"
            "a = Path('submissions/carol_module.py').read_text()\n"
            "b = a.replace('def ', 'def  ').replace('W', 'weights')\n"
            "c = Path('reference/__init__.py').read_text()\n"
            "print([(p.a, p.b, p.code) for p in compare_class([Evidence('a', a), Evidence('b', b), Evidence('c', c)])])\n")
    ROOT_DIR = Path(__file__).resolve().parents[1]
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT_DIR,
                              env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}, check=True).stdout
               for seed in ("1", "2", "3")}
    assert len(outputs) == 1, outputs
