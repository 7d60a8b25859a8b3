"""The work done for one image, in a worker: decode, detect, align, measure, encode chips.

A worker is pure: an image (its bytes, or a path it can read) in, face records and
chip PNG bytes out. Its models are loaded once per worker process by the executor
(:func:`load_worker`); the driver alone writes the chips and the catalog
(:func:`faces.stage.write_results`), so a cluster needs no shared filesystem.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from catalog.faces import GIVEN_STEP, FaceRow
from core.decode import DecodeLimits, ImageRejected, decode_image
from core.storage import content_relpath, sha256_hex
from faces.chips import chip_png
from faces.defaults import CHIP_PADDING, CHIP_SIZE
from faces.detect import Detection, DetectParams
from faces.finder import FoundFace, Located, align_located, locate_faces
from faces.models import Models, load_models
from faces.neardup import phash
from faces.quality import chip_figures, roll_degrees, yaw_pitch_degrees

T = TypeVar("T")


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs besides the image: picklable and hashable (the executor
    loads one worker state per config)."""

    detect: DetectParams = field(default_factory=DetectParams)
    chip_size: int = CHIP_SIZE
    padding: float = CHIP_PADDING
    embeddings: bool = False
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    whole_image: bool = False  # every image is a face crop (else only those marked so)


@dataclass(frozen=True)
class ImageResult:
    """The outcome for one image: 'done' with faces, 'no_face', or 'error' with a reason."""

    image_id: int
    status: str
    reason: str | None = None
    faces: list[FaceRow] = field(default_factory=list)
    chips: list[bytes] = field(
        default_factory=list
    )  # each face's chip PNG, for the driver to store


@dataclass(frozen=True)
class ImageTask:
    """One image to process: its catalog id, the absolute path of its file, whether a crop."""

    image_id: int
    path: str
    face_crop: bool = False  # images.is_face_crop: the whole image is the face
    data: bytes | None = None  # the file's bytes, sent where the worker cannot read the path
    given_box: tuple[int, int, int, int] | None = None  # a corpus's face box (AffectNet)


def process_image(models: Models, config: WorkerConfig, task: ImageTask) -> ImageResult:
    """Decode, detect, align and measure one image; never raises for a bad image."""
    located = locate(models, config, task)
    return located if isinstance(located, ImageResult) else measure(models, config, located)


def locate(
    models: Models, config: WorkerConfig, task: ImageTask
) -> ImageResult | tuple[ImageTask, Located]:
    """Read, decode and detect one image: its located faces, or its outcome where that
    ends it (unreadable, no face). Never raises for a bad image."""
    if task.data is None and not task.path:
        return ImageResult(task.image_id, "error", "bad_path: the stored path leaves the dataset")
    try:
        data = task.data if task.data is not None else Path(task.path).read_bytes()
    except FileNotFoundError:
        return ImageResult(task.image_id, "error", "missing: the stored file is gone")
    except OSError as e:
        return ImageResult(task.image_id, "error", f"unreadable: {e.strerror or e}")

    def run() -> Located:
        img = decode_image(data, config.limits).rgb
        whole = task.face_crop or config.whole_image
        if task.given_box is not None and not whole:
            return given_located(img, task.given_box)
        return locate_faces(models, img, config.detect, whole=whole)

    located = _guarded(task.image_id, run)
    if isinstance(located, ImageResult):
        return located
    if not located.detections:
        return ImageResult(task.image_id, "no_face")
    return task, located


def measure(
    models: Models, config: WorkerConfig, located: tuple[ImageTask, Located]
) -> ImageResult:
    """Landmarks, chips and figures of an image's located faces; never raises."""
    task, faces = located
    rows = _guarded(task.image_id, lambda: measured_faces(models, config, faces))
    if isinstance(rows, ImageResult):
        return rows
    return ImageResult(task.image_id, "done", None, [f for f, _ in rows], [c for _, c in rows])


def _guarded(image_id: int, run: Callable[[], T]) -> T | ImageResult:
    """``run()``, or the image's error outcome where it raises."""
    try:
        return run()
    except ImageRejected as e:
        return ImageResult(image_id, "error", _stable(str(e)))
    except MemoryError:
        return ImageResult(image_id, "error", "too_large: out of memory")
    except Exception as e:  # one odd image must not stop a run of thousands
        return ImageResult(image_id, "error", _stable(f"internal: {type(e).__name__}: {e}"))


def find_faces(
    models: Models, config: WorkerConfig, img: Image.Image, *, whole: bool = False
) -> list[tuple[FaceRow, bytes]]:
    """Every face of an upright RGB image, measured, with its chip's PNG bytes.

    With ``whole`` the image is one face crop: its box is the image (no detector runs).
    Faces are found, landmarked and aligned by :mod:`faces.finder`, as predict finds them.
    """
    return measured_faces(models, config, locate_faces(models, img, config.detect, whole=whole))


def measured_faces(
    models: Models, config: WorkerConfig, located: Located
) -> list[tuple[FaceRow, bytes]]:
    """Each located face landmarked, aligned and measured, with its chip's PNG bytes."""
    found = align_located(
        models,
        located,
        chip_size=config.chip_size,
        padding=config.padding,
        descriptors=models.descriptor is not None,
    )
    return [face_row(config, i, face) for i, face in enumerate(found)]


