"""The command line: commands, help, stats and one-line errors."""

import json
import subprocess

import pytest

import pipeline
from tests.conftest import REPO, cli_argv

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
