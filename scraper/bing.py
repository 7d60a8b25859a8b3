"""Crawling Bing Images: the first page in the browser, then its async endpoint.

Bing's ``/images/async`` takes an offset in ``first``, and past the end it
repeats its last page, so the crawl stops when a page brings no new ``murl``.
"""

from __future__ import annotations

import logging
from urllib.parse import quote_plus

from selenium.common.exceptions import JavascriptException, TimeoutException
from selenium.webdriver.remote.webdriver import WebDriver

from scraper import page_scripts as js
from scraper.bing_parse import parse_tiles
from scraper.crawl_common import (
    EngineCrawler,
    OnHit,
    blocked,
    first_match,
    hand_over,
    load,
    wait_for,
)
from scraper.page_state import NO_RESULTS, read_state
from scraper.records import CrawlOutcome

log = logging.getLogger("facesift.scraper")


class BingCrawler(EngineCrawler):
    """Crawls Bing Images, one query at a time in the browser it is given."""

    engine = "bing"

    def crawl(self, query: str, on_hit: OnHit, language: str = "en") -> CrawlOutcome:
        """Collect the results of one query, handing each to ``on_hit`` as it is found."""
        q = quote_plus(query)
        if why := load(self.d, self.search_url(query)):
            return CrawlOutcome("failed", why, "bing")

        def settled(d: WebDriver):
            return read_state(d, self.rules, self.rules["tiles"])

        state = wait_for(self.d, settled, self.opts.page_timeout)
        if (
            state is not None
            and state.stops_engine
            and self.person_passed(
                state.why, lambda d: (now := settled(d)) and not now.stops_engine
            )
        ):
            state = wait_for(self.d, settled, self.opts.page_timeout)
        if state is not None and state.stops_engine:
            return CrawlOutcome("blocked", f"Bing blocked the search: {state.why}")
        if state is not None and state.kind == NO_RESULTS:
            return CrawlOutcome("done", f"no results: {state.why}", "bing")
        found = first_match(self.d, self.rules["tiles"])
        if found is None:
            return CrawlOutcome(
                "failed",
                "no result tiles found: Bing's page may have changed; "
                "add its selectors to scraper/selectors.toml",
                "bing",
            )
        log.info("bing: tiles matched %r", found)
        seen: set[str] = set()
        hits = parse_tiles(self.d.page_source)
        first = len(hits) + 1
        size = int(self.rules.get("page_size", 35))
        self.d.set_script_timeout(self.opts.page_timeout)
        while True:
            new = [h for h in hits if h.url not in seen]
            if not new:
                return CrawlOutcome("done", "no new results (Bing repeats its last page)", "bing")
            if not hand_over(new, seen, on_hit):
                return CrawlOutcome("done", "reached the limit", "bing")
            url = self.rules["async_url"].format(base=self.origin, q=q, first=first, count=size)
            try:
                fragment = self.d.execute_async_script(js.FETCH_TEXT, url)
            except (TimeoutException, JavascriptException) as e:
                return CrawlOutcome("failed", f"Bing's async page failed: {e.msg}", "bing")
            texts = self.rules["states"].get("blocked_texts", [])
            if fragment and any(t in fragment.lower() for t in texts):
                return CrawlOutcome("blocked", "Bing blocked the search (captcha)", "bing")
            hits = parse_tiles(fragment or "")
            if not hits:
                log.warning("bing: %s gave no tiles; scrolling the page instead", url)
                return self._scroll(on_hit, seen)
            first += size

    def _scroll(self, on_hit: OnHit, seen: set[str]) -> CrawlOutcome:
        """Load more the way a person does (scroll, "See more images") and re-read the page."""
        while True:
            state = wait_for(self.d, self._grew(self._count()), self.opts.idle_timeout)
            if state == "blocked":
                why = blocked(self.d, self.rules)
                return CrawlOutcome("blocked", f"Bing blocked the search: {why}", "bing")
            new = [h for h in parse_tiles(self.d.page_source) if h.url not in seen]
            if not new:
                return CrawlOutcome("done", "no new results after scrolling", "bing")
            if not hand_over(new, seen, on_hit):
                return CrawlOutcome("done", "reached the limit", "bing")

    def _count(self) -> int:
        return self.d.execute_script(js.STATE, self.rules["tiles"], [], [], [])["count"]

    def _grew(self, before: int):
        """A wait condition: more tiles than ``before`` (pressing and scrolling meanwhile)."""

        def check(d: WebDriver) -> bool | str:
            if blocked(d, self.rules):
                return "blocked"
            if self._count() > before:
                return True
            d.execute_script(js.CLICK_VISIBLE, self.rules.get("see_more", []))
            d.execute_script(js.SCROLL_BOTTOM)
            return False

        return check
