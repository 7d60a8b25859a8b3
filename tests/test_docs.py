"""The documentation site: the generated command reference matches the code, and it builds.

- docs/reference/cli.md is what scripts/gen_cli_reference.py writes today;
- it names every command and every flag the argparse parser has (and no other), read
  from ``pipeline.build_parser()`` itself, not from the declarations the script walks;
- every dependency in pyproject.toml is explained in docs/dependencies.md;
- ``mkdocs build --strict`` succeeds (broken links and anchors, pages missing from the
  nav) and the site fetches nothing from the network.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import pipeline

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "reference" / "cli.md"
HELP_FLAGS = {"-h", "--help"}


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_cli_reference", REPO / "scripts" / "gen_cli_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every parser of the command line by its command path (``()`` is ``facesift`` itself)."""
    found = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= parsers(sub, (*path, name))
    return found


def arguments(parser: argparse.ArgumentParser) -> tuple[set[str], set[str]]:
    """A parser's flags (``--help`` aside) and its positional arguments' metavars."""
    flags, positionals = set(), set()
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            continue
        if a.option_strings:
            flags |= set(a.option_strings) - HELP_FLAGS
        else:
            positionals.add(a.metavar or a.dest)
    return flags, positionals


def sections(page: str) -> dict[tuple[str, ...], str]:
    """The page's text per command path (``()``: the global flags), from the headings."""
    out: dict[tuple[str, ...], str] = {}
    heads = list(re.finditer(r"^#{1,3} (.+)$", page, flags=re.M))
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(page)
        title = m.group(1).strip()
        if title == "Global flags":
            out[()] = page[m.end() : end]
        elif title.startswith("facesift "):
            out[tuple(title.split()[1:])] = page[m.end() : end]
    return out


def documented(section: str) -> tuple[set[str], set[str]]:
    """The flags and positional arguments of a section's tables (their first cells)."""
    flags, positionals = set(), set()
    for cell in re.findall(r"^\| (.+?) \|", section, flags=re.M):
        cell = cell.replace("<code>", "`").replace("</code>", "`")
        if cell.endswith("(argument)"):
            positionals.update(re.findall(r"`([^`\s]+)`", cell))
        else:
            flags.update(re.findall(r"`(-{1,2}[a-z][\w-]*)", cell))
    return flags, positionals


def undocumented(page: str, root: argparse.ArgumentParser) -> list[str]:
    """What the parser has and the page does not say, or says and the parser lacks."""
    problems = []
    by_path = sections(page)
    for path, parser in sorted(parsers(root).items()):
        name = " ".join(("facesift", *path))
        if path not in by_path:
            problems.append(f"{name}: no section")
            continue
        flags, positionals = arguments(parser)
        if path and any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            positionals = set()  # a group (`facesift model`): its subcommands have sections
        shown_flags, shown_positionals = documented(by_path[path])
        problems += [f"{name}: {f} not documented" for f in sorted(flags - shown_flags)]
        problems += [f"{name}: {f} is not a flag" for f in sorted(shown_flags - flags)]
        problems += [f"{name}: {p} not documented" for p in sorted(positionals - shown_positionals)]
    stale = set(by_path) - set(parsers(root))
    problems += [f"facesift {' '.join(p)}: no such command" for p in sorted(stale)]
    return problems


def test_the_committed_reference_is_what_the_script_writes():
    assert PAGE.read_text(encoding="utf-8") == _generator().render(), (
        "docs/reference/cli.md is out of date: run .venv/bin/python scripts/gen_cli_reference.py"
    )


def test_check_mode_exits_1_when_the_page_differs(tmp_path, monkeypatch, capsys):
    gen = _generator()
    stale = tmp_path / "cli.md"
    stale.write_text("# Command reference\n")
    monkeypatch.setattr(gen, "PAGE", stale)
    monkeypatch.setattr(gen, "REPO", tmp_path)
    assert gen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gen_cli_reference.py" in err
    stale.write_text(gen.render())
    assert gen.main(["--check"]) == 0


def test_the_reference_names_every_command_and_flag_of_the_parser():
    page = PAGE.read_text(encoding="utf-8")
    assert undocumented(page, pipeline.build_parser()) == []
    assert "--help" in page


def test_the_comparison_sees_a_missing_flag_and_a_stale_one():
    """The test above could pass by not looking: show that it does see a difference."""
    page = PAGE.read_text(encoding="utf-8")
    root = pipeline.build_parser()
    without = re.sub(r"^\| `--chip-size PX` .*\n", "", page, flags=re.M)
    assert "facesift extract: --chip-size not documented" in undocumented(without, root)
    extra = page.replace("| `--embeddings` |", "| `--no-such-flag` |\n| `--embeddings` |", 1)
    assert "facesift extract: --no-such-flag is not a flag" in undocumented(extra, root)
    gone = page.replace("## facesift stats", "## Statistics")
    assert "facesift stats: no section" in undocumented(gone, root)


def _name(requirement: str) -> str:
    """``dask`` for ``dask[distributed]>=2024``; names compared as pip does (case, -_.)."""
    base = re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", base).lower()


def test_every_dependency_is_explained():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        wanted |= {_name(r) for r in extra}
    text = (REPO / "docs" / "dependencies.md").read_text(encoding="utf-8")
    explained = {_name(c) for c in re.findall(r"^\| ([^|]+?) \|", text, flags=re.M)}
    assert wanted - explained == set(), "add them to docs/dependencies.md with why and licence"


def test_the_site_builds_strict_and_fetches_nothing(tmp_path):
    for module in ("mkdocs", "material"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    site = tmp_path / "site"
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    pages = list(site.rglob("*.html"))
    assert any(p.name == "architecture.html" for p in pages)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        fetched = re.findall(r"<(?:link|script|img)\b[^>]*(?:href|src)=\"(?:https?:)?//", html)
        assert not fetched, f"{page.relative_to(site)} loads something from the network"
