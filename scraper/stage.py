"""The scrape stage: for each query, crawl its results and download them, into the catalog.

Results are written as they are found, and downloads run while the crawl goes
on. A rerun resumes: links already stored are not collected again, finished
downloads are skipped and unfinished ones are fetched.

Every query runs on every --engine listed. An engine that blocks is paused for
the rest of the run and its queries (the blocked one included) go to the
--fallback; the summary says which engine served which query and why. The same
image found twice (URL or content) is stored once with every provenance.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

from selenium.common.exceptions import WebDriverException

from catalog import Catalog
from catalog import scrape as store
from catalog.db import connect
from core.contract import Progress, ProgressFn, StageSummary, check_options, report
from core.report import format_table
from core.storage import sweep_temp_files
from scraper.bing import BingCrawler
from scraper.browser import Browser
from scraper.config import ScrapeOptions, load_selectors, plan_queries
from scraper.download import DownloadPool, Fetcher, Outcome
from scraper.duckduckgo import DuckDuckGoCrawler
from scraper.engines import Pacer, Router
from scraper.google import GoogleCrawler
from scraper.queries import PlannedSearch, QuerySpec, plan_searches
from scraper.records import CrawlOutcome, Hit

log = logging.getLogger("facesift.scraper")
CRAWLERS = {"google": GoogleCrawler, "bing": BingCrawler, "duckduckgo": DuckDuckGoCrawler}
PROFILE_DIR = ".browser-profile"  # under the data root: one profile for every dataset


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
    language: str = "en"
    engine: str = ""  # the engine that served the query
    asked: str = ""  # the engine the plan asked for (differs after a fallback)
    note: str = ""  # why this engine served it
    rescued: bool = False  # blocked here, then served to its end by the fallback

    @property
    def finished(self) -> bool:
        """True when the query ran to its end here or on the fallback."""
        return self.status == "done" or self.rescued


@dataclass
class ScrapeSummary(StageSummary):
    """What a scrape did, per query."""

    engine: str
    queries: list[QuerySummary]

    @property
    def ok(self) -> bool:
        """True when every query ran to its end (on its engine or on the fallback)."""
        return all(q.finished for q in self.queries)

    def line(self) -> str:
        """One line: queries, links, downloads and failures over the whole scrape."""
        q = self.queries
        not_done = sum(not x.finished for x in q)
        return (
            f"scrape ({self.engine}): {len(q)} queries ({not_done} not done), "
            f"{sum(x.links_total for x in q)} links ({sum(x.links_new for x in q)} new), "
            f"{sum(x.downloaded for x in q)} downloaded, {sum(x.failed for x in q)} failed, "
            f"{sum(x.skipped for x in q)} skipped"
        )

    def table(self) -> str:
        """A plain-text table, one row per query, and the failure reasons."""
        head = (
            "label",
            "links",
            "new",
            "downloaded",
            "failed",
            "skipped",
            "lang",
            "engine",
            "status",
        )
        rows = [
            (
                q.label,
                str(q.links_total),
                str(q.links_new),
                str(q.downloaded),
                str(q.failed),
                str(q.skipped),
                q.language,
                q.engine,
                f"{q.status}: {q.text!r}: {q.message}" + (f" ({q.note})" if q.note else ""),
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
        return "\n".join(lines + self.totals())

    def totals(self) -> list[str]:
        """Queries and links per language and per serving engine (blocked ones counted)."""
        out = []
        for what, key in (("language", "language"), ("engine", "engine")):
            queries, links, blocked = Counter(), Counter(), Counter()
            for q in self.queries:
                k = getattr(q, key) or "-"
                queries[k] += 1
                links[k] += q.links_total
                blocked[k] += q.status == "blocked"
            out.append(
                f"per {what}: "
                + "; ".join(
                    f"{k} {queries[k]} quer{'y' if queries[k] == 1 else 'ies'}, {links[k]} links"
                    + (f" ({blocked[k]} blocked)" if blocked[k] else "")
                    for k in queries
                )
            )
        return out


def plan(opts: ScrapeOptions, labels) -> list[PlannedSearch]:
    """The searches a scrape would make, without a browser (``facesift scrape --plan``)."""
    check_options(opts)
    return plan_searches(plan_queries(opts, labels), opts.engines)


class _BrowserHolder:
    """Starts the browser on first use (a resumed run may not need one) and restarts a dead one."""

    def __init__(self, opts: ScrapeOptions, profile, shared: Browser | None = None):
        self.opts = opts
        self.profile = profile
        self.browser: Browser | None = shared
        self.shared = shared is not None

    def page(self) -> Browser:
        if self.browser is None:
            self.browser = Browser(
                headful=self.opts.headful,
                driver=self.opts.driver,
                binary=self.opts.browser,
                page_timeout=self.opts.page_timeout,
                profile=self.profile,
            )
        else:
            self.browser.new_page()
        return self.browser

    def discard(self) -> None:
        if self.browser is not None and not self.shared:
            self.browser.quit()
            self.browser = None


class _Tally:
    """The scrape's running account across queries, reported as one Progress shape."""

    def __init__(self, on_progress: ProgressFn | None, queries: int, limit: int | None):
        self.on_progress = on_progress
        self.total = None if limit is None else queries * limit
        self.links = 0  # new links of the finished queries
        self.lock = threading.Lock()

    def report(self, qs: QuerySummary, *, final: bool = False) -> None:
        done = self.links + qs.links_new
        report(
            self.on_progress,
            Progress(
                "scrape",
                done,
                done if final else self.total,
                "link",
                f"{qs.label}: {qs.downloaded} downloaded, {qs.failed + qs.skipped} failed",
            ),
        )


