"""68-point landmarks and the aligned master chip of a face."""

from __future__ import annotations

import math
from dataclasses import dataclass

import dlib
import numpy as np
from PIL import Image

from faces.models import Models
from faces.quality import eye_centres

# Eye centres (the mean of landmarks 36-41 and 42-47) in dlib's face-chip
# template (dlib/image_transforms/interpolation.h, get_face_chip_details), in
# units of the unpadded chip.
_TEMPLATE_LEFT_EYE = (0.225492, 0.215990)
_TEMPLATE_RIGHT_EYE = (0.754761, 0.215990)
# How far the eye-anchored scale may stray from dlib's whole-face fit.
MAX_ZOOM = 1.25
# A face found in a tight crop or a small image has its landmarks fitted on a copy
# of its surroundings enlarged until the box is this wide (dlib's shape predictor
# reads single pixels: on a 40 px box its points snap to a coarse grid) ...
FIT_FACE_SIDE = 160
MAX_FIT_FACTOR = 8
# ... with this margin around the box, grey where it leaves the image (the face
# detectors were trained on faces with surroundings).
FIT_MARGIN = 0.5
FIT_GREY = (128, 128, 128)


def landmarks_68(
    models: Models, rgb: np.ndarray, box: tuple[int, int, int, int]
) -> dlib.full_object_detection:
    """dlib's 68 landmarks of the face in ``box`` (left, top, right, bottom; image pixels).

    Fitted on the box and a margin of one box side around it rather than on the whole
    image: dlib's binding copies the image it is given, which on a photo cost more than
    the fit itself (4.2 ms a face against 2.4 on the crop, the same 68 points on all 439
    faces of the web-like benchmark set). The shape predictor reads pixels only near its
    points, well inside that margin.
    """
    left, top, right, bottom = box
    side = max(right - left, bottom - top, 1)
    view, (x0, y0) = crop_around(rgb, (left - side, top - side), (right + side, bottom + side))
    shape = models.landmarks(view, dlib.rectangle(left - x0, top - y0, right - x0, bottom - y0))
    if not (x0 or y0):
        return shape
    parts = dlib.points([dlib.point(p.x + x0, p.y + y0) for p in shape.parts()])
    return dlib.full_object_detection(dlib.rectangle(*box), parts)


def crop_around(
    rgb: np.ndarray, low: tuple[float, float], high: tuple[float, float]
) -> tuple[np.ndarray, tuple[int, int]]:
    """The image's pixels from ``low`` to ``high`` (x, y, inclusive; clipped to the image,
    at least one pixel) as a contiguous array, and the (x, y) of its first pixel."""
    height, width = rgb.shape[:2]
    x0 = int(min(max(0, math.floor(low[0])), width - 1))
    y0 = int(min(max(0, math.floor(low[1])), height - 1))
    x1 = int(max(min(width, math.ceil(high[0]) + 1), x0 + 1))
    y1 = int(max(min(height, math.ceil(high[1]) + 1), y0 + 1))
    if (x0, y0, x1, y1) == (0, 0, width, height):
        return rgb, (0, 0)
    return np.ascontiguousarray(rgb[y0:y1, x0:x1]), (x0, y0)


