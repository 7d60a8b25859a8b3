"""Opening the SQLite catalog, the same way everywhere.

Every stage and every process goes through :func:`connect`, so WAL, foreign
keys and the busy timeout are always on. Writes go through :func:`transaction`
(``BEGIN IMMEDIATE``): a writer takes the lock up front instead of failing
half-way when a second process writes at the same time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

BUSY_TIMEOUT_MS = 60_000


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """Open a catalog database with WAL, foreign keys and a busy timeout.

    The connection is in autocommit mode; group writes with :func:`transaction`.
    """
    if readonly:
        conn = sqlite3.connect(
            f"file:{Path(path).as_posix()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"could not switch {path} to WAL (got {mode})")
        # NORMAL is durable across application crashes in WAL mode; only a power
        # loss can drop the last transactions, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block as one write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``).

    Nested use joins the outer transaction.
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string, as every catalog row stores it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


IN_CHUNK = 500  # ids bound per statement: under SQLite's variable limit on every build


def rows_where_in(
    conn: sqlite3.Connection, sql: str, ids: Sequence[int], params: Sequence[object] = ()
) -> Iterator[tuple]:
    """Rows of ``sql`` for each chunk of ``ids``: ``{marks}`` in it becomes the chunk's ``?``s.

    ``params`` bind before the ids (``... WHERE model_id = ? AND face_id IN ({marks})``).
    """
    ids = list(ids)
    for k in range(0, len(ids), IN_CHUNK):
        chunk = ids[k : k + IN_CHUNK]
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), [*params, *chunk])
