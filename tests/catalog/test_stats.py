"""Counts over a catalog: the per-emotion summary of `facesift run`, and its table."""

from __future__ import annotations

from catalog.faces import insert_face
from catalog.images import StoredImage
from catalog.report import format_table
from catalog.stats import by_emotion
from catalog.storage import store_content
from scraper import store
from scraper.download import Outcome
from scraper.records import Hit


def _scraped(cat, label: str, outcomes: list[Outcome]) -> None:
    """Record one query's results and their download outcomes, as the scrape stage does."""
    query = store.ensure_query(cat.conn, "google", f"{label} human face", label)
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
