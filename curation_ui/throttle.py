"""Login throttling: growing waits after wrong passwords, per name and per client address.

After :data:`FREE_FAILURES` wrong passwords in a row (since the last success) a
name, or an address, must wait :data:`FIRST_WAIT` seconds after its latest
failure before the next try is even checked; each further failure doubles the
wait, up to :data:`MAX_WAIT`. Ten browsers guessing at once share the count of
the name and of their address, so parallel guessing gains nothing. The clock is
a parameter (tests pass a fake one); the counts are the catalog's
``login_attempts`` rows, which are also the record admins read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from catalog.logins import Attempt, failures_since_success, record_attempt

FREE_FAILURES = 5
FIRST_WAIT = 60.0  # seconds after the 5th failure in a row
MAX_WAIT = 24 * 3600.0


def wait_after(failures: int) -> float:
    """Seconds to wait after ``failures`` wrong passwords in a row (0 below the free ones)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_WAIT, FIRST_WAIT * 2.0 ** (failures - FREE_FAILURES))


@dataclass(frozen=True)
class Verdict:
    """Whether a login may be checked now, and if not for how long still."""

    wait: float  # seconds left; 0 when the password may be checked

    @property
    def allowed(self) -> bool:
        return self.wait <= 0

    def line(self) -> str:
        """The one line the login page shows while a wait lasts."""
        return f"Too many wrong passwords: try again in {_duration(self.wait)}."


def _duration(seconds: float) -> str:
    s = int(seconds + 0.999)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{(s + 59) // 60} min"
    return f"{(s + 3599) // 3600} h"


def wait_left(conn: sqlite3.Connection, key: str, value: str, now: float) -> float:
    """Seconds a name (``key="name"``) or an address must still wait at ``now``."""
    failures, last = failures_since_success(conn, key, value)
    return max(0.0, last + wait_after(failures) - now) if failures else 0.0


def verdict(conn: sqlite3.Connection, name: str, address: str, now: float) -> Verdict:
    """How long ``name`` from ``address`` must still wait at ``now`` (the longer of the two)."""
    return Verdict(
        max(wait_left(conn, "name", name, now), wait_left(conn, "address", address, now))
    )


def record(conn: sqlite3.Connection, name: str, address: str, outcome: str, now: float) -> None:
    """Record one attempt (``ok``, ``wrong`` or ``throttled``: refused unchecked while waiting)."""
    record_attempt(conn, Attempt(now, name, address, outcome))
