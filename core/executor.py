"""The one executor for per-image work: a pure function over batches, locally or on Dask.

A stage describes its work as a :class:`Job`: ``run(state, batch) -> results``, where
``state = setup(config)`` is loaded once per worker process (dlib's models, say) and
never shipped per task. :func:`open_executor` gives an engine that runs the batches and
yields ``(batch, results)`` in completion order:

- ``inline``: in this process (small work, or one image);
- the local process pool (the default): one process per core this process may use,
  forked only while no dlib network is loaded here, surviving a worker that dies;
- Dask (``--scheduler local`` for a LocalCluster here, ``tcp://HOST:PORT`` for a running
  scheduler), in the optional extra ``facesift[cluster]``.

Workers are pure: what they return travels back to the driver, which alone writes the
catalog and the store (one SQLite writer, no shared filesystem needed). A batch whose
worker dies is run again one item at a time, so only an item that kills a worker on its
own is lost, as the job's ``crashed`` result.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from core.contract import option
from core.errors import FacesiftError
from core.processes import die_with_parent

T = TypeVar("T")  # an item of work
R = TypeVar("R")  # its result

CLUSTER_EXTRA = "facesift[cluster]"
CONNECT_TIMEOUT_S = 5  # an address where no scheduler answers is an error within this
IN_FLIGHT_PER_WORKER = 2  # batches running or queued per worker: fed, yet bounded memory
MAX_WORKERS = 1024  # past any one machine's cores or a LocalCluster's sense; a typo's guard


class ExecutorError(FacesiftError):
    """The executor cannot run as asked (no Dask, no scheduler at the address, ...)."""


class WorkerCrashed(FacesiftError):
    """An item killed the worker that ran it, on its own, and the job has no ``crashed``."""


def scheduler_option() -> Any:
    """The ``--scheduler`` declaration every stage with per-image work shares."""
    return option(
        None,
        help="run the per-image work on Dask: 'local' starts a LocalCluster of --workers "
        f"processes here, tcp://HOST:PORT joins a running scheduler (needs {CLUSTER_EXTRA}; "
        "default: a local process pool)",
        metavar="ADDRESS",
    )


def workers_option(help: str) -> Any:
    """The ``--workers N`` declaration every stage with per-image work shares."""
    return option(None, help=help, metavar="N", low=1, high=MAX_WORKERS)


@dataclass(frozen=True)
class Job(Generic[T, R]):
    """Per-item work: ``run(setup(config), batch)`` -> one result per item, in order.

    ``run`` and ``setup`` are module-level functions and ``config`` is picklable and
    hashable: they are what travels to a worker. ``crashed(item)`` is the result for an
    item that killed a worker on its own (None: the run stops with :class:`WorkerCrashed`).
    ``preload(config)`` runs in the driver before a local pool forks its workers, so that
    they inherit what it reads (a model file) instead of each reading it again.
    """

    run: Callable[[Any, list[T]], list[R]]
    setup: Callable[[Any], Any] | None = None
    config: Any = None
    crashed: Callable[[T], R] | None = None
    preload: Callable[[Any], None] | None = None


class Executor(Protocol):
    """An engine: runs a job's batches, yields each with its results as they finish."""

    name: str
    workers: int
    shares_files: bool  # the workers read this machine's files (else send them bytes)

    def map(self, job: Job[T, R], batches: Iterable[list[T]]) -> Iterator[tuple[list[T], list[R]]]:
        """Each batch with its results, in completion order."""
        ...  # pragma: no cover

    def close(self) -> None:
        """Stop the workers (and a cluster this executor started)."""
        ...  # pragma: no cover


# --- what runs in a worker ----------------------------------------------------------

_states: dict[tuple, Any] = {}  # per worker process: a job's loaded state, by (setup, config)
_states_lock = threading.Lock()


def worker_state(setup: Callable[[Any], Any] | None, config: Any) -> Any:
    """``setup(config)``, loaded once per process (a Dask worker's threads share it)."""
    if setup is None:
        return config
    key = (setup, config)
    with _states_lock:
        if key not in _states:
            _states[key] = setup(config)
        return _states[key]


def run_batch(
    run: Callable[[Any, list[T]], list[R]], setup: Callable | None, config: Any, batch: list[T]
) -> list[R]:
    """The task every engine sends: the job's ``run`` over one batch, with its state."""
    return run(worker_state(setup, config), batch)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def map_in_order(
    executor: Executor, job: Job[T, R], items: Iterable[T], batch_size: int
) -> Iterator[tuple[T, R]]:
    """``(item, result)`` in the order of ``items``, from batches that finish in any order.

    For a driver whose writes must not depend on timing (row ids, file order). A result
    waits here only for an earlier item still running.
    """
    order: deque[T] = deque()  # items handed out and not yet yielded, oldest first

    def feed() -> Iterator[T]:
        for item in items:
            order.append(item)
            yield item

    # By id(item): the executor hands back the very item objects. One object may stand
    # twice in ``items`` (an interned int, say): its results queue up under its id.
    done: dict[int, deque[R]] = {}
    for batch, results in executor.map(job, batched(feed(), batch_size)):
        for item, result in zip(batch, results, strict=True):
            done.setdefault(id(item), deque()).append(result)
        while order and done.get(id(order[0])):
            item = order.popleft()
            queue = done[id(item)]
            result = queue.popleft()
            if not queue:
                del done[id(item)]
            yield item, result


