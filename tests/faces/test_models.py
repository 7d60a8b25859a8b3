"""Locating dlib's model files, and what extract's start-up imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faces.models import LANDMARKS_68, ModelMissing, model_path

REPO = Path(__file__).resolve().parents[2]


def test_model_path_finds_the_shipped_files_and_refuses_others():
    assert model_path(LANDMARKS_68).stat().st_size > 1_000_000
    with pytest.raises(ModelMissing, match=r"no_such_model\.dat is missing"):
        model_path("no_such_model.dat")


def test_the_shipped_hog_detector_is_dlibs_own(astronaut):
    """faces/weights holds dlib's HOG detector as dlib saves it (read in 1 ms, where dlib
    rebuilds its own in 0.24 s): the same filters, the same detections."""
    import pickle

    import dlib
    import numpy as np

    from faces.models import HOG_DETECTOR, hog_detector

    shipped, own = hog_detector(), dlib.get_frontal_face_detector()
    assert pickle.dumps(shipped) == pickle.dumps(own), (
        "dlib's detector changed: run scripts/save_hog_detector.py"
    )
    assert HOG_DETECTOR.stat().st_size > 100_000
    face = np.asarray(astronaut[0])
    assert len(shipped(face)) == len(own(face)) == 1


def test_a_dlib_that_cannot_read_the_shipped_detector_uses_its_own(monkeypatch, tmp_path):
    import dlib

    from faces import models

    broken = tmp_path / "broken.svm"
    broken.write_bytes(b"\x01\x02not a detector")
    monkeypatch.setattr(models, "HOG_DETECTOR", broken)
    detector = models.hog_detector()
    assert detector.num_detectors == dlib.get_frontal_face_detector().num_detectors == 5


def test_extract_start_up_imports_no_slow_module():
    # Each of these cost extract a fifth to half a second of start-up, before its
    # worker could begin: the models' package (it imports pkg_resources) and
    # scipy.sparse (near-duplicate groups). A fresh interpreter shows what loads.
    code = (
        "import sys, pipeline, faces.stage\n"
        "from faces.options import ExtractOptions\n"
        "faces.stage.check_models(ExtractOptions())\n"
        "slow = {'pkg_resources', 'face_recognition_models', 'scipy.sparse'}\n"
        "print(sorted(slow & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_forked_pool_reads_the_landmark_model_once_in_the_driver(
    data_root, photos, add_image_bytes, monkeypatch, tmp_path
):
    """Extract on two forked workers: the 99 MB landmark model is read once, by the driver
    before it forks, and both workers use the copy they inherit."""
    import dlib

    from catalog import Catalog
    from faces import models, stage
    from faces.stage import ExtractOptions, extract
    from tests.conftest import jpeg_variants

    reads = tmp_path / "reads"
    real = dlib.shape_predictor

    def counted(path):  # forked workers inherit this patch: each read appends its pid
        with open(reads, "a") as f:
            f.write(f"{os.getpid()}\n")
        return real(path)

    monkeypatch.setattr(models.dlib, "shape_predictor", counted)
    models.landmark_model.cache_clear()
    monkeypatch.setattr(stage, "dnn_loaded_here", lambda: False)  # this process may fork
    paths = [p.path for p in photos if p.hog_up0 >= 1 and "large" not in p.kind][:4]
    with Catalog.open(data_root, "d") as cat:
        for i, data in enumerate(jpeg_variants(paths, 8, 360)):
            add_image_bytes(cat, data, f"{i}.jpg")
        summary = extract(cat, ExtractOptions(workers=2, chunk_size=1))
        with_faces = cat.conn.execute("SELECT COUNT(DISTINCT image_id) FROM faces").fetchone()[0]
    assert summary.workers == 2 and with_faces >= 4
    assert reads.read_text().split() == [str(os.getpid())]
    models.landmark_model.cache_clear()
