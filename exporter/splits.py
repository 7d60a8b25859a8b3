"""Stratified, grouped, seeded train/val/test assignment (pure).

Units are sets of faces that must share a split (near-duplicate groups,
identity clusters). Each label's face count is apportioned to the splits by
largest remainder; units are then placed, largest first and otherwise in a
seeded hash order, into the split that most lacks their labels. With
single-face units every label lands exactly on its apportioned counts (within
one face of the exact fractions). With ``--split-from source`` a face whose corpus
gives its split keeps it (:func:`assign_with_sources`; the words are data,
``source_splits.toml``).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from exporter.options import SPLITS


def apportion(n: int, fractions: Sequence[float]) -> list[int]:
    """Split n into integer parts close to n * fraction (largest remainder; ties to the first)."""
    exact = [n * f for f in fractions]
    parts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: n - sum(parts)]:
        parts[i] += 1
    return parts


def _mix(seed: int, key: int) -> bytes:
    return hashlib.sha256(f"{seed}:{key}".encode()).digest()


def assign_splits(
    labels: Sequence[str], units: Sequence[int], fractions: Sequence[float], seed: int
) -> list[str]:
    """The split of each face, given its label and its unit key."""
    members: dict[int, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        members[u].append(i)
    totals = Counter(labels)
    target = {
        lab: dict(zip(SPLITS, apportion(n, fractions), strict=True))
        for lab, n in sorted(totals.items())
    }
    have = {s: Counter() for s in SPLITS}
    open_splits = [s for s, f in zip(SPLITS, fractions, strict=True) if f > 0]
    # Largest units first; ties in a seeded hash order of the unit's key, so that
    # units keep their relative order when the catalog grows.
    keys = sorted(members, key=lambda k: (-len(members[k]), _mix(seed, k)))
    out = [""] * len(labels)
    for k in keys:
        need = Counter(labels[i] for i in members[k])

        def score(s: str, need: Counter = need) -> tuple[float, float, int]:
            lack = sum(c * (target[lab][s] - have[s][lab]) for lab, c in need.items())
            room = sum(target[lab][s] for lab in need)
            rel = lack / room if room else float("-inf")
            return (lack, rel, -SPLITS.index(s))

        best = max(open_splits, key=score)
        have[best].update(need)
        for i in members[k]:
            out[i] = best
    return out


@dataclass(frozen=True)
class SourcePlacement:
    """How ``--split-from source`` placed the faces: each face's split and the counts."""

    splits: list[str]
    kept: int  # faces with a corpus split, put in a split it allows
    free: int  # faces without a corpus split (or with a word the mapping lacks)
    moved: int  # faces with a corpus split put elsewhere: their unit (a near-duplicate,
    # the same subject) went by another face's corpus split
    unknown_words: tuple[str, ...] = ()  # corpus split words the mapping lacks


@cache
def source_split_words() -> dict[str, tuple[str, ...]]:
    """The corpus split words and the export splits each allows (``source_splits.toml``)."""
    with open(Path(__file__).with_name("source_splits.toml"), "rb") as f:
        words = tomllib.load(f)["words"]
    for word, allowed in words.items():
        bad = [s for s in allowed if s not in SPLITS]
        if not allowed or bad:
            raise ValueError(f"source_splits.toml: {word} = {allowed}: splits are {SPLITS}")
    return {w: tuple(a) for w, a in words.items()}


def allowed_splits(word: str | None) -> tuple[str, ...] | None:
    """The export splits a corpus's split word allows; None: no word, or one not mapped."""
    if word is None:
        return None
    words = source_split_words()
    return words.get(word, words.get(word.lower()))


def assign_with_sources(
    labels: Sequence[str],
    units: Sequence[int],
    words: Sequence[str | None],
    fractions: Sequence[float],
    seed: int,
) -> SourcePlacement:
    """Each face's split, keeping the corpus's own split (``words``) where it has one.

    A unit (faces that must share a split) is held to the splits every one of its faces'
    words allows; where those disagree (a RAF-DB train image duplicated in its test set)
    the unit goes by its most common word and the other faces are counted ``moved``.
    Units without a mapped word are split by ``fractions`` among themselves, as usual;
    units with one are split by the fractions renormalised over the splits they allow.
    """
    members: dict[int, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        members[u].append(i)
    by_allowed: dict[tuple[str, ...] | None, list[int]] = defaultdict(list)
    for faces in members.values():
        allowed = [a for i in faces if (a := allowed_splits(words[i])) is not None]
        if not allowed:
            by_allowed[None].extend(faces)
            continue
        common = set(allowed[0]).intersection(*allowed[1:])
        if common:
            chosen = tuple(s for s in SPLITS if s in common)
        else:
            chosen = Counter(allowed).most_common(1)[0][0]
        by_allowed[chosen].extend(faces)
    out = [""] * len(labels)
    for allowed, faces in by_allowed.items():
        if allowed is None:
            fr = list(fractions)
        else:
            fr = [f if s in allowed else 0.0 for s, f in zip(SPLITS, fractions, strict=True)]
            if not sum(fr):  # the allowed splits all have fraction 0: share them equally
                fr = [1.0 if s in allowed else 0.0 for s in SPLITS]
            fr = [f / sum(fr) for f in fr]
        placed = assign_splits([labels[i] for i in faces], [units[i] for i in faces], fr, seed)
        for i, s in zip(faces, placed, strict=True):
            out[i] = s
    unknown = sorted({w for w in words if w is not None and allowed_splits(w) is None})
    allowed_of = [allowed_splits(w) for w in words]
    free = sum(1 for a in allowed_of if a is None)
    moved = sum(1 for a, s in zip(allowed_of, out, strict=True) if a is not None and s not in a)
    return SourcePlacement(out, len(labels) - free - moved, free, moved, tuple(unknown))
