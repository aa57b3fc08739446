"""A score reads the same wherever a person sees it: the report, the class view, the terminal and
the gradebook export round it one way (half-up from the exact total, two decimals).

Before, the pages and the terminal formatted with `f"{x:.2f}"` (round-half-even on the binary
float: 0.625 -> "0.62", 2.675 -> "2.67") while `grader export` rounds half-up ("0.63", "2.68"), so a
student's report and the Canvas column could differ by a cent.
"""
from __future__ import annotations

import dataclasses
import re

import pytest

from grader import export
from grader.render import html, terminal
from grader.results import CaseResult, QuestionResult, Result, WrittenAnswer
from grader.totals import totals


def result_scoring(auto: float, written: float | None, name: str = "ada") -> Result:
    case = CaseResult("q/public/0", "public", "n=1", "failed", message="off")
    question = QuestionResult("q", "Q", "f", auto, 10.0, "partial", [case])
    answer = WrittenAnswer("w1", "W", 5.0, "text", score=written)
    return Result(submission=name, status="graded", score=auto, max_score=10.0,     # as graded: the automatic part
                  questions=[question], written=[answer])


# (auto, written): exact binary halves, and a decimal half that the float stores just below it
CASES = [(0.625, None), (0.625, 2.05), (1.0, 0.125), (2.675, None)]


@pytest.mark.parametrize("auto, written", CASES)
def test_report_header_and_breakdown_show_the_exported_total(auto, written):
    result = result_scoring(auto, written)
    sums = totals(result)
    exported = export.rounded(sums.total, 2)
    markup = html.report(result)
    header = re.search(r'id="total-score">([^<]*)<', markup).group(1)
    assert header == exported
    assert sums.line().endswith(f"= {exported}/15")
    assert f"auto {export.rounded(sums.auto, 2)}/10" in sums.line()


@pytest.mark.parametrize("auto, written", CASES)
def test_class_view_and_terminal_show_the_exported_numbers(auto, written):
    result = result_scoring(auto, written)
    exported_total = export.rounded(totals(result).total, 2)
    exported_question = export.rounded(auto, 2)
    summary = html.summary([result], {result.submission: "ada.html"})
    row = re.search(r'<tr[^>]*data-student="ada"[^>]*>(.*?)</tr>', summary, re.S)
    assert row, "the class table has a row for the student"
    cells = re.sub(r"<[^>]+>", " ", row.group(1))
    assert re.search(rf"(?<![\d.]){re.escape(exported_total)}\s*/\s*15", cells), cells
    assert re.search(rf"(?<![\d.]){re.escape(exported_question)}(?![\d])", cells), cells
    text = terminal.table(result)
    assert f" {exported_question} / 10" in text


def test_the_class_table_shows_the_written_points_its_totals_include():
    """A TA's scores are part of every total, so the class table shows them beside the questions:
    before, 'Total 2.68 / 15' stood next to question cells adding up to 0.63, with no written column."""
    scored, unscored = result_scoring(0.625, 2.05, "ada"), result_scoring(1.0, None, "bea")
    summary = html.summary([scored, unscored], {"ada": "ada.html", "bea": "bea.html"})
    head = re.search(r'<table class="students".*?<thead>(.*?)</thead>', summary, re.S).group(1)
    assert re.findall(r"<th[^>]*>([^<]*)</th>", head) == ["Student", "Total", "q", "Written", "Status"]

    def cells(name: str) -> list[str]:
        row = re.search(rf'<tr[^>]*data-student="{name}"[^>]*>(.*?)</tr>', summary, re.S).group(1)
        return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]

    assert cells("ada")[3] == "2.05 / 5" and cells("ada")[1] == "2.68 / 15"
    assert cells("bea")[3] == "– / 5"                      # not scored yet: no number, the part's points
    without = html.summary([result_scoring(1.0, None, "cy")], {"cy": "cy.html"})
    assert "Written" in without                        # parts to score: the column is there, empty
    bare = dataclasses.replace(result_scoring(1.0, None, "dee"), written=[])
    assert ">Written<" not in html.summary([bare], {"dee": "dee.html"})   # a class without written parts


@pytest.mark.parametrize("auto, written", CASES)
def test_grade_prints_the_reports_total_and_its_breakdown(auto, written):
    """`grader grade` printed "0.63 / 10" (the automatic part over its own maximum) while the
    report it wrote said "2.68 / 15" with the breakdown: the terminal now opens with the report's line."""
    result = result_scoring(auto, written)
    sums = totals(result)
    first = terminal.table(result).splitlines()[0]
    assert first.startswith(f"ada: {export.rounded(sums.total, 2)} / 15 ")
    assert sums.line() in first


def test_the_report_handed_to_students_does_not_call_itself_the_instructors():
    """report.html is the page students are given; its header said "Visibility: all cases
    (instructor)", which reads as the staff copy (instructor.html is that). It says what the page
    shows: hidden cases by pass or fail only."""
    markup = html.report(result_scoring(1.0, None))
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", markup, flags=re.S))
    assert "instructor" not in text.lower()
    assert "hidden cases: pass or fail only" in " ".join(text.split())


def test_every_score_in_the_class_statistics_says_out_of_what():
    """The mean and the median said "/ 15"; the lowest and highest scores beside them did not."""
    results = [result_scoring(0.625, 2.05, "ada"), result_scoring(1.0, None, "bea")]
    summary = html.summary(results, {"ada": "ada.html", "bea": "bea.html"})
    stats = re.search(r'<div class="stats">(.*?)\n</div>', summary, re.S).group(1)
    for label in ("Mean", "Median", "Lowest – highest"):
        block = re.search(rf'<div class="label">{label}</div><div class="value"[^>]*>(.*?)</div>', stats, re.S)
        assert block, label
        assert re.sub(r"<[^>]+>", "", block.group(1)).rstrip().endswith("/ 15"), (label, block.group(1))