def given_located(img: Image.Image, box: tuple[int, int, int, int]) -> Located:
    """The one face a corpus boxed (AffectNet): no detector runs, landmarks are fitted in it;
    near the image's edge its chip shrinks, inventing no pixels."""
    width, height = img.size
    left, top, right, bottom = box
    clipped = (max(left, 0), max(top, 0), min(right, width - 1), min(bottom, height - 1))
    det = Detection(clipped, box, None, None, None, clipped != tuple(box), GIVEN_STEP)
    return Located(img, np.asarray(img), [det], inside=True)


def face_row(config: WorkerConfig, index: int, face: FoundFace) -> tuple[FaceRow, bytes]:
    """One found face measured: figures, hashes, and its chip's PNG with the path it goes to."""
    det, points, chip = face.detection, face.points, face.chip
    png = chip_png(chip)
    chip_path = content_relpath("chips", sha256_hex(png), "png")
    figures = chip_figures(chip, face.padding)
    yaw, pitch = yaw_pitch_degrees(points)
    left, top, right, bottom = det.raw_box
    embedding = None
    if face.descriptor is not None:
        embedding = np.asarray(face.descriptor, dtype="<f4").tobytes()
    row = FaceRow(
        face_index=index,
        box=det.box,
        detector=det.step,
        score=det.score,
        subdetector=det.subdetector,
        upsample=det.upsample,
        landmarks=_landmarks_json(points),
        chip_path=chip_path,
        chip_size=config.chip_size,
        chip_padding=face.padding,
        size_px=math.sqrt(max(right - left, 0) * max(bottom - top, 0)),
        sharpness=figures.sharpness,
        brightness=figures.brightness,
        contrast=figures.contrast,
        roll=roll_degrees(points),
        yaw=yaw,
        pitch=pitch,
        border_cut=int(det.border_cut),
        phash=phash(Image.fromarray(chip)),
        embedding=embedding,
    )
    return row, png


def _stable(reason: str) -> str:
    """A reason without object addresses, so that reruns record the same text."""
    return _ADDRESS.sub("", reason)


_ADDRESS = re.compile(r" ?<[^<>]* at 0x[0-9a-fA-F]+>")


def _landmarks_json(points: np.ndarray) -> str:
    # np.rint rounds half to even, as Python's round(): the same text, a third of the time.
    xy = np.rint(points).astype(np.int64).tolist()
    return "[" + ",".join(f"[{x},{y}]" for x, y in xy) + "]"


# --- the executor's side -------------------------------------------------------------


def load_worker(config: WorkerConfig) -> tuple[Models, WorkerConfig]:
    """A worker's state, loaded once per process by the executor: the models and the config."""
    return load_models(config.detect.detector, config.embeddings), config


def process_batch(state: tuple[Models, WorkerConfig], tasks: list[ImageTask]) -> list[ImageResult]:
    """Process a few images with a worker's loaded state (the executor's job function).

    The batch's images are all located first, and then all their faces landmarked
    and measured: dlib's 68-point model (65 MB of regression trees) stays in the
    CPU's caches from one fit to the next, where a detection in between evicted it
    (0.77 s for the 439 fits of the web-like benchmark set one image at a time, 0.63 s
    in batches of 4 images, 0.53 s in 16). The located images wait in memory, at most
    HELD_BYTES of them.
    """
    models, config = state
    results: list[ImageResult | None] = []
    held: list[tuple[int, tuple[ImageTask, Located]]] = []

    def measure_held() -> None:
        for i, located in held:
            results[i] = measure(models, config, located)
        held.clear()

    for task in tasks:
        located = locate(models, config, task)
        if isinstance(located, ImageResult):
            results.append(located)
            continue
        results.append(None)
        held.append((len(results) - 1, located))
        # Each held image is there twice: as decoded (Pillow) and as an array.
        if sum(2 * loc.rgb.nbytes for _, (_, loc) in held) >= HELD_BYTES:
            measure_held()
    measure_held()
    _release_memory()
    return [r for r in results if r is not None]


HELD_BYTES = 48 << 20  # located images a batch keeps before measuring their faces


def _release_memory() -> None:
    """Hand freed heap back to the system (glibc keeps it after a large image otherwise).

    Without it a worker's resident memory stays at the high-water mark of the
    largest image it has seen (about +140 MB over the test photos). A trim costs a
    few milliseconds, as much as the rest of a small image's work beside detection:
    it runs only once resident memory has grown by TRIM_GROWTH since the last one.
    """
    global _trimmed_at
    if _malloc_trim is None:
        return
    rss = _resident_bytes()
    if rss is not None and rss - _trimmed_at < TRIM_GROWTH:
        return
    _malloc_trim(0)
    _trimmed_at = _resident_bytes() or 0


TRIM_GROWTH = 64 << 20  # bytes
_trimmed_at = 0  # resident bytes after this process's last trim


def _resident_bytes() -> int | None:
    """This process's resident memory (Linux), or None where /proc does not tell."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _load_malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        return None


_malloc_trim = _load_malloc_trim()
