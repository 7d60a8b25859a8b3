"""Label events and the face state derived from them.

Events are append-only. A face's state comes from folding its events:
each annotator's latest standing decision (an undo withdraws the decision it
names) is that annotator's vote, and the majority across annotators decides.
Without votes, the label the face's sources claim (query emotion, import
folder) stands as a pending label.

:func:`fold` is pure. :func:`record` appends an event and refreshes the
``face_state`` projection in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from catalog.db import transaction, utc_now
from catalog.labels import reject_reasons
from catalog.settings import (
    LABELS_PER_FACE,
    MAX_LABELS_PER_FACE,
    SettingError,
    labels_per_face,
    put_value,
)
from core.errors import FacesiftError

ACTIONS = ("label", "reject", "accept", "undo")
# A reject no majority overturns: `facesift takedown` records it as annotator takedown:<id>.
FINAL_REJECT = "takedown"
# SQL: label event ``e`` is a standing decision (a decision no undo names).
STANDING_SQL = (
    "e.action <> 'undo' AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.undoes = e.id)"
)


class EventError(FacesiftError, ValueError):
    """An event that cannot be recorded."""


@dataclass(frozen=True)
class LabelEvent:
    """One row of ``label_events``."""

    id: int
    face_id: int
    annotator: str
    action: str
    label: str | None = None
    reason: str | None = None
    undoes: int | None = None
    created_at: str = ""


@dataclass(frozen=True)
class Vote:
    """One annotator's standing decision on a face."""

    annotator: str
    status: str  # "accepted" or "rejected"
    label: str | None
    reason: str | None


@dataclass(frozen=True)
class FaceState:
    """The derived state of a face: what review, stats and export read."""

    status: str  # "pending", "accepted" or "rejected"
    label: str | None
    label_origin: str  # "events", "source" or "none"
    reason: str | None
    annotators: int
    disputed: bool
    last_event_id: int | None


def votes(events: Iterable[LabelEvent], source_label: str | None) -> dict[str, Vote]:
    """Each annotator's standing vote, after undos, from a face's events."""
    ordered = sorted(events, key=lambda e: e.id)
    undone = {e.undoes for e in ordered if e.action == "undo"}
    out: dict[str, Vote] = {}
    for e in ordered:
        if e.action == "undo" or e.id in undone:
            continue
        prev = out.get(e.annotator)
        if e.action == "label":
            out[e.annotator] = Vote(e.annotator, "accepted", e.label, None)
        elif e.action == "accept":
            kept = prev.label if prev and prev.status == "accepted" else source_label
            out[e.annotator] = Vote(e.annotator, "accepted", e.label or kept, None)
        elif e.action == "reject":
            out[e.annotator] = Vote(e.annotator, "rejected", None, e.reason)
    return out


def unique_top(counter: Counter) -> object | None:
    """The most common item, or None when there is none or a tie for first (a unique majority)."""
    top = counter.most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def decision(vote: Vote) -> str:
    """A vote as one category: ``reject``, its label, or ``accept`` (accepted without a label)."""
    return "reject" if vote.status == "rejected" else (vote.label or "accept")


