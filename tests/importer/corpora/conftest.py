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
    # A corner patch carries the seed: distinct content (JPEG too) for each seed.
    arr[:4, :4] = seed % 256
    arr[:4, 4:8] = seed // 256 % 256
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


# --- the three corpora's layouts, small (each test adds its own bad input) -----------


@pytest.fixture
def jaffe_dir(tmp_path, face_crop):
    """A JAFFE folder: two subjects, TIFF and JPEG names, a neutral and a happy each."""
    root = tmp_path / "jaffe"
    root.mkdir()
    names = ["KA.HA1.29.tiff", "KA.NE1.26.tiff", "YM.AN2.62.jpg", "YM.SU1.58.jpg"]
    for seed, name in enumerate(names):
        if name.endswith(".tiff"):
            img = Image.open(io.BytesIO(face_crop(seed, gray=True)))
            img.save(root / name, "TIFF")
        else:
            (root / name).write_bytes(face_crop(seed, fmt="JPEG", gray=True))
    return root


@pytest.fixture
def rafdb_dir(tmp_path, face_crop, face_photo):
    """A RAF-DB folder: aligned crops for three images, an original only for the fourth;
    every original's face box."""
    root = tmp_path / "basic"
    (root / "EmoLabel").mkdir(parents=True)
    (root / "Image" / "aligned").mkdir(parents=True)
    (root / "Image" / "original").mkdir(parents=True)
    lines = {"train_00001.jpg": 4, "train_00002.jpg": 6, "test_0001.jpg": 7, "test_0002.jpg": 1}
    boxes = root / "Annotation" / "boundingbox"
    boxes.mkdir(parents=True)
    for seed, name in enumerate(lines):
        stem = name.removesuffix(".jpg")
        if seed < 3:
            (root / "Image" / "aligned" / f"{stem}_aligned.jpg").write_bytes(
                face_crop(100 + seed, fmt="JPEG")
            )
        photo, (x, y, w, h) = face_photo(100 + seed)
        (root / "Image" / "original" / name).write_bytes(photo)
        # The release's box of the labelled face: corners, as decimals.
        (boxes / f"{stem}_boundingbox.txt").write_text(f"{x:.2f} {y:.2f} {x + w:.2f} {y + h:.2f}\n")
    text = "".join(f"{name} {code}\n" for name, code in lines.items())
    (root / "EmoLabel" / "list_patition_label.txt").write_text(text)
    return root


AFFECTNET_HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
    "expression,valence,arousal\n"
)


@pytest.fixture
def affectnet_dir(tmp_path, face_photo):
    """An AffectNet folder: training.csv (happy, contempt, no-face) and validation.csv (sad)."""
    root = tmp_path / "affectnet"
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    rows = {"training": [("1/a.jpg", 1, 0.5, 0.25), ("1/b.jpg", 7, -0.3, 0.1)], "validation": []}
    rows["training"].append(("2/c.jpg", 10, -2, -2))
    rows["validation"].append(("2/d.jpg", 2, -0.6, -0.2))
    seed = 200
    for split, items in rows.items():
        text = AFFECTNET_HEADER
        for rel, code, valence, arousal in items:
            data, (x, y, w, h) = face_photo(seed)
            seed += 1
            path = root / "Manually_Annotated_Images" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            marks = ";".join("1.0" for _ in range(136))
            text += f"{rel},{x},{y},{w},{h},{marks},{code},{valence},{arousal}\n"
        (lists / f"{split}.csv").write_text(text)
    return root
