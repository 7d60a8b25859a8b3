"""The Logins page: admins read every login attempt and who must wait."""

from __future__ import annotations

import time

from catalog.logins import Attempt, record_attempt
from tests.curation_ui.conftest import open_page


def test_admins_see_the_attempts_and_who_must_wait(app_env):
    conn = app_env.cat.conn
    now = time.time()
    for i in range(5):
        record_attempt(conn, Attempt(now - 10 + i, "lee", "203.0.113.9", "wrong"))
    record_attempt(conn, Attempt(now, "sam", "198.51.100.4", "ok"))
    at = open_page("logins")  # on loopback without accounts, the one user is an admin
    assert not at.exception and at.header[0].value == "Logins"
    waiting, attempts = (f.value for f in at.dataframe)
    assert set(waiting["who"]) == {"name lee", "address 203.0.113.9"}
    assert all("try again in" in w for w in waiting["waits"])
    assert list(attempts["outcome"][:2]) == ["logged in", "wrong password"]
    assert attempts["address"][0] == "198.51.100.4" and len(attempts) == 6
