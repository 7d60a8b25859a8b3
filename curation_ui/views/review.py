"""Review by query: a paged grid of face chips; mark, reject, relabel, accept the rest, undo.

The grid is a component (``curation_ui.components.grid``): ticking a face and moving
the focus ring happen in the browser, with no rerun. An action sends the faces that
were on screen and the ones ticked; this page's fragment applies it to exactly those
faces, or refuses it in one line when a face was not on this page. The faces of a page
stay in place after a decision (a decided face is drawn as such where it was) until
the page, a filter or *Accept the rest* brings the next faces.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from catalog.db import SHOWN_ERRORS, error_line
from catalog.events import FaceState, LabelEvent, face_states
from catalog.labels import reject_reasons
from catalog.predictions import latest_model_row
from curation_ui import actions, session
from curation_ui.components import grid as component
from curation_ui.queries import (
    MODEL_SORTS,
    NO_LABEL,
    SORTS,
    STATUSES,
    FaceFilter,
    count_faces,
    face_page,
    query_choices,
    source_names,
)
from curation_ui.stats import label_status_table
from curation_ui.thumbs import thumbnail
from curation_ui.views import model_banner

COLUMNS = 8
ANY = "(any)"
UNDO = "rv_undo"  # a list of actions, each the list of its events
COMPONENT = "rv_grid"  # the grid component's key: its state is the browser's message
LAYOUT = "rv_layout"  # the faces on the page (kept in place until the page or filter changes)
LAYOUTS = "rv_layouts"  # numbers the layouts: an action names the one it was taken on
ACKED = "rv_acked"  # the last action (sequence number) applied
SAID = "rv_said"  # the status line: the answer to the last action
VERSION = "rv_version"  # numbers the data sent, so the browser ignores an older one
SENT = "rv_sent"  # thumbnails sent to this session's browser, the latest used last
SENT_KEPT = 400  # the browser keeps 600 (grid.js KEPT_IMAGES): what it was sent, it holds


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


def _remember(events: list[LabelEvent]) -> None:
    if events:
        st.session_state.setdefault(UNDO, []).append(events)
        del st.session_state[UNDO][:-50]


@session.shows_errors
def _on_page(delta: int, pages: int) -> None:
    st.session_state["rv_page"] = min(max(st.session_state.get("rv_page", 0) + delta, 0), pages - 1)


def _ids(raw: object) -> list[int] | None:
    """A list of face ids from the browser (None when it is not one)."""
    if not isinstance(raw, list):
        return None
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
        return None
    return list(dict.fromkeys(raw))


def _refusal(layout: dict, d: dict) -> str | None:
    """Why an action from the browser is not applied (None when it may be)."""
    if d.get("layout") != layout["token"]:
        return "Not applied: the page changed before this action arrived; nothing was changed."
    shown, marked = _ids(d.get("shown")), _ids(d.get("marked"))
    if shown is None or marked is None:
        return "Not applied: the browser sent no list of faces."
    on_page = {c.id for c in layout["cards"]}
    stray = [i for i in [*shown, *marked] if i not in on_page]
    stray += [i for i in marked if i not in shown and i not in stray]
    if stray:
        names = ", ".join(f"#{i}" for i in stray[:3]) + (" …" if len(stray) > 3 else "")
        one = "face" if len(stray) == 1 else "faces"
        return f"Not applied: {one} {names} not on this page; nothing was changed."
    return None


def _apply(cat, who: str, layout: dict, d: dict) -> tuple[str, str]:
    """Apply one action of the browser to exactly the faces it names: (status text, kind)."""
    action = d.get("action")
    if action == "undo":
        stack = st.session_state.get(UNDO) or []
        if not stack:
            return "Nothing to undo in this session.", "warn"
        undone = actions.undo_events(cat.conn, who, stack.pop())
        if any(e.face_id not in {c.id for c in layout["cards"]} for e in undone):
            st.session_state.pop(LAYOUT, None)  # the faces come back: show the page afresh
        return f"Undid {len(undone)} decisions.", "ok"
    if action not in ("reject", "relabel", "accept_rest"):
        return f"Not applied: no action {str(action)[:20]!r}.", "warn"
    refused = _refusal(layout, d)
    if refused:
        return refused, "warn"
    shown, marked = _ids(d["shown"]) or [], _ids(d["marked"]) or []
    if action == "accept_rest":
        rest = [i for i in shown if i not in set(marked)]
        events, unlabelled = actions.accept_rest(cat.conn, rest, who)
        _remember(events)
        st.session_state.pop(LAYOUT, None)  # this page is done: the next faces
        text = f"Accepted {len(events)} faces."
        if unlabelled:
            text += f" {len(unlabelled)} without a label stay pending: label them in the queue."
        return text, "ok"
    if not marked:
        return "Mark some faces first (click a chip, or space on the ringed one).", "warn"
    if action == "reject":
        reasons = reject_reasons()
        reason = d.get("reason") if d.get("reason") in reasons else None
        if reason is None:
            return "Not applied: choose a reject reason.", "warn"
        events = actions.reject(cat.conn, marked, who, reason)
        _remember(events)
        return f"Rejected {len(events)} faces ({reasons[reason]}).", "ok"
    label = d.get("label")
    if label not in cat.labels.names:
        return "Choose the right emotion first, then relabel the marked faces.", "warn"
    events = actions.relabel(cat.conn, marked, who, label)
    _remember(events)
    return f"Relabelled {len(events)} faces as {label}.", "ok"


def _apply_messages(cat, who: str) -> list[str]:
    """Apply the browser's actions not applied yet, each once, in order; the failures.

    The sequence number is stored as applied before anything is drawn, so a rerun
    that sees the same message again never applies an action twice.
    """
    ss = st.session_state
    failures: list[str] = []
    for d in component.unapplied(ss.get(COMPONENT), ss.get(ACKED, 0)):
        layout = ss.get(LAYOUT) or {"token": None, "cards": []}
        try:
            text, kind = _apply(cat, who, layout, d)
        except SHOWN_ERRORS as e:
            line = error_line(e, cat.paths.dir)
            failures.append(line)
            text, kind = f"Not applied: {line}", "warn"
        ss[ACKED] = d["seq"]
        ss[SAID] = {"seq": d["seq"], "text": text, "kind": kind}
    return failures


@session.refused_when_logged_out
def _refuse_queued() -> str | None:
    """The session lost its login: the browser's actions not applied yet are refused (and
    acknowledged, so that no later login applies them); the one line that says so."""
    ss = st.session_state
    todo = component.unapplied(ss.get(COMPONENT), ss.get(ACKED, 0))
    if not todo:
        return None
    n = len(todo)
    text = (
        f"Not applied: your session ended before {'this action' if n == 1 else f'{n} actions'} "
        "reached the server; log in again (nothing was changed)."
    )
    ss[ACKED] = todo[-1]["seq"]
    ss[SAID] = {"seq": todo[-1]["seq"], "text": text, "kind": "warn"}
    return text


def _matches(flt: FaceFilter, card) -> bool:
    """Whether a face on the page still matches the filters its decisions can change."""
    if card.status not in flt.statuses or (flt.disputed_only and not card.disputed):
        return False
    if flt.label is None:
        return True
    if flt.label == NO_LABEL:
        return card.label is None
    return card.label == flt.label


def _layout(cat, flt: FaceFilter, per_page: int) -> dict:
    """The faces on this page, in place: queried afresh only for another filter or page
    (or after *Accept the rest*), so that a decision never moves a chip."""
    ss = st.session_state
    want = (flt, ss.get("rv_page", 0), per_page)
    layout = ss.get(LAYOUT)
    if layout is None or layout["view"] != want:
        page = face_page(cat.conn, flt, ss.get("rv_page", 0), per_page)
        ss["rv_page"] = page.page
        ss[LAYOUTS] = ss.get(LAYOUTS, 0) + 1
        layout = {"view": (flt, page.page, per_page), "token": ss[LAYOUTS], "cards": page.cards}
        # The next page's faces, whose thumbnails the browser loads before it is turned to.
        after = page.page + 1 < page.pages
        layout["next"] = face_page(cat.conn, flt, page.page + 1, per_page).cards if after else []
        ss[LAYOUT] = layout
    return layout


def _now(card, now: FaceState | None):
    """The card with the face's state as stored now (a decision may have changed it)."""
    if now is None:
        return card
    return replace(
        card,
        status=now.status,
        label=now.label,
        label_origin=now.label_origin,
        reason=now.reason,
        disputed=now.disputed,
        annotators=now.annotators,
    )


