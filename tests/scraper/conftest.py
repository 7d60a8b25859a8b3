"""Fixtures of the scrape tests: the fake search server, test download options, a browser."""

from __future__ import annotations

import pytest

from scraper.config import DownloadOptions

# Small limits so that every fault is reached quickly: 1 MB bodies, 1 s reads (long
# enough for a loaded CI machine, far below the slow endpoint's 4 s stall).
TEST_DOWNLOADS = DownloadOptions(
    concurrency=8,
    per_host=8,
    connect_timeout=2.0,
    read_timeout=1.0,
    total_timeout=3.0,
    retries=2,
    backoff=0.05,
    max_retry_after=2.0,
    max_bytes=1_000_000,
    max_redirects=4,
    allow_private_hosts=True,
)


@pytest.fixture(scope="module")
def module_browser():
    """One headless Chromium per test module (each start costs seconds)."""
    from scraper.browser import Browser

    b = Browser()
    yield b
    b.quit()


@pytest.fixture
def browser(module_browser):
    """The module's browser with no cookies, so each test meets the consent page afresh."""
    module_browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    return module_browser


def scrape_options(server, prefix: str = "", **changes):
    """Scrape options for the fake server: short waits, the test download limits."""
    from scraper.config import ScrapeOptions

    settings = {
        "emotions": "happy",
        "base_url": server.base + prefix,
        "download": TEST_DOWNLOADS,
        "idle_timeout": 2.5,
        "preview_timeout": 2.0,
        "delay": 0.0,
    }
    settings.update(changes)
    return ScrapeOptions(**settings)


def check_results_and_downloads(cat, server, query: str, *, fallback: bool = True) -> None:
    """The crawl kept every original (and only those), each download has its outcome."""
    from urllib.parse import quote_plus

    from tests.scraper.fixture_server import FAULTS

    base, fake = server.base, server.fake
    rows = cat.conn.execute("SELECT * FROM search_results").fetchall()
    originals = {r["url"] for r in rows if not r["is_fallback"]}
    assert originals == fake.originals(base, query)
    assert not any("/ad/" in r["url"] or "related" in r["url"] for r in rows)
    fallbacks = [r for r in rows if r["is_fallback"]]
    if fallback:
        assert [r["url"] for r in fallbacks] == [f"{base}/images?q=tbn:nooriginal-{len(rows) - 1}"]
        assert fallbacks[0]["thumbnail_url"] == fallbacks[0]["url"]
    downloads = {r["url"]: r for r in cat.conn.execute("SELECT * FROM downloads")}
    tag = quote_plus(query)[:40]
    for path, (status, reason) in FAULTS.items():
        row = downloads[f"{base}{path}?q={tag}"]
        assert (row["status"], row["reason"]) == (status, reason), path
    good = [u for u in downloads if "/img/good/" in u]
    assert len(good) == fake.n_good and all(downloads[u]["status"] == "ok" for u in good)
    page = {r["url"]: r for r in rows}
    assert page[f"{base}/img/good/1.jpg?q={tag}"]["source_page_url"] == f"{base}/page/g1"
    assert page[f"{base}/img/good/1.jpg?q={tag}"]["title"] == "photo 1"
    # Thumbnails: the bytes of an inline data: URI, else the thumbnail's URL.
    inline, linked = page[f"{base}/img/good/0.jpg?q={tag}"], page[f"{base}/img/good/9.jpg?q={tag}"]
    assert inline["thumbnail_data"][:2] == b"\xff\xd8" and inline["thumbnail_url"] is None
    assert "tbn:" in linked["thumbnail_url"] and linked["thumbnail_data"] is None
    # An /imgres link gives the page and the reported size too.
    imgres = page[f"{base}/img/good/2.jpg?q={tag}"]
    assert (imgres["reported_width"], imgres["reported_height"]) == (640, 480)
    assert imgres["source_page_url"] == f"{base}/page/g2"
    # Exactly the good images are stored, each with the query's label as its source label.
    n_ok = sum(1 for r in downloads.values() if r["status"] == "ok")
    assert cat.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == n_ok
    assert n_ok == fake.n_good + 6 + (1 if fallback else 0)
    unlabelled = cat.conn.execute(
        "SELECT COUNT(*) FROM images i WHERE NOT EXISTS (SELECT 1 FROM image_sources s "
        "WHERE s.image_id = i.id AND s.source_label = 'happy')"
    ).fetchone()[0]
    assert unlabelled == 0
