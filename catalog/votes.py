"""Labels given to an image before its faces exist: a labels CSV's rows, FER+ votes.

Import runs before extract, and label events belong to faces. So such a label is
stored once per image (``image_votes``) and becomes a label event on every face of
the image: at once for faces already found, and for a face found later when
:func:`catalog.faces.insert_face` inserts it (:func:`apply_to_new_face`). The
label events then drive the face's state with the usual majority rules.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catalog.db import transaction, utc_now
from catalog.events import image_face_ids, refresh_face_states
from catalog.labels import reject_reasons
from core.errors import FacesiftError


class VoteError(FacesiftError, ValueError):
    """A vote that cannot become a label event."""


def record_decisions(
    conn: sqlite3.Connection,
    face_id: int,
    decisions: Sequence[tuple[str, str, str | None, str | None]],
) -> int:
    """Append many ``(annotator, action, label, reason)`` label/reject events to one face.

    One state refresh for all of them: importing ten FER+ votes per face for
    35,000 faces must not fold each face ten times. Validates as :func:`record`.
    """
    if not decisions:
        return 0
    labels = {r[0] for r in conn.execute("SELECT name FROM labels")}
    reasons = reject_reasons()
    now = utc_now()
    rows = []
    for annotator, action, label, reason in decisions:
        if not annotator.strip() or action not in ("label", "reject"):
            raise VoteError(f"bad decision {annotator!r} {action!r}")
        if label is not None and label not in labels:
            raise VoteError(f"unknown label {label!r}")
        if reason is not None and reason not in reasons:
            raise VoteError(f"unknown reject reason {reason!r}")
        rows.append((face_id, annotator.strip(), action, label, reason, now))
    with transaction(conn):
        conn.executemany(
            "INSERT INTO label_events (face_id, annotator, action, label, reason, created_at) "
            "VALUES (?,?,?,?,?,?)",
            rows,
        )
        refresh_face_states(conn, [face_id])
    return len(rows)


@dataclass(frozen=True)
class ImageVote:
    """One annotator's label (or reject) of a whole image, and where it was read."""

    annotator: str
    action: str  # "label" or "reject"
    label: str | None = None
    reason: str | None = None
    origin: str = ""  # e.g. "labels.csv:row12": a rerun of the same row adds nothing

    def decision(self) -> tuple[str, str, str | None, str | None]:
        """The ``(annotator, action, label, reason)`` a label event records."""
        return (self.annotator, self.action, self.label, self.reason)


def add_image_votes(conn: sqlite3.Connection, image_id: int, votes: Iterable[ImageVote]) -> int:
    """Store an image's votes (known ones are skipped); label its existing faces; count new."""
    with transaction(conn):
        new: list[ImageVote] = []
        now = utc_now()
        for v in votes:
            cur = conn.execute(
                "INSERT OR IGNORE INTO image_votes (image_id, annotator, action, label, reason, "
                "origin, created_at) VALUES (?,?,?,?,?,?,?)",
                (image_id, v.annotator, v.action, v.label, v.reason, v.origin, now),
            )
            if cur.rowcount:
                new.append(v)
        if new:
            for face_id in image_face_ids(conn, image_id):
                record_decisions(conn, face_id, [v.decision() for v in new])
    return len(new)


def image_votes(conn: sqlite3.Connection, image_id: int) -> list[ImageVote]:
    """An image's stored votes, oldest first."""
    rows = conn.execute(
        "SELECT annotator, action, label, reason, origin FROM image_votes "
        "WHERE image_id = ? ORDER BY id",
        (image_id,),
    )
    return [ImageVote(*r) for r in rows]


def apply_to_new_face(conn: sqlite3.Connection, image_id: int, face_id: int) -> int:
    """Give a face just inserted the label events of its image's votes; return how many."""
    votes = image_votes(conn, image_id)
    return record_decisions(conn, face_id, [v.decision() for v in votes])
