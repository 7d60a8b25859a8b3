"""Near-duplicates from 64-bit perceptual hashes: the one implementation.

Two faces are near-duplicates when their hashes differ in at most ``max_bits``
bits; groups are the connected components of that relation, named by their
smallest face id. Identical hashes are collapsed first; then a multi-index
search (pigeonhole on four 16-bit chunks) finds candidate pairs in about linear
time, and small sets or wide radii use a blocked, vectorised all-pairs popcount.
Components come from a vectorised union-find (numpy only: importing
scipy.sparse for this cost extract more start-up than the whole pass). Nothing
loops over pairs in Python.

Extract's groups (:func:`near_duplicate_groups`, stored as ``faces.dup_group``)
and the export's split units and leakage check (:func:`hash_links`,
:func:`hash_pairs`, :func:`close_pairs`) all use this module, so they agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from PIL import Image

_CHUNKS = 4
_CHUNK_BITS = 16
# Bound on the candidate pairs materialised at once (memory, not correctness).
_MAX_PAIRS_PER_STEP = 4_000_000


def phash(img: Image.Image) -> str:
    """The image's 64-bit perceptual hash as 16 hex digits: imagehash's ``phash``, bit for bit.

    Grey, 32 x 32 (Lanczos), the type-II DCT of its rows and columns, the 8 x 8 lowest
    frequencies, each bit set where its coefficient is above their median. The DCT is a
    product with an 8 x 32 cosine matrix here: imagehash computes it with scipy.fftpack,
    whose import cost each extract worker 0.43 s of start-up. The equality with
    imagehash is tested on real faces.
    """
    grey = img.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS)
    low = _PHASH_DCT @ np.asarray(grey, dtype=np.float64) @ _PHASH_DCT.T
    bits = (low > np.median(low)).ravel()
    return f"{int(np.packbits(bits).view('>u8')[0]):016x}"


_PHASH_SIDE, _PHASH_BITS = 32, 8
# scipy.fftpack.dct's type II, unnormalised: X[k] = 2 sum_n x[n] cos(pi k (2n + 1) / 2N).
_PHASH_DCT = 2 * np.cos(
    np.pi
    * np.arange(_PHASH_BITS)[:, None]
    * (2 * np.arange(_PHASH_SIDE)[None, :] + 1)
    / (2 * _PHASH_SIDE)
)


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
_EMPTY = np.zeros(0, dtype=np.int64)


def parse_hashes(hashes: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the items that have a hash, their hashes as uint64)."""
    idx = np.array([i for i, h in enumerate(hashes) if h], dtype=np.int64)
    vals = np.array([parse_phash(hashes[i]) for i in idx], dtype=np.uint64)
    return idx, vals


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
    component = roots(len(ids), links(hashes, max_bits))
    group_min = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(group_min, component, ids)
    return group_min[component]


def links(hashes: np.ndarray, max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs that connect the same components as every close pair, in about linear size.

    Equal hashes are collapsed first (each item links to the first item with
    its hash), so a thousand copies of one picture cost a thousand links, not
    half a million pairs.
    """
    if len(hashes) < 2:
        return _EMPTY, _EMPTY
    uniq, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    rep = first[inverse.reshape(-1)]
    dup = np.nonzero(rep != np.arange(len(hashes)))[0]
    ua, ub = close_pairs(uniq, max_bits) if max_bits > 0 else (_EMPTY, _EMPTY)
    return np.concatenate([rep[dup], first[ua]]), np.concatenate([dup, first[ub]])


def hash_pairs(hashes: Sequence[str | None], max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Every index pair (i < j) whose 64-bit hex hashes differ in at most ``max_bits`` bits.

    Items without a hash pair with nothing. Quadratic in a group of equal
    hashes: use :func:`hash_links` to build groups.
    """
    idx, vals = parse_hashes(hashes)
    a, b = close_pairs(vals, max_bits)
    return idx[a], idx[b]


def hash_links(hashes: Sequence[str | None], max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`links` over hex hashes (``None`` links to nothing), as indices into ``hashes``."""
    idx, vals = parse_hashes(hashes)
    a, b = links(vals, max_bits)
    return idx[a], idx[b]


def roots(n: int, *pair_sets: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """For items 0..n-1 linked by all the pair sets, the smallest index in each item's component."""
    a = np.concatenate([_EMPTY, *(np.asarray(p[0], dtype=np.int64) for p in pair_sets)])
    b = np.concatenate([_EMPTY, *(np.asarray(p[1], dtype=np.int64) for p in pair_sets)])
    # Union-find over whole arrays: every item points at a smaller (or the same) item of
    # its component. Each round hooks the larger root of every link under the smaller
    # one, then follows pointers until each item points at its root. It ends when every
    # link joins items of one root: a component then has one root, its smallest index
    # (that index can point nowhere smaller, so it is a root).
    parent = np.arange(n, dtype=np.int64)
    while len(a):
        ra, rb = parent[a], parent[b]
        split = ra != rb
        if not split.any():
            break
        ra, rb = ra[split], rb[split]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
        a, b = a[split], b[split]  # links already inside one root stay so
    return parent


def components(n: int, *pair_sets: tuple[np.ndarray, np.ndarray]) -> list[int]:
    """:func:`roots` as a list (each item's component named by its smallest member index)."""
    return roots(n, *pair_sets).tolist()


def close_pairs(hashes: np.ndarray, max_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Each index pair (i < j) of uint64 hashes within ``max_bits`` bits, listed once."""
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
    out_a, out_b = [_EMPTY], [_EMPTY]
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
    # A pair close in several chunks is found once per chunk: list it once, so
    # that counts over pairs (the leakage check) are exact.
    key = np.unique(np.concatenate(out_a) * n + np.concatenate(out_b))
    return key // n, key % n


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
