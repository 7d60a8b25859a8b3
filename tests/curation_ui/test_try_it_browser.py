"""The Try it page in headless Chromium: upload a real photo, see its faces boxed with the top 3."""

from __future__ import annotations

import re

import pytest

from tests.curation_ui.conftest import page_text, screenshot, shots_dir, wait_for
from tests.curation_ui.test_browser import browser, server  # noqa: F401  (fixtures)
from tests.curation_ui.test_model_ui import group_photo  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
GUESS = re.compile(r"^(\w+) (\d+)%$")


@pytest.mark.slow
def test_upload_a_photo_and_see_its_faces_with_the_top_3(
    seeded,
    server,  # noqa: F811
    browser,  # noqa: F811
    group_photo,  # noqa: F811
    tmp_path,
):
    from selenium.webdriver.common.by import By

    from curation_ui import actions
    from model.train import TrainOptions, train

    cat, ids = seeded.cat, seeded.ids
    for names, label in (
        (("happy_big", "happy_dup_best", "happy_blurry"), "happy"),
        (("sad_1", "sad_2", "sad_3"), "sad"),
        (("none_1", "none_2"), "surprise"),
    ):
        actions.relabel(cat.conn, [ids[n] for n in names], "ann", label)
    model = train(cat, TrainOptions(folds=2))  # the running app reads the newest model

    browser.get(f"{server}/try_it?annotator=browser")
    upload = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".st-key-ti_upload input[type=file]"),
        60,
        "the file input",
    )
    upload[0].send_keys(str(group_photo.path))
    n = group_photo.hog_up0

    def guesses() -> list[str]:
        bars = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stProgress"]')
        return [b.text.strip() for b in bars]

    wait_for(lambda: len(guesses()) == 3 * n, 90, f"the top 3 of {n} faces")
    body = page_text(browser)
    assert f"Face {n}" in body and f"Face {n + 1}" not in body
    for text in guesses():
        label, pct = GUESS.match(text).groups()
        assert label in model.classes and 0 <= int(pct) <= 100
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')  # the boxes
    screenshot(browser, shots_dir(tmp_path) / "try-it.png")
