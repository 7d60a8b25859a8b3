"""Helpers for import tests: labelled folders and FER2013-style CSVs.

(``write_video``, which the hostile-input sweep needs too, is in tests/conftest.py.)
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.conftest import encode


def png_bytes(seed: int, side: int = 64) -> bytes:
    """A distinct small PNG (content differs by seed)."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    return encode(Image.fromarray(arr, "RGB"))


def fer_row(emotion: object, seed: int, usage: str = "Training", n: int = 2304) -> str:
    rng = np.random.default_rng(seed)
    pixels = " ".join(str(v) for v in rng.integers(0, 256, n))
    return f"{emotion},{pixels},{usage}\n"
