"""Faces that must share a split: near-duplicates and (optionally) one person's faces.

Near-duplicate links and components come from :mod:`faces.neardup`, the one
implementation extract uses too; this module adds the links the export alone
needs (same stored group, close descriptors). Pure numpy; nothing loops over
pairs in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faces.neardup import components, hash_links, hash_pairs

__all__ = ["components", "embedding_pairs", "hash_links", "hash_pairs", "same_key_pairs"]

_BLOCK = 256  # rows per step: bounds the N x block temporaries


def embedding_pairs(embeddings: Sequence[bytes], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of 128-d float32 descriptors closer than ``threshold``."""
    if len(embeddings) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    m = np.stack([np.frombuffer(e, dtype="<f4") for e in embeddings]).astype(np.float64)
    sq = (m * m).sum(axis=1)
    out_a, out_b = [], []
    for start in range(0, len(m), _BLOCK):
        block = m[start : start + _BLOCK]
        d2 = sq[start : start + _BLOCK, None] + sq[None, :] - 2 * block @ m.T
        i, j = np.nonzero(d2 < threshold * threshold)
        i = i + start
        keep = i < j
        out_a.append(i[keep])
        out_b.append(j[keep])
    return np.concatenate(out_a), np.concatenate(out_b)


def same_key_pairs(keys: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    """Pairs linking each item to the first item with the same (non-None) key."""
    first: dict[object, int] = {}
    a, b = [], []
    for i, k in enumerate(keys):
        if k is None:
            continue
        if k in first:
            a.append(first[k])
            b.append(i)
        else:
            first[k] = i
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)
