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

from pathlib import Path
from typing import Any

from curation_ui.components import Component, data_url, message, unapplied

_COMPONENT = Component("facesift_grid", Path(__file__).parent, "grid")

__all__ = ["data_url", "grid_component", "message", "unapplied"]


def grid_component(data: dict[str, Any], *, key: str) -> None:
    """Mount the grid with ``data`` (see ``curation_ui.views.review``)."""
    _COMPONENT.mount(data, key=key)
