"""Opening the SQLite catalog, the same way everywhere.

Every stage and every process goes through :func:`connect`, so WAL, foreign
keys and the busy timeout are always on. Writes go through :func:`transaction`
(``BEGIN IMMEDIATE``): a writer takes the lock up front instead of failing
half-way when a second process writes at the same time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from core.errors import FacesiftError, one_line
from core.space import DiskFull, disk_full, is_no_space

BUSY_TIMEOUT_MS = 60_000
SQLITE_FULL = 13  # "database or disk is full" (the primary result code)
# What a write to the catalog needs at least: the write-ahead log grows by up to
# wal_autocheckpoint pages (1,000 by default) between checkpoints.
WAL_PAGES = 1000
PAGE_SIZE = 4096  # SQLite's default, for when the connection cannot be asked


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
        conn.execute("COMMIT")
    except BaseException as e:
        _abort(conn, e)
        raise


def _abort(conn: sqlite3.Connection, e: BaseException) -> None:
    """Roll back the open transaction after ``e``; a full disk is raised as DiskFull."""
    # SQLite may have rolled back already (SQLITE_FULL does): a second ROLLBACK would
    # raise and hide the error that matters.
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    if is_full(e):
        raise catalog_full(conn) from e


def is_full(e: BaseException) -> bool:
    """Whether an exception is SQLite's "database or disk is full"."""
    if not isinstance(e, sqlite3.Error):
        return False
    code = getattr(e, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == SQLITE_FULL) or "disk is full" in str(e)


def catalog_file(conn: sqlite3.Connection) -> Path | None:
    """The file of the connection's main database (None in memory)."""
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main" and row[2]:
            return Path(row[2])
    return None


def catalog_full(conn: sqlite3.Connection) -> DiskFull:
    """The one-line error for a catalog write that found its disk full (an estimate of the
    room needed: one write-ahead log between checkpoints)."""
    try:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        path = catalog_file(conn)
    except sqlite3.Error:
        page, path = PAGE_SIZE, None
    where = path.parent if path else Path.cwd()
    return disk_full(where, page * WAL_PAGES, "writing the catalog", about=True)


# What a page of the app shows as one line and survives: bad input, a file it could
# not read or write, a catalog that refused a change. Anything else is a bug.
SHOWN_ERRORS = (FacesiftError, OSError, sqlite3.Error)


def error_line(e: BaseException, where: Path | str) -> str:
    """The one line a page shows for an error: a full disk's, a FacesiftError's own, or
    the catalog's (the page stays usable; nothing was half-written)."""
    full = as_disk_full(e, where)
    if full is not None:
        return str(full)
    if isinstance(e, sqlite3.Error):
        return one_line(f"the catalog refused the change ({type(e).__name__}: {e}); try again")
    return one_line(str(e))


def as_disk_full(e: BaseException, where: Path | str) -> DiskFull | None:
    """A full disk that reached a boundary (the command line, an app page) raw, as the
    one-line error (the room needed unknown); None for any other exception."""
    if is_full(e):
        return disk_full(where, PAGE_SIZE * WAL_PAGES, "writing the catalog", about=True)
    if is_no_space(e):
        what = f"writing {Path(e.filename).name}" if getattr(e, "filename", None) else "a write"
        return disk_full(where, None, what)
    return None


class WriteBatches:
    """Write transactions of up to ``size`` steps each, for a long stream of small writes.

    Fewer fsyncs than a transaction per step, and the write lock is held one batch
    at a time. Call :meth:`begin` before a step's writes and :meth:`step_done`
    after them: a batch opens (``BEGIN IMMEDIATE``) at its first step and commits
    at its ``size``-th (then ``on_commit()`` runs). Leaving the ``with`` block
    commits the last batch; an exception rolls back the batch that is open (a full
    disk becomes :class:`~core.space.DiskFull`).
    """

    def __init__(
        self, conn: sqlite3.Connection, size: int, on_commit: Callable[[], None] | None = None
    ):
        self.conn = conn
        self.size = size
        self.on_commit = on_commit or (lambda: None)  # e.g. NewFiles.committed
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
            self.on_commit()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and self._steps:
                self.conn.execute("COMMIT")
                self.on_commit()
        except BaseException as e:
            _abort(self.conn, e)
            raise
        if exc is not None:
            _abort(self.conn, exc)


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
