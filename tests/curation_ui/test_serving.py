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
