"""The extract stage's reads and writes of ``images``: what is pending, and each image's
outcome (its faces are written by :func:`catalog.faces.insert_face`)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from catalog.db import transaction


@dataclass(frozen=True)
class PendingImage:
    """An image extract has not processed: its id, stored path and face-crop mark."""

    image_id: int
    path: str
    face_crop: bool


def reset_extract_errors(conn: sqlite3.Connection) -> None:
    """Make the images recorded as unreadable pending again (``extract --retry-errors``)."""
    with transaction(conn):
        conn.execute(
            "UPDATE images SET extract_status = NULL, extract_reason = NULL, "
            "extracted_at = NULL WHERE extract_status = 'error'"
        )


def count_pending(conn: sqlite3.Connection) -> int:
    """How many images extract has not processed."""
    return conn.execute("SELECT COUNT(*) FROM images WHERE extract_status IS NULL").fetchone()[0]


def pending_page(conn: sqlite3.Connection, after_id: int, limit: int) -> list[PendingImage]:
    """Up to ``limit`` unprocessed images with ids above ``after_id``, in id order."""
    rows = conn.execute(
        "SELECT id, path, is_face_crop FROM images WHERE extract_status IS NULL AND id > ? "
        "ORDER BY id LIMIT ?",
        (after_id, limit),
    ).fetchall()
    return [PendingImage(r[0], r[1], bool(r[2])) for r in rows]


def awaits_faces(conn: sqlite3.Connection, image_id: int) -> tuple[bool, bool]:
    """(still pending, already has faces) for an image about to get its outcome.

    An image another run has processed meanwhile is not pending; one with faces but no
    status was written by a run that died before its status (never, since the two are
    one transaction; kept as a guard).
    """
    row = conn.execute("SELECT extract_status FROM images WHERE id = ?", (image_id,)).fetchone()
    if row is None or row[0] is not None:
        return False, False
    has = conn.execute("SELECT 1 FROM faces WHERE image_id = ? LIMIT 1", (image_id,)).fetchone()
    return True, has is not None


def set_extract_status(
    conn: sqlite3.Connection, image_id: int, status: str, reason: str | None, at: str
) -> None:
    """Record an image's outcome: 'done', 'no_face' or 'error' with its reason."""
    conn.execute(
        "UPDATE images SET extract_status = ?, extract_reason = ?, extracted_at = ? WHERE id = ?",
        (status, reason, at, image_id),
    )
