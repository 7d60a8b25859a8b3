"""What an import reads: candidate images, and the reasons some inputs are refused.

Readers (folder, zip, CSV, video) turn their input into a stream of
:class:`Candidate` (bytes that should be an image, with where they came from and
the label word the source claims) and :class:`Refusal` (an input that cannot
become an image, with a short reason code). The ingest step decides the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

IMAGE_EXTS = frozenset({"jpg", "jpeg", "png", "webp", "gif", "bmp"})
# Read by the corpus readers (JAFFE ships TIFF) and converted, losslessly, to PNG.
CONVERTED_EXTS = frozenset({"tif", "tiff"})
VIDEO_EXTS = frozenset(
    {"mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg", "wmv", "flv", "3gp", "ogv"}
)
CSV_EXTS = frozenset({"csv"})
ZIP_EXTS = frozenset({"zip"})
# Files a folder or archive commonly carries that are not data; skipped quietly.
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})


@dataclass(frozen=True)
class Candidate:
    """Bytes that should decode to an image, and their provenance."""

    data: bytes
    import_path: str  # relative to what was imported; never used as a file path
    label_word: str | None = None  # the label the source claims, before resolution
    frame_index: int | None = None  # set for video frames (and a sequence's frames)
    frame_time: float | None = None
    # What a corpus says (issue 22); the plain readers leave these empty.
    annotator: str | None = None  # the corpus whose vote label_word is ('mmi', 'ckplus', ...)
    refused_code: str | None = None  # a corpus code outside the label set ('contempt', ...)
    subject: str | None = None  # the person shown (MMI, CK+, JAFFE)
    source_split: str | None = None  # the corpus's own split ('train', 'validation', ...)
    frame_how: str | None = None  # 'apex:markers', 'apex:prior' or 'first'
    given_box: tuple[int, int, int, int] | None = None  # left, top, right, bottom (AffectNet)
    values: tuple[tuple[str, float], ...] = ()  # per-image numbers (valence, arousal)
    face_crop: bool = False  # the image is a face crop (RAF-DB aligned): box = whole image
    label_code: str | None = None  # the corpus's own code for label_word ('7'), for reasons
    reject_reason: str | None = None  # the corpus says it is no face ('not_a_face'): a reject


@dataclass(frozen=True)
class Refusal:
    """An input that could not become an image."""

    import_path: str
    reason: str  # short code: not_an_image, zip_bomb, symlink, unknown_label, ...
    detail: str = ""

    @property
    def text(self) -> str:
        """What import_errors.reason stores: the code, then the detail."""
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


Item = Candidate | Refusal
Items = Iterator[Item]


def extension(name: str) -> str:
    """Lower-case extension without the dot ('' when none)."""
    suffix = PurePosixPath(name).suffix
    return suffix[1:].lower() if suffix else ""


def kind_of(name: str) -> str:
    """'image', 'video', 'csv', 'zip' or 'other', from a file name."""
    ext = extension(name)
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    if ext in CSV_EXTS:
        return "csv"
    if ext in ZIP_EXTS:
        return "zip"
    return "other"


def is_ignored(name: str) -> bool:
    """Hidden files and OS droppings (``.DS_Store``, ``Thumbs.db``, ``__MACOSX/``)."""
    parts = PurePosixPath(name).parts
    return (
        not parts
        or any((p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts)
        or parts[-1].lower() in IGNORED_NAMES
    )
