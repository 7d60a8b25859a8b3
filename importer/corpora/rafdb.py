"""RAF-DB (the Real-world Affective Faces database, basic emotions).

Layout of the release::

    EmoLabel/list_patition_label.txt   "train_00001.jpg 5" per line (sic: "patition";
                                       "list_partition_label.txt" is accepted too)
    Image/aligned/train_00001_aligned.jpg   100x100 aligned face crops
    Image/original/train_00001.jpg          the pictures they were cut from

Codes 1 surprise, 2 fear, 3 disgust, 4 happiness, 5 sadness, 6 anger, 7 neutral
(``codes.toml``); the split is the name's prefix (``train``, ``test``). The
**aligned** image is imported where the release has it: it holds exactly the face
the label is about, so it is registered as a face crop (no detector; its box is the
image). Only where it is missing is the original imported: with the release's box
for the labelled face (``Annotation/boundingbox/train_00001_boundingbox.txt``, one
line ``x1 y1 x2 y2``, the corners in pixels) as its given box, so the vote goes to
that face alone and extract fits landmarks in it; without a box file, extract
detects the original's faces and the label goes to every face found.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from importer.corpora import CorpusFormat, CorpusOptions, code_words
from importer.corpora.files import image_in_box, image_item
from importer.items import Item, Refusal

NAME = "rafdb"
LABEL_FILES = ("list_patition_label.txt", "list_partition_label.txt")
MAX_LABEL_BYTES = 64 << 20  # the release's file is 0.3 MB
BOX_DIRS = ("Annotation/boundingbox", "boundingbox")  # the release's, and a common flattening
MAX_BOX_BYTES = 4096  # one line of four numbers


def label_file(root: Path) -> Path | None:
    """The label list of a RAF-DB folder, or None."""
    for name in LABEL_FILES:
        path = root / "EmoLabel" / name
        if path.is_file():
            return path
    return None


def detect(root: Path) -> bool:
    """``EmoLabel/list_patition_label.txt`` beside ``Image/``."""
    return label_file(root) is not None and (root / "Image").is_dir()


def _image_path(root: Path, name: str) -> tuple[Path, bool]:
    """Where an image of the list is: the aligned crop (True) if present, else the original."""
    stem = PurePosixPath(name).stem
    aligned = root / "Image" / "aligned" / f"{stem}_aligned.jpg"
    if aligned.is_file():
        return aligned, True
    return root / "Image" / "original" / name, False


def read(root: Path, opts: CorpusOptions) -> Iterator[Item]:
    """Every listed image with its split and its label as a vote of ``rafdb``."""
    lst = label_file(root)
    if lst is None:
        return
    where = lst.relative_to(root).as_posix()
    if lst.stat().st_size > MAX_LABEL_BYTES:
        yield Refusal(where, "too_large", "not a RAF-DB label list")
        return
    words = code_words(NAME)
    lines = lst.read_bytes().decode("utf-8", "replace").splitlines()
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        name = fields[0]
        if len(fields) != 2 or fields[1] not in words or "/" in name or name.startswith("."):
            yield Refusal(f"{where}:line{number}", "bad_label_line", repr(line[:80]))
            continue
        path, aligned = _image_path(root, name)
        rel = path.relative_to(root).as_posix()
        facts = {
            "label_word": words[fields[1]],
            "annotator": NAME,
            "label_code": fields[1],
            "source_split": name.split("_", 1)[0] if "_" in name else None,
            "face_crop": aligned,
        }
        box = None if aligned else _box_file(root, name)
        if box is None:
            yield image_item(path, rel, opts.read, **facts)
        else:
            yield from _original_in_its_box(root, path, rel, box, opts, facts)


def _box_file(root: Path, name: str) -> Path | None:
    """The box file of an original, where the release has one."""
    stem = PurePosixPath(name).stem
    for folder in BOX_DIRS:
        path = root / folder / f"{stem}_boundingbox.txt"
        if path.is_file():
            return path
    return None


def read_box(path: Path) -> tuple[float, float, float, float] | None:
    """The four numbers ``x1 y1 x2 y2`` of a box file, or None when it holds anything else
    (OSError where it cannot be read)."""
    if path.stat().st_size > MAX_BOX_BYTES:
        return None
    fields = path.read_bytes().decode("utf-8", "replace").split()
    try:
        x1, y1, x2, y2 = (float(v) for v in fields)
    except ValueError:  # not four fields, or not numbers
        return None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):  # "nan", "inf" parse as floats
        return None
    return x1, y1, x2, y2


def _original_in_its_box(
    root: Path, path: Path, rel: str, box_path: Path, opts: CorpusOptions, facts: dict
) -> Iterator[Item]:
    """An original with its labelled face's box; a box file that cannot be read is said
    once and the original imported without it (its faces detected)."""
    where = box_path.relative_to(root).as_posix()
    try:
        corners = read_box(box_path)
        problem = "not one line of four numbers x1 y1 x2 y2"
    except OSError as e:  # no permission, a disk error, gone since it was listed
        corners, problem = None, f"cannot be read: {e.strerror or e}"
    if corners is None:
        yield Refusal(where, "bad_box_file", problem)
        yield image_item(path, rel, opts.read, **facts)
        return
    x1, y1, x2, y2 = corners
    xywh = (round(x1), round(y1), round(x2 - x1), round(y2 - y1))
    yield image_in_box(path, rel, opts.read, xywh, **facts)


FORMAT = CorpusFormat(NAME, detect, read)
