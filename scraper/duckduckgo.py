"""Crawling DuckDuckGo images: the results page in the browser, then its i.js JSON.

The page carries a ``vqd`` token; ``i.js`` answers only with that token and the
page's cookies, so it is fetched from inside the page. Offsets step by 100; the
crawl stops when a page adds nothing new (past the end it repeats itself).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote_plus

from selenium.common.exceptions import JavascriptException, TimeoutException
from selenium.webdriver.remote.webdriver import WebDriver

from scraper import page_scripts as js
from scraper.crawl_common import EngineCrawler, OnHit, blocked, hand_over, load, wait_for
from scraper.records import CrawlOutcome, Hit, reported_size

log = logging.getLogger("facesift.scraper")


def find_token(page: str, patterns: list[str]) -> str | None:
    """The vqd token in a results page, by the first pattern that matches."""
    for p in patterns:
        if m := re.search(p, page):
            return m.group(1)
    return None


def parse_results(payload: str) -> list[Hit]:
    """Hits from one i.js answer (``results[]``: image, thumbnail, url, title, width, height)."""
    data = json.loads(payload)
    hits = []
    for r in data.get("results") or []:
        image = r.get("image") if isinstance(r, dict) else None
        if not isinstance(image, str) or not image.startswith(("http://", "https://")):
            continue
        hits.append(
            Hit(
                image,
                original_url=image,
                thumbnail_url=r.get("thumbnail") or None,
                source_page_url=r.get("url") or None,
                title=r.get("title") or None,
                width=reported_size(r.get("width")),
                height=reported_size(r.get("height")),
                via="json",
            )
        )
    return hits


class DuckDuckGoCrawler(EngineCrawler):
    """Crawls DuckDuckGo's images, one query at a time in the browser it is given."""

    engine = "duckduckgo"

    def crawl(self, query: str, on_hit: OnHit, language: str = "en") -> CrawlOutcome:
        """Collect the results of one query, handing each to ``on_hit`` as it is found."""
        q = quote_plus(query)
        if why := load(self.d, self.search_url(query)):
            return CrawlOutcome("failed", why, "duckduckgo")
        patterns = self.rules["vqd_patterns"]

        def ready(d: WebDriver):
            if blocked(d, self.rules):
                return "blocked"
            return find_token(d.page_source, patterns)

        token = wait_for(self.d, ready, self.opts.page_timeout)
        if token == "blocked" and self.person_passed(
            blocked(self.d, self.rules) or "a challenge",
            lambda d: ready(d) not in (None, "blocked"),
        ):
            token = wait_for(self.d, ready, self.opts.page_timeout)
        if token == "blocked":
            why = blocked(self.d, self.rules)
            return CrawlOutcome("blocked", f"DuckDuckGo blocked the search: {why}", "duckduckgo")
        if token is None:
            return CrawlOutcome(
                "failed",
                "no vqd token in DuckDuckGo's page: it may have changed; "
                "add its pattern to scraper/selectors.toml",
                "duckduckgo",
            )
        region = self.rules.get("regions", {}).get(language, self.rules["default_region"])
        step = int(self.rules.get("page_size", 100))
        seen: set[str] = set()
        self.d.set_script_timeout(self.opts.page_timeout)
        offset = 0
        while True:
            url = self.rules["json_url"].format(
                base=self.origin, q=q, region=region, vqd=token, offset=offset
            )
            try:
                got = self.d.execute_async_script(js.FETCH_WITH_STATUS, url)
            except (TimeoutException, JavascriptException) as e:
                return CrawlOutcome("failed", f"DuckDuckGo's i.js failed: {e.msg}", "duckduckgo")
            if got["status"] in (403, 418, 429):
                return CrawlOutcome(
                    "blocked",
                    f"DuckDuckGo blocked the search: i.js answered HTTP {got['status']}",
                    "duckduckgo",
                )
            try:
                hits = parse_results(got["text"]) if got["status"] == 200 else None
            except ValueError:
                hits = None
            if hits is None:
                return CrawlOutcome(
                    "failed", f"DuckDuckGo's i.js gave no JSON (HTTP {got['status']})", "duckduckgo"
                )
            new = [h for h in hits if h.url not in seen]
            if not new:
                why = "no results" if offset == 0 else "no new results (the last page again)"
                return CrawlOutcome("done", why, "duckduckgo")
            if not hand_over(new, seen, on_hit):
                return CrawlOutcome("done", "reached the limit", "duckduckgo")
            offset += step
