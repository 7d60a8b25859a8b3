"""A run killed with SIGKILL and resumed leaves the same catalog as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from catalog import Catalog
from faces.stage import ExtractOptions, extract
from tests.conftest import (
    REPO,
    cli_argv,
    ctrl_c_as_in_a_terminal,
    extracted_count,
    jpeg_variants,
)
from tests.snapshots import assert_files_match_the_catalog, catalog_snapshot, stored_files

N_IMAGES = 14

_RUN = """
import sys
from catalog import Catalog
from faces.stage import ExtractOptions, extract
with Catalog.open(sys.argv[1], sys.argv[2]) as cat:
    extract(cat, ExtractOptions(workers=1, chunk_size=1, batch_size=1))
"""


def _images(photos, n: int = N_IMAGES, width: int = 380) -> list[bytes]:
    """Distinct JPEGs made from the 4 smallest photos with faces."""
    with_faces = sorted((p for p in photos if p.hog_up0 >= 1), key=lambda p: p.path.stat().st_size)
    return jpeg_variants([p.path for p in with_faces[:4]], n, width)


def _dump(cat: Catalog) -> tuple[dict, set[str]]:
    """The catalog by content (not row ids) and the stored files."""
    assert_files_match_the_catalog(cat.paths.dir)
    return catalog_snapshot(cat.paths.dir), stored_files(cat.paths.dir)


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(data_root, photos, add_image_bytes):
    images = _images(photos)
    for name in ("killed", "whole"):
        with Catalog.open(data_root, name) as cat:
            for i, data in enumerate(images):
                add_image_bytes(cat, data, f"{i}.jpg", label="happy")

    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN, str(data_root), "killed"],
        start_new_session=True,  # its own process group: the kill takes its workers too
        stderr=subprocess.PIPE,
    )
    catalog_file = data_root / "killed" / "catalog.sqlite"
    deadline = time.monotonic() + 120
    try:
        while extracted_count(catalog_file) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
    done_before = extracted_count(catalog_file)
    assert 3 <= done_before < N_IMAGES, "the run was killed part-way"

    with Catalog.open(data_root, "killed") as cat:
        resumed = extract(cat, ExtractOptions(workers=2))
        assert resumed.images == N_IMAGES - done_before
        killed = _dump(cat)
        assert extract(cat, ExtractOptions(workers=2)).images == 0
        assert _dump(cat) == killed
    with Catalog.open(data_root, "whole") as cat:
        extract(cat, ExtractOptions(workers=2))
        whole = _dump(cat)
    assert whole[0]["faces"], "the images have faces"
    assert killed == whole


@pytest.mark.slow
def test_ctrl_c_keeps_the_images_done_and_exits_cleanly(data_root, photos, add_image_bytes):
    # Enough work that the run is still going after its first write (a second in).
    n = 30
    with Catalog.open(data_root, "int") as cat:
        for i, data in enumerate(_images(photos, n, width=640)):
            add_image_bytes(cat, data, f"{i}.jpg")
    proc = subprocess.Popen(
        cli_argv("--dataset", "int", "extract", "--workers", "1", root=data_root),
        cwd=REPO,
        start_new_session=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    catalog_file = data_root / "int" / "catalog.sqlite"
    deadline = time.monotonic() + 120
    try:
        while extracted_count(catalog_file) < 1:  # the first write (after a second at most)
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.02)
        seen = extracted_count(catalog_file)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "rerun the same command to continue" in err
    assert "Traceback" not in err
    kept = extracted_count(catalog_file)
    assert seen <= kept < n
    with Catalog.open(data_root, "int") as cat:
        rest = extract(cat, ExtractOptions(workers=2))
        assert rest.images == n - kept
        assert (
            cat.conn.execute("SELECT COUNT(*) FROM images WHERE extract_status IS NULL").fetchone()[
                0
            ]
            == 0
        )
