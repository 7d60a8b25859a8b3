"""The extract stage: every stored image not yet processed -> face rows, chips and figures.

Images are streamed from the catalog in id order, processed in chunks by the
executor (:mod:`core.executor`: a local process pool or Dask; models loaded once
per worker) and written back by this process alone, chips and rows, many images
per transaction. An image's faces and its status are written
in the same transaction, so a killed run resumes exactly where it stopped and a
rerun is a no-op. Near-duplicate groups are then brought up to date over the
whole dataset from the stored hashes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.corpora import given_boxes
from catalog.dataset import Catalog
from catalog.db import transaction, utc_now
from catalog.extraction import (
    awaits_faces,
    count_pending,
    pending_page,
    reset_extract_errors,
    set_extract_status,
)
from catalog.faces import DETECTOR_STEPS, insert_faces
from catalog.images import named_store_paths
from core.contract import Progress, ProgressFn, StageSummary, check_options, report
from core.errors import FacesiftError
from core.executor import Job, default_workers, map_in_order, open_executor
from core.storage import NewFiles, sweep_temp_files
from faces.chips import store_chip
from faces.detect import DetectParams
from faces.dupgroups import update_dup_groups
from faces.models import (
    CNN_DETECTOR,
    FACE_DESCRIPTOR,
    LANDMARKS_68,
    dnn_loaded_here,
    model_path,
    preload_for_fork,
)
from faces.options import ExtractOptions
from faces.worker import ImageResult, ImageTask, WorkerConfig, load_worker, process_batch

DASK_CHUNK = 16  # images per Dask task (the pool's chunk_size is smaller: cheap tasks)
CRASHED = "worker_crashed: the image killed the worker process (out of memory or a crash in dlib)"


class ExtractError(FacesiftError):
    """Extraction cannot start as asked."""


class ChipStoreError(FacesiftError):
    """Chips cannot be written (disk full, a read-only folder): no image can be processed."""


@dataclass(frozen=True)
class ExtractSummary(StageSummary):
    """What one extract run did."""

    images: int  # images processed by this run
    done: int  # ... with faces
    no_face: int
    errors: int
    faces: int  # faces added
    workers: int
    seconds: float
    near_dup_faces_changed: int
    near_dup_groups: int  # groups of two or more faces in the whole dataset
    # faces added by the step that found them: hog, hog+frame, cnn, whole
    by_detector: dict[str, int] = field(default_factory=dict)

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """The one-line account the CLI prints and the app shows."""
        return (
            f"extract: {self.images} images ({self.done} with faces, {self.no_face} without, "
            f"{self.errors} unreadable), {self.faces} faces added{self._steps()}, "
            f"{self.near_dup_groups} near-duplicate groups, {self.images_per_second:.1f} images/s"
        )

    def _steps(self) -> str:
        """`` (hog 40, hog+frame 3, cnn 1)``: which step found the faces, where not HOG alone."""
        if set(self.by_detector) <= {"hog"}:
            return ""
        return " (" + ", ".join(f"{k} {n}" for k, n in self.by_detector.items()) + ")"


def check_models(opts: ExtractOptions) -> None:
    """Refuse options out of bounds (one line), and check the model files they need."""
    check_options(opts)
    model_path(LANDMARKS_68)
    if opts.detector == "cnn" or opts.cascade == "auto":
        model_path(CNN_DETECTOR)
    if opts.embeddings:
        model_path(FACE_DESCRIPTOR)


def extract(
    cat: Catalog, opts: ExtractOptions | None = None, *, on_progress: ProgressFn | None = None
) -> ExtractSummary:
    """Process every image whose extract_status is NULL; then update near-duplicate groups.

    With ``opts.retry_errors`` the images recorded as unreadable are tried again too.
    ``on_progress`` gets images done of those pending, with a running account of faces.
    """
    opts = opts or ExtractOptions()
    check_models(opts)
    started = time.monotonic()
    conn = cat.conn
    sweep_temp_files(cat.paths.dir / "chips")  # a chip a killed run was writing when it died
    if opts.retry_errors:
        reset_extract_errors(conn)
    pending = count_pending(conn)
    config = WorkerConfig(
        detect=DetectParams(opts.detector, opts.upsample, cascade=opts.cascade),
        chip_size=opts.chip_size,
        padding=opts.padding,
        embeddings=opts.embeddings,
        whole_image=opts.whole_image,
    )
    workers = min(opts.workers or default_workers(), max(1, -(-pending // opts.chunk_size)))
    counts = {"done": 0, "no_face": 0, "error": 0}
    faces = found = 0
    steps: Counter[str] = Counter()
    if pending:

        def tick() -> None:
            done = sum(counts.values())
            detail = f"{found} faces, {counts['no_face']} without, {counts['error']} unreadable"
            report(on_progress, Progress("extract", done, pending, "image", detail))

        tick()
        batch: list[ImageResult] = []
        job = Job(
            process_batch, load_worker, config, crashed=crashed_result, preload=preload_for_fork
        )
        try:
            with open_executor(opts.scheduler, workers, may_fork=not dnn_loaded_here()) as ex:
                workers = ex.workers
                # A cluster's workers may not see this disk: the images travel as bytes.
                tasks = _pending_tasks(cat, with_bytes=not ex.shares_files)
                # A Dask task costs milliseconds of scheduling: more images per task there.
                size = opts.chunk_size if ex.name != "dask" else max(opts.chunk_size, DASK_CHUNK)
                last_write = time.monotonic()
                # In image order: face ids (and so export file names) do not depend on timing.
                for _, r in map_in_order(ex, job, tasks, size):
                    batch.append(r)
                    counts[r.status] += 1
                    found += len(r.faces)
                    steps.update(f.detector for f in r.faces)
                    tick()
                    due = time.monotonic() - last_write >= opts.max_seconds_between_writes
                    if len(batch) >= opts.batch_size or due:
                        faces += write_results(conn, batch, cat.paths.dir)
                        batch, last_write = [], time.monotonic()
                faces += write_results(conn, batch, cat.paths.dir)
        except BaseException:
            # Ctrl-C, a full disk...: keep the images already done; the rest waits.
            with contextlib.suppress(Exception):
                write_results(conn, batch, cat.paths.dir)
            raise
    dups = update_dup_groups(conn, opts.near_dup_bits)
    return ExtractSummary(
        images=sum(counts.values()),
        done=counts["done"],
        no_face=counts["no_face"],
        errors=counts["error"],
        faces=faces,
        workers=workers if pending else 0,
        seconds=time.monotonic() - started,
        near_dup_faces_changed=dups.changed,
        near_dup_groups=dups.groups,
        by_detector=dict(sorted(steps.items(), key=lambda kv: _STEP_ORDER.get(kv[0], 9))),
    )


_STEP_ORDER = {step: i for i, step in enumerate(DETECTOR_STEPS)}


def crashed_result(task: ImageTask) -> ImageResult:
    """What an image that killed its worker on its own is recorded as."""
    return ImageResult(task.image_id, "error", CRASHED)


def _pending_tasks(
    cat: Catalog, *, with_bytes: bool = False, page: int = 1000
) -> Iterator[ImageTask]:
    """Unprocessed images in id order, read a page at a time (memory stays flat).

    ``with_bytes``: each task carries its file's bytes (a file this process cannot read
    is left to the worker, which records why).
    """
    last = 0
    while page_rows := pending_page(cat.conn, last, page):
        boxes = given_boxes(cat.conn, [row.image_id for row in page_rows])
        for row in page_rows:
            try:
                path = str(cat.paths.resolve(row.path))
            except FacesiftError:
                path = ""  # a stored path that leaves the dataset: recorded as bad_path
            data = None
            if with_bytes and path:
                with contextlib.suppress(OSError):
                    data = Path(path).read_bytes()
            yield ImageTask(row.image_id, path, row.face_crop, data, boxes.get(row.image_id))
        last = page_rows[-1].image_id


def write_results(conn: sqlite3.Connection, batch: list[ImageResult], dataset_dir: Path) -> int:
    """Record a batch of image outcomes (chips, faces and status together); return faces added.

    An image that another run has processed meanwhile is left as it is. Chips are
    written before the rows that name them, in the same transaction: a row never names
    a missing chip. When the transaction fails (a full disk), the chips it created are
    removed again; a run killed in between leaves chips that the rerun of the same
    image writes again (content-addressed).
    """
    added = 0
    now = utc_now()
    new_files = NewFiles(dataset_dir)
    try:
        with transaction(conn):
            for r in batch:
                pending, has_faces = awaits_faces(conn, r.image_id)
                if not pending:
                    continue
                if r.status == "done" and not has_faces:
                    for png in r.chips:
                        _store_chip(dataset_dir, png, new_files)
                    added += len(insert_faces(conn, r.image_id, r.faces))
                set_extract_status(conn, r.image_id, r.status, r.reason, now)
    except BaseException:
        new_files.discard(keep=lambda rels: named_store_paths(conn, rels))
        raise
    return added


def _store_chip(dataset_dir: Path, png: bytes, new_files: NewFiles) -> None:
    try:
        store_chip(dataset_dir, png, new_files)
    except OSError as e:  # the transaction rolls back: no row names a missing chip
        raise ChipStoreError(f"cannot write chips under {dataset_dir}: {e.strerror or e}") from None
