"""The reports in a real browser: headless Chromium via Selenium, from files on disk (no server).

What a person would check: the page opens without console errors, the score and the names are
visible, hostile markup did not run, and the pages look right (screenshots go to test-artifacts/,
which is git-ignored, for a human to look at).

Skipped, saying why, where Chromium, chromedriver or selenium is missing. Selenium Manager is never
used: the driver and browser paths are given explicitly, so nothing is downloaded.
"""
from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest

from grader.render import html
from test_render_html import HOSTILE, SCRIPT, hostile_result

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from selenium.webdriver.common.by import By  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SUBMISSIONS = ROOT / "submissions"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WIDTH = 1280
MAX_HEIGHT = 12000        # a full-page screenshot taller than this is cut (it is still readable)

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="chromium and chromedriver are needed (apt-get install chromium "
                                       "chromium-driver)")


# `driver`, one headless Chromium for every browser file, is in conftest.py.


@pytest.fixture(scope="module")
def pages(session, tmp_path_factory) -> dict[str, Path]:
    """The reports of three real submissions, a hostile one, and the class summary linking them."""
    folder = tmp_path_factory.mktemp("reports")
    results = [session.grade(SUBMISSIONS / name) for name in
               ("alice_correct.ipynb", "bob_seed_mistakes.ipynb", "dave_broken.ipynb")]
    results.append(hostile_result())
    files = {}
    for index, result in enumerate(results):
        path = folder / f"student{index}.html"
        path.write_text(html.report(result), encoding="utf-8")
        files[result.submission] = path
    summary = folder / "summary.html"
    summary.write_text(html.summary(results, {r.submission: files[r.submission].name for r in results}),
                       encoding="utf-8")
    return {"alice": files[results[0].submission], "bob": files[results[1].submission],
            "dave": files[results[2].submission], "hostile": files[results[3].submission],
            "summary": summary, "results": results}


def open_page(driver, path: Path):
    driver.get_log("browser")                     # drop what earlier pages logged
    driver.set_window_size(WIDTH, 1000)
    driver.get(path.as_uri())
    return driver


