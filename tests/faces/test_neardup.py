"""Near-duplicate grouping: a pure function over ids and 64-bit hashes."""

from __future__ import annotations

import numpy as np
import pytest

from faces.neardup import (
    _all_pairs,
    _masks_up_to,
    _multi_index_pairs,
    close_pairs,
    near_duplicate_groups,
    popcount64,
    roots,
)


def _flip(h: int, *bits: int) -> int:
    for b in bits:
        h ^= 1 << b
    return h


def test_groups_are_named_by_their_smallest_id():
    a = 0x0123456789ABCDEF
    b = 0xFEDCBA9876543210
    ids = np.array([10, 3, 7, 5])
    hashes = np.array([a, _flip(a, 1, 2), b, _flip(b, 60)], dtype=np.uint64)
    assert near_duplicate_groups(ids, hashes, 6).tolist() == [3, 3, 5, 5]


def test_distance_limit_is_inclusive():
    a = 0x0F0F0F0F0F0F0F0F
    ids = np.array([1, 2, 3])
    hashes = np.array([a, _flip(a, *range(6)), _flip(a, *range(7))], dtype=np.uint64)
    # 2 is 6 bits from 1; 3 is 7 bits from 1 but 1 bit from 2: joined through 2.
    assert near_duplicate_groups(ids, hashes, 6).tolist() == [1, 1, 1]
    assert near_duplicate_groups(ids, hashes, 5).tolist() == [1, 2, 2]
    assert near_duplicate_groups(ids[[0, 2]], hashes[[0, 2]], 6).tolist() == [1, 3]


def test_zero_bits_groups_identical_hashes_only():
    ids = np.array([4, 2, 9])
    hashes = np.array([5, 5, 4], dtype=np.uint64)
    assert near_duplicate_groups(ids, hashes, 0).tolist() == [2, 2, 9]


def test_empty_and_bad_input():
    assert near_duplicate_groups(np.array([], int), np.array([], np.uint64), 6).tolist() == []
    with pytest.raises(ValueError):
        near_duplicate_groups(np.array([1, 2]), np.array([1], np.uint64), 6)


def test_chains_are_transitive():
    # 0 -> 1 -> 2 ... each one bit from the previous, the ends far apart.
    hashes = [0]
    for bit in range(40):
        hashes.append(_flip(hashes[-1], bit))
    ids = np.arange(100, 141)
    groups = near_duplicate_groups(ids, np.array(hashes, dtype=np.uint64), 1)
    assert set(groups.tolist()) == {100}


@pytest.mark.parametrize("max_bits", [3, 6, 10])
def test_multi_index_finds_exactly_the_pairs_all_pairs_finds(max_bits):
    rng = np.random.default_rng(max_bits)
    base = rng.integers(0, 2**64, size=1500, dtype=np.uint64)
    noise = np.zeros(1500, dtype=np.uint64)
    for _ in range(max_bits + 2):  # some copies within the limit, some beyond
        noise |= np.uint64(1) << rng.integers(0, 64, size=1500).astype(np.uint64)
    hashes = np.unique(np.concatenate([base, base ^ noise]))
    brute = set(zip(*(x.tolist() for x in _all_pairs(hashes, max_bits)), strict=True))
    multi = _multi_index_pairs(hashes, max_bits, _masks_up_to(max_bits // 4))
    found = set(zip(*(x.tolist() for x in multi), strict=True))
    assert brute, "the data has close pairs"
    assert found == brute


def test_large_sets_group_all_planted_duplicates():
    rng = np.random.default_rng(1)
    n = 30_000
    base = rng.integers(0, 2**64, size=n, dtype=np.uint64)
    flips = np.zeros(n, dtype=np.uint64)
    for _ in range(3):
        flips |= np.uint64(1) << rng.integers(0, 64, size=n).astype(np.uint64)
    ids = np.arange(2 * n)
    groups = near_duplicate_groups(ids, np.concatenate([base, base ^ flips]), 6)
    assert (groups[n:] == groups[:n]).all()
    assert (groups[:n] == ids[:n]).mean() > 0.99  # random hashes are far apart


def test_popcount_and_components():
    x = np.array([0, 1, 3, 2**64 - 1], dtype=np.uint64)
    assert popcount64(x).tolist() == [0, 1, 2, 64]
    labels = roots(6, (np.array([4, 2, 5]), np.array([5, 1, 3])))
    assert labels.tolist() == [0, 1, 1, 3, 3, 3]
    assert roots(3).tolist() == [0, 1, 2]


def test_close_pairs_list_each_pair_once_on_large_sets():
    # Above the all-pairs size the multi-index search runs; a pair close in
    # several chunks must still be listed once (the leakage check counts pairs).
    rng = np.random.default_rng(5)
    base = rng.integers(0, 2**64, size=3000, dtype=np.uint64)
    hashes = np.concatenate([base, base ^ np.uint64(1)])
    a, b = close_pairs(hashes, 6)
    pairs = list(zip(a.tolist(), b.tolist(), strict=True))
    assert len(pairs) == len(set(pairs)) >= 3000
    assert all(i < j for i, j in pairs)


def _smallest_by_search(n: int, a: list[int], b: list[int]) -> list[int]:
    """Each item's component named by its smallest member, by a plain graph search."""
    neighbours: dict[int, set[int]] = {i: set() for i in range(n)}
    for x, y in zip(a, b, strict=True):
        neighbours[x].add(y)
        neighbours[y].add(x)
    out = [-1] * n
    for start in range(n):
        if out[start] >= 0:
            continue
        seen, todo = {start}, [start]
        while todo:
            for y in neighbours[todo.pop()] - seen:
                seen.add(y)
                todo.append(y)
        for x in seen:
            out[x] = min(seen)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_components_match_a_graph_search(seed):
    # The union-find (numpy only, no scipy import at start-up) on random graphs, self
    # links, repeated links and long chains given in either direction.
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 120))
        m = int(rng.integers(0, 2 * n))
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        assert roots(n, (a, b)).tolist() == _smallest_by_search(n, a.tolist(), b.tolist())
    order = rng.permutation(500)
    chain = (order[1:], order[:-1])
    assert roots(500, chain).tolist() == [0] * 500
    assert roots(500, (order[:250], order[250:]), chain[::-1]).tolist() == [0] * 500


def test_phash_is_imagehashs_bit_for_bit(photos):
    # The hash is computed with numpy; every stored hash must stay what imagehash computes.
    import imagehash
    from PIL import Image

    from faces.neardup import phash
    from tests.conftest import SHARED_FER

    images = []
    for photo in photos:
        with Image.open(photo.path) as im:
            images.append(im.convert("RGB"))
    fer = sorted(SHARED_FER.glob("*/*.jpg"))[::50]  # real 48 px faces, where ../shared is
    images += [Image.open(f).convert("RGB") for f in fer]
    rng = np.random.default_rng(0)
    images += [Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8))]
    hashes = [phash(im) for im in images]
    assert hashes == [str(imagehash.phash(im)) for im in images]
    assert len(set(hashes)) > len(images) * 0.9  # and they tell the images apart
    assert all(len(h) == 16 for h in hashes)
