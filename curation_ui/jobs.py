"""The review app's long jobs (retrain, import, extract, export), each a row of ``jobs``.

:meth:`AppJob.start` records the job in the catalog (refused, one line, while another
of its kind runs: :class:`catalog.jobs.JobRunning`), then a thread with its own
connection beats its heartbeat and writes its latest progress about once a second;
leaving the ``with`` block ends the row as done or failed with a one-line outcome.
Nothing is kept in the app process's caches: whatever a client sends (Streamlit's
``clear_cache`` empties ``st.cache_resource``), every session of every process sees
the same rows.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable

from catalog.dataset import Catalog, DatasetPaths
from catalog.db import connect
from catalog.jobs import HEARTBEAT_SECONDS, JobRow, finish_job, heartbeat, start_job
from core.contract import Progress
from core.errors import FacesiftError, one_line

BEAT_SECONDS = 1.0  # how often the latest progress reaches the row (the pages poll each second)
Describe = Callable[[Progress], str]


def progress_line(title: str) -> Describe:
    """``"<title>: <detail or unit> (<done> of <total>)"``: a job's running detail."""

    def describe(p: Progress) -> str:
        of = f" of {p.total}" if p.total else ""
        return f"{title}: {p.detail or p.unit} ({p.done}{of})"

    return describe


def error_line(e: BaseException) -> str:
    """A failed job's outcome: a FacesiftError's own line, else the exception's type too."""
    if isinstance(e, FacesiftError):
        return one_line(str(e))
    return one_line(f"{type(e).__name__}: {e}")


class AppJob:
    """A running job's row, kept alive by a heartbeat thread until it ends."""

    def __init__(
        self, paths: DatasetPaths, row: JobRow, describe: Describe, conn: sqlite3.Connection
    ):
        self.paths, self.row, self._describe = paths, row, describe
        self.outcome = "done"  # the detail a successful job ends with (set by its work)
        self._latest: Progress | None = None
        self._stop = threading.Event()
        self._conn = conn  # the heartbeat's own (the job's work may hold the caller's busy)
        self._beats = threading.Thread(target=self._beat, name=f"job-{row.id}", daemon=True)

    @classmethod
    def start(cls, cat: Catalog, kind: str, started_by: str, title: str) -> AppJob:
        """Record a running job of ``kind`` and start its heartbeat (JobRunning if one runs)."""
        conn = connect(cat.paths.catalog)  # first: a row is never left without its heartbeat
        try:
            row = start_job(cat.conn, kind, started_by, detail=f"{title}: starting")
        except BaseException:
            conn.close()
            raise
        job = cls(cat.paths, row, progress_line(title), conn)
        job._beats.start()
        return job

    @property
    def id(self) -> int:
        return self.row.id

    def progress(self, p: Progress) -> None:
        """The job's progress callback (any thread): the heartbeat thread writes the latest."""
        self._latest = p

    def finish(self, state: str, detail: str) -> None:
        """Stop the heartbeat and end the row (once)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._beats.join()
        try:
            finish_job(self._conn, self.id, state, detail)
        except sqlite3.Error:  # a full disk: the row goes stale and the next look fails it
            pass
        finally:
            self._conn.close()

    def __enter__(self) -> AppJob:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.finish("done", self.outcome)
        else:
            self.finish("failed", error_line(exc))

    def _beat(self) -> None:
        written: Progress | None = None
        last = time.time()
        while not self._stop.wait(BEAT_SECONDS):
            p, now = self._latest, time.time()
            if p is written and now - last < HEARTBEAT_SECONDS:
                continue
            with contextlib.suppress(sqlite3.Error):  # busy or full: the next beat tries again
                if p is None:
                    heartbeat(self._conn, self.id, now=now)
                else:
                    heartbeat(
                        self._conn,
                        self.id,
                        done=p.done,
                        total=p.total,
                        detail=self._describe(p),
                        now=now,
                    )
                written, last = p, now


def run_as_job(cat: Catalog, kind: str, started_by: str, title: str, work, *args, **kwargs):
    """``work(*args, on_progress=..., **kwargs)`` in this thread, recorded as a job of ``kind``.

    Refused (:class:`catalog.jobs.JobRunning`) while another job of that kind runs.
    """
    with AppJob.start(cat, kind, started_by, title) as job:
        result = work(
            *args, on_progress=_both(job.progress, kwargs.pop("on_progress", None)), **kwargs
        )
        line = getattr(result, "line", None)
        job.outcome = line() if callable(line) else job.outcome
        return result


def _both(first: Callable[[Progress], None], second: Callable[[Progress], None] | None):
    if second is None:
        return first

    def both(p: Progress) -> None:
        first(p)
        second(p)

    return both
