"""The one face finder: detect every face of an image, fit its 68 landmarks, align its chip.

Extract (faces.worker) and predict (model.predict) both call
:func:`find_aligned_faces`, so that a face predict is asked about is found,
landmarked and aligned exactly as the faces the model learnt from were stored:
a model's features are computed from these landmarks and chips.
"""

from __future__ import annotations

from dataclasses import dataclass

import dlib
import numpy as np
from PIL import Image

from faces.align import face_chip, landmarks_68, landmarks_in_view, padding_inside, shape_points
from faces.defaults import CHIP_PADDING, CHIP_SIZE
from faces.detect import Detection, DetectParams, detect_faces, detection_input, whole_image
from faces.models import Models


@dataclass(frozen=True, eq=False)  # numpy arrays: compare fields, not faces
class FoundFace:
    """One face of an image: how it was found, its landmarks and its aligned chip."""

    detection: Detection  # its box in image pixels, and the step that found it
    shape: dlib.full_object_detection  # the 68 landmarks as dlib holds them (rounded)
    points: np.ndarray  # (68, 2) float x, y in image pixels
    chip: np.ndarray  # (chip_size, chip_size, 3) uint8, aligned on the eyes
    padding: float  # the chip's padding around the landmarks
    descriptor: np.ndarray | None = None  # dlib's 128-d face descriptor, when asked

    @property
    def step(self) -> str:
        """What found the face: "hog", "hog+frame", "cnn" or "whole" (the image is the face)."""
        return self.detection.step


@dataclass(frozen=True, eq=False)  # numpy arrays
class Located:
    """An image's faces found and not yet landmarked: the detections, and the pixels
    (``rgb``, the image's own) their landmarks and chips come from."""

    img: Image.Image
    rgb: np.ndarray
    detections: list[Detection]
    inside: bool = False  # a face crop or a given box: chips hold only the image's pixels


def find_aligned_faces(
    models: Models,
    img: Image.Image,
    params: DetectParams | None = None,
    *,
    chip_size: int = CHIP_SIZE,
    padding: float = CHIP_PADDING,
    whole: bool = False,
    descriptors: bool = False,
) -> list[FoundFace]:
    """Every face of an upright RGB image, in detection order, landmarked and aligned.

    With ``whole`` the image is one face crop: its box is the image (no detector
    runs). ``descriptors`` also computes dlib's face descriptor (the models must be
    loaded with ``embeddings=True``). :func:`locate_faces`, then :func:`align_located`.
    """
    located = locate_faces(models, img, params, whole=whole)
    return align_located(
        models, located, chip_size=chip_size, padding=padding, descriptors=descriptors
    )


def locate_faces(
    models: Models, img: Image.Image, params: DetectParams | None = None, *, whole: bool = False
) -> Located:
    """The faces of an upright RGB image as the detector finds them (``whole``: the image
    is one face crop, no detector runs)."""
    if whole:
        return Located(img, np.asarray(img), [whole_image(img.size)], inside=True)
    params = params or DetectParams()
    prepared = detection_input(img, params)
    detections = detect_faces(models, img, params, prepared)
    if not detections:
        return Located(img, prepared[0], [])
    # Landmarks and chips use the full image: the detector's copy when it is one.
    rgb = prepared[0] if prepared[1] == 1.0 else np.asarray(img)
    return Located(img, rgb, detections)


def align_located(
    models: Models,
    located: Located,
    *,
    chip_size: int = CHIP_SIZE,
    padding: float = CHIP_PADDING,
    descriptors: bool = False,
) -> list[FoundFace]:
    """Each located face landmarked and aligned (:func:`align_face`), in detection order."""
    return [
        align_face(
            models,
            located.img,
            located.rgb,
            det,
            chip_size,
            padding,
            descriptors=descriptors,
            inside=located.inside,
        )
        for det in located.detections
    ]


def align_face(
    models: Models,
    img: Image.Image,
    rgb: np.ndarray,
    det: Detection,
    chip_size: int = CHIP_SIZE,
    padding: float = CHIP_PADDING,
    *,
    descriptors: bool = False,
    inside: bool = False,
) -> FoundFace:
    """One detected face (``rgb`` is ``img``'s pixels) landmarked and aligned.

    ``inside``: the image is a face crop (or a corpus's box near its edge): the chip's
    padding shrinks until the chip holds only the image's own pixels
    (:func:`faces.align.padding_inside`); :attr:`FoundFace.padding` is the one used. A
    crop cut tighter than that is moved onto the image (:func:`faces.align.shift_inside`).
    """
    shape, points = fit_landmarks(models, img, rgb, det)
    if inside:
        padding = padding_inside(shape, chip_size, padding, img.size, points)
    chip = face_chip(rgb, shape, chip_size, padding, points, inside=img.size if inside else None)
    descriptor = None
    if descriptors:
        if models.descriptor is None:
            raise ValueError("face descriptors need the models loaded with embeddings=True")
        descriptor = np.asarray(models.descriptor.compute_face_descriptor(rgb, shape))
    return FoundFace(det, shape, points, chip, padding, descriptor)


def fit_landmarks(
    models: Models, img: Image.Image, rgb: np.ndarray, det: Detection
) -> tuple[dlib.full_object_detection, np.ndarray]:
    """The 68 landmarks of a detected face, as a dlib shape and as (68, 2) floats.

    A face HOG found in the image itself is fitted there. One found in a framed or
    enlarged copy (a tight crop or a small image: the frame and CNN steps), or a
    whole-image face, is fitted on an enlarged, framed copy of its surroundings
    (:func:`faces.align.landmarks_in_view`).
    """
    if det.step == "hog":
        shape = landmarks_68(models, rgb, det.raw_box)
        return shape, shape_points(shape)
    return landmarks_in_view(models, img, det.raw_box)
