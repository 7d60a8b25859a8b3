"""Dask worker plugins facesift registers on a LocalCluster it starts (imports distributed:
loaded only on the Dask path)."""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from core.processes import die_with_parent


class DieWithParent(WorkerPlugin):
    """The worker process ends when its nanny (and so facesift, the driver) dies.

    Dask's own watcher notices a dead parent only between tasks: a worker inside a long
    C call (a dlib network) would outlive a SIGKILLed driver by half a minute.
    """

    def setup(self, worker) -> None:
        die_with_parent()
