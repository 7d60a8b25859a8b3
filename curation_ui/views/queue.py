"""Label queue: one face at a time, one key per label; x reject, s skip, z undo.

The faces are shown by a component (``curation_ui.components.queue``) that holds
the face on show and the next ones in the browser: a key decides the face on
screen and shows the next at once; the decision reaches this page's fragment as
the component's state and is applied to exactly that face (``queue.apply``).
"""

from __future__ import annotations

import time
from dataclasses import replace

import streamlit as st

from catalog.corpus_votes import corpora_present, corpus_votes, display_name
from catalog.db import SHOWN_ERRORS, error_line
from catalog.images import provenance
from catalog.labels import reject_reasons
from catalog.predictions import latest_model_row
from catalog.preferences import SHOW_MODEL_TOP3, get_flag, set_flag
from catalog.settings import labels_per_face
from curation_ui import model_hints, session
from curation_ui import queue as q
from curation_ui.components import queue as component
from curation_ui.queries import NO_LABEL, face_card, face_in_image, source_names
from curation_ui.thumbs import image_with_box, thumbnail
from curation_ui.views import model_banner

ANY = "(any)"
CORPUS = "corpus:"  # a source choice naming a corpus: the faces it labelled
STATE = "q_state"
COMPONENT = "q_face"  # the component's key: its state is the browser's message
ACKED = "q_acked"  # the last decision (sequence number) applied
SERVED = "q_served"  # every face id sent to this session's browser
EPOCH = "q_epoch"  # which queue the browser walks (a new filter starts a new one)
VERSION = "q_version"  # numbers the data sent, so the browser ignores an older one
NOTES = "q_notes"  # refusals and failures, one line each, by sequence number
JUMP = "q_jump"  # the face the last undo showed again
MID = "q_mid"  # the last message whose face on screen was taken as current
PONG = "q_pong"  # the browser's time on its last message, with this server's time then
AHEAD = 16  # faces the browser holds beyond the one on show (keying ahead outruns a round trip)
MAX_INLINE_CHIP = 150_000  # bytes; a bigger chip is sent as its 320 px thumbnail
CHIP_SIDE = 320
MAX_KEYED_LABELS = 9  # keys 1..9
TOP3 = "q_model_top3"  # the toggle; its value is remembered per annotator in the catalog
TOP3_FOR = "q_model_top3_for"  # whose remembered value the toggle holds


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
                for v in (
                    src.kind,
                    src.source_name,
                    src.import_path,
                    src.subject and f"subject {src.subject}",
                    src.source_split and f"{src.source_split} split",
                    src.frame_index is not None and f"frame {src.frame_index}",
                    src.frame_how,
                    src.title,
                    src.page,
                )
                if v
            )
        )


def _chips_in_browser() -> frozenset[int]:
    """The faces whose chips the browser said it holds (in its latest message)."""
    msg = component.message(st.session_state.get(COMPONENT)) or {}
    have = msg.get("have")
    if not isinstance(have, list):
        return frozenset()
    return frozenset(f for f in have if isinstance(f, int) and not isinstance(f, bool))


def _apply_messages(cat, who: str) -> list[str]:
    """Apply the decisions the browser sent that are not applied yet, each once, in order.

    Each decision names the face that was on screen. The state (and the last sequence
    number applied) is stored before anything is drawn, so a rerun that interrupts
    this run never applies a decision twice. Returns the failures (one line each).
    """
    received_ms = time.time() * 1000
    msg = component.message(st.session_state.get(COMPONENT))
    if msg is None:
        return []
    ss = st.session_state
    served: set[int] = ss.setdefault(SERVED, set())
    failures: list[str] = []
    raw = msg.get("outbox")
    decisions = [q.Decision.from_message(d) for d in raw] if isinstance(raw, list) else []
    for d in sorted((d for d in decisions if d is not None), key=lambda d: d.seq):
        if d.seq <= ss.get(ACKED, 0):
            continue
        state: q.QueueState = ss[STATE]
        try:
            out = q.apply(cat.conn, state, who, d, served)
        except SHOWN_ERRORS as e:
            line = error_line(e, cat.paths.dir)
            out = q.Outcome(state, f"Not recorded: {line}")
            failures.append(line)
        ss[STATE] = out.state
        ss[ACKED] = d.seq
        if out.refused:
            note = {"seq": d.seq, "face": d.face_id, "text": out.refused, "refused": True}
            ss[NOTES] = [*ss.get(NOTES, []), note][-20:]
        if out.undone is not None:
            ss[JUMP] = {"seq": d.seq, "face": out.undone}
            served.add(out.undone)
    ping = msg.get("ping")
    new_ping = ping != (ss.get(PONG) or {}).get("ping")
    if isinstance(ping, int | float) and not isinstance(ping, bool) and new_ping:
        ss[PONG] = {"ping": ping, "server_ms": received_ms}  # when it was first read
    mid, shown = msg.get("mid"), msg.get("shown")
    if isinstance(mid, int) and mid > ss.get(MID, 0):
        ss[MID] = mid
        # The face on screen now (when the browser shows one of this queue's faces).
        if isinstance(shown, int) and shown in served and msg.get("epoch") == ss.get(EPOCH):
            ss[STATE] = replace(ss[STATE], current=shown)
    return failures


