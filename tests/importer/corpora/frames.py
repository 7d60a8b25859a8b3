"""Helpers the MMI and CK+ tests share: their layouts (a session, a sequence), raters whose
scores the test controls, and items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

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


# --- the layouts ---------------------------------------------------------------------

SESSION_XML = """<?xml version="1.0" encoding="utf-8"?>
<session sessionId="{sid}">
  <track id="0" type="video" view="0" />
  <annotation filename="S001-{take}.xml" type="FACS" />
  <annotation filename="S001-{take}-oao_aucs.xml" type="FACS" />
</session>
"""
EMOTION_XML = """<?xml version="1.0" encoding="utf-8"?>
<Metatags>
  <Metatag Name="Gender" Value="Female" />
  <Metatag Name="Emotion" Value="{code}" />
</Metatags>
"""
# Action units 12 and 28B: onsets at 5 and 7, apexes at 9 and 10, offsets at 14 and 15.
OAO_XML = """<?xml version="1.0" encoding="utf-8"?>
<ActionUnits>
  <ActionUnit Number="12">
    <Marker Frame="5" Type="1" /><Marker Frame="9" Type="2" /><Marker Frame="15" Type="3" />
  </ActionUnit>
  <ActionUnit Number="28B">
    <Marker Frame="7" Type="1" /><Marker Frame="10" Type="2" /><Marker Frame="14" Type="3" />
  </ActionUnit>
</ActionUnits>
"""
FRAMES = 36  # the test video: 3.6 s at 10 fps, brighter every frame


def session(root, sid, take="001", code="4", markers=False, media="avi", write_video=None):
    """One session folder; returns it."""
    folder = root / "Sessions" / str(sid)
    folder.mkdir(parents=True)
    (folder / "session.xml").write_text(SESSION_XML.format(sid=sid, take=take))
    if code is not None:
        (folder / f"S001-{take}.xml").write_text(EMOTION_XML.format(code=code))
    if markers:
        (folder / f"S001-{take}-oao_aucs.xml").write_text(OAO_XML)
    if media == "avi":
        write_video(folder / f"S001-{take}.avi", seconds=FRAMES / 10, fps=10)
    return folder


def sequence(root, subject="S005", seq="001", levels=range(10, 130, 10), code="3.0000000e+00"):
    """A sequence of grey frames of the given brightness, and its emotion file if ``code``."""
    folder = root / "cohn-kanade-images" / subject / seq
    folder.mkdir(parents=True)
    for i, level in enumerate(levels, start=1):
        img = level if isinstance(level, Image.Image) else Image.new("L", (40, 30), level)
        img.save(folder / f"{subject}_{seq}_{i:08d}.png")
    if code is not None:
        labels = root / "Emotion" / subject / seq
        labels.mkdir(parents=True)
        (labels / f"{subject}_{seq}_{len(levels):08d}_emotion.txt").write_text(f"   {code}\n")
    return folder