def landmarks_in_view(
    models: Models, img: Image.Image, box: tuple[int, int, int, int]
) -> tuple[dlib.full_object_detection, np.ndarray]:
    """dlib's 68 landmarks of the face in ``box``, fitted on an enlarged, framed copy of it.

    For faces whose box reaches past the image (a tight crop) or is small. The
    copy holds the box and a margin (grey outside the image), enlarged by a whole
    factor until the box is FIT_FACE_SIDE px wide. Returns the shape (points
    rounded, box as given) and the points as floats, both in ``img``'s pixels.
    """
    left, top, right, bottom = box
    width, height = max(right - left, 1), max(bottom - top, 1)
    margin = round(FIT_MARGIN * max(width, height))
    x0, y0 = left - margin, top - margin
    region = (x0, y0, right + margin + 1, bottom + margin + 1)
    canvas = Image.new("RGB", (region[2] - x0, region[3] - y0), FIT_GREY)
    inside = (max(0, x0), max(0, y0), min(img.width, region[2]), min(img.height, region[3]))
    if inside[0] < inside[2] and inside[1] < inside[3]:
        canvas.paste(img.crop(inside), (inside[0] - x0, inside[1] - y0))
    factor = min(MAX_FIT_FACTOR, max(1, math.ceil(FIT_FACE_SIDE / width)))
    if factor > 1:
        canvas = canvas.resize(
            (canvas.width * factor, canvas.height * factor), Image.Resampling.BILINEAR
        )

    # Pixel centres: view pixel v covers image pixel (v + 0.5) / factor - 0.5.
    def to_view(x: float, y: float) -> tuple[int, int]:
        return round((x - x0 + 0.5) * factor - 0.5), round((y - y0 + 0.5) * factor - 0.5)

    rect = dlib.rectangle(*to_view(left, top), *to_view(right, bottom))
    fitted = shape_points(models.landmarks(np.asarray(canvas), rect))
    points = (fitted + 0.5) / factor - 0.5 + np.array([x0, y0], dtype=np.float64)
    parts = dlib.points([dlib.point(round(x), round(y)) for x, y in points])
    return dlib.full_object_detection(dlib.rectangle(*box), parts), points


