"""Retraining the dataset's model in the background while annotators keep working.

A retrain is a job of the catalog (:mod:`curation_ui.jobs`, kind ``retrain``): a
second one while one runs is refused for every session and every app process, and
no client message can make the app forget it (nothing is kept in
``st.cache_resource``). The training runs in a thread with its own catalog
connection (SQLite connections stay in the thread that opened them); pages read
the job's row: its progress while it runs, then its one-line outcome.
"""

from __future__ import annotations

import threading

from catalog.dataset import Catalog
from catalog.jobs import JobRow, current_job
from curation_ui.jobs import AppJob
from curation_ui.roles import User, require
from model.train import TrainOptions, train

KIND = "retrain"


def start_retrain(user: User, cat: Catalog, opts: TrainOptions) -> AppJob:
    """Start retraining the dataset's model (admins only); JobRunning while one runs."""
    require(user, "model")
    job = AppJob.start(cat, KIND, user.name, "Retraining")
    threading.Thread(target=_train, args=(job, opts), name="facesift-retrain", daemon=True).start()
    return job


def retrain_job(cat: Catalog) -> JobRow | None:
    """The dataset's latest retrain (running or ended), or None."""
    return current_job(cat.conn, KIND)


def _train(job: AppJob, opts: TrainOptions) -> None:
    try:
        with job, Catalog.open(job.paths.root, job.paths.name, create=False) as cat:
            job.outcome = train(cat, opts, on_progress=job.progress).line()
    except Exception:  # recorded in the job's row by its `with`; a thread has no one to tell
        pass
