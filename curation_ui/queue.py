"""The label queue: one face at a time over any subset, with skip and undo.

:class:`QueueState` is a plain value the app keeps in its session; each
transition (label, reject, skip, undo) records its event and returns the next
state, so the whole queue is tested without Streamlit. The next face is the
first face of the subset after the current one (by id), wrapping around, that
this session has not skipped: two people on the same subset simply meet faces
the other has not decided yet. Which faces a subset holds, and in which order, is SQL in
:mod:`curation_ui.queries` (``queue_next_face_id``, ``queue_remaining``).

The browser holds a :func:`window` of faces (the one on show and the next ones) and
sends each key press as a :class:`Decision` naming the face that was on screen;
:func:`apply` records it for exactly that face, or refuses it with a one-line
reason (a face never served to this session, or one somebody else decided before
it reached the screen and that left the subset since).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from catalog.events import is_undone, record, undo_last
from curation_ui.queries import (
    SUBSETS,
    SUSPECTS,
    FaceCard,
    QueueFilter,
    decided_by_another_before,
    face_card,
    queue_face_is_due,
)
from curation_ui.queries import queue_next_face_id as next_face_id
from curation_ui.queries import queue_remaining as remaining

__all__ = [
    "BLIND_SUBSETS",
    "DECISIONS",
    "SUBSETS",
    "SUSPECTS",
    "Decision",
    "Outcome",
    "QueueFilter",
    "QueueState",
    "Step",
    "advance",
    "apply",
    "label",
    "next_face_id",
    "reject",
    "remaining",
    "skip",
    "start",
    "undo",
    "window",
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


def _decide(
    conn, state: QueueState, annotator: str, action: str, face_id: int | None, **kw
) -> QueueState:
    fid = state.current if face_id is None else face_id
    if fid is None:
        return state
    ev = record(conn, fid, annotator, action, **kw)
    state = replace(state, history=(*state.history, Step(fid, ev.id))[-200:], done=state.done + 1)
    return advance(conn, state, annotator) if fid == state.current else state


def label(
    conn: sqlite3.Connection,
    state: QueueState,
    annotator: str,
    name: str,
    face_id: int | None = None,
) -> QueueState:
    """Label face ``face_id`` (default: the face on show); move on when it was on show."""
    return _decide(conn, state, annotator, "label", face_id, label=name)


def reject(
    conn: sqlite3.Connection,
    state: QueueState,
    annotator: str,
    reason: str | None,
    face_id: int | None = None,
) -> QueueState:
    """Reject face ``face_id`` (default: the face on show); move on when it was on show."""
    return _decide(conn, state, annotator, "reject", face_id, reason=reason)


def skip(
    conn: sqlite3.Connection, state: QueueState, annotator: str, face_id: int | None = None
) -> QueueState:
    """Leave a face (default: the face on show) for later (this session only; no event)."""
    fid = state.current if face_id is None else face_id
    if fid is None:
        return state
    state = replace(
        state, skipped=state.skipped | {fid}, history=(*state.history, Step(fid))[-200:]
    )
    return advance(conn, state, annotator) if fid == state.current else state


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


def decided_here(state: QueueState) -> frozenset[int]:
    """The faces this session decided (an event, not a skip) and did not take back."""
    return frozenset(step.face_id for step in state.history if step.event_id is not None)


def window(
    conn: sqlite3.Connection, state: QueueState, annotator: str, ahead: int = 8
) -> list[int]:
    """The face on show and the next ``ahead`` faces of the subset, in queue order.

    Faces skipped or decided in this session are left out (the browser shows each
    face once); the face on show is first even when it has left the subset meanwhile.
    """
    ids = [] if state.current is None else [state.current]
    leave_out = set(state.skipped) | set(decided_here(state)) | set(ids)
    after = state.current or 0
    while len(ids) <= ahead:
        nxt = next_face_id(conn, state.filter, annotator, after, frozenset(leave_out))
        if nxt is None:
            break
        ids.append(nxt)
        leave_out.add(nxt)
        after = nxt
    return ids


DECISIONS = ("label", "reject", "skip", "undo")


@dataclass(frozen=True)
class Decision:
    """One key press as the browser sends it: the face that was on screen and what to do.

    ``seq`` numbers the presses of a browser session (the server applies each once);
    ``shown_at`` is when the face appeared on screen, in server time (ISO, as
    ``label_events.created_at``), when the browser said.
    """

    seq: int
    face_id: int | None
    action: str
    label: str | None = None
    reason: str | None = None
    shown_at: str | None = None

    @classmethod
    def from_message(cls, raw: object) -> Decision | None:
        """A decision from the component's message, or None when it is not one."""
        if not isinstance(raw, Mapping):
            return None
        seq, face, action = raw.get("seq"), raw.get("face"), raw.get("action")
        if not isinstance(seq, int) or isinstance(seq, bool) or action not in DECISIONS:
            return None
        if face is not None and (not isinstance(face, int) or isinstance(face, bool)):
            return None
        if face is None and action != "undo":
            return None
        label, reason = raw.get("label"), raw.get("reason")
        shown = raw.get("shown_ms")
        shown_at = None
        if isinstance(shown, int | float) and not isinstance(shown, bool) and shown > 0:
            when = datetime.fromtimestamp(shown / 1000, UTC)
            shown_at = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return cls(
            seq,
            face,
            action,
            label if isinstance(label, str) else None,
            reason if isinstance(reason, str) else None,
            shown_at,
        )


@dataclass(frozen=True)
class Outcome:
    """What :func:`apply` did: the next state, and a one-line reason when it refused."""

    state: QueueState
    refused: str | None = None
    undone: int | None = None  # the face an undo showed again


def apply(
    conn: sqlite3.Connection,
    state: QueueState,
    annotator: str,
    d: Decision,
    served: Collection[int],
) -> Outcome:
    """Apply one decision to exactly the face it names, or refuse it (one line).

    Refused: a face this session was never served, and a face somebody else decided
    before it reached this screen and that has left the subset since. Two people
    deciding a face both had on screen are both recorded (the votes settle it).
    Undo takes back this session's last step (see :func:`undo`).
    """
    if d.action == "undo":
        undone = undo(conn, state, annotator)
        if undone is state:
            return Outcome(state, "Nothing to undo.")
        return Outcome(undone, undone=undone.current)
    fid = d.face_id
    if fid not in served:
        return Outcome(state, f"Not recorded: face #{fid} was never shown in this session.")
    if d.action == "skip":
        return Outcome(skip(conn, state, annotator, fid))
    if d.shown_at is not None and not queue_face_is_due(conn, state.filter, annotator, fid):
        who = decided_by_another_before(conn, fid, annotator, d.shown_at)
        if who is not None:
            return Outcome(
                state, f"Not recorded: face #{fid} was decided by {who} before you saw it."
            )
    if d.action == "label":
        return Outcome(label(conn, state, annotator, d.label or "", fid))
    return Outcome(reject(conn, state, annotator, d.reason or "not_a_face", fid))
