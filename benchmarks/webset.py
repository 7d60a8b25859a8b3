"""Web-like photo sets for the benchmarks: each test photo in six variants, as a scrape
returns them (the original, large, medium and thumbnail JPEGs, a mirrored and a cropped
copy): singles, groups, small faces and no-face photos, every file distinct."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.conftest import load_photos  # noqa: E402

# (max side, JPEG quality, mirrored, centre crop share); None: the original file's bytes.
VARIANTS: tuple[tuple[int, int, bool, float] | None, ...] = (
    None,
    (1024, 85, False, 1.0),
    (512, 80, False, 1.0),
    (300, 75, False, 1.0),
    (800, 85, True, 1.0),
    (640, 80, False, 0.8),
)


def variant(data: bytes, spec: tuple[int, int, bool, float] | None) -> bytes:
    """One variant of an image file's bytes."""
    if spec is None:
        return data
    side, quality, mirrored, share = spec
    with Image.open(io.BytesIO(data)) as im:
        img = ImageOps.exif_transpose(im).convert("RGB")
    if share < 1.0:
        w, h = img.size
        dx, dy = round(w * (1 - share) / 2), round(h * (1 - share) / 2)
        img = img.crop((dx, dy, w - dx, h - dy))
    if mirrored:
        img = ImageOps.mirror(img)
    img.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def web_images(n: int | None = None) -> list[bytes]:
    """The test photos in their six variants (240 from the shared 40), repeated to ``n``
    distinct files (trailing bytes, which decoders ignore, make each copy unique)."""
    base = [variant(p.path.read_bytes(), spec) for p in load_photos() for spec in VARIANTS]
    if n is None:
        return base
    return [base[i % len(base)] + b"\0facesift-bench-%d" % i for i in range(n)]
