"""The apex of a sequence or video: the frames that the expression prior rates least neutral.

A corpus's video (MMI) or image sequence (CK+) shows one expression that starts
neutral, rises to a peak and (MMI) falls back. Its label belongs to the peak, so
only the peak's frames are kept with it (plus the first frame, as a ``neutral``
vote: see importer.corpora.sequences). How the peak is found, cheaply:

1. **The span.** The frames the corpus says hold the expression (MMI's action-unit
   markers: from the earliest to the latest marker of any action unit), else the
   whole clip (CK+: its last third, see importer.corpora.ckplus).
2. **Coarse.** About :data:`COARSE_SAMPLES` frames spread evenly over the span
   (always its first and last) are rated.
3. **Refine.** Around the best of them, the frames between it and its rated
   neighbours are rated at a quarter of the coarse stride.
4. **Choose.** :func:`choose_apex`: the run of rated frames round the best whose
   score stays within :data:`PEAK_SHARE` of it is the peak; up to K frames are
   kept, spread evenly over that run (its ends and the best among them).

A frame's score is 1 - the prior's probability of ``neutral``
(:mod:`faces.prior`, the FER2013 network) on the face: found once per clip with
dlib's HOG (the subjects of these corpora sit still before a fixed camera; up to
:data:`FIND_TRIES` rated frames are tried), then landmarked and aligned in every
rated frame inside that box, as extract does. So a 300-frame video costs one
detection and about 30 ratings, not 300. Measured on a synthetic 300-frame 720x576
MPEG-4 AVI (a FER2013 face, 24 fps): the whole apex import took 0.55-0.8 s of CPU
(about 400-550 frames/s; 1.8-2.7 s wall on a machine loaded 10x over its 2 cores);
one rating (landmarks, chip, prior) costs about 17 ms of CPU, so rating every frame
would have cost about 5 s. A clip where no face is found gets no scores: the caller
falls back on what the corpus itself says (MMI's apex markers, CK+'s last frame).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

COARSE_SAMPLES = 16  # frames rated across the span in the first round
REFINE_SPLIT = 4  # the second round rates round the best at 1/4 of the coarse stride
PEAK_SHARE = 0.8  # a frame belongs to the peak while its score is >= 0.8 x the best
FIND_TRIES = 4  # rated frames tried for the clip's face before giving up

# Rates a batch of frames of one clip: a score in [0, 1] each (higher: less
# neutral), or None where the face cannot be found.
Rater = Callable[[Sequence[Image.Image]], list[float | None]]
# The frames of a clip by 1-based index (the ones asked for, as far as they exist).
Loader = Callable[[Sequence[int]], Mapping[int, Image.Image]]


@dataclass(frozen=True)
class Apex:
    """The frames chosen as a clip's peak and their scores (empty: nothing could be rated)."""

    frames: tuple[int, ...]
    scores: Mapping[int, float]


def coarse_frames(first: int, last: int, samples: int = COARSE_SAMPLES) -> list[int]:
    """About ``samples`` frames spread evenly over ``first..last`` (both included)."""
    if last <= first:
        return [first]
    stride = stride_of(first, last, samples)
    return sorted({*range(first, last + 1, stride), last})


def stride_of(first: int, last: int, samples: int = COARSE_SAMPLES) -> int:
    """The coarse round's step between rated frames."""
    return max(1, math.ceil((last - first) / max(samples - 1, 1)))


