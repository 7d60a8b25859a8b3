"""Queries and selectors as data, option checks, hits from page data, the summary table."""

from __future__ import annotations

import base64
import email.utils
import time

import pytest

from catalog import LabelSet
from scraper.config import ScrapeError, ScrapeOptions, load_selectors, plan_queries
from scraper.crawl_common import hit_from_page
from scraper.download import _retry_after
from scraper.stage import QuerySummary, ScrapeSummary


def test_all_emotions_use_the_default_queries_in_label_order():
    specs = plan_queries(ScrapeOptions(), LabelSet.default())
    assert [(s.label, s.text) for s in specs] == [
        ("angry", "angry human face"),
        ("disgust", "disgusted human face"),
        ("fear", "fearful human face"),
        ("happy", "happy human face"),
        ("sad", "sad human face"),
        ("surprise", "surprised human face"),
        ("neutral", "neutral human face"),
    ]


def test_a_label_without_a_default_query_gets_label_human_face():
    specs = plan_queries(ScrapeOptions(emotions="smile"), LabelSet(("smile", "frown")))
    assert [(s.label, s.text) for s in specs] == [("smile", "smile human face")]


def test_emotions_accept_aliases_and_drop_repeats():
    specs = plan_queries(ScrapeOptions(emotions="disgusted, happy,joy"), LabelSet.default())
    assert [s.label for s in specs] == ["disgust", "happy"]


def test_query_with_label():
    specs = plan_queries(ScrapeOptions(query=" kids laughing ", label="joy"), LabelSet.default())
    assert [(s.label, s.text) for s in specs] == [("happy", "kids laughing")]


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (ScrapeOptions(query="x"), "--query needs --label"),
        (ScrapeOptions(label="happy"), "--query needs --label"),
        (ScrapeOptions(emotions="bored"), "'bored' is not a label"),
        (ScrapeOptions(emotions=" , "), "--emotions is empty"),
        (ScrapeOptions(engine="yahoo"), "unknown engine"),
        (ScrapeOptions(engine="google,yahoo"), "unknown engine 'yahoo'"),
        (ScrapeOptions(fallback="ask"), "unknown --fallback 'ask'"),
        (ScrapeOptions(expand="full", languages="en,xx"), "'xx' is not in queries"),
    ],
)
def test_bad_options_are_scrape_errors(opts, message):
    with pytest.raises(ScrapeError, match=message):
        plan_queries(opts, LabelSet.default())


def test_selectors_are_data_with_candidates_per_role():
    rules = load_selectors()
    names = [layout["name"] for layout in rules["google"]["layouts"]]
    assert names == ["google-2024", "google-2020"]
    for layout in rules["google"]["layouts"]:
        assert layout["tiles"] and layout["preview"] and layout["click"]
    modern = rules["google"]["layouts"][0]
    assert modern["preview"][:2] == ["div[jsname='figiqf'] img", "img[jsname='kn3ccd']"]
    assert rules["google"]["consent_buttons"][:2] == ["button#W0wltc", "button#L2AGLb"]
    assert "a.iusc" in rules["bing"]["tiles"]


def test_a_broken_selectors_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "selectors.toml"
    bad.write_text("[google\n")
    with pytest.raises(ScrapeError, match="cannot read"):
        load_selectors(bad)


def test_hit_keeps_the_original_and_falls_back_to_the_thumbnail():
    thumb = "data:image/jpeg;base64," + base64.b64encode(b"jpeg bytes").decode()
    hit = hit_from_page({"original": "https://x/a.jpg", "thumb": thumb, "title": "t", "w": 640})
    assert (hit.url, hit.is_fallback, hit.thumbnail_data, hit.width) == (
        "https://x/a.jpg",
        False,
        b"jpeg bytes",
        640,
    )
    assert hit.via == "preview"
    tbn = "https://encrypted-tbn0.gstatic.com/i?q=tbn:1"
    hit = hit_from_page({"original": None, "thumb": tbn, "result_id": "abc123"})
    assert hit.is_fallback and hit.url == hit.thumbnail_url and hit.via == "thumbnail"
    # Without a result id the tile is furniture or an ad: no thumbnail stands in for it.
    assert hit_from_page({"original": None, "thumb": tbn}) is None
    assert hit_from_page({"original": None, "thumb": None, "result_id": "abc123"}) is None


def test_retry_after_in_seconds_or_as_a_date_is_capped():
    assert _retry_after("3", 60) == 3
    assert _retry_after("600", 60) == 60
    soon = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8 <= _retry_after(soon, 60) <= 10
    assert _retry_after("soon", 60) is None and _retry_after(None, 60) is None


def test_summary_table_has_a_row_per_query_and_the_reasons():
    q1 = QuerySummary("happy", "happy human face", "done", "reached the end", None, 5, 9, 7)
    q1.failed, q1.reasons = 2, {"http_404": 1, "timeout": 1}
    q2 = QuerySummary("sad", "sad human face", "blocked", "Google blocked the search")
    s = ScrapeSummary("google", [q1, q2])
    lines = s.table().splitlines()
    assert lines[0].split()[:3] == ["label", "links", "new"]
    assert lines[1].split()[:6] == ["happy", "9", "5", "7", "2", "0"]
    assert "blocked: 'sad human face': Google blocked the search" in lines[2]
    assert lines[3] == "failure reasons: http_404 1, timeout 1"
    assert lines[4] == "per language: en 2 queries, 9 links (1 blocked)"
    assert not s.ok
