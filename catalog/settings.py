"""A dataset's settings kept in its catalog (the ``meta`` table): one value per key."""

from __future__ import annotations

import sqlite3

from core.errors import FacesiftError

LABELS_PER_FACE = "labels_per_face"
MAX_LABELS_PER_FACE = 50


class SettingError(FacesiftError, ValueError):
    """A setting value out of its range."""


def get_value(conn: sqlite3.Connection, key: str) -> str | None:
    """The ``meta`` value stored under ``key``, or None."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def put_value(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Store ``value`` under ``key`` in ``meta`` (inside the caller's transaction, if any)."""
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def labels_per_face(conn: sqlite3.Connection) -> int:
    """How many independent decisions a face needs (``review --labels-per-face``; default 1)."""
    value = get_value(conn, LABELS_PER_FACE)
    try:
        return max(1, int(value)) if value is not None else 1
    except ValueError:  # a hand-edited value: fall back to one decision per face
        return 1
