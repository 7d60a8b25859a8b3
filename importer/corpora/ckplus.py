"""The Extended Cohn-Kanade set (CK+), read in its download layout.

- ``cohn-kanade-images/S005/001/S005_001_00000001.png`` ..``_00000011.png``: one
  sequence per folder, from a neutral face (the first frame) to the expression's
  peak (the last); the subject is the ``S005`` folder. (Also found nested as
  ``extended-cohn-kanade-images/cohn-kanade-images/``.)
- ``Emotion/S005/001/S005_001_00000011_emotion.txt`` (or under ``Emotion_labels/``),
  for only some sequences: one number such as ``   3.0000000e+00``, a code of
  codes.toml's [ckplus] (0 neutral .. 7 surprise; 2 contempt is outside most label
  sets, which the ingest records).
- ``FACS/`` and ``Landmarks/`` are not read.

Frames (importer.corpora.sequences): the sequence ends on its peak, so the apex is
looked for in its last third (at least ``--apex-frames`` frames) and the prior picks
up to K frames spread over the plateau there (``apex:prior``: CK+ does not mark the
peak frame by frame, the prior chooses). Where no face can be rated the last frame,
the peak by the corpus's protocol, is kept (``apex:last``). The first frame is a
neutral vote. A frame is stored as its own PNG file, numbered as its name says.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from importer.corpora import CorpusFormat, CorpusOptions, code_words
from importer.corpora.sequences import ImageSequence, Label, Peak, clip_items
from importer.items import Item, Refusal, is_ignored, kind_of

NAME = "ckplus"
IMAGES = ("cohn-kanade-images", "extended-cohn-kanade-images/cohn-kanade-images")
EMOTIONS = ("Emotion", "Emotion_labels/Emotion", "Emotion_labels")
EMOTION_SUFFIX = "_emotion.txt"
MAX_LABEL_BYTES = 4096  # one number
APEX_SHARE = 1 / 3  # the apex is looked for in the sequence's last third


def _first_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


def detect(root: Path) -> bool:
    """A ``cohn-kanade-images`` folder (CK+'s images) at the top."""
    return _first_dir(root, IMAGES) is not None


def parse_emotion(text: str) -> str:
    """The code in an emotion file (``   3.0000000e+00`` -> ``"3"``); ValueError if none."""
    fields = text.split()
    if len(fields) != 1:
        raise ValueError(f"expected one number, found {len(fields)} fields")
    value = float(fields[0])
    if not value.is_integer():
        raise ValueError(f"{fields[0]} is not a whole number")
    return str(int(value))


def _subdirs(folder: Path) -> list[Path]:
    try:
        return sorted(d for d in folder.iterdir() if d.is_dir() and not is_ignored(d.name))
    except OSError:
        return []


def _label(root: Path, emotions: Path | None, subject: str, seq: str) -> tuple[Label, list[Item]]:
    """A sequence's label and the refusals of its emotion file."""
    folder = emotions / subject / seq if emotions else None
    if folder is None or not folder.is_dir():
        return Label(), []
    files = sorted(p for p in folder.iterdir() if p.name.endswith(EMOTION_SUFFIX))
    if not files:
        return Label(), []
    rel = files[0].relative_to(root).as_posix()
    try:
        if files[0].stat().st_size > MAX_LABEL_BYTES:
            return Label(), [Refusal(rel, "bad_label_file", "too large for one number")]
        code = parse_emotion(files[0].read_text(encoding="utf-8", errors="replace"))
    except ValueError as e:
        return Label(), [Refusal(rel, "bad_label_file", f"no emotion code: {e}")]
    except OSError as e:
        return Label(), [Refusal(rel, "unreadable", str(e))]
    words = code_words(NAME)
    if code not in words:
        return Label(), [Refusal(rel, "bad_label_file", f"{code} is not a CK+ emotion code")]
    return Label.of(code, words), []


def read(root: Path, opts: CorpusOptions) -> Iterator[Item]:
    """Every sequence: its apex frames (the emotion file's label) and first frame."""
    images = _first_dir(root, IMAGES)
    if images is None:
        return
    emotions = _first_dir(root, EMOTIONS)
    seen: set[tuple[str, str]] = set()
    for subject_dir in _subdirs(images):
        for seq_dir in _subdirs(subject_dir):
            seen.add((subject_dir.name, seq_dir.name))
            yield from _sequence(root, seq_dir, emotions, opts)
    yield from _orphan_labels(root, emotions, seen)


def _sequence(root: Path, seq_dir: Path, emotions: Path | None, opts: CorpusOptions):
    subject, seq = seq_dir.parent.name, seq_dir.name
    label, problems = _label(root, emotions, subject, seq)
    yield from problems
    files = sorted(
        p
        for p in seq_dir.iterdir()
        if p.is_file() and kind_of(p.name) == "image" and not is_ignored(p.name)
    )
    where = seq_dir.relative_to(root).as_posix()
    if not files:
        yield Refusal(where, "missing_file", "the sequence has no frames")
        return
    rels = [p.relative_to(root).as_posix() for p in files]
    clip = ImageSequence(files, rels, where, opts.read)
    if opts.frames == "all":
        for i in range(1, len(files) + 1):
            yield clip.frame_item(i, annotator=NAME, subject=subject)
        return
    n = len(files)
    first = max(1, n - max(opts.apex_frames, math.ceil(n * APEX_SHARE)) + 1)
    peak = Peak(first, n, "apex:prior", (n,), "apex:last")
    yield from clip_items(clip, peak, label, NAME, subject, opts)


def _orphan_labels(root: Path, emotions: Path | None, seen: set[tuple[str, str]]):
    """Emotion files whose sequence is not among the images: one refusal each."""
    if emotions is None:
        return
    for subject_dir in _subdirs(emotions):
        for seq_dir in _subdirs(subject_dir):
            if (subject_dir.name, seq_dir.name) not in seen:
                for f in sorted(seq_dir.glob(f"*{EMOTION_SUFFIX}")):
                    yield Refusal(
                        f.relative_to(root).as_posix(),
                        "missing_file",
                        "the sequence this label names is not in cohn-kanade-images",
                    )


FORMAT = CorpusFormat(NAME, detect, read)
