"""Review by query: a paged grid of face chips; mark, reject, relabel, accept the rest, undo."""

from __future__ import annotations

import streamlit as st

from catalog.events import LabelEvent
from catalog.labels import reject_reasons
from catalog.predictions import latest_model_row
from curation_ui import actions, session
from curation_ui.queries import (
    MODEL_SORTS,
    NO_LABEL,
    SORTS,
    STATUSES,
    FaceFilter,
    face_page,
    query_choices,
    source_names,
)
from curation_ui.stats import label_status_table
from curation_ui.thumbs import thumbnail
from curation_ui.views import model_banner

COLUMNS = 8
ANY = "(any)"
MSG = "rv_msg"
UNDO = "rv_undo"  # a list of actions, each the list of its events


def first_to_review(cat) -> str | None:
    """The first emotion (label-set order, then "no label") with pending faces; None if none."""
    pending = label_status_table(cat.conn, cat.labels.names)["pending"]
    return next((label for label, n in pending.items() if n > 0), None)


def _open_on_something_to_review(cat) -> bool:
    """On a session's first view (no emotion in the URL), choose the first one to review.

    Returns whether anything is pending at all.
    """
    first = first_to_review(cat)
    if "rv_label" not in st.session_state and "rv_label" not in st.query_params:
        st.session_state["rv_label"] = first or cat.labels.names[0]
    return first is not None


def _filters() -> tuple[FaceFilter, int]:
    cat = session.catalog()
    conn = cat.conn
    if not _open_on_something_to_review(cat):
        st.info(
            "Nothing is pending: every face has been accepted or rejected. "
            "Choose the accepted or rejected status to look at decided faces."
        )
    top = st.columns([2, 3, 3, 2])
    label = top[0].selectbox(
        "Emotion", [*cat.labels.names, NO_LABEL, ANY], key="rv_label", bind="query-params"
    )
    statuses = top[1].pills(
        "Status",
        STATUSES,
        selection_mode="multi",
        default=["pending"],
        key="rv_status",
        persist_state="session",
    )
    queries = {q.id: q.title for q in query_choices(conn)}
    sources = source_names(conn)
    origin = top[2].selectbox(
        "Query or import",
        [ANY, *[f"query:{i}" for i in queries], *[f"source:{s}" for s in sources]],
        format_func=lambda v: queries.get(int(v[6:]), v) if v.startswith("query:") else v,
        key="rv_origin",
        persist_state="session",
    )
    model = latest_model_row(conn)  # its guesses in the captions; its sorts when there is one
    sorts = [k for k in SORTS if model is not None or k not in MODEL_SORTS]
    sort = top[3].selectbox(
        "Sort", sorts, format_func=SORTS.get, key="rv_sort", bind="query-params"
    )
    with st.expander("Quality filters and near-duplicates"):
        q = st.columns(6)
        min_size = q[0].number_input("Min size (px)", 0.0, 10000.0, 0.0, 10.0, key="rv_min_size")
        min_sharp = q[1].number_input("Min sharpness", 0.0, 1e6, 0.0, 10.0, key="rv_min_sharp")
        max_yaw = q[2].number_input("Max |yaw| (0 = any)", 0.0, 90.0, 0.0, 5.0, key="rv_yaw")
        max_pitch = q[3].number_input("Max |pitch| (0 = any)", 0.0, 90.0, 0.0, 5.0, key="rv_pitch")
        max_roll = q[4].number_input("Max |roll| (0 = any)", 0.0, 180.0, 0.0, 5.0, key="rv_roll")
        per_page = q[5].selectbox("Per page", [48, 24, 96], key="rv_per_page")
        collapse = st.toggle(
            "Collapse near-duplicate groups to their best member", key="rv_collapse"
        )
        disputed = st.toggle("Only faces annotators disagree on", key="rv_disputed")
    flt = FaceFilter(
        statuses=tuple(statuses) or STATUSES,
        label=None if label == ANY else label,
        query_id=int(origin[6:]) if origin.startswith("query:") else None,
        source_name=origin[7:] if origin.startswith("source:") else None,
        min_size=min_size,
        min_sharpness=min_sharp,
        max_yaw=max_yaw or None,
        max_pitch=max_pitch or None,
        max_roll=max_roll or None,
        disputed_only=disputed,
        collapse_duplicates=collapse,
        sort=sort,
        model_id=model.id if model is not None else None,
    )
    if st.session_state.get("rv_filter") != flt:
        st.session_state["rv_filter"] = flt
        st.session_state["rv_page"] = 0
    return flt, per_page


def _marked(ids: list[int]) -> list[int]:
    return [i for i in ids if st.session_state.get(f"mark_{i}")]


def _clear_marks(ids: list[int]) -> None:
    for i in ids:
        st.session_state.pop(f"mark_{i}", None)


def _remember(events: list[LabelEvent]) -> None:
    if events:
        st.session_state.setdefault(UNDO, []).append(events)
        del st.session_state[UNDO][:-50]


@session.shows_errors
def _on_reject(ids: list[int]) -> None:
    marked = _marked(ids)
    if not marked:
        session.say(MSG, "Mark some faces first (tick the box under a chip).", "warn")
        return
    reason = st.session_state.get("rv_reason") or "other"
    events = actions.reject(session.catalog().conn, marked, session.annotator(), reason)
    _remember(events)
    _clear_marks(ids)
    session.say(MSG, f"Rejected {len(events)} faces ({reject_reasons()[reason]}).")


