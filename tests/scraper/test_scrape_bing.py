"""Bing Images: the parser on a real saved page, and a crawl through headless Chromium."""

from __future__ import annotations

import html
import json

import pytest

from scraper.bing_parse import parse_tiles
from scraper.stage import scrape
from tests.conftest import SHARED
from tests.scraper.conftest import scrape_options

REAL_PAGE = SHARED / "research" / "serp_pages" / "bing_images_search_ar-SA_2026-02-17.html"


@pytest.mark.skipif(not REAL_PAGE.is_file(), reason="../shared is absent")
def test_parser_recovers_the_35_murls_of_a_real_bing_page():
    text = REAL_PAGE.read_text(encoding="utf-8", errors="replace")
    hits = parse_tiles(text)
    assert len(hits) == 35 and len({h.url for h in hits}) == 35
    assert all(h.url.startswith(("http://", "https://")) for h in hits)
    assert (
        hits[0].url
        == "https://lookaside.fbsbx.com/lookaside/crawler/media/?media_id=100006587641382"
    )
    assert hits[0].thumbnail_url.startswith("https://ts2.mm.bing.net/th?id=")
    assert hits[0].source_page_url == "https://www.facebook.com/Youmene.Mc/"
    assert hits[0].title == "Youmene Mechenane"


def test_parser_unescapes_the_m_json_and_skips_broken_tiles():
    good = {"murl": "https://a.example/x.jpg?a=1&b=2", "turl": "https://t/1", "t": 'say "hi"'}
    page = (
        f'<a class="iusc" m="{html.escape(json.dumps(good))}"></a>'
        '<a class="iusc" m="{not json murl"></a><a class="iusc"></a>'
        f'<a class="iusc" m="{html.escape(json.dumps({"murl": ""}))}"></a>'
    )
    hits = parse_tiles(page)
    assert [(h.url, h.title) for h in hits] == [(good["murl"], 'say "hi"')]


@pytest.mark.browser
def test_bing_crawl_collects_every_murl_until_bing_repeats_itself(
    catalog, make_fake_search, browser
):
    from tests.scraper.fixture_server import FAULTS

    fake_search = make_fake_search(n_good=30)
    summary = scrape(catalog, scrape_options(fake_search, engine="bing"), browser=browser)
    q = summary.queries[0]
    assert q.status == "done" and "repeats" in q.message
    entries = fake_search.fake.entries("happy human face")
    assert len(entries) > 35  # so the async endpoint was needed
    urls = {r[0] for r in catalog.conn.execute("SELECT url FROM search_results")}
    assert urls == {fake_search.base + e.original for e in entries}
    reasons = {
        r["url"].split("?")[0].removeprefix(fake_search.base): (r["status"], r["reason"])
        for r in catalog.conn.execute("SELECT * FROM downloads")
    }
    for path, expected in FAULTS.items():
        assert reasons[path] == expected
    thumbs = catalog.conn.execute(
        "SELECT COUNT(*) FROM search_results WHERE thumbnail_url LIKE "
        "'%tbn:%' AND source_page_url LIKE '%/page/%'"
    ).fetchone()[0]
    assert thumbs == len(entries)


@pytest.mark.browser
def test_bing_falls_back_to_scrolling_when_the_async_url_stops_working(
    catalog, make_fake_search, browser, tmp_path
):
    from scraper.config import load_selectors

    server = make_fake_search(n_good=60, faults=False)
    text = (load_selectors.__globals__["resources"].files("scraper") / "selectors.toml").read_text()
    stale = tmp_path / "selectors.toml"
    stale.write_text(text.replace("{base}/images/async?", "{base}/images/async-2019?"))
    opts = scrape_options(server, engine="bing", selectors_file=stale)
    summary = scrape(catalog, opts, browser=browser)
    q = summary.queries[0]
    assert q.status == "done" and q.message == "no new results after scrolling"
    urls = {r[0] for r in catalog.conn.execute("SELECT url FROM search_results")}
    assert urls == server.fake.originals(server.base, "happy human face")
    assert q.links_total == 60 and q.downloaded == 60
