"""Reading the stored chips and landmarks of catalog faces into feature inputs.

The feature pass runs on the one executor (:mod:`core.executor`): this process
reads each face's chip **bytes** (a Dask worker on another machine needs no access
to the dataset folder) and sends them with the chip's padding and landmarks; a
worker decodes them and computes the feature rows (HOG, LBP, landmarks and the
expression prior, whose weights it loads once); the rows come back in face
order. A chip that cannot be read or decoded is reported back, not raised: the
face is left out and listed in :attr:`FaceMatrix.missing`. A worker's batch is
the same :data:`BATCH` faces whatever the engine, so the matrix does not depend on it.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from catalog.dataset import Catalog, DatasetError
from catalog.predictions import FaceRow
from core.executor import Executor, Job, default_workers, map_in_order, open_executor
from faces import prior
from faces.defaults import CHIP_PADDING
from faces.models import dnn_loaded_here
from model.features import FaceInput, face_features, feature_count, parse_landmarks

# Faces per feature batch, and per worker task, whatever the engine: the prior's
# float32 convolutions give last-bit differences when the same face is computed in
# a batch of another size, so a fixed batch keeps the matrix the same everywhere.
BATCH = 256
# A pass over fewer faces runs in this process unless workers or a scheduler are
# asked for: one batch gains nothing from workers, and the pool's start-up (measured:
# 0.1-0.2 s forked, about 0.5 s from a fresh interpreter) is paid back once a second
# batch of some 50 faces (6-10 ms each) is computed alongside the first.
INLINE_BELOW = 300
# A task of chips (or a photo's bytes, for predict) can be over 10 MB: Dask's advice to
# load such data "with Dask directly" does not apply to bytes that exist only here.
warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
# What a chip that Pillow cannot decode raises (a truncated PNG: OSError; others rarer).
_UNDECODABLE = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


@dataclass
class FaceMatrix:
    """Features of the faces whose chip could be read, and the faces left out."""

    rows: list[FaceRow]
    X: np.ndarray
    missing: list[int]  # face ids whose chip file is gone or unreadable


@dataclass(frozen=True)
class ChipTask:
    """What a worker computes one face's features from: no path, only bytes and numbers."""

    face_id: int
    png: bytes | None  # the stored chip file's bytes; None: this process could not read it
    padding: float  # the chip's padding (faces.chip_padding)
    landmarks: str | None  # the faces.landmarks column (JSON), parsed by the worker


def chip_task(cat: Catalog, row: FaceRow) -> ChipTask:
    """A face's task: its chip file's bytes (None if gone or unreadable), padding and landmarks."""
    data = None
    if row.chip_path:
        with contextlib.suppress(OSError, DatasetError):
            data = cat.paths.resolve(row.chip_path).read_bytes()
    # A chip stored without its padding was made with the extract stage's default.
    padding = CHIP_PADDING if row.chip_padding is None else float(row.chip_padding)
    return ChipTask(row.face_id, data, padding, row.landmarks)


def decode_chip(task: ChipTask) -> FaceInput | None:
    """The task's chip (RGB, as stored) and landmarks; None if the bytes do not decode."""
    if task.png is None:
        return None
    try:
        with Image.open(io.BytesIO(task.png)) as img:
            chip = np.asarray(img.convert("RGB"))
    except _UNDECODABLE:
        return None
    return FaceInput(chip, task.padding, parse_landmarks(task.landmarks))


def face_input(cat: Catalog, row: FaceRow) -> FaceInput | None:
    """A face's chip (as stored) and landmarks; None if the chip cannot be read."""
    return decode_chip(chip_task(cat, row))


@dataclass(frozen=True)
class WorkerConfig:
    """What a feature worker is set up with (picklable and hashable)."""

    # BLAS threads per worker process: one where there is a worker per core (the
    # prior's convolutions would otherwise start a thread per core in every worker);
    # None: as they are (work done in this process).
    blas_threads: int | None = None


def limit_blas_threads(n: int | None) -> None:
    """At most ``n`` BLAS threads in this process (None: leave them as they are)."""
    if n is not None:
        from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

        threadpool_limits(n, user_api="blas")


def load_feature_worker(config: WorkerConfig) -> prior.Network:
    """A worker's state, loaded once per process by the executor: the prior's weights."""
    limit_blas_threads(config.blas_threads)
    return prior.default_network()


def feature_rows(network: prior.Network, tasks: list[ChipTask]) -> list[np.ndarray | None]:
    """Each task's feature row, or None for a chip that does not decode (the executor's job).

    The decodable chips of the batch are computed together, as one call of
    :func:`model.features.face_features`.
    """
    faces: list[FaceInput] = []
    where: list[int] = []
    for i, task in enumerate(tasks):
        face = decode_chip(task)
        if face is not None:
            faces.append(face)
            where.append(i)
    out: list[np.ndarray | None] = [None] * len(tasks)
    if faces:
        X = face_features(faces, network)
        for i, row in zip(where, X, strict=True):
            out[i] = row
    return out


def feature_job(executor: Executor) -> Job[ChipTask, np.ndarray | None]:
    """The feature pass as the executor's job (one BLAS thread per worker process)."""
    blas = None if executor.name == "inline" else 1
    return Job(feature_rows, load_feature_worker, WorkerConfig(blas_threads=blas))


@contextlib.contextmanager
def feature_executor(
    faces: int, workers: int | None = None, scheduler: str | None = None
) -> Iterator[Executor]:
    """The engine for a feature pass over ``faces`` faces, closed on leaving.

    ``scheduler``: Dask (``local`` or an address). Else ``workers`` processes (0: this
    process), never more than there are batches; by default one per core, or this
    process for a pass under :data:`INLINE_BELOW` faces.
    """
    if not scheduler:
        if workers is None and faces < INLINE_BELOW:
            workers = 0
        elif workers != 0:
            workers = min(workers or default_workers(), max(1, -(-faces // BATCH)))
    with open_executor(scheduler, workers, may_fork=not dnn_loaded_here()) as ex:
        yield ex


def features_of(
    cat: Catalog,
    rows: Sequence[FaceRow],
    on_batch: Callable[[int, int], None] | None = None,
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> FaceMatrix:
    """The feature matrix of ``rows`` (in order), skipping faces whose chip is unreadable.

    Runs on ``executor`` if given (a caller with several passes opens one with
    :func:`feature_executor`), else on one opened for this pass (``workers`` and
    ``scheduler`` as there). ``on_batch(done, total)`` after every :data:`BATCH` faces.
    """
    if executor is None:
        with feature_executor(len(rows), workers, scheduler) as ex:
            return features_of(cat, rows, on_batch, executor=ex)
    kept: list[FaceRow] = []
    missing: list[int] = []
    found: list[np.ndarray] = []
    tasks = (chip_task(cat, row) for row in rows)  # read as the workers need them
    results = map_in_order(executor, feature_job(executor), tasks, BATCH)
    for done, (row, (_, result)) in enumerate(zip(rows, results, strict=True), 1):
        if result is None:
            missing.append(row.face_id)
        else:
            kept.append(row)
            found.append(result)
        if on_batch is not None and (done % BATCH == 0 or done == len(rows)):
            on_batch(done, len(rows))
    X = np.vstack(found) if found else np.zeros((0, feature_count()), dtype=np.float32)
    return FaceMatrix(kept, X, missing)
