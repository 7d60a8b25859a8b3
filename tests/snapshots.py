"""A dataset's content without row ids or times, for comparing two runs; and a check of its files.

Two runs that did the same work insert rows in other orders (a resumed run, a
parallel one), so every row is keyed by content: images by their sha256, faces
by (image sha256, face index), results by their URL.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from core.storage import TMP_SUFFIX


def catalog_snapshot(dataset_dir: Path) -> dict[str, object]:
    """Every table a stage writes, keyed by content; run bookkeeping (times, runs) left out."""
    conn = sqlite3.connect(f"file:{dataset_dir / 'catalog.sqlite'}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        face_key = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT f.id, i.sha256, f.face_index FROM faces f "
                "JOIN images i ON i.id = f.image_id"
            )
        }
        faces = {}
        for r in conn.execute("SELECT * FROM faces"):
            row = {k: r[k] for k in r.keys() if k not in ("id", "image_id", "created_at")}  # noqa: SIM118
            row["dup_group"] = face_key.get(r["dup_group"])
            faces[face_key[r["id"]]] = row
        event_key = {}
        events = []
        for r in conn.execute("SELECT * FROM label_events ORDER BY id"):
            key = (face_key[r["face_id"]], r["annotator"], r["action"], r["label"], r["reason"])
            event_key[r["id"]] = key
            events.append((*key, event_key.get(r["undoes"])))
        return {
            "labels": [tuple(r) for r in conn.execute("SELECT idx, name FROM labels ORDER BY idx")],
            "queries": set(conn.execute("SELECT engine, text, label FROM queries")),
            "results": set(
                conn.execute(
                    "SELECT q.text, r.url, r.rank, r.is_fallback, r.original_url, "
                    "r.source_page_url, r.title FROM search_results r "
                    "JOIN queries q ON q.id = r.query_id"
                )
            ),
            "downloads": set(conn.execute("SELECT url, status, reason FROM downloads")),
            "images": set(
                conn.execute(
                    "SELECT sha256, path, width, height, format, bytes, extract_status, "
                    "extract_reason FROM images"
                )
            ),
            "sources": set(
                conn.execute(
                    "SELECT i.sha256, s.kind, r.url, s.source_name, s.import_path, s.frame_index, "
                    "s.source_label FROM image_sources s JOIN images i ON i.id = s.image_id "
                    "LEFT JOIN search_results r ON r.id = s.search_result_id"
                )
            ),
            "import_errors": sorted(
                conn.execute("SELECT source_name, import_path, reason FROM import_errors")
            ),
            "faces": faces,
            "label_events": events,
            "face_state": {
                face_key[r[0]]: tuple(r[1:])
                for r in conn.execute(
                    "SELECT face_id, status, label, label_origin, reason FROM face_state"
                )
            },
        }
    finally:
        conn.close()


def assert_files_match_the_catalog(dataset_dir: Path) -> None:
    """Every stored image and chip has its row and the right bytes; nothing else is there."""
    conn = sqlite3.connect(f"file:{dataset_dir / 'catalog.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        images = dict(conn.execute("SELECT path, sha256 FROM images"))
        chips = {r[0] for r in conn.execute("SELECT chip_path FROM faces WHERE chip_path NOT NULL")}
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    for path, sha in images.items():
        assert hashlib.sha256((dataset_dir / path).read_bytes()).hexdigest() == sha, path
    assert stored_files(dataset_dir) == set(images) | chips, (
        "orphan or missing files",
        stored_files(dataset_dir) ^ (set(images) | chips),
    )
    assert not [p for p in dataset_dir.rglob(f"*{TMP_SUFFIX}")], "temporary files left"


def stored_files(dataset_dir: Path) -> set[str]:
    """The relative paths of every file under the dataset's images/ and chips/."""
    return {
        p.relative_to(dataset_dir).as_posix()
        for folder in ("images", "chips")
        for p in (dataset_dir / folder).rglob("*")
        if p.is_file()
    }


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under a folder, by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
