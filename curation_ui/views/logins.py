"""Logins (admins only): every login attempt through the gateway, with its time, the
name typed, the client's address and what came of it; the names and addresses
that must wait now."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import streamlit as st

from catalog.logins import recent_attempts
from curation_ui import session, throttle

SHOWN = 500
OUTCOMES = {"ok": "logged in", "wrong": "wrong password", "throttled": "refused: waiting"}


def render() -> None:
    """The Logins page."""
    cat = session.catalog()
    st.header("Logins")
    attempts = recent_attempts(cat.conn, SHOWN)
    if not attempts:
        st.info("No login yet: logins are recorded when `facesift review` serves with accounts.")
        return
    now = time.time()
    waiting = []
    for key in ("name", "address"):
        for value in sorted({getattr(a, key) for a in attempts}):
            v = throttle.Verdict(throttle.wait_left(cat.conn, key, value, now))
            if not v.allowed:
                waiting.append({"who": f"{key} {value}", "waits": v.line()})
    if waiting:
        st.warning(f"{len(waiting)} name(s) or address(es) must wait before their next try.")
        st.dataframe(waiting, hide_index=True, width="stretch")
    st.caption(f"The latest {min(len(attempts), SHOWN)} attempts, newest first (times in UTC).")
    st.dataframe(
        [
            {
                "time": datetime.fromtimestamp(a.at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "name": a.name,
                "address": a.address,
                "outcome": OUTCOMES.get(a.outcome, a.outcome),
            }
            for a in attempts
        ],
        hide_index=True,
        width="stretch",
    )
