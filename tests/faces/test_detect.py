"""Detection: coordinates in the original image, the upsample policy, the CNN, descriptors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from faces.detect import DetectParams, detect_faces, detection_scale, upsample_passes
from faces.stage import ExtractOptions, extract


def test_detection_scale_caps_the_pixel_count():
    assert detection_scale(1000, 1000, 4_000_000) == 1.0
    s = detection_scale(4000, 3000, 3_000_000)
    assert 4000 * s * 3000 * s == pytest.approx(3_000_000)


def test_upsample_policy():
    assert upsample_passes("auto") == [0, 1]
    assert upsample_passes("2") == [2]


def test_boxes_of_a_shrunk_detection_are_in_original_pixels(models, single_face_photo):
    with Image.open(single_face_photo.path) as im:
        rgb = im.convert("RGB")
    plain = detect_faces(models, rgb, DetectParams(upsample="0"))
    assert len(plain) == 1
    big = rgb.resize((rgb.width * 2, rgb.height * 2), Image.Resampling.BICUBIC)
    # Detection runs on a copy shrunk back to about the original size.
    shrunk = detect_faces(
        models, big, DetectParams(upsample="0", max_pixels=rgb.width * rgb.height)
    )
    assert len(shrunk) == 1
    got = np.array(shrunk[0].box, dtype=float)
    want = np.array(plain[0].box, dtype=float) * 2
    assert np.abs(got - want).max() <= 0.05 * (want[2] - want[0])
    assert shrunk[0].upsample == 0 and shrunk[0].subdetector in range(5)


def test_auto_keeps_level_zero_on_large_photos_with_faces(models, single_face_photo):
    with Image.open(single_face_photo.path) as im:
        rgb = im.convert("RGB")
    if max(rgb.size) < 400:
        pytest.skip("the photo is small: auto retries it at 1")
    assert [d.upsample for d in detect_faces(models, rgb, DetectParams())] == [0]


@pytest.mark.slow
def test_cnn_detector_and_descriptors(data_root, single_face_photo, no_face_photo, add_image_bytes):
    """MMOD CNN boxes and 128-d descriptors: a re-encoded copy is the same person."""
    from catalog import Catalog

    def small(path, quality: int) -> bytes:
        # 400 px: the CNN's cost grows with the pixels, and a face still spans ~100 px.
        with Image.open(path) as im:
            img = im.convert("RGB")
        img.thumbnail((400, 400))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        return buf.getvalue()

    with Catalog.open(data_root, "cnn") as cat:
        a = add_image_bytes(cat, small(single_face_photo.path, 95), "a.jpg")
        b = add_image_bytes(cat, small(single_face_photo.path, 70), "b.jpg")
        add_image_bytes(cat, small(no_face_photo.path, 90), "none.jpg")
        opts = ExtractOptions(
            detector="cnn", upsample="0", embeddings=True, workers=1, cascade="off"
        )
        s = extract(cat, opts)
        assert (s.done, s.no_face, s.errors) == (2, 1, 0)
        rows = {
            r["image_id"]: r
            for r in cat.conn.execute("SELECT * FROM faces WHERE image_id IN (?, ?)", (a, b))
        }
        assert set(rows) == {a, b}
        for r in rows.values():
            assert r["detector"] == "cnn" and r["subdetector"] is None and r["score"] > 0
            assert len(r["embedding"]) == 128 * 4
        va, vb = (np.frombuffer(rows[i]["embedding"], dtype="<f4") for i in (a, b))
        assert 0 < np.linalg.norm(va - vb) < 0.3  # dlib's same-person threshold is 0.6
