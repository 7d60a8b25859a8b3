"""Real faces for the corpus readers' tests: a face crop and a photo with its face box.

Both come from scikit-image's astronaut (a real frontal face dlib finds), so a test
that runs extract gets a face. ``seed`` changes one pixel: every call with a new seed
is a new image by content (the dataset stores each content once). The MMI and CK+
tests use them too: keep the signatures stable.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

# The astronaut's face as dlib's HOG finds it in the 512 px photo: (179, 83)-(266, 170).
_FACE = (179, 83, 266, 170)
_CROP_MARGIN = 40  # a face crop keeps this much around the face, as aligned sets do


def _astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def _encode(arr: np.ndarray, fmt: str, seed: int) -> bytes:
    arr = arr.copy()
    arr[0, 0] = (seed * 37 % 256, seed * 101 % 256, seed // 256 % 256)  # distinct content
    mode = "L" if arr.ndim == 2 else "RGB"
    out = io.BytesIO()
    img = Image.fromarray(arr, mode)
    img.save(out, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


@pytest.fixture(scope="session")
def face_crop() -> Callable[..., bytes]:
    """``face_crop(seed=0, side=100, fmt="PNG", gray=False)``: a square crop of a real face."""
    photo = _astronaut()
    left, top, right, bottom = _FACE
    m = _CROP_MARGIN
    crop = Image.fromarray(photo[top - m : bottom + m, left - m : right + m])

    def make(seed: int = 0, side: int = 100, fmt: str = "PNG", gray: bool = False) -> bytes:
        img = crop.resize((side, side), Image.Resampling.LANCZOS)
        arr = np.asarray(img.convert("L") if gray else img)
        return _encode(arr, fmt, seed)

    return make


@pytest.fixture(scope="session")
def face_photo() -> Callable[..., tuple[bytes, tuple[int, int, int, int]]]:
    """``face_photo(seed=0, side=256, fmt="JPEG")``: a photo and its face box (x, y, w, h)."""
    photo = Image.fromarray(_astronaut())

    def make(seed: int = 0, side: int = 256, fmt: str = "JPEG"):
        scale = side / photo.width
        arr = np.asarray(photo.resize((side, side), Image.Resampling.LANCZOS))
        left, top, right, bottom = (round(v * scale) for v in _FACE)
        return _encode(arr, fmt, seed), (left, top, right - left, bottom - top)

    return make
