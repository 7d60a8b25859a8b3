"""For AppTest (which cannot run a component's JavaScript): what every component's test
helpers need, the data a page gave its component and the next sequence number."""

from __future__ import annotations

import json
from typing import Any


def component_data(at) -> dict[str, Any]:
    """The data the page gave its (one) component on the last run."""
    (el,) = at.get("bidi_component")
    proto = el.proto
    raw = proto.json if proto.WhichOneof("data") == "json" else proto.mixed.json
    return json.loads(raw)


def next_seq(at, acked_key: str) -> int:
    """The sequence number after the last one the page applied (kept under ``acked_key``)."""
    try:
        return at.session_state[acked_key] + 1
    except KeyError:
        return 1
