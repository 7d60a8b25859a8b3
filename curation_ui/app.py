"""facesift review: the Streamlit curation app (``facesift review`` serves it).

A thin layer: pages call plain query and action functions (``queries``,
``actions``, ``queue``, ``stats``) with this session's catalog, and every
decision is an append-only label event.
"""

from __future__ import annotations

import streamlit as st

from curation_ui import login, roles, session
from curation_ui.views import export, importing, logins, queue, review, stats, try_it

PAGES = {
    "review": (review.render, "Review by query", ":material/grid_view:"),
    "queue": (queue.render, "Label queue", ":material/keyboard:"),
    "import": (importing.render, "Import", ":material/upload:"),
    "stats": (stats.render, "Stats", ":material/bar_chart:"),
    "export": (export.render, "Export", ":material/download:"),
    "try_it": (try_it.render, "Try it", ":material/photo_camera:"),
    "logins": (logins.render, "Logins", ":material/login:"),  # admins only (roles.toml)
}


def visible_pages(role: str | None) -> list[str]:
    """The page keys shown to a role (every page, hidden, before anyone has logged in)."""
    return [key for key in PAGES if role is None or roles.may_see(role, key)]


def _page_config() -> None:
    st.set_page_config(page_title="facesift review", page_icon=":material/face:", layout="wide")


def _setup():
    cat = session.catalog()
    user = session.user()
    session.sidebar(cat, user)
    return user


def _guarded(key: str, fn):
    """The page ``key``, refused (one line) to a user whose role may not use it."""

    def page() -> None:
        user = session.user()
        if not roles.may_see(user.role, key):
            st.error(f"{user.name} ({user.role}) may not open this page: ask an admin.")
            return
        session.shows_errors(fn)()

    page.__name__ = key  # st.Page names its URL after the function when url_path is absent
    return page


def run_page(name: str) -> None:
    """One page on its own (tests drive pages through this)."""
    _page_config()
    _setup()
    _guarded(name, PAGES[name][0])()


def main() -> None:
    """The whole app: every page in the sidebar navigation."""
    _page_config()
    # Only the pages this user's role may use are listed (and routable); before the
    # login every page is registered, hidden, so that a page's URL (e.g. /queue) is
    # known even on the run that stops to ask for the login or the annotator's name.
    known = login.known_user(session.catalog())
    pages = [
        st.Page(_guarded(key, fn), title=title, icon=icon, url_path=key, default=key == "review")
        for key, (fn, title, icon) in PAGES.items()
        if key in visible_pages(known.role if known else None)
    ]
    page = st.navigation(pages, position="sidebar" if known else "hidden")
    _setup()
    page.run()


if __name__ == "__main__":
    main()
