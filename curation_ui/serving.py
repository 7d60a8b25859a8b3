"""Serving the app in the background for a script or a test, and stopping it cleanly.

``facesift review`` itself runs in the foreground (:func:`curation_ui.launch.serve`);
this is for callers that drive the served app (the README's screenshots, the
browser tests): start the command in its own process group, wait until the app
answers its health check, and end every process of it afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from curation_ui.launch import REPO, stop_group

T = TypeVar("T")
START_SECONDS = 90.0  # a cold Streamlit start on a busy 2-core machine


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, below the kernel's ephemeral range.

    A server binds it seconds later (a Streamlit start). Meanwhile a port the kernel
    hands out for port 0 (a Dask cluster's, a browser's, an outgoing connection's)
    may have taken it: once, a Dask worker did, and the app's health check read Dask's
    handshake. The kernel never hands out a port below that range so.
    """
    rng = random.SystemRandom()
    low, high = FREE_PORTS[0], min(FREE_PORTS[1], _ephemeral_low())
    for _ in range(100 if high - low > 100 else 0):
        port = rng.randrange(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use: another one
                continue
        return port
    with socket.socket() as s:  # no room below the range: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FREE_PORTS = (20000, 32768)  # where free_port looks, up to the ephemeral range's start


def _ephemeral_low() -> int:
    """The first port the kernel hands out for port 0 (Linux; else the IANA range's)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def wait_for(cond: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Poll ``cond`` until it is true and return it; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)  # a polling interval, not a fixed wait
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def healthy(port: int, proc: subprocess.Popen, log: Path) -> bool:
    """Whether the app on ``port`` answers its health check; RuntimeError (with the
    log) once ``proc``, the command serving it, has exited."""
    if proc.poll() is not None:
        raise RuntimeError(f"the app exited with status {proc.returncode}:\n{log.read_text()}")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except (OSError, http.client.HTTPException):  # not up yet, or not an HTTP server
        return False


@contextlib.contextmanager
def serving(argv: list[str], log: Path, port: int, env: dict | None = None) -> Iterator[str]:
    """Run ``argv`` (a command serving the app on ``port``); yield its URL once healthy.

    Output goes to ``log``. If the command exits before it answers, RuntimeError
    carries its log. At the end every process of it is stopped.
    """
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO
        )
    try:
        wait_for(lambda: healthy(port, proc, log), START_SECONDS, "the review app to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc)
