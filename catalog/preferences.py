"""Per-annotator preferences kept in the dataset's catalog (``meta`` keys), so they follow
the annotator from session to session and machine to machine.

A key is ``pref:<name>:<annotator>``: the preference's name has no colon, the
annotator's name is everything after it.
"""

from __future__ import annotations

import sqlite3

from catalog.db import transaction
from catalog.settings import get_value, put_value

SHOW_MODEL_TOP3 = "show_model_top3"  # the Label queue's model guesses (off by default)


def _key(name: str, annotator: str) -> str:
    if not name or ":" in name:
        raise ValueError(f"bad preference name {name!r}")
    return f"pref:{name}:{annotator}"


def get_flag(conn: sqlite3.Connection, annotator: str, name: str, default: bool = False) -> bool:
    """An annotator's on/off preference, or ``default`` when never set."""
    value = get_value(conn, _key(name, annotator))
    return default if value is None else value == "1"


def set_flag(conn: sqlite3.Connection, annotator: str, name: str, on: bool) -> None:
    """Remember an annotator's on/off preference."""
    with transaction(conn):
        put_value(conn, _key(name, annotator), "1" if on else "0")
