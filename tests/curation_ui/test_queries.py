"""The grid's queries: filters, sorting, paging and near-duplicate collapsing, in SQL."""

from __future__ import annotations

import pytest

from catalog.images import provenance
from curation_ui.queries import NO_LABEL, FaceFilter, count_faces, face_page


def names(seeded, cards):
    back = {v: k for k, v in seeded.ids.items()}
    return [back[c.id] for c in cards]


def test_filter_by_label_sorted_by_quality(seeded):
    page = face_page(seeded.cat.conn, FaceFilter(label="happy"), 0)
    assert names(seeded, page.cards) == [
        "happy_big",
        "happy_dup_best",
        "happy_dup_worse",
        "happy_blurry",
    ]
    worst = face_page(seeded.cat.conn, FaceFilter(label="happy", sort="quality_asc"), 0)
    assert names(seeded, worst.cards)[0] == "happy_blurry"
    assert page.cards[1].dup_count == 2 and page.cards[0].caption.endswith("happy?")


def test_collapsing_near_duplicates_keeps_the_best_member(seeded):
    conn = seeded.cat.conn
    flt = FaceFilter(label="happy", collapse_duplicates=True)
    assert names(seeded, face_page(conn, flt, 0).cards) == [
        "happy_big",
        "happy_dup_best",
        "happy_blurry",
    ]
    # Once the best member is rejected, the pending view shows the other one.
    from catalog.events import record

    record(conn, seeded.ids["happy_dup_best"], "ann", "reject", reason="duplicate")
    assert "happy_dup_worse" in names(seeded, face_page(conn, flt, 0).cards)


def test_quality_thresholds_and_unlabelled(seeded):
    conn = seeded.cat.conn
    assert count_faces(conn, FaceFilter(statuses=("pending",))) == 10
    big = FaceFilter(min_size=100, min_sharpness=150)
    assert set(names(seeded, face_page(conn, big, 0).cards)) == {
        "happy_big",
        "happy_dup_best",
        "sad_1",
    }
    frontal = FaceFilter(label="sad", max_yaw=15)
    assert set(names(seeded, face_page(conn, frontal, 0).cards)) == {"sad_1", "sad_3"}
    none = FaceFilter(label=NO_LABEL, sort="size")
    assert names(seeded, face_page(conn, none, 0).cards) == ["none_3", "none_2", "none_1"]


def test_paging_is_clamped_and_complete(seeded):
    conn = seeded.cat.conn
    flt = FaceFilter(statuses=("pending", "accepted", "rejected"), sort="oldest")
    pages = [face_page(conn, flt, p, per_page=4) for p in range(3)]
    assert [p.pages for p in pages] == [3, 3, 3]
    seen = [c.id for p in pages for c in p.cards]
    assert seen == sorted(seeded.ids.values())
    assert face_page(conn, flt, 99, per_page=4).page == 2


def test_status_filter_and_sources(seeded):
    from catalog.events import record

    conn = seeded.cat.conn
    record(conn, seeded.ids["sad_1"], "ann", "reject", reason="drawing")
    rejected = face_page(conn, FaceFilter(statuses=("rejected",)), 0)
    assert names(seeded, rejected.cards) == ["sad_1"]
    assert rejected.cards[0].reason == "drawing"
    image_id = face_page(conn, FaceFilter(label="sad"), 0).cards[0].image_id
    assert provenance(conn, image_id)[0].source_label == "sad"
    with pytest.raises(ValueError):
        FaceFilter(statuses=("lost",))


def test_undo_checks_and_the_disputed_queue_use_their_indexes(catalog):
    def plan(sql, params=()):
        rows = catalog.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        return " ".join(r[3] for r in rows)

    assert "label_events_undoes" in plan("SELECT 1 FROM label_events WHERE undoes = ?", (1,))
    assert "face_state_disputed" in plan(
        "SELECT face_id FROM face_state WHERE disputed = 1 AND face_id > ? ORDER BY face_id", (0,)
    )


def test_filter_by_search_query_and_by_import_source(catalog, make_face):
    from catalog.db import utc_now
    from catalog.images import ImageSource

    now = utc_now()
    conn = catalog.conn
    conn.execute(
        "INSERT INTO queries (id, engine, text, label, created_at) "
        "VALUES (1, 'google', 'angry face', 'angry', ?)",
        (now,),
    )
    conn.execute(
        "INSERT INTO search_runs (id, query_id, base_url, started_at) VALUES (1,1,'x',?)", (now,)
    )
    conn.execute(
        "INSERT INTO search_results (id, query_id, run_id, rank, url, found_at) "
        "VALUES (1, 1, 1, 0, 'http://e/1.jpg', ?)",
        (now,),
    )
    scraped = make_face(
        catalog, source=ImageSource("search", search_result_id=1, source_label="angry")
    )
    imported = make_face(catalog, "angry")
    assert [c.id for c in face_page(conn, FaceFilter(query_id=1), 0).cards] == [scraped]
    assert [c.id for c in face_page(conn, FaceFilter(source_name="test"), 0).cards] == [imported]
    assert count_faces(conn, FaceFilter(label="angry")) == 2
