"""68-point landmarks and the aligned master chip of a face."""

from __future__ import annotations

import dlib
import numpy as np

from faces.models import Models
from faces.quality import eye_centres

# Eye centres (the mean of landmarks 36-41 and 42-47) in dlib's face-chip
# template (dlib/image_transforms/interpolation.h, get_face_chip_details), in
# units of the unpadded chip.
_TEMPLATE_LEFT_EYE = (0.225492, 0.215990)
_TEMPLATE_RIGHT_EYE = (0.754761, 0.215990)
# How far the eye-anchored scale may stray from dlib's whole-face fit.
MAX_ZOOM = 1.25


def landmarks_68(
    models: Models, rgb: np.ndarray, box: tuple[int, int, int, int]
) -> dlib.full_object_detection:
    """dlib's 68 landmarks of the face in ``box`` (left, top, right, bottom; image pixels)."""
    return models.landmarks(rgb, dlib.rectangle(*box))


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
) -> np.ndarray:
    """The face with its eyes level and on fixed chip positions, padded as dlib's face chips.

    ``dlib.get_face_chip`` fits a similarity transform to all 68 landmarks, so a
    turned head leaves the eye line a few degrees off and the eyes a few pixels
    away from where they sit in other chips. Here the transform is anchored on
    the two eye centres instead (dlib's template positions for them); the scale
    stays within ``MAX_ZOOM`` of dlib's whole-face fit, so that a strongly turned
    head (eyes close together) is not zoomed until the chin leaves the chip.
    ``points`` is :func:`shape_points` of ``shape`` when the caller has it already.
    """
    left, right = eye_centres(shape_points(shape) if points is None else points)
    (txl, tyl), (txr, tyr) = eye_targets(size, padding)
    fit = dlib.get_face_chip_details(shape, size=size, padding=padding)
    fit_scale = fit.rect.width() / size  # image pixels per chip pixel
    eye_dist = float(np.hypot(*(right - left)))
    scale = float(np.clip(eye_dist / (txr - txl), fit_scale / MAX_ZOOM, fit_scale * MAX_ZOOM))
    direction = (right - left) / max(eye_dist, 1e-9)
    middle = (left + right) / 2
    half = direction * scale * (txr - txl) / 2
    details = dlib.chip_details(
        dlib.dpoints([dlib.dpoint(txl, tyl), dlib.dpoint(txr, tyr)]),
        dlib.dpoints([dlib.dpoint(*(middle - half)), dlib.dpoint(*(middle + half))]),
        dlib.chip_dims(size, size),
    )
    return dlib.extract_image_chip(rgb, details)
