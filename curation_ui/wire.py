"""Just enough of Streamlit's websocket messages (protobuf) for the gateway to read two
things: the session id a new session is given, and whether a browser's message asks
to clear the app's caches.

A tiny reader of the protobuf wire format, not Streamlit's generated classes:
importing those imports all of Streamlit into the gateway. The field numbers are
Streamlit's (``ForwardMsg.proto``, ``NewSession.proto``, ``BackMsg.proto``);
``tests/curation_ui/test_wire.py`` checks them against the installed Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterator

FORWARD_NEW_SESSION = 4  # ForwardMsg.new_session
NEW_SESSION_INITIALIZE = 1  # NewSession.initialize
INITIALIZE_SESSION_ID = 6  # Initialize.session_id
BACK_CLEAR_CACHE = 5  # BackMsg.clear_cache


class WireError(ValueError):
    """Bytes that are not a protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("truncated varint")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each top-level field: an int for varints and fixed
    numbers, the bytes for length-delimited fields (strings, sub-messages)."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, pos = _varint(data, pos)
        elif kind in (1, 5):
            size = 8 if kind == 1 else 4
            value, pos = int.from_bytes(data[pos : pos + size], "little"), pos + size
        elif kind == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        else:
            raise WireError(f"unsupported wire type {kind}")
        if pos > len(data):
            raise WireError("truncated field")
        yield number, value


def _field(data: bytes, number: int) -> bytes | None:
    for n, value in fields(data):
        if n == number and isinstance(value, bytes):
            return value
    return None


def new_session_id(forward_msg: bytes) -> str | None:
    """The session id a ``new_session`` ForwardMsg announces; None for any other message."""
    try:
        new = _field(forward_msg, FORWARD_NEW_SESSION)
        init = _field(new, NEW_SESSION_INITIALIZE) if new is not None else None
        sid = _field(init, INITIALIZE_SESSION_ID) if init is not None else None
        return sid.decode("utf-8") if sid else None
    except (WireError, UnicodeDecodeError):
        return None


def asks_clear_cache(back_msg: bytes) -> bool:
    """Whether a browser's BackMsg is ``clear_cache`` (or cannot be read at all)."""
    try:
        return any(n == BACK_CLEAR_CACHE for n, _ in fields(back_msg))
    except WireError:
        return True  # not a message Streamlit would parse either: dropped
