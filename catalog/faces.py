"""Face rows: inserting one also creates its derived (pending) state."""

from __future__ import annotations

import sqlite3

from catalog.db import transaction, utc_now
from catalog.events import refresh_face_states
from catalog.votes import apply_to_new_face

_OPTIONAL = frozenset(
    {
        "score",
        "subdetector",
        "upsample",
        "landmarks",
        "chip_path",
        "chip_size",
        "chip_padding",
        "size_px",
        "sharpness",
        "brightness",
        "contrast",
        "roll",
        "yaw",
        "pitch",
        "border_cut",
        "phash",
        "dup_group",
        "embedding",
    }
)


def insert_face(
    conn: sqlite3.Connection,
    image_id: int,
    face_index: int,
    box: tuple[int, int, int, int],
    detector: str,
    **fields: object,
) -> int:
    """Insert one face (box as left, top, right, bottom in source pixels); return its id.

    ``fields`` are the optional ``faces`` columns (score, landmarks, chip_path, ...).
    """
    unknown = set(fields) - _OPTIONAL
    if unknown:
        raise ValueError(f"unknown face fields: {', '.join(sorted(unknown))}")
    cols = [
        "image_id",
        "face_index",
        "box_left",
        "box_top",
        "box_right",
        "box_bottom",
        "detector",
        "created_at",
        *fields,
    ]
    values = [image_id, face_index, *box, detector, utc_now(), *fields.values()]
    with transaction(conn):
        cur = conn.execute(
            f"INSERT INTO faces ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            values,
        )
        refresh_face_states(conn, [cur.lastrowid])
        apply_to_new_face(conn, image_id, cur.lastrowid)  # labels its image got at import
    return cur.lastrowid
