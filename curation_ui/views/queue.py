"""Label queue: one face at a time, one key per label; x reject, s skip, z undo."""

from __future__ import annotations

import streamlit as st

from catalog.images import provenance
from catalog.labels import reject_reasons
from catalog.predictions import latest_model_row
from catalog.preferences import SHOW_MODEL_TOP3, get_flag, set_flag
from catalog.settings import labels_per_face
from curation_ui import model_hints, session
from curation_ui import queue as q
from curation_ui.queries import NO_LABEL, face_in_image, source_names
from curation_ui.thumbs import image_with_box
from curation_ui.views import model_banner

ANY = "(any)"
STATE = "q_state"
MSG = "q_msg"
MAX_KEYED_LABELS = 9  # keys 1..9
TOP3 = "q_model_top3"  # the toggle; its value is remembered per annotator in the catalog
TOP3_FOR = "q_model_top3_for"  # whose remembered value the toggle holds


@session.shows_errors
def _act(kind: str, arg: str | None = None) -> None:
    conn = session.catalog().conn
    who = session.annotator()
    state: q.QueueState = st.session_state[STATE]
    if kind == "label":
        state = q.label(conn, state, who, arg)
    elif kind == "reject":
        state = q.reject(conn, state, who, st.session_state.get("q_reason") or "not_a_face")
    elif kind == "skip":
        state = q.skip(conn, state, who)
    else:
        undone = q.undo(conn, state, who)
        if undone is state:
            session.say(MSG, "Nothing to undo.", "warn")
        state = undone
    st.session_state[STATE] = state


def _source_view(cat, card) -> None:
    where = face_in_image(cat.conn, card.id)
    img = image_with_box(cat, *where) if where else None
    if img is not None:
        st.image(img, width="stretch")
    for src in provenance(cat.conn, card.image_id):
        # Titles and URLs come from the web: shown as plain text only.
        st.text(
            " · ".join(
                str(v)
                for v in (src.kind, src.source_name, src.import_path, src.title, src.page)
                if v
            )
        )


@st.fragment
def queue_panel() -> None:
    """The face on show and its keys; a key press reruns only this fragment."""
    cat = session.catalog()
    who = session.annotator()
    state: q.QueueState = st.session_state[STATE]
    card = state.card(cat.conn)
    left, right = st.columns([3, 4])
    with left:
        if card is None:
            st.success("Nothing left in this subset. Choose another, or press z to undo.")
        else:
            if card.chip_path:
                st.image(str(cat.paths.resolve(card.chip_path)), width=320)
            if state.filter.subset in q.BLIND_SUBSETS:
                # A second opinion sees the face only: no label, status or dispute.
                st.text(f"face #{card.id} · your own decision, please")
            else:
                st.text(
                    f"face #{card.id} · {card.status} · shows {card.label or 'no label'}"
                    + (" (claimed by its source)" if card.label_origin == "source" else "")
                    + (" · annotators disagree" if card.disputed else "")
                )
            _model_top3(cat, card.id, state.filter.subset)
            if st.toggle("Show the source image and box", key="q_show_source"):
                _source_view(cat, card)
    with right:
        session.message(MSG)
        names = cat.labels.names
        per_row = 4
        for start in range(0, len(names), per_row):
            cols = st.columns(per_row)
            for i, name in enumerate(names[start : start + per_row], start=start):
                key = str(i + 1) if i < MAX_KEYED_LABELS else None
                cols[i - start].button(
                    f"{name}",
                    key=f"q_label_{name}",
                    shortcut=key,
                    on_click=_act,
                    args=("label", name),
                    disabled=card is None,
                    width="stretch",
                )
        reasons = reject_reasons()
        r = st.columns([3, 2, 2, 2])
        r[0].selectbox(
            "Reject reason",
            list(reasons),
            format_func=reasons.get,
            key="q_reason",
            label_visibility="collapsed",
        )
        r[1].button(
            "reject",
            key="q_reject",
            shortcut="X",
            on_click=_act,
            args=("reject",),
            disabled=card is None,
            width="stretch",
        )
        r[2].button(
            "skip",
            key="q_skip",
            shortcut="S",
            on_click=_act,
            args=("skip",),
            disabled=card is None,
            width="stretch",
        )
        r[3].button(
            "undo", key="q_undo", shortcut="Z", on_click=_act, args=("undo",), width="stretch"
        )
        left_n = q.remaining(cat.conn, state.filter, who)
        st.caption(f"{left_n} left in this subset · {state.done} decided in this session")


def _model_top3(cat, face_id: int, subset: str) -> None:
    """The model's top 3 for the face, when the annotator asked for them (never when blind)."""
    if not st.session_state.get(TOP3) or subset in q.BLIND_SUBSETS:
        return
    model = latest_model_row(cat.conn)
    top = model_hints.face_top(cat, model.id, face_id) if model is not None else []
    if not top:
        st.caption("The model has no guess for this face yet (retrain it).")
    for guess in top:
        st.progress(guess.score, text=f"model: {guess.caption}")


@session.shows_errors
def _save_top3() -> None:
    set_flag(session.catalog().conn, session.annotator(), SHOW_MODEL_TOP3, st.session_state[TOP3])


def _top3_toggle(cat, who: str, blind: bool) -> None:
    # Loaded once per annotator (a name change loads the new annotator's choice).
    if st.session_state.get(TOP3_FOR) != who:
        st.session_state[TOP3] = get_flag(cat.conn, who, SHOW_MODEL_TOP3)
        st.session_state[TOP3_FOR] = who
    st.toggle(
        "Show the model's top 3 beside the face",
        key=TOP3,
        on_change=_save_top3,
        disabled=blind,
        help="Off by default: a visible suggestion biases the label you give. "
        "Remembered for you; never shown for second opinions.",
    )


def render() -> None:
    """The Label queue page."""
    cat = session.catalog()
    who = session.annotator()
    st.header("Label queue")
    model_banner.render(cat)
    has_model = latest_model_row(cat.conn) is not None
    c = st.columns(3)
    k = labels_per_face(cat.conn)
    # With K > 1 the team's first job is second opinions: that subset comes first.
    others = [s for s in q.SUBSETS if s != "second" and (has_model or s != q.SUSPECTS)]
    subsets = ["second", *others] if k > 1 else others
    subset = c[0].selectbox(
        "Faces", subsets, format_func=q.SUBSETS.get, key="q_subset", bind="query-params"
    )
    blind = subset in q.BLIND_SUBSETS
    label = c[1].selectbox(
        "Showing label",
        [ANY, *cat.labels.names, NO_LABEL],
        key="q_label",
        bind="query-params",
        disabled=blind,  # filtering by the current label would reveal the others' labels
    )
    if blind:
        label = ANY
        st.caption(f"Second opinion: each face needs {k} independent decisions.")
    source = c[2].selectbox(
        "Source", [ANY, *source_names(cat.conn)], key="q_source", persist_state="session"
    )
    qf = q.QueueFilter(subset, None if label == ANY else label, None if source == ANY else source)
    state = st.session_state.get(STATE)
    if state is None or state.filter != qf:
        st.session_state[STATE] = q.start(cat.conn, qf, who)
    if has_model:
        _top3_toggle(cat, who, blind)
    keys = ", ".join(f"{i + 1} {n}" for i, n in enumerate(cat.labels.names[:MAX_KEYED_LABELS]))
    st.caption(f"Keys: {keys}; x reject, s skip, z undo. It moves on by itself.")
    queue_panel()
