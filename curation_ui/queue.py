"""The label queue: one face at a time over any subset, with skip and undo.

:class:`QueueState` is a plain value the app keeps in its session; each
transition (label, reject, skip, undo) records its event and returns the next
state, so the whole queue is tested without Streamlit. The next face is the
first face of the subset after the current one (by id), wrapping around, that
this session has not skipped: two people on the same subset simply meet faces
the other has not decided yet.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace

from catalog.events import STANDING_SQL, is_undone, record, undo_last
from catalog.predictions import ModelRow, latest_model_row
from catalog.settings import labels_per_face
from curation_ui.queries import NO_LABEL, FaceCard, face_card

SUBSETS = {
    "unlabelled": "pending faces without a label (unlabelled imports)",
    "pending": "every pending face (e.g. scraped faces to check)",
    "disputed": "faces on which annotators disagree (that you have not decided)",
    "all": "every face not yet decided by you",
    "second": "second opinion: faces short of their labels per face, none decided by you",
    "suspects": "suspects: the faces the model least believes, least first (needs a model)",
}
SUSPECTS = "suspects"
# Subsets that must not show the face's current label (or whether others disagree):
# a second opinion is independent only if the annotator cannot see the first.
BLIND_SUBSETS = frozenset({"second"})


@dataclass(frozen=True)
class QueueFilter:
    """Which faces the queue walks through."""

    subset: str = "unlabelled"
    label: str | None = None  # only faces currently showing this label (or NO_LABEL)
    source_name: str | None = None  # only faces imported from this source

    def __post_init__(self) -> None:
        if self.subset not in SUBSETS:
            raise ValueError(f"unknown subset {self.subset!r}")


def _standing_vote_sql(annotator_param: str = "?") -> str:
    return (
        "EXISTS (SELECT 1 FROM label_events e WHERE e.face_id = s.face_id AND e.annotator = "
        f"{annotator_param} AND {STANDING_SQL})"
    )


def _decided_since_sql() -> str:
    """The faces with a standing decision (anyone's) recorded after event ``?``.

    Not correlated: SQLite lists the few faces decided since once per query
    instead of looking up every candidate's events.
    """
    return f"SELECT e.face_id FROM label_events e WHERE e.id > ? AND {STANDING_SQL}"


# Subsets of faces this annotator has not decided: each one's own condition.
_NOT_MINE = {"second": "s.annotators < ?", "disputed": "s.disputed = 1", "all": "1"}


def _subset_where(
    qf: QueueFilter,
    annotator: str,
    k: int = 1,
    model: ModelRow | None = None,
    *,
    exclude_own: bool = True,
) -> tuple[str, list[object]]:
    """The WHERE clause over ``face_state s`` for a subset; ``exclude_own=False`` keeps the
    faces this annotator decided in (for counting, see :func:`remaining`)."""
    conds: list[str] = []
    params: list[object] = []
    if qf.subset == SUSPECTS:
        # The newest model's suspects (out-of-fold: it never saw them) that nobody has
        # decided since it was trained; joined as ``p`` by the caller.
        conds.append(f"p.out_of_fold = 1 AND p.face_id NOT IN ({_decided_since_sql()})")
        params.append((model.last_event_id or 0) if model is not None else 0)
    elif qf.subset == "unlabelled":
        conds.append("s.status = 'pending' AND s.label IS NULL")
    elif qf.subset == "pending":
        conds.append("s.status = 'pending'")
    else:  # second, disputed, all
        conds.append(_NOT_MINE[qf.subset])
        params.extend([k] if qf.subset == "second" else [])
        if exclude_own:
            conds.append(f"NOT {_standing_vote_sql()}")
            params.append(annotator)
    if qf.label == NO_LABEL:
        conds.append("s.label IS NULL")
    elif qf.label is not None:
        conds.append("s.label = ?")
        params.append(qf.label)
    if qf.source_name is not None:
        conds.append(
            "EXISTS (SELECT 1 FROM faces f JOIN image_sources i ON i.image_id = f.image_id "
            "WHERE f.id = s.face_id AND i.source_name = ?)"
        )
        params.append(qf.source_name)
    return " AND ".join(conds), params


def _not_skipped(
    column: str, skipped: frozenset[int], sql: str, params: list[object]
) -> tuple[str, list[object]]:
    """``sql`` and ``params`` narrowed to faces (``column``) not skipped this session."""
    if not skipped:
        return sql, params
    marks = ",".join("?" * len(skipped))
    return f"{sql} AND {column} NOT IN ({marks})", [*params, *sorted(skipped)]


def next_face_id(
    conn: sqlite3.Connection,
    qf: QueueFilter,
    annotator: str,
    after: int = 0,
    skipped: frozenset[int] = frozenset(),
) -> int | None:
    """The first face of the subset with an id above ``after`` (wrapping), not skipped.

    The suspects subset is walked in the model's order instead (see :func:`_next_suspect`).
    """
    if qf.subset == SUSPECTS:
        return _next_suspect(conn, qf, annotator, after, skipped)
    where, params = _subset_where(qf, annotator, labels_per_face(conn))
    where, params = _not_skipped("s.face_id", skipped, where, params)
    # face_state's key is the face id: walking it in order finds the next face at once.
    sql = (
        f"SELECT s.face_id FROM face_state s WHERE {where} AND s.face_id > ? "
        "ORDER BY s.face_id LIMIT 1"
    )
    row = conn.execute(sql, [*params, after]).fetchone()
    if row is None and after > 0:
        row = conn.execute(sql, [*params, 0]).fetchone()
    return row[0] if row else None


def remaining(conn: sqlite3.Connection, qf: QueueFilter, annotator: str) -> int:
    """How many faces of the subset are left (skipped ones included)."""
    if qf.subset == SUSPECTS:
        found = _suspects_from(conn, qf, annotator)
        if found is None:
            return 0
        return conn.execute(f"SELECT COUNT(*) {found[0]}", found[1]).fetchone()[0]
    k = labels_per_face(conn)
    if qf.subset not in _NOT_MINE:
        where, params = _subset_where(qf, annotator, k)
        sql = f"SELECT COUNT(*) FROM face_state s WHERE {where}"
        return conn.execute(sql, params).fetchone()[0]
    # All faces of the subset minus those this annotator decided: one plain count and one
    # over the annotator's own events, instead of a look-up into the events per face.
    where, params = _subset_where(qf, annotator, k, exclude_own=False)
    mine = f"SELECT e.face_id FROM label_events e WHERE e.annotator = ? AND {STANDING_SQL}"
    sql = (
        f"SELECT (SELECT COUNT(*) FROM face_state s WHERE {where}) - "
        f"(SELECT COUNT(*) FROM face_state s WHERE {where} AND s.face_id IN ({mine}))"
    )
    return conn.execute(sql, [*params, *params, annotator]).fetchone()[0]


# Suspects in the order of ``facesift model suspects``: lowest self-confidence of
# the label the face had when the model was trained first, then by face id.
_SUSPECT_KEY = "p.self_confidence"  # never NULL out-of-fold; index predictions_queue


def _suspects_from(
    conn: sqlite3.Connection, qf: QueueFilter, annotator: str
) -> tuple[str, list[object]] | None:
    """FROM ... WHERE ... of the suspects left, or None when the dataset has no model."""
    model = latest_model_row(conn)
    if model is None:
        return None
    where, params = _subset_where(qf, annotator, model=model)
    # face_state only for a label or source filter: else the covering index answers alone.
    join = "JOIN face_state s ON s.face_id = p.face_id "
    if qf.label is None and qf.source_name is None:
        join = ""
    return f"FROM predictions p {join}WHERE p.model_id = ? AND {where}", [model.id, *params]


def _next_suspect(
    conn: sqlite3.Connection,
    qf: QueueFilter,
    annotator: str,
    after: int,
    skipped: frozenset[int],
) -> int | None:
    """The next suspect after face ``after`` in suspect order (wrapping), not skipped."""
    found = _suspects_from(conn, qf, annotator)
    if found is None:
        return None
    base, params = found
    base, params = _not_skipped("p.face_id", skipped, base, params)
    sql = (
        f"SELECT p.face_id {base} AND ({_SUSPECT_KEY}, p.face_id) > (?, ?) "
        f"ORDER BY {_SUSPECT_KEY}, p.face_id LIMIT 1"
    )
    start = (-1.0, 0)
    if after:
        key = conn.execute(
            f"SELECT {_SUSPECT_KEY} FROM predictions p WHERE p.model_id = ? AND p.face_id = ?",
            (params[0], after),
        ).fetchone()
        start = (key[0], after) if key else start
    row = conn.execute(sql, [*params, *start]).fetchone()
    if row is None and after:
        row = conn.execute(sql, [*params, -1.0, 0]).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Step:
    """One queue action this session can take back: an event, or a skip."""

    face_id: int
    event_id: int | None = None  # None: a skip


@dataclass(frozen=True)
class QueueState:
    """Where a session is in its queue."""

    filter: QueueFilter = field(default_factory=QueueFilter)
    current: int | None = None
    skipped: frozenset[int] = frozenset()
    history: tuple[Step, ...] = ()
    done: int = 0  # decisions this session

    def card(self, conn: sqlite3.Connection) -> FaceCard | None:
        """The face on show."""
        return face_card(conn, self.current) if self.current is not None else None


def start(conn: sqlite3.Connection, qf: QueueFilter, annotator: str) -> QueueState:
    """A queue at the first face of a subset."""
    return QueueState(qf, next_face_id(conn, qf, annotator))


def advance(conn: sqlite3.Connection, state: QueueState, annotator: str) -> QueueState:
    """The same queue at its next face after the current one."""
    nxt = next_face_id(conn, state.filter, annotator, state.current or 0, state.skipped)
    return replace(state, current=nxt)


def _decide(conn, state: QueueState, annotator: str, action: str, **kw) -> QueueState:
    if state.current is None:
        return state
    ev = record(conn, state.current, annotator, action, **kw)
    state = replace(
        state, history=(*state.history, Step(state.current, ev.id))[-200:], done=state.done + 1
    )
    return advance(conn, state, annotator)


def label(conn: sqlite3.Connection, state: QueueState, annotator: str, name: str) -> QueueState:
    """Label the face on show, then move on."""
    return _decide(conn, state, annotator, "label", label=name)


def reject(
    conn: sqlite3.Connection, state: QueueState, annotator: str, reason: str | None
) -> QueueState:
    """Reject the face on show, then move on."""
    return _decide(conn, state, annotator, "reject", reason=reason)


def skip(conn: sqlite3.Connection, state: QueueState, annotator: str) -> QueueState:
    """Leave the face on show for later (this session only; no event)."""
    if state.current is None:
        return state
    state = replace(
        state,
        skipped=state.skipped | {state.current},
        history=(*state.history, Step(state.current))[-200:],
    )
    return advance(conn, state, annotator)


def undo(conn: sqlite3.Connection, state: QueueState, annotator: str) -> QueueState:
    """Take back this session's last step (an event is undone by an undo event) and show its face.

    With nothing to take back in this session, the annotator's latest decision
    anywhere (e.g. from an earlier session) is undone.
    """
    if not state.history:
        ev = undo_last(conn, annotator)
        if ev is None:
            return state
        return replace(state, current=ev.face_id, done=max(state.done - 1, 0))
    step, history = state.history[-1], state.history[:-1]
    if step.event_id is None:
        return replace(
            state, current=step.face_id, skipped=state.skipped - {step.face_id}, history=history
        )
    if not is_undone(conn, step.event_id):
        record(conn, step.face_id, annotator, "undo", undoes=step.event_id)
    return replace(state, current=step.face_id, history=history, done=max(state.done - 1, 0))
