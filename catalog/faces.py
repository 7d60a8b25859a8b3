"""Face rows: inserting one also creates its derived (pending) state."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catalog.db import transaction, utc_now
from catalog.events import refresh_face_states, set_new_face_states
from catalog.votes import apply_to_new_face, image_votes, record_decisions

# How a face was found; each is a value of faces.detector. "given": a corpus's box.
GIVEN_STEP = "given"
DETECTOR_STEPS = ("hog", "hog+frame", "cnn", "whole", GIVEN_STEP)


@dataclass(frozen=True)
class FaceRow:
    """One face as extract hands it to the catalog: a ``faces`` row without its ids.

    The box is (left, top, right, bottom) in the source image's pixels, clipped
    to the image; ``detector`` is the step that found the face (see
    :data:`DETECTOR_STEPS`). Every other field is an optional ``faces`` column.
    """

    face_index: int
    box: tuple[int, int, int, int]
    detector: str
    score: float | None = None
    subdetector: int | None = None
    upsample: int | None = None
    landmarks: str | None = None  # JSON [[x, y], ...], 68 points in source pixels
    chip_path: str | None = None
    chip_size: int | None = None
    chip_padding: float | None = None
    size_px: float | None = None
    sharpness: float | None = None
    brightness: float | None = None
    contrast: float | None = None
    roll: float | None = None
    yaw: float | None = None
    pitch: float | None = None
    border_cut: int | None = None
    phash: str | None = None
    dup_group: int | None = None
    embedding: bytes | None = None


_REQUIRED = ("face_index", "box", "detector")
_OPTIONAL = tuple(f.name for f in dataclasses.fields(FaceRow) if f.name not in _REQUIRED)


def face_row(
    face_index: int, box: tuple[int, int, int, int], detector: str, **fields: object
) -> FaceRow:
    """A :class:`FaceRow` from loose keyword fields; an unknown field is a ValueError."""
    unknown = set(fields) - set(_OPTIONAL)
    if unknown:
        raise ValueError(f"unknown face fields: {', '.join(sorted(unknown))}")
    return FaceRow(face_index, tuple(box), detector, **fields)  # type: ignore[arg-type]


def insert_face(
    conn: sqlite3.Connection,
    image_id: int,
    face: FaceRow | int,
    box: tuple[int, int, int, int] | None = None,
    detector: str | None = None,
    **fields: object,
) -> int:
    """Insert one face of an image; return its id.

    ``face`` is a :class:`FaceRow` (what extract builds). The loose spelling
    ``insert_face(conn, image_id, face_index, box, detector, score=..., ...)``
    builds the same row through :func:`face_row` (tests and fixtures use it).
    """
    if not isinstance(face, FaceRow):
        if box is None or detector is None:
            raise ValueError("a face needs its box and detector")
        face = face_row(face, box, detector, **fields)
    elif box is not None or detector is not None or fields:
        raise ValueError("give a FaceRow or loose fields, not both")
    with transaction(conn):
        face_id = _insert_row(conn, image_id, face)
        refresh_face_states(conn, [face_id])
        apply_to_new_face(conn, image_id, face_id)  # labels its image got at import
    return face_id


def insert_faces(conn: sqlite3.Connection, image_id: int, faces: Sequence[FaceRow]) -> list[int]:
    """Insert the faces extract found in one image; their ids, in order.

    What :func:`insert_face` does for each, with the image's votes and sources read
    once: extract's writer inserts thousands of faces a second.
    """
    with transaction(conn):
        ids = [_insert_row(conn, image_id, f) for f in faces]
        if not ids:
            return ids
        votes = image_votes(conn, image_id)
        if votes:  # each face gets the votes as its own events, and its state from them
            for face_id in ids:
                record_decisions(conn, face_id, [v.decision() for v in votes])
        else:
            set_new_face_states(conn, image_id, ids)
    return ids


def _insert_row(conn: sqlite3.Connection, image_id: int, face: FaceRow) -> int:
    optional = {name: getattr(face, name) for name in _OPTIONAL}
    optional = {k: v for k, v in optional.items() if v is not None}
    cols = [
        "image_id",
        "face_index",
        "box_left",
        "box_top",
        "box_right",
        "box_bottom",
        "detector",
        "created_at",
        *optional,
    ]
    values = [image_id, face.face_index, *face.box, face.detector, utc_now(), *optional.values()]
    cur = conn.execute(
        f"INSERT INTO faces ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values
    )
    return cur.lastrowid


def face_row_of(conn: sqlite3.Connection, face_id: int) -> FaceRow:
    """The stored face as a :class:`FaceRow` (the inverse of :func:`insert_face`)."""
    cols = ", ".join(_OPTIONAL)
    row = conn.execute(
        f"SELECT face_index, box_left, box_top, box_right, box_bottom, detector, {cols} "
        "FROM faces WHERE id = ?",
        (face_id,),
    ).fetchone()
    if row is None:
        raise KeyError(face_id)
    values = tuple(row)
    return FaceRow(values[0], tuple(values[1:5]), values[5], *values[6:])  # type: ignore[arg-type]


def faces_without_dup_group(conn: sqlite3.Connection) -> bool:
    """Whether a face with a perceptual hash has no near-duplicate group yet."""
    return (
        conn.execute(
            "SELECT 1 FROM faces WHERE dup_group IS NULL AND phash IS NOT NULL LIMIT 1"
        ).fetchone()
        is not None
    )


def hashed_faces(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """``id``, ``phash`` and ``dup_group`` of every face with a perceptual hash, by id."""
    return conn.execute(
        "SELECT id, phash, dup_group FROM faces WHERE phash IS NOT NULL ORDER BY id"
    ).fetchall()


def set_dup_groups(conn: sqlite3.Connection, groups: Iterable[tuple[int, int]]) -> None:
    """Write (dup_group, face id) pairs (in the caller's transaction)."""
    conn.executemany("UPDATE faces SET dup_group = ? WHERE id = ?", groups)


def export_rows(conn: sqlite3.Connection, quality: Sequence[str]) -> list[sqlite3.Row]:
    """Every face with what an export decides on, by id: its chip, hash, group and
    embedding, the ``quality`` columns, its state (``status``, ``label``, ``disputed``,
    ``annotators``) and its image's ``taken_down_at``."""
    unknown = set(quality) - set(_OPTIONAL)
    if unknown:
        raise ValueError(f"unknown face fields: {', '.join(sorted(unknown))}")
    return conn.execute(
        "SELECT f.id, f.image_id, f.chip_path, f.chip_size, f.chip_padding, f.phash, "
        "f.dup_group, f.embedding, "
        + ", ".join(f"f.{q}" for q in quality)
        + ", s.status, s.label, s.disputed, s.annotators, i.taken_down_at "
        "FROM faces f JOIN face_state s ON s.face_id = f.id "
        "JOIN images i ON i.id = f.image_id ORDER BY f.id"
    ).fetchall()


# An import row of a CSV is '<csv file name>:<row>'; the only CSV import is FER2013's.
_FER2013_FACES = (
    "SELECT DISTINCT f.id, f.phash, f.dup_group FROM faces f "
    "JOIN image_sources s ON s.image_id = f.image_id "
    "WHERE s.kind = 'import' AND (lower(s.source_name) = 'fer2013' "
    "OR s.import_path GLOB '*.csv:[0-9]*') ORDER BY f.id"
)


def fer2013_faces(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """``id``, ``phash`` and ``dup_group`` of the faces imported from FER2013, by id."""
    return conn.execute(_FER2013_FACES).fetchall()
