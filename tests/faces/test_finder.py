"""One face finder: predict sees every face exactly as extract stored it.

Same image, same detection step, same landmarks, same chip, whichever step of the
cascade found the face (a model computes its features from the landmarks and chips
extract stored; predict must compute them from the same)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from core.decode import decode_image
from faces.detect import DetectParams
from faces.worker import ImageTask, WorkerConfig, process_image
from model.predict import CHIP_SIZE as PREDICT_CHIP_SIZE
from model.predict import aligned_faces
from tests.conftest import encode


@pytest.fixture(scope="module")
def images(astronaut, frame_crop, cnn_crop):
    """One image per cascade step: the photo (HOG), a tight crop (frame), a tighter one (CNN)."""
    return {"hog": astronaut[0], "hog+frame": frame_crop, "cnn": cnn_crop}


@pytest.mark.parametrize("step", ["hog", "hog+frame", "cnn"])
def test_predict_sees_each_face_as_extract_stored_it(models, images, step, tmp_path):
    path = tmp_path / f"{step}.png"
    path.write_bytes(encode(images[step]))
    # Extract: the worker's own path, chips the size predict makes.
    config = WorkerConfig(chip_size=PREDICT_CHIP_SIZE)
    result = process_image(models, config, ImageTask(1, str(path)))
    assert result.status == "done", result.reason
    # Predict: what predict_image computes its features from.
    img = decode_image(path.read_bytes()).rgb
    assert isinstance(img, Image.Image)
    predicted = aligned_faces(models, img.convert("RGB"), DetectParams())

    assert [row.detector for row in result.faces] == [step]
    assert [det.step for det, _ in predicted] == [step]
    for row, png, (det, face) in zip(result.faces, result.chips, predicted, strict=True):
        assert det.box == row.box
        stored = np.array(json.loads(row.landmarks), dtype=np.float64)
        assert face.landmarks is not None
        shift = np.abs(np.round(face.landmarks) - stored).max()
        assert shift == 0, f"predict's landmarks are up to {shift:.0f} px off extract's"
        assert face.padding == row.chip_padding
        with Image.open(io.BytesIO(png)) as chip:
            assert np.array_equal(face.chip, np.asarray(chip.convert("RGB"))), "chips differ"
