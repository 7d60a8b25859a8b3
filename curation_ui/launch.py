"""Starting the Streamlit app on a dataset: the command line ``facesift review`` runs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.contract import option
from core.errors import FacesiftError
from curation_ui.uploads import ENV_MAX_PHOTO_MB, ENV_MAX_UPLOAD_MB

APP = Path(__file__).resolve().parent / "app.py"
REPO = APP.parents[1]
ENV_ROOT = "FACESIFT_ROOT"
ENV_DATASET = "FACESIFT_DATASET"
# What a terminal (Ctrl+C, closing it), a service manager or `docker stop` sends.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 3.0  # then the server's process group is killed


@dataclass(frozen=True)
class ReviewOptions:
    """Where ``facesift review`` (and ``run``) serves the app."""

    port: int = option(8501, help="port", low=1, high=65535)
    host: str = option(
        "127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only)",
        show_default=False,
    )
    auth: Path | None = option(
        None,
        help="accounts file (default: the dataset's users.toml; see `facesift user add`)",
        metavar="FILE",
    )
    import_root: Path | None = option(
        None,
        help="let admins import folders and files on this machine, below DIR only "
        "(default: uploads only)",
        metavar="DIR",
    )
    export_root: Path | None = option(
        None,
        help="keep the app's exports below DIR (symlinks and '..' resolved; default: any folder)",
        metavar="DIR",
    )
    labels_per_face: int | None = option(
        None,
        help="independent decisions each face needs, stored as the dataset's setting "
        "(default: keep it; a new dataset has 1)",
        metavar="K",
        low=1,
        high=50,
    )
    max_upload_mb: int = option(
        1024,
        help="largest upload on the Import page (a zip, a CSV, a video), in MB; with accounts "
        "the login gateway refuses a bigger one before the app sees a byte",
        metavar="MB",
        low=1,
        high=16384,
    )
    max_photo_mb: int = option(
        20,
        help="largest photo on the Try it page, in MB (with accounts: the largest upload of "
        "anyone but an admin)",
        metavar="MB",
        low=1,
        high=1024,
    )
    tls_cert: Path | None = option(
        None,
        help="serve HTTPS with this certificate (PEM; with --tls-key; accounts only: the "
        "login gateway terminates TLS)",
        metavar="FILE",
    )
    tls_key: Path | None = option(None, help="the private key of --tls-cert (PEM)", metavar="FILE")


ENV_AUTH = "FACESIFT_AUTH"  # the accounts file (review --auth), resolved
ENV_IMPORT_ROOT = "FACESIFT_IMPORT_ROOT"  # review --import-root: server paths allowed below it
ENV_EXPORT_ROOT = "FACESIFT_EXPORT_ROOT"  # review --export-root: exports stay below it
ENV_REQUIRE_LOGIN = "FACESIFT_REQUIRE_LOGIN"  # "1" when served beyond loopback
# The secret the login gateway sends with the user's name (curation_ui/gateway.py):
# set, the app takes its user from the gateway's headers and from nowhere else.
ENV_GATE = "FACESIFT_GATE"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address (or name) only this machine can reach."""
    import ipaddress

    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:  # another host name: it may resolve to anything
        return False


class ServeRefused(FacesiftError):
    """The app would be open to the network without anyone having to log in."""


def refuse_open_network(host: str, auth_file: Path) -> None:
    """Refuse serving beyond loopback unless accounts exist or an identity provider is set."""
    from curation_ui.accounts import load_accounts, oidc_provider, secrets_auth

    if is_loopback(host) or load_accounts(auth_file) or oidc_provider(secrets_auth()):
        return
    raise ServeRefused(
        f"serving on {host} needs accounts: add one with `facesift user add NAME --admin` "
        f"(accounts file {auth_file}), or serve on 127.0.0.1"
    )


