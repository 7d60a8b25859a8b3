"""AffectNet (manually annotated part): two CSVs naming images, face boxes and labels.

Layout of the release::

    Manually_Annotated_file_lists/training.csv, validation.csv   (or beside the images)
    Manually_Annotated_Images/<subDirectory_filePath>

Each CSV has the header ``subDirectory_filePath,face_x,face_y,face_width,face_height,
facial_landmarks,expression,valence,arousal``. The split is the CSV's name
(``training``, ``validation``). The face box is kept as the image's given box, so
extract fits the landmarks in it and runs no detector (AffectNet's 68 landmarks are
not read: extract fits its own in the box). Expression codes in ``codes.toml``: 7
contempt, 8 none and 9 uncertain are outside the usual label sets (recorded, the image
kept unlabelled); 10 no-face is a reject vote (``not_a_face``). Valence and arousal are
kept per image (-2, AffectNet's "not annotated", is not a value).

A row is refused (one recorded reason) when it is malformed, names a missing image,
or gives a box less than half of which lies inside the image; a box partly outside is
clipped to the image.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from importer.corpora import CorpusFormat, CorpusOptions, code_words
from importer.corpora.files import image_in_box
from importer.items import Item, Refusal

NAME = "affectnet"
CSV_NAMES = ("training.csv", "validation.csv")
CSV_DIRS = ("", "Manually_Annotated_file_lists")
IMAGE_DIRS = ("Manually_Annotated_Images", "")  # tried in order, from the root then the CSV
REQUIRED = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "expression")
VALUES = ("valence", "arousal")
NOT_ANNOTATED = -2.0  # valence/arousal of a no-face or uncertain image
NO_FACE = "10"


def csv_files(root: Path) -> list[Path]:
    """The AffectNet CSVs of a folder (at its top or in ``Manually_Annotated_file_lists``)."""
    return [root / d / n for d in CSV_DIRS for n in CSV_NAMES if (root / d / n).is_file()]


def detect(root: Path) -> bool:
    """A ``training.csv`` or ``validation.csv`` whose header starts ``subDirectory_filePath``."""
    for path in csv_files(root):
        try:
            with path.open("rb") as f:
                head = f.read(64).decode("utf-8", "replace").lstrip("\ufeff")
        except OSError:
            continue
        if head.startswith("subDirectory_filePath"):
            return True
    return False


def read(root: Path, opts: CorpusOptions) -> Iterator[Item]:
    """Every row of each CSV: its image, box, split, values and expression as a vote."""
    for path in csv_files(root):
        yield from _read_csv(root, path, opts)


def _read_csv(root: Path, path: Path, opts: CorpusOptions) -> Iterator[Item]:
    where = path.relative_to(root).as_posix()
    split = path.stem  # training / validation
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                yield Refusal(where, "bad_header", f"no column {', '.join(missing)}")
                return
            col = {name: i for i, name in enumerate(header)}
            for number, fields in enumerate(reader, start=1):
                if any(f.strip() for f in fields):
                    yield _row(root, path, f"{where}:row{number}", col, fields, split, opts)
    except (OSError, csv.Error) as e:
        yield Refusal(where, "unreadable", str(e))


def _row(
    root: Path,
    csv_path: Path,
    where: str,
    col: dict[str, int],
    fields: list[str],
    split: str,
    opts: CorpusOptions,
) -> Item:
    def cell(name: str) -> str:
        i = col.get(name)
        return fields[i].strip() if i is not None and i < len(fields) else ""

    words = code_words(NAME)
    rel = cell("subDirectory_filePath").replace("\\", "/")
    code = cell("expression")
    try:
        x, y, w, h = (int(float(cell(c))) for c in REQUIRED[1:5])
    except ValueError:
        return Refusal(where, "bad_row", "the face box is not four numbers")
    if code not in words:
        return Refusal(where, "bad_row", f"expression {code!r} is not an AffectNet code")
    if not rel or PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
        return Refusal(where, "bad_row", f"image path {rel!r}")
    image = _find_image(root, csv_path, rel)
    no_face = code == NO_FACE
    return image_in_box(
        image,
        image.relative_to(root).as_posix(),
        opts.read,
        (x, y, w, h),
        label_word=None if no_face else words[code],
        annotator=NAME,
        label_code=code,
        reject_reason="not_a_face" if no_face else None,
        source_split=split,
        values=_values(cell),
    )


def _find_image(root: Path, csv_path: Path, rel: str) -> Path:
    """The image a row names: under ``Manually_Annotated_Images`` or beside the CSV."""
    for base in (root, csv_path.parent):
        for d in IMAGE_DIRS:
            candidate = base / d / rel
            if candidate.is_file():
                return candidate
    return root / IMAGE_DIRS[0] / rel


def _values(cell: Callable[[str], str]) -> tuple[tuple[str, float], ...]:
    out = []
    for name in VALUES:
        try:
            value = float(cell(name))
        except ValueError:
            continue
        if -1.0 <= value <= 1.0:  # -2: not annotated
            out.append((name, value))
    return tuple(out)


FORMAT = CorpusFormat(NAME, detect, read)
