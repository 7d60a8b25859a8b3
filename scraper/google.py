"""Crawling Google Images (the 2024-2026 and the 2020-2023 page) with Selenium.

Every selector and pattern comes from selectors.toml. Before reading a page the
crawl classifies it (scraper/page_state.py): consent is answered, a sorry page,
captcha or the JavaScript-only shell stops the query as blocked, "no results"
ends it as done. Then, per batch of tiles, three ways to each original, in this
order: the page's own data (scraper/google_data.py, read from the live DOM's
scripts after each scroll), hovering the tile (its link fills with /imgres),
and last the preview panel click. It stops at the limit, at the end marker, when
nothing new appears within ``idle_timeout``, or when Google blocks us.
"""

from __future__ import annotations

import logging

from selenium.common.exceptions import JavascriptException, TimeoutException
from selenium.webdriver.remote.webdriver import WebDriver

from scraper import page_scripts as js
from scraper.config import ScrapeOptions
from scraper.crawl_common import (
    EngineCrawler,
    OnHit,
    blocked,
    first_match,
    hit_from_page,
    load,
    split_thumbnail,
    wait_for,
)
from scraper.google_data import DataResult, parse_scripts
from scraper.page_state import CONSENT, NO_RESULTS, RESULTS, read_state
from scraper.records import CrawlOutcome, Hit

log = logging.getLogger("facesift.scraper")
# Tiles opened per browser round trip: results still reach the catalog every few tiles.
TILES_PER_CALL = 8
# Scripts worth sending back from the page: only those that may hold result arrays.
SCRIPT_MARKERS = ['["http']


