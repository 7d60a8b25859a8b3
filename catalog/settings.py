"""A dataset's settings kept in its catalog (the ``meta`` table): one value per key."""

from __future__ import annotations

import sqlite3

from catalog.db import transaction
from catalog.errors import FacesiftError

LABELS_PER_FACE = "labels_per_face"
MAX_LABELS_PER_FACE = 50


class SettingError(FacesiftError, ValueError):
    """A setting value out of its range."""


def labels_per_face(conn: sqlite3.Connection) -> int:
    """How many independent decisions a face needs (``review --labels-per-face``; default 1)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (LABELS_PER_FACE,)).fetchone()
    try:
        return max(1, int(row[0])) if row else 1
    except ValueError:  # a hand-edited value: fall back to one decision per face
        return 1


def set_labels_per_face(conn: sqlite3.Connection, k: int) -> bool:
    """Store the dataset's decisions per face; rebuild every face's state if it changed.

    Returns whether it changed. The face states depend on it (a face is decided
    by a majority of its K decisions), so the change and the rebuild are one transaction.
    """
    from catalog.events import rebuild_face_states  # events reads this module's setting

    if not 1 <= k <= MAX_LABELS_PER_FACE:
        raise SettingError(f"labels per face must be 1 to {MAX_LABELS_PER_FACE}, not {k}")
    if labels_per_face(conn) == k:
        return False
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (LABELS_PER_FACE, str(k))
        )
        rebuild_face_states(conn)
    return True
