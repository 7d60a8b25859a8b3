"""Counts over a catalog: the per-emotion summary of `facesift run`, and its table."""

from __future__ import annotations

import pytest

from catalog import scrape as store
from catalog.faces import insert_face
from catalog.images import StoredImage
from catalog.stats import by_emotion, search_breakdown, summary
from core.report import format_table
from core.storage import store_content
from scraper.download import Outcome
from scraper.records import Hit


def _scraped(
    cat, label: str, outcomes: list[Outcome], text: str = "", engine="google", language="en"
) -> None:
    """Record one query's results and their download outcomes, as the scrape stage does."""
    text = text or f"{label} human face"
    query = store.ensure_query(cat.conn, engine, text, label, language)
    run = store.start_run(cat.conn, query, "http://test")
    recorder = store.Recorder(cat.conn)
    for outcome in outcomes:
        store.add_hit(cat.conn, query, run, label, Hit(outcome.url))
        if outcome.status != "pending":
            recorder.record(outcome)


def _image(cat, name: str) -> StoredImage:
    sha, rel = store_content(cat.paths.dir, "images", name.encode(), "jpg")
    return StoredImage(sha, rel, 64, 64, "JPEG", len(name))


def test_by_emotion_counts_links_images_faces_and_failure_reasons(catalog):
    two_faces, no_face, unreadable = (_image(catalog, n) for n in ("a", "b", "c"))
    _scraped(
        catalog,
        "happy",
        [
            Outcome("http://x/1.jpg", "ok", image=two_faces),
            Outcome("http://x/2.jpg", "ok", image=no_face),
            Outcome("http://x/3.jpg", "ok", image=unreadable),
            Outcome("http://x/4.jpg", "failed", "http_404"),
            Outcome("http://x/5.jpg", "failed", "http_404"),
            Outcome("http://x/6.jpg", "skipped", "opted_out"),
            Outcome("http://x/7.jpg", "pending"),
        ],
    )
    # The same URL found by another emotion's query: one image, counted for both.
    _scraped(catalog, "sad", [Outcome("http://x/1.jpg", "ok", image=two_faces)])
    ids = dict(catalog.conn.execute("SELECT sha256, id FROM images"))
    for index in range(2):
        insert_face(catalog.conn, ids[two_faces.sha256], index, (0, 0, 9, 9), "hog", phash="0" * 16)
    catalog.conn.execute("UPDATE faces SET dup_group = (SELECT MIN(id) FROM faces)")
    catalog.conn.execute(
        "UPDATE images SET extract_status = 'no_face' WHERE id = ?", (ids[no_face.sha256],)
    )
    catalog.conn.execute(
        "UPDATE images SET extract_status = 'error', extract_reason = 'truncated: image file is "
        "truncated' WHERE id = ?",
        (ids[unreadable.sha256],),
    )

    counts = {c.label: c for c in by_emotion(catalog)}
    happy, sad, angry = counts["happy"], counts["sad"], counts["angry"]
    assert (happy.links, happy.images, happy.faces, happy.near_duplicates, happy.no_face) == (
        7, 3, 2, 2, 1,
    )  # fmt: skip
    assert happy.failures == {"http_404": 2, "opted_out": 1, "truncated": 1}
    assert (sad.links, sad.images, sad.faces, sad.no_face, sad.failures) == (1, 1, 2, 0, {})
    assert (angry.links, angry.images, angry.faces) == (0, 0, 0)
    assert list(counts) == list(catalog.labels.names)
    assert [c.label for c in by_emotion(catalog, ["sad", "happy"])] == ["sad", "happy"]


def test_format_table_aligns_columns_and_leaves_the_last_free():
    text = format_table(("name", "n", "note"), [("happy", "12", "ok"), ("sad", "7", "a b")], True)
    assert text.splitlines() == ["name    n  note", "happy  12  ok", "sad     7  a b"]


def test_stats_break_the_search_down_by_language_and_engine(catalog):
    shared, german, spanish = (_image(catalog, n) for n in ("a", "b", "c"))
    _scraped(
        catalog,
        "happy",
        [
            Outcome("http://x/1.jpg", "ok", image=shared),
            Outcome("http://x/2.jpg", "failed", "http_404"),
        ],
    )
    _scraped(
        catalog,
        "happy",
        [
            Outcome("http://x/1.jpg", "ok", image=shared),
            Outcome("http://x/3.jpg", "ok", image=german),
        ],
        text="glückliches Gesicht",
        language="de",
    )
    _scraped(
        catalog,
        "sad",
        [Outcome("http://x/4.jpg", "ok", image=spanish)],
        "cara triste",
        "bing",
        "es",
    )
    _scraped(catalog, "angry", [], "wütendes Gesicht", language="de")  # a query that found nothing
    ids = dict(catalog.conn.execute("SELECT sha256, id FROM images"))
    for image, faces in ((shared, 2), (german, 1), (spanish, 0)):
        for index in range(faces):
            insert_face(catalog.conn, ids[image.sha256], index, (0, 0, 9, 9), "hog")
    by_language = search_breakdown(catalog.conn, "language")
    assert by_language == {
        "de": {"queries": 2, "results": 2, "images": 2, "faces": 3},  # the shared image too
        "en": {"queries": 1, "results": 2, "images": 1, "faces": 2},
        "es": {"queries": 1, "results": 1, "images": 1, "faces": 0},
    }
    assert search_breakdown(catalog.conn, "engine") == {
        "bing": {"queries": 1, "results": 1, "images": 1, "faces": 0},
        "google": {"queries": 3, "results": 4, "images": 2, "faces": 3},
    }
    stats = summary(catalog)
    assert stats["by_language"] == by_language and set(stats["by_engine"]) == {"bing", "google"}
    with pytest.raises(ValueError):
        search_breakdown(catalog.conn, "text; DROP TABLE queries")
