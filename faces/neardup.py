"""Near-duplicate groups from 64-bit perceptual hashes (pure numpy).

Two faces are near-duplicates when their hashes differ in at most ``max_bits``
bits; groups are the connected components of that relation, named by their
smallest face id. Identical hashes are collapsed first; then a multi-index
search (pigeonhole on four 16-bit chunks) finds candidate pairs in about linear
time, and small sets or wide radii use a blocked, vectorised all-pairs popcount.
Nothing loops over pairs in Python.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

_CHUNKS = 4
_CHUNK_BITS = 16
# Bound on the candidate pairs materialised at once (memory, not correctness).
_MAX_PAIRS_PER_STEP = 4_000_000


def parse_phash(text: str) -> int:
    """A 16-hex-digit perceptual hash as an unsigned 64-bit integer."""
    return int(text, 16)


def popcount64(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint64."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    as_bytes = x.astype(np.uint64).view(np.uint8).reshape(*x.shape, 8)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=-1)


_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def near_duplicate_groups(ids: np.ndarray, hashes: np.ndarray, max_bits: int) -> np.ndarray:
    """For each face, the smallest id among the faces it is (transitively) within ``max_bits`` of.

    ``ids`` are distinct integers, ``hashes`` the matching uint64 hashes. A face
    with no near-duplicate gets its own id.
    """
    ids = np.asarray(ids, dtype=np.int64)
    hashes = np.asarray(hashes, dtype=np.uint64)
    if ids.shape != hashes.shape or ids.ndim != 1:
        raise ValueError("ids and hashes must be 1-D arrays of the same length")
    if len(ids) == 0:
        return ids.copy()
    unique, inverse = np.unique(hashes, return_inverse=True)
    inverse = inverse.reshape(-1)
    # Smallest id holding each distinct hash.
    first_id = np.full(len(unique), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_id, inverse, ids)
    a, b = close_pairs(unique, max_bits) if max_bits > 0 else (_EMPTY, _EMPTY)
    component = connected_components(len(unique), a, b)
    group_min = np.full(len(unique), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(group_min, component, first_id)
    return group_min[component[inverse]]


_EMPTY = np.zeros(0, dtype=np.int64)


def close_pairs(hashes: np.ndarray, max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of distinct hashes within ``max_bits`` bits of each other."""
    n = len(hashes)
    radius = max_bits // _CHUNKS
    masks = _masks_up_to(radius)
    # Each probe costs a sorted search per hash; all-pairs costs n/2 per hash.
    if n <= 2 * _CHUNKS * len(masks) * 16:
        return _all_pairs(hashes, max_bits)
    return _multi_index_pairs(hashes, max_bits, masks)


def _masks_up_to(radius: int) -> np.ndarray:
    """Every 16-bit mask with at most ``radius`` bits set."""
    masks = [0]
    for k in range(1, min(radius, _CHUNK_BITS) + 1):
        masks += [sum(1 << i for i in c) for c in combinations(range(_CHUNK_BITS), k)]
    return np.array(masks, dtype=np.int64)


def _all_pairs(hashes: np.ndarray, max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(hashes)
    block = max(1, _MAX_PAIRS_PER_STEP // max(n, 1))
    out_a, out_b = [], []
    for start in range(0, n, block):
        rows = hashes[start : start + block]
        dist = popcount64(rows[:, None] ^ hashes[None, :])
        i, j = np.nonzero(dist <= max_bits)
        i = i + start
        keep = i < j
        out_a.append(i[keep])
        out_b.append(j[keep])
    return np.concatenate(out_a).astype(np.int64), np.concatenate(out_b).astype(np.int64)


def _multi_index_pairs(
    hashes: np.ndarray, max_bits: int, masks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    # Pigeonhole: hashes within max_bits differ by at most max_bits // 4 bits in
    # at least one of the four 16-bit chunks, so probing each chunk's sorted keys
    # with every mask of that weight finds every close pair (and some others,
    # which the full popcount then drops).
    n = len(hashes)
    out_a, out_b = [], []
    positions = np.arange(n, dtype=np.int64)
    for c in range(_CHUNKS):
        keys = ((hashes >> np.uint64(c * _CHUNK_BITS)) & np.uint64(0xFFFF)).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        for mask in masks:
            probe = keys ^ mask
            lo = np.searchsorted(sorted_keys, probe, side="left")
            hi = np.searchsorted(sorted_keys, probe, side="right")
            counts = hi - lo
            for start, stop in _spans(counts):
                cnt = counts[start:stop]
                total = int(cnt.sum())
                if total == 0:
                    continue
                a = np.repeat(positions[start:stop], cnt)
                offsets = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                b = order[np.repeat(lo[start:stop], cnt) + offsets]
                keep = a < b
                a, b = a[keep], b[keep]
                keep = popcount64(hashes[a] ^ hashes[b]) <= max_bits
                out_a.append(a[keep])
                out_b.append(b[keep])
    if not out_a:
        return _EMPTY, _EMPTY
    return np.concatenate(out_a), np.concatenate(out_b)


def _spans(counts: np.ndarray) -> list[tuple[int, int]]:
    """Split query positions into runs whose candidate counts stay under the step bound."""
    cum = np.cumsum(counts)
    if len(cum) == 0 or cum[-1] <= _MAX_PAIRS_PER_STEP:
        return [(0, len(counts))]
    spans, start = [], 0
    while start < len(counts):
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + _MAX_PAIRS_PER_STEP, side="right"))
        stop = max(stop, start + 1)
        spans.append((start, stop))
        start = stop
    return spans


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For nodes 0..n-1 and edges (a[k], b[k]), the smallest node index of each node's component."""
    labels = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return labels
    while True:
        low = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        # Pointer jumping: follow labels to their roots so long chains settle fast.
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels
