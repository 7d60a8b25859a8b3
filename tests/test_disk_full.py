"""A full disk at each write point of import, extract and export: one line, exit 2, no orphan.

Each write point is made to fail as a full disk does: the store's ``os.write`` raises
``ENOSPC`` (every image and chip goes through ``core.storage``), a catalog statement
raises SQLite's "database or disk is full", an export file's write raises ``ENOSPC``.
The command must then print one line that says how much room was needed and how much
is free, exit with status 2, leave a catalog whose ``integrity_check`` is ok and a
store without a file that no row names, and the same command, rerun with room,
must complete. One test fills a real 5 MB tmpfs (skipped where mounting is refused).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

import importer.stage
from catalog import Catalog
from core.space import DiskFull
from faces.options import ExtractOptions
from faces.stage import extract
from pipeline import main
from tests.conftest import cli_argv, jpeg_variants
from tests.diskfull import catalog_fills, store_fills_after
from tests.snapshots import assert_files_match_the_catalog, stored_files

DATASET = "full"


def facesift(capsys, root: Path, *args: str) -> tuple[int, list[str]]:
    """Run the command line in this process: (exit status, lines on stderr)."""
    capsys.readouterr()
    status = main(["--root", str(root), "--dataset", DATASET, *args])
    return status, capsys.readouterr().err.strip().splitlines()


def assert_one_disk_full_line(status: int, err: list[str], what: str) -> None:
    assert status == 2, err
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith(f"facesift: error: disk full: {what}") and " needs " in line, line
    assert " is free on the filesystem of " in line and "run it again" in line


@pytest.fixture
def photo_folder(tmp_path, photos) -> Path:
    """Six real photos (distinct JPEGs) of faces in a folder."""
    folder = tmp_path / "photos"
    folder.mkdir()
    with_faces = [p.path for p in photos if p.hog_up0 >= 1][:3]
    for i, data in enumerate(jpeg_variants(with_faces, 6, 320)):
        (folder / f"p{i}.jpg").write_bytes(data)
    return folder


def images(root: Path) -> int:
    with Catalog.open(root, DATASET, create=False) as cat:
        return cat.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]


# --- import -------------------------------------------------------------------------


@pytest.mark.parametrize("written", [0, 3])
def test_import_when_the_store_fills(capsys, monkeypatch, data_root, photo_folder, written):
    # Two images per catalog transaction: with 3 files written, the first batch (2 images)
    # commits, the third image's file is written and the fourth finds the disk full.
    monkeypatch.setattr(importer.stage, "BATCH", 2)
    with monkeypatch.context() as m:
        store_fills_after(m, written)
        status, err = facesift(capsys, data_root, "import", str(photo_folder), "--no-extract")
    assert_one_disk_full_line(status, err, "writing ")
    dataset = data_root / DATASET
    assert_files_match_the_catalog(dataset)  # integrity ok; the third image's file is gone
    assert images(data_root) == len(stored_files(dataset)) == 2 * (written // 2)
    status, err = facesift(capsys, data_root, "import", str(photo_folder), "--no-extract")
    assert status == 0, err
    assert images(data_root) == 6
    assert_files_match_the_catalog(dataset)


@pytest.mark.parametrize("commits_before", [0, 1])
def test_import_when_the_catalog_fills(
    capsys, monkeypatch, data_root, photo_folder, commits_before
):
    assert facesift(capsys, data_root, "init")[0] == 0
    monkeypatch.setattr(importer.stage, "BATCH", 2)
    with monkeypatch.context() as m:
        # Opening the catalog commits once (its label set, read in a write transaction).
        full = catalog_fills(m, r"^\s*COMMIT", after=1 + commits_before)
        status, err = facesift(capsys, data_root, "import", str(photo_folder), "--no-extract")
    assert full and full[0].failed == 1
    assert_one_disk_full_line(status, err, "writing the catalog")
    assert "needs about 4.1 MB" in err[0]  # an estimate: one write-ahead log of 1,000 pages
    dataset = data_root / DATASET
    assert_files_match_the_catalog(dataset)  # the failed batch's two files are gone
    assert images(data_root) == 2 * commits_before
    assert facesift(capsys, data_root, "import", str(photo_folder), "--no-extract")[0] == 0
    assert images(data_root) == 6
    assert_files_match_the_catalog(dataset)


# --- extract ------------------------------------------------------------------------


@pytest.fixture
def imported(capsys, data_root, photo_folder) -> Path:
    """The six photos imported (labelled happy), not yet extracted."""
    args = ("import", str(photo_folder), "--no-extract", "--label", "happy")
    assert facesift(capsys, data_root, *args)[0] == 0
    return data_root / DATASET


def faces(root: Path) -> int:
    with Catalog.open(root, DATASET, create=False) as cat:
        return cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]


EXTRACT = ("extract", "--workers", "1")


@pytest.mark.slow  # dlib's extraction, twice
def test_extract_when_a_chip_finds_the_store_full(capsys, monkeypatch, data_root, imported):
    with monkeypatch.context() as m:
        attempts = store_fills_after(m, 1)  # one chip is written, the next fails
        status, err = facesift(capsys, data_root, *EXTRACT)
    assert attempts[0] >= 2
    assert_one_disk_full_line(status, err, "writing ")
    assert_files_match_the_catalog(imported)  # every chip on disk has its face row
    assert facesift(capsys, data_root, *EXTRACT)[0] == 0
    assert faces(data_root) > 0
    assert_files_match_the_catalog(imported)


@pytest.mark.slow  # dlib's extraction, twice
def test_extract_takes_back_the_chips_of_a_batch_that_never_commits(monkeypatch, imported):
    # All six images in one write transaction: its first chips are written, then the disk
    # fills; the transaction rolls back and the chips it wrote go with it.
    opts = ExtractOptions(workers=1, batch_size=64, max_seconds_between_writes=1e6)
    with Catalog.open(imported.parent, DATASET, create=False) as cat, monkeypatch.context() as m:
        attempts = store_fills_after(m, 2)
        with pytest.raises(DiskFull, match=r"^disk full: writing \w+\.png needs \d"):
            extract(cat, opts)
        assert attempts[0] >= 3
    assert faces(imported.parent) == 0
    assert not [p for p in (imported / "chips").rglob("*") if p.is_file()]  # both chips gone
    assert_files_match_the_catalog(imported)


@pytest.mark.slow  # dlib's extraction, twice
@pytest.mark.parametrize(
    ("statement", "after"),
    [
        (r"INSERT INTO faces", 0),  # a batch's face rows
        (r"^\s*COMMIT", 1),  # a batch's commit (the first is the catalog's opening)
        (r"UPDATE faces SET dup_group", 0),  # the near-duplicate groups, after the faces
    ],
)
def test_extract_when_the_catalog_fills(capsys, monkeypatch, data_root, imported, statement, after):
    with monkeypatch.context() as m:
        full = catalog_fills(m, statement, after)
        status, err = facesift(capsys, data_root, *EXTRACT)
    assert sum(f.failed for f in full) >= 1
    assert_one_disk_full_line(status, err, "writing the catalog")
    assert_files_match_the_catalog(imported)  # no chip without its face row
    assert facesift(capsys, data_root, *EXTRACT)[0] == 0
    assert faces(data_root) > 0
    assert_files_match_the_catalog(imported)


# --- export -------------------------------------------------------------------------


@pytest.fixture
def extracted(capsys, data_root, imported) -> Path:
    assert facesift(capsys, data_root, *EXTRACT)[0] == 0
    return imported


def export_args(out: Path) -> tuple[str, ...]:
    return (
        "export",
        *("--out", str(out), "--format", "imagefolder", "--size", "48"),
        *("--include-pending", "--no-baseline"),
    )


@pytest.mark.slow  # an extraction first (dlib), then two exports
def test_export_when_its_files_fill_the_disk(capsys, monkeypatch, data_root, extracted, tmp_path):
    out = tmp_path / "exports" / "mine"
    real = Path.write_bytes
    written = []

    def write_bytes(self, data):
        if len(written) >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        written.append(self)
        return real(self, data)

    with monkeypatch.context() as m:
        m.setattr(Path, "write_bytes", write_bytes)
        status, err = facesift(capsys, data_root, *export_args(out))
    assert_one_disk_full_line(status, err, f"the export to {out}")
    assert " needs about " in err[0]
    assert not out.exists() and not list(out.parent.iterdir())  # no half export, no temp folder
    assert_files_match_the_catalog(extracted)
    assert facesift(capsys, data_root, *export_args(out))[0] == 0
    assert (out / "manifest.json").is_file()


@pytest.mark.slow  # an extraction first (dlib), then two exports
def test_export_when_the_catalog_cannot_record_it(
    capsys, monkeypatch, data_root, extracted, tmp_path
):
    out = tmp_path / "exports" / "mine"
    with monkeypatch.context() as m:
        catalog_fills(m, r"INSERT INTO exports")
        status, err = facesift(capsys, data_root, *export_args(out))
    assert_one_disk_full_line(status, err, "writing the catalog")
    assert not out.exists()  # not recorded, not kept: the rerun needs no --overwrite
    assert facesift(capsys, data_root, *export_args(out))[0] == 0
    with Catalog.open(data_root, DATASET, create=False) as cat:
        assert cat.conn.execute("SELECT COUNT(*) FROM exports").fetchone()[0] == 1


# --- a real full disk ---------------------------------------------------------------


@contextlib.contextmanager
def small_tmpfs(tmp_path: Path, size: str):
    """A tmpfs of ``size`` mounted on a fresh folder (skips where mounting is refused)."""
    mount = shutil.which("mount")
    point = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    if mount is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.mark.slow  # 3 MB imported twice, as a separate process
def test_import_on_a_real_full_tmpfs(tmp_path, photos):
    folder = tmp_path / "big"
    folder.mkdir()
    # 3 MB of distinct photos for a 2 MB filesystem (the catalog takes its share too).
    for i, data in enumerate(jpeg_variants([p.path for p in photos[:4]], 24, 900)):
        (folder / f"p{i:02}.jpg").write_bytes(data)
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size > 3_000_000, size
    with small_tmpfs(tmp_path, "2m") as root:
        cmd = cli_argv("--dataset", DATASET, "import", str(folder), "--no-extract", root=root)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        err = done.stderr.strip().splitlines()
        assert_one_disk_full_line(done.returncode, err, "writing")
        assert_files_match_the_catalog(root / DATASET)
        # Room again: the same command completes.
        subprocess.run(["mount", "-o", "remount,size=64m", str(root)], check=True)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert_files_match_the_catalog(root / DATASET)
        assert len(stored_files(root / DATASET)) == 24
