"""facesift review: the Streamlit curation app (``facesift review`` serves it).

A thin layer: pages call plain query and action functions (``queries``,
``actions``, ``queue``, ``stats``) with this session's catalog, and every
decision is an append-only label event.
"""

from __future__ import annotations

import streamlit as st

from curation_ui import session
from curation_ui.views import export, importing, queue, review, stats, try_it

PAGES = {
    "review": (review.render, "Review by query", ":material/grid_view:"),
    "queue": (queue.render, "Label queue", ":material/keyboard:"),
    "import": (importing.render, "Import", ":material/upload:"),
    "stats": (stats.render, "Stats", ":material/bar_chart:"),
    "export": (export.render, "Export", ":material/download:"),
    "try_it": (try_it.render, "Try it", ":material/photo_camera:"),
}


def _page_config() -> None:
    st.set_page_config(page_title="facesift review", page_icon=":material/face:", layout="wide")


def _setup() -> None:
    cat = session.catalog()
    name = session.annotator()
    session.sidebar(cat, name)


def run_page(name: str) -> None:
    """One page on its own (tests drive pages through this)."""
    _page_config()
    _setup()
    PAGES[name][0]()


def main() -> None:
    """The whole app: every page in the sidebar navigation."""
    _page_config()
    pages = [
        st.Page(fn, title=title, icon=icon, url_path=key, default=key == "review")
        for key, (fn, title, icon) in PAGES.items()
    ]
    # Navigation first, so that a page's URL (e.g. /queue) is known even on the run
    # that stops to ask for the annotator's name.
    page = st.navigation(pages)
    _setup()
    page.run()


if __name__ == "__main__":
    main()
