"""The leakage check that runs after every export.

Counts near-duplicate pairs that ended up in different splits (by the extract
stage's groups and by perceptual hash) and, where a FER2013 CSV was imported
into the dataset, how many exported faces are near-duplicates of FER2013 faces.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from catalog.faces import fer2013_faces
from exporter.options import SPLITS
from faces.neardup import close_pairs, hash_pairs, parse_hashes, parse_phash, popcount64


@dataclass(frozen=True)
class Leakage:
    """What the leakage check found."""

    near_duplicate_bits: int
    cross_split_pairs: int  # near-duplicate pairs split apart (hash or group): must be 0
    cross_split_group_pairs: int  # of which share the extract stage's dup_group
    fer2013_imported: bool
    fer2013_faces_in_catalog: int
    exported_from_fer2013: int  # exported faces that are FER2013 faces themselves
    exported_near_fer2013: int  # other exported faces within the bits of a FER2013 face

    def as_record(self) -> dict:
        """JSON-ready."""
        return asdict(self)


def _cross_within(counts: np.ndarray) -> int:
    """Pairs split apart inside groups, from each group's faces per split (rows)."""
    return int(((counts.sum(1) ** 2 - (counts**2).sum(1)) // 2).sum())


def cross_split_pairs(
    splits: Sequence[str],
    phashes: Sequence[str | None],
    dup_groups: Sequence[int | None],
    bits: int,
) -> tuple[int, int]:
    """(near-duplicate pairs in different splits, of which share a dup_group).

    Counted from faces per split of each distinct hash and each group, without
    listing pairs; the exact union of both relations is listed only when both
    find something (which a correct split never gives).
    """
    where = np.array([SPLITS.index(s) for s in splits], dtype=np.int64)
    idx, vals = parse_hashes(phashes)
    by_hash = 0
    if len(idx):
        uniq, inverse = np.unique(vals, return_inverse=True)
        c = np.zeros((len(uniq), len(SPLITS)), dtype=np.int64)
        np.add.at(c, (inverse.reshape(-1), where[idx]), 1)
        ua, ub = close_pairs(uniq, bits)
        between = c[ua].sum(1) * c[ub].sum(1) - (c[ua] * c[ub]).sum(1)
        by_hash = _cross_within(c) + int(between.sum())
    keys = {g: k for k, g in enumerate(sorted({g for g in dup_groups if g is not None}))}
    g = np.zeros((len(keys), len(SPLITS)), dtype=np.int64)
    for i, grp in enumerate(dup_groups):
        if grp is not None:
            g[keys[grp], where[i]] += 1
    by_group = _cross_within(g)
    if by_hash and by_group:
        return _listed_cross_pairs(splits, phashes, dup_groups, bits), by_group
    return by_hash + by_group, by_group


def _listed_cross_pairs(
    splits: Sequence[str],
    phashes: Sequence[str | None],
    dup_groups: Sequence[int | None],
    bits: int,
) -> int:
    a, b = hash_pairs(phashes, bits)
    pairs = {(int(i), int(j)) for i, j in zip(a, b, strict=True) if splits[i] != splits[j]}
    members: dict[int, list[int]] = {}
    for i, grp in enumerate(dup_groups):
        if grp is not None:
            members.setdefault(grp, []).append(i)
    for m in members.values():
        for x in range(len(m)):
            for y in range(x + 1, len(m)):
                if splits[m[x]] != splits[m[y]]:
                    pairs.add((m[x], m[y]))
    return len(pairs)


def check(
    conn: sqlite3.Connection,
    face_ids: Sequence[int],
    splits: Sequence[str],
    phashes: Sequence[str | None],
    dup_groups: Sequence[int | None],
    bits: int,
) -> Leakage:
    """Run the leakage check on the faces as they were written."""
    cross, cross_group = cross_split_pairs(splits, phashes, dup_groups, bits)
    fer = fer2013_faces(conn)
    fer_ids = {r[0] for r in fer}
    fer_groups = {r[2] for r in fer if r[2] is not None}
    fer_hashes = np.array([parse_phash(r[1]) for r in fer if r[1]], dtype=np.uint64)
    from_fer = sum(1 for f in face_ids if f in fer_ids)
    near = 0
    for fid, h, g in zip(face_ids, phashes, dup_groups, strict=True):
        if fid in fer_ids:
            continue
        if g is not None and g in fer_groups:
            near += 1
        elif h and len(fer_hashes):
            d = popcount64(fer_hashes ^ np.uint64(parse_phash(h)))
            near += int((d <= bits).any())
    return Leakage(bits, cross, cross_group, bool(fer), len(fer), from_fer, near)
