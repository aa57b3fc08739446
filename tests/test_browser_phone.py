"""Every page at a phone's width (390 CSS pixels, an iPhone 12-15) in a real browser: nothing makes
the page itself wider than the screen (WCAG 1.4.10, reflow), so a student reading their report or a
TA opening the class view on a phone scrolls down, not sideways. A wide table may scroll inside its
own box (`.table-wrap`), as data tables are allowed to; the page may not. Words in headings break
only where they must ("5 gr / aded" was broken mid-word by `word-break: break-all`).

Before: the class view's two charts kept a 440 px minimum (461 px page), display math in the work
view ran off the page (1,111 px), the diff's table had no scrolling box (630 px).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader import batch, diff
from test_browser import CHROMEDRIVER, CHROMIUM, screenshot
from test_browser_staff import out  # noqa: F401
from batch_output import student_folder

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromedriver are needed")

PHONE = 390

# The elements that stick out of the page, outside any box that scrolls or clips them.
OVERFLOWING = """
const width = document.documentElement.clientWidth, found = [];
for (const e of document.body.querySelectorAll('*')) {
  const box = e.getBoundingClientRect();
  if (box.width === 0 || box.right <= width + 1) continue;
  let p = e.parentElement, held = false;
  for (; p && p !== document.body; p = p.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) { held = true; break; }
  }
  if (!held) found.push(e.tagName.toLowerCase() + '.' + (e.getAttribute('class') || '') + ' to ' + Math.round(box.right) + 'px');
}
return [document.documentElement.scrollWidth, width, found.slice(0, 8)];
"""


@pytest.fixture()
def phone(driver):  # noqa: F811
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": PHONE, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    yield driver
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture(scope="module")
def regrade_page(out, tmp_path_factory) -> Path:  # noqa: F811
    """diff.html of a regrade with a long reason, as `grader diff` writes it."""
    old = diff.load_results(out)
    changes = [diff.Change(r.result.submission, r.result.submission, "total", 10.0, 12.5,
                           ["submission content changed (b49926abfa → c23b828088)", "tolerance of 1a: rtol=1e-06 → 1e-05"])
               for r in old[:3]]
    run = diff.RunDiff(str(out / "_runs" / "20261129T224059.647457Z"), str(out), [], changes, [], [])
    folder = tmp_path_factory.mktemp("diff")
    return diff.write(run, folder)[1]


def pages(out: Path, regrade: Path) -> dict[str, Path]:  # noqa: F811
    bob = student_folder(out, "bob_seed_mistakes")
    return {"summary": out / "summary.html", "review": out / "review.html", "similarity": out / "similarity.html",
            "report": bob / "report.html", "work": bob / "work.html", "instructor": bob / "instructor.html",
            "written": student_folder(out, "seed_written") / "report.html", "diff": regrade}


@pytest.mark.parametrize("name", ["summary", "review", "similarity", "report", "work", "instructor", "written", "diff"])
def test_no_page_is_wider_than_a_phone(phone, out, regrade_page, name):  # noqa: F811
    path = pages(out, regrade_page)[name]
    phone.get(path.as_uri())
    scroll, width, sticking_out = phone.execute_script(OVERFLOWING)
    assert width == PHONE
    assert scroll <= width and not sticking_out, f"{name} is {scroll}px wide at {width}px: {sticking_out}"


def test_headings_break_between_words(phone, out):  # noqa: F811
    phone.get((out / "summary.html").as_uri())
    heading = phone.execute_script("""
        const h = document.querySelector('h1'); const r = document.createRange(); r.selectNodeContents(h);
        return [h.textContent, [...r.getClientRects()].length, getComputedStyle(h).wordBreak]""")
    assert heading[2] != "break-all", heading
    screenshot(phone, "phone-summary")


def test_the_class_tables_fit_a_laptop_screen(driver, out):  # noqa: F811
    """At 1280 px (a laptop) the class view's tables need no sideways scrolling: the per-question
    table's long headings ("Most failed cases (share of students · typical mistake)") did not wrap
    and pushed its last column out of view (1,202 px in a 1,138 px box)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    try:
        driver.get((out / "summary.html").as_uri())
        boxes = driver.execute_script(
            "return [...document.querySelectorAll('.table-wrap')].map(w => [w.querySelector('table').className, "
            "w.clientWidth, w.scrollWidth])")
        assert len(boxes) == 3
        for name, width, scroll in boxes:
            assert scroll <= width, f"{name}: {scroll}px in a {width}px box"
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize("name", ["summary", "review", "similarity", "report", "work", "instructor", "written", "diff"])
def test_headings_go_down_one_level_at_a_time(driver, out, regrade_page, name):  # noqa: F811
    """A screen reader's list of headings is the page's outline: no level is skipped (the review
    page went from h1 to h3 "Parts" and from h2 to h4 "Rubric"; the instructor view from h1 to h3 and
    from each question's h3 to its cases' h5)."""
    driver.get(pages(out, regrade_page)[name].as_uri())
    levels = driver.execute_script(
        "return [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].filter(h => !h.closest('.prose, .work'))"
        ".map(h => [+h.tagName[1], h.textContent.trim().slice(0, 40)])")
    previous = 0
    for level, text in levels:
        assert level <= previous + 1, f"{name}: h{previous} then h{level} ({text})"
        previous = level


def test_a_student_on_a_phone_finds_what_to_fix_first(phone, out):  # noqa: F811
    """On a phone the report's question table scrolls sideways inside its box, so the status and
    diagnosis columns were out of sight, and the failing questions lay among the passing ones, 7
    screens down. A list near the top names the questions that lost points, the most points first,
    each with its cases' counts and diagnosis, and leads to the question."""
    import json

    from selenium.webdriver.common.by import By

    folder = student_folder(out, "bob_seed_mistakes")
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    lost = sorted(((q["max_score"] - q["score"], q["id"]) for q in result["questions"] if q["score"] < q["max_score"]),
                  key=lambda item: -item[0])
    phone.get((folder / "report.html").as_uri())
    box = phone.find_element(By.ID, "to-fix")
    assert box.is_displayed() and box.location["y"] < 1.5 * 800
    items = box.find_elements(By.CSS_SELECTOR, "li")
    assert [i.find_element(By.TAG_NAME, "code").text for i in items] == [qid for _, qid in lost]
    first = items[0]
    worst = next(q for q in result["questions"] if q["id"] == lost[0][1])
    public = sum(1 for c in worst["cases"] if c["visibility"] == "public")
    assert "forget-gate-only" in first.text and f"0 of {public} public" in first.text and "−15" in first.text
    # The first screen says the score, what to fix first and where: the score, and the first item
    # whole, with its hint and where the answer goes wrong (the grading's details, 270 px of case
    # set, isolation and hash on a phone, had pushed it below the first screen).
    assert phone.find_element(By.ID, "total-score").rect["y"] < 800
    assert first.rect["y"] + first.rect["height"] <= 800, first.rect
    assert worst["where"][0] in first.text and worst["hints"][0]["hint"][:40] in first.text
    assert all(i.rect["x"] + i.rect["width"] <= PHONE for i in items)
    first.find_element(By.TAG_NAME, "a").click()
    top = phone.execute_script("return document.getElementById('q-3c-cell').getBoundingClientRect().top")
    assert -2 <= top < 100                                                    # the question is on screen
    phone.get((student_folder(out, "alice_correct") / "report.html").as_uri())
    assert phone.find_elements(By.ID, "to-fix") == []
