"""``facesift predict``: every face of a photo, a folder or a video, boxed, with its top labels.

Faces are found, landmarked and aligned by the extract stage's own finder
(faces.finder), so a face is seen exactly as the model saw the faces it learnt
from; files and video frames are read by the importer's readers.

The per-image work runs on the one executor (:mod:`core.executor`): a worker
decodes an image (its bytes travel: a Dask worker needs no access to the files),
finds its faces and computes their feature rows, with the face models loaded once
per worker; this process applies the classifier (cheap) and lists the images in
the order they were read, whichever worker finished first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
from PIL import Image

from catalog.dataset import Catalog
from core.contract import Progress, ProgressFn, StageSummary, check_options, option, report
from core.decode import ImageRejected, decode_image
from core.errors import FacesiftError
from core.executor import (
    Executor,
    Job,
    map_in_order,
    open_executor,
    scheduler_option,
    workers_option,
)
from core.report import format_table
from faces import prior
from faces.defaults import CHIP_PADDING
from faces.detect import Detection, DetectParams
from faces.finder import find_aligned_faces
from faces.models import Models, dnn_loaded_here, load_models, preload_for_fork
from faces.options import CASCADES, DETECTORS, ExtractOptions
from importer.defaults import DEFAULT_FPS
from importer.items import Candidate, Refusal
from importer.readers import ReadOptions, read_file, read_folder
from importer.video import VideoOptions
from model import classifier
from model.features import FaceInput, face_features
from model.inputs import limit_blas_threads
from model.store import LoadedModel, require_model

STAGE = "predict"
CHIP_SIZE = 128  # features use a 64 px gray face region; a larger chip adds nothing
BATCH = 1  # images per worker task: an image is up to seconds of work, a frame much less
# Fewer images than this are predicted in this process unless workers or a scheduler
# are asked for: every worker first loads the face models (1-2 s, the landmark model),
# which a handful of images (0.1-0.5 s each at 640 px) does not pay back (measured:
# 8 photos took 2.9 s here, 3.5-4.5 s on two workers).
INLINE_BELOW = 16
CRASHED = "worker_crashed: the image killed the worker process (out of memory or a crash in dlib)"


@dataclass(frozen=True)
class FacePrediction:
    """One face: its box (left, top, right, bottom; image pixels) and its top labels."""

    box: tuple[int, int, int, int]
    top: tuple[tuple[str, float], ...]  # (label, score), best first

    def as_dict(self) -> dict:
        """``{"box": [l, t, r, b], "top": [{"label", "score"}, ...]}``."""
        return {
            "box": list(self.box),
            "top": [{"label": label, "score": round(score, 4)} for label, score in self.top],
        }


@dataclass(frozen=True)
class FilePrediction:
    """The faces of one image (or one video frame), or why it could not be read."""

    file: str
    faces: tuple[FacePrediction, ...] = ()
    frame: int | None = None  # video frame index
    time: float | None = None  # video frame time, seconds
    error: str | None = None

    def as_dict(self) -> dict:
        """The ``predict --json`` record: file and faces, plus frame/time/error when set."""
        d: dict = {"file": self.file, "faces": [f.as_dict() for f in self.faces]}
        if self.frame is not None:
            d["frame"] = self.frame
            d["time"] = self.time
        if self.error is not None:
            d["error"] = self.error
        return d


@dataclass(frozen=True)
class PredictOptions:
    """What to predict on and how to show it (faces found with extract's defaults and choices)."""

    path: Path = option(
        help="a photo, a video, or a folder of them", positional=True, metavar="PATH"
    )
    top: int = option(3, help="labels shown per face", metavar="K", low=1, high=50)
    json: bool = option(False, help="print JSON instead of a table")
    fps: float = option(
        DEFAULT_FPS, help="video frames read per second of video", metavar="N", low=0.001, high=240
    )
    cascade: str = option(
        ExtractOptions.cascade,
        help="where HOG finds no face, try a framed copy and dlib's CNN (as extract does); "
        "'off' is faster on frames without faces",
        choices=CASCADES,
    )
    detector: str = option(
        ExtractOptions.detector, help="face detector", choices=DETECTORS, cli=False
    )
    workers: int | None = workers_option(
        f"worker processes (default: one per core, none under {INLINE_BELOW} images; "
        "with --scheduler local, the LocalCluster's)"
    )
    scheduler: str | None = scheduler_option()


@dataclass
class PredictSummary(StageSummary):
    """Every file's faces and their top labels."""

    model_id: str
    files: list[FilePrediction] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def faces(self) -> int:
        """Faces found over all files."""
        return sum(len(f.faces) for f in self.files)

    def line(self) -> str:
        """How many files and faces, by which model, how fast."""
        rate = self.faces / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.faces} faces in {len(self.files)} images by model {self.model_id} "
            f"({self.seconds:.1f} s, {rate:.1f} faces/s)"
        )

    def records(self) -> list[dict]:
        """The ``--json`` list."""
        return [f.as_dict() for f in self.files]

    def table(self) -> str:
        """One row per face: file, box, top labels with scores."""
        rows = []
        for f in self.files:
            name = f.file if f.frame is None else f"{f.file}#{f.frame}"
            if f.error:
                rows.append((name, "-", f"error: {f.error}"))
            elif not f.faces:
                rows.append((name, "-", "no face"))
            for face in f.faces:
                top = ", ".join(f"{label} {score:.2f}" for label, score in face.top)
                rows.append((name, ",".join(map(str, face.box)), top))
        return format_table(("file", "box", "top"), rows, free_last=True)


