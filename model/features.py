"""Features of a face that need no download: HOG and LBP of the gray chip, normalised landmarks.

HOG (histograms of oriented gradients, Dalal and Triggs) is written here with
numpy rather than taken from scikit-image: it is forty lines, runs on a whole
batch of chips at once, and keeps scikit-image a test-only dependency.
Uniform LBP histograms (local binary patterns, Ojala et al.) per 8 px cell add
the fine texture HOG averages away (wrinkles at the eyes, teeth, a furrowed
brow): on FER2013 they added 3 points of accuracy (README, "Model").
Landmarks are the 68 dlib points moved so that the eye midpoint is the origin,
rotated so that the eye line is level and scaled so that the eyes are one unit
apart: what is left is the shape of the face (a smile, an open mouth, raised
brows), not where or how large it was in the photo.
The last columns are the expression prior's probabilities (faces.prior): the
classifier mixes them in rather than learning weights for them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from threadpoolctl import ThreadpoolController

from faces import prior
from faces.quality import eye_centres, gray_face

CHIP_SIDE = 64  # the gray chip HOG is computed on
CELL = 8  # pixels per HOG cell side
COARSE_CELL = 16  # a second, coarser HOG grid (whole-mouth and brow shapes)
BINS = 9  # unsigned orientations over 0-180 degrees
LBP_CELL = 8  # pixels per LBP histogram cell side
N_LANDMARKS = 68
PRIOR_COLUMNS = len(prior.LABELS)  # the expression prior's probabilities, last in a row
_EPS = 1e-6


@dataclass(frozen=True)
class FaceInput:
    """What the features of one face are computed from."""

    chip: np.ndarray  # RGB (h, w, 3) or gray (h, w) uint8 aligned chip
    padding: float  # the chip's padding (faces.chip_padding)
    landmarks: np.ndarray | None  # (68, 2) in any pixel frame, or None when unknown


def gray_chips(
    inputs: Sequence[FaceInput], side: int = CHIP_SIDE, margin: float = 0.0
) -> np.ndarray:
    """The face regions (with ``margin``, faces.quality.face_region) as (n, side, side), 0-255."""
    out = np.empty((len(inputs), side, side), dtype=np.float32)
    for i, face in enumerate(inputs):
        chip = face.chip if face.chip.ndim == 3 else np.stack([face.chip] * 3, axis=-1)
        out[i] = gray_face(chip, face.padding, side, margin)
    return out


def hog(gray: np.ndarray, cell: int = CELL, bins: int = BINS) -> np.ndarray:
    """HOG descriptors of a batch of gray images (n, h, w): (n, features), L2-Hys blocks of 2x2.

    Gradients by central differences; each pixel votes its magnitude into the two
    nearest orientation bins of its cell (linear interpolation in angle).
    """
    g = np.asarray(gray, dtype=np.float32)
    n, h, w = g.shape
    ny, nx = h // cell, w // cell
    g = g[:, : ny * cell, : nx * cell]
    gx = np.zeros_like(g)
    gy = np.zeros_like(g)
    gx[:, :, 1:-1] = g[:, :, 2:] - g[:, :, :-2]
    gy[:, 1:-1, :] = g[:, 2:, :] - g[:, :-2, :]
    mag = np.hypot(gx, gy)
    pos = (np.degrees(np.arctan2(gy, gx)) % 180.0) / (180.0 / bins) - 0.5
    lower = np.floor(pos)
    upper_w = pos - lower
    b0 = lower.astype(np.int64) % bins
    b1 = (b0 + 1) % bins
    rows = np.arange(ny * cell) // cell
    cols = np.arange(nx * cell) // cell
    cell_id = (rows[:, None] * nx + cols[None, :])[None, :, :] + (np.arange(n) * ny * nx)[
        :, None, None
    ]
    size = n * ny * nx * bins
    hist = np.bincount((cell_id * bins + b0).ravel(), (mag * (1 - upper_w)).ravel(), size)
    hist += np.bincount((cell_id * bins + b1).ravel(), (mag * upper_w).ravel(), size)
    hist = hist.reshape(n, ny, nx, bins)
    blocks = np.concatenate(
        [hist[:, :-1, :-1], hist[:, :-1, 1:], hist[:, 1:, :-1], hist[:, 1:, 1:]], axis=-1
    ).reshape(n, (ny - 1) * (nx - 1), 4 * bins)
    blocks = blocks / np.sqrt((blocks**2).sum(-1, keepdims=True) + _EPS)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks**2).sum(-1, keepdims=True) + _EPS)
    return blocks.reshape(n, -1).astype(np.float32)


def _uniform_lut() -> np.ndarray:
    """Each 8-bit LBP code -> its uniform pattern (at most 2 bit changes round the circle), 0-57;
    every other code -> 58."""
    codes = np.arange(256)
    rotated = ((codes >> 1) | ((codes & 1) << 7)) & 0xFF
    changes = np.array([bin(int(v)).count("1") for v in codes ^ rotated])
    uniform = codes[changes <= 2]
    lut = np.full(256, len(uniform), dtype=np.int64)
    lut[uniform] = np.arange(len(uniform))
    return lut


_LBP_LUT = _uniform_lut()
LBP_BINS = int(_LBP_LUT.max()) + 1  # 59


def lbp(gray: np.ndarray, cell: int = LBP_CELL) -> np.ndarray:
    """Uniform LBP histograms of a batch of gray images (n, h, w): (n, features).

    Each inner pixel's 8 neighbours are compared with it (>=); the 8-bit code is
    mapped to one of 59 uniform patterns, histogrammed per ``cell`` x ``cell``
    block and square-rooted (the Hellinger map, which suits a linear model).
    """
    g = np.asarray(gray, dtype=np.float32)
    centre = g[:, 1:-1, 1:-1]
    h, w = centre.shape[1:]
    code = np.zeros(centre.shape, dtype=np.int64)
    ring = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]
    for bit, (dy, dx) in enumerate(ring):
        neighbour = g[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        code |= (neighbour >= centre).astype(np.int64) << bit
    code = _LBP_LUT[code]
    n = len(g)
    ny, nx = h // cell, w // cell
    code = code[:, : ny * cell, : nx * cell]
    cell_id = (np.arange(ny * cell) // cell)[:, None] * nx + (np.arange(nx * cell) // cell)[None]
    index = (np.arange(n)[:, None, None] * ny * nx + cell_id[None]) * LBP_BINS + code
    hist = np.bincount(index.ravel(), minlength=n * ny * nx * LBP_BINS).astype(np.float32)
    hist = hist.reshape(n, ny * nx, LBP_BINS)
    hist /= np.maximum(hist.sum(-1, keepdims=True), 1.0)
    return np.sqrt(hist).reshape(n, -1)


def normalised_landmarks(points: np.ndarray | None) -> np.ndarray:
    """68 landmarks with the eye midpoint at 0, the eye line level, the eyes 1 apart (136,).

    Unknown landmarks (None) give zeros: the HOG part still describes the face.
    """
    if points is None:
        return np.zeros(2 * N_LANDMARKS, dtype=np.float32)
    pts = np.asarray(points, dtype=np.float64).reshape(N_LANDMARKS, 2)
    left, right = eye_centres(pts)
    d = right - left
    dist = float(np.hypot(*d))
    if dist < _EPS:
        return np.zeros(2 * N_LANDMARKS, dtype=np.float32)
    c, s = d / dist
    rot = np.array([[c, -s], [s, c]])  # rotates the eye line onto the x axis
    centred = pts - (left + right) / 2
    return (centred @ rot / dist).astype(np.float32).ravel()


def parse_landmarks(text: str | None) -> np.ndarray | None:
    """The ``faces.landmarks`` column (JSON ``[[x, y], ...]``) as a (68, 2) array, or None."""
    if not text:
        return None
    try:
        pts = np.asarray(json.loads(text), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return pts if pts.shape == (N_LANDMARKS, 2) else None


def face_features(inputs: Sequence[FaceInput], network: prior.Network | None = None) -> np.ndarray:
    """The feature matrix (n, d) of faces: fine HOG, coarse HOG, LBP, normalised landmarks,
    then the expression prior's probabilities (the last :data:`PRIOR_COLUMNS`), by
    ``network`` (default: the shipped one, :func:`faces.prior.default_network`)."""
    if not inputs:
        return np.zeros((0, feature_count()), dtype=np.float32)
    gray = gray_chips(inputs)
    marks = np.stack([normalised_landmarks(f.landmarks) for f in inputs])
    wide = gray_chips(inputs, prior.INPUT_SIDE, prior.MARGIN)
    # OpenBLAS rounds differently with another thread count: one thread here gives the
    # same features in this process, a pool worker or a Dask worker (and train and
    # predict agree to the last bit).
    with _blas_threads().limit(limits=1, user_api="blas"):
        expert = prior.forward(network or prior.default_network(), wide)
    return np.hstack([hog(gray, CELL), hog(gray, COARSE_CELL), lbp(gray), marks, expert])


@cache
def _blas_threads() -> ThreadpoolController:
    """The process's BLAS libraries, found once (a search of the loaded libraries)."""
    return ThreadpoolController()


def feature_count() -> int:
    """How many features :func:`face_features` gives per face (the prior's columns included)."""

    def blocks(cell: int) -> int:
        k = CHIP_SIDE // cell - 1
        return k * k * 4 * BINS

    lbp_cells = ((CHIP_SIDE - 2) // LBP_CELL) ** 2
    hand = blocks(CELL) + blocks(COARSE_CELL) + lbp_cells * LBP_BINS + 2 * N_LANDMARKS
    return hand + PRIOR_COLUMNS
