"""The banner the review pages show when the model is older than the labels.

More than ``model.store.STALE_AFTER`` label events since the model was trained:
a warning, and for admins a button that retrains it in the background (see
:mod:`curation_ui.retrain`) with its progress shown here until it ends.
"""

from __future__ import annotations

import streamlit as st

from catalog.dataset import Catalog
from curation_ui import session
from curation_ui.model_hints import model_age
from curation_ui.retrain import retrain_job, start_retrain
from curation_ui.roles import PermissionRefused, allowed
from model.train import TrainOptions

MSG = "mb_msg"
SEEN = "mb_seen"  # the id of the ended job whose outcome this session has been shown


@session.shows_errors
def _on_retrain() -> None:
    cat = session.catalog()
    age = model_age(cat)
    opts = TrainOptions()
    if age is not None:  # retrain as the model was trained
        o = age.model.options
        opts = TrainOptions(
            include_pending=bool(o.get("include_pending", False)),
            folds=int(o.get("folds", opts.folds)),
            seed=int(o.get("seed", opts.seed)),
        )
    try:
        start_retrain(session.user(), cat, opts)
    except PermissionRefused as e:
        session.say(MSG, str(e), "warn")


@st.fragment(run_every=1.0)
def _progress() -> None:
    job = retrain_job(session.catalog())  # read again each second: the row is the truth
    if job is not None and job.running:
        fraction = job.done / job.total if job.done is not None and job.total else 0.0
        st.progress(min(max(fraction, 0.0), 1.0), text=job.detail)
    else:
        st.rerun()  # the whole page: the new model's guesses, sorts and banner


def render(cat: Catalog) -> None:
    """The model's banner: retraining progress, its outcome once, or the stale warning."""
    session.message(MSG)
    job = retrain_job(cat)
    if job is not None:
        if job.running:
            _progress()
            return
        if st.session_state.get(SEEN) != job.id:
            st.session_state[SEEN] = job.id
            if job.state == "failed":
                st.error(f"Retraining failed: {job.detail}")
            else:
                st.success(job.detail)
    age = model_age(cat)
    if age is None or not age.stale:
        return
    cols = st.columns([5, 1])
    cols[0].warning(
        f"The model is older than the labels: {age.new_events} label events since model "
        f"{age.model.id} was trained (more than {age.stale_after})."
    )
    if allowed(session.user().role, "model"):
        cols[1].button("Retrain the model", key="mb_retrain", on_click=_on_retrain)
    else:
        cols[1].caption("An admin can retrain it.")
