"""What ``facesift import`` can be asked (cheap to import: the CLI builds its flags from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.contract import option
from importer.defaults import (
    APEX_FRAMES,
    DEFAULT_FPS,
    FORMAT_CHOICES,
    FRAME_CHOICES,
    MAX_APEX_FRAMES,
)
from scraper.config import DownloadOptions

if TYPE_CHECKING:  # importing the readers loads PyAV: not needed to build the CLI
    from importer.readers import ReadOptions

LABELS_FROM = ("folders", "fer2013")


@dataclass(frozen=True)
class ImportOptions:
    """What ``facesift import`` is asked: the path, where labels come from, frame rate."""

    path: Path = option(
        help="folder, zip, CSV, video file or URL list", metavar="PATH", positional=True
    )
    format: str = option(
        "auto",
        help="how PATH is laid out: auto recognises the corpora (MMI, CK+, RAF-DB, AffectNet, "
        "JAFFE) from their layout, else reads PATH as a plain folder, zip, CSV or video",
        choices=FORMAT_CHOICES,
    )
    label: str | None = option(None, help="label every imported image with E", metavar="E")
    labels_from: str | None = option(
        None,
        help="take labels from subfolder names or a FER2013 CSV's emotion column",
        choices=LABELS_FROM,
    )
    source: str | None = option(
        None, help="name of the source, e.g. mmi or fer2013", metavar="NAME"
    )
    fps: float = option(
        DEFAULT_FPS, help="video frames kept per second of video", metavar="N", above=0
    )
    frames: str = option(
        "apex",
        help="a corpus's sequences and videos: the apex frames and the first (neutral) frame, "
        "or every frame at --fps",
        choices=FRAME_CHOICES,
    )
    apex_frames: int = option(
        APEX_FRAMES,
        help="frames kept around a sequence's peak (--frames apex)",
        metavar="K",
        low=1,
        high=MAX_APEX_FRAMES,
    )
    no_extract: bool = option(False, help="only import; run `facesift extract` later")
    labels_csv: Path | None = option(
        None,
        help="labels from a CSV (image, label and optional annotator columns; a vote per row)",
        metavar="FILE",
    )
    ferplus: Path | None = option(
        None, help="FER+ vote counts for the FER2013 CSV imported (fer2013new.csv)", metavar="FILE"
    )
    whole_image: bool = option(
        False, help="the images are face crops: the face box is the whole image (FER2013 CSVs are)"
    )
    url_column: str = option(
        "url", help="the URL column of a CSV, TSV or parquet URL list", metavar="NAME"
    )
    label_column: str | None = option(
        None, help="the label column of a URL list (default: 'label' if present)", metavar="NAME"
    )
    download: DownloadOptions = field(default_factory=DownloadOptions)  # URL lists
    limits: ReadOptions | None = None  # the readers' size limits (default: ReadOptions())
