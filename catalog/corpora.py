"""What an expression corpus says about an image besides its label: a face box, numbers.

A corpus can give the face box (AffectNet): it is stored on the image and extract
fits the landmarks in it instead of detecting (:func:`given_boxes`). Numbers a corpus
gives per image (AffectNet's valence and arousal) are kept by name and source
(``image_values``) for the export's columns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from catalog.db import transaction

Box = tuple[int, int, int, int]  # left, top, right, bottom, in image pixels


def set_given_box(conn: sqlite3.Connection, image_id: int, box: Box) -> bool:
    """Store the face box a corpus gives for an image; False if the image had one already.

    The first box given is kept: a second corpus naming the same pixels does not move
    a face extract may already have found in it.
    """
    left, top, right, bottom = (int(v) for v in box)
    with transaction(conn):
        cur = conn.execute(
            "UPDATE images SET given_left = ?, given_top = ?, given_right = ?, given_bottom = ? "
            "WHERE id = ? AND given_left IS NULL",
            (left, top, right, bottom, int(image_id)),
        )
    return bool(cur.rowcount)


def given_boxes(conn: sqlite3.Connection, image_ids: Sequence[int]) -> dict[int, Box]:
    """The given face box of each of these images that has one."""
    out: dict[int, Box] = {}
    ids = [int(i) for i in image_ids]
    for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT id, given_left, given_top, given_right, given_bottom FROM images "
            f"WHERE given_left IS NOT NULL AND id IN ({marks})",
            chunk,
        )
        out.update({r[0]: (r[1], r[2], r[3], r[4]) for r in rows})
    return out


def add_image_values(
    conn: sqlite3.Connection, image_id: int, source_name: str, values: Iterable[tuple[str, float]]
) -> int:
    """Store a corpus's numbers for an image (one per name and source); return how many new."""
    new = 0
    with transaction(conn):
        for name, value in values:
            new += conn.execute(
                "INSERT OR IGNORE INTO image_values (image_id, name, value, source_name) "
                "VALUES (?,?,?,?)",
                (int(image_id), name, float(value), source_name),
            ).rowcount
    return new


def image_values(conn: sqlite3.Connection, image_id: int) -> dict[str, float]:
    """An image's stored numbers by name (the first source's where several give one)."""
    rows = conn.execute(
        "SELECT name, value FROM image_values WHERE image_id = ? ORDER BY rowid DESC",
        (int(image_id),),
    )
    return dict(rows)
