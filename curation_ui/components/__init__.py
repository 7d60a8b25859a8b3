"""Custom Streamlit components of the review app (hand-written HTML/JS, served locally).

Each component is a folder with ``<name>.js`` and ``<name>.css`` (the script after
``common/common.js``, the helpers they share), mounted through
``st.components.v2`` by :class:`Component`; the page reads what the browser sent back
(its message) from the component's state on its own run.
"""

from __future__ import annotations

import base64
from functools import cached_property
from pathlib import Path
from typing import Any

import streamlit as st

COMMON = Path(__file__).parent / "common"  # the script every component begins with
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


def _ignore() -> None:
    """The message is read by the page's run itself (a callback is what makes it state)."""


class Component:
    """One component: its registered name and the folder holding ``<stem>.js|css``."""

    def __init__(self, name: str, folder: Path, stem: str):
        self.name, self.folder, self.stem = name, folder, stem

    @cached_property
    def _renderer(self):
        common = (COMMON / "common.js").read_text(encoding="utf-8")  # el(), sendSoon()
        return st.components.v2.component(
            self.name,
            js=common + (self.folder / f"{self.stem}.js").read_text(encoding="utf-8"),
            css=(self.folder / f"{self.stem}.css").read_text(encoding="utf-8"),
            isolate_styles=False,  # in the page's DOM: its text is the page's text
        )

    def mount(self, data: dict[str, Any], *, key: str) -> None:
        """Mount the component with ``data``; its message comes back in its state."""
        self._renderer(key=key, data=data, on_msg_change=_ignore, height="content")


def message(raw: object) -> dict | None:
    """A component's message in its state (``st.session_state[key]``), if any."""
    if not isinstance(raw, dict):
        return None
    msg = raw.get("msg")
    return msg if isinstance(msg, dict) else None


def unapplied(raw: object, acked: int) -> list[dict]:
    """The entries of a component's outbox (in its state ``raw``) with a sequence number
    above ``acked`` (not applied yet), in order."""
    msg = message(raw) or {}
    box = msg.get("outbox")
    todo = [
        d
        for d in (box if isinstance(box, list) else [])
        if isinstance(d, dict)
        and isinstance(d.get("seq"), int)
        and not isinstance(d.get("seq"), bool)
        and d["seq"] > acked
    ]
    return sorted(todo, key=lambda d: d["seq"])


def data_url(path: Path) -> str | None:
    """A chip as a ``data:`` URL (None when unreadable)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"
