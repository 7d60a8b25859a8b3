"""The one executor: every engine gives each batch's results once, loads a worker's state
once, survives an item that kills its worker, and refuses what it cannot run in one line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.executor import (
    ExecutorError,
    Job,
    WorkerCrashed,
    batched,
    default_workers,
    open_executor,
)
from tests.conftest import REPO, alive, gone_within
from tests.core import jobs

distributed = pytest.importorskip("distributed", reason="the cluster extra is not installed")

ENGINES = [
    pytest.param({"workers": 0}, id="inline"),
    pytest.param({"workers": 2}, id="local-pool"),
    pytest.param({"workers": 2, "may_fork": False}, id="local-pool-forkserver"),
    pytest.param({"scheduler": "local", "workers": 2}, id="dask-local", marks=pytest.mark.slow),
]


def run_all(engine: dict, job: Job, items: list, size: int = 3) -> list[tuple[list, list]]:
    with open_executor(**engine) as ex:
        return list(ex.map(job, batched(items, size)))


@pytest.mark.parametrize("engine", ENGINES)
def test_every_batch_once_with_its_results_and_the_state_loaded_once_per_worker(engine):
    items = list(range(40))
    out = run_all(engine, Job(jobs.square, jobs.load_token, "cfg"), items)
    seen = [x for batch, _ in out for x in batch]
    assert sorted(seen) == items  # every item once, none twice
    for batch, results in out:
        assert [r[0] for r in results] == [x * x for x in batch]
    tokens: dict[int, set[float]] = {}
    for _, results in out:
        for _, pid, token in results:
            tokens.setdefault(pid, set()).add(token)
    # One load per process: a process that loaded the state twice would hold two tokens.
    assert all(len(t) == 1 for t in tokens.values()), tokens
    if engine.get("workers"):
        assert os.getpid() not in tokens  # the work ran in worker processes


@pytest.mark.slow
def test_a_local_cluster_runs_its_tasks_without_dasks_profiler():
    """A LocalCluster facesift starts samples no task's stack every 10 ms (work nobody
    reads without a dashboard); this process's own Dask setting is left as it was."""
    import dask

    out = run_all({"scheduler": "local", "workers": 2}, Job(jobs.profiling), list(range(8)), 2)
    answers = {r for _, results in out for r in results}
    assert answers and all(not on for _, on in answers)
    assert os.getpid() not in {pid for pid, _ in answers}
    assert dask.config.get("distributed.worker.profile.enabled") is True


def test_results_come_in_completion_order():
    """A slow first batch does not hold back the others (the driver writes as they come)."""
    job = Job(jobs.slow_square, jobs.load_token, "cfg")
    with open_executor(workers=2) as ex:
        order = [batch[0] for batch, _ in ex.map(job, [[1, 2, 3, 4, 5, 6], [7], [8], [9]])]
    assert order[0] != 1 and order[-1] == 1


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_an_item_that_kills_its_worker_costs_that_item_only(engine):
    items = list(range(20))
    job = Job(jobs.die_on_13, jobs.load_token, "cfg", crashed=lambda x: ("crashed", x))
    out = run_all(engine, job, items, size=4)
    results = {x: r for batch, rs in out for x, r in zip(batch, rs, strict=True)}
    assert sorted(results) == items
    assert results[13] == ("crashed", 13)
    assert all(results[x][0] == x * x for x in items if x != 13)


def test_without_a_crashed_result_a_crash_stops_the_run_in_one_line():
    job = Job(jobs.die_on_13, jobs.load_token, "cfg")
    with pytest.raises(WorkerCrashed, match="killed its worker"), open_executor(workers=1) as ex:
        list(ex.map(job, [[12, 13]]))