def fold(
    events: Sequence[LabelEvent], source_label: str | None, labels_per_face: int = 1
) -> FaceState:
    """Derive a face's state from its events (any order) and its source label.

    Majority across annotators: more rejects than accepts rejects the face; more
    accepts accepts it with the most voted label. A tie (in status, or between
    the top labels) leaves it pending and disputed. With ``labels_per_face`` K > 1
    (second opinions), a face stays pending until it has K decisions; then one
    decision (reject or a label) held by a strict majority decides it, and
    anything else leaves it pending and disputed.
    """
    last = max((e.id for e in events), default=None)
    vs = votes(events, source_label)
    if not vs:
        origin = "source" if source_label else "none"
        return FaceState("pending", source_label, origin, None, 0, False, last)
    if any(v.reason == FINAL_REJECT and v.annotator.startswith("takedown:") for v in vs.values()):
        # A takedown is not one opinion among others: its files are gone.
        return FaceState("rejected", None, "none", FINAL_REJECT, len(vs), False, last)
    if labels_per_face > 1:
        return _fold_at_k(vs, source_label, labels_per_face, last)
    accepted = [v for v in vs.values() if v.status == "accepted"]
    rejected = [v for v in vs.values() if v.status == "rejected"]
    disputed = len({(v.status, v.label) for v in vs.values()}) > 1
    label_votes = Counter(v.label for v in accepted if v.label)
    top_label = unique_top(label_votes)
    if len(rejected) > len(accepted):
        reason = unique_top(Counter(v.reason for v in rejected if v.reason))
        return FaceState(
            "rejected",
            top_label,
            "events" if top_label else "none",
            reason,
            len(vs),
            disputed,
            last,
        )
    if len(accepted) > len(rejected) and (top_label or not label_votes):
        label = top_label
        return FaceState(
            "accepted", label, "events" if label else "none", None, len(vs), disputed, last
        )
    label = top_label or source_label
    origin = "events" if top_label else ("source" if source_label else "none")
    return FaceState("pending", label, origin, None, len(vs), True, last)


def _fold_at_k(vs: dict[str, Vote], source_label: str | None, k: int, last: int | None):
    n = len(vs)
    counts = Counter(decision(v) for v in vs.values())
    top_label = unique_top(Counter(v.label for v in vs.values() if v.label))
    if n >= k:
        top, c = counts.most_common(1)[0]
        if c * 2 > n and top == "reject":
            reason = unique_top(Counter(v.reason for v in vs.values() if v.reason))
            return FaceState("rejected", None, "none", reason, n, len(counts) > 1, last)
        if c * 2 > n:
            label = None if top == "accept" else top
            origin = "events" if label else "none"
            return FaceState("accepted", label, origin, None, n, len(counts) > 1, last)
    label = top_label or source_label
    origin = "events" if top_label else ("source" if source_label else "none")
    # Fewer than K decisions: waiting for more opinions, not (yet) disputed.
    return FaceState("pending", label, origin, None, n, n >= k, last)


# --- catalog I/O ------------------------------------------------------------


def _event_from_row(row: sqlite3.Row) -> LabelEvent:
    return LabelEvent(*row)


_EVENT_COLUMNS = "e.id, e.face_id, e.annotator, e.action, e.label, e.reason, e.undoes, e.created_at"


def face_events(conn: sqlite3.Connection, face_id: int) -> list[LabelEvent]:
    """All events of a face, oldest first."""
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM label_events e WHERE e.face_id = ? ORDER BY e.id",
        (face_id,),
    )
    return [_event_from_row(r) for r in rows]


def standing_votes(
    conn: sqlite3.Connection,
    face_ids: Iterable[int] | None = None,
    *,
    min_annotators: int = 1,
    limit: int | None = None,
) -> dict[int, dict[str, Vote]]:
    """Each face's standing votes by annotator (:func:`votes`), read in one query.

    For the faces ``face_ids`` (else every face) with ``min_annotators`` or more
    annotators, at most ``limit`` of them (in face id order).
    """
    chosen = "SELECT face_id FROM face_state WHERE annotators >= ?"
    params: list[object] = [min_annotators]
    if face_ids is not None:
        chosen += " AND face_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(sorted(set(face_ids))))
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM label_events e WHERE e.face_id IN "
        f"({chosen} ORDER BY face_id LIMIT ?) ORDER BY e.face_id, e.id",
        (*params, -1 if limit is None else limit),
    )
    out: dict[int, dict[str, Vote]] = {}
    for fid, group in groupby((LabelEvent(*r) for r in rows), key=lambda e: e.face_id):
        events = list(group)
        # Only an accept without a label takes the source's label: look it up only then.
        needs_source = any(e.action == "accept" and not e.label for e in events)
        vs = votes(events, source_label(conn, fid) if needs_source else None)
        if len(vs) >= min_annotators:
            out[fid] = vs
    return out


