"""The notebook corpus (tests/notebooks/): notebooks as people write them score what the same code
scores as a plain module, and the score each must get.

The corpus is written by tests/notebooks/make_corpus.py (Colab and VS Code metadata, executed
outputs, widget state, attachments, nbformat 3, magics, plots, %%writefile, %run); corpus.json
gives each notebook its plain-module twin, its score (null: "loses points", pinned per question
below) and the cells that must fail (by the words of their error), alone.
"""
from __future__ import annotations

import json

import pytest

from conftest import ROOT

CORPUS = ROOT / "tests" / "notebooks"
MANIFEST = json.loads((CORPUS / "corpus.json").read_text())


def by_question(result):
    return {q.id: q.score for q in result.questions}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_notebook_scores_what_its_module_scores(session, name):
    entry = MANIFEST[name]
    notebook = session.grade(CORPUS / entry["notebook"])
    module = session.grade(CORPUS / entry["module"])
    assert notebook.status == module.status == "graded"
    assert by_question(notebook) == by_question(module), name
    if entry["score"] is not None:
        assert notebook.score == entry["score"], [(c.index, c.error) for c in notebook.cells if c.status != "ok"]
    failed = [c.error for c in notebook.cells if c.status != "ok"]
    assert len(failed) == len(entry["failing_cells"]), failed
    for words in entry["failing_cells"]:
        assert any(words in error for error in failed), (words, failed)
    assert "worker.py" not in notebook.output


def test_clipping_gradients_loses_exactly_the_clipped_question(session):
    result = session.grade(CORPUS / "clipping.ipynb")
    scores = by_question(result)
    assert scores["1b"] < 15 and result.score == pytest.approx(100 - 15 + scores["1b"])
    public = next(q for q in result.questions if q.id == "1b").public
    assert any(c.status != "passed" for c in public), "a public case shows the clipping before hand-in"


def test_plots_are_kept_and_missing_modules_named(session):
    result = session.grade(CORPUS / "colab_plots.ipynb")
    assert sum(len(c.figures) for c in result.cells) >= 2
    assert [p.message.split(":")[0] for p in result.problems if p.code == "import-failed"] == [
        "cell 2 failed on `import google`"]


def test_the_corpus_is_what_its_generator_writes(tmp_path, monkeypatch):
    """The committed files are the generator's: editing one by hand would leave its twin behind."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    monkeypatch.setattr(maker, "HERE", tmp_path)
    maker.main()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (CORPUS / path.relative_to(tmp_path)).read_bytes(), path.name
