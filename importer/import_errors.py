"""``import_errors`` rows: every input an import could not use, with its reason."""

from __future__ import annotations

import sqlite3

from catalog.db import transaction
from catalog.import_errors import add_import_error, has_import_error
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
        if has_import_error(conn, source_name, path, reason):
            return False
        add_import_error(conn, source_name, path, reason)
        return True