def refine_frames(best: int, first: int, last: int, stride: int) -> list[int]:
    """The frames round ``best`` (within one coarse stride) that the second round rates."""
    step = max(1, stride // REFINE_SPLIT)
    lo, hi = max(first, best - stride + step), min(last, best + stride - step)
    return list(range(lo, hi + 1, step))


def choose_apex(scores: Mapping[int, float], k: int) -> list[int]:
    """Up to ``k`` frames spread over the peak of rated frames ``scores`` (index -> score).

    The peak is the run of rated frames (in frame order) round the best-scoring one
    whose scores stay at or above :data:`PEAK_SHARE` of the best. Its first and last
    frames are kept, the rest evenly between, and the best frame always (it replaces
    the chosen frame nearest to it). Ties for the best: the earliest frame.
    """
    if not scores or k < 1:
        return []
    order = sorted(scores)
    best_at = max(range(len(order)), key=lambda i: (scores[order[i]], -i))
    floor = scores[order[best_at]] * PEAK_SHARE
    lo = hi = best_at
    while lo > 0 and scores[order[lo - 1]] >= floor:
        lo -= 1
    while hi < len(order) - 1 and scores[order[hi + 1]] >= floor:
        hi += 1
    run = order[lo : hi + 1]
    if len(run) <= k:
        return run
    picks = sorted({run[round(j * (len(run) - 1) / (k - 1))] for j in range(k)} if k > 1 else {})
    best = order[best_at]
    if best not in picks:
        if picks:
            picks.remove(min(picks, key=lambda f: abs(f - best)))
        picks.append(best)
    return sorted(picks)


def find_apex(first: int, last: int, load: Loader, rate: Rater, k: int) -> Apex:
    """The peak of frames ``first..last`` of a clip, rated in two rounds (module docstring)."""
    scores: dict[int, float] = {}
    _rate_frames(coarse_frames(first, last), load, rate, scores)
    if not scores:
        return Apex((), {})
    stride = stride_of(first, last)
    if stride > 1:
        best = choose_apex(scores, 1)[0]
        wanted = [f for f in refine_frames(best, first, last, stride) if f not in scores]
        _rate_frames(wanted, load, rate, scores)
    return Apex(tuple(choose_apex(scores, k)), scores)


def _rate_frames(wanted: list[int], load: Loader, rate: Rater, scores: dict[int, float]) -> None:
    if not wanted:
        return
    frames = load(wanted)
    indices = [i for i in wanted if i in frames]
    for i, score in zip(indices, rate([frames[i] for i in indices]), strict=True):
        if score is not None:
            scores[i] = score


# --- the prior's rating of a clip's frames ------------------------------------------


# faces (dlib) is imported on first use: recognising a layout and building the CLI
# must not load it.
@cache
def _face_models():
    """dlib's detector and landmarks, loaded once per process (about a second)."""
    from faces.models import load_models

    return load_models()


class PriorRater:
    """Rates one clip's frames: its face is found once, then rated by the prior in each frame."""

    def __init__(self) -> None:
        from faces.prior import LABELS, default_network

        self.models, self.network = _face_models(), default_network()
        self.neutral = LABELS.index("neutral")
        self.detection = None  # the clip's face box, once found
        self.tries = 0

    def __call__(self, images: Sequence[Image.Image]) -> list[float | None]:
        from faces.prior import forward

        grays = [self._face(img) for img in images]
        present = [g for g in grays if g is not None]
        if not present:
            return [None] * len(images)
        probs = iter(forward(self.network, np.stack(present)))
        return [None if g is None else float(1.0 - next(probs)[self.neutral]) for g in grays]

    def _face(self, img: Image.Image) -> np.ndarray | None:
        """The frame's face as the prior reads it (gray, 64 px), or None."""
        from faces.detect import DetectParams
        from faces.finder import align_face, find_aligned_faces
        from faces.prior import INPUT_SIDE, MARGIN
        from faces.quality import gray_face

        rgb = img.convert("RGB")
        if self.detection is not None:
            face = align_face(self.models, rgb, np.asarray(rgb), self.detection)
        elif self.tries < FIND_TRIES:
            self.tries += 1
            # HOG alone (no frame or CNN step): these are a lab camera's frontal faces.
            found = find_aligned_faces(self.models, rgb, DetectParams(cascade="off"))
            if not found:
                return None
            face = max(found, key=lambda f: _area(f.detection.box))
            self.detection = face.detection
        else:
            return None
        return gray_face(face.chip, face.padding, INPUT_SIDE, MARGIN)


def _area(box: tuple[int, int, int, int]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


# What the readers call for a new clip's rater; tests replace it with scores they control.
new_rater: Callable[[], Rater] = PriorRater
