"""The exports table: one row per export that was moved into place, and what an export
reads besides the faces (the numbers corpora give per image).

The stage that writes an export is :mod:`exporter.stage`; this is its SQL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from catalog.db import transaction, utc_now


def record_export(
    conn: sqlite3.Connection, fmt: str, path: str, options: dict, counts: dict
) -> int:
    """Record an export (its format, folder, options and counts, as JSON); its id."""
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO exports (format, path, options, counts, created_at) VALUES (?,?,?,?,?)",
            (
                fmt,
                path,
                json.dumps(options, sort_keys=True),
                json.dumps(counts, sort_keys=True),
                utc_now(),
            ),
        )
    return cur.lastrowid


def image_values_of(
    conn: sqlite3.Connection, image_ids: Iterable[int]
) -> dict[int, dict[str, float]]:
    """The numbers corpora give per image (``image_values``: AffectNet's valence and
    arousal), by image and name; where several sources give one name, the first stored."""
    ids = sorted({int(i) for i in image_ids})
    out: dict[int, dict[str, float]] = {}
    rows = conn.execute(
        "SELECT image_id, name, value FROM image_values "
        "WHERE image_id IN (SELECT value FROM json_each(?)) ORDER BY image_id, rowid DESC",
        (json.dumps(ids),),
    )
    for image_id, name, value in rows:
        out.setdefault(image_id, {})[name] = value  # the last written (first stored) wins
    return out