class GoogleCrawler(EngineCrawler):
    """Crawls Google Images, one query at a time in the browser it is given."""

    engine = "google"

    def __init__(
        self, driver: WebDriver, rules: dict, opts: ScrapeOptions, origin: str | None = None
    ):
        super().__init__(driver, rules, opts, origin)
        self.data: dict[str, DataResult] = {}

    def crawl(self, query: str, on_hit: OnHit, language: str = "en") -> CrawlOutcome:
        """Collect the results of one query, handing each to ``on_hit`` as it is found."""
        url = self.search_url(query)
        if why := load(self.d, url):
            return CrawlOutcome("failed", why)
        settled = self._settle(url)
        if isinstance(settled, CrawlOutcome):
            return settled
        layout = settled
        tiles = first_match(self.d, layout["tiles"])
        log.info("layout %s: tiles matched %r", layout["name"], tiles)
        self.data = {}
        logged: set[str] = set()
        n_tiles = 0
        while True:
            scan = self.d.execute_script(
                js.SCAN,
                tiles,
                self.rules["exclude_within"],
                self.rules["exclude_if_contains"],
                self.rules.get("ad_labels", []),
                self.rules.get("result_id_attributes", []),
                self.rules.get("page_data", {}).get("tile_docid", []),
                layout["thumbnail"],
            )
            fresh = scan["fresh"]
            # After the scan: a batch's script comes before its tiles, so every tile just
            # seen has its data in the page by now.
            self._absorb_scripts()
            for start in range(0, len(fresh), TILES_PER_CALL):
                for hit in self._hits(fresh[start : start + TILES_PER_CALL], layout, logged):
                    if not on_hit(hit):
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

    def _hits(self, tiles: list[dict], layout: dict, logged: set[str]) -> list[Hit]:
        """Hits for a few tiles, in tile order: page data where it has them, else opened."""
        by_data = {t["i"]: self.data.get(t["docid"] or "") for t in tiles}
        to_open = [t for t in tiles if by_data[t["i"]] is None]
        opened = dict(
            zip([t["i"] for t in to_open], self._open_tiles(to_open, layout), strict=False)
        )
        out = []
        for t in tiles:
            found = by_data[t["i"]]
            if found is not None:
                out.append(_hit_from_data(found, t))
                continue
            info = opened.get(t["i"])
            if info is None:
                continue
            info["result_id"] = t["result_id"]
            for role in ("via", "click"):
                if info.get(role) and info[role] not in logged:
                    logged.add(info[role])
                    log.info("%s: %s matched %r", layout["name"], role, info[role])
            if (hit := hit_from_page(info)) is not None:
                out.append(hit)
            elif not info.get("original"):
                log.info(
                    "%s: tile %s has neither an original nor a result id", layout["name"], t["i"]
                )
        return out

    def _absorb_scripts(self) -> None:
        """Parse the scripts the page gained since the last look into ``self.data``."""
        patterns = self.rules.get("page_data")
        if not patterns:
            return
        texts = self.d.execute_script(js.NEW_SCRIPTS, SCRIPT_MARKERS)
        if texts:
            before = len(self.data)
            for docid, found in parse_scripts(texts, patterns, self.rules["thumbnails"]).items():
                self.data.setdefault(docid, found)
            log.debug("page data: %d results from %d scripts", len(self.data) - before, len(texts))

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
        return bool(first_match(self.d, self._all_tiles()))

    def _all_tiles(self) -> list[str]:
        return [t for layout in self.rules["layouts"] for t in layout["tiles"]]

    def _settle(self, url: str) -> dict | CrawlOutcome:
        """Wait for a decided page state: answer consent, then the layout or how the query ends."""
        results = self._all_tiles()
        for _ in range(5):  # a captcha passed by hand, consent, then the page itself
            state = wait_for(
                self.d, lambda d: read_state(d, self.rules, results), self.opts.page_timeout
            )
            if state is None:
                return CrawlOutcome(
                    "failed",
                    "no result tiles found: Google's page may have changed; "
                    "add its selectors to scraper/selectors.toml",
                )
            log.info("google: page state %s: %s", state.kind, state.why)
            if state.kind == CONSENT:
                self._consent(url)
                continue
            if state.stops_engine and self._person_passed(state, results):
                continue
            if state.stops_engine:
                return CrawlOutcome("blocked", f"Google blocked the search: {state.why}")
            if state.kind == NO_RESULTS:
                return CrawlOutcome("done", f"no results: {state.why}")
            if state.kind == RESULTS:
                for layout in self.rules["layouts"]:
                    if first_match(self.d, layout["tiles"]):
                        return layout
        return CrawlOutcome("failed", "the page did not settle (consent or captcha kept coming)")

    def _person_passed(self, state, results: list[str]) -> bool:
        """With --headful, wait for the person at the window to pass the captcha."""

        def passed(d: WebDriver):
            now = read_state(d, self.rules, results)
            return now is not None and not now.stops_engine

        return self.person_passed(state.why, passed)

    def _open_tiles(self, tiles: list[dict], layout: dict) -> list[dict | None]:
        """Open tiles one after another inside the page: one round trip for several."""
        if not tiles:
            return []
        idxs = [t["i"] for t in tiles]
        timeouts = [preview_wait_ms(t, self.opts.preview_timeout, self.rules) for t in tiles]
        self.d.set_script_timeout(sum(timeouts) / 1000 + len(idxs) + 10)
        try:
            return self.d.execute_async_script(
                js.OPEN_TILES,
                idxs,
                layout,
                self.rules["thumbnails"],
                timeouts,
                self.rules.get("hover", {"events": [], "wait_ms": 0}),
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


def preview_wait_ms(tile: dict, preview_timeout: float, rules: dict) -> int:
    """How long to wait for a tile's preview to switch to its original.

    Every result tile of both layouts names its result (``result_id`` or ``docid``);
    one without either is a related search or page furniture whose preview keeps
    its thumbnail, so it gets the short ``[google.preview] idless_ms`` rather than
    the whole timeout on every query.
    """
    full = int(preview_timeout * 1000)
    if tile.get("result_id") or tile.get("docid"):
        return full
    return min(full, int(rules.get("preview", {}).get("idless_ms", full)))


def _hit_from_data(found: DataResult, tile: dict) -> Hit:
    """A Hit from the page's data for a tile; the tile's own thumbnail if it has loaded."""
    thumb = tile.get("thumb") or found.thumbnail
    thumb_url, thumb_data = split_thumbnail(thumb)
    return Hit(
        found.original,
        original_url=found.original,
        thumbnail_url=thumb_url,
        thumbnail_data=thumb_data,
        source_page_url=found.page,
        title=found.title or tile.get("title"),
        width=found.width,
        height=found.height,
        via="page_data",
    )
