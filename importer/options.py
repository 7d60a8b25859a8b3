"""What ``facesift import`` can be asked (cheap to import: the CLI builds its flags from it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.contract import option

if TYPE_CHECKING:  # importing the readers loads PyAV: not needed to build the CLI
    from importer.readers import ReadOptions

LABELS_FROM = ("folders", "fer2013")
DEFAULT_FPS = 1.0  # video frames kept per second of video


@dataclass(frozen=True)
class ImportOptions:
    """What ``facesift import`` is asked: the path, where labels come from, frame rate."""

    path: Path = option(help="folder, zip, CSV or video file", metavar="PATH", positional=True)
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
    no_extract: bool = option(False, help="only import; run `facesift extract` later")
    limits: ReadOptions | None = None  # the readers' size limits (default: ReadOptions())
