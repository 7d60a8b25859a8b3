"""The README is short, true to the command line, and its links lead somewhere.

Flags are documented in the generated command reference (docs/reference/cli.md,
checked by tests/test_docs.py); here the README's own claims are checked: its
quick start is what CI runs, its command table lists every command, the flags
its examples use exist, its links point at files that exist, and every docs page
is in the site's navigation.
"""

from __future__ import annotations

import argparse
import re
import shlex
import tomllib
import unicodedata
from pathlib import Path

import pipeline

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
MAX_LINES = 250


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _command_paths(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    """``init``, ``model train``, ``user add``...: every command a user runs."""
    paths = set()
    for name, sub in _subcommands(parser).items():
        inner = _command_paths(sub, f"{prefix}{name} ")
        paths |= inner or {prefix + name}
    return paths


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def _section(heading: str) -> str:
    """The README text under the first heading containing ``heading``, up to the next one."""
    m = re.search(rf"^#+ .*{re.escape(heading)}.*$", README, flags=re.M)
    assert m, f"no heading with {heading!r} in README.md"
    nxt = re.search(r"^#+ ", README[m.end() :], flags=re.M)
    return README[m.end() : m.end() + nxt.start() if nxt else len(README)]


def test_the_readme_is_short():
    lines = README.count("\n")
    assert lines <= MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_the_quick_start_runs_and_tests_on_a_fresh_machine():
    quick = _section("Quick start")
    assert "./run.sh" in quick and "./test.sh" in quick
    for script in ("run.sh", "test.sh"):
        assert (REPO / script).stat().st_mode & 0o111, f"{script} is not executable"


def test_ci_runs_the_readme_test_command():
    quick = _section("Quick start")
    command = re.search(r"^(\./test\.sh)\b", quick, flags=re.M).group(1)
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(rf"^[^#\n]*\bexec {re.escape(command)}\s*$", ci, flags=re.M), ci


def test_the_quick_test_subset_exists():
    """`./test.sh -m "not slow"` only works while pytest knows the marker."""
    assert './test.sh -m "not slow"' in README
    markers = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
    assert any(m.startswith("slow:") for m in markers["ini_options"]["markers"])


def test_the_command_table_lists_every_command():
    table = README.split("| command | what it does |")[1].split("\n\n")[0]
    listed = set()
    for first_cell in re.findall(r"^\| (.+?) \|", table, flags=re.M):
        listed |= set(re.findall(r"`([a-z]+(?: [a-z]+)?)`", first_cell))
    assert _command_paths(pipeline.build_parser()) <= listed
    assert listed <= _command_paths(pipeline.build_parser()), "a command that no longer exists"


def _examples() -> list[list[str]]:
    """The words after ``facesift`` of every command line the README shows (code blocks and
    code spans); ``./run.sh ARGS`` is ``facesift run ARGS``."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", README, flags=re.S))
    out = []
    for line in [line for b in blocks for line in b.splitlines()] + spans:
        line = line.split(" #")[0]
        m = re.search(r"(\bfacesift|\./run\.sh)\b(.*)", line)
        if m:
            words = shlex.split(m.group(2))
            out.append(["run", *words] if m.group(1) == "./run.sh" else words)
    return out


def test_every_flag_in_the_examples_exists():
    checked = 0
    for words in _examples():
        parser = pipeline.build_parser()
        flags = _flags(parser)
        for w in words:
            if w.startswith("-"):
                name = w.split("=")[0]
                assert name in flags, (
                    f"README: {name} is not a flag of `facesift {shlex.join(words)}`"
                )
                checked += 1
            elif w in _subcommands(parser):
                parser = _subcommands(parser)[w]
                flags = flags | _flags(parser)
    assert checked >= 5  # the examples were found at all


def _links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text)


def _slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    text = re.sub(r"[`*_]", "", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_every_relative_link_leads_to_a_file():
    broken = []
    for link in _links(README):
        if re.match(r"^[a-z]+:", link) or link.startswith("#"):
            continue
        path, _, anchor = link.partition("#")
        target = REPO / path
        if not target.exists():
            broken.append(link)
        elif anchor and target.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", target.read_text(encoding="utf-8"), flags=re.M)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(link)
    assert broken == []


def _nav_pages() -> list[str]:
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text.split("\nnav:\n", 1)[1]
    return re.findall(r"^\s+-\s+(?:[^:\n]+:\s+)?(\S+\.md)\s*$", nav, flags=re.M)


def test_every_docs_page_is_in_the_nav():
    pages = {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")}
    nav = _nav_pages()
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    assert pages - set(nav) == set(), "add these pages to nav in mkdocs.yml"
    assert set(nav) - pages == set(), "the nav names pages that do not exist"
