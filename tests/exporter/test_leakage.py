"""Leakage counting and near-duplicate links (pure), checked against brute force."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.groups import components, hash_links, hash_pairs
from exporter.leakage import cross_split_pairs
from faces.neardup import near_duplicate_groups, parse_phash

# Few distinct hashes, close to each other, so that equal and near hashes are common.
hashes_st = st.lists(
    st.one_of(
        st.none(), st.sampled_from(["0", "1", "3", "ff", "ffff", "fff0", "8000000000000000"])
    ),
    min_size=0,
    max_size=40,
)


def _brute(splits, hashes, groups, bits):
    cross = by_group = 0
    for i, j in combinations(range(len(splits)), 2):
        if splits[i] == splits[j]:
            continue
        near = (
            bool(hashes[i] and hashes[j])
            and bin(int(hashes[i], 16) ^ int(hashes[j], 16)).count("1") <= bits
        )
        same = groups[i] is not None and groups[i] == groups[j]
        cross += near or same
        by_group += same
    return cross, by_group


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_cross_split_counts_match_brute_force(data):
    hashes = data.draw(hashes_st)
    n = len(hashes)
    splits = data.draw(st.lists(st.sampled_from(["train", "val", "test"]), min_size=n, max_size=n))
    groups = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=n, max_size=n))
    bits = data.draw(st.integers(0, 8))
    assert cross_split_pairs(splits, hashes, groups, bits) == _brute(splits, hashes, groups, bits)


@settings(max_examples=150, deadline=None)
@given(hashes_st, st.integers(0, 8))
def test_hash_links_connect_the_same_groups_as_all_pairs(hashes, bits):
    n = len(hashes)
    assert components(n, hash_links(hashes, bits)) == components(n, hash_pairs(hashes, bits))


def test_a_thousand_copies_cost_linear_links():
    a, _ = hash_links(["abcdef0123456789"] * 1000, 6)
    assert len(a) == 999
    splits = ["train"] * 500 + ["val"] * 500
    assert cross_split_pairs(splits, ["abcdef0123456789"] * 1000, [None] * 1000, 6) == (
        500 * 500,
        0,
    )


def _partition(labels) -> set[frozenset[int]]:
    by: dict[int, set[int]] = {}
    for i, g in enumerate(labels):
        by.setdefault(int(g), set()).add(i)
    return {frozenset(m) for m in by.values()}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["0", "1", "3", "7", "f", "ff", "ffff", "fff0", "f0f0"]), max_size=30),
    st.integers(0, 8),
    st.data(),
)
def test_extract_groups_and_the_exports_leakage_check_agree(hexes, bits, data):
    # The same hashes through extract (faces.dup_group) and through the export
    # (split units, leakage check): the same groups, and a split that keeps each
    # extract group together has no leakage, while one that splits a group has.
    n = len(hexes)
    ids = np.arange(100, 100 + n)
    vals = np.array([parse_phash(h) for h in hexes], dtype=np.uint64)
    extract = near_duplicate_groups(ids, vals, bits)
    assert _partition(extract) == _partition(components(n, hash_links(hexes, bits)))
    names = ["train", "val", "test"]
    by_group = {int(g): names[data.draw(st.integers(0, 2))] for g in set(extract.tolist())}
    together = [by_group[int(g)] for g in extract]
    assert cross_split_pairs(together, hexes, [None] * n, bits) == (0, 0)
    assert cross_split_pairs(together, hexes, extract.tolist(), bits) == (0, 0)
    shared = [i for i in range(n) if (extract == extract[i]).sum() > 1]
    if shared:
        moved = list(together)
        i = data.draw(st.sampled_from(shared))
        moved[i] = next(s for s in names if s != together[i])
        assert cross_split_pairs(moved, hexes, [None] * n, bits)[0] > 0
