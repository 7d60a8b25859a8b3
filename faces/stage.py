"""The extract stage: every stored image not yet processed -> face rows, chips and figures.

Images are streamed from the catalog in id order, processed in chunks by a
process pool (models loaded once per worker) and written back by this process
alone, many images per transaction. An image's faces and its status are written
in the same transaction, so a killed run resumes exactly where it stopped and a
rerun is a no-op. Near-duplicate groups are then brought up to date over the
whole dataset from the stored hashes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from catalog.dataset import Catalog
from catalog.db import transaction, utc_now
from catalog.faces import DETECTOR_STEPS, insert_face
from core.contract import Progress, ProgressFn, StageSummary, check_options, report
from core.errors import FacesiftError
from faces.detect import DetectParams
from faces.dupgroups import update_dup_groups
from faces.models import (
    CNN_DETECTOR,
    FACE_DESCRIPTOR,
    LANDMARKS_68,
    dnn_loaded_here,
    model_path,
)
from faces.options import ExtractOptions
from faces.worker import ImageResult, ImageTask, WorkerConfig, init_worker, process_chunk

MAX_WAITING = 64  # finished chunks held for in-order writing (a few KB each)
CRASHED = "worker_crashed: the image killed the worker process (out of memory or a crash in dlib)"


class ExtractError(FacesiftError):
    """Extraction cannot start as asked."""


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


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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
    if opts.retry_errors:
        with transaction(conn):
            conn.execute(
                "UPDATE images SET extract_status = NULL, extract_reason = NULL, "
                "extracted_at = NULL WHERE extract_status = 'error'"
            )
    pending = conn.execute("SELECT COUNT(*) FROM images WHERE extract_status IS NULL").fetchone()[0]
    config = WorkerConfig(
        dataset_dir=str(cat.paths.dir.resolve()),
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
        try:
            tasks = _pending_tasks(cat)
            last_write = time.monotonic()
            for r in _run_pool(_chunks(tasks, opts.chunk_size), config, workers):
                batch.append(r)
                counts[r.status] += 1
                found += len(r.faces)
                steps.update(f.detector for f in r.faces)
                tick()
                due = time.monotonic() - last_write >= opts.max_seconds_between_writes
                if len(batch) >= opts.batch_size or due:
                    faces += write_results(conn, batch)
                    batch, last_write = [], time.monotonic()
            faces += write_results(conn, batch)
        except BaseException:
            # Ctrl-C, a full disk...: keep the images already done; the rest waits.
            with contextlib.suppress(Exception):
                write_results(conn, batch)
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


def _pending_tasks(cat: Catalog, page: int = 1000) -> Iterator[ImageTask]:
    """Unprocessed images in id order, read a page at a time (memory stays flat)."""
    last = 0
    while True:
        rows = cat.conn.execute(
            "SELECT id, path, is_face_crop FROM images WHERE extract_status IS NULL AND id > ? "
            "ORDER BY id LIMIT ?",
            (last, page),
        ).fetchall()
        if not rows:
            return
        for image_id, relpath, face_crop in rows:
            try:
                path = str(cat.paths.resolve(relpath))
            except FacesiftError:
                path = ""  # a stored path that leaves the dataset: recorded as bad_path
            yield ImageTask(image_id, path, bool(face_crop))
        last = rows[-1][0]


def _chunks(tasks: Iterable[ImageTask], size: int) -> Iterator[list[ImageTask]]:
    chunk: list[ImageTask] = []
    for t in tasks:
        chunk.append(t)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pool(config: WorkerConfig, workers: int) -> ProcessPoolExecutor:
    # fork where there is one: workers start at once with the modules already
    # imported, and callers need no ``if __name__ == "__main__"`` guard (spawn
    # and forkserver re-import the caller's main module in every worker). Not
    # from a process that has run one of dlib's networks (the review app's Try
    # it page, a test): a forked worker would hang on its thread pool.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and not dnn_loaded_here():
        ctx = multiprocessing.get_context("fork")
    else:
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=init_worker, initargs=(config,))


def _run_pool(
    chunks: Iterable[list[ImageTask]], config: WorkerConfig, workers: int
) -> Iterator[ImageResult]:
    """Results in submission order, with a bounded number of chunks in flight.

    A worker that dies (out of memory, a crash in native code) breaks the pool:
    the chunks in flight are then retried one image at a time in a new pool, so
    only the image that kills a worker on its own is recorded as an error.
    """
    source = iter(chunks)
    # Workers are kept fed while a slow chunk holds up the in-order results: up
    # to two chunks each are running or queued, and up to MAX_WAITING chunks may
    # be done and waiting for an older one.
    max_running = workers * 2
    inflight: deque[tuple[Future, list[ImageTask], bool]] = deque()
    retry: deque[ImageTask] = deque()
    executor = _pool(config, workers)
    try:
        while True:
            if retry:
                if not inflight:  # isolated: one image at a time until the retries are done
                    t = retry.popleft()
                    inflight.append((executor.submit(process_chunk, [t]), [t], True))
            else:
                running = sum(not f.done() for f, _, _ in inflight)
                while running < max_running and len(inflight) < MAX_WAITING + max_running:
                    chunk = next(source, None)
                    if chunk is None:
                        break
                    try:
                        future = executor.submit(process_chunk, chunk)
                    except BrokenProcessPool:  # a worker died since: see below
                        retry.extend(chunk)
                        break
                    inflight.append((future, chunk, False))
                    running += 1
            if not inflight:
                return
            if not inflight[0][0].done():
                # Only on the running ones: a finished one would return at once (a busy loop).
                wait([f for f, _, _ in inflight if not f.done()], return_when=FIRST_COMPLETED)
                continue
            future, tasks, isolated = inflight.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                executor.shutdown(wait=True, cancel_futures=True)
                if isolated:
                    yield from (ImageResult(t.image_id, "error", CRASHED) for t in tasks)
                else:
                    retry.extend(tasks)
                for _, others, _ in inflight:
                    retry.extend(others)
                inflight.clear()
                executor = _pool(config, workers)
                continue
            yield from results
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def write_results(conn: sqlite3.Connection, batch: list[ImageResult]) -> int:
    """Record a batch of image outcomes (faces and status together); return faces added.

    An image that another run has processed meanwhile is left as it is.
    """
    added = 0
    now = utc_now()
    with transaction(conn):
        for r in batch:
            row = conn.execute(
                "SELECT extract_status FROM images WHERE id = ?", (r.image_id,)
            ).fetchone()
            if row is None or row[0] is not None:
                continue
            has_faces = conn.execute(
                "SELECT 1 FROM faces WHERE image_id = ? LIMIT 1", (r.image_id,)
            ).fetchone()
            if r.status == "done" and not has_faces:
                for f in r.faces:
                    insert_face(conn, r.image_id, f)
                added += len(r.faces)
            conn.execute(
                "UPDATE images SET extract_status = ?, extract_reason = ?, extracted_at = ? "
                "WHERE id = ?",
                (r.status, r.reason, now, r.image_id),
            )
    return added
