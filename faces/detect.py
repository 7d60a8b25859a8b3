"""Face detection with dlib's HOG or MMOD CNN detector, in the original image's coordinates.

Under ``cascade="auto"`` an image where HOG finds nothing at upsample 0 and 1
is tried again, in steps that each cost more than the last (each runs only
where the ones before found nothing):

- ``hog+frame``: HOG on the image framed by a grey border. In a tight crop the
  face fills the image and HOG's window needs a margin around it;
- ``cnn``: dlib's MMOD CNN on the framed image, at most :data:`CNN_SIDE` px
  (a larger image is shrunk to that; a small one is upsampled by dlib).

Photos where HOG finds a face at upsample 0 pay nothing for the cascade, and the
steps run only where they can pay (:func:`cascade_steps`): on an image that looks like
a face crop (small and squarish), or where HOG came close at the border (a window at the
image's edge scored within :data:`NEAR_MISS` of its threshold) the frame step; the CNN
only on a face-crop-like image. A photo with no face costs HOG alone, never a CNN pass.
"""

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
# The frame around a tight crop: 30% of the image's longer side on each side,
# mid grey. On FER2013's 48 px crops grey found more faces than a replicated edge
# (82% against 80% with HOG, 97% against 94% with the CNN, 280 images).
FRAME_MARGIN = 0.3
FRAME_GREY = 128
# The frame step's framed image is at most this side, the image shrunk to fit (a
# face that fills it is still far above HOG's window) ...
FRAME_SIDE = 400
# ... and upsamples the framed image while it stays under this side (cost).
FRAME_MAX_VIEW = 1000
HOG_WINDOW = 80  # dlib's HOG detector finds faces of about 80 px and larger
# The CNN step's framed image is shrunk to at most this side, and upsampled by
# dlib (x2 per level) until it reaches 3/4 of it: on a 48 px crop that is
# 77 px framed, upsample 2, 308 px.
CNN_SIDE = 320
# An image "looks like a face crop" when its longer side is at most CROP_SIDE px and its
# sides differ by at most CROP_ASPECT: FER2013's 48 px crops, avatars, face thumbnails.
# On the 240 web-like photo variants no photo where HOG found nothing had a face the CNN
# found; on FER2013 crops the CNN finds 19% of the faces.
CROP_SIDE = 256
CROP_ASPECT = 1.25
# HOG's scores of the windows it rejects: one within this of the threshold (0) that
# reaches the image's border (past it, or to within BORDER_REACH of its own side) is a
# near miss, worth the frame step's second look: a face cut by the border lacks the
# margin HOG's window wants, which the frame gives. A window well inside the image gets
# no new pixel from a frame, only a smaller copy of itself: on the 240 web-like photo
# variants 9 such windows cost 0.6 s of frame steps and none gave a face.
NEAR_MISS = -0.25
BORDER_REACH = 0.25


@dataclass(frozen=True)
class Frame:
    """A view of an image: scaled by ``scale``, then bordered by ``border`` px on each side."""

    scale: float
    border: int

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        """A point of the view in the image's own pixels."""
        return (x - self.border) / self.scale, (y - self.border) / self.scale

    def to_view(self, x: float, y: float) -> tuple[float, float]:
        """A point of the image in the view's pixels."""
        return x * self.scale + self.border, y * self.scale + self.border


@dataclass(frozen=True)
class Detection:
    """One detected face; the box is in original image pixels (left, top, right, bottom)."""

    box: tuple[int, int, int, int]  # clipped to the image
    raw_box: tuple[int, int, int, int]  # as the detector gave it (may reach outside)
    score: float | None  # None for the whole-image box
    subdetector: int | None  # HOG: 0 front, 1 left, 2 right, 3/4 rotated; CNN: None
    upsample: int | None
    border_cut: bool  # the detector's box reached past the image border (and was clipped)
    step: str = "hog"  # what found it: "hog", "hog+frame", "cnn" or "whole"


@dataclass(frozen=True)
class DetectParams:
    """How to detect: detector, upsampling ("auto", "0", "1" or "2") and the cascade."""

    detector: str = "hog"
    upsample: str = "auto"
    max_pixels: int | None = None  # default: HOG_MAX_PIXELS or CNN_MAX_PIXELS
    small_side: int = SMALL_SIDE
    cascade: str = "auto"  # "auto": frame and CNN steps where HOG finds nothing; "off"


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

    "auto" is [0, 1]: the second pass runs where the first found nothing; on an
    image smaller than ``small_side`` both run, the higher level first
    (:func:`detect_faces`).
    """
    if upsample == "auto":
        return [0, 1]
    return [int(upsample)]


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
    With ``params.cascade == "auto"`` the frame and CNN steps follow where the
    detector finds nothing (see the module's docstring).
    """
    arr, scale = prepared if prepared is not None else detection_input(img, params)
    passes = upsample_passes(params.upsample)
    found: list[Detection] = []
    step = "cnn" if params.detector == "cnn" else "hog"
    # Under the cascade HOG also reports the windows it nearly took (scores from
    # NEAR_MISS up); a window that does pass scores as it would alone.
    threshold = NEAR_MISS if params.cascade == "auto" and step == "hog" else 0.0
    near_miss = False
    if len(passes) > 1 and max(img.size) < params.small_side:
        # A small image gets every level and the highest one's faces win where it has
        # any: ask it first and the lower ones only where it finds none. The same faces,
        # without the lower pass on most small images.
        passes = passes[::-1]
    for i, level in enumerate(passes):
        if i > 0 and found:
            break
        scored = _run(models, arr, level, params.detector, threshold)
        dets = [d for d in scored if d[1] >= 0.0]
        height, width = arr.shape[:2]
        near_miss = near_miss or any(d[1] < 0.0 and at_border(d[0], width, height) for d in scored)
        if dets or not found:
            frame = Frame(scale, 0)
            found = [_to_original(d, level, frame, img.size, step) for d in dets]
    if found or params.cascade == "off":
        return found
    frame, cnn = cascade_steps(img.size, near_miss)
    return (frame_step(models, img) if frame else []) or (cnn_step(models, img) if cnn else [])


