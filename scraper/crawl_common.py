"""What the Google and Bing crawlers share: waits, blocking checks, turning page data into hits."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable

from selenium.common.exceptions import (
    JavascriptException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from scraper import page_scripts as js
from scraper.records import Hit

log = logging.getLogger("facesift.scraper")
POLL = 0.05  # seconds between checks of an explicit wait

OnHit = Callable[[Hit], bool]
"""Called with each new result; returns False to stop the crawl (limit reached)."""


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], object], timeout: float):
    """The first truthy value of ``condition`` within ``timeout`` seconds, else None."""
    try:
        # A page that is navigating away (to a sorry page, say) can fail a check once.
        ignored = (JavascriptException, StaleElementReferenceException)
        wait = WebDriverWait(driver, timeout, poll_frequency=POLL, ignored_exceptions=ignored)
        return wait.until(condition)
    except TimeoutException:
        return None


def blocked(driver: WebDriver, rules: dict) -> str | None:
    """A description of why the engine is refusing us, or None."""
    return driver.execute_script(
        js.BLOCKED,
        rules.get("blocked_selectors", []),
        rules.get("blocked_url_parts", []),
        rules.get("blocked_texts", []),
    )


def load(driver: WebDriver, url: str) -> str | None:
    """Open a results page; a message if the browser could not load it at all."""
    what = "the browser could not load the results page (is the address right, is it online?)"
    try:
        driver.get(url)
    except WebDriverException as e:
        if "net::ERR_" not in (e.msg or ""):
            raise
        code = "net::ERR_" + e.msg.split("net::ERR_", 1)[1].split()[0]
        return f"{what}: {code}: {url}"
    if (driver.execute_script("return document.URL") or "").startswith("chrome-error://"):
        return f"{what}: {url}"
    return None


def first_match(driver: WebDriver, candidates: list[str]) -> str | None:
    """The first candidate selector that matches something on the page."""
    return driver.execute_script(js.FIRST_MATCH, candidates) if candidates else None


def data_uri_bytes(uri: str) -> bytes | None:
    """The bytes of a base64 ``data:`` URI, or None."""
    head, sep, payload = uri.partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload)
    except (binascii.Error, ValueError):
        return None


def hit_from_page(info: dict) -> Hit | None:
    """A Hit from what the page gave for one tile: the original, else the thumbnail (fallback)."""
    original, thumb = info.get("original"), info.get("thumb")
    thumb_data = data_uri_bytes(thumb) if thumb and thumb.startswith("data:") else None
    common = {
        "thumbnail_url": None if thumb_data is not None else thumb,
        "thumbnail_data": thumb_data,
        "source_page_url": info.get("page") or None,
        "title": (info.get("title") or None),
        "width": info.get("w") or None,
        "height": info.get("h") or None,
    }
    if original:
        return Hit(original, original_url=original, **common)
    if thumb:
        return Hit(thumb, is_fallback=True, **common)
    return None
