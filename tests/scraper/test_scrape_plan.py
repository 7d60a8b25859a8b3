"""Pure parts of scraping at scale: query expansion, page states, Google's page data, DuckDuckGo."""

from __future__ import annotations

import json
import tomllib
from importlib import resources

import pytest

from scraper.config import load_selectors
from scraper.duckduckgo import find_token, parse_results
from scraper.google_data import parse_scripts
from scraper.page_state import classify
from scraper.queries import (
    QueryPlanError,
    expand,
    parse_languages,
    plan_searches,
    plan_sizes,
)

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


@pytest.fixture(scope="module")
def table() -> dict:
    return tomllib.loads(resources.files("scraper").joinpath("queries.toml").read_text())


def test_expand_none_is_the_seven_seed_queries_in_english(table):
    specs = expand(table, LABELS, "none")
    assert [(s.label, s.text, s.language) for s in specs][:2] == [
        ("angry", "angry human face", "en"),
        ("disgust", "disgusted human face", "en"),
    ]
    assert len(specs) == 7 and {s.language for s in specs} == {"en"}
    assert expand(table, ["smile"], "none")[0].text == "smile human face"


def test_expand_full_gives_every_emotion_50_queries_in_8_languages(table):
    for label in LABELS:
        specs = expand(table, [label], "full")
        assert len(specs) >= 50 and len({s.language for s in specs}) >= 8, label
        assert {s.label for s in specs} == {label}
    happy = [s.text for s in expand(table, ["happy"], "full")]
    assert {"happy face", "smiling woman", "laughing close-up", "hombre feliz"} <= set(happy)
    assert "开心的脸" in happy and "وجه سعيد" in happy


def test_synonyms_are_every_term_once_and_languages_narrow(table):
    specs = expand(table, ["sad"], "synonyms", ["en", "es"])
    assert [s.text for s in specs] == [
        "sad face", "crying face", "unhappy face", "sorrowful face", "depressed face",
        "tearful face", "rostro triste", "rostro llorando",
    ]  # fmt: skip
    assert plan_sizes(specs) == {"sad": {"en": 6, "es": 2}}


def test_the_plan_deduplicates_texts_across_languages_and_labels(table):
    specs = expand(table, LABELS, "full")
    keys = [" ".join(s.text.casefold().split()) for s in specs]
    assert len(keys) == len(set(keys))
    # "adolescente feliz" is Spanish and Portuguese: searched once, for the first language.
    both = [s for s in specs if s.text == "adolescente feliz"]
    assert [(s.language, s.label) for s in both] == [("es", "happy")]


def test_plan_lines_are_label_language_engine_query(table):
    specs = expand(table, ["fear"], "synonyms", ["en"])[:2]
    lines = [p.line() for p in plan_searches(specs, ["google", "duckduckgo"])]
    assert lines == [
        "fear\ten\tgoogle\tscared face",
        "fear\ten\tduckduckgo\tscared face",
        "fear\ten\tgoogle\tafraid face",
        "fear\ten\tduckduckgo\tafraid face",
    ]


def test_bad_languages_and_modes_are_one_line_errors(table):
    assert parse_languages("all", table) is None and parse_languages(None, table) is None
    assert parse_languages(" es, EN ,es", table) == ["es", "en"]
    with pytest.raises(QueryPlanError, match=r"'xx' is not in queries\.toml"):
        parse_languages("en,xx", table)
    with pytest.raises(QueryPlanError, match="--languages is empty"):
        parse_languages(" , ", table)
    with pytest.raises(QueryPlanError, match="--expand 'more'"):
        expand(table, ["happy"], "more")


# --- page states ---------------------------------------------------------------------

GOOGLE = load_selectors()["google"]["states"]


def snap(url="https://www.google.com/search?q=x&udm=2", **kw) -> dict:
    base = {"url": url, "short_html": "", "text": "", "noscripts": [], "ready": True}
    base["matched"] = {"captcha": None, "consent": None, "results": None, **kw.pop("matched", {})}
    return {**base, **kw}


@pytest.mark.parametrize(
    ("snapshot", "kind", "why"),
    [
        (snap("https://sorry.google.com/index?continue=x"), "blocked", "went to"),
        (snap("https://www.google.com/sorry/index?q=1"), "blocked", "went to"),
        (snap(short_html="<html><a href='/sorry/index'>here</a></html>"), "blocked", "/sorry/"),
        (snap(matched={"captcha": "form#captcha-form"}), "blocked", "captcha"),
        (snap(text="Our systems have detected UNUSUAL TRAFFIC"), "blocked", "unusual traffic"),
        (snap(matched={"consent": "button#W0wltc"}), "consent", "W0wltc"),
        (snap(matched={"results": "div.isv-r[data-ri]"}, text="x" * 5000), "results", "isv-r"),
        (snap(text="Your search - x - did not match any image results."), "no_results", "match"),
        (
            snap(noscripts=['<meta content="0;url=/httpservice/retry/enablejs?sei=a">']),
            "js_shell",
            "enablejs",
        ),
    ],
)
def test_each_google_page_state_is_told_apart(snapshot, kind, why):
    state = classify(snapshot, GOOGLE)
    assert state.kind == kind and why in state.why
    assert state.stops_engine == (kind in ("blocked", "js_shell"))


