"""For AppTest (which cannot run the component's JavaScript): send what the browser
sends on a key press, and read the data the page gave the component."""

from __future__ import annotations

from typing import Any

from curation_ui.components.testing import component_data, next_seq

KEY = "q_face"  # curation_ui.views.queue.COMPONENT


def view(at) -> dict[str, Any]:
    """The data the Label queue page gave its component on the last run."""
    return component_data(at)


def face_on_show(at) -> int | None:
    """The first face of the window the component was given (None when empty)."""
    faces = view(at)["faces"]
    return faces[0]["id"] if faces else None


def send(at, *decisions: dict, shown: int | None = None, epoch: int | None = None):
    """The component's message carrying ``decisions`` (sequence numbers as given); runs ``at``."""
    mid = max((d["seq"] for d in decisions), default=0)
    msg = {"outbox": list(decisions), "shown": shown, "epoch": epoch, "mid": mid}
    at.session_state[KEY] = {"msg": msg}
    return at.run()


def press(at, action: str, label: str | None = None, *, face: int | None = None, **extra):
    """One key press on ``face`` (default: the face the page holds as on show); runs ``at``.

    ``action`` is label, reject, skip or undo; the sequence number follows the last one
    the page applied. ``extra`` goes into the decision as is (e.g. ``reason``, ``shown_ms``).
    """
    seq = next_seq(at, "q_acked")
    if face is None and action != "undo":
        face = at.session_state["q_state"].current
    if action == "reject" and "reason" not in extra and "q_reason" in at.session_state:
        extra["reason"] = at.session_state["q_reason"]  # the reason the page showed
    return send(at, {"seq": seq, "face": face, "action": action, "label": label, **extra})