def scrape(
    cat: Catalog,
    opts: ScrapeOptions,
    *,
    on_progress: ProgressFn | None = None,
    browser: Browser | None = None,
) -> ScrapeSummary:
    """Crawl and download every query the options ask for; return what happened.

    ``on_progress`` gets the new links found so far (of ``limit`` per query when
    there is one); ``browser`` lends an already started browser (left running); by
    default one is started when the first crawl needs it and stopped at the end.
    """
    check_options(opts)
    specs = plan_queries(opts, cat.labels)
    engines = opts.engines
    router = Router(opts.fallback_engine)
    pacer = Pacer(opts.delay)
    rules = load_selectors(opts.selectors_file)
    sweep_temp_files(cat.paths.dir)
    stop = threading.Event()
    fetcher = Fetcher(cat.paths.dir, opts.download, stop)
    recorder = store.Recorder(connect(cat.paths.catalog))
    profile = opts.profile or cat.paths.root / PROFILE_DIR
    browsers = _BrowserHolder(opts, profile, browser)
    summary = ScrapeSummary(",".join(engines), [])
    tally = _Tally(on_progress, len(specs) * len(engines), opts.limit)
    run = _Run(cat, opts, rules, fetcher, recorder, browsers, tally)
    try:
        for spec in specs:
            served: set[str] = set()
            for asked in engines:
                for qs in _serve(run, spec, asked, router, pacer, served):
                    summary.queries.append(qs)
                    tally.links += qs.links_new
        if summary.queries:
            last = summary.queries[-1]
            tally.links -= last.links_new  # report() adds the query's own links
            tally.report(last, final=True)
    finally:
        stop.set()
        browsers.discard()
        recorder.conn.close()
    store.relink_all(cat.conn)
    return summary


@dataclass
class _Run:
    """What every query of one scrape shares."""

    cat: Catalog
    opts: ScrapeOptions
    rules: dict
    fetcher: Fetcher
    recorder: store.Recorder
    browsers: _BrowserHolder
    tally: _Tally


def _serve(
    run: _Run, spec: QuerySpec, asked: str, router: Router, pacer: Pacer, served: set[str]
) -> list[QuerySummary]:
    """Run one planned search on its engine, or on the fallback once that engine is paused."""
    out: list[QuerySummary] = []
    engine, note = router.pick(asked)
    while engine is not None and engine not in served:
        served.add(engine)
        pacer.wait(engine)
        qs = _run_query(run, spec, engine)
        pacer.done(engine)
        qs.asked, qs.note = asked, note
        out.append(qs)
        if qs.status != "blocked":
            if out[:-1] and qs.status == "done":
                for earlier in out[:-1]:
                    earlier.rescued = True
            break
        router.pause(engine, qs.message)
        log.warning("%s is paused for the rest of the run: %s", engine, qs.message)
        engine, note = router.pick(asked)
    if engine is None and not out:
        out.append(
            QuerySummary(
                spec.label, spec.text, "blocked", note, language=spec.language, engine=asked,
                asked=asked,
            )
        )  # fmt: skip
    return out


def _run_query(run: _Run, spec: QuerySpec, engine: str) -> QuerySummary:
    cat, opts, rules, tally = run.cat, run.opts, run.rules, run.tally
    recorder, browsers = run.recorder, run.browsers
    conn = cat.conn
    qs = QuerySummary(spec.label, spec.text, language=spec.language, engine=engine)
    query_id = store.ensure_query(conn, engine, spec.text, spec.label, spec.language)
    run_id = store.start_run(conn, query_id, opts.origin_for(engine))
    known = store.known_urls(conn, query_id)
    lock = tally.lock

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
            tally.report(qs)

    pool = DownloadPool(run.fetcher, on_done)
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
                tally.report(qs)
        if needs_download:
            pool.submit([hit.url])
        return opts.limit is None or store.result_count(conn, query_id) < opts.limit

    outcome = CrawlOutcome("done", "the limit was already reached")
    try:
        if opts.limit is None or store.result_count(conn, query_id) < opts.limit:
            outcome = _crawl(spec, engine, opts, rules, browsers, on_hit)
        pool.wait()
    except BaseException:
        pool.close(cancel=True)
        store.finish_run(conn, run_id, "interrupted", "interrupted", None)
        raise
    pool.close()
    qs.status, qs.message, qs.layout = outcome.status, outcome.message, outcome.layout
    qs.links_total = store.result_count(conn, query_id)
    store.finish_run(conn, run_id, outcome.status, outcome.message, outcome.layout)
    if outcome.status != "done":
        log.warning("%s: %s (kept the %d links found)", spec.text, outcome.message, qs.links_total)
    return qs


def _crawl(spec: QuerySpec, engine: str, opts, rules, browsers: _BrowserHolder, on_hit):
    try:
        browser = browsers.page()
        crawler = CRAWLERS[engine](browser.driver, rules, opts, opts.origin_for(engine))
        return crawler.crawl(spec.text, on_hit, language=spec.language)
    except WebDriverException as e:
        browsers.discard()  # a fresh browser for the next query
        first = (e.msg or type(e).__name__).strip().splitlines()[0]
        return CrawlOutcome("failed", f"the browser failed: {first}")