def test_undecided_pages_wait_and_results_beat_the_shells_noscript():
    shell = ['<meta content="0;url=/httpservice/retry/enablejs?sei=a">']
    assert classify(snap(), GOOGLE) is None  # loading: nothing to go on yet
    assert classify(snap(noscripts=shell, ready=False), GOOGLE) is None
    assert classify(snap(noscripts=shell, text="Images " * 200), GOOGLE) is None
    state = classify(snap(noscripts=shell, matched={"results": "div.x"}), GOOGLE)
    assert state.kind == "results"
    # A long page that mentions /sorry/ is not a redirect to the sorry page.
    assert classify(snap(short_html=""), GOOGLE) is None


# --- Google's page data ----------------------------------------------------------------

PATTERNS = load_selectors()["google"]["page_data"]
THUMBS = load_selectors()["google"]["thumbnails"]


def google_script(*rows: list) -> str:
    text = ",".join(json.dumps(r, separators=(",", ":")) for r in rows)
    text = text.replace("=", "\\u003d").replace("&", "\\u0026")
    return f"AF_initDataCallback({{key: 'ds:1', data:[null,[{text}]]}});"


def test_page_data_gives_original_size_page_and_title_by_docid():
    row = [
        1, "AbCdEf123", ["https://encrypted-tbn0.gstatic.com/images?q=tbn:ANd9", 168, 300],
        ["https://cdn.example/a.jpg?w=1&h=2", 1080, 1920], None, 0, "rgb(1,2,3)", None, False,
        {"2003": [None, "RefDoc99", "https://news.example/story", 'A "happy" face', None]},
    ]  # fmt: skip
    no_original = [2, "OnlyThumb1", ["https://encrypted-tbn1.gstatic.com/images?q=tbn:x", 1, 1]]
    found = parse_scripts([google_script(row, no_original)], PATTERNS, THUMBS)
    r = found["AbCdEf123"]
    assert r.original == "https://cdn.example/a.jpg?w=1&h=2"
    assert (r.width, r.height) == (1920, 1080)
    assert r.thumbnail.startswith("https://encrypted-tbn0.gstatic.com/")
    assert (r.page, r.title, r.ref_docid) == (
        "https://news.example/story",
        'A "happy" face',
        "RefDoc99",
    )
    assert found["RefDoc99"] is r and found["https://news.example/story"] is r
    assert "OnlyThumb1" not in found


# --- DuckDuckGo ------------------------------------------------------------------------


def test_duckduckgo_token_and_results():
    patterns = load_selectors()["duckduckgo"]["vqd_patterns"]
    assert find_token("<script>vqd='4-3141592653'</script>", patterns) == "4-3141592653"
    assert find_token("x&vqd=4-27182818&p=1", patterns) == "4-27182818"
    assert find_token("<html>no token</html>", patterns) is None
    payload = json.dumps(
        {
            "results": [
                {"image": "https://a.example/1.jpg", "thumbnail": "https://tse.example/t1",
                 "url": "https://a.example/page", "title": "one", "width": 800, "height": "600",
                 "source": "Bing"},
                {"image": "javascript:alert(1)"},
                {"thumbnail": "https://tse.example/t2"},
            ]
        }
    )  # fmt: skip
    hits = parse_results(payload)
    assert [(h.url, h.source_page_url, h.width, h.height, h.via) for h in hits] == [
        ("https://a.example/1.jpg", "https://a.example/page", 800, 600, "json")
    ]
    with pytest.raises(ValueError):
        parse_results("<html>not json</html>")


def test_the_card_counts_queries_and_results_per_language_and_engine(catalog):
    from types import SimpleNamespace

    from catalog import scrape as store
    from exporter.card import gather, search_languages
    from scraper.records import Hit

    conn = catalog.conn
    for engine, text, lang, n in [
        ("google", "happy face", "en", 3),
        ("bing", "happy face", "en", 1),
        ("google", "rostro feliz", "es", 2),
        ("google", "开心的脸", "zh", 0),
    ]:
        qid = store.ensure_query(conn, engine, text, "happy", lang)
        run = store.start_run(conn, qid, "http://x")
        for i in range(n):
            store.add_hit(conn, qid, run, "happy", Hit(f"http://x/{engine}/{text}/{i}.jpg"))
    lines = search_languages(SimpleNamespace(curation=gather(conn)))
    assert lines[2] == "4 queries in 3 languages (en, es, zh):"
    assert "| en | bing | 1 | 1 |" in lines and "| en | google | 1 | 3 |" in lines
    assert "| es | google | 1 | 2 |" in lines and "| zh | google | 1 | 0 |" in lines
    assert (
        search_languages(SimpleNamespace(curation=SimpleNamespace(searches_by_language=[]))) == []
    )
