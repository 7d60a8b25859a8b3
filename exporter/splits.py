"""Stratified, grouped, seeded train/val/test assignment (pure).

Units are sets of faces that must share a split (near-duplicate groups,
identity clusters). Each label's face count is apportioned to the splits by
largest remainder; units are then placed, largest first and otherwise in a
seeded hash order, into the split that most lacks their labels. With
single-face units every label lands exactly on its apportioned counts (within
one face of the exact fractions).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence

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
