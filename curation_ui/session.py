"""Per-session state of the app: the catalog connection and the annotator's name.

Each browser session opens its own catalog connection (SQLite connections are
not shared across sessions' threads). With accounts, the name is the login
(``curation_ui.login``); without, on loopback, it is asked for once and kept in
the URL so that a reload does not ask again.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import streamlit as st

from catalog import Catalog
from catalog.dataset import DEFAULT_DATASET, DEFAULT_ROOT, DatasetError
from catalog.db import SHOWN_ERRORS, error_line
from curation_ui.gate_page import LOGOUT_PATH
from curation_ui.launch import ENV_DATASET, ENV_ROOT
from curation_ui.login import current_user, gated, has_login, known_user, log_out
from curation_ui.typed_name import forget_name

P = ParamSpec("P")
T = TypeVar("T")

_CATALOG = "_facesift_catalog"


def catalog() -> Catalog:
    """This session's catalog (the dataset named by FACESIFT_ROOT / FACESIFT_DATASET)."""
    cat = st.session_state.get(_CATALOG)
    if cat is None:
        root = os.environ.get(ENV_ROOT, str(DEFAULT_ROOT))
        name = os.environ.get(ENV_DATASET, DEFAULT_DATASET)
        try:
            cat = Catalog.open(root, name, create=False)
        except DatasetError as e:
            st.error(str(e))
            st.stop()
        st.session_state[_CATALOG] = cat
    return cat


_REFUSALS: list[Callable[[], str | None]] = []


def refused_when_logged_out(refuse: Callable[[], str | None]) -> Callable[[], str | None]:
    """Register ``refuse`` (a decorator): when this session has lost its login (expired,
    logged out, the account removed), it refuses what the browser had queued and not yet
    had applied (it must not wait for the next login, maybe of someone else) and returns
    the one line saying so, shown in red above the login form."""
    _REFUSALS.append(refuse)
    return refuse


def user():
    """This session's user (name and role); asks for a login or a name and stops when unknown."""
    cat = catalog()
    if known_user(cat) is None:
        for refuse in _REFUSALS:
            line = refuse()
            if line:
                st.error(line)
    return current_user(cat)


def annotator() -> str:
    """The name on this session's label events: the login, or the typed name on loopback."""
    return user().name


def sidebar(cat: Catalog, who) -> None:
    """Who and what: the dataset and the user, with a way to log out or change the name."""
    name = getattr(who, "name", who)
    role = getattr(who, "role", None)
    with st.sidebar:
        st.caption(f"dataset: {cat.paths.name}")
        st.caption(f"annotator: {name}" + (f" ({role})" if role and has_login(cat) else ""))
        if gated():  # the gateway ends the session (and its cookie)
            link = f'<a href="{LOGOUT_PATH}" target="_self">Log out</a>'
            st.markdown(link, unsafe_allow_html=True)
        elif has_login(cat):
            st.button("Log out", on_click=log_out, key="log_out")
        else:
            st.button("Change name", on_click=forget_name, key="change_name")


def message(key: str) -> None:
    """Show (once) a message an action callback left under ``key``."""
    text = st.session_state.pop(key, None)
    if text:
        kind, body = text
        (st.success if kind == "ok" else st.warning)(body)


def say(key: str, body: str, kind: str = "ok") -> None:
    """Leave a message for the next run of a page or fragment."""
    st.session_state[key] = (kind, body)


def shows_errors(action: Callable[P, T]) -> Callable[P, T | None]:
    """``action`` as a page runs it: a FacesiftError, OSError or catalog error is one
    ``st.error`` line (a full disk's says how much room was needed and is free).

    Every page action (a button's callback, a form's submit, a whole page) goes
    through this, so bad input or a full disk never shows a traceback. The
    wrapped action returns None when it failed; bugs still raise.
    """

    @functools.wraps(action)
    def run(*args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return action(*args, **kwargs)
        except SHOWN_ERRORS as e:
            st.error(error_line(e, os.environ.get(ENV_ROOT, str(DEFAULT_ROOT))))
            return None

    return run