@session.refused_when_logged_out
def _refuse_queued() -> str | None:
    """The session lost its login: the decisions the browser queued and the page has not
    applied are refused (and acknowledged, so that no later login records them); the line."""
    ss = st.session_state
    todo = component.unapplied(ss.get(COMPONENT), ss.get(ACKED, 0))
    if not todo:
        return None
    faces = [d["face"] for d in todo if isinstance(d.get("face"), int)]
    names = ", ".join(f"#{f}" for f in faces[:3]) + (" …" if len(faces) > 3 else "")
    what = "this decision" if len(todo) == 1 else f"{len(todo)} decisions"
    stay = ""
    if faces:
        stay = (
            f" (face {names} stays undecided)"
            if len(faces) == 1
            else f" (faces {names} stay undecided)"
        )
    text = f"Not recorded: your session ended before {what} reached the server{stay}; log in again."
    ss[ACKED] = todo[-1]["seq"]
    notes = [{"seq": d["seq"], "face": d.get("face"), "text": text, "refused": True} for d in todo]
    ss[NOTES] = [*ss.get(NOTES, []), *notes][-20:]
    return text


def _face_data(cat, card, blind: bool, top3: bool, model, with_chip: bool = True) -> dict:
    """One face as the component shows it: its chip (unless the browser holds it already),
    one caption line, the model's top 3."""
    src = None
    if card.chip_path and with_chip:
        path = cat.paths.resolve(card.chip_path)
        try:
            big = path.stat().st_size > MAX_INLINE_CHIP
        except OSError:
            big = False
        if big:
            path = thumbnail(cat, card.chip_path, CHIP_SIDE) or path
        src = component.data_url(path)
    if blind:
        # A second opinion sees the face only: no label, status or dispute.
        caption = f"face #{card.id} · your own decision, please"
    else:
        caption = (
            f"face #{card.id} · {card.status} · shows {card.label or 'no label'}"
            + (" (claimed by its source)" if card.label_origin == "source" else "")
            + (" · annotators disagree" if card.disputed else "")
        )
    # The corpus's own label beside the model's guess ("MMI: happy"); not for a second opinion.
    hints: list[dict] = [] if blind else [{"text": v.text} for v in corpus_votes(cat.conn, card.id)]
    if top3 and not blind:
        top = model_hints.face_top(cat, model.id, card.id) if model is not None else []
        hints += [{"text": f"model: {g.caption}", "score": g.score} for g in top]
        if not top:
            hints.append({"text": "The model has no guess for this face yet (retrain it)."})
    return {"id": card.id, "src": src, "caption": caption, "hints": hints}


def view_data(cat, who: str) -> dict:
    """What the component is given: the window of faces and the page's settings."""
    ss = st.session_state
    state: q.QueueState = ss[STATE]
    blind = state.filter.subset in q.BLIND_SUBSETS
    top3 = bool(ss.get(TOP3))
    model = latest_model_row(cat.conn) if top3 and not blind else None
    have = _chips_in_browser()
    faces = []
    for fid in q.window(cat.conn, state, who, AHEAD):
        card = face_card(cat.conn, fid)
        if card is not None:
            faces.append(_face_data(cat, card, blind, top3, model, fid not in have))
    ss.setdefault(SERVED, set()).update(f["id"] for f in faces)
    ss[VERSION] = ss.get(VERSION, 0) + 1
    reasons = reject_reasons()
    reason = ss.get("q_reason") or "not_a_face"
    return {
        "version": ss[VERSION],
        "epoch": ss.get(EPOCH, 0),
        "acked": ss.get(ACKED, 0),
        "server_ms": time.time() * 1000,
        "faces": faces,
        "labels": list(cat.labels.names),
        "reason": reason,
        "reason_text": reasons.get(reason, reason),
        "notes": ss.get(NOTES, []),
        "jump": ss.get(JUMP),
        "pong": ss.get(PONG),
        "blind": blind,
        "empty_text": "Nothing left in this subset. Choose another, or press z to undo.",
    }


@st.fragment
def queue_panel() -> None:
    """The faces in the browser and their keys; a decision reruns only this fragment."""
    cat = session.catalog()
    who = session.annotator()
    failures = _apply_messages(cat, who)
    left, right = st.columns([3, 2])
    with right:
        reasons = reject_reasons()
        st.selectbox("Reject reason (x)", list(reasons), format_func=reasons.get, key="q_reason")
        for failure in failures:
            st.error(failure)
        state: q.QueueState = st.session_state[STATE]
        left_n = q.remaining(cat.conn, state.filter, who)
        st.caption(f"{left_n} left in this subset · {state.done} decided in this session")
        card = state.card(cat.conn)
        if card is not None and st.toggle(
            "Show the source image and box",
            key="q_show_source",
            help="Of the face the server last heard was on your screen.",
        ):
            _source_view(cat, card)
    with left:
        component.queue_component(view_data(cat, who), key=COMPONENT)


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


def _source_choice(choice: str) -> str:
    """A corpus by its name ("MMI: its labels"), an import source as it is."""
    if choice.startswith(CORPUS):
        return f"{display_name(choice.removeprefix(CORPUS))}: its labels"
    return choice


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
    corpora = [CORPUS + name for name in corpora_present(cat.conn)]
    source = c[2].selectbox(
        "Source",
        [ANY, *corpora, *source_names(cat.conn)],
        format_func=_source_choice,
        key="q_source",
        persist_state="session",
    )
    corpus = source.removeprefix(CORPUS) if source in corpora else None
    qf = q.QueueFilter(
        subset,
        None if label == ANY else label,
        None if source == ANY or corpus else source,
        corpus,
    )
    state = st.session_state.get(STATE)
    if state is None or state.filter != qf:
        st.session_state[STATE] = q.start(cat.conn, qf, who)
        st.session_state[EPOCH] = st.session_state.get(EPOCH, 0) + 1
    if has_model:
        _top3_toggle(cat, who, blind)
    keys = ", ".join(f"{i + 1} {n}" for i, n in enumerate(cat.labels.names[:MAX_KEYED_LABELS]))
    st.caption(
        f"Keys: {keys}; x reject, s skip, z undo. Each key decides the face on screen; "
        "the next one is there at once."
    )
    queue_panel()
