"""The real app in headless Chromium: keyboard labelling in the queue, clicks in the grid.

Starts ``facesift review --port <free port>`` and drives it with Selenium, then
checks the label events in the catalog. Screenshots of every page go to
``$FACESIFT_SCREENSHOTS`` when set, else to a temp dir (the README's come from
``scripts/screenshots.py``).
"""

from __future__ import annotations

import pytest

from tests.conftest import cli_argv
from tests.curation_ui.conftest import (
    free_port,
    page_text,
    screenshot,
    serving,
    shots_dir,
    wait_for,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def server(seeded, tmp_path):
    port = free_port()
    cat = seeded.cat
    argv = cli_argv("--dataset", cat.paths.name, "review", "--port", str(port), root=cat.paths.root)
    with serving(argv, tmp_path / "streamlit.log", port) as url:
        yield url


@pytest.fixture
def browser(browsers):
    return browsers()


def events(cat):
    return [
        tuple(r)
        for r in cat.conn.execute(
            "SELECT face_id, annotator, action, label, reason FROM label_events ORDER BY id"
        )
    ]


@pytest.mark.slow
def test_label_with_keys_and_reject_with_clicks(server, browser, seeded, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    cat, ids = seeded.cat, seeded.ids
    shots = shots_dir(tmp_path)

    def find(css: str):
        def present():
            found = browser.find_elements(By.CSS_SELECTOR, css)
            return found[0] if found and found[0].is_displayed() else None

        return wait_for(present, 30, css)

    def page_shows(text: str):
        wait_for(lambda: text in page_text(browser), 30, text)

    def settled() -> bool:
        """No skeleton placeholders and no script run in progress."""
        busy = '[data-testid="stSkeleton"], [data-testid="stStatusWidgetRunningIcon"]'
        return not browser.find_elements(By.CSS_SELECTOR, busy)

    # The name is asked once, then kept in the URL.
    browser.get(server + "/queue")
    find(".st-key-who_name input").send_keys("browser")
    screenshot(browser, shots / "review-annotator.png")
    browser.find_element(By.XPATH, "//button[.//p[text()='Start reviewing']]").click()
    page_shows("Label queue")
    wait_for(lambda: "annotator=browser" in browser.current_url, 30, "the name in the URL")

    # Review by query: tick two chips (in the browser: the grid is a component), reject them
    # with a click.
    browser.get(server + "/?annotator=browser&rv_label=sad")  # review is the main page
    for name in ("sad_1", "sad_3"):
        cell = f".fsg-cell[data-id='{ids[name]}']"
        find(cell).click()
        wait_for(
            lambda cell=cell: (
                browser.find_element(By.CSS_SELECTOR, cell).get_attribute("data-ticked") == "1"
            ),
            30,
            "the tick",
        )
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".fsg-cell img")) >= 3, 30, "chips")
    wait_for(settled, 30, "the page to settle")
    screenshot(browser, shots / "review-grid.png")
    find(".fsg [data-action=reject]").click()
    wait_for(lambda: len(events(cat)) == 2, 30, "two reject events")
    assert events(cat) == [
        (ids["sad_1"], "browser", "reject", None, "not_a_face"),
        (ids["sad_3"], "browser", "reject", None, "not_a_face"),
    ]

    # Label queue: 4 = happy, x = reject, z = undo, 5 = sad; it moves on by itself.
    browser.get(server + "/queue?annotator=browser&q_subset=unlabelled")
    find(".fsq [data-action=label_happy]")  # the queue's component, its keys on screen
    page_shows(f"face #{ids['none_1']}")
    screenshot(browser, shots / "review-queue.png")
    steps = [
        ("4", f"face #{ids['none_2']}"),
        ("x", f"face #{ids['none_3']}"),
        ("z", f"face #{ids['none_2']}"),
        ("5", f"face #{ids['none_3']}"),
    ]
    for n, (key, shows) in enumerate(steps, start=3):
        browser.find_element(By.TAG_NAME, "h2").click()  # focus the page, not a widget
        ActionChains(browser).send_keys(key).perform()
        wait_for(lambda n=n: len(events(cat)) == n, 30, f"event {n} after key {key}")
        page_shows(shows)
    assert events(cat)[2:] == [
        (ids["none_1"], "browser", "label", "happy", None),
        (ids["none_2"], "browser", "reject", None, "not_a_face"),
        (ids["none_2"], "browser", "undo", None, None),
        (ids["none_2"], "browser", "label", "sad", None),
    ]

    for path, last_text, shot in (
        ("import", "Extract faces after the import", "review-import.png"),
        ("stats", "Per annotator", "review-stats.png"),
        ("export", "Replace a non-empty output folder", "review-export.png"),
    ):
        browser.get(f"{server}/{path}?annotator=browser")
        page_shows(last_text)
        wait_for(settled, 30, "the page to settle")
        if path == "stats":
            wait_for(
                lambda: browser.execute_script(
                    "const c = document.querySelectorAll('[data-testid=stVegaLiteChart]');"
                    "return c.length >= 3 && Array.from(c).every("
                    "e => e.querySelector('canvas, svg.marks'));"
                ),
                30,
                "three charts",
            )
        screenshot(browser, shots / shot)
    assert len(list(shots.glob("review-*.png"))) == 6
