"""Serving the app in the background: used only once healthy, every process gone after."""

from __future__ import annotations

import sys
import urllib.request

import pytest

from curation_ui.serving import free_port, serving, wait_for
from tests.conftest import alive

# A stand-in for Streamlit: answers the health check, and starts a child that
# would outlive it if only the server itself were stopped. Writes both pids.
SERVER = """
import http.server, os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[2], "w").write(f"{os.getpid()} {child.pid}")
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/_stcore/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def test_serving_yields_a_healthy_server_and_stops_every_process_of_it(tmp_path):
    port, pids = free_port(), tmp_path / "pids"
    argv = [sys.executable, "-c", SERVER, str(port), str(pids)]
    with serving(argv, tmp_path / "log", port) as url:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as r:
            assert r.status == 200
        server, child = (int(p) for p in pids.read_text().split())
        assert alive(server) and alive(child)
    wait_for(lambda: not alive(server) and not alive(child), 10, "both processes to end")


def test_a_server_that_exits_early_is_an_error_with_its_log(tmp_path):
    port = free_port()
    argv = [sys.executable, "-c", "print('no such dataset'); raise SystemExit(2)"]
    with (
        pytest.raises(RuntimeError, match="no such dataset"),
        serving(argv, tmp_path / "log", port),
    ):
        pass


def test_a_free_port_lies_below_the_ports_the_kernel_hands_out(monkeypatch):
    """Ports bound as port 0 (a Dask cluster's, a browser's) never take the app's."""
    import socket

    from curation_ui import serving as mod

    low = mod._ephemeral_low()
    ports = {free_port() for _ in range(20)}
    assert all(mod.FREE_PORTS[0] <= p < min(mod.FREE_PORTS[1], low) for p in ports)
    assert len(ports) > 1  # chosen at random: two callers rarely meet
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.pop()))  # free indeed
    # No room below the range: the kernel's choice.
    monkeypatch.setattr(mod, "_ephemeral_low", lambda: mod.FREE_PORTS[0] + 10)
    assert free_port() >= 1024


def test_a_port_answered_by_something_else_is_not_healthy(tmp_path):
    """A port where another program answers (here Dask-like bytes, no HTTP) is 'not the
    app yet', not an exception out of the health check."""
    import socket
    import subprocess
    import threading

    from curation_ui.serving import healthy

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer() -> None:
        conn, _ = server.accept()
        conn.recv(1024)
        conn.sendall(b"\x01\x00compression\xc0python pickle-protocol\n")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert healthy(server.getsockname()[1], proc, tmp_path / "log") is False
    finally:
        proc.kill()
        proc.wait()
        server.close()