def looks_like_a_crop(size: tuple[int, int]) -> bool:
    """Small and squarish: a face crop, an avatar, a face thumbnail."""
    width, height = size
    return max(size) <= CROP_SIDE and max(width, height) <= CROP_ASPECT * min(width, height)


def at_border(box: tuple[float, float, float, float], width: int, height: int) -> bool:
    """Whether a window reaches past the image, or to within BORDER_REACH of its side."""
    left, top, right, bottom = box
    reach = BORDER_REACH * max(right - left, bottom - top)
    return left < reach or top < reach or right > width - 1 - reach or bottom > height - 1 - reach


def cascade_steps(size: tuple[int, int], near_miss: bool) -> tuple[bool, bool]:
    """Which of the frame and CNN steps may run on an image HOG found no face in."""
    crop = looks_like_a_crop(size)
    return crop or near_miss, crop


def frame_step(models: Models, img: Image.Image) -> list[Detection]:
    """HOG on the image framed by a grey border, at the upsample levels that fit.

    A level is tried where the image part is at least HOG's window wide (a face
    filling it can be seen) and the framed view stays under FRAME_MAX_VIEW.
    """
    frame = frame_of(img.size, FRAME_SIDE / (1 + 2 * FRAME_MARGIN) / max(img.size))
    view = framed(img, frame)
    side, view_side = max(img.size) * frame.scale, max(view.shape[:2])
    levels = [
        lv for lv in (0, 1, 2) if side * 2**lv >= HOG_WINDOW and view_side * 2**lv <= FRAME_MAX_VIEW
    ]
    for level in levels or [0]:
        dets = _run(models, view, level, "hog")
        if dets:
            return [_to_original(d, level, frame, img.size, "hog+frame") for d in dets]
    return []


def cnn_step(models: Models, img: Image.Image) -> list[Detection]:
    """dlib's MMOD CNN on the framed image, at most CNN_SIDE px (upsampled by dlib if small)."""
    frame = frame_of(img.size, CNN_SIDE / (1 + 2 * FRAME_MARGIN) / max(img.size))
    view = framed(img, frame)
    level = cnn_level(max(view.shape[:2]))
    dets = _run(models, view, level, "cnn")
    return [_to_original(d, level, frame, img.size, "cnn") for d in dets]


def cnn_level(view_side: int) -> int:
    """dlib's upsample level for the CNN step: x2 per level until 3/4 of CNN_SIDE."""
    level = 0
    while view_side * 2**level < CNN_SIDE * 0.75 and level < 3:
        level += 1
    return level


def frame_of(size: tuple[int, int], scale: float) -> Frame:
    """The frame for an image of ``size``: scaled by ``scale`` (at most 1 here), then bordered."""
    scale = min(1.0, scale)
    width, height = (max(1, round(v * scale)) for v in size)
    scale = max(width, height) / max(size)  # the scale the rounded size really has
    return Frame(scale, max(1, round(FRAME_MARGIN * max(width, height))))


def framed(img: Image.Image, frame: Frame) -> np.ndarray:
    """The image shrunk by ``frame.scale`` and bordered in grey: the view ``frame`` describes."""
    b = frame.border
    scaled = np.asarray(shrink(img, frame.scale))
    return np.pad(scaled, ((b, b), (b, b), (0, 0)), constant_values=FRAME_GREY)


def whole_image(size: tuple[int, int]) -> Detection:
    """The face box of a known face crop: the image itself."""
    box = (0, 0, size[0] - 1, size[1] - 1)
    return Detection(box, box, None, None, None, False, "whole")


def _run(
    models: Models, arr: np.ndarray, level: int, detector: str, threshold: float = 0.0
) -> list[tuple[tuple[float, float, float, float], float, int | None]]:
    if detector == "cnn":
        return [
            ((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), d.confidence, None)
            for d in models.need_cnn()(arr, level)
        ]
    rects, scores, kinds = models.hog.run(arr, level, threshold)
    return [
        ((r.left(), r.top(), r.right(), r.bottom()), float(s), int(k))
        for r, s, k in zip(rects, scores, kinds, strict=True)
    ]


def _to_original(
    det: tuple[tuple[float, float, float, float], float, int | None],
    level: int,
    frame: Frame,
    size: tuple[int, int],
    step: str,
) -> Detection:
    (left, top, right, bottom), score, kind = det
    width, height = size
    x0, y0 = frame.to_image(left, top)
    x1, y1 = frame.to_image(right, bottom)
    raw = [round(v) for v in (x0, y0, x1, y1)]
    box = (
        max(0, raw[0]),
        max(0, raw[1]),
        min(width - 1, raw[2]),
        min(height - 1, raw[3]),
    )
    cut = raw[0] < 0 or raw[1] < 0 or raw[2] > width - 1 or raw[3] > height - 1
    return Detection(box, (raw[0], raw[1], raw[2], raw[3]), float(score), kind, level, cut, step)
