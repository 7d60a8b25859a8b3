import os

import pytest

from catalog import DatasetError
from catalog.images import ImageSource, StoredImage, add_image, add_source, image_sources
from core.storage import (
    TMP_SUFFIX,
    content_relpath,
    store_content,
    sweep_temp_files,
    write_atomic,
)


def test_one_image_found_by_two_queries_keeps_both_provenances(catalog, make_face):
    conn = catalog.conn
    q = [
        conn.execute(
            "INSERT INTO queries (engine, text, label, created_at) VALUES ('google', ?, ?, 'now')",
            (f"{e} human face", e),
        ).lastrowid
        for e in ("happy", "surprise")
    ]
    results = []
    for qid in q:
        run = conn.execute(
            "INSERT INTO search_runs (query_id, base_url, started_at) "
            "VALUES (?, 'http://x', 'now')",
            (qid,),
        ).lastrowid
        results.append(
            conn.execute(
                "INSERT INTO search_results (query_id, run_id, rank, url, found_at) "
                "VALUES (?, ?, 0, ?, 'now')",
                (qid, run, f"http://img/{qid}.jpg"),
            ).lastrowid
        )
    face = make_face(
        catalog,
        content=b"one photo",
        source=ImageSource("search", search_result_id=results[0], source_label="happy"),
    )
    image_id = conn.execute("SELECT image_id FROM faces WHERE id=?", (face,)).fetchone()[0]
    assert add_source(
        conn, image_id, ImageSource("search", search_result_id=results[1], source_label="surprise")
    )
    assert not add_source(
        conn, image_id, ImageSource("search", search_result_id=results[1], source_label="surprise")
    )
    assert conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 1
    assert [s.search_result_id for s in image_sources(conn, image_id)] == results


def test_content_addressed_storage_writes_each_content_once(catalog):
    sha, rel = store_content(catalog.paths.dir, "images", b"abc", "png")
    assert rel == f"images/{sha[:2]}/{sha}.png"
    again = store_content(catalog.paths.dir, "images", b"abc", "png")
    assert again == (sha, rel)
    assert (catalog.paths.dir / rel).read_bytes() == b"abc"
    record = StoredImage(sha, rel, 1, 1, "PNG", 3)
    first_id, new = add_image(catalog.conn, record)
    assert new
    assert add_image(catalog.conn, record) == (first_id, False)


@pytest.mark.parametrize(
    "kind,sha,ext",
    [("images", "../../etc", "png"), ("images", "a" * 64, "p/g"), ("../x", "a" * 64, "png")],
)
def test_no_foreign_name_becomes_a_path(kind, sha, ext):
    with pytest.raises(ValueError):
        content_relpath(kind, sha, ext)


def test_stored_paths_cannot_leave_the_dataset(catalog):
    with pytest.raises(DatasetError):
        catalog.paths.resolve("../../outside.jpg")
    assert catalog.paths.resolve("images/ab/x.jpg").is_relative_to(catalog.paths.dir.resolve())


def test_atomic_write_leaves_no_partial_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a" / "file.bin"
    write_atomic(target, b"old")

    def boom(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        write_atomic(target, b"new content")
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.rglob(f"*{TMP_SUFFIX}"))


def test_sweep_removes_leftover_temp_files(tmp_path):
    (tmp_path / "images" / "ab").mkdir(parents=True)
    (tmp_path / "images" / "ab" / f".x{TMP_SUFFIX}").write_bytes(b"half")
    (tmp_path / "images" / "ab" / "keep.jpg").write_bytes(b"whole")
    assert sweep_temp_files(tmp_path) == 1
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["keep.jpg"]


def test_sweep_keeps_the_temp_file_of_a_writer_still_running(tmp_path):
    import subprocess
    import sys

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        folder = tmp_path / "images" / "ab"
        folder.mkdir(parents=True)
        mine = folder / f".a.jpg.{live.pid}-1{TMP_SUFFIX}"
        left = folder / f".b.jpg.{dead.pid}-1{TMP_SUFFIX}"
        mine.write_bytes(b"being written")
        left.write_bytes(b"half")
        assert sweep_temp_files(tmp_path) == 1
        assert mine.exists() and not left.exists()
    finally:
        live.kill()
        live.wait()