def predict_image(
    model: LoadedModel,
    rgb: np.ndarray | Image.Image,
    *,
    top: int = 3,
    face_models: Models | None = None,
    detect: DetectParams | None = None,
) -> list[FacePrediction]:
    """Every face of an upright RGB image with the model's ``top`` labels, in detection order.

    ``face_models`` is ``faces.models.load_models()``; pass it when predicting more
    than one image (loading the landmark model takes about a second).
    """
    found = image_faces(face_models or load_models(), rgb, detect or DetectParams())
    return label_faces(model, found, top)


@dataclass(frozen=True)
class ImageFaces:
    """What a worker returns for one image: its faces' boxes and feature rows, or why not."""

    boxes: tuple[tuple[int, int, int, int], ...] = ()  # in detection order
    X: np.ndarray | None = None  # (faces, features): a row per box
    error: str | None = None  # the image could not be read


def image_faces(
    face_models: Models,
    rgb: np.ndarray | Image.Image,
    params: DetectParams,
    network: prior.Network | None = None,
) -> ImageFaces:
    """The faces of an upright RGB image: boxes and feature rows (the model not applied)."""
    img = rgb if isinstance(rgb, Image.Image) else Image.fromarray(np.asarray(rgb, dtype=np.uint8))
    faces = aligned_faces(face_models, img.convert("RGB"), params)
    if not faces:
        return ImageFaces()
    X = face_features([face for _, face in faces], network)
    return ImageFaces(tuple(det.box for det, _ in faces), X)


def label_faces(model: LoadedModel, found: ImageFaces, top: int) -> list[FacePrediction]:
    """The model's ``top`` labels for each face of an image, in detection order."""
    if not found.boxes or found.X is None:
        return []
    probs = classifier.probabilities(model.estimator, found.X, model.classes)
    return [
        FacePrediction(box, top_labels(p, model.classes, top))
        for box, p in zip(found.boxes, probs, strict=True)
    ]


def aligned_faces(
    face_models: Models, img: Image.Image, params: DetectParams, *, chip_size: int = CHIP_SIZE
) -> list[tuple[Detection, FaceInput]]:
    """Every face of an RGB image, with its detection (box in image pixels), found,
    landmarked and aligned by the extract stage's own finder
    (:func:`faces.finder.find_aligned_faces`)."""
    found = find_aligned_faces(face_models, img, params, chip_size=chip_size, padding=CHIP_PADDING)
    return [
        (face.detection, FaceInput(np.asarray(face.chip), face.padding, face.points))
        for face in found
    ]


