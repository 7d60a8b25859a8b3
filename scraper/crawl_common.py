"""What the Google and Bing crawlers share: waits, blocking checks, turning page data into hits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from selenium.common.exceptions import (
    JavascriptException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from core.decode import data_uri_bytes
from scraper import page_scripts as js
from scraper.page_state import stop_reason
from scraper.records import Hit

if TYPE_CHECKING:
    from scraper.config import ScrapeOptions

log = logging.getLogger("facesift.scraper")
POLL = 0.05  # seconds between checks of an explicit wait

OnHit = Callable[[Hit], bool]
"""Called with each new result; returns False to stop the crawl (limit reached)."""


def hand_over(hits: list[Hit], seen: set[str], on_hit: OnHit) -> bool:
    """Hand each hit to ``on_hit``, marking its URL seen; False once it asks to stop (limit)."""
    for h in hits:
        seen.add(h.url)
        if not on_hit(h):
            return False
    return True


class EngineCrawler:
    """An engine's crawler: one query at a time in the browser it is given.

    Subclasses set ``engine`` (also their table in the selector rules) and write ``crawl``.
    """

    engine = ""

    def __init__(
        self, driver: WebDriver, rules: dict, opts: ScrapeOptions, origin: str | None = None
    ):
        self.d = driver
        self.rules = rules[self.engine]
        self.opts = opts
        self.origin = (origin or opts.origin).rstrip("/")

    def search_url(self, query: str) -> str:
        """The engine's results page for ``query`` (its rules' ``search_url``)."""
        return self.rules["search_url"].format(base=self.origin, q=quote_plus(query))

    def person_passed(self, why: str, passed: Callable[[WebDriver], object]) -> bool:
        """With --headful, wait (--captcha-wait) for the person at the window to pass a block.

        facesift never solves a captcha itself; a profile (--profile) keeps the cookies
        the engine sets once it is passed, so later headless runs get through. True
        once ``passed(driver)`` holds; False at once when headless or the wait is 0.
        """
        if not self.opts.headful or self.opts.captcha_wait <= 0:
            return False
        log.warning(
            "%s: %s - pass it in the browser window; waiting up to %g s",
            self.engine,
            why,
            self.opts.captcha_wait,
        )
        return wait_for(self.d, passed, self.opts.captcha_wait) is not None


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
    """Why the engine is refusing us (sorry page, captcha, JavaScript-only shell), or None."""
    return stop_reason(driver, rules)


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


def split_thumbnail(thumb: str | None) -> tuple[str | None, bytes | None]:
    """A tile's thumbnail as (URL, None), or (None, bytes) when the page inlined it as ``data:``."""
    data = data_uri_bytes(thumb) if thumb and thumb.startswith("data:") else None
    return (None if data is not None else thumb), data


def hit_from_page(info: dict) -> Hit | None:
    """A Hit from what the page gave for one tile: the original, else the thumbnail (fallback).

    The thumbnail stands in only for a tile that carries a result id (``result_id``):
    a tile without one is page furniture or an ad, never a result.
    """
    original, thumb = info.get("original"), info.get("thumb")
    if not original and not info.get("result_id"):
        return None
    thumb_url, thumb_data = split_thumbnail(thumb)
    common = {
        "thumbnail_url": thumb_url,
        "thumbnail_data": thumb_data,
        "source_page_url": info.get("page") or None,
        "title": (info.get("title") or None),
        "width": info.get("w") or None,
        "height": info.get("h") or None,
    }
    if original:
        return Hit(original, original_url=original, via=info.get("way") or "preview", **common)
    if thumb:
        return Hit(thumb, is_fallback=True, via="thumbnail", **common)
    return None
