"""Near-duplicate groups in the catalog: recomputed when faces arrive or the limit changes."""

from __future__ import annotations

from faces.dupgroups import update_dup_groups


def _set_hashes(cat, faces: dict[int, str]) -> None:
    cat.conn.executemany(
        "UPDATE faces SET phash = ? WHERE id = ?", [(h, f) for f, h in faces.items()]
    )


def _groups(cat) -> dict[int, int]:
    return dict(cat.conn.execute("SELECT id, dup_group FROM faces").fetchall())


def test_groups_follow_new_faces_and_the_bit_limit(catalog, make_face):
    a, b, c = (make_face(catalog) for _ in range(3))
    _set_hashes(catalog, {a: "0f0f0f0f0f0f0f0f", b: "0f0f0f0f0f0f0f0e", c: "f0f0f0f0f0f0f0f0"})
    first = update_dup_groups(catalog.conn, 6)
    assert first.ran and first.changed == 3 and first.groups == 1
    assert _groups(catalog) == {a: a, b: a, c: c}

    # Nothing new and the same limit: nothing to do.
    assert not update_dup_groups(catalog.conn, 6).ran

    # A new face near c (a later import) joins c's group; the others stay.
    d = make_face(catalog)
    _set_hashes(catalog, {d: "f0f0f0f0f0f0f0f3"})
    again = update_dup_groups(catalog.conn, 6)
    assert again.ran and again.changed == 1  # only the new face is written
    assert _groups(catalog) == {a: a, b: a, c: c, d: c}

    # A stricter limit splits the groups.
    strict = update_dup_groups(catalog.conn, 0)
    assert strict.ran and _groups(catalog) == {a: a, b: b, c: c, d: d}
    assert strict.groups == 0
