"""The label queue: one face at a time over any subset, with skip and undo.

:class:`QueueState` is a plain value the app keeps in its session; each
transition (label, reject, skip, undo) records its event and returns the next
state, so the whole queue is tested without Streamlit. The next face is the
first face of the subset after the current one (by id), wrapping around, that
this session has not skipped: two people on the same subset simply meet faces
the other has not decided yet. Which faces a subset holds, and in which order, is SQL in
:mod:`curation_ui.queries` (``queue_next_face_id``, ``queue_remaining``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace

from catalog.events import is_undone, record, undo_last
from curation_ui.queries import SUBSETS, SUSPECTS, FaceCard, QueueFilter, face_card
from curation_ui.queries import queue_next_face_id as next_face_id
from curation_ui.queries import queue_remaining as remaining

__all__ = [
    "BLIND_SUBSETS",
    "SUBSETS",
    "SUSPECTS",
    "QueueFilter",
    "QueueState",
    "Step",
    "advance",
    "label",
    "next_face_id",
    "reject",
    "remaining",
    "skip",
    "start",
    "undo",
]

# Subsets that must not show the face's current label (or whether others disagree):
# a second opinion is independent only if the annotator cannot see the first.
BLIND_SUBSETS = frozenset({"second"})


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