@session.shows_errors
def _on_relabel(ids: list[int]) -> None:
    marked = _marked(ids)
    label = st.session_state.get("rv_relabel")
    if not marked or not label:
        session.say(MSG, "Mark some faces and choose the right emotion first.", "warn")
        return
    events = actions.relabel(session.catalog().conn, marked, session.annotator(), label)
    _remember(events)
    _clear_marks(ids)
    session.say(MSG, f"Relabelled {len(events)} faces as {label}.")


@session.shows_errors
def _on_accept_rest(ids: list[int]) -> None:
    rest = [i for i in ids if i not in set(_marked(ids))]
    events, unlabelled = actions.accept_rest(session.catalog().conn, rest, session.annotator())
    _remember(events)
    text = f"Accepted {len(events)} faces."
    if unlabelled:
        text += f" {len(unlabelled)} without a label stay pending: label them in the queue."
    session.say(MSG, text)


@session.shows_errors
def _on_undo() -> None:
    stack = st.session_state.get(UNDO) or []
    if not stack:
        session.say(MSG, "Nothing to undo in this session.", "warn")
        return
    undone = actions.undo_events(session.catalog().conn, session.annotator(), stack.pop())
    session.say(MSG, f"Undid {len(undone)} decisions.")


@session.shows_errors
def _on_page(delta: int, pages: int) -> None:
    st.session_state["rv_page"] = min(max(st.session_state.get("rv_page", 0) + delta, 0), pages - 1)


@st.fragment
def grid(flt: FaceFilter, per_page: int) -> None:
    """The page of chips and its actions; a click reruns only this fragment."""
    cat = session.catalog()
    page = face_page(cat.conn, flt, st.session_state.get("rv_page", 0), per_page)
    st.session_state["rv_page"] = page.page
    ids = [c.id for c in page.cards]
    nav = st.columns([1, 1, 6])
    nav[0].button(
        "Previous",
        key="rv_prev",
        shortcut="Left",
        on_click=_on_page,
        args=(-1, page.pages),
        disabled=page.page == 0,
    )
    nav[1].button(
        "Next",
        key="rv_next",
        shortcut="Right",
        on_click=_on_page,
        args=(1, page.pages),
        disabled=page.page >= page.pages - 1,
    )
    nav[2].caption(
        f"page {page.page + 1} of {page.pages} · {page.total} faces · "
        "label? = claimed by the face's query or import, not yet confirmed · "
        "hover ? for size, sharpness and pose"
    )
    session.message(MSG)
    if not page.cards:
        st.info("No face matches these filters.")
    for start in range(0, len(page.cards), COLUMNS):
        for col, card in zip(
            st.columns(COLUMNS), page.cards[start : start + COLUMNS], strict=False
        ):
            with col:
                thumb = thumbnail(cat, card.chip_path)
                if thumb is not None:
                    st.image(str(thumb), width="stretch")
                else:
                    st.text("(no chip)")
                # The checkbox label is cut to the column's width: only the face
                # number there, the label (and the model's guess) on a line that wraps.
                st.checkbox(f"#{card.id}", key=f"mark_{card.id}", help=_detail(card))
                st.caption(" · ".join(filter(None, (card.label_note, card.model_note))))
    st.divider()
    reasons = reject_reasons()
    bar = st.columns([2, 2, 2, 2, 3, 2])
    bar[0].selectbox(
        "Reject reason",
        list(reasons),
        format_func=reasons.get,
        key="rv_reason",
        label_visibility="collapsed",
    )
    bar[1].button(
        "Reject marked", key="rv_reject", type="primary", on_click=_on_reject, args=(ids,)
    )
    bar[2].selectbox(
        "Relabel as",
        cat.labels.names,
        index=None,
        placeholder="relabel as…",
        key="rv_relabel",
        label_visibility="collapsed",
    )
    bar[3].button("Relabel marked", key="rv_relabel_btn", on_click=_on_relabel, args=(ids,))
    bar[4].button(
        "Accept the rest of this page",
        key="rv_accept",
        shortcut="A",
        on_click=_on_accept_rest,
        args=(ids,),
    )
    bar[5].button("Undo", key="rv_undo_btn", shortcut="Z", on_click=_on_undo)


def _detail(card) -> str:
    size = f"{card.size_px:.0f}px" if card.size_px is not None else "?"
    sharp = f"{card.sharpness:.0f}" if card.sharpness is not None else "?"
    yaw = f"{card.yaw:.0f}°" if card.yaw is not None else "?"
    origin = {"source": "claimed by its source", "events": "from annotators"}.get(
        card.label_origin, "none"
    )
    text = f"{card.status}; label {card.label or '-'} ({origin}); size {size}, "
    text += f"sharpness {sharp}, yaw {yaw}"
    if card.disputed:
        text += "; annotators disagree"
    return text


def render() -> None:
    """The Review by query page."""
    st.header("Review by query")
    model_banner.render(session.catalog())
    flt, per_page = _filters()
    grid(flt, per_page)
