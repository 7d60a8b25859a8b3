"""Thumbnails of face chips: made once, cached on disk by the chip's content hash.

Chips are content-addressed (``chips/ab/<sha256>.png``), so a thumbnail named
after the chip's hash and the size never goes stale:
``thumbs/<size>/ab/<sha256>.jpg`` under the dataset folder.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path, PurePosixPath

from PIL import Image, ImageDraw

from catalog.dataset import Catalog
from core.space import DiskFull
from core.storage import write_atomic

THUMB_SIZE = 112
_SHA = re.compile(r"^[0-9a-f]{64}$")


def thumb_relpath(chip_path: str, size: int = THUMB_SIZE) -> str:
    """Where a chip's thumbnail of this size is cached (relative to the dataset folder)."""
    stem = PurePosixPath(chip_path).stem
    key = stem if _SHA.match(stem) else hashlib.sha256(chip_path.encode()).hexdigest()
    return f"thumbs/{int(size)}/{key[:2]}/{key}.jpg"


def thumbnail(
    cat: Catalog, chip_path: str | None, size: int = THUMB_SIZE, *, make: bool = True
) -> Path | None:
    """The cached thumbnail of a chip, made on first use (unless not ``make``: then None
    until it is made); None without a readable chip."""
    if not chip_path:
        return None
    target = cat.paths.dir / thumb_relpath(chip_path, size)
    if target.is_file():
        return target
    if not make:
        return None
    try:
        with Image.open(cat.paths.resolve(chip_path)) as im:
            im = im.convert("RGB")
            im.thumbnail((size, size), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=85)
    except (OSError, ValueError):
        return None
    try:
        write_atomic(target, buf.getvalue())
    except DiskFull:  # a cache: on a full disk the page shows the chip itself instead
        return cat.paths.resolve(chip_path)
    return target


def image_with_box(
    cat: Catalog, image_path: str, box: tuple[int, int, int, int], max_side: int = 800
) -> Image.Image | None:
    """The source image, scaled to fit ``max_side``, with the face's box drawn (on demand)."""
    from core.decode import decode_image
    from core.errors import FacesiftError

    try:
        rgb = decode_image(cat.paths.resolve(image_path).read_bytes()).rgb
    except (OSError, FacesiftError):  # a file gone missing or unreadable must not break the queue
        return None
    scale = min(1.0, max_side / max(rgb.size))
    if scale < 1.0:
        rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)))
    draw = ImageDraw.Draw(rgb)
    left, top, right, bottom = (round(v * scale) for v in box)
    draw.rectangle((left, top, right, bottom), outline=(255, 40, 40), width=3)
    return rgb