def top_labels(p: np.ndarray, classes: tuple[str, ...], k: int) -> tuple[tuple[str, float], ...]:
    """The ``k`` most probable classes with their probabilities, best first (ties: class order)."""
    order = sorted(range(len(classes)), key=lambda i: (-p[i], i))[:k]
    return tuple((classes[i], float(p[i])) for i in order)


def _candidates(path: Path, fps: float) -> Iterator[Candidate | Refusal]:
    opts = ReadOptions(video=VideoOptions(fps=fps))
    if path.is_dir():
        yield from read_folder(path, opts)
    elif path.is_file():
        yield from read_file(path, str(path), None, opts)
    else:
        raise FacesiftError(f"{path}: no such file or folder")


@dataclass(frozen=True)
class WorkerConfig:
    """What a predict worker is set up with (picklable and hashable)."""

    detect: DetectParams
    blas_threads: int | None = None  # see model.inputs.WorkerConfig


def load_worker(config: WorkerConfig) -> tuple[Models, prior.Network, DetectParams]:
    """A worker's state, loaded once per process by the executor: the face models and the prior."""
    limit_blas_threads(config.blas_threads)
    return load_models(config.detect.detector), prior.default_network(), config.detect


def find_faces(
    state: tuple[Models, prior.Network, DetectParams], items: list[Candidate | Refusal]
) -> list[ImageFaces]:
    """Decode each image, find its faces and compute their features (the executor's job)."""
    face_models, network, params = state
    out = []
    for item in items:
        if isinstance(item, Refusal):
            out.append(ImageFaces(error=item.text))
            continue
        try:
            decoded = decode_image(item.data)
        except ImageRejected as e:
            out.append(ImageFaces(error=str(e)))
            continue
        out.append(image_faces(face_models, decoded.rgb, params, network))
    return out


def crashed_image(_item: Candidate | Refusal) -> ImageFaces:
    """What an image that killed its worker on its own is listed as."""
    return ImageFaces(error=CRASHED)


def predict_job(executor: Executor, params: DetectParams) -> Job:
    """The per-image work as the executor's job (one BLAS thread per worker process)."""
    blas = None if executor.name == "inline" else 1
    return Job(
        find_faces,
        load_worker,
        WorkerConfig(params, blas),
        crashed=crashed_image,
        preload=preload_for_fork,
    )


def predict_path(
    cat: Catalog, opts: PredictOptions, *, on_progress: ProgressFn | None = None
) -> PredictSummary:
    """Predict every face of every image (or video frame) under ``opts.path``.

    Uses the dataset's newest model (ModelError when it has none). An input that
    is not an image is listed with its reason, not fatal. Fewer than
    :data:`INLINE_BELOW` images are done in this process unless workers or a
    scheduler are asked for.
    """
    check_options(opts)
    model = require_model(cat)
    params = DetectParams(detector=opts.detector, cascade=opts.cascade)
    started = time.monotonic()
    items = _candidates(Path(opts.path), opts.fps)
    first: list[Candidate | Refusal] = []
    images = 0
    for item in items:  # a look ahead: a few images are done here
        first.append(item)
        images += isinstance(item, Candidate)
        if images >= INLINE_BELOW:
            break
    workers = opts.workers
    if not opts.scheduler and workers is None and images < INLINE_BELOW:
        workers = 0
    out: list[FilePrediction] = []
    faces = 0
    with open_executor(opts.scheduler, workers, may_fork=not dnn_loaded_here()) as ex:
        job = predict_job(ex, params)
        for n, (item, found) in enumerate(map_in_order(ex, job, chain(first, items), BATCH), 1):
            if isinstance(item, Refusal) or found.error is not None:
                out.append(FilePrediction(item.import_path, error=found.error))
            else:
                labelled = tuple(label_faces(model, found, opts.top))
                out.append(
                    FilePrediction(item.import_path, labelled, item.frame_index, item.frame_time)
                )
                faces += len(labelled)
            report(on_progress, Progress(STAGE, n, None, "image", f"{faces} faces"))
    return PredictSummary(model.id, out, round(time.monotonic() - started, 3))