def source_label(conn: sqlite3.Connection, face_id: int) -> str | None:
    """The label a face's image sources agree on; None where they disagree or say nothing."""
    rows = conn.execute(
        "SELECT DISTINCT s.source_label FROM faces f "
        "JOIN image_sources s ON s.image_id = f.image_id "
        "WHERE f.id = ? AND s.source_label IS NOT NULL AND s.source_label <> ''",
        (face_id,),
    ).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def refresh_face_states(conn: sqlite3.Connection, face_ids: Iterable[int]) -> None:
    """Recompute the ``face_state`` rows of these faces from their events and sources."""
    k = labels_per_face(conn)
    with transaction(conn):
        for face_id in face_ids:
            _put_state(
                conn, face_id, fold(face_events(conn, face_id), source_label(conn, face_id), k)
            )


def set_new_face_states(conn: sqlite3.Connection, image_id: int, face_ids: Sequence[int]) -> None:
    """The ``face_state`` rows of faces just inserted into one image, that have no event
    yet: one state from the image's sources, folded once (extract's writer, per image)."""
    rows = conn.execute(
        "SELECT DISTINCT source_label FROM image_sources "
        "WHERE image_id = ? AND source_label IS NOT NULL AND source_label <> ''",
        (image_id,),
    ).fetchall()
    st = fold([], rows[0][0] if len(rows) == 1 else None, labels_per_face(conn))
    with transaction(conn):
        for face_id in face_ids:
            _put_state(conn, face_id, st)


def _put_state(conn: sqlite3.Connection, face_id: int, st: FaceState) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO face_state (face_id, status, label, label_origin, "
        "reason, annotators, disputed, last_event_id) VALUES (?,?,?,?,?,?,?,?)",
        (
            face_id,
            st.status,
            st.label,
            st.label_origin,
            st.reason,
            st.annotators,
            int(st.disputed),
            st.last_event_id,
        ),
    )


def image_face_ids(conn: sqlite3.Connection, image_id: int) -> list[int]:
    """The ids of an image's faces, in detection order."""
    rows = conn.execute("SELECT id FROM faces WHERE image_id = ? ORDER BY face_index", (image_id,))
    return [r[0] for r in rows]


def refresh_image_face_states(conn: sqlite3.Connection, image_id: int) -> None:
    """Refresh the faces of one image (after a face or a provenance was added to it)."""
    refresh_face_states(conn, image_face_ids(conn, image_id))


def rebuild_face_states(conn: sqlite3.Connection) -> int:
    """Recompute ``face_state`` for every face from the events alone; return the face count."""
    ids = [r[0] for r in conn.execute("SELECT id FROM faces")]
    with transaction(conn):
        conn.execute("DELETE FROM face_state")
        refresh_face_states(conn, ids)
    return len(ids)


def face_state(conn: sqlite3.Connection, face_id: int) -> FaceState:
    """The stored state of one face."""
    row = conn.execute(
        "SELECT status, label, label_origin, reason, annotators, disputed, last_event_id "
        "FROM face_state WHERE face_id = ?",
        (face_id,),
    ).fetchone()
    if row is None:
        raise EventError(f"no face {face_id}")
    return FaceState(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6])


def face_states(conn: sqlite3.Connection, face_ids: Sequence[int]) -> dict[int, FaceState]:
    """The stored states of many faces (one query), by face id; unknown ids are left out."""
    if not face_ids:
        return {}
    marks = ",".join("?" * len(face_ids))
    rows = conn.execute(
        "SELECT face_id, status, label, label_origin, reason, annotators, disputed, "
        f"last_event_id FROM face_state WHERE face_id IN ({marks})",
        list(face_ids),
    )
    return {r[0]: FaceState(r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7]) for r in rows}


