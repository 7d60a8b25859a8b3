import sqlite3

import pytest

from catalog import Catalog
from catalog.db import connect
from catalog.schema import LATEST_VERSION, MIGRATIONS, SchemaError, migrate, schema_version


def _schema(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()


def test_migrate_from_empty(tmp_path):
    conn = connect(tmp_path / "c.sqlite")
    assert schema_version(conn) == 0
    assert migrate(conn) == LATEST_VERSION == len(MIGRATIONS)
    names = {r[1] for r in _schema(conn)}
    for table in (
        "queries",
        "search_runs",
        "search_results",
        "downloads",
        "images",
        "image_sources",
        "faces",
        "label_events",
        "face_state",
        "exports",
        "labels",
    ):
        assert table in names
    assert migrate(conn) == LATEST_VERSION  # a second run is a no-op


@pytest.mark.parametrize("start", range(LATEST_VERSION))
def test_migrate_from_each_older_version_keeps_data(tmp_path, start):
    fresh = connect(tmp_path / "fresh.sqlite")
    migrate(fresh)
    old = connect(tmp_path / "old.sqlite")
    migrate(old, target=start)
    assert schema_version(old) == start
    if start >= 1:
        old.execute("INSERT INTO meta (key, value) VALUES ('probe', 'kept')")
    migrate(old)
    assert schema_version(old) == LATEST_VERSION
    assert _schema(old) == _schema(fresh)
    if start >= 1:
        assert old.execute("SELECT value FROM meta WHERE key='probe'").fetchone()[0] == "kept"


def test_newer_schema_is_refused_with_a_clear_error(tmp_path):
    conn = connect(tmp_path / "c.sqlite")
    migrate(conn)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(SchemaError, match="newer than this facesift"):
        migrate(conn)


def test_catalog_is_opened_in_wal_with_foreign_keys_and_busy_timeout(data_root):
    with Catalog.open(data_root, "wal") as cat:
        assert cat.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cat.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert cat.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert cat.paths.catalog == data_root / "wal" / "catalog.sqlite"
        with pytest.raises(sqlite3.IntegrityError):
            cat.conn.execute(
                "INSERT INTO faces (image_id, face_index, box_left, box_top, box_right, "
                "box_bottom, detector, created_at) VALUES (999, 0, 0, 0, 1, 1, 'hog', 'now')"
            )


def test_a_failed_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    conn = connect(tmp_path / "c.sqlite")
    broken = [*MIGRATIONS, "CREATE TABLE extra (x INTEGER);\nCREATE TABLE meta (y);"]
    monkeypatch.setattr("catalog.schema.MIGRATIONS", broken)
    monkeypatch.setattr("catalog.schema.LATEST_VERSION", len(broken))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, target=len(broken))
    assert schema_version(conn) == len(MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "extra" not in tables
