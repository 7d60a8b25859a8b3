"""Quality figures of a face, from its landmarks and its aligned chip (pure numpy).

Thresholds on these figures are filters in review and export; extraction only
measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

# The side of the gray face crop every chip-based figure is measured on, so that
# sharpness is comparable across chip sizes and paddings.
MEASURE_SIDE = 128

# A generic 3D face (x right, y up, z towards the camera; roughly millimetres,
# origin at the nose tip) at landmarks that expressions barely move: the eye
# corners and the nose. The heights are fitted to where dlib puts these
# landmarks (the frontal faces of the test photos read about 0 degrees of
# pitch). Mouth and chin points are left out on purpose: a smile or an open
# mouth would read as a tilted head.
_MODEL_INDEX = [36, 39, 42, 45, 27, 30, 31, 33, 35]
_MODEL_3D = np.array(
    [
        (-45.0, 18.0, -30.0),
        (-15.0, 18.0, -22.0),
        (15.0, 18.0, -22.0),
        (45.0, 18.0, -30.0),
        (0.0, 20.0, -16.0),
        (0.0, 0.0, 0.0),
        (-12.0, -6.0, -12.0),
        (0.0, -9.0, -10.0),
        (12.0, -6.0, -12.0),
    ]
)

# The model is fixed, so its least-squares solve is too: one product per face.
_MODEL_PINV = np.linalg.pinv(_MODEL_3D - _MODEL_3D.mean(axis=0))


@dataclass(frozen=True)
class ChipFigures:
    """Figures measured on the gray face region of a chip (0-255 scale)."""

    sharpness: float  # variance of the Laplacian
    brightness: float  # mean gray level
    contrast: float  # standard deviation of the gray level


def face_region(chip: np.ndarray, padding: float, margin: float = 0.0) -> np.ndarray:
    """The part of a dlib face chip that holds the face itself, without the padding.

    ``margin`` keeps that much of the padding (in the same units as ``padding``)
    round the face: 0.2 keeps a fifth of the face's size on each side.
    """
    size = chip.shape[0]
    lo = round(size * max(padding - margin, 0.0) / (1 + 2 * padding))
    hi = size - lo
    return chip[lo:hi, lo:hi]


def gray_face(
    chip: np.ndarray, padding: float, side: int = MEASURE_SIDE, margin: float = 0.0
) -> np.ndarray:
    """The chip's face region (with ``margin``, see :func:`face_region`) as a float gray image."""
    region = Image.fromarray(np.ascontiguousarray(face_region(chip, padding, margin)))
    region = region.convert("L")
    if region.size != (side, side):
        region = region.resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(region, dtype=np.float64)


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low for blurred images."""
    lap = gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4 * gray[1:-1, 1:-1]
    return float(lap.var())


def chip_figures(chip: np.ndarray, padding: float) -> ChipFigures:
    """Sharpness, brightness and contrast of a chip's face region."""
    gray = gray_face(chip, padding)
    return ChipFigures(laplacian_variance(gray), float(gray.mean()), float(gray.std()))


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the eye in the image's left (points 36-41) and right (42-47) half."""
    return landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)


def roll_degrees(landmarks: np.ndarray) -> float:
    """In-plane rotation: the angle of the eye line, degrees, positive = clockwise on screen."""
    left, right = eye_centres(landmarks)
    return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


def yaw_pitch_degrees(landmarks: np.ndarray) -> tuple[float, float]:
    """Estimated head yaw and pitch in degrees from 2D landmarks.

    Fits a scaled-orthographic camera to a generic 3D face at the eye and nose
    landmarks.
    Yaw > 0: the nose points to the image's right; pitch > 0: the face looks down.
    Rough (a generic face, no camera model) but monotonic and cheap.
    """
    pts = np.asarray(landmarks, dtype=np.float64)[_MODEL_INDEX] * (1.0, -1.0)  # y up
    image = pts - pts.mean(axis=0)
    affine = _MODEL_PINV @ image  # the least-squares fit: model @ affine ~ image
    r1, r2 = affine[:, 0], affine[:, 1]
    if np.linalg.norm(r1) < 1e-9 or np.linalg.norm(r2) < 1e-9:
        return 0.0, 0.0
    r1 = r1 / np.linalg.norm(r1)
    r2 = r2 - r1 * (r1 @ r2)
    r2 = r2 / max(np.linalg.norm(r2), 1e-12)
    r3 = np.cross(r1, r2)
    yaw = math.degrees(math.asin(float(np.clip(-r3[0], -1.0, 1.0))))
    pitch = math.degrees(math.atan2(r3[1], r3[2]))
    return yaw, pitch
