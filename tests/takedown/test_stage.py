"""facesift takedown: matching, rejects as label events, files deleted, blocklist, dry run."""

from __future__ import annotations

import pytest

from catalog.events import face_events, face_state, record
from catalog.faces import insert_face
from catalog.images import ImageSource, StoredImage, add_image, add_source
from catalog.scrape import add_hit, ensure_query, start_run
from catalog.takedowns import TakedownError, blocked, takedown_counts
from core.storage import store_content, write_atomic
from scraper.records import Hit
from takedown.stage import TakedownOptions, takedown


def scraped(cat, url: str, page: str, content: bytes, *, faces: int = 1, thumb: bytes = b"t"):
    """An image found by a search, downloaded, with faces whose chips and thumbnails exist."""
    qid = ensure_query(cat.conn, "google", "happy face", "happy")
    run = start_run(cat.conn, qid, "http://fake")
    add_hit(cat.conn, qid, run, "happy", Hit(url, source_page_url=page, thumbnail_data=thumb))
    sha, rel = store_content(cat.paths.dir, "images", content, "jpg")
    image_id, _ = add_image(cat.conn, StoredImage(sha, rel, 64, 64, "JPEG", len(content)))
    cat.conn.execute("UPDATE downloads SET status='ok', image_id=? WHERE url=?", (image_id, url))
    rid = cat.conn.execute("SELECT id FROM search_results WHERE url = ?", (url,)).fetchone()[0]
    add_source(
        cat.conn, image_id, ImageSource("search", search_result_id=rid, source_label="happy")
    )
    ids = []
    for i in range(faces):
        chip_sha, chip_rel = store_content(cat.paths.dir, "chips", content + bytes([i]), "png")
        write_atomic(cat.paths.dir / f"thumbs/112/{chip_sha[:2]}/{chip_sha}.jpg", b"thumb")
        ids.append(insert_face(cat.conn, image_id, i, (0, 0, 32, 32), "hog", chip_path=chip_rel))
    return sha, ids


def files(cat) -> set[str]:
    return {p.relative_to(cat.paths.dir).as_posix() for p in cat.paths.dir.rglob("*.*")
            if p.suffix in (".jpg", ".png")}  # fmt: skip


def test_domain_takedown_rejects_deletes_blocks_and_keeps_rows(catalog):
    sha_a, faces_a = scraped(
        catalog, "https://img.example.com/a.jpg", "https://x.org/p", b"a", faces=2
    )
    sha_b, faces_b = scraped(catalog, "https://cdn.other.net/b.jpg", "https://example.com/p", b"b")
    sha_c, faces_c = scraped(catalog, "https://keep.org/c.jpg", "https://keep.org/p", b"c")
    # Three reviewers accepted a face: a takedown still rejects it.
    for who in ("ann", "bob", "cy"):
        record(catalog.conn, faces_a[0], who, "label", label="happy")
    before = files(catalog)

    dry = takedown(catalog, TakedownOptions(domain="Example.COM", dry_run=True))
    assert (sorted(dry.images), dry.faces) == (sorted([sha_a, sha_b]), 3)
    assert "would take down 2 images" in dry.line()
    assert files(catalog) == before
    assert catalog.conn.execute("SELECT COUNT(*) FROM takedowns").fetchone()[0] == 0
    assert not blocked(catalog.conn, url="https://example.com/new.jpg")

    s = takedown(catalog, TakedownOptions(domain="example.com", reason="owner asked", by="lead"))
    assert (len(s.images), s.faces, s.thumbnails_cleared) == (2, 3, 2)
    assert s.files_deleted == 2 + 3 + 3  # images, chips, thumbnails
    for face in faces_a + faces_b:
        st = face_state(catalog.conn, face)
        assert (st.status, st.reason) == ("rejected", "takedown")
        assert face_events(catalog.conn, face)[-1].annotator == f"takedown:{s.takedown_id}"
    assert face_state(catalog.conn, faces_c[0]).status == "pending"
    left = files(catalog)
    assert any(sha_c in p for p in left) and not any(sha_a in p or sha_b in p for p in left)
    rows = catalog.conn.execute("SELECT sha256, taken_down_at FROM images ORDER BY id").fetchall()
    assert [(r[0], r[1] is not None) for r in rows] == [
        (sha_a, True),
        (sha_b, True),
        (sha_c, False),
    ]
    req = catalog.conn.execute("SELECT * FROM takedowns").fetchone()
    assert (req["match_kind"], req["match_value"], req["reason"], req["requested_by"]) == (
        "domain", "example.com", "owner asked", "lead"
    )  # fmt: skip
    assert blocked(catalog.conn, sha256=sha_a) and blocked(catalog.conn, sha256=sha_b)
    assert blocked(catalog.conn, url="http://deep.sub.example.com/z.png")
    assert not blocked(catalog.conn, url="https://notexample.com/z.png")
    assert not blocked(catalog.conn, sha256=sha_c, url="https://keep.org/c.jpg")
    assert takedown_counts(catalog.conn) == {
        "requests": 1, "images": 2, "faces": 3, "blocklist": 3
    }  # fmt: skip
    # Undoing a reviewer's vote or adding votes cannot bring the face back.
    record(catalog.conn, faces_a[0], "dan", "label", label="happy")
    assert face_state(catalog.conn, faces_a[0]).status == "rejected"


