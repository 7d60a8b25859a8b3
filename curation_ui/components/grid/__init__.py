"""The review grid as a Streamlit component (``st.components.v2``): a hand-written
``grid.js`` and ``grid.css`` read from this folder and served by Streamlit itself
(no build step, nothing from a CDN).

The page passes one page of faces (each with its thumbnail as a ``data:`` URL
unless the browser holds it already) and the action bar's choices. Ticking a face
and moving the focus ring happen in the browser only; an action (reject marked,
relabel marked, accept the rest, undo) comes back as the component's message: an
outbox of actions, each naming the faces that were on screen and the ones ticked.
AppTest cannot run the component's JavaScript: ``testing`` (next to this file)
sends such messages and reads what the component got.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

from curation_ui.components.queue import data_url

NAME = "facesift_grid"
HERE = Path(__file__).parent

__all__ = ["data_url", "grid_component", "message"]


@cache
def _renderer():
    return st.components.v2.component(
        NAME,
        js=(HERE / "grid.js").read_text(encoding="utf-8"),
        css=(HERE / "grid.css").read_text(encoding="utf-8"),
        isolate_styles=False,  # in the page's DOM: its text is the page's text
    )


def _ignore() -> None:
    """The message is read by the page's run itself (a callback is what makes it state)."""


def grid_component(data: dict[str, Any], *, key: str) -> None:
    """Mount the grid with ``data`` (see ``curation_ui.views.review``)."""
    _renderer()(key=key, data=data, on_msg_change=_ignore, height="content")


def message(raw: object) -> dict | None:
    """The component's message in its state (``st.session_state[key]``), if any."""
    if not isinstance(raw, dict):
        return None
    msg = raw.get("msg")
    return msg if isinstance(msg, dict) else None
