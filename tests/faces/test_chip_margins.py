"""Chips of faces at the image border: the image's own edge pixels, never a black frame."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_erosion
from skimage import data as skimage_data

import faces.align as align
from faces.align import pad_to_cover
from faces.chips import chip_png
from faces.detect import DetectParams, detect_faces
from faces.worker import WorkerConfig, find_faces
from tests.conftest import SHARED_FER

RING = 6  # chip pixels of the outer ring looked at


@pytest.fixture(scope="module")
def astronaut_48(models) -> Image.Image:
    """The astronaut's face cropped to its detector box and shrunk to a 48 px gray crop,
    as FER2013 stores its faces."""
    img = Image.fromarray(skimage_data.astronaut())
    (det,) = detect_faces(models, img, DetectParams(upsample="0", cascade="off"))
    return img.crop(det.box).convert("L").resize((48, 48), Image.Resampling.LANCZOS).convert("RGB")


def fer_crops(n: int) -> list[Path]:
    """``n`` crops spread over all labels."""
    paths = sorted(SHARED_FER.glob("*/*.jpg"))
    return paths[:: max(1, len(paths) // n)][:n]


def png_pixels(png: bytes) -> np.ndarray:
    """A chip's RGB pixels from its PNG bytes."""
    with Image.open(io.BytesIO(png)) as chip:
        return np.asarray(chip.convert("RGB"))


def whole_chip(models, tmp_path: Path, img: Image.Image) -> np.ndarray:
    """The stored chip of ``img`` imported as one whole-image face."""
    ((_, png),) = find_faces(models, WorkerConfig(), img, whole=True)
    return png_pixels(png)


def ring(chip: np.ndarray) -> np.ndarray:
    gray = chip.mean(axis=2)
    inner = np.ones(gray.shape, dtype=bool)
    inner[RING:-RING, RING:-RING] = False
    return gray[inner]


def edge_pixels(img: Image.Image) -> np.ndarray:
    gray = np.asarray(img.convert("RGB"), dtype=np.float64).mean(axis=2)
    return np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])


def assert_no_black_frame(chip: np.ndarray, img: Image.Image) -> None:
    zero = chip.max(axis=2) == 0
    assert not zero.all(axis=0).any() and not zero.all(axis=1).any()
    edges = edge_pixels(img)
    outer = ring(chip)
    # The ring lies outside the 48 px crop: its pixels are blends of the crop's edge pixels.
    inside = (outer >= edges.min() - 2) & (outer <= edges.max() + 2)
    assert inside.mean() > 0.97
    assert abs(outer.mean() - edges.mean()) < 0.5 * edges.std() + 20


def test_whole_image_chip_of_a_48px_crop_has_no_black_frame(models, astronaut_48, tmp_path):
    chip = whole_chip(models, tmp_path / "new", astronaut_48)
    assert_no_black_frame(chip, astronaut_48)


def test_before_the_fix_the_same_chip_was_framed_in_black(
    models, astronaut_48, tmp_path, monkeypatch
):
    # The check above is one that dlib's plain black fill fails.
    monkeypatch.setattr(align, "pad_to_cover", lambda rgb, corners, margin: (rgb, np.zeros(2)))
    chip = whole_chip(models, tmp_path, astronaut_48)
    assert (ring(chip) == 0).mean() > 0.5
    with pytest.raises(AssertionError):
        assert_no_black_frame(chip, astronaut_48)


def test_whole_image_chips_are_deterministic(models, astronaut_48, tmp_path):
    first = whole_chip(models, tmp_path / "a", astronaut_48)
    again = whole_chip(models, tmp_path / "b", astronaut_48.copy())
    assert chip_png(first) == chip_png(again)


@pytest.mark.skipif(not SHARED_FER.is_dir(), reason="needs ../shared FER2013 crops")
def test_real_fer2013_crops_give_chips_without_black_frame(models, tmp_path):
    crops = fer_crops(12)
    assert len(crops) == 12
    for i, path in enumerate(crops):
        with Image.open(path) as im:
            img = im.convert("RGB")
        assert_no_black_frame(whole_chip(models, tmp_path / str(i), img), img)


def test_face_at_the_border_of_a_photo_gets_no_black(models, tmp_path):
    # A scraped photo cut through the face's left side: the chip reaches past the image.
    img = Image.fromarray(skimage_data.astronaut())
    (det,) = detect_faces(models, img, DetectParams(upsample="0", cascade="off"))
    left, _, right, _ = det.box
    cut = img.crop((left + (right - left) // 5, 0, img.width, img.height))
    ((_, png),) = find_faces(models, WorkerConfig(), cut)
    chip = png_pixels(png)
    zero = chip.max(axis=2) == 0
    assert not zero.all(axis=0).any() and not zero.all(axis=1).any()
    # The chip's left strip lies left of the cut (dlib filled it black): now it repeats the
    # cut's first column (her hair, cheek and the light background; black only at her suit).
    strip = chip[:, :40]
    assert (strip.max(axis=2) == 0).mean() < 0.05
    first_column = np.asarray(cut, dtype=np.float64)[:, 0]
    assert strip.mean() > 0.5 * first_column.mean()


def test_padding_keeps_every_image_pixel_of_the_chip(models, tmp_path, monkeypatch):
    # Same alignment: where dlib's black-filled chip shows the image, the padded chip
    # has the very same pixels (the shift of the padded image is exact).
    img = Image.fromarray(skimage_data.astronaut())
    (det,) = detect_faces(models, img, DetectParams(upsample="0", cascade="off"))
    left, _, right, _ = det.box
    cut = img.crop((left + (right - left) // 5, 0, img.width, img.height))
    ((_, padded_png),) = find_faces(models, WorkerConfig(), cut)
    monkeypatch.setattr(align, "pad_to_cover", lambda rgb, corners, margin: (rgb, np.zeros(2)))
    ((_, black_png),) = find_faces(models, WorkerConfig(), cut)
    padded, filled = png_pixels(padded_png), png_pixels(black_png)
    shown = binary_erosion(filled.max(axis=2) > 0, iterations=3)
    assert 0.5 < shown.mean() < 0.95
    assert np.array_equal(padded[shown], filled[shown])
    assert not np.array_equal(padded, filled)


def test_pad_to_cover_leaves_an_image_that_covers_the_chip_alone():
    rgb = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    corners = np.array([[5.0, 5.0], [20.0, 4.0], [6.0, 15.0], [21.0, 14.0]])
    same, offset = pad_to_cover(rgb, corners, margin=2)
    assert same is rgb and not offset.any()


def test_pad_to_cover_replicates_edges_and_reports_the_shift():
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    corners = np.array([[-3.2, -1.0], [6.0, -1.0], [-3.2, 7.5], [6.0, 7.5]])
    padded, offset = pad_to_cover(rgb, corners, margin=1)
    left, top = offset.astype(int)
    assert (left, top) == (5, 2)
    assert np.array_equal(padded[top : top + 4, left : left + 5], rgb)
    assert padded.shape[0] >= top + 7.5 + 1 and padded.shape[1] >= left + 6 + 1
    assert np.array_equal(padded[0, 0], rgb[0, 0]) and np.array_equal(padded[-1, -1], rgb[-1, -1])
    assert np.array_equal(padded[top + 1, :left], np.repeat(rgb[1, :1], left, axis=0))
