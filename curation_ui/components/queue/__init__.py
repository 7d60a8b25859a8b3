"""The Label queue as a Streamlit component (``st.components.v2``): a hand-written
``queue.js`` and ``queue.css`` read from this folder and served by Streamlit itself
(no build step, nothing from a CDN).

The page passes the window of faces (the one on show and the next ones, each with its
chip as a ``data:`` URL) and the component returns its message: the outbox of
decisions the server has not acknowledged yet, each naming the face that was on
screen, and the face on screen now. AppTest cannot run the component's JavaScript:
``testing`` (next to this file) sends such messages and reads what the component got.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation_ui.components import Component, data_url, message, unapplied

_COMPONENT = Component("facesift_queue", Path(__file__).parent, "queue")

__all__ = ["data_url", "message", "queue_component", "unapplied"]


def queue_component(data: dict[str, Any], *, key: str) -> None:
    """Mount the queue with ``data`` (see ``curation_ui.views.queue``)."""
    _COMPONENT.mount(data, key=key)
