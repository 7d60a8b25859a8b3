"""Split assignment and grouping (pure)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.groups import components, embedding_pairs, hash_pairs, same_key_pairs
from exporter.options import SPLITS
from exporter.splits import apportion, assign_splits


@given(
    st.integers(0, 500),
    st.lists(st.integers(0, 20), min_size=3, max_size=3).filter(lambda w: sum(w) > 0),
)
def test_apportion_sums_and_stays_within_one(n, weights):
    fr = [w / sum(weights) for w in weights]
    parts = apportion(n, fr)
    assert sum(parts) == n
    assert all(abs(p - n * f) < 1 for p, f in zip(parts, fr, strict=True))
    assert all(p == 0 for p, f in zip(parts, fr, strict=True) if f == 0)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdefg"), st.integers(1, 60), min_size=1),
    st.sampled_from([(0.8, 0.1, 0.1), (0.7, 0.15, 0.15), (0.6, 0.2, 0.2), (0.9, 0.1, 0.0)]),
    st.integers(0, 2**31),
)
def test_singletons_are_stratified_within_one_face_per_class(counts, fractions, seed):
    labels = [lab for lab, n in sorted(counts.items()) for _ in range(n)]
    out = assign_splits(labels, list(range(len(labels))), fractions, seed)
    got = Counter(zip(labels, out, strict=True))
    for lab, n in counts.items():
        for s, f in zip(SPLITS, fractions, strict=True):
            assert abs(got[(lab, s)] - n * f) < 1, (lab, s, got[(lab, s)], n * f)


def test_units_never_cross_and_splits_stay_close():
    rng = random.Random(5)
    labels, units = [], []
    for u in range(300):
        size = rng.choice([1, 1, 1, 2, 3, 5])
        lab = rng.choice("abc")
        for _ in range(size):
            labels.append(lab)
            units.append(u)
    out = assign_splits(labels, units, (0.8, 0.1, 0.1), seed=3)
    by_unit: dict[int, set[str]] = {}
    for u, s in zip(units, out, strict=True):
        by_unit.setdefault(u, set()).add(s)
    assert all(len(s) == 1 for s in by_unit.values())
    share = Counter(out)
    assert abs(share["train"] / len(out) - 0.8) < 0.03
    assert abs(share["val"] / len(out) - 0.1) < 0.03


def test_same_seed_same_split_other_seed_other_split():
    labels = ["a"] * 50 + ["b"] * 50
    units = list(range(100))
    a = assign_splits(labels, units, (0.8, 0.1, 0.1), seed=1)
    assert a == assign_splits(labels, units, (0.8, 0.1, 0.1), seed=1)
    assert a != assign_splits(labels, units, (0.8, 0.1, 0.1), seed=2)


def test_zero_fraction_split_gets_nothing():
    labels = ["a"] * 7 + ["b"] * 3
    out = assign_splits(labels, list(range(10)), (0.9, 0.1, 0.0), seed=0)
    assert "test" not in out


def test_hash_pairs_use_hamming_distance():
    hashes = ["0000000000000000", "000000000000003f", "000000000000007f", None, "ffffffffffffffff"]
    a, b = hash_pairs(hashes, 6)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (1, 2)]
    a, b = hash_pairs(hashes, 7)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]


def test_embedding_pairs_and_components_make_identity_clusters(make_people):
    people = make_people(4, 3)
    flat = [e for person in people for e in person]
    a, b = embedding_pairs(flat, 0.6)
    comp = components(len(flat), (a, b))
    assert comp == [0, 0, 0, 3, 3, 3, 6, 6, 6, 9, 9, 9]
    m = np.stack([np.frombuffer(e, "<f4") for e in flat])
    assert np.linalg.norm(m[0] - m[3]) > 0.6  # the people really are apart


def test_same_key_pairs_link_equal_keys_only():
    a, b = same_key_pairs([7, None, 7, 9, None, 9, 7])
    assert components(7, (a, b)) == [0, 1, 0, 3, 4, 3, 0]
