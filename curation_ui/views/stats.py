"""Stats: counts by label and status, per query and annotator, balance, quality, agreement."""

from __future__ import annotations

import streamlit as st

from catalog import annotators as ann
from catalog.agreement import agreement_of, disputed_count, face_decisions
from catalog.corpus_votes import corpus_agreement, display_name
from catalog.settings import labels_per_face
from catalog.stats import summary
from curation_ui import session
from curation_ui import stats as s


def render() -> None:
    """The Stats page."""
    cat = session.catalog()
    conn = cat.conn
    st.header("Stats")
    data = summary(cat)
    m = st.columns(6)
    m[0].metric("Images", data["images"]["ok"])
    m[1].metric("Faces", data["faces"])
    m[2].metric("Pending", data["status"]["pending"])
    m[3].metric("Accepted", data["status"]["accepted"])
    m[4].metric("Rejected", data["status"]["rejected"])
    m[5].metric("Label events", data["label_events"])

    table = s.label_status_table(conn, cat.labels.names)
    left, right = st.columns(2)
    with left:
        st.subheader("By label and status")
        st.dataframe(table, width="stretch")
    with right:
        st.subheader("Class balance")
        balance = table.loc[list(cat.labels.names), ["accepted", "pending"]]
        st.bar_chart(balance, stack=True, height=280)

    st.subheader("Agreement")
    # One reading of the decisions for both sections; capped to stay quick on huge vote imports.
    decisions = face_decisions(conn, 2, limit=20_000)
    ag = agreement_of(decisions, disputed_count(conn))
    a = st.columns(4)
    a[0].metric("Faces with 2+ annotators", ag.faces)
    a[1].metric("Unanimous", ag.unanimous)
    a[2].metric("Pairwise agreement", "-" if ag.pairwise is None else f"{ag.pairwise:.0%}")
    a[3].metric("Fleiss' kappa", "-" if ag.kappa is None else f"{ag.kappa:.2f}")
    st.caption(f"{ag.disputed} faces are left pending by a tie between annotators.")
    _corpora(cat)

    st.subheader("Quality")
    h = st.columns(2)
    with h[0]:
        st.caption("Face size (source pixels)")
        st.bar_chart(s.histogram(conn, "size_px", 20, 400), height=220)
    with h[1]:
        st.caption("Sharpness (variance of the Laplacian)")
        st.bar_chart(s.histogram(conn, "sharpness", 50, 1000), height=220)

    st.subheader("Per query")
    st.dataframe(s.per_query_table(conn), hide_index=True, width="stretch")
    st.subheader("Per annotator")
    st.dataframe(s.per_annotator_table(conn), hide_index=True, width="stretch")
    _second_opinions(cat, decisions)


CORPUS_FACES = 20_000  # faces read for the corpus tables at most (quick on huge corpora)


def _corpora(cat) -> None:
    """Per corpus: how often the people who relabelled its faces kept its label."""
    found = corpus_agreement(cat.conn, limit=CORPUS_FACES)
    if not found:
        return
    st.subheader("Agreement with the corpora")
    st.caption(
        "Faces a corpus labelled that people decided too: the corpus's label (rows) against "
        "people's final label (columns: every vote but the corpus's own)."
    )
    for ag in found:
        name = display_name(ag.corpus)
        rate = "-" if ag.rate is None else f"{ag.rate:.0%}"
        st.markdown(
            f"**{name}**: people agree with {name} on {ag.agreed} of {ag.decided} decided "
            f"faces ({rate}); {ag.faces - ag.decided} undecided"
        )
        st.dataframe(s.corpus_table(ag, cat.labels.names), width="stretch")


def _second_opinions(cat, decisions) -> None:
    """Who sides with the others, Fleiss' kappa at K decisions, and the labels people swap."""
    k = labels_per_face(cat.conn)
    st.subheader("Second opinions")
    n, kappa = ann.fleiss_kappa_at(decisions, k)
    m = st.columns(3)
    m[0].metric("Labels per face (K)", k)
    m[1].metric(f"Faces with {max(k, 2)}+ decisions", n)
    m[2].metric(f"Fleiss' kappa at {max(k, 2)}", "-" if kappa is None else f"{kappa:.2f}")
    rows = [
        {
            "annotator": r.annotator,
            "faces decided": r.faces,
            "compared": r.compared,
            "agrees with the others' majority": r.agreement,
        }
        for r in ann.per_annotator(decisions, ann.decided_counts(cat.conn))
    ]
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "agrees with the others' majority": st.column_config.NumberColumn(format="percent")
        },
    )
    if decisions:
        st.caption("Which decisions meet on the same face (pairs of annotators; rows x columns)")
        st.dataframe(ann.confusion(decisions, (*cat.labels.names, "reject")), width="stretch")
