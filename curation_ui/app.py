"""facesift review: the Streamlit curation app (``facesift review`` serves it).

A thin layer: pages call plain query and action functions (``queries``,
``actions``, ``queue``, ``stats``) with this session's catalog, and every
decision is an append-only label event.
"""

from __future__ import annotations

import streamlit as st

from curation_ui import session
from curation_ui.views import export, importing, queue, review, stats

PAGES = {
    "review": (review.render, "Review by query", ":material/grid_view:"),
    "queue": (queue.render, "Label queue", ":material/keyboard:"),
    "import": (importing.render, "Import", ":material/upload:"),
    "stats": (stats.render, "Stats", ":material/bar_chart:"),
    "export": (export.render, "Export", ":material/download:"),
}


def _setup() -> None:
    st.set_page_config(page_title="facesift review", page_icon=":material/face:", layout="wide")
    cat = session.catalog()
    name = session.annotator()
    session.sidebar(cat, name)


def run_page(name: str) -> None:
    """One page on its own (tests drive pages through this)."""
    _setup()
    PAGES[name][0]()


def main() -> None:
    """The whole app: every page in the sidebar navigation."""
    _setup()
    pages = [
        st.Page(fn, title=title, icon=icon, url_path=key, default=key == "review")
        for key, (fn, title, icon) in PAGES.items()
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
