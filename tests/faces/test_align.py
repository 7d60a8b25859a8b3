"""Landmarks and chips read only the pixels around a face: the same points and the same
chip as dlib's fit and cut on the whole image, at less cost."""

from __future__ import annotations

import dlib
import numpy as np
import pytest
from PIL import Image

from faces import align
from faces.align import crop_around, face_chip, landmarks_68, shape_points
from faces.detect import DetectParams, detect_faces


def placed(astronaut, width: int, height: int, x: int, y: int) -> Image.Image:
    """The astronaut photo pasted at (x, y) on a larger grey canvas (a wide web photo)."""
    canvas = Image.new("RGB", (width, height), (120, 120, 120))
    canvas.paste(astronaut[0], (x, y))
    return canvas


def her_face(models, img: Image.Image):
    """The astronaut's detection (the canvas's edge can make HOG see another)."""
    dets = detect_faces(models, img, DetectParams(upsample="0", cascade="off"))
    return max(dets, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))


@pytest.mark.parametrize("where", [(700, 300), (0, 0), (1000, 500)])
def test_landmarks_and_chip_equal_dlibs_on_the_whole_image(models, astronaut, where):
    img = placed(astronaut, 1600, 1100, *where)
    rgb = np.asarray(img)
    det = her_face(models, img)
    shape = landmarks_68(models, rgb, det.raw_box)
    whole = models.landmarks(rgb, dlib.rectangle(*det.raw_box))  # the whole photo, as dlib
    assert np.array_equal(shape_points(shape), shape_points(whole))
    assert shape.rect == whole.rect
    for padding in (0.45, 1.5):  # 1.5: the chip reaches past the photo's edge
        chip = face_chip(rgb, shape, 256, padding)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(align, "crop_around", lambda rgb, low, high: (rgb, (0, 0)))
            uncropped = face_chip(rgb, shape, 256, padding)
        assert np.array_equal(chip, uncropped)


def test_the_crop_is_what_lets_dlib_read_less(models, astronaut):
    # The equality above is not trivial: the crop is much smaller than the photo.
    img = placed(astronaut, 1600, 1100, 700, 300)
    det = her_face(models, img)
    left, top, right, bottom = det.raw_box
    side = max(right - left, bottom - top)
    view, origin = crop_around(
        np.asarray(img), (left - side, top - side), (right + side, bottom + side)
    )
    assert view.size < np.asarray(img).size / 4
    assert origin == (left - side, top - side)


def test_crop_around_clips_to_the_image_and_keeps_a_pixel():
    rgb = np.arange(10 * 8 * 3, dtype=np.uint8).reshape(10, 8, 3)
    view, origin = crop_around(rgb, (2.5, 3), (5, 6.2))
    assert origin == (2, 3) and view.shape == (5, 4, 3)
    assert np.array_equal(view, rgb[3:8, 2:6]) and view.flags.c_contiguous
    same, origin = crop_around(rgb, (-4, -4), (20, 20))
    assert same is rgb and origin == (0, 0)
    corner, origin = crop_around(rgb, (30, 40), (50, 60))  # wholly outside: one edge pixel
    assert origin == (7, 9) and corner.shape == (1, 1, 3)
