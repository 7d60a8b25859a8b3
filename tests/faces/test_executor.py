"""Extract on every engine: the same faces whether the local pool or Dask runs it, a Dask
worker killed mid-run costs nothing, a killed driver resumes, a dead address is one line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import pipeline
from catalog import Catalog
from faces import stage
from faces.stage import ExtractOptions, extract
from tests.conftest import REPO, alive, cli_argv, extracted_count, gone_within, jpeg_variants
from tests.snapshots import assert_files_match_the_catalog, catalog_snapshot

pytest.importorskip("distributed", reason="the cluster extra is not installed")

pytestmark = pytest.mark.slow


def _dataset(root: Path, name: str, photos, add_image_bytes, n: int) -> None:
    """``n`` distinct images: the photos with faces, resized a little differently each."""
    paths = [p.path for p in photos if p.hog_up0 >= 1 and "large" not in p.kind][:6]
    with Catalog.open(root, name) as cat:
        for i, data in enumerate(jpeg_variants(paths, n, 360)):
            add_image_bytes(cat, data, f"{i}.jpg", label="happy")
        # A face crop (the cascade's steps) and a photo without a face.
        crop = next((p for p in photos if p.kind.startswith("fer2013")), None)
        if crop is not None:
            add_image_bytes(cat, crop.path.read_bytes(), "crop.jpg")
        none = next(p for p in photos if p.kind.startswith("no_face"))
        add_image_bytes(cat, none.path.read_bytes(), "none.jpg")


def _counting(fn, calls: list[int]):
    def counted(self):
        calls.append(1)
        return fn(self)

    return counted


def _faces(root: Path, name: str) -> dict:
    """Every face by (image hash, index): box, step, landmarks, figures and chip hash."""
    return catalog_snapshot(root / name)["faces"]


@pytest.mark.parametrize("remote", [False, True], ids=["paths", "bytes"])
def test_the_local_pool_and_dask_give_the_very_same_faces(
    data_root, photos, add_image_bytes, monkeypatch, remote
):
    """A LocalCluster reads the images from this disk; a remote cluster is sent their bytes
    (here: the LocalCluster told it shares no files). The faces are the pool's either way."""
    if remote:
        real = stage.open_executor

        @contextlib.contextmanager
        def no_shared_files(*a, **kw):
            with real(*a, **kw) as ex:
                ex.shares_files = False
                yield ex

        monkeypatch.setattr(stage, "open_executor", no_shared_files)
        read: list[int] = []
        monkeypatch.setattr(stage.Path, "read_bytes", _counting(stage.Path.read_bytes, read))
    for name in ("pool", "dask"):
        _dataset(data_root, name, photos, add_image_bytes, 10)
    with Catalog.open(data_root, "pool") as cat:
        pool = extract(cat, ExtractOptions(workers=2))
    with Catalog.open(data_root, "dask") as cat:
        dask = extract(cat, ExtractOptions(workers=2, scheduler="local"))
    if remote:
        assert len(read) >= 12, "the driver read the images to send them"
    assert (pool.images, pool.faces) == (dask.images, dask.faces) and pool.faces >= 10
    faces = _faces(data_root, "pool")
    # The same faces, boxes, landmarks, quality figures and chip files (content hashes).
    assert _faces(data_root, "dask") == faces
    assert any(f["chip_path"] for f in faces.values())
    for name in ("pool", "dask"):
        assert_files_match_the_catalog(data_root / name)
    assert catalog_snapshot(data_root / "dask") == catalog_snapshot(data_root / "pool")


def test_a_dask_worker_killed_mid_run_costs_nothing(data_root, photos, add_image_bytes):
    """kill -9 of one LocalCluster worker while extract runs: its batch runs again, and
    every image ends with exactly the faces of an uninterrupted run, none twice."""
    for name in ("whole", "killed"):
        _dataset(data_root, name, photos, add_image_bytes, 24)
    with Catalog.open(data_root, "whole") as cat:
        extract(cat, ExtractOptions(workers=2, chunk_size=2))
    killed: list[int] = []

    def kill_a_worker(progress) -> None:
        # Once, after the first images are in: a worker process of the LocalCluster.
        if killed or progress.done < 2:
            return
        workers = [c for c in _children(os.getpid()) if _is_dask_worker(c)]
        if workers:
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])

    with Catalog.open(data_root, "killed") as cat:
        s = extract(
            cat,
            ExtractOptions(workers=2, chunk_size=2, scheduler="local"),
            on_progress=kill_a_worker,
        )
    assert killed, "no worker was killed: the test proved nothing"
    assert s.errors == 0
    assert _faces(data_root, "killed") == _faces(data_root, "whole")
    assert_files_match_the_catalog(data_root / "killed")


def _is_dask_worker(pid: int) -> bool:
    """A LocalCluster's worker (or nanny) process: a spawned Python child of this one."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"spawn_main" in cmdline


def test_a_killed_dask_driver_resumes(data_root, photos, add_image_bytes):
    """SIGKILL of `facesift extract --scheduler local` mid-run: no worker outlives it by
    5 s, and the rerun ends with the faces of an uninterrupted run."""
    for name in ("whole", "killed"):
        _dataset(data_root, name, photos, add_image_bytes, 60)
    with Catalog.open(data_root, "whole") as cat:
        extract(cat, ExtractOptions(workers=2))
    catalog_file = data_root / "killed" / "catalog.sqlite"
    args = ["--dataset", "killed", "extract", "--scheduler", "local", "--workers", "2"]
    proc = subprocess.Popen(
        cli_argv(*args, root=data_root),
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    family: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while extracted_count(catalog_file) < 1:
            assert proc.poll() is None and time.monotonic() < deadline, "no progress"
            family |= _descendants(proc.pid)
            time.sleep(0.05)
        family |= _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the driver alone: its workers must follow
        proc.wait(10)
        assert gone_within(family, 5), "a worker outlived its driver by 5 s"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for p in family:
            if alive(p):
                os.kill(p, signal.SIGKILL)
    assert 1 <= extracted_count(catalog_file) < 62, "the kill landed mid-run"
    argv = ["--root", str(data_root), "--dataset", "killed", "extract", "--workers", "2"]
    assert pipeline.main(argv) == 0
    assert _faces(data_root, "killed") == _faces(data_root, "whole")
    assert_files_match_the_catalog(data_root / "killed")


def _children(pid: int) -> list[int]:
    """The children of every thread of a process (Dask starts its workers from its own
    event-loop thread, and /proc lists children per thread)."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for k in _children(todo.pop()):
            if k not in found:
                found.add(k)
                todo.append(k)
    return found


def test_an_address_without_a_scheduler_writes_nothing(data_root, photos, add_image_bytes, capsys):
    """`--scheduler tcp://...` where nobody answers: one line, exit 2, within 10 s, and
    the catalog is as it was."""
    import socket

    _dataset(data_root, "idle", photos, add_image_bytes, 2)
    before = catalog_snapshot(data_root / "idle")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["--root", str(data_root), "--dataset", "idle", "extract"]
    started = time.monotonic()
    assert pipeline.main([*argv, "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"no Dask scheduler answers at tcp://127.0.0.1:{port}" in err
    assert catalog_snapshot(data_root / "idle") == before
