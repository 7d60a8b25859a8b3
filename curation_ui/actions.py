"""Write-side actions of the review app: every one is a label event.

Each function takes a catalog connection and an annotator and appends events
with :func:`catalog.events.record` (undo included), all of one action in one
transaction, and returns the events so that the app can undo that action.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from catalog.db import transaction
from catalog.events import LabelEvent, face_state, record, undo_last, undone_among
from curation_ui.roles import User, require

__all__ = [
    "accept_rest",
    "export_as",
    "import_as",
    "reject",
    "relabel",
    "undo_events",
    "undo_last",
]


def reject(
    conn: sqlite3.Connection, face_ids: Iterable[int], annotator: str, reason: str
) -> list[LabelEvent]:
    """Reject faces with a reason (a wrong emotion is a relabel, not a reject)."""
    with transaction(conn):
        return [record(conn, fid, annotator, "reject", reason=reason) for fid in face_ids]


def relabel(
    conn: sqlite3.Connection, face_ids: Iterable[int], annotator: str, label: str
) -> list[LabelEvent]:
    """Give faces a label (this also accepts them)."""
    with transaction(conn):
        return [record(conn, fid, annotator, "label", label=label) for fid in face_ids]


def accept_rest(
    conn: sqlite3.Connection, face_ids: Iterable[int], annotator: str
) -> tuple[list[LabelEvent], list[int]]:
    """Accept the pending faces among ``face_ids`` with the label they show.

    Faces already accepted or rejected are left as they are; pending faces
    without any label cannot be accepted and are returned as the second item.
    """
    events: list[LabelEvent] = []
    unlabelled: list[int] = []
    with transaction(conn):
        for fid in face_ids:
            st = face_state(conn, fid)
            if st.status != "pending":
                continue
            if st.label is None:
                unlabelled.append(fid)
                continue
            events.append(record(conn, fid, annotator, "accept", label=st.label))
    return events, unlabelled


def undo_events(
    conn: sqlite3.Connection, annotator: str, events: Sequence[LabelEvent]
) -> list[LabelEvent]:
    """Undo an action's events (newest first), skipping those already undone."""
    undos: list[LabelEvent] = []
    if not events:
        return undos
    with transaction(conn):
        done = undone_among(conn, [e.id for e in events])
        for e in sorted(events, key=lambda e: e.id, reverse=True):
            if e.id not in done and e.action != "undo":
                undos.append(record(conn, e.face_id, annotator, "undo", undoes=e.id))
    return undos


def import_as(user: User, cat, path, **kwargs):
    """``importer.stage.import_path`` for an admin; PermissionRefused for anyone else."""
    require(user, "import")
    from importer.stage import import_path

    return import_path(cat, path, **kwargs)


def export_as(user: User, cat, opts, **kwargs):
    """``exporter.stage.export`` for an admin; PermissionRefused for anyone else."""
    require(user, "export")
    from exporter.stage import export

    return export(cat, opts, **kwargs)