@pytest.mark.parametrize("kind", ["url", "page", "image", "face"])
def test_each_selector_takes_down_only_its_image(catalog, kind):
    sha_a, faces_a = scraped(catalog, "http://h.test/a.jpg", "http://h.test/page-a", b"a")
    sha_b, faces_b = scraped(catalog, "http://h.test/b.jpg", "http://h.test/page-b", b"b")
    value = {
        "url": "http://h.test/a.jpg",
        "page": "http://h.test/page-a",
        "image": sha_a.upper(),
        "face": faces_a[0],
    }[kind]
    s = takedown(catalog, TakedownOptions(**{kind: value}))
    assert s.images == [sha_a] and s.faces == 1
    assert face_state(catalog.conn, faces_b[0]).status == "pending"
    assert blocked(catalog.conn, sha256=sha_a) and not blocked(catalog.conn, sha256=sha_b)
    assert blocked(catalog.conn, url="http://h.test/a.jpg") == (kind in ("url", "page"))
    # The same request again finds nothing more to reject.
    assert takedown(catalog, TakedownOptions(**{kind: value})).faces == 0


def test_url_list_provenance_is_matched_by_url(catalog):
    content = b"listed"
    sha, rel = store_content(catalog.paths.dir, "images", content, "jpg")
    image_id, _ = add_image(catalog.conn, StoredImage(sha, rel, 64, 64, "JPEG", len(content)))
    src = ImageSource("url_list", source_name="urls.txt", import_path="urls.txt:3",
                      url="https://u.example/x.jpg")  # fmt: skip
    add_source(catalog.conn, image_id, src)
    assert takedown(catalog, TakedownOptions(url="https://u.example/x.jpg")).images == [sha]
    assert not (catalog.paths.dir / rel).exists()


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (TakedownOptions(), "exactly one"),
        (TakedownOptions(url="http://a/x", domain="a"), "exactly one"),
        (TakedownOptions(image="abc"), "not a sha256"),
        (TakedownOptions(domain="http:///"), "not a domain"),
        (TakedownOptions(face=999), "no face 999"),
    ],
)
def test_bad_requests_are_one_line_errors_and_change_nothing(catalog, opts, message):
    with pytest.raises(TakedownError, match=message):
        takedown(catalog, opts)
    assert catalog.conn.execute("SELECT COUNT(*) FROM takedowns").fetchone()[0] == 0


