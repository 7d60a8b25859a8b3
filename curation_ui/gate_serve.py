"""``facesift review`` with accounts: Streamlit on 127.0.0.1 behind the login gateway.

Streamlit runs in its own process group on a free loopback port; the gateway
(``curation_ui.gateway``) runs in this process on the address and port asked
for, with TLS when a certificate is given. A stop signal (SIGINT, SIGTERM,
SIGHUP) stops both; so does Streamlit exiting. Each launch makes a new cookie key
and a new secret shared with Streamlit, so the sessions of an earlier launch are
ended at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from catalog.db import connect
from core.errors import FacesiftError
from curation_ui.gate_auth import Gate
from curation_ui.gateway import GateConfig, Gateway
from curation_ui.launch import STOP_SIGNALS, stop_group


class GatewayError(FacesiftError):
    """The gateway cannot start (its address is taken, its certificate unreadable)."""


@dataclass(frozen=True)
class Listen:
    """Where the gateway listens, and its TLS certificate and key (both or neither)."""

    host: str
    port: int
    tls_cert: Path | None = None
    tls_key: Path | None = None


def check_tls(listen: Listen) -> None:
    """A one-line GatewayError unless TLS is off or has a readable certificate and key."""
    if (listen.tls_cert is None) != (listen.tls_key is None):
        raise GatewayError("TLS needs both --tls-cert and --tls-key")
    for p in (listen.tls_cert, listen.tls_key):
        if p is not None and not Path(p).is_file():
            raise GatewayError(f"cannot read {p}: no such file")


class _Server(uvicorn.Server):
    """uvicorn, with facesift's stop signals (SIGHUP too), and no signal raised again
    after the shutdown (uvicorn's own habit, which would kill this command)."""

    signalled = False

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def on_signal(signum: int, _frame: object) -> None:
            self.signalled = True
            self.should_exit = True

        previous = {
            s: signal.signal(s, on_signal)
            for s in STOP_SIGNALS
            if signal.getsignal(s) is not signal.SIG_IGN
        }
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def serve_gated(
    argv: list[str],
    env: dict[str, str],
    cfg: GateConfig,
    listen: Listen,
    catalog: Path,
    auth_file: Path,
) -> int:
    """Run Streamlit (``argv``, ``env``) and the gateway until a stop signal or until
    Streamlit exits; 0 after a stop signal, else Streamlit's exit status."""
    check_tls(listen)
    sock = _bind(listen.host, listen.port)  # before anything starts: a taken port is one line
    conn = connect(catalog)
    gate = Gate(conn, auth_file)
    gate.end_all("the gateway restarted")
    gateway = Gateway(gate, cfg)
    config = uvicorn.Config(
        gateway.app,
        host=listen.host,
        port=listen.port,
        ssl_certfile=str(listen.tls_cert) if listen.tls_cert else None,
        ssl_keyfile=str(listen.tls_key) if listen.tls_key else None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws_max_size=16 * 1024 * 1024,
        ws_ping_interval=None,
    )
    server = _Server(config)
    streamlit = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        return asyncio.run(_run(server, streamlit, sock))
    finally:
        stop_group(streamlit)
        conn.close()
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    except OSError as e:
        why = e.strerror or e
        raise GatewayError(f"the gateway cannot listen on {host}:{port}: {why}") from None
    return sock


async def _run(server: _Server, streamlit: subprocess.Popen, sock: socket.socket) -> int:
    async def watch() -> None:
        while streamlit.poll() is None and not server.should_exit:
            await asyncio.sleep(0.2)
        server.should_exit = True

    watcher = asyncio.create_task(watch())
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
    return 0 if server.signalled else (streamlit.poll() or 0)
