"""Long jobs as catalog rows: one running job per kind, for every process and session.

A job (a retrain, an import, an extract, an export the review app starts) is a row
of ``jobs`` with its state (``running``, ``done``, ``failed``), who started it and
when, the process running it (pid and host), a heartbeat (seconds since the epoch)
and a one-line detail (its progress, then its outcome). The partial unique index
``jobs_one_running`` lets one row per kind be ``running``: :func:`start_job` is an
INSERT that the index refuses while another runs, so two starts at the same instant
cannot both win. A job whose process is gone (its pid no longer runs on this host)
or whose heartbeat is older than :data:`STALE_SECONDS` is marked failed by the next
:func:`start_job` or :func:`current_job`: a crash never locks a feature for good.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from dataclasses import dataclass

from catalog.db import transaction, utc_now
from core.errors import FacesiftError, one_line
from core.processes import alive

STATES = ("running", "done", "failed")
STALE_SECONDS = 120.0  # no heartbeat for this long: the job's process is taken as dead
HEARTBEAT_SECONDS = 10.0  # how often a running job's process says it is alive
DIED = "its process ended without finishing it"

_COLUMNS = (
    "id, kind, state, started_by, started_at, ended_at, pid, host, heartbeat, done, total, detail"
)


class JobRunning(FacesiftError):
    """A job of this kind is already running (started by someone, somewhere)."""


@dataclass(frozen=True)
class JobRow:
    """One job as the catalog holds it."""

    id: int
    kind: str
    state: str
    started_by: str
    started_at: str
    ended_at: str | None
    pid: int
    host: str
    heartbeat: float
    done: int | None
    total: int | None
    detail: str

    @property
    def running(self) -> bool:
        return self.state == "running"

    def busy_line(self) -> str:
        """Why a second job of this kind is refused, in one line."""
        return one_line(
            f"{self.kind} job {self.id} is already running (started by {self.started_by} "
            f"at {self.started_at}, pid {self.pid} on {self.host}); wait for it to end"
        )


def this_host() -> str:
    """The name this machine's jobs are recorded under."""
    return socket.gethostname() or "localhost"


def is_dead(job: JobRow, now: float, host: str | None = None) -> bool:
    """Whether a running job's process is gone: its pid ended here, or its heartbeat is stale."""
    if now - job.heartbeat > STALE_SECONDS:
        return True
    return job.host == (host or this_host()) and not alive(job.pid)


def start_job(
    conn: sqlite3.Connection,
    kind: str,
    started_by: str,
    *,
    detail: str = "",
    pid: int | None = None,
    host: str | None = None,
    now: float | None = None,
) -> JobRow:
    """Record a running job of ``kind``; :class:`JobRunning` (one line) if one runs.

    A running job of this kind whose process is dead is marked failed first.
    """
    now = time.time() if now is None else now
    with transaction(conn):
        _reclaim_dead(conn, kind, now)
        try:
            cur = conn.execute(
                "INSERT INTO jobs (kind, state, started_by, started_at, pid, host, heartbeat, "
                "detail) VALUES (?, 'running', ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    started_by,
                    utc_now(),
                    os.getpid() if pid is None else pid,
                    host or this_host(),
                    now,
                    one_line(detail),
                ),
            )
        except sqlite3.IntegrityError:
            running = _running(conn, kind)
            raise JobRunning(
                running.busy_line() if running else f"a {kind} job is already running"
            ) from None
        return _job(conn, cur.lastrowid)


def heartbeat(
    conn: sqlite3.Connection,
    job_id: int,
    *,
    done: int | None = None,
    total: int | None = None,
    detail: str | None = None,
    now: float | None = None,
) -> bool:
    """Say the job is alive (with its progress, when given); False if it is no longer running."""
    cur = conn.execute(
        "UPDATE jobs SET heartbeat = ?, done = coalesce(?, done), total = coalesce(?, total), "
        "detail = coalesce(?, detail) WHERE id = ? AND state = 'running'",
        (
            time.time() if now is None else now,
            done,
            total,
            None if detail is None else one_line(detail),
            job_id,
        ),
    )
    return cur.rowcount == 1


def finish_job(conn: sqlite3.Connection, job_id: int, state: str, detail: str) -> None:
    """End a running job as ``done`` or ``failed`` with its one-line outcome."""
    if state not in ("done", "failed"):
        raise ValueError(f"a job ends done or failed, not {state!r}")
    conn.execute(
        "UPDATE jobs SET state = ?, ended_at = ?, detail = ? WHERE id = ? AND state = 'running'",
        (state, utc_now(), one_line(detail), job_id),
    )


def current_job(conn: sqlite3.Connection, kind: str, *, now: float | None = None) -> JobRow | None:
    """The latest job of ``kind`` (running or ended), a dead running one marked failed first."""
    now = time.time() if now is None else now
    running = _running(conn, kind)
    if running is not None and is_dead(running, now):
        with transaction(conn):
            _reclaim_dead(conn, kind, now)
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
    ).fetchone()
    return JobRow(*row) if row else None


def _reclaim_dead(conn: sqlite3.Connection, kind: str, now: float) -> None:
    running = _running(conn, kind)
    if running is not None and is_dead(running, now):
        finish_job(conn, running.id, "failed", f"{running.detail} ({DIED})".strip())


def _running(conn: sqlite3.Connection, kind: str) -> JobRow | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE kind = ? AND state = 'running'", (kind,)
    ).fetchone()
    return JobRow(*row) if row else None


def _job(conn: sqlite3.Connection, job_id: int) -> JobRow:
    return JobRow(*conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone())
