"""``facesift predict``: every face of a photo, a folder or a video, boxed, with its top labels.

Faces are found, landmarked and aligned by the extract stage's own finder
(faces.finder), so a face is seen exactly as the model saw the faces it learnt
from; files and video frames are read by the importer's readers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from catalog.dataset import Catalog
from core.contract import Progress, ProgressFn, StageSummary, check_options, option, report
from core.decode import ImageRejected, decode_image
from core.errors import FacesiftError
from core.report import format_table
from faces.defaults import CHIP_PADDING
from faces.detect import Detection, DetectParams
from faces.finder import find_aligned_faces
from faces.models import Models, load_models
from faces.options import CASCADES, DETECTORS, ExtractOptions
from importer.defaults import DEFAULT_FPS
from importer.items import Candidate, Refusal
from importer.readers import ReadOptions, read_file, read_folder
from importer.video import VideoOptions
from model import classifier
from model.features import FaceInput, face_features
from model.store import LoadedModel, require_model

STAGE = "predict"
CHIP_SIZE = 128  # features use a 64 px gray face region; a larger chip adds nothing


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
    face_models = face_models or load_models()
    img = rgb if isinstance(rgb, Image.Image) else Image.fromarray(np.asarray(rgb, dtype=np.uint8))
    faces = aligned_faces(face_models, img.convert("RGB"), detect or DetectParams())
    if not faces:
        return []
    inputs = [face for _, face in faces]
    probs = classifier.probabilities(model.estimator, face_features(inputs), model.classes)
    return [
        FacePrediction(det.box, top_labels(p, model.classes, top))
        for (det, _), p in zip(faces, probs, strict=True)
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


def predict_path(
    cat: Catalog, opts: PredictOptions, *, on_progress: ProgressFn | None = None
) -> PredictSummary:
    """Predict every face of every image (or video frame) under ``opts.path``.

    Uses the dataset's newest model (ModelError when it has none). An input that
    is not an image is listed with its reason, not fatal.
    """
    check_options(opts)
    model = require_model(cat)
    face_models = load_models(opts.detector)
    params = DetectParams(detector=opts.detector, cascade=opts.cascade)
    started = time.monotonic()
    out: list[FilePrediction] = []
    for n, item in enumerate(_candidates(Path(opts.path), opts.fps), 1):
        if isinstance(item, Refusal):
            out.append(FilePrediction(item.import_path, error=item.text))
            continue
        try:
            decoded = decode_image(item.data)
        except ImageRejected as e:
            out.append(FilePrediction(item.import_path, error=str(e)))
            continue
        faces = predict_image(
            model, decoded.rgb, top=opts.top, face_models=face_models, detect=params
        )
        out.append(
            FilePrediction(item.import_path, tuple(faces), item.frame_index, item.frame_time)
        )
        report(
            on_progress,
            Progress(STAGE, n, None, "image", f"{sum(len(f.faces) for f in out)} faces"),
        )
    return PredictSummary(model.id, out, round(time.monotonic() - started, 3))
