"""The gateway's logins and sessions, without the web server: what ``curation_ui/gateway.py``
asks on every request.

A login checks the password against the accounts file (``curation_ui/accounts.py``,
its scrypt hashes) after the throttle (``curation_ui/throttle.py``) allowed it,
and opens a session: a random token for the cookie, of which the catalog keeps
only a hash, the user, and a tag of the password hash it was opened with. Every
request checks its session again: ended (logged out), expired, the user removed
or the password changed (the tag no longer matches the accounts file) -> refused,
and the session is ended for good. The clock is a parameter, for tests.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from catalog.logins import LoginSession, end_session, end_sessions, live_session, open_session
from curation_ui import throttle
from curation_ui.accounts import Account, load_accounts

SESSION_SECONDS = 12 * 3600


def token_hash(token: str) -> str:
    """What the catalog keeps of a session's token (never the token itself)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def password_tag(acc: Account) -> str:
    """A short tag of an account's password hash: it changes when the password does."""
    return hashlib.sha256(acc.password_hash.encode("ascii")).hexdigest()[:16]


@dataclass(frozen=True)
class GateUser:
    """The user of a live gateway session."""

    name: str
    role: str
    session: str  # the session's token hash: the key of its row

    @property
    def session_tag(self) -> str:
        """A public name of the session (told to the app; not enough to forge the cookie)."""
        return self.session[:16]


class Gate:
    """Logins and session checks on one catalog connection and one accounts file."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        auth_file: Path,
        *,
        clock: Callable[[], float] = time.time,
        session_seconds: float = SESSION_SECONDS,
    ) -> None:
        self.conn = conn
        self.auth_file = Path(auth_file)
        self.clock = clock
        self.session_seconds = session_seconds
        self._accounts: tuple[tuple[int, int, int] | None, dict[str, Account]] = (None, {})

    def accounts(self) -> dict[str, Account]:
        """The accounts file's users, read again only when the file changed."""
        try:
            st = os.stat(self.auth_file)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            return {}
        if key != self._accounts[0]:
            self._accounts = (key, load_accounts(self.auth_file))
        return self._accounts[1]

    def may_try(self, name: str, address: str) -> throttle.Verdict:
        """Whether a login may be checked now; a refused try is recorded as ``throttled``."""
        now = self.clock()
        v = throttle.verdict(self.conn, name, address, now)
        if not v.allowed:
            throttle.record(self.conn, name, address, "throttled", now)
        return v

    def finish_login(self, name: str, address: str, acc: Account | None) -> str | None:
        """Record the outcome of a checked password; the new session's token when right."""
        now = self.clock()
        if acc is None:
            throttle.record(self.conn, name, address, "wrong", now)
            return None
        throttle.record(self.conn, acc.name, address, "ok", now)
        token = secrets.token_urlsafe(32)
        open_session(
            self.conn,
            LoginSession(
                token_hash(token),
                acc.name,
                password_tag(acc),
                address,
                now,
                now + self.session_seconds,
            ),
        )
        return token

    def check(self, token: str | None) -> GateUser | None:
        """The user of the session ``token`` opened, or None (and the session ended) when it
        was logged out, expired, or its user was removed or changed password since."""
        if not token:
            return None
        key = token_hash(token)
        s = live_session(self.conn, key)
        if s is None:
            return None
        acc = self.accounts().get(s.name)
        now = self.clock()
        why = (
            "expired"
            if now >= s.expires_at
            else "user removed"
            if acc is None
            else "password changed"
            if password_tag(acc) != s.password_tag
            else None
        )
        if why or acc is None:
            end_session(self.conn, key, now, why or "user removed")
            return None
        return GateUser(acc.name, acc.role, key)

    def log_out(self, user: GateUser) -> int:
        """End every session of the user: logging out on one computer also ends the one
        left open on another (as a password change does). Returns how many were open."""
        return end_sessions(self.conn, self.clock(), "logged out", name=user.name)

    def end_all(self, why: str) -> int:
        """End every open session (a gateway that starts: its cookies' key is new)."""
        return end_sessions(self.conn, self.clock(), why)
