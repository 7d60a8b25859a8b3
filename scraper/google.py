"""Crawling Google Images (the 2024-2026 and the 2020-2023 page) with Selenium.

Every selector comes from selectors.toml. The crawl scrolls until the tile count
stops growing, clicks "Show more results" when it is there, opens each tile's
preview to read its original URL, and stops at the limit, at the end marker, when
nothing new appears within ``idle_timeout``, or when Google blocks us.
"""

from __future__ import annotations

import logging
from urllib.parse import quote_plus

from selenium.common.exceptions import JavascriptException, TimeoutException
from selenium.webdriver.remote.webdriver import WebDriver

from scraper import page_scripts as js
from scraper.config import ScrapeOptions
from scraper.crawl_common import (
    OnHit,
    blocked,
    first_match,
    hit_from_page,
    load,
    wait_for,
)
from scraper.records import CrawlOutcome

log = logging.getLogger("facesift.scraper")
# Tiles opened per browser round trip: results still reach the catalog every few tiles.
TILES_PER_CALL = 8


class GoogleCrawler:
    """Crawls one query at a time in the browser it is given."""

    engine = "google"

    def __init__(self, driver: WebDriver, rules: dict, opts: ScrapeOptions):
        self.d = driver
        self.rules = rules["google"]
        self.opts = opts

    def search_url(self, query: str) -> str:
        return self.rules["search_url"].format(base=self.opts.origin, q=quote_plus(query))

    def crawl(self, query: str, on_hit: OnHit) -> CrawlOutcome:
        """Collect the results of one query, handing each to ``on_hit`` as it is found."""
        url = self.search_url(query)
        if why := load(self.d, url):
            return CrawlOutcome("failed", why)
        if why := blocked(self.d, self.rules):
            return CrawlOutcome("blocked", f"Google blocked the search: {why}")
        self._consent(url)
        layout = self._detect_layout()
        if isinstance(layout, CrawlOutcome):
            return layout
        tiles = first_match(self.d, layout["tiles"])
        log.info("layout %s: tiles matched %r", layout["name"], tiles)
        logged: set[str] = set()
        n_tiles = 0
        while True:
            scan = self.d.execute_script(
                js.SCAN, tiles, self.rules["exclude_within"], self.rules["exclude_if_contains"]
            )
            fresh = scan["fresh"]
            for start in range(0, len(fresh), TILES_PER_CALL):
                for info in self._open_tiles(fresh[start : start + TILES_PER_CALL], layout):
                    if info is None:
                        continue
                    for role in ("via", "click"):
                        if info.get(role) and info[role] not in logged:
                            logged.add(info[role])
                            log.info("%s: %s matched %r", layout["name"], role, info[role])
                    hit = hit_from_page(info)
                    if hit is not None and not on_hit(hit):
                        return CrawlOutcome("done", "reached the limit", layout["name"])
            n_tiles += len(fresh)
            if why := blocked(self.d, self.rules):
                return CrawlOutcome("blocked", f"Google blocked the search: {why}", layout["name"])
            if fresh:
                continue  # more tiles may have loaded while these were opened
            if self._state(layout, tiles)["end"]:
                return CrawlOutcome("done", "reached the end of the results", layout["name"])
            grew = self._more(layout, tiles, scan["count"])
            if grew == "blocked":
                why = blocked(self.d, self.rules)
                return CrawlOutcome("blocked", f"Google blocked the search: {why}", layout["name"])
            if not grew:
                return CrawlOutcome(
                    "done",
                    f"no new results within {self.opts.idle_timeout:g} s ({n_tiles} tiles)",
                    layout["name"],
                )

    # --- steps -----------------------------------------------------------------------

    def _consent(self, url: str) -> None:
        """Press the consent page's or dialog's first button (Reject all), once."""
        pressed = self.d.execute_script(js.CLICK_VISIBLE, self.rules["consent_buttons"])
        if not pressed:
            return
        log.info("consent: pressed %r", pressed)
        gone = wait_for(
            self.d,
            lambda d: not d.execute_script(js.FIRST_VISIBLE, [pressed]),
            self.opts.page_timeout,
        )
        if gone is None:
            log.warning("the consent button %r did not go away", pressed)
        if not self._any_tiles() and self.d.current_url.split("#")[0] != url:
            self.d.get(url)

    def _any_tiles(self) -> bool:
        cands = [t for layout in self.rules["layouts"] for t in layout["tiles"]]
        return bool(first_match(self.d, cands))

    def _detect_layout(self) -> dict | CrawlOutcome:
        def ready(d: WebDriver):
            if blocked(d, self.rules):
                return "blocked"
            for layout in self.rules["layouts"]:
                if first_match(d, layout["tiles"]):
                    return layout
            return None

        found = wait_for(self.d, ready, self.opts.page_timeout)
        if found == "blocked":
            why = blocked(self.d, self.rules)
            return CrawlOutcome("blocked", f"Google blocked the search: {why}")
        if found is None:
            return CrawlOutcome(
                "failed",
                "no result tiles found: Google's page may have changed; "
                "add its selectors to scraper/selectors.toml",
            )
        return found

    def _open_tiles(self, idxs: list[int], layout: dict) -> list[dict | None]:
        """Open tiles one after another inside the page: one round trip for several."""
        self.d.set_script_timeout(len(idxs) * (self.opts.preview_timeout + 1) + 10)
        try:
            return self.d.execute_async_script(
                js.OPEN_TILES,
                idxs,
                layout,
                self.rules["thumbnails"],
                int(self.opts.preview_timeout * 1000),
            )
        except (TimeoutException, JavascriptException) as e:
            log.warning("tiles %s: %s", idxs, str(e).splitlines()[0] if str(e) else e)
            return []

    def _state(self, layout: dict, tiles: str) -> dict:
        return self.d.execute_script(
            js.STATE,
            [tiles],
            layout.get("show_more", []),
            layout.get("end_marker", []),
            layout.get("end_texts", []),
        )

    def _more(self, layout: dict, tiles: str, before: int) -> bool | str:
        """Ask for more tiles (button, scroll); True when the count grew within the idle wait."""
        if layout.get("show_more"):
            pressed = self.d.execute_script(js.CLICK_VISIBLE, layout["show_more"])
            if pressed:
                log.info("%s: pressed %r", layout["name"], pressed)
        self.d.execute_script(js.SCROLL_BOTTOM)

        def changed(d: WebDriver):
            if blocked(d, self.rules):
                return "blocked"
            st = self._state(layout, tiles)
            if st["count"] > before or st["end"]:
                return True
            if st["more"]:  # the button appeared: press it and keep waiting
                d.execute_script(js.CLICK_VISIBLE, layout["show_more"])
            else:
                d.execute_script(js.SCROLL_BOTTOM)
            return None

        result = wait_for(self.d, changed, self.opts.idle_timeout)
        return result or False
