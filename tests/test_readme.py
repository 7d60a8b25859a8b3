"""The README's command table and the `run` options table match the command line as it is."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pipeline

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def test_the_command_table_lists_every_command():
    table = README.split("| command | what it does |")[1].split("\n\n")[0]
    listed = {m for m in re.findall(r"^\| `(\w+)", table, flags=re.M)}
    listed |= set(re.findall(r"`(\w+) \w+[^`]*`", table))  # "model train", "user add"
    assert set(_subcommands(pipeline.build_parser())) <= listed


def test_every_flag_in_the_run_table_exists():
    # The table once said `--engine google|bing` after duckduckgo and lists came in.
    run = _subcommands(pipeline.build_parser())["run"]
    table = README.split("### run")[1].split("| option | default | what it does |")[1]
    table = table.split("\n\n")[0]
    named = set(re.findall(r"`(--[a-z-]+)", table))
    assert named and named <= _flags(run)
    assert "`--engine google\\|bing`" not in table
