"""FER2013-style CSVs: ``emotion,pixels,Usage`` rows of 48x48 gray faces.

Rows are read one line at a time from bytes, so a row with a bad encoding, a
wrong pixel count or an unknown emotion is refused with its reason while every
other row is kept. The emotion column is FER2013's class index; it becomes
FER2013's label word, which the ingest step resolves in the dataset's label set.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator

import numpy as np
from PIL import Image

from catalog.labels import LabelSet
from importer.errors import ImportRefused
from importer.items import Candidate, Items, Refusal

FER2013_NAMES = LabelSet.default().names  # the class index order of the emotion column
MAX_LINE = 1 << 20  # a 48x48 row is ~8 KB; a longer "line" is not a FER2013 row


def _decoded_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, str | None]]:
    for number, raw in enumerate(lines, start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield number, None


def _header(line: str | None) -> dict[str, int]:
    if line is None:
        raise ImportRefused("the CSV header is not UTF-8 text")
    try:
        names = [c.strip().lower() for c in next(csv.reader([line]), [])]
    except csv.Error as e:  # a lone CR: a file with old Mac line endings is all one line
        raise ImportRefused(f"the CSV header cannot be read: {e}") from None
    if "pixels" not in names:
        raise ImportRefused(
            "not a FER2013-style CSV: the header has no 'pixels' column "
            "(expected emotion,pixels,Usage)"
        )
    return {name: i for i, name in enumerate(names)}


def pixels_to_png(text: str) -> bytes:
    """A square gray PNG from space-separated 0-255 values; ValueError when they are not that."""
    values = text.split()
    side = math.isqrt(len(values))
    if not values or side * side != len(values):
        raise ValueError(f"{len(values)} pixel values do not make a square image")
    try:
        arr = np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        raise ValueError("a pixel value is not a whole number") from None
    if arr.min() < 0 or arr.max() > 255:
        raise ValueError("a pixel value is outside 0-255")
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8).reshape(side, side), "L").save(buf, "PNG")
    return buf.getvalue()


def read_fer2013(lines: Iterable[bytes], csv_name: str, *, use_labels: bool = True) -> Items:
    """Candidates from a FER2013-style CSV given as byte lines.

    ``import_path`` is ``<csv name>:<row>`` (row = 0-based data row, as pandas
    numbers them), followed by ``:<Usage>`` when the CSV has a Usage column.
    """
    decoded = _decoded_lines(lines)
    try:
        _, first = next(decoded)
    except StopIteration:
        raise ImportRefused(f"{csv_name} is empty") from None
    cols = _header(first)
    i_pix, i_emo, i_use = cols["pixels"], cols.get("emotion"), cols.get("usage")
    for number, line in decoded:
        row = number - 2
        path = f"{csv_name}:{row}"
        if line is None:
            yield Refusal(path, "bad_encoding", f"line {number} is not UTF-8 text")
            continue
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            yield Refusal(path, "bad_row", f"line {number} is {len(line)} characters long")
            continue
        try:
            fields = next(csv.reader([line]), [])
        except csv.Error as e:  # a lone CR inside the line
            yield Refusal(path, "bad_row", f"line {number}: {e}")
            continue
        usage = fields[i_use].strip() if i_use is not None and i_use < len(fields) else ""
        if usage:
            path = f"{path}:{usage}"
        if i_pix >= len(fields):
            yield Refusal(path, "bad_row", f"line {number} has no pixels field")
            continue
        label_word = None
        if use_labels and i_emo is not None:
            text = fields[i_emo].strip() if i_emo < len(fields) else ""
            # isdigit() alone accepts "³", which int() refuses, and "٣", which it reads as 3.
            if not (text.isascii() and text.isdigit()) or int(text) >= len(FER2013_NAMES):
                yield Refusal(path, "unknown_label", f"emotion {text!r} is not 0-6")
                continue
            label_word = FER2013_NAMES[int(text)]
        try:
            png = pixels_to_png(fields[i_pix])
        except ValueError as e:
            yield Refusal(path, "wrong_pixel_count" if "square" in str(e) else "bad_pixels", str(e))
            continue
        yield Candidate(png, path, label_word, source_split=usage or None)  # the corpus's split
