"""Reading a corpus's files: an image's bytes or the reason it cannot be had.

The corpus readers name their files from a label list or a CSV row, so a file can
be missing; each such file is one :class:`~importer.items.Refusal`, never a stop.
TIFF (JAFFE's format) is converted to PNG, losslessly, since the dataset keeps
only the formats every browser shows.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image, UnidentifiedImageError

from importer.items import CONVERTED_EXTS, IMAGE_EXTS, Candidate, Item, Refusal, extension
from importer.readers import ReadOptions

CORPUS_IMAGE_EXTS = IMAGE_EXTS | CONVERTED_EXTS


def image_bytes(path: Path, rel: str, opts: ReadOptions) -> bytes | Refusal:
    """The bytes of one image a corpus names (``rel``: its name in the import's records)."""
    if _leaves_corpus(path, rel):
        return Refusal(rel, "symlink_outside", "points outside the imported folder")
    try:
        if not path.is_file():
            return Refusal(rel, "missing_file", "named by the corpus but not in the folder")
        size = path.stat().st_size
        if size > opts.max_file_bytes:
            return Refusal(rel, "too_large", f"{size} bytes is over {opts.max_file_bytes}")
        data = path.read_bytes()
    except OSError as e:
        return Refusal(rel, "unreadable", str(e))
    if extension(path.name) in CONVERTED_EXTS:
        return _as_png(data, rel)
    return data


def _leaves_corpus(path: Path, rel: str) -> bool:
    """Whether a file, or a folder on its way, is a link out of the corpus's folder.

    The corpus's folder is ``path`` without ``rel`` (every reader names a file by its
    path inside the folder), so a label list cannot pull in a file from elsewhere, as
    the plain folder reader does not follow such links either.
    """
    parts = PurePosixPath(rel).parts
    if not parts or tuple(path.parts[-len(parts) :]) != parts:
        return path.is_symlink()
    root = Path(*path.parts[: -len(parts)]) if len(path.parts) > len(parts) else Path(".")
    try:
        return not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop (RuntimeError in Python 3.11)
        return True


def image_item(path: Path, rel: str, opts: ReadOptions, **facts: Any) -> Item:
    """A corpus's image as a Candidate with what the corpus says of it, or its Refusal."""
    data = image_bytes(path, rel, opts)
    return data if isinstance(data, Refusal) else Candidate(data, rel, **facts)


def image_in_box(
    path: Path, rel: str, opts: ReadOptions, xywh: tuple[int, int, int, int], **facts: Any
) -> Item:
    """A corpus's image whose face the corpus boxes (x, y, width, height): a Candidate
    with that box (clipped to the image) as its given box, or its Refusal."""
    data = image_bytes(path, rel, opts)
    if isinstance(data, Refusal):
        return data
    size = image_size(data)
    if size is None:
        return Refusal(rel, "not_an_image", "cannot be decoded")
    box = clip_box(xywh, size)
    if box is None:
        x, y, w, h = xywh
        return Refusal(rel, "box_outside_image", f"box {x},{y} {w}x{h} in a {size[0]}x{size[1]}")
    return Candidate(data, rel, given_box=box, **facts)


def _as_png(data: bytes, rel: str) -> bytes | Refusal:
    """A TIFF's first page as PNG bytes (the decoder's own checks follow at ingest)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data": said below
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                rgb = img.convert("L" if img.mode in ("1", "L", "I;16", "I", "F") else "RGB")
        out = io.BytesIO()
        rgb.save(out, "PNG")
        return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        return Refusal(rel, "not_an_image", f"TIFF cannot be read: {e}")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        return Refusal(rel, "too_large", str(e))


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from an image's header (None if it is no image PIL knows)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


MIN_INSIDE = 0.5  # share of a given face box's area that must lie inside the image


def clip_box(
    xywh: tuple[int, int, int, int], size: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """A box (x, y, width, height) as (left, top, right, bottom) inside the image.

    None when the box is empty or less than half of it lies inside the image.
    """
    x, y, w, h = xywh
    width, height = size
    if w <= 0 or h <= 0:
        return None
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + w, width), min(y + h, height)
    if right <= left or bottom <= top or (right - left) * (bottom - top) < MIN_INSIDE * w * h:
        return None
    return left, top, right - 1, bottom - 1  # inclusive, as dlib's rectangles are
