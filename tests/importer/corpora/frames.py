"""Helpers the MMI and CK+ tests share: raters whose scores the test controls, and items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from importer.corpora import CorpusOptions, apex
from importer.items import Candidate, Item, Refusal


def brightness_rater() -> apex.Rater:
    """Scores a frame by its mean brightness (the test clips get brighter towards the peak)."""

    def rate(images):
        return [float(np.asarray(img.convert("L")).mean()) / 255 for img in images]

    return rate


def rate_by_brightness(monkeypatch) -> None:
    """Every clip read in this test is rated by :func:`brightness_rater`."""
    monkeypatch.setattr(apex, "new_rater", brightness_rater)


def find_no_face(monkeypatch) -> None:
    """Every clip read in this test has no face to rate."""
    monkeypatch.setattr(apex, "new_rater", lambda: lambda images: [None] * len(images))


def items_of(
    read: Callable[[Path, CorpusOptions], Iterator[Item]], root: Path, **options
) -> tuple[list[Candidate], list[Refusal]]:
    """What a reader yields for ``root``, candidates and refusals apart."""
    found = list(read(root, CorpusOptions(**options)))
    kept = [i for i in found if isinstance(i, Candidate)]
    return kept, [i for i in found if isinstance(i, Refusal)]