@pytest.mark.slow
def test_a_dask_worker_killed_mid_task_has_its_batch_run_again_elsewhere(tmp_path):
    """kill -9 of one LocalCluster worker while it runs a batch: the batch runs on another
    worker and every item's result arrives exactly once."""
    job = Job(jobs.slow_square, jobs.load_token, "cfg", crashed=lambda x: ("crashed", x))
    items = list(range(16))
    with open_executor(scheduler="local", workers=2) as ex:
        pids = list(ex._client.run(os.getpid).values())
        out = []
        for i, pair in enumerate(ex.map(job, batched(items, 2))):
            out.append(pair)
            if i == 0:
                os.kill(pids[0], signal.SIGKILL)
    seen = [x for batch, _ in out for x in batch]
    assert sorted(seen) == items
    assert all(r[0] == x * x for batch, rs in out for x, r in zip(batch, rs, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("peer", ["closed", "silent", "http"])
def test_an_address_without_a_scheduler_is_one_line_within_ten_seconds(peer):
    """Nobody listening, a port that accepts and never answers, a web server: each is one
    line within 10 s (Dask's own timeout misses the last two)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()
    if peer == "closed":
        server.close()
    else:
        server.listen()

        def serve() -> None:
            server.settimeout(0.2)
            held = []
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                held.append(conn)
                if peer == "http":
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            for c in held:
                c.close()
            server.close()

        threading.Thread(target=serve, daemon=True).start()
    address = f"tcp://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        with (
            pytest.raises(ExecutorError, match=f"no Dask scheduler answers at {address}") as e,
            open_executor(scheduler=address, workers=1),
        ):
            pass
    finally:
        stop.set()
    assert time.monotonic() - started < 10
    assert "\n" not in str(e.value)


def test_a_bad_address_and_a_missing_dask_are_one_line_errors(monkeypatch):
    with (
        pytest.raises(ExecutorError, match="give 'local' or an address"),
        open_executor(scheduler="myhost", workers=1),
    ):
        pass
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    with (
        pytest.raises(ExecutorError, match=r"pip install 'facesift\[cluster\]'") as e,
        open_executor(scheduler="local", workers=1),
    ):
        pass
    assert "\n" not in str(e.value)


def test_default_workers_are_the_cores_this_process_may_use():
    assert default_workers() == len(os.sched_getaffinity(0))


DRIVER = """
import sys
from core.executor import Job, open_executor
from tests.core import jobs
folder = sys.argv[2]
engine = {
    "pool": {"workers": 2},
    # Where a dlib network is loaded the pool starts its workers from a forkserver:
    # their parent is the server, not the driver.
    "forkserver": {"workers": 2, "may_fork": False},
    "dask": {"scheduler": "local", "workers": 2},
}[sys.argv[1]]
with open_executor(**engine) as ex:
    list(ex.map(Job(jobs.note_pid_then_sleep), [[folder], [folder]]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pool", "forkserver", "dask"])
def test_workers_die_with_their_driver(engine, tmp_path):
    """SIGKILL of the driver: no worker process of its is alive 5 s later."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(DRIVER), engine, str(tmp_path)],
        cwd=REPO,
        start_new_session=True,  # a group of its own, but only the driver is killed
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "the driver ended early"
            time.sleep(0.1)
        workers = [int(p.read_text()) for p in tmp_path.glob("*.pid")]
        assert len(workers) == 2 and all(alive(p) for p in workers)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert gone_within(workers, 5), "a worker outlived its driver by 5 s"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for p in Path(tmp_path).glob("*.pid"):
            with contextlib.suppress(OSError):
                os.kill(int(p.read_text()), signal.SIGKILL)


def test_map_in_order_gives_every_item_in_the_order_given():
    """Batches finish out of order (a slow first one); the driver still sees item order."""
    from core.executor import map_in_order

    job = Job(jobs.slow_square, jobs.load_token, "cfg")
    items = [3, 1, 4, 1, 5, 9, 2, 6]
    with open_executor(workers=2) as ex:
        out = list(map_in_order(ex, job, items, 2))
    assert [x for x, _ in out] == items
    assert [r[0] for _, r in out] == [x * x for x in items]
