"""Save dlib's HOG frontal face detector to faces/weights/frontal_face_detector.svm.

    .venv/bin/python scripts/save_hog_detector.py

dlib builds the detector from a compressed string compiled into it, which costs
0.24 s per process; reading the saved copy costs 1 ms (faces.models.hog_detector).
Rerun this after a dlib upgrade changes the detector (tests/faces/test_models.py
compares the copy with dlib's own).
"""

from __future__ import annotations

import sys
from pathlib import Path

import dlib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faces.models import HOG_DETECTOR


def main() -> None:
    dlib.get_frontal_face_detector().save(str(HOG_DETECTOR))
    print(f"wrote {HOG_DETECTOR} ({HOG_DETECTOR.stat().st_size:,} bytes, dlib {dlib.__version__})")


if __name__ == "__main__":
    main()
