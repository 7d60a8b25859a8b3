"""Fixtures for import tests: labelled folders, FER2013-style CSVs, a small real video."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image


def png_bytes(seed: int, side: int = 64) -> bytes:
    """A distinct small PNG (content differs by seed)."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, "PNG")
    return buf.getvalue()


def fer_row(emotion: object, seed: int, usage: str = "Training", n: int = 2304) -> str:
    rng = np.random.default_rng(seed)
    pixels = " ".join(str(v) for v in rng.integers(0, 256, n))
    return f"{emotion},{pixels},{usage}\n"


@pytest.fixture
def write_video():
    """Write a small real MPEG-4 video of ``seconds`` at ``fps``; return its path."""

    def write(path: Path, seconds: float = 3.0, fps: int = 10, side: int = 64) -> Path:
        with av.open(str(path), mode="w") as out:
            stream = out.add_stream("mpeg4", rate=fps)
            stream.width = stream.height = side
            stream.pix_fmt = "yuv420p"
            for i in range(int(seconds * fps)):
                arr = np.full((side, side, 3), (i * 7) % 256, dtype=np.uint8)
                arr[: side // 2, :, 0] = 255 - (i * 7) % 256
                frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return path

    return write
