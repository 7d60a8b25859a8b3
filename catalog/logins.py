"""The review gateway's login sessions and login attempts (tables ``login_sessions``,
``login_attempts``).

A session row holds only a hash of its cookie's token, the user, a tag of the
password hash it was opened with (a password change makes the tag stale) and its
expiry; ending it sets ``ended_at``. Every login attempt is a row with its time,
the name typed, the client's address and its outcome; the throttle counts the
failures since the last success, per name and per address.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from catalog.db import transaction

ATTEMPT_OUTCOMES = ("ok", "wrong", "throttled")
KEYS = ("name", "address")  # what the throttle counts failures by


@dataclass(frozen=True)
class LoginSession:
    """One open gateway session."""

    token_hash: str
    name: str
    password_tag: str
    address: str
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class Attempt:
    """One login attempt, as admins see it."""

    at: float
    name: str
    address: str
    outcome: str


def open_session(conn: sqlite3.Connection, s: LoginSession) -> None:
    """Record a new session."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO login_sessions (token_hash, name, password_tag, address, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (s.token_hash, s.name, s.password_tag, s.address, s.created_at, s.expires_at),
        )


def live_session(conn: sqlite3.Connection, token_hash: str) -> LoginSession | None:
    """The session of ``token_hash`` unless it was ended (expiry is the caller's to check)."""
    row = conn.execute(
        "SELECT token_hash, name, password_tag, address, created_at, expires_at "
        "FROM login_sessions WHERE token_hash = ? AND ended_at IS NULL",
        (token_hash,),
    ).fetchone()
    return LoginSession(*row) if row else None


def end_session(conn: sqlite3.Connection, token_hash: str, now: float, why: str) -> None:
    """End one session (idempotent)."""
    with transaction(conn):
        conn.execute(
            "UPDATE login_sessions SET ended_at = ?, ended_why = ? "
            "WHERE token_hash = ? AND ended_at IS NULL",
            (now, why, token_hash),
        )


def end_sessions(conn: sqlite3.Connection, now: float, why: str, name: str | None = None) -> int:
    """End every open session of ``name`` (of everybody when None); how many were open."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE login_sessions SET ended_at = ?, ended_why = ? "
            "WHERE ended_at IS NULL AND (? IS NULL OR name = ?)",
            (now, why, name, name),
        )
    return cur.rowcount


def record_attempt(conn: sqlite3.Connection, a: Attempt) -> None:
    """Append one login attempt."""
    if a.outcome not in ATTEMPT_OUTCOMES:
        raise ValueError(f"unknown login outcome {a.outcome!r}")
    with transaction(conn):
        conn.execute(
            "INSERT INTO login_attempts (at, name, address, outcome) VALUES (?, ?, ?, ?)",
            (a.at, a.name, a.address, a.outcome),
        )


def failures_since_success(conn: sqlite3.Connection, key: str, value: str) -> tuple[int, float]:
    """Wrong passwords for a name (``key="name"``) or an address since its last success:
    (how many, time of the last one; 0.0 when none)."""
    if key not in KEYS:
        raise ValueError(f"failures are counted by {KEYS}, not {key!r}")
    row = conn.execute(
        f"SELECT count(*), coalesce(max(at), 0.0) FROM login_attempts "  # key is one of KEYS
        f"WHERE {key} = ? AND outcome = 'wrong' AND id > coalesce("
        f"(SELECT max(id) FROM login_attempts WHERE {key} = ? AND outcome = 'ok'), 0)",
        (value, value),
    ).fetchone()
    return int(row[0]), float(row[1])


def recent_attempts(conn: sqlite3.Connection, limit: int = 200) -> list[Attempt]:
    """The latest login attempts, newest first."""
    rows = conn.execute(
        "SELECT at, name, address, outcome FROM login_attempts ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [Attempt(*r) for r in rows]
