"""SIGKILL at random points of scrape, import, extract and export, several seeds each.

For every stage an uninterrupted run is the reference. Each seed starts the
same command on its own copy of the same dataset, kills its whole process
group (workers, chromedriver and Chromium included) at a random point of its work
(import and extract: once it has stored a random share of the files the reference
stored; export: a random moment of the reference's time after it began to write;
scrape: of the reference's duration), so that a start-up slowed by a loaded
machine is not what the kill hits; reruns the command, and must end with the very same
catalog (content, not row ids), the same files and no orphan or temporary file,
with the label events recorded beforehand intact; an export must be
byte-identical to the uninterrupted one.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog import Catalog
from curation_ui.actions import accept_rest, reject, relabel
from faces.stage import ExtractOptions, extract
from importer.options import ImportOptions
from importer.stage import import_path
from tests.conftest import REPO, cli_argv, jpeg_variants
from tests.snapshots import (
    assert_files_match_the_catalog,
    catalog_snapshot,
    stored_files,
    tree_digest,
)

SEEDS = (1, 2, 3)
# Kill within this share of the uninterrupted run's time: past its start-up,
# before its end (a loaded machine only makes the killed run slower).
KILL_WINDOW = (0.3, 0.8)
POLL = 0.02  # seconds between looks at a running command


def facesift_cmd(root: Path, dataset: str, *args: str) -> list[str]:
    return cli_argv("--dataset", dataset, *args, root=root)


def run_whole(cmd: list[str], env: dict | None = None) -> float:
    """Run a command to its end; its duration in seconds."""
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return time.monotonic() - start


def run_timed(cmd: list[str], started: Callable[[], bool]) -> tuple[float, float]:
    """Run a command to its end: (seconds until ``started()`` first held, seconds in all)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: nobody reads it meanwhile
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        began = None
        while proc.poll() is None:
            if began is None and started():
                began = time.monotonic() - start
            time.sleep(POLL)
        err.seek(0)
        assert proc.returncode == 0, err.read()[-2000:].decode(errors="replace")
    total = time.monotonic() - start
    return (total if began is None else began), total


def run_killed(
    cmd: list[str],
    seconds: float,
    seed: int,
    started: Callable[[], bool] | None = None,
) -> None:
    """Start a command and SIGKILL its whole process group at a random point of ``seconds``;
    with ``started``, of the ``seconds`` that follow the moment ``started()`` first holds
    (a loaded machine stretches a start-up of imports, which a kill timed from the
    launch would then hit instead of the work)."""
    fraction = random.Random(seed).uniform(*KILL_WINDOW)
    began: list[float] = []  # when the countdown started: at once, or once started() held

    def ready() -> bool:
        if not began and (started is None or started()):
            began.append(time.monotonic())
        return bool(began) and time.monotonic() >= began[0] + fraction * seconds

    kill_when(cmd, ready)


def kill_when(cmd: list[str], ready: Callable[[], bool]) -> None:
    """Start a command and SIGKILL its whole process group once ``ready()`` holds."""
    # Chromium's profile of a killed scrape stays behind: keep it out of /tmp's way.
    scratch = Path(tempfile.mkdtemp(prefix="fs-kill-"))
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    try:
        while proc.poll() is None and not ready():
            time.sleep(POLL)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the run (and all its group) has ended
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)


def copy_dataset(root: Path, source: str, target: str) -> None:
    shutil.copytree(root / source, root / target)


def _variants(photos, n: int, first: int) -> list[bytes]:
    """Distinct JPEGs of the photos with faces, each resized a little differently."""
    with_faces = [p.path for p in photos if p.hog_up0 >= 1 and "large" not in p.kind]
    return jpeg_variants(with_faces[:8], n, 400, first)


def _write_folder(folder: Path, images: list[bytes], labels: tuple[str, ...]) -> Path:
    for i, data in enumerate(images):
        sub = folder / labels[i % len(labels)]
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:03d}.jpg").write_bytes(data)
    return folder


@dataclass(frozen=True)
class Datasets:
    """A data root holding a reviewed dataset and a second batch of photos to import."""

    root: Path
    batch2: Path


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, photos) -> Datasets:
    """Dataset "base": a first batch imported, extracted and reviewed (label events of
    every kind); and a folder with a second batch, for the runs to be killed."""
    tmp = tmp_path_factory.mktemp("crash")
    root = tmp / "datasets"
    batch1 = _write_folder(tmp / "batch1", _variants(photos, 8, 0), ("happy", "sad"))
    batch2 = _write_folder(tmp / "batch2", _variants(photos, 60, 8), ("happy", "sad", "angry"))
    with Catalog.open(root, "base") as cat:
        import_path(cat, ImportOptions(batch1, labels_from="folders"))
        extract(cat, ExtractOptions(workers=2))
        ids = [r[0] for r in cat.conn.execute("SELECT id FROM faces ORDER BY id")]
        assert len(ids) >= 6
        reject(cat.conn, ids[:1], "alice", "not_a_face")
        relabel(cat.conn, ids[1:2], "bob", "surprise")
        accept_rest(cat.conn, ids, "alice")
    return Datasets(root, batch2)


