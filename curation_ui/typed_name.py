"""The name typed for a session where there are no accounts (loopback, one person or a trusted few).

It is asked for once and kept in the URL, so that a reload does not ask again.
"""

from __future__ import annotations

import re

import streamlit as st

ANNOTATOR = "annotator"
_NAME = re.compile(r"^[\w .@'-]{1,64}$")


def valid_annotator(name: str | None) -> str | None:
    """A cleaned annotator name, or None when it is empty or has odd characters."""
    name = (name or "").strip()
    return name if _NAME.match(name) else None


def typed_name(*, ask: bool) -> str | None:
    """The name typed for this session (kept in the URL); ``ask``: prompt and stop without one."""
    name = valid_annotator(st.session_state.get(ANNOTATOR))
    if name:
        return name
    from_url = valid_annotator(st.query_params.get(ANNOTATOR))
    if from_url:
        st.session_state[ANNOTATOR] = from_url
        return from_url
    if not ask:
        return None
    st.title("facesift review")
    with st.form("who"):
        typed = st.text_input(
            "Your name (recorded with every label you give)", max_chars=64, key="who_name"
        )
        go = st.form_submit_button("Start reviewing")
    if go:
        name = valid_annotator(typed)
        if name:
            st.session_state[ANNOTATOR] = name
            st.query_params[ANNOTATOR] = name
            st.rerun()
        st.error("Give a name of letters, digits, spaces, '.', '-', '@' or '_' (64 at most).")
    st.stop()
    raise AssertionError("unreachable")


def forget_name() -> None:
    """Forget the typed name (the sidebar's *Change name*)."""
    st.session_state.pop(ANNOTATOR, None)
    st.query_params.pop(ANNOTATOR, None)
