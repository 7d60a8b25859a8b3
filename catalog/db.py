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


class WriteBatches:
    """Write transactions of up to ``size`` steps each, for a long stream of small writes.

    Fewer fsyncs than a transaction per step, and the write lock is held one batch
    at a time. Call :meth:`begin` before a step's writes and :meth:`step_done`
    after them: a batch opens (``BEGIN IMMEDIATE``) at its first step and commits
    at its ``size``-th. Leaving the ``with`` block commits the last batch; an
    exception rolls back the batch that is open.
    """

    def __init__(self, conn: sqlite3.Connection, size: int):
        self.conn = conn
        self.size = size
        self._steps = 0  # steps in the open batch

    def __enter__(self) -> WriteBatches:
        return self

    def begin(self) -> None:
        """Open a batch unless one is open."""
        if self._steps == 0:
            self.conn.execute("BEGIN IMMEDIATE")

    def step_done(self) -> None:
        """Count a step; commit the batch when it is full."""
        self._steps += 1
        if self._steps >= self.size:
            self.conn.execute("COMMIT")
            self._steps = 0

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and self._steps:
                self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        if exc_type is not None:
            self._rollback()

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


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