def dataset_labels(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The dataset's label names, in index order (empty before the set is stored)."""
    return tuple(r[0] for r in conn.execute("SELECT name FROM labels ORDER BY idx"))


def is_undone(conn: sqlite3.Connection, event_id: int) -> bool:
    """Whether an undo event names this event."""
    return (
        conn.execute("SELECT 1 FROM label_events WHERE undoes = ?", (event_id,)).fetchone()
        is not None
    )


def undone_among(conn: sqlite3.Connection, event_ids: Sequence[int]) -> set[int]:
    """Those of the events (a non-empty list) that an undo event names."""
    marks = ",".join("?" * len(event_ids))
    return {
        r[0]
        for r in conn.execute(
            f"SELECT undoes FROM label_events WHERE undoes IN ({marks})", event_ids
        )
    }


def record(
    conn: sqlite3.Connection,
    face_id: int,
    annotator: str,
    action: str,
    *,
    label: str | None = None,
    reason: str | None = None,
    undoes: int | None = None,
) -> LabelEvent:
    """Append one label event and refresh the face's state, in one transaction."""
    annotator = annotator.strip()
    if not annotator:
        raise EventError("an annotator name is required")
    if action not in ACTIONS:
        raise EventError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    if label is not None and label not in dataset_labels(conn):
        raise EventError(f"unknown label {label!r}")
    if action == "reject" and reason is not None and reason not in reject_reasons():
        raise EventError(f"unknown reject reason {reason!r}")
    with transaction(conn):
        if conn.execute("SELECT 1 FROM faces WHERE id = ?", (face_id,)).fetchone() is None:
            raise EventError(f"no face {face_id}")
        if action == "undo":
            _check_undo(conn, face_id, annotator, undoes)
        now = utc_now()
        cur = conn.execute(
            "INSERT INTO label_events (face_id, annotator, action, label, reason, undoes, "
            "created_at) VALUES (?,?,?,?,?,?,?)",
            (face_id, annotator, action, label, reason, undoes, now),
        )
        refresh_face_states(conn, [face_id])
    return LabelEvent(cur.lastrowid, face_id, annotator, action, label, reason, undoes, now)


def _check_undo(conn: sqlite3.Connection, face_id: int, annotator: str, target: int | None):
    row = conn.execute(
        "SELECT face_id, annotator, action FROM label_events WHERE id = ?", (target,)
    ).fetchone()
    if row is None or row["face_id"] != face_id or row["annotator"] != annotator:
        raise EventError(f"event {target} is not {annotator}'s event on face {face_id}")
    if row["action"] == "undo":
        raise EventError("an undo cannot be undone; record the decision again")
    if is_undone(conn, target):
        raise EventError(f"event {target} is already undone")


def undo_last(
    conn: sqlite3.Connection, annotator: str, face_id: int | None = None
) -> LabelEvent | None:
    """Undo the annotator's latest standing decision (on one face, or on any); None if none."""
    sql = f"SELECT e.id, e.face_id FROM label_events e WHERE e.annotator = ? AND {STANDING_SQL}"
    params: list[object] = [annotator.strip()]
    if face_id is not None:
        sql += " AND e.face_id = ?"
        params.append(face_id)
    row = conn.execute(sql + " ORDER BY e.id DESC LIMIT 1", params).fetchone()
    if row is None:
        return None
    return record(conn, row["face_id"], annotator, "undo", undoes=row["id"])


def set_labels_per_face(conn: sqlite3.Connection, k: int) -> bool:
    """Store the dataset's decisions per face; rebuild every face's state if it changed.

    Returns whether it changed. The face states depend on it (a face is decided
    by a majority of its K decisions), so the change and the rebuild are one transaction.
    """
    if not 1 <= k <= MAX_LABELS_PER_FACE:
        raise SettingError(f"labels per face must be 1 to {MAX_LABELS_PER_FACE}, not {k}")
    if labels_per_face(conn) == k:
        return False
    with transaction(conn):
        put_value(conn, LABELS_PER_FACE, str(k))
        rebuild_face_states(conn)
    return True
