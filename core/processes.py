"""Processes that must not outlive the one that started them."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
import threading
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL, driver: int | None = None) -> None:
    """Make this process end when the process that started it dies (even by SIGKILL).

    Linux: the kernel's parent-death signal ``sig``. Elsewhere, and as a second guard, a
    thread that watches the parent id and exits when it changes (re-parented).

    ``driver``: the process the worker serves, when it is not the parent. A pool's
    forkserver starts the workers and lives as long as any of them (each holds its
    keep-alive pipe), so a worker that watched only its parent would outlive a SIGKILLed
    driver for ever; it watches the driver too (a pidfd: no pid reuse can fool it).
    """
    parent = os.getppid()
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    if driver is not None and driver != parent:
        threading.Thread(
            target=_wait_for_the_end_of, args=(driver,), name="driver-watch", daemon=True
        ).start()


def _wait_for_the_end_of(pid: int) -> None:
    """Block until process ``pid`` has ended, then end this one."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (not Linux, old kernel), or already gone
        while alive(pid):
            time.sleep(1.0)
        os._exit(1)
    select.select([fd], [], [])  # readable once the process has ended
    os._exit(1)


def alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a zombie counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # no /proc (macOS): kill said it exists
        return True


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, where there is one (Linux)."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(libc_name, use_errno=True).prctl
    return None
