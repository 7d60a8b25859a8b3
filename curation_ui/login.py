"""Who is using a session of the review app: a login, an identity provider, or a typed name.

- Accounts in the dataset's ``users.toml`` (``facesift user add``): a login form;
  the login is the annotator name on every label event and gives the role.
  Sessions expire after :data:`SESSION_SECONDS`; a wrong password costs a delay.
- Streamlit's OIDC (``st.login``) when ``.streamlit/secrets.toml`` configures an
  ``[auth]`` section: the identity's e-mail is the name; such users are
  annotators unless an account of the same name makes them admins.
- Neither, on this machine only: today's name prompt, and that one person is an admin.

``facesift review`` with accounts puts the login gateway (``curation_ui/gateway.py``)
in front: then the user is the one the gateway names in its headers, with the
per-launch secret only it and this app know, and nothing else logs anyone in
(not the form below, not a Streamlit session id).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from catalog import Catalog
from curation_ui.accounts import (
    Account,
    AccountError,
    auth_path,
    authenticate,
    load_accounts,
    oidc_provider,
)
from curation_ui.gate_page import LOGIN_PATH
from curation_ui.launch import ENV_AUTH, ENV_GATE, ENV_REQUIRE_LOGIN
from curation_ui.roles import User
from curation_ui.typed_name import typed_name

SESSION_SECONDS = 12 * 3600
WRONG_PASSWORD_DELAY = 1.0  # seconds: makes guessing slow, is not felt by a typo
NO_ACCOUNTS = (
    "This app is served on the network and has no accounts: "
    "add one with `facesift user add NAME --admin`, then restart `facesift review`."
)
_LOGIN = "_facesift_login"  # (name, expires at, monotonic seconds)


def auth_file(cat: Catalog) -> Path:
    """The accounts file this app was started with (``--auth``), or the dataset's own."""
    return auth_path(cat.paths.dir, os.environ.get(ENV_AUTH) or None)


def _secrets_auth() -> Mapping | None:
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets.toml, or one Streamlit cannot parse: no OIDC
        return None
    return section if isinstance(section, Mapping) else None


def _accounts(cat: Catalog) -> dict[str, Account]:
    try:
        return load_accounts(auth_file(cat))
    except AccountError as e:
        st.error(str(e))
        st.stop()
        raise AssertionError("unreachable") from None


def gated() -> bool:
    """Whether this app is served behind the login gateway."""
    return bool(os.environ.get(ENV_GATE))


def _gate_user(accounts: dict[str, Account]) -> User | None:
    """The user the gateway names, if the headers carry the gateway's secret."""
    headers = st.context.headers
    sent = (headers.get("X-Facesift-Gate") or "").encode("utf-8", "replace")
    if not hmac.compare_digest(sent, os.environ.get(ENV_GATE, "").encode()):
        return None
    acc = accounts.get(headers.get("X-Facesift-User") or "")
    return User(acc.name, acc.role) if acc else None


def known_user(cat: Catalog) -> User | None:
    """This session's user when already known (no prompt shown); None otherwise."""
    accounts = _accounts(cat)
    if gated():
        return _gate_user(accounts)
    provider = oidc_provider(_secrets_auth())
    if provider and st.user.is_logged_in:
        return _oidc_user(accounts)
    if accounts:
        return _logged_in(accounts)
    if os.environ.get(ENV_REQUIRE_LOGIN) == "1" and not provider:
        return None
    if provider:
        return None
    name = typed_name(ask=False)
    return User(name, "admin") if name else None


def current_user(cat: Catalog) -> User:
    """This session's user; shows the login (or name prompt) and stops the run when unknown."""
    user = known_user(cat)
    if user is not None:
        return user
    if gated():
        st.error(f"Log in first: [the login page]({LOGIN_PATH}).")
        st.stop()
    provider = oidc_provider(_secrets_auth())
    accounts = _accounts(cat)
    if not accounts and not provider and os.environ.get(ENV_REQUIRE_LOGIN) == "1":
        st.error(NO_ACCOUNTS)
        st.stop()
    if not accounts and not provider:
        return User(typed_name(ask=True), "admin")
    login_form(accounts, provider)
    st.stop()
    raise AssertionError("unreachable")


def _oidc_user(accounts: dict[str, Account]) -> User:
    name = str(st.user.get("email") or st.user.get("name") or st.user.get("sub") or "")
    acc = accounts.get(name)
    return User(name, acc.role if acc else "annotator")


def _logged_in(accounts: dict[str, Account]) -> User | None:
    entry = st.session_state.get(_LOGIN)
    if not entry:
        return None
    name, expires = entry
    acc = accounts.get(name)
    if acc is None or time.monotonic() >= expires:  # removed meanwhile, or expired
        st.session_state.pop(_LOGIN, None)
        if acc is not None:
            st.session_state["_facesift_login_msg"] = "Your session expired: log in again."
        return None
    return User(acc.name, acc.role)


def log_in(name: str, expires_in: float = SESSION_SECONDS) -> None:
    """Mark this session as logged in as ``name`` until ``expires_in`` seconds from now."""
    st.session_state[_LOGIN] = (name, time.monotonic() + expires_in)


def log_out() -> None:
    """End this session's login (an OIDC identity is logged out through Streamlit)."""
    st.session_state.pop(_LOGIN, None)
    if oidc_provider(_secrets_auth()) and st.user.is_logged_in:
        st.logout()


def login_form(accounts: dict[str, Account], provider: str | None) -> None:
    """The login page: a name and password form, and the identity provider's button."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        _login_box(accounts, provider)


def _login_box(accounts: dict[str, Account], provider: str | None) -> None:
    st.title("facesift review")
    msg = st.session_state.pop("_facesift_login_msg", None)
    if msg:
        st.info(msg)
    if provider and st.button("Log in with your organisation's account", key="oidc_login"):
        st.login(provider)
    if not accounts:
        return
    with st.form("login", clear_on_submit=True):
        name = st.text_input("User name", max_chars=64, key="login_name")
        password = st.text_input("Password", type="password", max_chars=1024, key="login_pw")
        go = st.form_submit_button("Log in", type="primary")
    if go:
        acc = authenticate(accounts, name, password)
        if acc is None:
            time.sleep(WRONG_PASSWORD_DELAY)
            st.error("Wrong user name or password.")
            return
        log_in(acc.name)
        st.rerun()


def has_login(cat: Catalog) -> bool:
    """Whether this app logs users in (accounts exist or an identity provider is configured)."""
    return bool(_accounts(cat)) or oidc_provider(_secrets_auth()) is not None
