"""Login throttling and gateway sessions with a fake clock: the waits grow, every attempt
is recorded, and a session ends with its logout, password or user."""

from __future__ import annotations

import pytest

from catalog.logins import recent_attempts
from curation_ui import throttle
from curation_ui.accounts import add_user, authenticate, remove_user
from curation_ui.gate_auth import Gate

PW = "right-password"


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gate(catalog, tmp_path):
    auth = tmp_path / "users.toml"
    add_user(auth, "lee", PW, admin=True)
    add_user(auth, "sam", PW)
    return Gate(catalog.conn, auth, clock=Clock(), session_seconds=3600)


def attempt(gate: Gate, name: str, password: str, address: str = "10.0.0.1") -> str:
    """One login as the gateway runs it: 'throttled', 'wrong' or 'ok'."""
    if not gate.may_try(name, address).allowed:
        return "throttled"
    acc = authenticate(gate.accounts(), name, password)
    return "ok" if gate.finish_login(name, address, acc) else "wrong"


def test_the_wait_after_wrong_passwords_grows_and_doubles(gate):
    clock = gate.clock
    for _ in range(throttle.FREE_FAILURES):
        assert attempt(gate, "lee", "guess") == "wrong"
    waits = []
    for _ in range(4):
        # Not even the right password is checked while the wait lasts.
        assert attempt(gate, "lee", PW) == "throttled"
        wait = gate.may_try("lee", "10.0.0.1").wait
        waits.append(wait)
        clock.now += wait - 1
        assert attempt(gate, "lee", PW) == "throttled"
        clock.now += 1
        assert attempt(gate, "lee", "guess") == "wrong"  # the next try is checked, and wrong
    assert waits == [60.0, 120.0, 240.0, 480.0]
    clock.now += 10_000
    assert attempt(gate, "lee", PW) == "ok"
    assert gate.may_try("lee", "10.0.0.1").wait == 0  # a success starts the count again


def test_parallel_guessing_shares_the_count_of_the_name_and_of_the_address(gate):
    # Five guesses from five addresses at the same instant: the name waits everywhere.
    for i in range(5):
        assert attempt(gate, "sam", "guess", f"10.0.1.{i}") == "wrong"
    assert attempt(gate, "sam", PW, "10.0.2.1") == "throttled"
    # One address guessing five names: the address waits, for any name.
    for name in ("a", "b", "c", "d", "e"):
        assert attempt(gate, name, "guess", "10.9.9.9") == "wrong"
    assert attempt(gate, "lee", PW, "10.9.9.9") == "throttled"
    assert attempt(gate, "lee", PW, "10.8.8.8") == "ok"


def test_every_attempt_is_recorded_with_time_and_address(gate):
    gate.clock.now = 5000.0
    attempt(gate, "lee", "guess", "192.0.2.7")
    gate.clock.now = 5001.0
    attempt(gate, "lee", PW, "192.0.2.7")
    rows = recent_attempts(gate.conn)
    got = [(a.at, a.name, a.address, a.outcome) for a in rows]
    assert got == [(5001.0, "lee", "192.0.2.7", "ok"), (5000.0, "lee", "192.0.2.7", "wrong")]
    assert "try again in 60 s" in throttle.Verdict(59.2).line()
    assert "try again in 4 min" in throttle.Verdict(240).line()


def test_a_session_ends_with_logout_password_change_removal_or_expiry(gate):
    def login(name: str) -> str:
        token = gate.finish_login(name, "10.0.0.1", gate.accounts()[name])
        assert gate.check(token).name == name
        return token

    one, two = login("sam"), login("sam")
    add_user(gate.auth_file, "sam", "another-password")  # `facesift user add sam` again
    assert gate.check(one) is None and gate.check(two) is None
    here, elsewhere, other = login("sam"), login("sam"), login("lee")
    assert gate.log_out(gate.check(here)) == 2
    assert gate.check(here) is None and gate.check(elsewhere) is None  # every session of sam
    assert gate.check(other).name == "lee"  # and nobody else's
    assert gate.log_out(gate.check(other)) == 1
    token = login("sam")
    remove_user(gate.auth_file, "sam")
    assert gate.check(token) is None
    token = login("lee")
    gate.clock.now += 3600
    assert gate.check(token) is None  # expired
    assert gate.check("forged-token") is None and gate.check(None) is None
    token = login("lee")
    assert gate.end_all("restart") == 1 and gate.check(token) is None
