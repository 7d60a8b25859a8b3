"""The connection's transactions on a full disk: rolled back, told in one line."""

from __future__ import annotations

import sqlite3

import pytest

from catalog.db import (
    SHOWN_ERRORS,
    WriteBatches,
    as_disk_full,
    error_line,
    is_full,
    transaction,
)
from core.space import DiskFull
from tests.diskfull import FullAt


def names(cat) -> list[str]:
    return [r[0] for r in cat.conn.execute("SELECT name FROM labels ORDER BY idx")]


def test_a_full_disk_at_commit_rolls_back_and_says_so(catalog):
    before = names(catalog)
    conn = FullAt(catalog.conn, r"^COMMIT$")
    need = r"^disk full: writing the catalog needs about 4\.1 MB"
    with pytest.raises(DiskFull, match=need), transaction(conn):
        conn.execute("UPDATE labels SET name = name || '_x'")
    assert not catalog.conn.in_transaction and names(catalog) == before


def test_sqlite_having_rolled_back_already_does_not_hide_the_error(catalog):
    # SQLite ends the transaction itself on SQLITE_FULL: our ROLLBACK must not raise instead.
    class RolledBack(FullAt):
        def _check(self, sql):
            if self._pattern.search(sql):
                self._conn.execute("ROLLBACK")
            super()._check(sql)

    conn = RolledBack(catalog.conn, r"^INSERT INTO labels")
    with pytest.raises(DiskFull), transaction(conn):
        conn.execute("INSERT INTO labels (idx, name) VALUES (99, 'x')")
    assert not catalog.conn.in_transaction


def test_write_batches_on_a_full_disk(catalog):
    commits = []
    conn = FullAt(catalog.conn, r"^COMMIT$", after=1)
    with pytest.raises(DiskFull), WriteBatches(conn, 2, on_commit=lambda: commits.append(1)) as b:
        for i in range(5):
            b.begin()
            conn.execute("UPDATE labels SET name = name WHERE idx = ?", (i,))
            b.step_done()
    assert commits == [1] and not catalog.conn.in_transaction


def test_errors_a_page_shows_in_one_line(tmp_path):
    full = sqlite3.OperationalError("database or disk is full")
    assert is_full(full) and not is_full(sqlite3.OperationalError("database is locked"))
    assert str(as_disk_full(full, tmp_path)).startswith("disk full: writing the catalog needs")
    assert as_disk_full(ValueError("x"), tmp_path) is None
    locked = sqlite3.OperationalError("database is locked")
    assert isinstance(locked, SHOWN_ERRORS)
    assert error_line(locked, tmp_path) == (
        "the catalog refused the change (OperationalError: database is locked); try again"
    )
    assert error_line(OSError(28, "No space left on device", "a\nb.jpg"), tmp_path).startswith(
        "disk full: writing a\\nb.jpg needs an unknown amount, and "
    )
