"""Keeping ``faces.dup_group`` up to date across the whole dataset."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from catalog.db import transaction
from catalog.faces import faces_without_dup_group, hashed_faces, set_dup_groups
from catalog.settings import get_value, put_value
from catalog.stats import near_duplicate_group_count
from faces.neardup import near_duplicate_groups, parse_phash

META_KEY = "near_dup_bits"


@dataclass(frozen=True)
class DupGroupUpdate:
    """What a near-duplicate pass did."""

    ran: bool
    faces: int  # faces with a hash
    changed: int  # faces whose dup_group changed
    groups: int  # groups of two or more faces


def update_dup_groups(
    conn: sqlite3.Connection, max_bits: int, *, force: bool = False
) -> DupGroupUpdate:
    """Recompute every face's near-duplicate group from the stored hashes.

    Runs when a face has no group yet (new faces, from this run or a killed
    one), when ``max_bits`` differs from the last pass, or when forced;
    detection is never redone. Only changed rows are written.
    """
    last_bits = get_value(conn, META_KEY)
    stale = faces_without_dup_group(conn)
    if not (force or stale or last_bits != str(max_bits)):
        return DupGroupUpdate(False, 0, 0, near_duplicate_group_count(conn))
    rows = hashed_faces(conn)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    hashes = np.fromiter((parse_phash(r[1]) for r in rows), dtype=np.uint64, count=len(rows))
    current = np.fromiter((r[2] if r[2] is not None else -1 for r in rows), np.int64, len(rows))
    groups = near_duplicate_groups(ids, hashes, max_bits)
    changed = np.nonzero(groups != current)[0]
    with transaction(conn):
        set_dup_groups(conn, ((int(groups[i]), int(ids[i])) for i in changed))
        put_value(conn, META_KEY, str(max_bits))
    return DupGroupUpdate(True, len(ids), len(changed), near_duplicate_group_count(conn))
