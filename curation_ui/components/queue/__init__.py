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

import base64
from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

NAME = "facesift_queue"
HERE = Path(__file__).parent
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}

__all__ = ["data_url", "message", "queue_component"]


@cache
def _renderer():
    return st.components.v2.component(
        NAME,
        js=(HERE / "queue.js").read_text(encoding="utf-8"),
        css=(HERE / "queue.css").read_text(encoding="utf-8"),
        isolate_styles=False,  # in the page's DOM: its text is the page's text
    )


def _ignore() -> None:
    """The message is read by the page's run itself (a callback is what makes it state)."""


def queue_component(data: dict[str, Any], *, key: str) -> None:
    """Mount the queue with ``data`` (see ``curation_ui.views.queue``)."""
    _renderer()(key=key, data=data, on_msg_change=_ignore, height="content")


def message(raw: object) -> dict | None:
    """The component's message in its state (``st.session_state[key]``), if any."""
    if not isinstance(raw, dict):
        return None
    msg = raw.get("msg")
    return msg if isinstance(msg, dict) else None


def data_url(path: Path) -> str | None:
    """A chip as a ``data:`` URL (None when unreadable)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"