def _state_text(card) -> str:
    if card.status == "rejected":
        return f"rejected ({reject_reasons().get(card.reason or '', card.reason or '')})"
    return f"{card.status}: {card.label or 'no label'}"


def _held(sent: dict[int, bool], msg: dict) -> set[int]:
    """The thumbnails the browser holds: those sent to it (less the ones it asked for again,
    having lost them) and those it said it holds."""
    want = msg.get("want") if isinstance(msg.get("want"), list) else []
    for fid in want:
        sent.pop(fid, None)
    have = msg.get("have") if isinstance(msg.get("have"), list) else []
    return (set(sent) | set(have)) - set(want)


def _thumb_src(cat, card, held: set[int], sent: dict[int, bool], make: bool = True) -> str | None:
    """The face's thumbnail as a ``data:`` URL, unless the browser holds it already (or,
    unless ``make``, it is not on disk yet: it is not made here)."""
    if card.id in held:
        sent[card.id] = sent.pop(card.id, True)  # the latest used last: forgotten last
        return None
    thumb = thumbnail(cat, card.chip_path, make=make)
    if thumb is None:
        return None
    held.add(card.id)
    sent[card.id] = True
    while len(sent) > SENT_KEPT:
        del sent[next(iter(sent))]
    return component.data_url(thumb)


