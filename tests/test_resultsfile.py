"""results.json read one student at a time (grader.resultsfile), equal to reading it whole."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import resultsfile
from grader.results import Problem, Result, json_text


def results(n: int) -> list[Result]:
    return [Result(submission=f"s{i}", status="graded", score=i / 3, max_score=100,
                   problems=[Problem("x", "ü]}{\\\"," * (i % 5) + "[results")]) for i in range(n)]


def write(path: Path, items: list[Result], indent=None) -> None:
    data = {"assignment": "HW3", "grader_version": "1", "case_set": "abc", "results": [r.to_dict() for r in items]}
    path.write_text(json_text(data) if indent is None else json.dumps(data, indent=indent), encoding="utf-8")


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_streamed_equals_whole(tmp_path: Path, monkeypatch, chunk):
    monkeypatch.setattr(resultsfile, "CHUNK", chunk)
    items = results(40)
    path = tmp_path / "results.json"
    write(path, items)
    assert resultsfile.read_head(path) == {"assignment": "HW3", "grader_version": "1", "case_set": "abc"}
    assert [r.to_dict() for r in resultsfile.iter_results(path)] == [r.to_dict() for r in items]


def test_other_layouts_are_read_whole(tmp_path: Path):
    path = tmp_path / "results.json"
    write(path, results(3), indent=2)
    assert [r.submission for r in resultsfile.iter_results(path)] == ["s0", "s1", "s2"]
    path.write_text(json.dumps({"results": [r.to_dict() for r in results(2)], "case_set": "z"}), encoding="utf-8")
    assert resultsfile.read_head(path) == {"case_set": "z"}
    assert len(list(resultsfile.iter_results(path))) == 2


def test_broken_files_are_clear_errors(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(resultsfile, "CHUNK", 50)
    path = tmp_path / "results.json"
    write(path, results(5))
    path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    with pytest.raises(resultsfile.ResultsFileError, match="cut short"):
        list(resultsfile.iter_results(path))
    path.write_text('{"case_set": "a", "results": [{"submission": "x"', encoding="utf-8")
    with pytest.raises(resultsfile.ResultsFileError, match="cut short"):
        list(resultsfile.iter_results(path))
    with pytest.raises(resultsfile.ResultsFileError, match="does not exist"):
        resultsfile.read_head(tmp_path / "nope.json")
    path.write_text('{"case_set": "a", "results": [1, 2]}', encoding="utf-8")
    with pytest.raises(resultsfile.ResultsFileError, match="not a result"):
        list(resultsfile.iter_results(path))
