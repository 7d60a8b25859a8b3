"""Jobs as catalog rows: one running per kind for everybody, a dead one reclaimed."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from catalog.db import connect
from catalog.jobs import (
    DIED,
    STALE_SECONDS,
    JobRunning,
    current_job,
    finish_job,
    heartbeat,
    start_job,
)


def test_two_concurrent_starts_leave_exactly_one_running(catalog):
    # Two connections (as two app processes have), started at the same instant, many times.
    conns = [connect(catalog.paths.catalog) for _ in range(2)]
    try:
        for round_ in range(20):
            barrier, outcomes = threading.Barrier(2), []

            def go(conn, who, barrier=barrier, outcomes=outcomes):
                barrier.wait()
                try:
                    outcomes.append(start_job(conn, "retrain", who))
                except JobRunning as e:
                    outcomes.append(str(e))

            threads = [threading.Thread(target=go, args=(c, f"u{i}")) for i, c in enumerate(conns)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            started = [o for o in outcomes if not isinstance(o, str)]
            refused = [o for o in outcomes if isinstance(o, str)]
            assert len(started) == 1 and len(refused) == 1, outcomes
            job = started[0].id
            assert refused[0].startswith(f"retrain job {job} is already running (started by ")
            assert "\n" not in refused[0] and started[0].started_by in refused[0]
            finish_job(catalog.conn, started[0].id, "done", f"round {round_}")
    finally:
        for c in conns:
            c.close()
    n = catalog.conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'done'").fetchone()[0]
    assert n == 20


def test_other_kinds_run_beside_and_an_ended_job_frees_its_kind(catalog):
    a = start_job(catalog.conn, "retrain", "bo")
    start_job(catalog.conn, "import", "bo")  # another kind: allowed
    with pytest.raises(JobRunning):
        start_job(catalog.conn, "retrain", "al")
    finish_job(catalog.conn, a.id, "failed", "boom")
    assert current_job(catalog.conn, "retrain").state == "failed"
    b = start_job(catalog.conn, "retrain", "al")
    assert b.running and current_job(catalog.conn, "retrain").id == b.id


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_job_whose_process_died_is_reclaimed_on_the_next_look(catalog):
    dead = start_job(catalog.conn, "retrain", "bo", pid=_dead_pid(), detail="Retraining: fold 1")
    job = current_job(catalog.conn, "retrain")
    assert job.id == dead.id and job.state == "failed"
    assert job.detail == f"Retraining: fold 1 ({DIED})"
    assert start_job(catalog.conn, "retrain", "al").running


def test_a_job_without_heartbeat_is_reclaimed_even_on_another_host(catalog):
    # Its pid cannot be checked from here (another host): only the heartbeat tells.
    old = start_job(catalog.conn, "extract", "bo", host="elsewhere", pid=1, now=1000.0)
    assert heartbeat(catalog.conn, old.id, done=3, total=9, now=1000.0 + STALE_SECONDS / 2)
    assert current_job(catalog.conn, "extract", now=1000.0 + STALE_SECONDS).running  # beating
    with pytest.raises(JobRunning):
        start_job(catalog.conn, "extract", "al", now=1000.0 + STALE_SECONDS)
    later = 1000.0 + STALE_SECONDS * 2
    new = start_job(catalog.conn, "extract", "al", now=later)
    assert new.running
    row = catalog.conn.execute("SELECT state, done, total FROM jobs WHERE id = ?", (old.id,))
    assert tuple(row.fetchone()) == ("failed", 3, 9)
    assert not heartbeat(catalog.conn, old.id)  # an ended job takes no heartbeat
