"""The exports table: one row per export that was moved into place.

The stage that writes an export is :mod:`exporter.stage`; this is its SQL.
"""

from __future__ import annotations

import json
import sqlite3

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
