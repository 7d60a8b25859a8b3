"""Google Images, both layouts, through real headless Chromium against the fake engine."""

from __future__ import annotations

import logging

import pytest

from scraper.stage import scrape
from tests.scraper.conftest import check_results_and_downloads, scrape_options

pytestmark = pytest.mark.browser
QUERY = "happy human face"


@pytest.mark.parametrize(
    ("prefix", "layout", "consent"),
    [("", "google-2024", "consent page"), ("/legacy", "google-2020", "consent dialog")],
)
@pytest.mark.slow
def test_crawl_collects_every_original_and_downloads_keep_the_good_images(
    catalog, make_fake_search, browser, prefix, layout, consent, caplog
):
    caplog.set_level(logging.INFO, logger="facesift.scraper")
    server = make_fake_search(batch=8)
    summary = scrape(catalog, scrape_options(server, prefix), browser=browser)
    # The log says which selector candidate matched each role.
    tiles = {"google-2024": "div[jsname='dTDiAc']", "google-2020": "div.isv-r[data-ri]"}[layout]
    assert f"layout {layout}: tiles matched {tiles!r}" in caplog.messages
    assert "consent: pressed 'button#W0wltc'" in caplog.messages
    assert server.fake.consent_choices == ["reject"], consent
    check_results_and_downloads(catalog, server, QUERY)
    run = catalog.conn.execute("SELECT * FROM search_runs").fetchone()
    assert (run["status"], run["layout"]) == ("done", layout)
    if layout == "google-2020":  # "Show more results" was pressed, then the end text seen
        assert run["message"] == "reached the end of the results"
    q = summary.queries[0]
    assert summary.ok and q.links_total == len(server.fake.entries(QUERY))
    assert q.reasons["http_404"] == 1 and q.skipped == 1
    table = summary.table()
    assert "happy" in table and "too_large 1" in table

    # A rerun collects nothing twice and downloads nothing again.
    before = len(server.fake.downloader_requests)
    again = scrape(catalog, scrape_options(server, prefix), browser=browser)
    assert again.queries[0].links_new == 0
    assert len(server.fake.downloader_requests) == before
    assert catalog.conn.execute("SELECT COUNT(*) FROM search_runs").fetchone()[0] == 2


def test_limit_stops_the_crawl(catalog, make_fake_search, browser):
    server = make_fake_search(batch=8, faults=False, n_good=20)
    scrape(catalog, scrape_options(server, limit=5), browser=browser)
    urls = [r[0] for r in catalog.conn.execute("SELECT url FROM search_results ORDER BY rank")]
    tag = "happy+human+face"
    assert urls == [f"{server.base}/img/good/{i}.jpg?q={tag}" for i in range(5)]
    assert catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 5


def test_blocking_stops_the_query_and_keeps_what_was_collected(catalog, make_fake_search, browser):
    server = make_fake_search(batch=8, faults=False, n_good=30)
    opts = scrape_options(server, query="blockmid faces", label="happy", fallback="none")
    summary = scrape(catalog, opts, browser=browser)
    q = summary.queries[0]
    assert not summary.ok and q.status == "blocked"
    assert "unusual traffic" in q.message or "/sorry/" in q.message
    # The first batch was collected and downloaded before Google sent us to its sorry page.
    assert q.links_total == 8 and q.downloaded == 8
    run = catalog.conn.execute("SELECT status, message FROM search_runs").fetchone()
    assert run["status"] == "blocked" and run["message"] == q.message

    opts = scrape_options(server, query="blocked", label="sad", fallback="none")
    blocked = scrape(catalog, opts, browser=browser)
    assert blocked.queries[0].status == "blocked" and blocked.queries[0].links_total == 0


def test_an_unreachable_engine_and_a_layout_change_fail_with_clear_messages(
    catalog, fake_search, browser, tmp_path
):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    summary = scrape(catalog, scrape_options(fake_search, base_url=closed), browser=browser)
    assert summary.queries[0].status == "failed"
    assert "could not load the results page" in summary.queries[0].message

    # Google changed its tiles: the page loads but no selector matches until the file is patched.
    from scraper.config import load_selectors

    text = (load_selectors.__globals__["resources"].files("scraper") / "selectors.toml").read_text()
    changed = tmp_path / "selectors.toml"
    changed.write_text(text.replace("\"div[jsname='dTDiAc']\"", '"div.tile-2027"'))
    opts = scrape_options(fake_search, selectors_file=changed, page_timeout=2.0, emotions="sad")
    summary = scrape(catalog, opts, browser=browser)
    assert summary.queries[0].status == "failed"
    assert "scraper/selectors.toml" in summary.queries[0].message


@pytest.mark.slow
def test_ctrl_c_mid_run_keeps_everything_stored_and_a_rerun_finishes(
    catalog, make_fake_search, browser, monkeypatch
):
    from catalog import scrape as store

    server = make_fake_search(batch=8, faults=False, n_good=12, image_delay_s=0.3)
    real_add_hit = store.add_hit
    calls = []

    def interrupted_add_hit(*args):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return real_add_hit(*args)

    monkeypatch.setattr(store, "add_hit", interrupted_add_hit)
    with pytest.raises(KeyboardInterrupt):
        scrape(catalog, scrape_options(server), browser=browser)
    run = catalog.conn.execute("SELECT status FROM search_runs").fetchone()
    assert run["status"] == "interrupted"
    counts = dict(catalog.conn.execute("SELECT status, COUNT(*) FROM downloads GROUP BY status"))
    assert sum(counts.values()) == 5 and counts.get("pending", 0) > 0  # cut short mid-download
    assert not list(catalog.paths.dir.rglob("*.facesift-tmp"))

    monkeypatch.setattr(store, "add_hit", real_add_hit)
    summary = scrape(catalog, scrape_options(server), browser=browser)
    assert summary.ok and summary.queries[0].links_total == 12
    counts = dict(catalog.conn.execute("SELECT status, COUNT(*) FROM downloads GROUP BY status"))
    assert counts == {"ok": 12}
    assert catalog.conn.execute("SELECT COUNT(*) FROM image_sources").fetchone()[0] == 12


def test_a_tile_that_names_no_result_waits_briefly_for_its_preview():
    from scraper.config import load_selectors
    from scraper.google import preview_wait_ms

    rules = load_selectors()["google"]
    short = rules["preview"]["idless_ms"]
    assert 0 < short < 4000
    assert preview_wait_ms({"result_id": "r1", "docid": None}, 4.0, rules) == 4000
    assert preview_wait_ms({"result_id": None, "docid": "d1"}, 4.0, rules) == 4000
    assert preview_wait_ms({"result_id": None, "docid": None}, 4.0, rules) == short
    assert preview_wait_ms({"result_id": None, "docid": None}, 0.5, rules) == 500
    assert preview_wait_ms({"result_id": None, "docid": None}, 4.0, {}) == 4000
