"""Safe image decoding, shared by download, import and extract.

Every image that enters a dataset, and every image extract reads, goes through
:func:`decode_image`: it refuses what is not an image, is truncated, is a
decompression bomb, is of a format we do not keep, or is too small, with a short
reason code; it decodes fully (``verify()`` alone misses truncated data),
applies EXIF orientation and converts to 8-bit RGB correctly (16-bit, palette,
CMYK, alpha).
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import FacesiftError

# Formats we keep, and the extension a stored file of that format gets.
KEPT_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


@dataclass(frozen=True)
class DecodeLimits:
    """What an image must satisfy to be kept."""

    max_pixels: int = 40_000_000  # width x height; more is treated as a decompression bomb
    min_side: int = 32  # smaller images cannot hold a usable face (FER2013 is 48 px)


class ImageRejected(FacesiftError):
    """An image that is not kept; ``reason`` is a short code stored in the catalog."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DecodedImage:
    """A fully decoded image: 8-bit RGB pixels, upright."""

    rgb: Image.Image
    format: str  # the source format, one of KEPT_FORMATS
    ext: str  # extension for the stored original

    @property
    def width(self) -> int:
        return self.rgb.width

    @property
    def height(self) -> int:
        return self.rgb.height


def decode_image(data: bytes, limits: DecodeLimits = DecodeLimits()) -> DecodedImage:
    """Decode image bytes, or raise :class:`ImageRejected` with the reason."""
    if not data:
        raise ImageRejected("empty", "zero bytes")
    with warnings.catch_warnings():
        # Pillow warns (not raises) between 1x and 2x its own pixel limit: treat as a bomb.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as e:
            raise ImageRejected("bomb", str(e)) from None
        except Image.DecompressionBombWarning as e:
            raise ImageRejected("bomb", str(e)) from None
        except UnidentifiedImageError:
            # Pillow's own message names the BytesIO object's address: nothing a user can read.
            raise ImageRejected("not_an_image", "not an image format Pillow reads") from None
        except (OSError, ValueError, SyntaxError) as e:
            raise ImageRejected("not_an_image", str(e) or type(e).__name__) from None
        fmt = img.format or ""
        if fmt not in KEPT_FORMATS:
            raise ImageRejected("unsupported_format", f"{fmt or 'unknown'} images are not kept")
        w, h = img.size
        if w * h > limits.max_pixels:
            raise ImageRejected("bomb", f"{w}x{h} is over {limits.max_pixels} pixels")
        try:
            img.seek(0)  # the first frame of an animation
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageRejected("bomb", str(e)) from None
        except (OSError, ValueError, SyntaxError, EOFError) as e:
            raise ImageRejected("truncated", str(e) or type(e).__name__) from None
        rgb = to_rgb(ImageOps.exif_transpose(img) if _has_orientation(img) else img)
    if min(rgb.size) < limits.min_side:
        raise ImageRejected("too_small", f"{rgb.width}x{rgb.height} is under {limits.min_side} px")
    return DecodedImage(rgb, fmt, KEPT_FORMATS[fmt])


def _has_orientation(img: Image.Image) -> bool:
    try:
        return img.getexif().get(0x0112, 1) not in (1, None)
    except Exception:  # a broken EXIF block must not cost the image
        return False


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB: 16/32-bit scaled, palette and alpha on white."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode == "CMYK":
        # Pillow's CMYK->RGB is the naive formula; Adobe JPEGs store inverted CMYK,
        # which Pillow already un-inverts on load, so the plain convert is right here.
        return img.convert("RGB")
    return img.convert("RGB")


def data_uri_bytes(uri: str) -> bytes | None:
    """The bytes of a ``data:`` URI (base64 or percent-encoded), or None if it has no payload.

    The one decoder for inline images (a results page's thumbnails, an imported
    URL); what the bytes are is :func:`decode_image`'s question.
    """
    head, sep, payload = uri.partition(",")
    if not sep or not head.lower().startswith("data:"):
        return None
    try:
        if head.lower().endswith(";base64"):
            return base64.b64decode(payload, validate=False)
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None