def view_data(cat, flt: FaceFilter, layout: dict) -> dict:
    """What the grid component is given: the faces on the page (each thumbnail once per
    session), the next page's thumbnails ahead of time, and the action bar."""
    ss = st.session_state
    sent: dict[int, bool] = ss.setdefault(SENT, {})
    held = _held(sent, component.message(ss.get(COMPONENT)) or {})
    states = face_states(cat.conn, [c.id for c in layout["cards"]])
    faces = []
    for card in layout["cards"]:
        card = _now(card, states.get(card.id))
        src = _thumb_src(cat, card, held, sent)
        is_open = _matches(flt, card)
        faces.append(
            {
                "id": card.id,
                "name": f"#{card.id}",
                "caption": " · ".join(filter(None, (card.label_note, card.model_note)))
                if is_open
                else _state_text(card),
                "detail": _detail(card),
                "src": src,
                "chip": card.chip_path is not None,
                "open": is_open,
                "state": "" if is_open else card.status,
            }
        )
    # The next page's thumbnails made before (made after this run's grid is drawn: below);
    # none on a session's first run, whose page is waited for (a first load stays small).
    nxt = layout.get("next", []) if VERSION in ss else []
    ahead = [(c.id, _thumb_src(cat, c, held, sent, make=False)) for c in nxt]
    ss[VERSION] = ss.get(VERSION, 0) + 1
    reasons = reject_reasons()
    return {
        "version": ss[VERSION],
        "layout": layout["token"],
        "acked": ss.get(ACKED, 0),
        "faces": faces,
        "prefetch": [{"id": i, "src": src} for i, src in ahead if src],
        "columns": COLUMNS,
        "reasons": [[k, v] for k, v in reasons.items()],
        "reason": next(iter(reasons)),
        "labels": list(cat.labels.names),
        "said": ss.get(SAID),
        "empty_text": "No face matches these filters.",
    }


@st.fragment
def grid(flt: FaceFilter, per_page: int) -> None:
    """The page of chips and its actions; an action reruns only this fragment."""
    cat = session.catalog()
    who = session.annotator()
    failures = _apply_messages(cat, who)
    layout = _layout(cat, flt, per_page)
    total = count_faces(cat.conn, flt)
    pages = max(1, -(-total // per_page))
    page = layout["view"][1]
    nav = st.columns([3, 3, 10])
    nav[0].button(
        "Previous",
        key="rv_prev",
        shortcut="PageUp",
        on_click=_on_page,
        args=(-1, pages),
        disabled=page == 0,
    )
    nav[1].button(
        "Next",
        key="rv_next",
        shortcut="PageDown",
        on_click=_on_page,
        args=(1, pages),
        disabled=page >= pages - 1,
    )
    nav[2].caption(
        f"page {page + 1} of {pages} · {total} faces · "
        "label? = claimed by the face's query or import, not yet confirmed · "
        "hover a chip for size, sharpness and pose"
    )
    component.grid_component(view_data(cat, flt, layout), key=COMPONENT)
    for failure in failures:  # under the grid: nothing above it moves
        st.error(failure)
    for card in layout.get("next", []):  # the grid is on its way: the next page's thumbnails
        thumbnail(cat, card.chip_path)


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
