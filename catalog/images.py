"""Stored images and their provenance."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from catalog.db import IN_CHUNK, transaction, utc_now
from catalog.events import refresh_image_face_states

SOURCE_KINDS = ("search", "import", "video_frame", "url_list")


@dataclass(frozen=True)
class StoredImage:
    """An image file already written to its content-addressed path."""

    sha256: str
    path: str  # relative to the dataset folder
    width: int
    height: int
    format: str
    bytes: int


@dataclass(frozen=True)
class ImageSource:
    """Where an image came from: a search result, an import path or a video frame."""

    kind: str
    search_result_id: int | None = None
    source_name: str | None = None
    import_path: str | None = None
    frame_index: int | None = None
    frame_time: float | None = None
    source_label: str | None = None
    url: str | None = None  # a URL list's row: the URL it names
    caption: str | None = None  # a URL list's caption column
    subject: str | None = None  # the person shown, where a corpus names them (MMI, CK+, JAFFE)
    source_split: str | None = None  # the corpus's own split (train/test, training/validation)
    frame_how: str | None = None  # how a sequence's frame was chosen: apex:markers, first, ...


def add_image(conn: sqlite3.Connection, img: StoredImage) -> tuple[int, bool]:
    """Record an image by content; return (image id, whether it is new)."""
    with transaction(conn):
        cur = conn.execute(
            "INSERT OR IGNORE INTO images (sha256, path, width, height, format, bytes, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            (img.sha256, img.path, img.width, img.height, img.format, img.bytes, utc_now()),
        )
        if cur.rowcount:
            return cur.lastrowid, True
        return image_id_of(conn, img.sha256), False


def image_id_of(conn: sqlite3.Connection, sha256: str) -> int | None:
    """The id of the stored image with this content, or None."""
    row = conn.execute("SELECT id FROM images WHERE sha256 = ?", (sha256,)).fetchone()
    return row[0] if row else None


def add_source(conn: sqlite3.Connection, image_id: int, src: ImageSource) -> bool:
    """Record one more provenance of an image; return False if it was already known.

    The faces of the image get their source label refreshed.
    """
    if src.kind not in SOURCE_KINDS:
        raise ValueError(f"unknown source kind {src.kind!r}")
    with transaction(conn):
        cur = conn.execute(
            "INSERT OR IGNORE INTO image_sources (image_id, kind, search_result_id, source_name, "
            "import_path, frame_index, frame_time, source_label, added_at, url, caption, "
            "subject, source_split, frame_how) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                image_id,
                src.kind,
                src.search_result_id,
                src.source_name,
                src.import_path,
                src.frame_index,
                src.frame_time,
                src.source_label,
                utc_now(),
                src.url,
                src.caption,
                src.subject,
                src.source_split,
                src.frame_how,
            ),
        )
        if cur.rowcount:
            refresh_image_face_states(conn, image_id)
        return bool(cur.rowcount)


def image_sources(conn: sqlite3.Connection, image_id: int) -> list[ImageSource]:
    """Every provenance of an image, oldest first."""
    rows = conn.execute(
        "SELECT kind, search_result_id, source_name, import_path, frame_index, frame_time, "
        "source_label, url, caption, subject, source_split, frame_how FROM image_sources "
        "WHERE image_id = ? ORDER BY id",
        (image_id,),
    )
    return [ImageSource(*r) for r in rows]


def source_image_ids(conn: sqlite3.Connection, kind: str, source_name: str) -> list[int]:
    """Every image one source (an import, a URL list file) gave, e.g. for marking face crops."""
    rows = conn.execute(
        "SELECT DISTINCT image_id FROM image_sources WHERE kind = ? AND source_name = ?",
        (kind, source_name),
    )
    return [r[0] for r in rows]


def imported_paths(conn: sqlite3.Connection, source_name: str, prefix: str = "") -> dict[str, int]:
    """``import_path`` (``prefix`` removed) -> image id, for one import source's paths under it."""
    out: dict[str, int] = {}
    rows = conn.execute(
        "SELECT import_path, image_id FROM image_sources "
        "WHERE kind = 'import' AND source_name = ? ORDER BY id",
        (source_name,),
    )
    for path, image_id in rows:
        if path and path.startswith(prefix):
            out[path[len(prefix) :]] = image_id
    return out


@dataclass(frozen=True)
class Provenance:
    """One place an image came from, with its search result and query where it has one.

    What the review app's source view and the export's manifest show; ``url`` is a
    search result's original image URL (else the result's URL).
    """

    kind: str
    source_name: str | None = None
    import_path: str | None = None
    source_label: str | None = None
    frame_index: int | None = None
    url: str | None = None
    page: str | None = None
    title: str | None = None
    engine: str | None = None
    query: str | None = None
    query_label: str | None = None
    found_at: str | None = None
    subject: str | None = None
    source_split: str | None = None
    frame_how: str | None = None


def provenance(conn: sqlite3.Connection, image_id: int) -> list[Provenance]:
    """Every provenance of an image, oldest first, with its search result and query."""
    rows = conn.execute(
        "SELECT s.kind, s.source_name, s.import_path, s.source_label, s.frame_index, "
        "COALESCE(NULLIF(r.original_url, ''), r.url), r.source_page_url, r.title, q.engine, "
        "q.text, q.label, r.found_at, s.subject, s.source_split, s.frame_how "
        "FROM image_sources s "
        "LEFT JOIN search_results r ON r.id = s.search_result_id "
        "LEFT JOIN queries q ON q.id = r.query_id "
        "WHERE s.image_id = ? ORDER BY s.id",
        (image_id,),
    )
    return [Provenance(*r) for r in rows]


def mark_face_crops(conn: sqlite3.Connection, image_ids: Iterable[int]) -> int:
    """Mark images as face crops (the whole image is the face); return how many changed.

    Extract then takes each marked image's own rectangle as its face box and fits
    the landmarks in it (detector ``whole``) instead of running a detector. Images
    already extracted keep their faces: run extract again on new ones only.
    """
    changed = 0
    with transaction(conn):
        for image_id in image_ids:
            changed += conn.execute(
                "UPDATE images SET is_face_crop = 1 WHERE id = ? AND is_face_crop = 0",
                (int(image_id),),
            ).rowcount
    return changed


def named_store_paths(conn: sqlite3.Connection, relpaths: Iterable[str]) -> set[str]:
    """The store paths (images' or chips') among ``relpaths`` that a committed row names."""
    rels = list(relpaths)
    named: set[str] = set()
    step = IN_CHUNK // 2  # each path is bound twice
    for k in range(0, len(rels), step):
        chunk = rels[k : k + step]
        marks = ",".join("?" * len(chunk))
        named.update(
            r[0]
            for r in conn.execute(
                f"SELECT path FROM images WHERE path IN ({marks}) "
                f"UNION SELECT chip_path FROM faces WHERE chip_path IN ({marks})",
                [*chunk, *chunk],
            )
        )
    return named
