"""Google's page data, hover and preview; ads; every page state; DuckDuckGo (real Chromium)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from scraper.bing import BingCrawler
from scraper.config import load_selectors
from scraper.duckduckgo import DuckDuckGoCrawler
from scraper.google import GoogleCrawler
from scraper.page_state import read_state
from tests.conftest import SHARED
from tests.scraper.conftest import scrape_options

pytestmark = pytest.mark.browser
RULES = load_selectors()
REAL_BING = SHARED / "research" / "serp_pages" / "bing_images_search_ar-SA_2026-02-17.html"


def crawl(crawler, query: str, **kw):
    hits = []
    outcome = crawler.crawl(query, lambda h: hits.append(h) or True, **kw)
    return outcome, hits


def google(browser, server, prefix="", **changes):
    opts = scrape_options(
        server, prefix, **{"idle_timeout": 1.5, "preview_timeout": 1.0, **changes}
    )
    return GoogleCrawler(browser.driver, RULES, opts)


@pytest.mark.parametrize("prefix", ["", "/legacy"])
def test_ads_and_idless_tiles_are_never_results(make_fake_search, browser, prefix):
    # Five ads sit among the first batch (.pla-unit, data-text-ad, a "Sponsored" label,
    # an /aclk link) and each opens a preview to its /ad/ image as a result would; the
    # fifth tile has no result id and no original.
    server = make_fake_search(n_good=6, faults=False, batch=8)
    outcome, hits = crawl(google(browser, server, prefix), "ads")
    assert outcome.status == "done"
    assert not [h.url for h in hits if "/ad/" in h.url or "tbn:ad" in h.url]
    originals = {h.url for h in hits if not h.is_fallback}
    assert originals == server.fake.originals(server.base, "ads")


@pytest.mark.parametrize(("prefix", "layout"), [("", "google-2024"), ("/legacy", "google-2020")])
def test_page_data_first_then_hover_imgres_then_the_preview(
    make_fake_search, browser, prefix, layout
):
    server = make_fake_search(n_good=12, faults=False, batch=8, page_data="some")
    outcome, hits = crawl(google(browser, server, prefix), "mixed")
    assert outcome.layout == layout
    by_url = {h.url: h for h in hits}
    assert {u for u, h in by_url.items() if not h.is_fallback} == server.fake.originals(
        server.base, "mixed"
    )
    entries = server.fake.entries("mixed")
    expected = {}
    for i, e in enumerate(entries):
        if e.no_original:
            expected[f"{server.base}/images?q=tbn:{e.key}-{i}"] = "thumbnail"
        elif i % 3 != 2:
            expected[server.base + e.original] = "page_data"
        else:
            expected[server.base + e.original] = "imgres" if e.imgres else "preview"
    assert {u: h.via for u, h in by_url.items()} == expected
    assert Counter(expected.values())["preview"] >= 1 and Counter(expected.values())["imgres"] >= 1
    # The page's data carries the source page, the title and the size.
    g0 = by_url[f"{server.base}/img/good/0.jpg?q=mixed"]
    assert (g0.source_page_url, g0.title) == (f"{server.base}/page/g0", "photo 0")
    assert (g0.width, g0.height) == (640, 480)
    assert g0.thumbnail_url or g0.thumbnail_data


@pytest.mark.parametrize(
    ("word", "status", "why"),
    [
        ("blocked", "blocked", "/sorry/index"),
        ("captchaform", "blocked", "a captcha (form#captcha-form)"),
        ("unusualtraffic", "blocked", "unusual traffic"),
        ("shortsorry", "blocked", "a short page pointing to /sorry/"),
        ("jsshell", "blocked", "JavaScript-only page"),
        ("noresults", "done", "did not match any image results"),
    ],
)
def test_every_page_state_ends_the_query_as_it_should(fake_search, browser, word, status, why):
    outcome, hits = crawl(google(browser, fake_search, page_timeout=5.0), f"happy {word}")
    assert (outcome.status, hits) == (status, [])
    assert why in outcome.message


@pytest.mark.slow
def test_headful_waits_for_a_person_to_pass_the_captcha(make_fake_search, browser):
    server = make_fake_search(n_good=4, faults=False, batch=8)
    # Headless, the captcha blocks at once; "headful" (the crawler is told so), the
    # crawl waits until the page leaves the captcha, then reads the results.
    outcome, _ = crawl(google(browser, server), "happy passable")
    assert outcome.status == "blocked" and "captcha" in outcome.message
    outcome, hits = crawl(google(browser, server, headful=True, captcha_wait=20), "happy passable")
    assert outcome.status == "done" and len(hits) == 4
    outcome, _ = crawl(google(browser, server, headful=True, captcha_wait=0.5), "happy blocked")
    assert outcome.status == "blocked"


@pytest.mark.parametrize("engine", [BingCrawler, DuckDuckGoCrawler])
def test_headful_bing_and_duckduckgo_wait_for_a_person_too(make_fake_search, browser, engine):
    server = make_fake_search(n_good=4, faults=False)
    opts = scrape_options(server, page_timeout=3.0)
    outcome, _ = crawl(engine(browser.driver, RULES, opts), "happy passable")
    assert outcome.status == "blocked"
    # The challenge page sets its "passed" cookie a second after it loads: start afresh.
    browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    waited = replace(opts, headful=True, captcha_wait=20)
    outcome, hits = crawl(engine(browser.driver, RULES, waited), "happy passable")
    assert outcome.status == "done" and len(hits) == 4, outcome
    browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    short = replace(opts, headful=True, captcha_wait=0.3)
    outcome, _ = crawl(engine(browser.driver, RULES, short), "happy passable")
    assert outcome.status == "blocked"


@pytest.mark.skipif(not REAL_BING.is_file(), reason="../shared is absent")
def test_the_real_bing_page_is_classified_as_results(browser):
    d = browser.driver
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})  # offline
    try:
        d.get(REAL_BING.resolve().as_uri())
        state = read_state(d, RULES["bing"], RULES["bing"]["tiles"])
    finally:
        d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    assert state.kind == "results" and "a.iusc" in state.why


def test_duckduckgo_reads_i_js_in_the_page_session_until_nothing_new(make_fake_search, browser):
    server = make_fake_search(n_good=150, faults=False)
    opts = scrape_options(server)
    outcome, hits = crawl(
        DuckDuckGoCrawler(browser.driver, RULES, opts), "ddg faces", language="es"
    )
    entries = server.fake.entries("ddg faces")
    assert len(entries) > 100  # so a second page was needed
    assert outcome.status == "done" and "no new results" in outcome.message
    assert [h.url for h in hits] == [server.base + e.original for e in entries]
    assert hits[3].source_page_url == f"{server.base}/page/g3" and hits[3].via == "json"
    assert (hits[3].width, hits[3].height, hits[3].title) == (640, 480, "photo 3")
    asked = [p for p, _ in server.fake.request_log if p.endswith("/i.js")]
    assert asked and all("l=es-es" in q for p, q in server.fake.request_log if p.endswith("i.js"))

    outcome, hits = crawl(DuckDuckGoCrawler(browser.driver, RULES, opts), "blocked")
    assert outcome.status == "blocked" and "anomaly-modal" in outcome.message


@pytest.mark.slow
def test_a_profile_keeps_the_consent_answer_between_runs(fake_search, tmp_path):
    from scraper.browser import Browser

    profile = tmp_path / "profile"
    for _ in range(2):
        with Browser(profile=profile) as b:
            outcome, hits = crawl(google(b, fake_search, idle_timeout=0.5), "happy")
            assert outcome.status == "done" and hits
    # The consent page was answered once: the second browser found its cookie on disk.
    assert fake_search.fake.consent_choices == ["reject"]
    assert profile.is_dir() and (profile.stat().st_mode & 0o777) == 0o700
