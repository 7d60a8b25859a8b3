import base64
import struct
import urllib.parse
import zlib

import numpy as np
import pytest
from PIL import Image

from core.decode import DecodeLimits, ImageRejected, data_uri_bytes, decode_image
from tests.conftest import encode


@pytest.fixture(scope="module")
def photo_rgb(request) -> Image.Image:
    from tests.conftest import load_photos

    p = next(p for p in load_photos() if p.kind == "single_frontal")
    return Image.open(p.path).convert("RGB").resize((120, 100))


def test_real_photo_decodes_to_rgb(single_face_photo):
    d = decode_image(single_face_photo.path.read_bytes())
    assert d.rgb.mode == "RGB" and d.format in ("JPEG", "PNG") and min(d.rgb.size) > 100


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_kept_formats(photo_rgb, fmt):
    d = decode_image(encode(photo_rgb, fmt))
    assert (d.format, d.rgb.mode, d.rgb.size) == (fmt, "RGB", (120, 100))


def test_exif_orientation_is_applied(photo_rgb):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    d = decode_image(encode(photo_rgb, "JPEG", exif=exif))
    assert d.rgb.size == (100, 120)


def test_cmyk_palette_alpha_and_16_bit(photo_rgb):
    cmyk = decode_image(encode(photo_rgb.convert("CMYK"), "JPEG"))
    assert cmyk.rgb.mode == "RGB"
    ref = np.asarray(photo_rgb, dtype=float)
    assert np.abs(np.asarray(cmyk.rgb, dtype=float) - ref).mean() < 12
    pal = decode_image(encode(photo_rgb.convert("P"), "PNG"))
    assert pal.rgb.mode == "RGB"
    rgba = photo_rgb.convert("RGBA")
    rgba.putalpha(0)  # fully transparent: composited on white
    assert np.asarray(decode_image(encode(rgba, "PNG")).rgb).min() == 255
    gray16 = np.asarray(photo_rgb.convert("L"), dtype=np.uint16) * 257
    img16 = Image.fromarray(gray16)
    assert img16.mode.startswith("I")
    d16 = decode_image(encode(img16, "PNG"))
    assert (
        np.abs(
            np.asarray(d16.rgb)[..., 0].astype(int) - np.asarray(photo_rgb.convert("L")).astype(int)
        ).max()
        <= 1
    )


def test_animated_gif_keeps_the_first_frame(photo_rgb):
    frames = [photo_rgb, Image.new("RGB", photo_rgb.size, (255, 0, 0))]
    d = decode_image(encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    assert np.asarray(d.rgb)[..., 0].mean() < 200  # not the red frame


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\0" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat))
        + b"IDAT"
        + idat
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    )


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty"),
        (b"<html><body>not an image</body></html>", "not_an_image"),
        (_png_header_only(100_000, 100_000), "bomb"),
        (_png_header_only(7000, 7000), "bomb"),  # under Pillow's own limit, over ours
    ],
)
def test_refused_inputs_have_reasons(data, reason):
    with pytest.raises(ImageRejected) as e:
        decode_image(data)
    assert e.value.reason == reason


def test_truncated_and_tiny_and_unsupported(photo_rgb):
    full = encode(photo_rgb, "JPEG")
    with pytest.raises(ImageRejected) as e:
        decode_image(full[: len(full) // 2])
    assert e.value.reason == "truncated"
    with pytest.raises(ImageRejected) as e:
        decode_image(encode(photo_rgb.resize((20, 20)), "PNG"))
    assert e.value.reason == "too_small"
    assert decode_image(encode(photo_rgb.resize((20, 20)), "PNG"), DecodeLimits(min_side=8))
    with pytest.raises(ImageRejected) as e:
        decode_image(encode(photo_rgb, "TIFF"))
    assert e.value.reason == "unsupported_format"


def test_data_uris_decode_alike_in_base64_and_percent_encoding():
    raw = bytes(range(256))
    b64 = "data:image/png;base64," + base64.b64encode(raw).decode()
    pct = "data:image/png," + urllib.parse.quote_from_bytes(raw)
    assert data_uri_bytes(b64) == data_uri_bytes(pct) == raw
    assert data_uri_bytes("data:image/png;base64") is None  # no payload
    assert data_uri_bytes("https://example.com/a,b") is None
    assert data_uri_bytes("data:;base64,@@@") in (b"", None)  # junk: nothing usable


def test_not_an_image_detail_is_readable():
    # It was Pillow's "cannot identify image file <_io.BytesIO object at 0x7f...>", stored
    # in import_errors and printed by predict.
    with pytest.raises(ImageRejected) as e:
        decode_image(b"# SOURCES\nplain text, not a picture\n")
    assert e.value.reason == "not_an_image"
    assert "BytesIO" not in str(e.value) and " at 0x" not in str(e.value)