def test_later_scrapes_never_store_a_blocked_image_again(catalog):
    from catalog.scrape import Recorder
    from scraper.download import Outcome

    sha, _ = scraped(catalog, "http://h.test/a.jpg", "http://h.test/p", b"a")
    takedown(catalog, TakedownOptions(domain="h.test"))
    n_images = catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    # The same bytes under a new URL elsewhere: blocked by hash, the file the fetcher
    # stored is removed again.
    qid = ensure_query(catalog.conn, "bing", "joy", "happy")
    run = start_run(catalog.conn, qid, "http://fake")
    assert add_hit(catalog.conn, qid, run, "happy", Hit("http://else.test/copy.jpg")) == (
        True,
        True,
    )
    rel = store_content(catalog.paths.dir, "images", b"a", "jpg")[1]
    image = StoredImage(sha, rel, 64, 64, "JPEG", 1)
    Recorder(catalog.conn).record(Outcome("http://else.test/copy.jpg", "ok", image=image))
    row = catalog.conn.execute(
        "SELECT status, reason, image_id FROM downloads WHERE url = 'http://else.test/copy.jpg'"
    ).fetchone()
    assert tuple(row) == ("skipped", "taken_down", None)
    assert not (catalog.paths.dir / rel).exists()
    # A new result on the blocked domain is never even queued for download.
    new, needs_download = add_hit(catalog.conn, qid, run, "happy", Hit("http://h.test/new.jpg"))
    assert (new, needs_download) == (True, False)
    assert catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == n_images


def test_exports_leave_taken_down_faces_out_and_the_card_counts_them(catalog, tmp_path):
    from exporter.card import takedowns
    from exporter.options import ExportOptions, plan_labels
    from exporter.select import select_faces

    _, faces_a = scraped(catalog, "http://h.test/a.jpg", "http://h.test/p", b"a", faces=2)
    _, faces_b = scraped(catalog, "http://k.test/b.jpg", "http://k.test/p", b"b")
    for face in faces_a + faces_b:
        record(catalog.conn, face, "ann", "label", label="happy")
    takedown(catalog, TakedownOptions(domain="h.test"))
    opts = ExportOptions(out=tmp_path / "out")
    sel = select_faces(catalog.conn, opts, plan_labels(catalog.labels, None, None))
    assert [f.id for f in sel.faces] == faces_b
    assert sel.left_out["taken down"] == 2

    class Facts:  # the one field the section reads
        left_out = sel.left_out

    lines = takedowns(Facts)  # type: ignore[arg-type]
    assert lines[0] == "## Takedowns" and "2 faces are not in this export" in lines[2]


def test_only_a_takedown_request_makes_a_final_reject(catalog):
    _, (face,) = scraped(catalog, "http://h.test/a.jpg", "http://h.test/p", b"a")
    record(catalog.conn, face, "ann", "reject", reason="takedown")  # a reviewer's own pick
    record(catalog.conn, face, "bob", "label", label="sad")
    record(catalog.conn, face, "cy", "label", label="sad")
    assert face_state(catalog.conn, face).status == "accepted"


def test_a_repeated_takedown_counts_only_newly_taken_down_images(catalog):
    scraped(catalog, "https://img.example.com/a.jpg", "https://x.org/p", b"a")
    first = takedown(catalog, TakedownOptions(domain="example.com"))
    assert first.already_down == 0 and "1 images taken down," in first.line()
    scraped(catalog, "https://img.example.com/b.jpg", "https://x.org/q", b"b")
    again = takedown(catalog, TakedownOptions(domain="example.com"))
    assert again.already_down == 1
    assert "1 images taken down (1 already down)" in again.line()
    third = takedown(catalog, TakedownOptions(domain="example.com"))
    assert "0 images taken down (2 already down)" in third.line()
    assert takedown_counts(catalog.conn)["images"] == 2


def test_the_card_and_stats_never_list_a_takedown_as_an_annotator(catalog):
    from catalog.annotators import decided_counts
    from exporter.card import gather

    _, faces_a = scraped(catalog, "http://h.test/a.jpg", "http://h.test/p", b"a", faces=2)
    _, faces_b = scraped(catalog, "http://k.test/b.jpg", "http://k.test/p", b"b")
    record(catalog.conn, faces_a[0], "ann", "label", label="happy")
    record(catalog.conn, faces_b[0], "ann", "label", label="happy")
    takedown(catalog, TakedownOptions(domain="h.test"))
    assert decided_counts(catalog.conn) == {"ann": 2}
    assert gather(catalog.conn).annotators == [("ann", 2)]
