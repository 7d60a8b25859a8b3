"""The command line: commands, help, stats and one-line errors."""

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline
from tests.conftest import REPO, alive, cli_argv

SEVEN = ("scrape", "extract", "import", "review", "export", "stats", "run")


def run_cli(*args: str, root=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``pipeline.py`` as a user would (optionally on a data root) and capture its output."""
    return subprocess.run(
        cli_argv(*args, root=root),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_help_lists_the_seven_commands():
    out = run_cli("--help").stdout
    for command in SEVEN:
        assert f"    {command} " in out


@pytest.mark.parametrize("command", [*SEVEN, "init"])
def test_every_command_documents_every_flag(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        pipeline.main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    sub = pipeline.build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in out
        if action.option_strings and action.dest != "help":
            assert action.help, f"{command} {action.option_strings} has no help"


def _leaf_commands(commands, path=()):
    for c in commands:
        if c.commands:
            yield from _leaf_commands(c.commands, (*path, c.name))
        else:
            yield (*path, c.name)


@pytest.mark.parametrize("path", [" ".join(p) for p in _leaf_commands(pipeline.COMMANDS)])
def test_every_command_of_the_table_documents_every_flag_with_help(path, capsys):
    """Subcommands too (`facesift model train --help`): every flag shown, each with help."""
    with pytest.raises(SystemExit) as exit_:
        pipeline.main([*path.split(), "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    parser = pipeline.build_parser()
    for word in path.split():
        parser = parser._subparsers._group_actions[0].choices[word]
    for action in parser._actions:
        for flag in action.option_strings:
            assert flag in out
        if action.dest != "help":
            assert action.help, f"{path} {action.option_strings or action.dest} has no help"
    assert parser.get_default("handler") is not None


def test_stats_json_on_a_new_dataset_is_all_zeros(data_root):
    done = run_cli("stats", "--json", root=data_root)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["labels"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert data["results"] == 0 and data["faces"] == 0
    assert data["images"] == {"ok": 0, "failed": 0}
    assert data["status"] == {"pending": 0, "accepted": 0, "rejected": 0}
    assert data["by_label"] == dict.fromkeys(data["labels"], 0)


def test_stats_counts_faces_by_current_label(data_root, make_face, capsys):
    from catalog import Catalog
    from catalog.events import record

    with Catalog.open(data_root, "default") as cat:
        happy = make_face(cat, "happy")
        make_face(cat, "happy")
        make_face(cat, None)
        rejected = make_face(cat, "sad")
        record(cat.conn, happy, "alice", "label", label="fear")
        record(cat.conn, rejected, "alice", "reject", reason="drawing")
    assert pipeline.main(["--root", str(data_root), "stats", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["faces"] == 4
    assert data["status"] == {"pending": 2, "accepted": 1, "rejected": 1}
    assert data["by_label"]["fear"] == 1 and data["by_label"]["happy"] == 1
    assert data["by_label"]["sad"] == 0


def test_facesift_console_script_is_the_same_program(data_root):
    script = REPO / ".venv" / "bin" / "facesift"
    if not script.exists():
        pytest.skip("console script not installed in .venv")
    done = subprocess.run(
        [str(script), "--root", str(data_root), "stats", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout) == json.loads(run_cli("stats", "--json", root=data_root).stdout)


def test_init_with_a_custom_label_set(data_root):
    assert (
        run_cli("--dataset", "two", "init", "--labels", "happy,sad", root=data_root).returncode == 0
    )
    data = json.loads(run_cli("--dataset", "two", "stats", "--json", root=data_root).stdout)
    assert data["labels"] == ["happy", "sad"]
    clash = run_cli("--dataset", "two", "init", "--labels", "happy,sad,fear", root=data_root)
    assert clash.returncode == 2
    assert clash.stderr.strip().count("\n") == 0 and "not happy,sad,fear" in clash.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["extract", "--workers", "0"], "--workers"),
        (["extract", "--upsample", "3"], "--upsample"),
        (["export", "--out", "x", "--format", "hf", "--splits", "0.5,0.5,0.5"], "--splits"),
        (["review", "--port", "70000"], "--port"),
        (["--dataset", "../escape", "stats"], "bad dataset name"),
    ],
)
def test_bad_values_give_a_one_line_error(data_root, args, needle):
    done = run_cli(*args, root=data_root)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("facesift: error: ")
    assert needle in done.stderr


# --- flags generated from the options dataclasses: the same values as the hand-written parser


def parsed(cls: type, *argv: str):
    """The ``cls`` options of a command line (parsed only, nothing run)."""
    from core.cli import from_args

    return from_args(cls, pipeline.build_parser().parse_args(["--root", "r", *argv]))


SCRAPE_ALL = [
    "--emotions", "happy,sad", "--query", "kids laughing", "--label", "joy", "--engine", "bing",
    "--limit", "50", "--base-url", "http://127.0.0.1:9", "--allow-private-hosts", "--headful",
    "--driver", "/d/chromedriver", "--browser", "/d/chrome", "--concurrency", "2",
    "--per-host", "1", "--timeout", "5", "--retries", "0", "--max-bytes", "1000",
    "--max-pixels", "2000", "--min-size", "10", "--idle-timeout", "2.5", "--selectors", "s.toml",
]  # fmt: skip
EXTRACT_ALL = [
    "--detector", "cnn", "--upsample", "2", "--workers", "3", "--chip-size", "128",
    "--padding", "0.3", "--near-dup-bits", "4", "--embeddings", "--retry-errors",
]  # fmt: skip


def scrape_values(o) -> dict:
    d = o.download
    return {
        "emotions": o.emotions, "query": o.query, "label": o.label, "engine": o.engine,
        "limit": o.limit, "base_url": o.base_url, "headful": o.headful, "driver": o.driver,
        "browser": o.browser, "concurrency": d.concurrency, "per_host": d.per_host,
        "read_timeout": d.read_timeout, "connect_timeout": d.connect_limit,
        "retries": d.retries, "max_bytes": d.max_bytes, "max_pixels": d.max_pixels,
        "min_side": d.min_side, "allow_private_hosts": d.allow_private_hosts,
        "idle_timeout": o.idle_timeout, "selectors_file": o.selectors_file,
    }  # fmt: skip


# What pipeline.scrape_options built before the flags were generated (git show a19c359:pipeline.py).
SCRAPE_DEFAULTS_BEFORE = {
    "emotions": "all", "query": None, "label": None, "engine": "google", "limit": None,
    "base_url": None, "headful": False, "driver": None, "browser": None, "concurrency": 8,
    "per_host": 4, "read_timeout": 20.0, "connect_timeout": 10.0, "retries": 3,
    "max_bytes": 20_000_000, "max_pixels": 40_000_000, "min_side": 32,
    "allow_private_hosts": False, "idle_timeout": 8.0, "selectors_file": None,
}  # fmt: skip
SCRAPE_ALL_BEFORE = {
    "emotions": "happy,sad", "query": "kids laughing", "label": "joy", "engine": "bing",
    "limit": 50, "base_url": "http://127.0.0.1:9", "headful": True,
    "driver": Path("/d/chromedriver"), "browser": Path("/d/chrome"), "concurrency": 2,
    "per_host": 1, "read_timeout": 5.0, "connect_timeout": 5.0, "retries": 0,
    "max_bytes": 1000, "max_pixels": 2000, "min_side": 10, "allow_private_hosts": True,
    "idle_timeout": 2.5, "selectors_file": Path("s.toml"),
}  # fmt: skip


def test_scrape_flags_parse_to_the_values_they_had():
    from scraper.config import ScrapeOptions

    assert scrape_values(parsed(ScrapeOptions, "scrape")) == SCRAPE_DEFAULTS_BEFORE
    assert scrape_values(parsed(ScrapeOptions, "scrape", *SCRAPE_ALL)) == SCRAPE_ALL_BEFORE
    # --timeout still caps the connect timeout only when shorter
    assert parsed(ScrapeOptions, "scrape", "--timeout", "30").download.connect_limit == 10.0


def test_extract_import_export_review_flags_parse_to_the_values_they_had():
    from curation_ui.launch import ReviewOptions
    from exporter.options import ExportOptions
    from faces.options import ExtractOptions
    from importer.options import ImportOptions

    before = {
        "detector": "hog", "upsample": "auto", "workers": None, "chip_size": 256,
        "padding": 0.45, "near_dup_bits": 6, "embeddings": False, "retry_errors": False,
    }  # fmt: skip
    extract = dataclasses.asdict(parsed(ExtractOptions, "extract"))
    assert {k: extract[k] for k in before} == before
    assert parsed(ExtractOptions, "extract", *EXTRACT_ALL) == ExtractOptions(
        detector="cnn", upsample="2", workers=3, chip_size=128, padding=0.3,
        near_dup_bits=4, embeddings=True, retry_errors=True,
    )  # fmt: skip
    imp = parsed(ImportOptions, "import", "in.zip")
    assert (imp.path, imp.label, imp.labels_from, imp.source, imp.fps, imp.no_extract) == (
        Path("in.zip"), None, None, None, 1.0, False
    )  # fmt: skip
    imp = parsed(
        ImportOptions, "import", "d", "--label", "happy", "--labels-from", "folders",
        "--source", "mmi", "--fps", "2.5", "--no-extract",
    )  # fmt: skip
    assert (imp.label, imp.labels_from, imp.source, imp.fps, imp.no_extract) == (
        "happy", "folders", "mmi", 2.5, True
    )  # fmt: skip
    assert parsed(ExportOptions, "export", "--out", "o", "--format", "hf") == ExportOptions(
        out=Path("o"), format="hf", size=48, color=False, splits=(0.8, 0.1, 0.1), labels=None,
        map=None, min_size=0, min_sharpness=0, max_yaw=None, include_pending=False,
        identity_disjoint=False, seed=0, overwrite=False, padding=None,
    )  # fmt: skip
    every = parsed(
        ExportOptions, "export", "--out", "o", "--format", "fer2013-csv", "--size", "64",
        "--color", "--splits", "0.7,0.2,0.1", "--labels", "happy,sad", "--map", "disgust=angry",
        "--min-size", "20", "--min-sharpness", "5", "--max-yaw", "30", "--include-pending",
        "--identity-disjoint", "--seed", "3", "--overwrite", "--padding", "0.25",
    )  # fmt: skip
    assert every == ExportOptions(
        out=Path("o"), format="fer2013-csv", size=64, color=True, splits=(0.7, 0.2, 0.1),
        labels="happy,sad", map="disgust=angry", min_size=20.0, min_sharpness=5.0,
        max_yaw=30.0, include_pending=True, identity_disjoint=True, seed=3, overwrite=True,
        padding=0.25,
    )  # fmt: skip
    gray = parsed(ExportOptions, "export", "--out", "o", "--format", "hf", "--grayscale")
    assert gray.color is False
    assert parsed(ReviewOptions, "review") == ReviewOptions(port=8501, host="127.0.0.1")
    assert parsed(ReviewOptions, "review", "--port", "9000", "--host", "0.0.0.0") == (
        ReviewOptions(port=9000, host="0.0.0.0")
    )


def test_global_init_and_stats_flags_parse_as_before():
    args = pipeline.build_parser().parse_args(["stats"])
    assert (args.root, args.dataset, args.json) == (Path("datasets"), "default", False)
    args = pipeline.build_parser().parse_args(
        ["--root", "/data", "--dataset", "two", "init", "--labels", "happy,sad"]
    )
    assert (args.root, args.dataset, args.labels) == (Path("/data"), "two", "happy,sad")
    assert pipeline.build_parser().parse_args(["stats", "--json"]).json is True


def test_run_takes_every_scrape_and_extract_flag():
    from faces.options import ExtractOptions
    from scraper.config import ScrapeOptions

    sub = pipeline.build_parser()._subparsers._group_actions[0].choices
    flags = {c: {f for a in sub[c]._actions for f in a.option_strings} for c in sub}
    assert flags["scrape"] | flags["extract"] | flags["review"] <= flags["run"]
    argv = ["run", *SCRAPE_ALL, *EXTRACT_ALL, "--no-review", "--port", "9001"]
    assert scrape_values(parsed(ScrapeOptions, *argv)) == SCRAPE_ALL_BEFORE
    assert parsed(ExtractOptions, *argv) == parsed(ExtractOptions, "extract", *EXTRACT_ALL)
    args = pipeline.build_parser().parse_args(argv)
    assert (args.no_review, args.port, args.host) == (True, 9001, "127.0.0.1")


# --- review stops its Streamlit server on SIGTERM, SIGHUP and SIGINT


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _port_free(port: int) -> bool:
    """Nothing listens on the port, and a new server can bind it (as servers do, with
    SO_REUSEADDR: a connection the old server closed may linger in TIME_WAIT)."""
    import socket

    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def serve_then_signal(argv: list[str], sig: str, log_path: Path, ready: float = 120) -> str:
    """Start ``facesift ARGV`` (a command serving the review app on ``--port``), wait until
    the app answers, send ``sig`` to facesift alone (as a service manager does) and check
    that within 5 s it exited (0; SIGKILL cannot be caught), no process it started is left
    and the port is free."""
    import signal
    import time

    from curation_ui.serving import healthy, wait_for
    from tests.conftest import ctrl_c_as_in_a_terminal

    port = int(argv[argv.index("--port") + 1])
    log = log_path.open("w")
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group, so the test can clean up whatever is left
        preexec_fn=ctrl_c_as_in_a_terminal,
        cwd=REPO,
    )
    family: set[int] = set()
    try:
        wait_for(lambda: healthy(port, proc, log_path), ready, "the review app")
        family |= _children(proc.pid)
        assert family, "the server runs in a child process"
        os.kill(proc.pid, getattr(signal, sig))
        started = time.monotonic()
        wait_for(lambda: proc.poll() is not None, 5, f"facesift to exit on {sig}")
        wait_for(lambda: not any(alive(p) for p in family), 5 - (time.monotonic() - started))
        expected = -signal.SIGKILL if sig == "SIGKILL" else 0
        assert proc.returncode == expected, log_path.read_text()
        assert _port_free(port)
    finally:
        for p in [proc.pid, *family, *_children(proc.pid)]:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(p), signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()
    text = log_path.read_text()
    assert "Traceback" not in text
    return text


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL"])
def test_review_stops_its_server_on_a_stop_signal(sig, data_root, tmp_path):
    # SIGKILL: facesift cannot stop its server, the kernel tells the server instead.
    from tests.curation_ui.test_browser import free_port

    argv = cli_argv("review", "--port", str(free_port()), root=data_root)
    serve_then_signal(argv, sig, tmp_path / "review.log")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_run_stops_its_review_server_on_sigterm(data_root, make_fake_search, tmp_path):
    from tests.curation_ui.test_browser import free_port

    server = make_fake_search(n_good=2, faults=False)
    argv = cli_argv(
        "run", "--emotions", "happy", "--base-url", server.base, "--allow-private-hosts",
        "--limit", "2", "--workers", "1", "--port", str(free_port()), root=data_root,
    )  # fmt: skip
    text = serve_then_signal(argv, "SIGTERM", tmp_path / "run.log", ready=300)
    assert "faces to review" in text


def test_a_command_imports_only_its_own_options(data_root):
    """The model commands' options load scikit-learn: other commands must not pay for it."""
    code = (
        "import sys, pipeline\n"
        f"status = pipeline.main(['--root', {str(data_root)!r}, 'stats', '--json'])\n"
        "print(status, 'sklearn' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.stdout.splitlines()[-1] == "0 False", done.stderr
    for argv in (["stats", "--json"], ["export", "--out", "o", "--format", "hf", "--color"]):
        lazy = pipeline.build_parser(lazy=True).parse_args(argv)
        assert lazy == pipeline.build_parser().parse_args(argv)


# --- SIGTERM and SIGHUP end a command as Ctrl+C does: its clean-up runs, work done is kept


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize(("sig", "group"), [("SIGTERM", False), ("SIGHUP", True)])
def test_extract_stopped_by_a_signal_keeps_its_work_and_leaves_no_worker(
    sig, group, data_root, photos, tmp_path
):
    """SIGTERM to facesift alone (a service manager) or SIGHUP to its whole group (a
    closed terminal): exit 130 with the rerun hint, images done are kept, no worker left."""
    import signal

    from tests.conftest import extracted_count, jpeg_variants
    from tests.curation_ui.test_browser import wait_for

    folder = tmp_path / "in"
    folder.mkdir()
    paths = [p.path for p in photos if p.hog_up0 >= 1][:4]
    for i, data in enumerate(jpeg_variants(paths, 30, 640)):
        (folder / f"{i}.jpg").write_bytes(data)
    assert run_cli("import", str(folder), "--no-extract", root=data_root).returncode == 0

    catalog_file = data_root / "default" / "catalog.sqlite"
    proc = subprocess.Popen(
        cli_argv("extract", "--workers", "2", root=data_root),
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    family: set[int] = set()
    try:
        wait_for(
            lambda: extracted_count(catalog_file) >= 1 or proc.poll() is not None,
            120,
            "the first write",
        )
        assert proc.poll() is None, proc.stderr.read()
        family |= _children(proc.pid)
        assert family, "extract runs worker processes"
        seen = extracted_count(catalog_file)
        if group:
            os.killpg(proc.pid, getattr(signal, sig))
        else:
            os.kill(proc.pid, getattr(signal, sig))
        err = proc.communicate(timeout=60)[1]
        wait_for(lambda: not any(alive(p) for p in family), 10, "the workers to end")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for p in family:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "rerun the same command to continue" in err and "Traceback" not in err, err
    kept = extracted_count(catalog_file)
    assert seen <= kept < 30
    done = run_cli("extract", "--workers", "2", root=data_root)
    assert done.returncode == 0 and f"extract: {30 - kept} images" in done.stdout, done.stdout


def test_a_reader_that_goes_away_is_no_traceback(data_root):
    # `facesift ... | head -1`: the plan (5,124 lines, more than a pipe's buffer) outlives
    # its reader; it printed a BrokenPipeError traceback.
    plan = ("scrape", "--plan", "--expand", "full", "--engine", "google,bing,duckduckgo")
    proc = subprocess.Popen(
        cli_argv(*plan, root=data_root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout.readline()  # one line read, then the reader is gone
    proc.stdout.close()
    err = proc.communicate(timeout=120)[1].decode()
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert proc.returncode == 141
