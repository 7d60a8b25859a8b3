"""Rendering a master chip at the export's size and colour, reproducibly.

PNGs are written without any metadata (no time, no software chunk) at a fixed
compression level, so the same chip and options always give the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from exporter.options import ExportError


def load_chip(path: Path) -> Image.Image:
    """The master chip as RGB; ExportError naming the file if it cannot be read."""
    try:
        with Image.open(path) as im:
            im.load()
            rgb = im.convert("RGB")
    except (OSError, ValueError) as e:
        raise ExportError(f"cannot read face chip {path}: {e}") from None
    rgb.info = {}  # no ICC profile, text or times from the chip into the export
    return rgb


def render(chip: Image.Image, size: int, color: bool) -> Image.Image:
    """The chip resized to size x size, gray ("L") unless ``color``."""
    im = chip if color else chip.convert("L")
    if im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=None)
    return im


def png_bytes(im: Image.Image) -> bytes:
    """Deterministic PNG bytes of an image."""
    buf = io.BytesIO()
    # Level 3: a third of the time of the default 6 for about 5% more bytes.
    im.save(buf, format="PNG", optimize=False, compress_level=3)
    return buf.getvalue()


def fer_pixels(im: Image.Image) -> str:
    """A gray image's pixels as FER2013 writes them: space-separated, row-major."""
    if im.mode != "L":
        raise ValueError("FER2013 pixels need a gray image")
    return " ".join(str(v) for v in im.tobytes())