def shape_points(shape: dlib.full_object_detection) -> np.ndarray:
    """The landmarks as a (68, 2) float array of x, y."""
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def eye_targets(size: int, padding: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the eye centres go in a chip: dlib's face-chip template, padded."""

    def place(v: float) -> float:
        return (padding + v) / (1 + 2 * padding) * size

    return (place(_TEMPLATE_LEFT_EYE[0]), place(_TEMPLATE_LEFT_EYE[1])), (
        place(_TEMPLATE_RIGHT_EYE[0]),
        place(_TEMPLATE_RIGHT_EYE[1]),
    )


def face_chip(
    rgb: np.ndarray,
    shape: dlib.full_object_detection,
    size: int,
    padding: float,
    points: np.ndarray | None = None,
    *,
    inside: tuple[int, int] | None = None,
) -> np.ndarray:
    """The face with its eyes level and on fixed chip positions, padded as dlib's face chips.

    ``dlib.get_face_chip`` fits a similarity transform to all 68 landmarks, so a
    turned head leaves the eye line a few degrees off and the eyes a few pixels
    away from where they sit in other chips. Here the transform is anchored on
    the two eye centres instead (dlib's template positions for them); the scale
    stays within ``MAX_ZOOM`` of dlib's whole-face fit, so that a strongly turned
    head (eyes close together) is not zoomed until the chin leaves the chip.
    ``points`` is :func:`shape_points` of ``shape`` when the caller has it already.
    ``inside`` (the image's width and height, for a face crop): a chip that still reaches
    past the image at this padding is moved onto it (:func:`shift_inside`).
    """
    placed = place_chip(shape, size, padding, points)
    if inside is not None and not on_image(placed.corners, *inside):
        placed = placed.zoomed(zoom_inside(placed.corners, *inside))
        placed = placed.moved(shift_inside(placed.corners, *inside))
    (txl, tyl), (txr, tyr) = placed.targets
    middle, half, scale = placed.middle, placed.half, placed.scale
    margin = math.ceil(2 * scale) + 2
    # dlib reads only the chip's footprint: handing it that part alone spares a copy of
    # the whole photo (the same chips on every face of the benchmark set).
    view, origin = crop_around(
        rgb, placed.corners.min(axis=0) - margin, placed.corners.max(axis=0) + margin
    )
    source, offset = pad_to_cover(view, placed.corners - origin, margin=margin)
    offset = offset - origin
    details = dlib.chip_details(
        dlib.dpoints([dlib.dpoint(txl, tyl), dlib.dpoint(txr, tyr)]),
        dlib.dpoints(
            [dlib.dpoint(*(middle - half + offset)), dlib.dpoint(*(middle + half + offset))]
        ),
        dlib.chip_dims(size, size),
    )
    return dlib.extract_image_chip(source, details)


@dataclass(frozen=True, eq=False)  # numpy arrays
class ChipPlace:
    """Where a chip lies in its image: the eye targets in the chip, the eyes' middle and
    half their distance (image pixels), the scale (image pixels per chip pixel) and the
    chip's four corners in the image."""

    targets: tuple[tuple[float, float], tuple[float, float]]
    middle: np.ndarray
    half: np.ndarray
    scale: float
    corners: np.ndarray

    def moved(self, shift: np.ndarray) -> ChipPlace:
        """The same chip cut ``shift`` image pixels away (the face off its usual place)."""
        return ChipPlace(
            self.targets, self.middle + shift, self.half, self.scale, self.corners + shift
        )

    def zoomed(self, factor: float) -> ChipPlace:
        """The chip cut from ``factor`` (<= 1) times the image area, around the same eye
        middle: the face drawn larger in the chip."""
        if factor >= 1.0:
            return self
        corners = self.middle + (self.corners - self.middle) * factor
        return ChipPlace(
            self.targets, self.middle, self.half * factor, self.scale * factor, corners
        )


def place_chip(
    shape: dlib.full_object_detection,
    size: int,
    padding: float,
    points: np.ndarray | None = None,
) -> ChipPlace:
    """Where :func:`face_chip` cuts a chip of ``padding`` (see there), without cutting it."""
    left, right = eye_centres(shape_points(shape) if points is None else points)
    (txl, tyl), (txr, tyr) = eye_targets(size, padding)
    fit = dlib.get_face_chip_details(shape, size=size, padding=padding)
    fit_scale = fit.rect.width() / size  # image pixels per chip pixel
    eye_dist = float(np.hypot(*(right - left)))
    scale = float(np.clip(eye_dist / (txr - txl), fit_scale / MAX_ZOOM, fit_scale * MAX_ZOOM))
    direction = (right - left) / max(eye_dist, 1e-9)
    middle = (left + right) / 2
    half = direction * scale * (txr - txl) / 2
    corners = chip_footprint(size, (txl + txr) / 2, tyl, middle, direction, scale)
    return ChipPlace(((txl, tyl), (txr, tyr)), middle, half, scale, corners)


def on_image(corners: np.ndarray, width: int, height: int) -> bool:
    """Whether a chip's footprint lies on the image's pixels (bilinear samples included)."""
    low, high = corners.min(axis=0), corners.max(axis=0)
    return bool(low[0] >= 0 and low[1] >= 0 and high[0] <= width - 1 and high[1] <= height - 1)


def padding_inside(
    shape: dlib.full_object_detection,
    size: int,
    padding: float,
    image_size: tuple[int, int],
    points: np.ndarray | None = None,
) -> float:
    """The largest padding up to ``padding`` whose chip lies inside the image (a face crop).

    A face crop (FER2013, RAF-DB aligned, ``--whole-image``) holds little beyond the
    face: a chip padded as usual would reach past its edges, and whatever fills that
    part (black, repeated edge pixels) is invented. The chip keeps its eyes where every
    chip has them, only its padding shrinks, down to 0 (dlib's tight face chip); a face
    cut tighter than that keeps padding 0 and its few outside pixels repeat the edge.
    Found by bisection (the footprint grows with the padding), to 1/1000.
    """
    width, height = image_size
    if on_image(place_chip(shape, size, padding, points).corners, width, height):
        return padding
    low, high = MIN_PADDING, padding
    if not on_image(place_chip(shape, size, low, points).corners, width, height):
        return low
    while high - low > PADDING_STEP:
        mid = (low + high) / 2
        if on_image(place_chip(shape, size, mid, points).corners, width, height):
            low = mid
        else:
            high = mid
    return round(math.floor(low / PADDING_STEP) * PADDING_STEP, 3)


def shift_inside(corners: np.ndarray, width: int, height: int) -> np.ndarray:
    """The smallest move (x, y in image pixels) that puts a chip's footprint on the image.

    A face crop cut tighter than dlib's padding-0 chip (a third of FER2013's) leaves a
    sliver of repeated edge pixels even at padding 0: moving the chip by those few
    pixels shows the image's own instead, at the cost of the face sitting a little off
    its usual place. Along an axis where the footprint is wider than the image, it is
    centred (the overhang split between both sides); :func:`face_chip` zooms such a
    chip first (:func:`zoom_inside`), so that it fits.
    """
    low, high = corners.min(axis=0), corners.max(axis=0)
    limit = np.array([width - 1, height - 1], dtype=np.float64)
    shift = np.zeros(2)
    for k in range(2):
        if high[k] - low[k] > limit[k]:
            shift[k] = (limit[k] - low[k] - high[k]) / 2
        elif low[k] < 0:
            shift[k] = -low[k]
        elif high[k] > limit[k]:
            shift[k] = limit[k] - high[k]
    return shift


def zoom_inside(corners: np.ndarray, width: int, height: int) -> float:
    """The factor (<= 1) that makes a chip's footprint fit the image along both axes.

    A face crop cut tighter than dlib's padding-0 chip on both sides of an axis (8% of
    FER2013's) cannot be moved onto its pixels: its footprint is wider than the image.
    Cut from a smaller area (the face a little larger in the chip), it shows only the
    image's own pixels, where repeating the edge would draw streaks beside the face.
    """
    extent = corners.max(axis=0) - corners.min(axis=0)
    limit = np.array([width - 1, height - 1], dtype=np.float64)
    factor = float(np.min(limit / np.maximum(extent, 1e-9)))
    # A hair inside, so that the moved footprint passes on_image despite rounding.
    return 1.0 if factor >= 1.0 else factor * (1 - 1e-6)


PADDING_STEP = 0.001  # a shrunk padding is a multiple of this (stable across platforms)
# A chip never shows less than dlib's face chip (padding 0: eyebrows to lower lip); a
# negative padding would cut into the expression itself (dlib refuses one anyway).
MIN_PADDING = 0.0


def chip_footprint(
    size: int,
    anchor_x: float,
    anchor_y: float,
    middle: np.ndarray,
    direction: np.ndarray,
    scale: float,
) -> np.ndarray:
    """The four corners (4, 2) in image pixels of a size x size chip whose point
    (anchor_x, anchor_y) sits at ``middle``, turned by ``direction``, ``scale``
    image pixels per chip pixel."""
    cos, sin = direction
    rotation = np.array([[cos, -sin], [sin, cos]]) * scale
    chip = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64)
    return (chip - [anchor_x, anchor_y]) @ rotation.T + middle


def pad_to_cover(
    rgb: np.ndarray, corners: np.ndarray, margin: int
) -> tuple[np.ndarray, np.ndarray]:
    """The image, edge-replicated until it covers ``corners`` plus ``margin`` pixels,
    and the (x, y) shift of its pixels.

    dlib fills a chip's pixels from outside the image with black; a face at the
    border (a tight crop, a whole-image FER2013 face) then shows tilted black
    borders. Its own edge pixels repeated outward invent no such frame. The
    image is returned as is (no copy) when the chip stays inside it.
    """
    height, width = rgb.shape[:2]
    low = np.floor(corners.min(axis=0)) - margin
    high = np.ceil(corners.max(axis=0)) + margin
    left, top = (max(0, int(-v)) for v in low)
    right, bottom = max(0, int(high[0]) - (width - 1)), max(0, int(high[1]) - (height - 1))
    if not (left or top or right or bottom):
        return rgb, np.zeros(2)
    pads = ((top, bottom), (left, right)) + ((0, 0),) * (rgb.ndim - 2)
    return np.pad(rgb, pads, mode="edge"), np.array([left, top], dtype=np.float64)
