"""Starting the Streamlit app on a dataset: the command line ``facesift review`` runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
REPO = APP.parents[1]
ENV_ROOT = "FACESIFT_ROOT"
ENV_DATASET = "FACESIFT_DATASET"


def streamlit_command(
    root: Path, dataset: str, *, port: int = 8501, host: str = "127.0.0.1"
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that serve the app for one dataset."""
    argv = [
        sys.executable,
        "-m",
        "streamlit",
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
        "2048",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]
    # `streamlit run` puts only the script's folder on sys.path; the app imports the
    # project's packages, so the repository root goes first.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **os.environ,
        ENV_ROOT: str(Path(root).resolve()),
        ENV_DATASET: dataset,
        "PYTHONPATH": path,
    }
    return argv, env
