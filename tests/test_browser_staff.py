"""The staff's pages in a real browser (headless Chromium, files on disk, offline): rendered math in
the review page and the reports, the scoring form, the sortable class table, the work as graded
and the instructor view. Screenshots go to test-artifacts/ for a person to look at.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import unquote

import pytest

from grader.manual import apply_manual_scores
from test_browser import CHROMEDRIVER, CHROMIUM, console_errors, open_page, screenshot, visible_text

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from batch_output import student_folder

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromedriver are needed")

# Visible text that would mean LaTeX was left raw (outside the ⚠ fallbacks and the collapsed sources).
RAW_TEX = ("\\frac", "\\partial", "\\sigma", "\\begin{", "$$")


@pytest.fixture(scope="module")
def out(staff_class) -> Path:
    """The bundled examples graded as a class (conftest.py: made once for every browser file)."""
    return staff_class


def no_network(driver) -> None:
    """Nothing was fetched: the page loaded no resource at all (file:// or otherwise)."""
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0


def rendered_text_without_fallbacks(driver) -> str:
    return driver.execute_script("""
        const copy = document.body.cloneNode(true);
        copy.querySelectorAll('.tex-fallback, details.source, pre, code, textarea, .csv').forEach(e => e.remove());
        return copy.innerText;""")


def test_review_page_renders_the_seed_write_up_as_math(driver, out):
    open_page(driver, out / "review.html")
    assert console_errors(driver) == []
    no_network(driver)
    maths = driver.find_elements(By.CSS_SELECTOR, ".prose math")
    assert len(maths) > 30
    assert all(m.size["height"] > 0 for m in maths[:10])           # laid out, not hidden
    assert driver.find_elements(By.CSS_SELECTOR, ".prose mfrac")
    text = rendered_text_without_fallbacks(driver)
    assert not [raw for raw in RAW_TEX if raw in text]
    screenshot(driver, "review")


def test_review_form_keeps_scores_and_downloads_a_valid_scores_file(driver, out, tmp_path):
    open_page(driver, out / "review.html")
    form = driver.find_element(By.ID, "review-form")
    assert form.is_displayed()
    box = driver.find_element(By.CSS_SELECTOR, '.score-box[data-student="seed_written"][data-part="1a-derivation"]')
    score = box.find_element(By.TAG_NAME, "input")
    comment = box.find_element(By.TAG_NAME, "textarea")
    score.clear()
    score.send_keys("3.5")
    comment.send_keys("diag(σ′) right, W_i^T x kept")
    other = driver.find_element(By.CSS_SELECTOR, '.score-box[data-student="alice_correct"][data-part="2b-proof"] input')
    other.send_keys("99")                                              # beyond the part's points
    assert other.get_attribute("aria-invalid") == "true"
    other.send_keys(Keys.BACKSPACE, Keys.BACKSPACE, "4")
    assert other.get_attribute("aria-invalid") == "false"
    # kept in the browser: a fresh visit shows them
    open_page(driver, out / "review.html")
    box = driver.find_element(By.CSS_SELECTOR, '.score-box[data-student="seed_written"][data-part="1a-derivation"]')
    assert box.find_element(By.TAG_NAME, "input").get_attribute("value") == "3.5"
    assert "W_i^T" in box.find_element(By.TAG_NAME, "textarea").get_attribute("value")
    # the download is the format --manual-scores reads
    driver.execute_script("window.__csv = null; HTMLAnchorElement.prototype.click = function () { window.__csv = this.href; };")
    driver.find_element(By.ID, "download-scores").send_keys(Keys.ENTER)
    href = driver.execute_script("return window.__csv")
    assert href.startswith("data:text/csv")
    text = unquote(href.split(",", 1)[1])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["student", "part", "score", "comment"]
    assert ["seed_written", "1a-derivation", "3.5", "diag(σ′) right, W_i^T x kept"] in rows
    scores = tmp_path / "scores.csv"
    scores.write_text(text, encoding="utf-8")
    from grader.results import Result
    import json

    results = [Result.from_dict(json.loads((student_folder(out, name) / "result.json").read_text(encoding="utf-8")))
               for name in ("alice_correct", "bob_seed_mistakes", "carol_module", "dave_broken", "seed_written",
                            "template")]
    merged = {r.submission: r for r in apply_manual_scores(results, scores)}
    assert {w.id: w.score for w in merged["seed_written"].written}["1a-derivation"] == 3.5
    assert {w.id: w.score for w in merged["alice_correct"].written}["2b-proof"] == 4
    assert console_errors(driver) == []
    driver.execute_script("localStorage.clear()")


def test_written_only_report_shows_math_and_says_so(driver, out):
    open_page(driver, student_folder(out, "seed_written") / "report.html")
    assert console_errors(driver) == []
    no_network(driver)
    assert "A written hand-in" in visible_text(driver)
    assert len(driver.find_elements(By.CSS_SELECTOR, ".prose math")) > 30
    assert not [raw for raw in RAW_TEX if raw in rendered_text_without_fallbacks(driver)]
    screenshot(driver, "report-seed-written")
    driver.find_element(By.PARTIAL_LINK_TEXT, "the work as graded").click()
    assert "the work as graded" in driver.title
    assert console_errors(driver) == []


def test_notebook_view_in_the_browser(driver, out):
    open_page(driver, student_folder(out, "bob_seed_mistakes") / "work.html")
    assert console_errors(driver) == []
    no_network(driver)
    assert driver.find_elements(By.CSS_SELECTOR, ".work math")
    assert "def sigmoid_jacobian" in visible_text(driver)
    screenshot(driver, "work-notebook-bob")
    open_page(driver, student_folder(out, "carol_module") / "work.html")
    assert driver.find_elements(By.CSS_SELECTOR, ".highlight .k")
    assert console_errors(driver) == []


def test_summary_sorts_filters_and_keeps_the_blank_apart(driver, out):
    open_page(driver, out / "summary.html")
    assert console_errors(driver) == []
    no_network(driver)
    text = visible_text(driver)
    assert "blank (nothing attempted)" in text and "unreadable" in text
    rows = lambda: [r.get_attribute("data-student") for r in driver.find_elements(By.CSS_SELECTOR, "#students tbody tr")
                    if r.is_displayed()]
    assert len(rows()) == 6
    total = driver.find_element(By.CSS_SELECTOR, "#students thead th:nth-child(2) button")
    total.click()
    ascending = rows()
    total.click()
    assert rows() == list(reversed(ascending)) or rows()[0] != ascending[0]
    screenshot(driver, "summary-staff")
    search = driver.find_element(By.ID, "filter-name")
    search.send_keys("bob")
    assert rows() == ["bob_seed_mistakes"]
    search.clear()
    search.send_keys(Keys.BACKSPACE)
    driver.find_element(By.CSS_SELECTOR, "#filter-status option[value='blank']").click()
    assert rows() == ["template"]


def test_instructor_view_in_the_browser(driver, out):
    open_page(driver, student_folder(out, "bob_seed_mistakes") / "instructor.html")
    assert console_errors(driver) == []
    no_network(driver)
    text = visible_text(driver)
    assert "Instructor only" in text and "hidden" in text and "Mismatch" in text
    screenshot(driver, "instructor-bob")


def test_summary_is_readable_printed(driver, out):
    import base64

    open_page(driver, out / "summary.html")
    pdf = base64.b64decode(driver.print_page())
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not driver.find_element(By.ID, "student-filters").is_displayed()      # controls are not printed
        rows = driver.find_elements(By.CSS_SELECTOR, "#students tbody tr")
        assert len(rows) == 6 and all(r.is_displayed() for r in rows)
        # status is words and marks, so it survives a black-and-white printer
        assert "✓ graded" in driver.find_element(By.ID, "students").text
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def test_an_unfinished_batch_is_said_first(driver, out, tmp_path):
    from grader.batchstate import Incomplete
    from grader.render import html as report_html
    from grader.results import Result
    import json

    results = [Result.from_dict(json.loads((student_folder(out, name) / "result.json").read_text(encoding="utf-8")))
               for name in ("alice_correct", "bob_seed_mistakes")]
    page = tmp_path / "summary.html"
    page.write_text(report_html.summary(results, incomplete=Incomplete(38, 40).headline()), encoding="utf-8")
    open_page(driver, page)
    first = driver.find_element(By.CSS_SELECTOR, "main > *:first-child")
    assert first.get_attribute("id") == "incomplete" and "38 of 40 not graded yet" in first.text
    assert console_errors(driver) == []
    screenshot(driver, "summary-incomplete")


def test_a_set_up_warning_is_for_staff_and_said_once(driver, out):
    """The DEMO-secret warning is about the grader's set-up: it was a 'Problems' box at the top of
    every student's report (a student cannot act on it, and it reads as a fault of theirs). Staff see
    it once, on the class view, naming how many submissions it concerns, and on the instructor page."""
    for name in ("bob_seed_mistakes", "alice_correct", "template"):
        open_page(driver, student_folder(out, name) / "report.html")
        text = visible_text(driver)
        assert "DEMO secret" not in text and "GRADER_SECRET" not in text
    assert driver.find_elements(By.ID, "problems") == []                  # nothing else was wrong with it
    open_page(driver, out / "summary.html")
    notice = driver.find_element(By.ID, "staff-notices")
    assert notice.is_displayed() and visible_text(driver).count("DEMO secret") == 1
    assert "6 submissions" in notice.text or "all 6" in notice.text
    open_page(driver, student_folder(out, "bob_seed_mistakes") / "instructor.html")
    assert "DEMO secret" in visible_text(driver)
    assert console_errors(driver) == []


def test_grades_csv_says_blank_where_the_class_view_does(out):
    """grades.csv said 'graded' for the untouched template, which the class view lists as blank (and
    leaves out of the statistics): a TA reading the spreadsheet took the 0 for a student's result."""
    import csv as csvlib

    rows = {row["student"]: row for row in csvlib.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8")))}
    assert rows["template"]["status"] == "blank"
    assert rows["alice_correct"]["status"] == "graded" and rows["dave_broken"]["status"] == "unreadable"
    exported = main_export(out)
    assert {r["submission"]: r["status"] for r in exported}["template"] == "blank"


def main_export(out: Path) -> list[dict]:
    """`grader export OUT --format csv`'s rows."""
    import contextlib
    import csv as csvlib

    from grader.cli import main

    target = out.parent / (out.name + "-export.csv")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", str(out), "--format", "csv", "--output", str(target)]) == 0
    return list(csvlib.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