def default_workers() -> int:
    """One worker per core this process may run on (a container's CPU set, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# --- in this process ----------------------------------------------------------------


class InlineExecutor:
    """Runs every batch here, in order: for small work, where a process costs more."""

    name = "inline"
    workers = 1
    shares_files = True

    def map(self, job: Job[T, R], batches: Iterable[list[T]]) -> Iterator[tuple[list[T], list[R]]]:
        for batch in batches:
            yield batch, run_batch(job.run, job.setup, job.config, batch)

    def close(self) -> None:
        pass


# --- the local process pool -----------------------------------------------------------


def _pool_worker_start(setup: Callable | None, config: Any, driver: int) -> None:
    die_with_parent(driver=driver)
    # A forked worker inherits the driver's loaded states: each worker loads its own
    # (a dlib network shared across fork hangs; and a state is per process by design).
    with _states_lock:
        _states.clear()
    # Ctrl-C in a terminal reaches the whole group: the driver alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker_state(setup, config)  # load the models before the first task, once


class LocalPoolExecutor:
    """A process pool on this machine that survives a worker dying.

    Fork where there is one and ``may_fork``: workers start at once with the modules
    imported, and callers need no ``if __name__ == "__main__"`` guard. Not from a process
    that has run one of dlib's networks (the app's Try it page, a test): a forked worker
    would hang on its thread pool; then forkserver (or spawn).
    """

    name = "local"
    shares_files = True

    def __init__(self, workers: int, *, may_fork: bool = True):
        self.workers = max(1, workers)
        methods = multiprocessing.get_all_start_methods()
        if may_fork and "fork" in methods:
            self._ctx = multiprocessing.get_context("fork")
        else:
            self._ctx = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn"
            )
        self._pool: ProcessPoolExecutor | None = None
        self._job_key: tuple | None = None

    def _fresh_pool(self, job: Job) -> ProcessPoolExecutor:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if job.preload is not None and self._ctx.get_start_method() == "fork":
            job.preload(job.config)
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=self._ctx,
            initializer=_pool_worker_start,
            initargs=(job.setup, job.config, os.getpid()),
        )
        self._job_key = (job.setup, job.config)
        return self._pool

    def map(self, job: Job[T, R], batches: Iterable[list[T]]) -> Iterator[tuple[list[T], list[R]]]:
        """Batches in completion order, with a bounded number in flight.

        A worker that dies (out of memory, a crash in native code) breaks the pool: the
        batches in flight are then run again one item at a time in a new pool, so only
        the item that kills a worker on its own gets ``job.crashed``.
        """
        pool = self._pool
        if pool is None or self._job_key != (job.setup, job.config):
            pool = self._fresh_pool(job)
        source = iter(batches)
        limit = self.workers * IN_FLIGHT_PER_WORKER
        inflight: dict[Future, tuple[list[T], bool]] = {}
        retry: deque[T] = deque()
        exhausted = False

        def submit(batch: list[T], isolated: bool) -> bool:
            try:
                fut = pool.submit(run_batch, job.run, job.setup, job.config, batch)
            except BrokenProcessPool:  # a worker died since: its batches come back below
                retry.extend(batch)
                return False
            inflight[fut] = (batch, isolated)
            return True

        while True:
            if retry:
                if not inflight:  # isolated: one item at a time until the retries are done
                    submit([retry.popleft()], True)
            else:
                while not exhausted and len(inflight) < limit:
                    batch = next(source, None)
                    if batch is None:
                        exhausted = True
                    elif not submit(batch, False):
                        break
            if not inflight:
                if retry:
                    pool = self._fresh_pool(job)
                    continue
                return
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                batch, isolated = inflight.pop(fut)
                try:
                    results = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if isolated:
                        yield batch, [_crashed(job, item) for item in batch]
                    else:
                        retry.extend(batch)
                    continue
                yield batch, results
            if broken:
                for batch, _ in inflight.values():
                    retry.extend(batch)
                inflight.clear()
                pool = self._fresh_pool(job)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _crashed(job: Job[T, R], item: T) -> R:
    if job.crashed is None:
        raise WorkerCrashed(f"an item killed its worker process: {item!r}"[:300])
    return job.crashed(item)


# --- Dask ------------------------------------------------------------------------------


def _distributed():
    # Dask logs a page per lost worker and a nanny warning per restart; facesift reports
    # in one line. The level must be set before distributed is first imported.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    try:
        import distributed
    except ImportError:
        raise ExecutorError(
            f"--scheduler needs Dask: pip install '{CLUSTER_EXTRA}' (or dask[distributed])"
        ) from None
    return distributed


class DaskExecutor:
    """Batches as Dask tasks: on a LocalCluster started here, or on a running scheduler.

    Dask runs a task again elsewhere when its worker dies; a task that keeps killing
    workers ends as ``KilledWorker``, and its batch is then run one item at a time here
    too, so only the item that kills a worker on its own gets ``job.crashed``.
    """

    name = "dask"

    def __init__(self, address: str, workers: int):
        distributed = _distributed()
        self._cluster = None
        # Dask's own logging would print a page per lost worker; facesift reports in one line.
        for name in ("distributed", "distributed.worker", "distributed.nanny", "distributed.core"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self._client = None
        self.shares_files = address == "local"  # a LocalCluster runs on this machine
        if address == "local":
            self._cluster = _local_cluster(distributed, workers)
            self._client = distributed.Client(self._cluster, set_as_default=False)
            from core.dask_plugins import DieWithParent

            self._client.register_plugin(DieWithParent(), name="facesift-die-with-parent")
        else:
            self._client = _connect(distributed, address)
        info = self._client.scheduler_info()
        self.workers = max(1, sum(w.get("nthreads", 1) for w in info["workers"].values()))
        self.address = self._client.scheduler.address

    def map(self, job: Job[T, R], batches: Iterable[list[T]]) -> Iterator[tuple[list[T], list[R]]]:
        """Batches in completion order. A batch that ends as ``KilledWorker`` (a worker
        died under it again and again) is run again one item at a time, alone on the
        cluster: a worker may hold a second task, which would share the blame."""
        killed = _distributed().KilledWorker
        source = iter(batches)
        pending = _distributed().as_completed(loop=self._client.loop)
        owner: dict[str, tuple[list[T], bool]] = {}
        retry: deque[T] = deque()
        limit = self.workers * IN_FLIGHT_PER_WORKER
        exhausted = False

        def submit(batch: list[T], isolated: bool) -> None:
            fut = self._client.submit(run_batch, job.run, job.setup, job.config, batch, pure=False)
            owner[fut.key] = (batch, isolated)
            pending.add(fut)

        while True:
            if retry:
                if not owner:
                    submit([retry.popleft()], True)
            else:
                while not exhausted and len(owner) < limit:
                    batch = next(source, None)
                    if batch is None:
                        exhausted = True
                    else:
                        submit(batch, False)
            if not owner:
                return
            fut = next(pending)
            batch, isolated = owner.pop(fut.key)
            try:
                results = fut.result()
            except killed:
                if isolated:
                    yield batch, [_crashed(job, item) for item in batch]
                else:
                    retry.extend(batch)
                continue
            finally:
                fut.release()
            yield batch, results

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._client is not None:
                self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
            self._cluster = None


def _local_cluster(distributed, workers: int):
    """A LocalCluster of ``workers`` single-threaded processes on this machine.

    Without Dask's statistical profiler in its workers: it samples the running task's
    stack every 10 ms, work the per-image tasks pay for and nobody reads here (no
    dashboard). Dask against the local pool on the 2,000 photos of bench_cluster.py:
    0.89 and 0.92x with it, 0.93, 0.93 and 0.95x without. A running cluster's workers
    keep their own configuration (``distributed.worker.profile.enabled``).
    """
    import dask

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return distributed.LocalCluster(
            n_workers=max(1, workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # Else the scheduler's HTTP server still takes :8787 (a second run warns).
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )


def _connect(distributed, address: str):
    """A client of the scheduler at ``address``, or a one-line error within a few seconds.

    Dask's own ``timeout`` covers the connection but not the handshake: a port that
    accepts and never answers would hang for ever, and one that answers HTTP fails
    oddly (a huge frame length). The client is made in a thread with a hard deadline.
    """
    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = distributed.Client(
                address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False
            )
        except BaseException as e:  # reported below, in one line
            box["error"] = e

    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S + 2)
    if "client" in box:
        return box["client"]
    why = box.get("error")
    late = f"no answer within {CONNECT_TIMEOUT_S + 2} s"
    detail = f"{type(why).__name__}: {why}" if why else late
    raise ExecutorError(f"no Dask scheduler answers at {address} ({detail})"[:400])


@contextlib.contextmanager
def open_executor(
    scheduler: str | None = None, workers: int | None = None, *, may_fork: bool = True
) -> Iterator[Executor]:
    """The engine for ``--scheduler`` and ``--workers``, closed on leaving.

    No scheduler: the local process pool with ``workers`` processes (default one per
    core); ``workers=0``: in this process. ``local``: a Dask LocalCluster of ``workers``
    processes; ``tcp://HOST:PORT`` (or any Dask address): that scheduler's workers.
    """
    executor: Executor
    if scheduler:
        if scheduler != "local" and "://" not in scheduler:
            raise ExecutorError(
                f"--scheduler {scheduler!r}: give 'local' or an address like tcp://HOST:8786"
            )
        executor = DaskExecutor(scheduler, workers or default_workers())
    elif workers == 0:
        executor = InlineExecutor()
    else:
        executor = LocalPoolExecutor(workers or default_workers(), may_fork=may_fork)
    try:
        yield executor
    finally:
        executor.close()
