"""Face detection with dlib's HOG or MMOD CNN detector, in the original image's coordinates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from faces.models import Models

# HOG's cost grows with the pixel count; beyond this many pixels an image is
# shrunk for detection only (landmarks and chips still use the full image).
HOG_MAX_PIXELS = 4_200_000
# The CNN is about 10x slower per pixel than HOG on a CPU.
CNN_MAX_PIXELS = 1_000_000
# Images whose longer side is under this are also tried at upsample 1 under
# "auto": their faces are likely under HOG's 80 px window, and the retry is cheap.
SMALL_SIDE = 400


@dataclass(frozen=True)
class Detection:
    """One detected face; the box is in original image pixels (left, top, right, bottom)."""

    box: tuple[int, int, int, int]  # clipped to the image
    raw_box: tuple[int, int, int, int]  # as the detector gave it (may reach outside)
    score: float
    subdetector: int | None  # HOG: 0 front, 1 left, 2 right, 3/4 rotated; CNN: None
    upsample: int
    border_cut: bool  # the detector's box reached past the image border (and was clipped)


@dataclass(frozen=True)
class DetectParams:
    """How to detect: which detector and which upsampling ("auto", "0", "1" or "2")."""

    detector: str = "hog"
    upsample: str = "auto"
    max_pixels: int | None = None  # default: HOG_MAX_PIXELS or CNN_MAX_PIXELS
    small_side: int = SMALL_SIDE


def detection_scale(width: int, height: int, max_pixels: int) -> float:
    """The factor (<= 1) that brings an image down to at most ``max_pixels``."""
    pixels = width * height
    return 1.0 if pixels <= max_pixels else math.sqrt(max_pixels / pixels)


def shrink(img: Image.Image, scale: float) -> Image.Image:
    """The image scaled by ``scale`` (<= 1); the same object when scale is 1."""
    if scale >= 1.0:
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def upsample_passes(upsample: str) -> list[int]:
    """The upsample levels to try, in order; later passes run only if the policy says so.

    "auto" is [0, 1]: the second pass runs where the first found nothing or the
    image is small (see :func:`_wants_retry`).
    """
    if upsample == "auto":
        return [0, 1]
    return [int(upsample)]


def _wants_retry(found: int, width: int, height: int, small_side: int) -> bool:
    return found == 0 or max(width, height) < small_side


def detection_input(img: Image.Image, params: DetectParams) -> tuple[np.ndarray, float]:
    """The pixels the detector sees (shrunk if the image is very large) and their scale."""
    cap = params.max_pixels or (CNN_MAX_PIXELS if params.detector == "cnn" else HOG_MAX_PIXELS)
    scale = detection_scale(img.width, img.height, cap)
    return np.asarray(shrink(img, scale)), scale


def detect_faces(
    models: Models,
    img: Image.Image,
    params: DetectParams,
    prepared: tuple[np.ndarray, float] | None = None,
) -> list[Detection]:
    """Every face dlib finds in an RGB image, boxes in the image's own pixels.

    ``prepared`` is :func:`detection_input`'s result when the caller has it already.
    """
    arr, scale = prepared if prepared is not None else detection_input(img, params)
    passes = upsample_passes(params.upsample)
    found: list[Detection] = []
    for i, level in enumerate(passes):
        if i > 0 and not _wants_retry(len(found), img.width, img.height, params.small_side):
            break
        dets = _run(models, arr, level, params.detector)
        if dets or not found:
            # A retry at a higher level sees every face the lower one saw, and smaller ones.
            found = [_to_original(d, level, scale, img.width, img.height) for d in dets]
    return found


def _run(
    models: Models, arr: np.ndarray, level: int, detector: str
) -> list[tuple[tuple[float, float, float, float], float, int | None]]:
    if detector == "cnn":
        if models.cnn is None:
            raise ValueError("the CNN detector was not loaded")
        return [
            ((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), d.confidence, None)
            for d in models.cnn(arr, level)
        ]
    rects, scores, kinds = models.hog.run(arr, level, 0.0)
    return [
        ((r.left(), r.top(), r.right(), r.bottom()), float(s), int(k))
        for r, s, k in zip(rects, scores, kinds, strict=True)
    ]


def _to_original(
    det: tuple[tuple[float, float, float, float], float, int | None],
    level: int,
    scale: float,
    width: int,
    height: int,
) -> Detection:
    (left, top, right, bottom), score, kind = det
    raw = [round(v / scale) for v in (left, top, right, bottom)]
    box = (
        max(0, raw[0]),
        max(0, raw[1]),
        min(width - 1, raw[2]),
        min(height - 1, raw[3]),
    )
    cut = raw[0] < 0 or raw[1] < 0 or raw[2] > width - 1 or raw[3] > height - 1
    return Detection(box, (raw[0], raw[1], raw[2], raw[3]), float(score), kind, level, cut)
