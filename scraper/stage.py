"""The scrape stage: for each query, crawl its results and download them, into the catalog.

Results are written as they are found, and downloads run while the crawl goes
on. A rerun resumes: links already stored are not collected again, finished
downloads are skipped and unfinished ones are fetched.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from selenium.common.exceptions import WebDriverException
from tqdm import tqdm

from catalog import Catalog
from catalog.db import connect
from catalog.report import format_table
from catalog.storage import sweep_temp_files
from scraper import store
from scraper.bing import BingCrawler
from scraper.browser import Browser
from scraper.config import QuerySpec, ScrapeOptions, load_selectors, plan_queries
from scraper.download import DownloadPool, Fetcher, Outcome
from scraper.google import GoogleCrawler
from scraper.records import CrawlOutcome, Hit

log = logging.getLogger("facesift.scraper")
CRAWLERS = {"google": GoogleCrawler, "bing": BingCrawler}


@dataclass
class QuerySummary:
    """What one query's run did."""

    label: str
    text: str
    status: str = "running"
    message: str = ""
    layout: str | None = None
    links_new: int = 0
    links_total: int = 0
    downloaded: int = 0
    new_images: int = 0
    failed: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class ScrapeSummary:
    """What a scrape did, per query."""

    engine: str
    queries: list[QuerySummary]

    @property
    def ok(self) -> bool:
        """True when every query ran to its end (not blocked, not failed)."""
        return all(q.status == "done" for q in self.queries)

    def table(self) -> str:
        """A plain-text table, one row per query, and the failure reasons."""
        head = ("label", "links", "new", "downloaded", "failed", "skipped", "status")
        rows = [
            (
                q.label,
                str(q.links_total),
                str(q.links_new),
                str(q.downloaded),
                str(q.failed),
                str(q.skipped),
                f"{q.status}: {q.message}",
            )
            for q in self.queries
        ]
        lines = [format_table(head, rows, free_last=True)]
        reasons: dict[str, int] = {}
        for q in self.queries:
            for k, v in q.reasons.items():
                reasons[k] = reasons.get(k, 0) + v
        if reasons:
            lines.append(
                "failure reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
            )
        return "\n".join(lines)


class _BrowserHolder:
    """Starts the browser on first use (a resumed run may not need one) and restarts a dead one."""

    def __init__(self, opts: ScrapeOptions, shared: Browser | None = None):
        self.opts = opts
        self.browser: Browser | None = shared
        self.shared = shared is not None

    def page(self) -> Browser:
        if self.browser is None:
            self.browser = Browser(
                headful=self.opts.headful,
                driver=self.opts.driver,
                binary=self.opts.browser,
                page_timeout=self.opts.page_timeout,
            )
        else:
            self.browser.new_page()
        return self.browser

    def discard(self) -> None:
        if self.browser is not None and not self.shared:
            self.browser.quit()
            self.browser = None


def scrape(cat: Catalog, opts: ScrapeOptions, *, browser: Browser | None = None) -> ScrapeSummary:
    """Crawl and download every query the options ask for; return what happened.

    ``browser`` lends an already started browser (left running); by default one
    is started when the first crawl needs it and stopped at the end.
    """
    specs = plan_queries(opts, cat.labels)
    rules = load_selectors(opts.selectors_file)
    sweep_temp_files(cat.paths.dir)
    stop = threading.Event()
    fetcher = Fetcher(cat.paths.dir, opts.download, stop)
    recorder = store.Recorder(connect(cat.paths.catalog))
    browsers = _BrowserHolder(opts, browser)
    summary = ScrapeSummary(opts.engine, [])
    try:
        for spec in specs:
            summary.queries.append(_run_query(cat, spec, opts, rules, fetcher, recorder, browsers))
    finally:
        stop.set()
        browsers.discard()
        recorder.conn.close()
    store.relink_all(cat.conn)
    return summary


def _run_query(
    cat: Catalog,
    spec: QuerySpec,
    opts: ScrapeOptions,
    rules: dict,
    fetcher: Fetcher,
    recorder: store.Recorder,
    browsers: _BrowserHolder,
) -> QuerySummary:
    conn = cat.conn
    qs = QuerySummary(spec.label, spec.text)
    query_id = store.ensure_query(conn, opts.engine, spec.text, spec.label)
    run_id = store.start_run(conn, query_id, opts.origin)
    known = store.known_urls(conn, query_id)
    lock = threading.Lock()
    bar = tqdm(
        desc=f"{spec.label:>9}",
        unit=" links",
        total=opts.limit,
        initial=store.result_count(conn, query_id),
        disable=not opts.progress,
        leave=True,
    )

    def on_done(outcome: Outcome) -> None:
        new = recorder.record(outcome)
        with lock:
            if outcome.status == "ok":
                qs.downloaded += 1
                qs.new_images += new
            else:
                qs.failed += outcome.status == "failed"
                qs.skipped += outcome.status == "skipped"
                qs.reasons[outcome.reason or "?"] = qs.reasons.get(outcome.reason or "?", 0) + 1
            bar.set_postfix(downloaded=qs.downloaded, failed=qs.failed + qs.skipped, refresh=False)
            bar.refresh()

    pool = DownloadPool(fetcher, on_done)
    pool.submit(store.pending_urls(conn, query_id))  # left over by a killed run

    def on_hit(hit: Hit) -> bool:
        if opts.limit is not None and store.result_count(conn, query_id) >= opts.limit:
            return False
        if hit.url in known or (hit.original_url and hit.original_url in known):
            return True
        known.add(hit.url)
        new, needs_download = store.add_hit(conn, query_id, run_id, spec.label, hit)
        if new:
            with lock:
                qs.links_new += 1
                bar.update(1)
        if needs_download:
            pool.submit([hit.url])
        return opts.limit is None or store.result_count(conn, query_id) < opts.limit

    outcome = CrawlOutcome("done", "the limit was already reached")
    try:
        if opts.limit is None or store.result_count(conn, query_id) < opts.limit:
            outcome = _crawl(spec, opts, rules, browsers, on_hit)
        pool.wait()
    except BaseException:
        pool.close(cancel=True)
        store.finish_run(conn, run_id, "interrupted", "interrupted", None)
        bar.close()
        raise
    pool.close()
    bar.close()
    qs.status, qs.message, qs.layout = outcome.status, outcome.message, outcome.layout
    qs.links_total = store.result_count(conn, query_id)
    store.finish_run(conn, run_id, outcome.status, outcome.message, outcome.layout)
    if outcome.status != "done":
        log.warning("%s: %s (kept the %d links found)", spec.text, outcome.message, qs.links_total)
    return qs


def _crawl(spec, opts, rules, browsers: _BrowserHolder, on_hit) -> CrawlOutcome:
    try:
        browser = browsers.page()
        crawler = CRAWLERS[opts.engine](browser.driver, rules, opts)
        return crawler.crawl(spec.text, on_hit)
    except WebDriverException as e:
        browsers.discard()  # a fresh browser for the next query
        first = (e.msg or type(e).__name__).strip().splitlines()[0]
        return CrawlOutcome("failed", f"the browser failed: {first}")
