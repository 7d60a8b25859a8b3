"""The Try it page in headless Chromium: upload a real photo, see its faces boxed with the top 3."""

from __future__ import annotations

import pytest

from tests.curation_ui.test_browser import (  # noqa: F401  (fixtures)
    browser,
    screenshot,
    server,
    shots_dir,
    wait_for,
)
from tests.curation_ui.test_model_ui import group_photo  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_upload_a_photo_and_see_its_faces_with_the_top_3(
    server,  # noqa: F811
    browser,  # noqa: F811
    group_photo,  # noqa: F811
    tmp_path,
):
    from selenium.webdriver.common.by import By

    def body() -> str:
        return browser.find_element(By.TAG_NAME, "body").text

    browser.get(f"{server}/try_it?annotator=browser")
    upload = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".st-key-ti_upload input[type=file]"),
        30,
        "the file input",
    )
    upload[0].send_keys(str(group_photo.path))
    n = group_photo.hog_up0
    wait_for(lambda: f"Face {n}" in body(), 60, f"face {n} listed")
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img'),
        30,
        "the boxed photo",
    )
    assert f"Face {n + 1}" not in body()
    screenshot(browser, shots_dir(tmp_path) / "try-it.png")
