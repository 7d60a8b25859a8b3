"""A disk that fills up, on purpose: the store's writes raise ENOSPC, the catalog SQLITE_FULL.

:func:`store_fills_after` makes ``core.storage``'s ``os.write`` raise ``ENOSPC``
once a number of files have been written (every content-addressed image and chip
goes through it). :class:`FullAt` wraps a catalog connection: the statements that
match a pattern raise SQLite's own "database or disk is full", as a full disk makes
SQLite do at a write or a COMMIT.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import types

import core.storage

FULL = "database or disk is full"  # SQLite's own words for SQLITE_FULL


def store_fills_after(monkeypatch, files: int) -> list[int]:
    """Let ``files`` store writes succeed, then every one fails with ENOSPC; returns a
    one-item list counting the writes attempted."""
    attempts = [0]
    real = os.write

    def write(fd: int, data) -> int:
        attempts[0] += 1
        if attempts[0] > files:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    fake = types.ModuleType("os")
    fake.__dict__.update(os.__dict__)
    fake.write = write
    monkeypatch.setattr(core.storage, "os", fake)
    return attempts


class FullAt:
    """A catalog connection whose statements matching ``pattern`` fail as on a full disk
    (after ``after`` of them have run; ``message``: another error of SQLite's)."""

    def __init__(self, conn: sqlite3.Connection, pattern: str, after: int = 0, message: str = FULL):
        self._conn, self._pattern, self._left = conn, re.compile(pattern, re.I), after
        self._full = self._pattern
        self.message = message
        self.failed = 0

    def room_again(self) -> None:
        """No statement fails from now on."""
        self._pattern = re.compile(r"(?!)")

    def fail_again(self) -> None:
        """The disk is full again: the statements of ``pattern`` fail from now on."""
        self._pattern, self._left = self._full, 0

    def _check(self, sql: str) -> None:
        if self._pattern.search(sql):
            if self._left <= 0:
                self.failed += 1
                raise sqlite3.OperationalError(self.message)
            self._left -= 1

    def execute(self, sql: str, *args):
        self._check(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args):
        self._check(sql)
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def catalog_fills(monkeypatch, pattern: str, after: int = 0, message: str = FULL) -> list[FullAt]:
    """Every catalog the code under test opens (``Catalog.open``) fails at ``pattern``."""
    import catalog.dataset

    made: list[FullAt] = []
    real = catalog.dataset.connect

    def connect(path, *args, **kwargs):
        full = FullAt(real(path, *args, **kwargs), pattern, after, message)
        made.append(full)
        return full

    monkeypatch.setattr(catalog.dataset, "connect", connect)
    return made