def check_killed_runs(root: Path, start: str, cmd_for, name: str, by_files: bool = False) -> None:
    """The reference run, then each seed's killed run and rerun, compared with it.

    With ``by_files`` a kill comes once the run has stored a random share (the kill
    window's) of the files the reference stored (images, chips): mid-work however
    loaded the machine is; else at a random share of the reference's duration.
    """
    had = len(stored_files(root / start))
    copy_dataset(root, start, f"{name}-whole")
    seconds = run_whole(cmd_for(f"{name}-whole"))
    reference = catalog_snapshot(root / f"{name}-whole")
    stored = len(stored_files(root / f"{name}-whole")) - had
    assert not by_files or stored >= 10, f"the {name} stores {stored} files: too few to cut"

    def state(dataset: str) -> tuple[dict, set[str]]:
        return catalog_snapshot(root / dataset), stored_files(root / dataset)

    before = catalog_snapshot(root / start)
    ends = (state(start), state(f"{name}-whole"))
    assert reference["label_events"][: len(before["label_events"])] == before["label_events"]
    partial = 0
    for seed in SEEDS:
        dataset = f"{name}-{seed}"
        copy_dataset(root, start, dataset)
        if by_files:
            files = had + round(random.Random(seed).uniform(*KILL_WINDOW) * stored)
            kill_when(cmd_for(dataset), lambda d=dataset, k=files: len(stored_files(root / d)) >= k)
        else:
            run_killed(cmd_for(dataset), seconds, seed)
        partial += state(dataset) not in ends  # rows or files of unfinished work
        run_whole(cmd_for(dataset))
        assert catalog_snapshot(root / dataset) == reference, f"seed {seed}"
        assert_files_match_the_catalog(root / dataset)
    # Kills during start-up or after the last write prove less: most must land mid-work.
    assert partial >= 2, f"only {partial} of {len(SEEDS)} kills interrupted the work"


@pytest.mark.slow
def test_import_killed_anywhere(reviewed):
    root = reviewed.root

    # Without the extract that `import` runs after it: a kill there is a kill of the
    # extract stage from the same imported state, test_extract_killed_anywhere's subject.
    def cmd(dataset: str) -> list[str]:
        return facesift_cmd(
            root, dataset, "import", str(reviewed.batch2), "--labels-from", "folders",
            "--no-extract",
        )  # fmt: skip

    check_killed_runs(root, "base", cmd, "import", by_files=True)
    images = catalog_snapshot(root / "import-whole")["images"]
    assert len(images) == len(catalog_snapshot(root / "base")["images"]) + 60


@pytest.mark.slow
def test_extract_killed_anywhere(reviewed):
    root = reviewed.root
    copy_dataset(root, "base", "imported")
    with Catalog.open(root, "imported") as cat:
        import_path(cat, ImportOptions(reviewed.batch2, labels_from="folders"))

    def cmd(dataset: str) -> list[str]:
        return facesift_cmd(root, dataset, "extract", "--workers", "1")

    check_killed_runs(root, "imported", cmd, "extract", by_files=True)


@pytest.mark.slow
def test_export_killed_anywhere(reviewed, tmp_path):
    root = reviewed.root
    # Both batches, extracted: enough faces that the export outlasts its start-up.
    copy_dataset(root, "base", "both")
    with Catalog.open(root, "both") as cat:
        import_path(cat, ImportOptions(reviewed.batch2, labels_from="folders"))
        extract(cat, ExtractOptions(workers=2))

    def cmd(out: Path, *more: str) -> list[str]:
        return facesift_cmd(
            root, "both", "export", "--out", str(out), "--format", "hf", "--size", "256",
            "--color", "--include-pending", *more,
        )  # fmt: skip

    def writing(out: Path) -> Callable[[], bool]:
        """The export has begun to write: its hidden folder (or the output) is there."""
        return lambda: (
            out.exists() or any(p.name.startswith(f".{out.name}") for p in tmp_path.iterdir())
        )

    before = catalog_snapshot(root / "both")
    began, seconds = run_timed(cmd(tmp_path / "whole"), writing(tmp_path / "whole"))
    reference = tree_digest(tmp_path / "whole")
    assert any(p.endswith(".parquet") for p in reference)
    partial = 0
    for seed in SEEDS:
        out = tmp_path / f"killed-{seed}"
        run_killed(cmd(out), seconds - began, seed, writing(out))
        partial += not (out.exists() and tree_digest(out) == reference)
        # A kill after the finished export was moved into place leaves it complete,
        # and any export refuses a non-empty folder: the README's rerun is --overwrite.
        run_whole(cmd(out, "--overwrite"))
        assert tree_digest(out) == reference, f"seed {seed}"
    assert partial >= 2, f"only {partial} of {len(SEEDS)} kills interrupted the export"
    # No hidden temporary folder is left next to the exports; the catalog is untouched.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["whole", *(f"killed-{s}" for s in SEEDS)]
    )
    assert catalog_snapshot(root / "both") == before


@pytest.mark.slow
@pytest.mark.browser
def test_scrape_killed_anywhere(tmp_path, make_fake_search):
    server = make_fake_search(n_good=14, faults=False, image_delay_s=0.15, distinct_per_query=True)
    root = tmp_path / "datasets"
    with Catalog.open(root, "empty"):
        pass

    def cmd(dataset: str) -> list[str]:
        return facesift_cmd(
            root, dataset, "scrape", "--emotions", "happy,sad", "--base-url", server.base,
            "--allow-private-hosts", "--limit", "12", "--concurrency", "2", "--per-host", "2",
            "--delay", "0",
        )  # fmt: skip

    check_killed_runs(root, "empty", cmd, "scrape")
    reference = catalog_snapshot(root / "scrape-whole")
    assert len(reference["results"]) == 24 and len(reference["images"]) == 24


def test_sqlite_is_opened_only_through_catalog_db(catalog):
    """Every stage's connection has WAL and the busy timeout: there is one way to open one."""
    sources = [
        p for p in REPO.rglob("*.py") if not p.relative_to(REPO).parts[0].startswith((".", "tests"))
    ]
    assert len(sources) > 40
    opening = [
        p.relative_to(REPO).as_posix() for p in sources if "sqlite3.connect(" in p.read_text()
    ]
    assert opening == ["catalog/db.py"]
    conn = catalog.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