def streamlit_command(
    root: Path,
    dataset: str,
    *,
    port: int = ReviewOptions.port,
    host: str = ReviewOptions.host,
    auth: Path | None = None,
    import_root: Path | None = None,
    export_root: Path | None = None,
    max_upload_mb: int = ReviewOptions.max_upload_mb,
    max_photo_mb: int = ReviewOptions.max_photo_mb,
    gate_secret: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that serve the app for one dataset (behind the login
    gateway when ``gate_secret`` is given: then ``host`` should be 127.0.0.1)."""
    argv = [
        sys.executable,
        "-m",
        "curation_ui.streamlit_child",  # Streamlit's CLI, ending with this process
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--server.maxUploadSize",
        str(max(max_upload_mb, max_photo_mb)),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        # Streamlit collects all garbage after every run by default (gc.collect(2)): with
        # this app's imports that holds the GIL for 50-700 ms, so the answer to a key or
        # an action waits for it. Python's own generational collection still runs.
        "--runner.postScriptGC",
        "false",
    ]
    # `streamlit run` puts only the script's folder on sys.path; the app imports the
    # project's packages, so the repository root goes first.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **os.environ,
        ENV_ROOT: str(Path(root).resolve()),
        ENV_DATASET: dataset,
        "PYTHONPATH": path,
        ENV_REQUIRE_LOGIN: "0" if is_loopback(host) else "1",
        ENV_MAX_UPLOAD_MB: str(max_upload_mb),
        ENV_MAX_PHOTO_MB: str(max_photo_mb),
    }
    if gate_secret:  # its loopback URL is no use to anyone: the gateway's is printed
        # Streamlit's agent API would drive the app beside the websocket: kept off.
        argv += ["--logger.hideWelcomeMessage", "true", "--server.enableAgentApi", "false"]
        env[ENV_GATE] = gate_secret
        env[ENV_REQUIRE_LOGIN] = "1"
    else:
        env.pop(ENV_GATE, None)
    # The app must use the same accounts, import and export roots as the command,
    # whatever the environment it inherited says.
    roots = ((ENV_AUTH, auth), (ENV_IMPORT_ROOT, import_root), (ENV_EXPORT_ROOT, export_root))
    for key, value in roots:
        if value is not None:
            env[key] = str(Path(value).expanduser().resolve())
        else:
            env.pop(key, None)
    return argv, env


def serve(argv: list[str], env: dict[str, str]) -> int:
    """Run the app (:func:`streamlit_command`) until it stops or this process gets
    SIGINT, SIGTERM or SIGHUP.

    The server runs in its own process group, so a stop signal sent to this
    process alone (a service manager, ``kill``) still reaches every process of
    it: the group gets SIGTERM, then SIGKILL after :data:`GRACE_SECONDS`. Returns
    0 after a stop signal, else the server's exit status.
    """
    stopped: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopped.append(signum)

    # A signal ignored at start (`nohup facesift review &`) stays ignored.
    previous = {
        s: signal.signal(s, on_signal)
        for s in STOP_SIGNALS
        if signal.getsignal(s) is not signal.SIG_IGN
    }
    try:
        server = subprocess.Popen(argv, env=env, start_new_session=True)
        try:
            return _wait(server, stopped)
        finally:
            stop_group(server)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _wait(server: subprocess.Popen, stopped: list[int]) -> int:
    deadline = None
    while True:
        try:
            code = server.wait(timeout=0.1)
            return 0 if stopped else code
        except subprocess.TimeoutExpired:
            pass
        if stopped and deadline is None:
            _signal_group(server, signal.SIGTERM)
            deadline = time.monotonic() + GRACE_SECONDS
        elif deadline is not None and time.monotonic() > deadline:
            _signal_group(server, signal.SIGKILL)


def stop_group(server: subprocess.Popen) -> None:
    """No process of the server is left: its group is ended even after the leader exited."""
    if server.poll() is None:
        _signal_group(server, signal.SIGTERM)
        try:
            server.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(server, signal.SIGKILL)
            server.wait()
    _signal_group(server, signal.SIGKILL)  # children the server left behind, if any


def _signal_group(server: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.pid, sig)  # the group's id is the leader's pid (start_new_session)
