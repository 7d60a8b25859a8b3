"""Image bytes the fake search server serves: real photos and every hostile case."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image


class ImageFactory:
    """Distinct JPEG variants of real photos, special good images and broken ones."""

    def __init__(self, photo_paths: list[Path]):
        self.sources: list[Image.Image] = []
        for p in photo_paths:
            with Image.open(p) as im:
                im = im.convert("RGB")
                im.thumbnail((480, 480))
                if min(im.size) >= 64:
                    self.sources.append(im.copy())
        if not self.sources:
            raise ValueError("no usable test photos")
        self._cache: dict[int, bytes] = {}

    def good(self, i: int) -> bytes:
        """The i-th distinct JPEG: a real photo, scaled so that every i gives other bytes."""
        data = self._cache.get(i)
        if data is None:
            src = self.sources[i % len(self.sources)]
            scale = 0.55 + ((i // len(self.sources)) % 40) * 0.011
            w, h = max(48, int(src.width * scale)), max(48, int(src.height * scale))
            data = _jpeg(src.resize((w, h)), quality=80 + (i // (40 * len(self.sources))) % 15)
            self._cache[i] = data
        return data

    def thumbnail(self, i: int) -> bytes:
        """A small JPEG of the i-th photo, as engines show in their grids."""
        key = -1 - (i % len(self.sources))
        data = self._cache.get(key)
        if data is None:
            src = self.sources[i % len(self.sources)].copy()
            src.thumbnail((120, 120))
            data = self._cache[key] = _jpeg(src, quality=60)
        return data

    @cached_property
    def cmyk_jpeg(self) -> bytes:
        return _jpeg(self.sources[0].convert("CMYK"), quality=85)

    @cached_property
    def exif_rotated_jpeg(self) -> bytes:
        """Stored landscape 320x200 with EXIF orientation 6: upright it is 200x320."""
        im = self.sources[0].resize((320, 200))
        exif = Image.Exif()
        exif[0x0112] = 6
        out = io.BytesIO()
        im.save(out, "JPEG", quality=85, exif=exif)
        return out.getvalue()

    @cached_property
    def png16(self) -> bytes:
        gray = np.asarray(self.sources[1 % len(self.sources)].convert("L"), dtype=np.uint16) * 257
        out = io.BytesIO()
        img = Image.frombytes("I;16", (gray.shape[1], gray.shape[0]), gray.astype("<u2").tobytes())
        img.save(out, "PNG")
        return out.getvalue()

    @cached_property
    def animated_gif(self) -> bytes:
        frames = [self.sources[i % len(self.sources)].resize((160, 120)) for i in range(3)]
        out = io.BytesIO()
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
        return out.getvalue()

    @cached_property
    def truncated_jpeg(self) -> bytes:
        data = self.good(0)
        return data[: len(data) // 2]

    @cached_property
    def bomb_png(self) -> bytes:
        return bomb_png(20_000, 20_000)


def _jpeg(im: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be huge: the header of a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    idat = zlib.compress(row * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
