"""`facesift scrape` through the command line: the 50-link run, and a SIGKILL mid-download."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_argv
from tests.snapshots import assert_files_match_the_catalog, catalog_snapshot


def facesift(root, *args: str, **popen) -> subprocess.CompletedProcess | subprocess.Popen:
    cmd = cli_argv(*args, root=root)
    if popen:
        return subprocess.Popen(cmd, cwd=REPO, **popen)
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
@pytest.mark.browser
def test_scrape_50_links_and_stats_counts_them(data_root, make_fake_search):
    server = make_fake_search(n_good=60, faults=False)
    done = facesift(
        data_root, "scrape", "--emotions", "happy", "--base-url", server.base,
        "--allow-private-hosts", "--limit", "50",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "happy" in done.stdout and "downloaded" in done.stdout
    stats = facesift(data_root, "stats", "--json")
    data = json.loads(stats.stdout)
    assert data["queries"] == 1 and data["results"] == 50
    # The browser profile persists under the data root, readable by its owner only.
    assert ((data_root / ".browser-profile").stat().st_mode & 0o777) == 0o700
    assert data["images"] == {"ok": 50, "failed": 0}
    assert data["downloads"]["ok"] == 50 and data["downloads"]["pending"] == 0
    # Every request for an image named facesift in its User-Agent.
    assert len(server.fake.downloader_requests) == 50
    assert all("facesift" in ua for ua in server.fake.user_agents)


@pytest.mark.slow
@pytest.mark.browser
def test_scrape_without_private_hosts_refuses_loopback_downloads(data_root, make_fake_search):
    server = make_fake_search(n_good=3, faults=False)
    done = facesift(
        data_root, "scrape", "--emotions", "sad", "--base-url", server.base, "--limit", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(facesift(data_root, "stats", "--json").stdout)
    assert data["results"] == 3 and data["images"] == {"ok": 0, "failed": 3}
    assert "private_address 3" in done.stdout
    assert not server.fake.downloader_requests


@pytest.mark.slow
def test_bad_options_are_one_line_errors(data_root):
    done = facesift(data_root, "scrape", "--query", "smiling kids")
    assert done.returncode == 2 and done.stderr.startswith("facesift: error: --query needs --label")
    done = facesift(data_root, "scrape", "--emotions", "bored")
    assert done.returncode == 2 and "'bored' is not a label" in done.stderr
    done = facesift(data_root, "scrape", "--emotions", "sad", "--driver", "/no/chromedriver")
    assert done.returncode == 2
    assert done.stderr == "facesift: error: no chromedriver at /no/chromedriver\n"
    done = facesift(data_root, "scrape", "--emotions", "sad", "--browser", "/no/chrome")
    assert done.stderr == "facesift: error: no browser at /no/chrome\n"


@pytest.mark.slow
@pytest.mark.browser
def test_a_scrape_killed_mid_download_and_rerun_equals_an_uninterrupted_one(
    data_root, make_fake_search
):
    server = make_fake_search(n_good=24, faults=False, image_delay_s=0.25)
    args = [
        "scrape", "--emotions", "happy", "--base-url", server.base, "--allow-private-hosts",
        "--limit", "20", "--concurrency", "2", "--per-host", "2",
    ]  # fmt: skip
    # The killed browser's profile is left in here (short: Chromium's socket path is limited).
    tmp = Path(tempfile.mkdtemp(prefix="fs-kill-"))
    killed = facesift(
        data_root,
        "--dataset",
        "killed",
        *args,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    db = data_root / "killed" / "catalog.sqlite"
    counts = (0, 0)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and killed.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
                        counts = c.execute(
                            "SELECT SUM(status = 'ok'), SUM(status = 'pending') FROM downloads"
                        ).fetchone()
                except sqlite3.OperationalError:
                    counts = (0, 0)
                if (counts[0] or 0) >= 3:
                    break
            time.sleep(0.05)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # the scrape, its chromedriver and Chromium
        killed.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    assert (counts[0] or 0) >= 3 and (counts[1] or 0) > 0, counts  # killed mid-download

    rerun = facesift(data_root, "--dataset", "killed", *args)
    assert rerun.returncode == 0, rerun.stderr
    whole = facesift(data_root, "--dataset", "whole", *args)
    assert whole.returncode == 0, whole.stderr

    resumed = catalog_snapshot(data_root / "killed")
    reference = catalog_snapshot(data_root / "whole")
    assert resumed == reference
    assert len(reference["images"]) == 20 and len(reference["sources"]) == 20
    assert_files_match_the_catalog(data_root / "killed")
    with sqlite3.connect(db) as c:
        runs = [r[0] for r in c.execute("SELECT status FROM search_runs ORDER BY id")]
    assert runs == ["interrupted", "done"]


def test_plan_lists_the_queries_without_a_browser(data_root):
    # --browser names no browser: the plan must not try to start one.
    done = facesift(
        data_root, "scrape", "--plan", "--expand", "full", "--emotions", "happy",
        "--browser", "/no/chrome",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert all(len(r) == 4 for r in rows) and len(rows) >= 50
    assert {r[0] for r in rows} == {"happy"} and {r[2] for r in rows} == {"google"}
    assert len({r[1] for r in rows}) >= 8
    assert ["happy", "es", "google", "hombre feliz"] in rows
    done = facesift(
        data_root, "run", "--plan", "--expand", "synonyms", "--languages", "de,ja",
        "--emotions", "sad", "--engine", "bing,duckduckgo",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "sad\tde\tbing\ttraurig Gesicht",
        "sad\tde\tduckduckgo\ttraurig Gesicht",
    ]
    assert {line.split("\t")[1] for line in done.stdout.splitlines()} == {"de", "ja"}
    done = facesift(data_root, "scrape", "--plan", "--languages", "en,xx")
    assert done.returncode == 2 and "'xx' is not in queries.toml" in done.stderr


def test_plan_creates_no_dataset_and_lists_an_existing_one_s_labels(data_root, capsys):
    import pipeline

    for command in ("scrape", "run"):
        assert pipeline.main(cli_argv(command, "--plan", root=data_root)[2:]) == 0
        labels = {line.split("\t")[0] for line in capsys.readouterr().out.splitlines()}
        assert labels == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
        assert list(data_root.iterdir()) == []  # no dataset folder, no catalog
    assert pipeline.main(cli_argv("init", "--labels", "happy,sad", root=data_root)[2:]) == 0
    capsys.readouterr()
    assert pipeline.main(cli_argv("scrape", "--plan", root=data_root)[2:]) == 0
    assert {line.split("\t")[0] for line in capsys.readouterr().out.splitlines()} == {
        "happy",
        "sad",
    }
