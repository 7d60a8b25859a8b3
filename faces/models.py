"""dlib's models, located in the ``face_recognition_models`` package and loaded once per process."""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import dlib

from core.errors import FacesiftError

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"
FACE_DESCRIPTOR = "dlib_face_recognition_resnet_model_v1.dat"


class ModelMissing(FacesiftError):
    """A dlib model file is not installed."""


def model_path(name: str) -> Path:
    """The path of one of dlib's model files shipped by ``face_recognition_models``.

    Found from the package's import spec, without importing it: its ``__init__``
    imports pkg_resources, which newer setuptools no longer ship and which took a
    fifth of a second of every extract's start-up.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(
            "the face_recognition_models package is not installed "
            "(pip install face_recognition_models)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise ModelMissing(f"dlib model {name} is missing from face_recognition_models")
    return path


@dataclass
class Models:
    """The dlib objects one process needs; built once by :func:`load_models`."""

    hog: dlib.fhog_object_detector
    landmarks: dlib.shape_predictor
    cnn: dlib.cnn_face_detection_model_v1 | None = None
    descriptor: dlib.face_recognition_model_v1 | None = None

    def need_cnn(self) -> dlib.cnn_face_detection_model_v1:
        """The MMOD CNN, loaded on first use (the cascade needs it only where HOG finds nothing).

        Loading takes about 0.3 s: a worker whose images all have faces HOG finds
        never pays it.
        """
        if self.cnn is None:
            self.cnn = load_cnn()
        return self.cnn


def load_cnn() -> dlib.cnn_face_detection_model_v1:
    """dlib's MMOD CNN face detector."""
    _dnn_pids.add(os.getpid())
    return dlib.cnn_face_detection_model_v1(str(model_path(CNN_DETECTOR)))


def load_descriptor() -> dlib.face_recognition_model_v1:
    """dlib's 128-d face descriptor network."""
    _dnn_pids.add(os.getpid())
    return dlib.face_recognition_model_v1(str(model_path(FACE_DESCRIPTOR)))


# dlib's neural networks (the MMOD CNN, the descriptor) start a thread pool in
# the process that runs them, and a child forked from that process later waits
# forever on the pool's lock. The processes that have loaded one are recorded
# here (a fact about the process, so process-wide) for the extract stage to
# start its workers from a fresh interpreter instead of forking.
_dnn_pids: set[int] = set()


def dnn_loaded_here() -> bool:
    """True if this process has loaded one of dlib's networks (forking it is unsafe)."""
    return os.getpid() in _dnn_pids


def load_models(detector: str = "hog", embeddings: bool = False) -> Models:
    """Load the detector(s), the 68-point landmark model and, if asked, the descriptor model.

    The CNN is loaded here for ``detector="cnn"``; otherwise on first need
    (:meth:`Models.need_cnn`). The landmark model is read once per process
    (:func:`landmark_model`).
    """
    return Models(
        hog=hog_detector(),
        landmarks=landmark_model(),
        cnn=load_cnn() if detector == "cnn" else None,
        descriptor=load_descriptor() if embeddings else None,
    )


def hog_detector() -> dlib.fhog_object_detector:
    """dlib's HOG frontal face detector, read from the copy shipped in ``faces/weights``.

    ``dlib.get_frontal_face_detector()`` rebuilds it from a compressed string compiled
    into dlib: 0.24 s of CPU in every worker process, where reading the same detector
    saved by dlib takes 1 ms. The copy is checked against dlib's own by a test; a dlib
    that cannot read it gets its own.
    """
    try:
        return dlib.fhog_object_detector(str(HOG_DETECTOR))
    except RuntimeError:  # a future dlib's format: its own detector, slower to build
        return dlib.get_frontal_face_detector()


# dlib's get_frontal_face_detector() saved by dlib (scripts/save_hog_detector.py).
HOG_DETECTOR = Path(__file__).with_name("weights") / "frontal_face_detector.svm"


@functools.cache
def landmark_model() -> dlib.shape_predictor:
    """The 68-point landmark model, read once per process and shared by its users.

    Reading its 99 MB takes about 0.9 s of CPU. A predictor is not changed by use,
    so the threads of a Dask worker share it, and the workers a local pool forks
    inherit it from the driver (:func:`preload_for_fork`) instead of each reading it.
    """
    return dlib.shape_predictor(str(model_path(LANDMARKS_68)))


def preload_for_fork(_config: object = None) -> None:
    """Read the landmark model here, before a local pool forks its workers (a Job's
    ``preload``). Only this plain model: a forked dlib network would hang."""
    landmark_model()
