"""Several engines, the fallback after a block, the pause, the delay (runs in real Chromium)."""

from __future__ import annotations

import random

import pytest

from scraper.engines import EngineError, Pacer, Router, parse_engines, parse_fallback
from scraper.stage import scrape
from tests.scraper.conftest import scrape_options


def test_engine_lists_and_fallbacks_are_checked():
    assert parse_engines(" google, DuckDuckGo,google") == ["google", "duckduckgo"]
    assert parse_fallback("none") is None and parse_fallback("bing") == "bing"
    with pytest.raises(EngineError, match="unknown engine 'yahoo'"):
        parse_engines("google,yahoo")
    with pytest.raises(EngineError, match="--engine is empty"):
        parse_engines(" , ")
    with pytest.raises(EngineError, match="unknown --fallback 'ask'"):
        parse_fallback("ask")


def test_a_paused_engine_is_never_asked_again_and_its_queries_go_to_the_fallback():
    r = Router("bing")
    assert r.pick("google") == ("google", "")
    r.pause("google", "captcha")
    assert r.pick("google") == ("bing", "google paused; served by the fallback bing")
    r.pause("bing", "captcha too")
    engine, why = r.pick("google")
    assert engine is None and "the fallback bing is paused too" in why
    assert Router(None, {"google": "x"}).pick("google") == (None, "google paused; no fallback")


def test_the_delay_spaces_queries_of_one_engine_with_jitter():
    now = [100.0]
    slept: list[float] = []
    pacer = Pacer(2.0, random.Random(1), sleep=slept.append, clock=lambda: now[0])
    assert pacer.wait("google") == 0  # the first query of an engine does not wait
    pacer.done("google")
    assert pacer.wait("bing") == 0  # another engine is not held back
    now[0] += 0.5
    waited = [pacer.wait("google") for _ in range(50)]
    assert all(0.5 <= w <= 2.5 for w in waited) and len({round(w, 3) for w in waited}) > 10
    now[0] += 10
    assert pacer.wait("google") == 0  # the gap has passed already
    assert Pacer(0).wait("google") == 0


@pytest.mark.slow
@pytest.mark.browser
def test_a_block_mid_run_pauses_google_and_the_rest_goes_to_the_fallback(
    catalog, make_fake_search, browser
):
    server = make_fake_search(n_good=5, faults=False, batch=8, google_block_after=1)
    opts = scrape_options(server, emotions="happy,sad,surprise", idle_timeout=1.0)
    summary = scrape(catalog, opts, browser=browser)
    rows = [(q.label, q.engine, q.asked, q.status) for q in summary.queries]
    assert rows == [
        ("happy", "google", "google", "done"),
        ("sad", "google", "google", "blocked"),
        ("sad", "bing", "google", "done"),
        ("surprise", "bing", "google", "done"),
    ]
    # Google was asked once after the block, never again; the run still counts as whole.
    assert [e for e, _ in server.fake.searches].count("google") == 2
    assert summary.ok and summary.queries[1].rescued
    assert "google paused" in summary.queries[3].note and "fallback bing" in summary.queries[3].note
    table = summary.table()
    assert "served by the fallback bing" in table
    assert "per engine: google 2 queries, 5 links (1 blocked); bing 2 queries, 10 links" in table
    assert summary.queries[2].note == "google paused; served by the fallback bing"
    stored = catalog.conn.execute(
        "SELECT q.engine, q.label, q.language, r.status FROM queries q "
        "JOIN search_runs r ON r.query_id = q.id ORDER BY r.id"
    ).fetchall()
    assert [tuple(r) for r in stored] == [
        ("google", "happy", "en", "done"),
        ("google", "sad", "en", "blocked"),
        ("bing", "sad", "en", "done"),
        ("bing", "surprise", "en", "done"),
    ]


@pytest.mark.slow
@pytest.mark.browser
def test_every_query_on_every_engine_with_one_image_per_url_and_content(
    catalog, make_fake_search, browser
):
    server = make_fake_search(n_good=6, faults=False, batch=8)
    opts = scrape_options(server, engine="google,duckduckgo,bing", idle_timeout=1.0)
    summary = scrape(catalog, opts, browser=browser)
    assert [(q.engine, q.status) for q in summary.queries] == [
        ("google", "done"),
        ("duckduckgo", "done"),
        ("bing", "done"),
    ]
    assert summary.ok and summary.engine == "google,duckduckgo,bing"
    # The three engines list the same six photos: each fetched once, stored once, with
    # one provenance per engine's result.
    originals = [p for p, _ in server.fake.downloader_requests if p.startswith("/img/good/")]
    assert sorted(originals) == sorted(f"/img/good/{i}.jpg" for i in range(6))
    assert catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 6
    per_image = catalog.conn.execute(
        "SELECT COUNT(*) FROM image_sources s JOIN search_results r ON r.id = s.search_result_id "
        "WHERE r.url LIKE '%/img/good/%' GROUP BY s.image_id"
    ).fetchall()
    assert [n for (n,) in per_image] == [3] * 6
    via = dict(
        catalog.conn.execute(
            "SELECT q.engine, GROUP_CONCAT(DISTINCT r.via) FROM search_results r "
            "JOIN queries q ON q.id = r.query_id GROUP BY q.engine"
        ).fetchall()
    )
    assert via["duckduckgo"] == "json" and via["bing"] == "page_data"
    assert set(via["google"].split(",")) == {"imgres", "preview"}


@pytest.mark.browser
def test_a_block_mid_query_keeps_its_links_and_the_fallback_finishes_it(
    catalog, make_fake_search, browser
):
    server = make_fake_search(n_good=20, faults=False, batch=8)
    opts = scrape_options(
        server, query="blockmid faces", label="happy", fallback="duckduckgo", idle_timeout=1.0
    )
    summary = scrape(catalog, opts, browser=browser)
    google, ddg = summary.queries
    assert (google.status, google.links_total, google.rescued) == ("blocked", 8, True)
    assert (ddg.engine, ddg.status, ddg.links_total) == ("duckduckgo", "done", 20)
    assert summary.ok
    # The 8 photos Google gave before its sorry page are not fetched again for DuckDuckGo.
    good = [p for p, _ in server.fake.downloader_requests if p.startswith("/img/good/")]
    assert len(good) == len(set(good)) == 20
