"""A full disk in words: how much was needed, how much is free; the store's writes say it."""

from __future__ import annotations

import errno
import os

import pytest

from core.space import DiskFull, disk_full, free_bytes, is_no_space, size_text
from core.storage import TMP_SUFFIX, NewFiles, store_content, write_atomic
from tests.diskfull import store_fills_after


def test_sizes_read_as_df_shows_them():
    assert [size_text(n) for n in (None, 0, 999, 1000, 29_800, 4_096_000, 3 * 10**12)] == [
        "an unknown amount",
        "0 bytes",
        "999 bytes",
        "1.0 kB",
        "29.8 kB",
        "4.1 MB",
        "3.0 TB",
    ]


def test_the_line_names_the_need_and_the_free_space_of_the_nearest_folder(tmp_path):
    missing = tmp_path / "not" / "made" / "yet"
    assert free_bytes(missing) == free_bytes(tmp_path) > 0
    line = str(disk_full(missing, 29_800, "writing x.jpg"))
    free = size_text(free_bytes(tmp_path))
    assert line.startswith(f"disk full: writing x.jpg needs 29.8 kB, and {free} is free on ")
    assert str(missing) in line and "\n" not in line
    assert "needs about 4.1 MB" in str(disk_full(tmp_path, 4_096_000, "w", about=True))


def test_only_enospc_and_quotas_are_a_full_disk(tmp_path):
    assert is_no_space(OSError(errno.ENOSPC, "x")) and is_no_space(OSError(errno.EDQUOT, "x"))
    assert not is_no_space(OSError(errno.EACCES, "x")) and not is_no_space(ValueError())


def test_write_atomic_on_a_full_disk_leaves_nothing_and_says_how_much(tmp_path, monkeypatch):
    store_fills_after(monkeypatch, 0)
    target = tmp_path / "ab" / "file.png"
    with pytest.raises(DiskFull) as e:
        write_atomic(target, b"x" * 1234)
    assert str(e.value).startswith("disk full: writing file.png needs 1.2 kB, and ")
    assert isinstance(e.value.__cause__, OSError) and e.value.__cause__.errno == errno.ENOSPC
    assert not target.exists() and not list(tmp_path.rglob(f"*{TMP_SUFFIX}"))


def test_new_files_are_taken_back_unless_committed_or_named(tmp_path):
    new = NewFiles(tmp_path)
    _, kept = store_content(tmp_path, "images", b"committed", "jpg", new)
    new.committed()
    _, again = store_content(tmp_path, "images", b"committed", "jpg", new)  # there already
    _, a = store_content(tmp_path, "images", b"a", "jpg", new)
    _, b = store_content(tmp_path, "images", b"b", "jpg", new)
    assert new.created == [a, b] and again == kept
    assert new.discard(keep=lambda rels: {b}) == 1  # b: named by another process's row
    assert sorted(p.name for p in tmp_path.rglob("*.jpg")) == sorted(
        os.path.basename(r) for r in (kept, b)
    )
    assert new.created == [] and new.discard() == 0
