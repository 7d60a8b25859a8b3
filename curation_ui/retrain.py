"""Retraining the dataset's model in the background while annotators keep working.

A :class:`RetrainJob` runs ``model.train.train`` in a thread with its own
catalog connection (SQLite connections stay in the thread that opened them)
and keeps the latest :class:`~core.contract.Progress`; pages read a
:class:`JobStatus` snapshot of it. One job per dataset: the app keeps the jobs
in a :class:`RetrainJobs` registry, so a second click, from any session, shows
the running job instead of starting another.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from catalog.dataset import Catalog
from core.contract import Progress
from core.errors import FacesiftError, one_line
from curation_ui.roles import User, require
from model.train import TrainOptions, TrainSummary, train


@dataclass(frozen=True)
class JobStatus:
    """What a retraining job is doing: running with its progress, done, or failed."""

    running: bool
    progress: Progress | None = None
    summary: TrainSummary | None = None
    error: str | None = None

    @property
    def text(self) -> str:
        """One line for the page."""
        if self.error:
            return f"Retraining failed: {self.error}"
        if self.summary is not None:
            return self.summary.line()
        p = self.progress
        if p is None:
            return "Retraining: starting…"
        of = f" of {p.total}" if p.total else ""
        return f"Retraining: {p.detail or p.unit} ({p.done}{of})"


class RetrainJob:
    """One background training run of a dataset's model."""

    def __init__(self, root: Path, dataset: str, opts: TrainOptions):
        self._root, self._dataset, self._opts = root, dataset, opts
        self._lock = threading.Lock()
        self._status = JobStatus(running=True)
        self._thread = threading.Thread(target=self._run, name="facesift-retrain", daemon=True)

    def start(self) -> RetrainJob:
        """Start the training thread; returns the job."""
        self._thread.start()
        return self

    def status(self) -> JobStatus:
        """A snapshot of the job's state."""
        with self._lock:
            return self._status

    def wait(self, timeout: float | None = None) -> JobStatus:
        """Wait for the job to end (or ``timeout`` seconds); return its state."""
        self._thread.join(timeout)
        return self.status()

    def _progress(self, p: Progress) -> None:
        with self._lock:
            self._status = replace(self._status, progress=p)

    def _run(self) -> None:
        try:
            with Catalog.open(self._root, self._dataset, create=False) as cat:
                summary = train(cat, self._opts, on_progress=self._progress)
        except FacesiftError as e:
            outcome = JobStatus(False, self.status().progress, error=one_line(str(e)))
        except Exception as e:  # shown on the page, never lost in a thread
            outcome = JobStatus(False, self.status().progress, error=f"{type(e).__name__}: {e}")
        else:
            outcome = JobStatus(False, self.status().progress, summary=summary)
        with self._lock:
            self._status = outcome


class RetrainJobs:
    """The retraining jobs of this app process, one per dataset folder."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Path, RetrainJob] = {}

    def get(self, cat: Catalog) -> RetrainJob | None:
        """The dataset's latest job (running or ended), or None."""
        with self._lock:
            return self._jobs.get(cat.paths.dir)

    def start(self, user: User, cat: Catalog, opts: TrainOptions) -> RetrainJob:
        """Start retraining the dataset's model (admins only) unless a job is running."""
        require(user, "model")
        with self._lock:
            job = self._jobs.get(cat.paths.dir)
            if job is None or not job.status().running:
                job = RetrainJob(cat.paths.root, cat.paths.name, opts).start()
                self._jobs[cat.paths.dir] = job
            return job
