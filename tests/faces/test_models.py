"""Locating dlib's model files, and what extract's start-up imports."""

from __future__ import annotations

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
