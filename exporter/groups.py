"""Faces that must share a split: near-duplicates and (optionally) one person's faces.

Pure numpy over hashes and descriptors; nothing loops over pairs in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

_BLOCK = 256  # rows per step: bounds the N x block temporaries
_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class UnionFind:
    """Disjoint sets over 0..n-1; each set is named by its smallest member."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = min(ra, rb), max(ra, rb)
            self.parent[hi] = lo

    def union_pairs(self, a: Iterable[int], b: Iterable[int]) -> None:
        for i, j in zip(a, b, strict=True):
            self.union(int(i), int(j))

    def labels(self) -> list[int]:
        return [self.find(i) for i in range(len(self.parent))]


def popcount64(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint64."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    return _BYTE_POPCOUNT[x.view(np.uint8).reshape(*x.shape, 8)].sum(axis=-1)


def parse_hashes(hashes: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the items that have a hash, their hashes as uint64)."""
    idx = np.array([i for i, h in enumerate(hashes) if h], dtype=np.int64)
    vals = np.array([int(hashes[i], 16) for i in idx], dtype=np.uint64)
    return idx, vals


def close_pairs(vals: np.ndarray, max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of uint64 hashes within ``max_bits`` bits (blocked all-pairs)."""
    out_a, out_b = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for start in range(0, len(vals), _BLOCK):
        block = vals[start : start + _BLOCK]
        i, j = np.nonzero(popcount64(block[:, None] ^ vals[None, :]) <= max_bits)
        i = i + start
        keep = i < j
        out_a.append(i[keep])
        out_b.append(j[keep])
    return np.concatenate(out_a), np.concatenate(out_b)


def hash_pairs(hashes: Sequence[str | None], max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Every index pair (i < j) whose 64-bit hex hashes differ in at most ``max_bits`` bits.

    Faces without a hash pair with nothing. Quadratic in a group of equal
    hashes: use :func:`hash_links` to build groups.
    """
    idx, vals = parse_hashes(hashes)
    a, b = close_pairs(vals, max_bits)
    return idx[a], idx[b]


def hash_links(hashes: Sequence[str | None], max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that connect the same groups as :func:`hash_pairs`, in about linear size.

    Equal hashes are collapsed first (each face links to the first face with
    its hash), so a thousand copies of one picture cost a thousand links, not
    half a million pairs.
    """
    idx, vals = parse_hashes(hashes)
    if len(idx) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    uniq, first, inverse = np.unique(vals, return_index=True, return_inverse=True)
    rep = first[inverse.reshape(-1)]
    dup = rep != np.arange(len(idx))
    ua, ub = close_pairs(uniq, max_bits)
    a = np.concatenate([idx[rep[dup]], idx[first[ua]]])
    b = np.concatenate([idx[dup], idx[first[ub]]])
    return a, b


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


def components(n: int, *pair_sets: tuple[np.ndarray, np.ndarray]) -> list[int]:
    """For each of n items, its component (smallest member index) under all pair sets."""
    uf = UnionFind(n)
    for a, b in pair_sets:
        uf.union_pairs(a, b)
    return uf.labels()


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
