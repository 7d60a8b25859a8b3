"""Chip PNGs: lossless, deterministic, content-addressed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from faces.chips import chip_png, store_chip


@pytest.mark.parametrize("shape", [(256, 256, 3), (48, 48), (1, 7, 3), (5, 1)])
def test_chip_png_is_lossless(shape):
    pixels = np.random.default_rng(sum(shape)).integers(0, 256, size=shape, dtype=np.uint8)
    with Image.open(io.BytesIO(chip_png(pixels))) as im:
        im.load()
        assert im.format == "PNG" and im.mode == ("RGB" if len(shape) == 3 else "L")
        assert np.array_equal(np.asarray(im), pixels)


def test_chip_png_of_a_real_chip_is_compressed_and_stable(single_face_photo):
    with Image.open(single_face_photo.path) as im:
        chip = np.asarray(im.convert("RGB").resize((256, 256)))
    png = chip_png(chip)
    assert png == chip_png(chip.copy())
    assert len(png) < chip.nbytes * 0.8


def test_chip_png_refuses_other_shapes():
    with pytest.raises(ValueError, match="a chip is"):
        chip_png(np.zeros((4, 4, 4), dtype=np.uint8))


def test_store_chip_is_content_addressed(tmp_path):
    png = chip_png(np.full((8, 8, 3), 7, dtype=np.uint8))
    rel = store_chip(tmp_path, png)
    assert rel.startswith("chips/") and rel.endswith(".png")
    assert store_chip(tmp_path, png) == rel
    assert (tmp_path / rel).read_bytes() == png
    assert [p.name for p in (tmp_path / rel).parent.iterdir()] == [(tmp_path / rel).name]