def console_errors(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def screenshot(driver, name: str) -> Path:
    """A full-page screenshot in test-artifacts/ for a person to look at.

    A JPEG (Chromium's own encoder, through the DevTools protocol): a PNG of a page up to 12,000
    px tall took Chromium twice as long, and the twelve screenshots of the browser files were
    8.8 s of their 39 s (4.7 s as JPEG)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return Math.ceil(document.documentElement.getBoundingClientRect().height)")
    driver.set_window_size(WIDTH, min(MAX_HEIGHT, int(height) + 40))
    target = ARTIFACTS / f"{name}.jpg"
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "jpeg", "quality": 85})
    target.write_bytes(base64.b64decode(shot["data"]))
    assert target.stat().st_size > 10_000, f"{target}: nearly blank"
    driver.set_window_size(WIDTH, 1000)
    return target


def visible_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def test_report_of_seeded_mistakes_in_the_browser(driver, pages):
    bob = pages["results"][1]
    open_page(driver, pages["bob"])
    assert console_errors(driver) == []
    total = driver.find_element(By.ID, "total-score")
    assert total.is_displayed() and total.text == html.points(bob.score)
    text = visible_text(driver)
    assert bob.submission in text
    assert "sigma-prime-not-per-step" in text
    # A failing public case is open (its message is visible); a passing one is collapsed.
    failing = driver.find_element(By.CSS_SELECTOR, "#q-2a details.case[open] .message pre")
    assert failing.is_displayed() and "Not equal to tolerance" in failing.text
    passing = driver.find_element(By.CSS_SELECTOR, "#q-1a details.case:not([open]) .case-body pre")
    assert not passing.is_displayed()
    screenshot(driver, "report-bob")


def test_a_printed_report_shows_each_failing_question_once_in_full(driver, pages):
    """bob's report printed to 38 A4 pages: every failing case with its inputs, expected and
    returned arrays (2(a)'s T = 40 cases, 3(c)'s 14 cases) and a line for every passing case.
    Printed, each question shows its first failing case in full and the others by their message;
    passing cases print as the count in the heading (one a reader opened still prints)."""
    import base64
    import re

    open_page(driver, pages["bob"])
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        shown = driver.execute_script("""
            const seen = e => e.getClientRects().length > 0;
            return [...document.querySelectorAll('section.question')].map(q => [
                q.id,
                [...q.querySelectorAll('details.case[open]')].filter(c => seen(c.querySelector('.message') || c)).length,
                [...q.querySelectorAll('details.case[open] .pair')].filter(seen).length,
                [...q.querySelectorAll('details.case:not([open])')].filter(seen).length]);""")
        failing = {qid: messages for qid, messages, _, _ in shown if messages}
        assert {"q-2a", "q-3c-cell"} <= set(failing)
        assert all(values <= 1 for _, _, values, _ in shown), shown          # one case's arrays per question
        assert all(closed == 0 for _, _, _, closed in shown), shown          # passing cases: the heading's count
        assert driver.find_element(By.ID, "to-fix").is_displayed() and driver.find_element(By.ID, "total-score").is_displayed()
        driver.execute_script("document.querySelector('#q-1a details.case').open = true")
        assert driver.find_element(By.CSS_SELECTOR, "#q-1a details.case[open]").is_displayed()   # opened: printed
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    open_page(driver, pages["bob"])
    pdf = base64.b64decode(driver.print_page())
    pages_printed = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 0 < pages_printed <= 24, pages_printed                      # 38 before, 18 after (A4, Chromium)


def test_report_of_a_correct_and_an_unreadable_submission(driver, pages):
    for key, result in (("alice", pages["results"][0]), ("dave", pages["results"][2])):
        open_page(driver, pages[key])
        assert console_errors(driver) == []
        assert driver.find_element(By.ID, "total-score").text == html.points(result.score)
        assert result.submission in visible_text(driver)
        screenshot(driver, f"report-{key}")
    assert "could not be graded" in visible_text(driver)


def test_hostile_report_runs_nothing(driver, pages):
    open_page(driver, pages["hostile"])
    assert console_errors(driver) == []
    assert driver.find_elements(By.TAG_NAME, "script") == []
    assert driver.find_elements(By.CSS_SELECTOR, "main img") == []
    assert driver.execute_script("return document.querySelectorAll('[onerror],[onmouseover]').length") == 0
    assert SCRIPT in visible_text(driver)
    screenshot(driver, "report-hostile")


def test_summary_in_the_browser(driver, pages):
    results = pages["results"]
    open_page(driver, pages["summary"])
    assert console_errors(driver) == []
    text = visible_text(driver)
    assert f"{len(results)} submissions" in text
    for result in results:
        assert result.submission.replace("\x00", "").split("\x1b")[0] in text
    assert driver.find_element(By.ID, "mean").is_displayed()
    charts = driver.find_elements(By.CSS_SELECTOR, ".chart svg")
    assert len(charts) == 2 and all(c.size["height"] > 100 for c in charts)
    screenshot(driver, "summary")
    # The name links to the student's own report, which opens.
    driver.find_element(By.LINK_TEXT, results[1].submission).click()
    assert driver.find_element(By.ID, "total-score").text == html.points(results[1].score)
    assert console_errors(driver) == []


def test_hostile_name_in_summary_is_text(driver, pages):
    open_page(driver, pages["summary"])
    names = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "td.student a")]
    assert any(name.startswith(SCRIPT) for name in names)
    assert HOSTILE not in names          # ANSI and NUL were stripped before display


def test_console_check_sees_errors(driver, tmp_path):
    """The console check above can fail: a page with a broken script is reported."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><title>x</title><script>notDefinedAnywhere()</script>", encoding="utf-8")
    open_page(driver, broken)
    errors = console_errors(driver)
    assert errors and "notDefinedAnywhere" in errors[0]["message"]
