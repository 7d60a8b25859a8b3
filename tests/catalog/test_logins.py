"""The catalog's login sessions and attempts."""

from __future__ import annotations

import pytest

from catalog.logins import (
    Attempt,
    LoginSession,
    end_sessions,
    failures_since_success,
    live_session,
    open_session,
    record_attempt,
)


def test_failures_count_since_the_last_success_per_name_and_per_address(catalog):
    conn = catalog.conn
    for at, name, addr, outcome in [
        (1.0, "lee", "a", "wrong"),
        (2.0, "lee", "b", "ok"),
        (3.0, "lee", "a", "wrong"),
        (4.0, "sam", "a", "throttled"),
        (5.0, "sam", "a", "wrong"),
    ]:
        record_attempt(conn, Attempt(at, name, addr, outcome))
    assert failures_since_success(conn, "name", "lee") == (1, 3.0)
    assert failures_since_success(conn, "address", "a") == (3, 5.0)  # no success from "a"
    assert failures_since_success(conn, "name", "kim") == (0, 0.0)
    with pytest.raises(ValueError):
        failures_since_success(conn, "name; DROP TABLE x", "lee")
    with pytest.raises(ValueError):
        record_attempt(conn, Attempt(6.0, "lee", "a", "maybe"))


def test_ending_a_users_sessions_leaves_the_others(catalog):
    conn = catalog.conn
    for key, name in (("h1", "lee"), ("h2", "lee"), ("h3", "sam")):
        open_session(conn, LoginSession(key, name, "tag", "a", 0.0, 10.0))
    assert end_sessions(conn, 1.0, "password changed", "lee") == 2
    assert live_session(conn, "h1") is None and live_session(conn, "h2") is None
    assert live_session(conn, "h3").name == "sam"
