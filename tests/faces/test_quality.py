"""Quality figures and the pose estimate, on synthetic inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageFilter

from faces.quality import (
    _MODEL_3D,
    _MODEL_INDEX,
    chip_figures,
    laplacian_variance,
    roll_degrees,
    yaw_pitch_degrees,
)


def _landmarks(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """The model face turned by yaw/pitch/roll and projected, as image landmarks."""
    y, p, r = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    pts = (rz @ ry @ rx @ _MODEL_3D.T).T[:, :2] * 2.0
    out = np.zeros((68, 2))
    out[_MODEL_INDEX] = pts * (1, -1) + (300, 200)  # image y points down
    # The rest of each eye ring on its corners' midpoint: eye centres stay there.
    out[[37, 38, 40, 41]] = (out[36] + out[39]) / 2
    out[[43, 44, 46, 47]] = (out[42] + out[45]) / 2
    return out


@pytest.mark.parametrize(("yaw", "pitch"), [(0, 0), (30, 0), (-25, 0), (0, 20), (0, -15), (20, 10)])
def test_yaw_and_pitch_are_recovered(yaw, pitch):
    got_yaw, got_pitch = yaw_pitch_degrees(_landmarks(yaw, pitch))
    assert got_yaw == pytest.approx(yaw, abs=1.0)
    assert got_pitch == pytest.approx(pitch, abs=1.0)


def test_roll_follows_the_eye_line():
    assert roll_degrees(_landmarks(0, 0, 0)) == pytest.approx(0, abs=0.5)
    # Rotating the face counter-clockwise in model space (y up) is clockwise on screen.
    assert roll_degrees(_landmarks(0, 0, -15)) == pytest.approx(15, abs=0.5)


def test_blur_lowers_sharpness_and_figures_use_the_face_region():
    rng = np.random.default_rng(0)
    chip = rng.integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    sharp = chip_figures(chip, 0.45)
    blurred = np.asarray(Image.fromarray(chip).filter(ImageFilter.GaussianBlur(3)))
    assert chip_figures(blurred, 0.45).sharpness < sharp.sharpness / 10
    # A bright frame in the padding does not change the face's brightness.
    framed = chip.copy()
    framed[:40] = 255
    assert chip_figures(framed, 0.45).brightness == pytest.approx(sharp.brightness)
    flat = np.full((256, 256, 3), 77, np.uint8)
    figures = chip_figures(flat, 0.45)
    assert (figures.sharpness, figures.contrast) == (0, 0)
    assert figures.brightness == pytest.approx(77, abs=0.5)


def test_laplacian_of_a_ramp_is_zero():
    ramp = np.tile(np.arange(64, dtype=float), (64, 1))
    assert laplacian_variance(ramp) == pytest.approx(0)
