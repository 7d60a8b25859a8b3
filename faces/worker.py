"""The work done for one image, in a worker process: decode, detect, align, measure, store chips.

Models are loaded once per process by :func:`init_worker` (the pool's
initializer); the parent process alone writes the catalog.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from catalog.faces import FaceRow
from core.decode import DecodeLimits, ImageRejected, decode_image
from core.errors import FacesiftError
from faces.chips import chip_png, store_chip
from faces.defaults import CHIP_PADDING, CHIP_SIZE
from faces.detect import DetectParams
from faces.finder import FoundFace, find_aligned_faces
from faces.models import Models, load_models
from faces.quality import chip_figures, roll_degrees, yaw_pitch_degrees


class ChipStoreError(FacesiftError):
    """Chips cannot be written (disk full, a read-only folder): no image can be processed."""


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs besides the image: picklable, sent once per process."""

    dataset_dir: str
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


@dataclass(frozen=True)
class ImageTask:
    """One image to process: its catalog id, the absolute path of its file, whether a crop."""

    image_id: int
    path: str
    face_crop: bool = False  # images.is_face_crop: the whole image is the face


def process_image(models: Models, config: WorkerConfig, task: ImageTask) -> ImageResult:
    """Decode, detect, align and measure one image; never raises for a bad image."""
    if not task.path:
        return ImageResult(task.image_id, "error", "bad_path: the stored path leaves the dataset")
    try:
        data = Path(task.path).read_bytes()
    except FileNotFoundError:
        return ImageResult(task.image_id, "error", "missing: the stored file is gone")
    except OSError as e:
        return ImageResult(task.image_id, "error", f"unreadable: {e.strerror or e}")
    try:
        decoded = decode_image(data, config.limits)
        whole = task.face_crop or config.whole_image
        faces = find_faces(models, config, decoded.rgb, whole=whole)
    except ImageRejected as e:
        return ImageResult(task.image_id, "error", _stable(str(e)))
    except ChipStoreError:
        raise  # the dataset's disk, not this image: the run stops
    except MemoryError:
        return ImageResult(task.image_id, "error", "too_large: out of memory")
    except Exception as e:  # one odd image must not stop a run of thousands
        return ImageResult(task.image_id, "error", _stable(f"internal: {type(e).__name__}: {e}"))
    if not faces:
        return ImageResult(task.image_id, "no_face")
    return ImageResult(task.image_id, "done", None, faces)


def find_faces(
    models: Models, config: WorkerConfig, img: Image.Image, *, whole: bool = False
) -> list[FaceRow]:
    """Every face of an upright RGB image, with its chip stored and its figures measured.

    With ``whole`` the image is one face crop: its box is the image (no detector runs).
    Faces are found, landmarked and aligned by :func:`faces.finder.find_aligned_faces`,
    as predict finds them.
    """
    found = find_aligned_faces(
        models,
        img,
        config.detect,
        chip_size=config.chip_size,
        padding=config.padding,
        whole=whole,
        descriptors=models.descriptor is not None,
    )
    return [face_row(config, i, face) for i, face in enumerate(found)]


def face_row(config: WorkerConfig, index: int, face: FoundFace) -> FaceRow:
    """One found face measured: its chip stored, figures, hashes."""
    det, points, chip = face.detection, face.points, face.chip
    try:
        chip_path = store_chip(Path(config.dataset_dir), chip_png(chip))
    except OSError as e:
        raise ChipStoreError(
            f"cannot write chips under {config.dataset_dir}: {e.strerror or e}"
        ) from None
    figures = chip_figures(chip, face.padding)
    yaw, pitch = yaw_pitch_degrees(points)
    left, top, right, bottom = det.raw_box
    embedding = None
    if face.descriptor is not None:
        embedding = np.asarray(face.descriptor, dtype="<f4").tobytes()
    return FaceRow(
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
        phash=str(imagehash.phash(Image.fromarray(chip))),
        embedding=embedding,
    )


def _stable(reason: str) -> str:
    """A reason without object addresses, so that reruns record the same text."""
    return _ADDRESS.sub("", reason)


_ADDRESS = re.compile(r" ?<[^<>]* at 0x[0-9a-fA-F]+>")


def _landmarks_json(points: np.ndarray) -> str:
    return "[" + ",".join(f"[{round(x)},{round(y)}]" for x, y in points) + "]"


# --- the per-process side of the pool ------------------------------------------
# A process pool's initializer can only hand state to later tasks through the
# worker process's globals; this is that one slot (set once per process).
_worker: tuple[Models, WorkerConfig] | None = None


def init_worker(config: WorkerConfig) -> None:
    """Pool initializer: load the models once for this process."""
    global _worker
    # Ctrl-C is the parent's to handle: it stops feeding work, writes what is
    # done and exits; workers dying mid-image would only add tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = (load_models(config.detect.detector, config.embeddings), config)


def process_chunk(tasks: list[ImageTask]) -> list[ImageResult]:
    """Process a few images in a worker set up by :func:`init_worker`."""
    if _worker is None:
        raise RuntimeError("init_worker was not called in this process")
    models, config = _worker
    results = [process_image(models, config, t) for t in tasks]
    _release_memory()
    return results


def _release_memory() -> None:
    """Hand freed heap back to the system (glibc keeps it after a large image otherwise).

    Without it a worker's resident memory stays at the high-water mark of the
    largest image it has seen (about +140 MB over the test photos).
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


def _load_malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        return None


_malloc_trim = _load_malloc_trim()
