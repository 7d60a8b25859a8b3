"""For AppTest (which cannot run the component's JavaScript): send what the browser
sends on an action, and read the page of faces the page gave the component."""

from __future__ import annotations

from typing import Any

from curation_ui.components.testing import component_data, next_seq

KEY = "rv_grid"  # curation_ui.views.review.COMPONENT


def view(at) -> dict[str, Any]:
    """The data the review page gave its grid component on the last run."""
    return component_data(at)


def faces(at) -> list[dict[str, Any]]:
    """The faces on the page, in grid order (each: id, name, caption, detail, src, open)."""
    return view(at)["faces"]


def open_ids(at) -> list[int]:
    """The faces on the page that can still be ticked (they still match the filters)."""
    return [f["id"] for f in faces(at) if f["open"]]


def send(at, *actions: dict):
    """The component's message carrying ``actions`` (sequence numbers as given); runs ``at``."""
    mid = max((a["seq"] for a in actions), default=0)
    at.session_state[KEY] = {"msg": {"outbox": list(actions), "have": [], "mid": mid}}
    return at.run()


def act(
    at,
    action: str,
    marked: list[int] = (),
    *,
    shown: list[int] | None = None,
    reason: str | None = None,
    label: str | None = None,
):
    """One action as the browser sends it (default: every face of the page on screen);
    runs ``at``. ``action`` is reject, relabel, accept_rest or undo."""
    seq = next_seq(at, "rv_acked")
    data = view(at)
    if shown is None:
        shown = [f["id"] for f in data["faces"]]
    return send(
        at,
        {
            "seq": seq,
            "action": action,
            "layout": data["layout"],
            "shown": list(shown),
            "marked": list(marked),
            "reason": reason if reason is not None else data["reason"],
            "label": label,
        },
    )
