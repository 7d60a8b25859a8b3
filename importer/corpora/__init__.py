"""The expression corpora read in their own layouts (MMI, CK+, RAF-DB, AffectNet, JAFFE).

Each corpus module exposes ``FORMAT``, a :class:`CorpusFormat`: ``detect(root)`` says
from file names alone whether a folder is laid out as that corpus, and ``read(root,
opts)`` yields :class:`~importer.items.Candidate` items whose ``label_word`` is the
corpus's own word for its code (``annotator`` = the corpus name, so the label becomes a
vote of that corpus), with the subject, the corpus's split and, for sequences and
videos, the frame and how it was chosen, plus :class:`~importer.items.Refusal` items for
what cannot be read. The label codes are data: ``codes.toml``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from importer.defaults import APEX_FRAMES, DEFAULT_FPS, FRAME_CHOICES
from importer.items import Item
from importer.readers import ReadOptions

__all__ = ["APEX_FRAMES", "FRAME_CHOICES", "CorpusFormat", "CorpusOptions", "code_words"]


@dataclass(frozen=True)
class CorpusOptions:
    """What every corpus reader is told."""

    read: ReadOptions = field(default_factory=ReadOptions)  # size limits, video decoding
    frames: str = "apex"  # 'apex': apex frames + the first frame; 'all': sampled at fps
    apex_frames: int = APEX_FRAMES
    fps: float = DEFAULT_FPS
    neutral_first: bool = True  # the label set has neutral: the first frame is its vote


@dataclass(frozen=True)
class CorpusFormat:
    """One corpus: its name (also the annotator of its labels), detection and reader."""

    name: str
    detect: Callable[[Path], bool]
    read: Callable[[Path, CorpusOptions], Iterator[Item]]


@cache
def _all_codes() -> dict[str, dict[str, str]]:
    with open(Path(__file__).with_name("codes.toml"), "rb") as f:
        return tomllib.load(f)


def code_words(corpus: str) -> dict[str, str]:
    """A corpus's label codes (as text, e.g. ``"4"`` or ``"HA"``) -> the corpus's word."""
    return dict(_all_codes()[corpus])
