"""``import_errors`` rows: every input an import could not use, with its reason."""

from __future__ import annotations

import sqlite3

from catalog.db import transaction, utc_now
from core.errors import one_line


def as_text(name: str) -> str:
    """A name from the file system or argv as storable text: undecodable bytes as \\xNN.

    Linux file names are bytes; Python hands undecodable ones over as lone
    surrogates, which SQLite (and a UTF-8 terminal) refuse with a traceback.
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def record_import_error(
    conn: sqlite3.Connection, source_name: str, import_path: str, reason: str
) -> bool:
    """Record why an input was not used (once per source, path and reason); True if new."""
    # The detail can quote a file name: stored as one line of valid text.
    path, reason = as_text(import_path), one_line(as_text(reason))
    with transaction(conn):
        known = conn.execute(
            "SELECT 1 FROM import_errors WHERE source_name = ? AND import_path = ? AND reason = ?",
            (source_name, path, reason),
        ).fetchone()
        if known:
            return False
        conn.execute(
            "INSERT INTO import_errors (source_name, import_path, reason, created_at) "
            "VALUES (?,?,?,?)",
            (source_name, path, reason, utc_now()),
        )
        return True
