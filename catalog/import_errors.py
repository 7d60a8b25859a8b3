"""``import_errors`` rows: every input an import could not use, with its reason."""

from __future__ import annotations

import sqlite3

from catalog.db import utc_now


def has_import_error(
    conn: sqlite3.Connection, source_name: str, import_path: str, reason: str
) -> bool:
    """Whether this source, path and reason are recorded already."""
    return (
        conn.execute(
            "SELECT 1 FROM import_errors WHERE source_name = ? AND import_path = ? AND reason = ?",
            (source_name, import_path, reason),
        ).fetchone()
        is not None
    )


def add_import_error(
    conn: sqlite3.Connection, source_name: str, import_path: str, reason: str
) -> None:
    """Record one refused input (in the caller's transaction)."""
    conn.execute(
        "INSERT INTO import_errors (source_name, import_path, reason, created_at) VALUES (?,?,?,?)",
        (source_name, import_path, reason, utc_now()),
    )
