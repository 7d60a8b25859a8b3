"""Write docs/reference/cli.md, the command reference, from the code itself.

The commands come from ``pipeline.COMMANDS`` (the table ``pipeline.build_parser``
builds the command line from) and each command's flags from its options
dataclasses: the ``option()`` metadata of every field (help, metavar, bounds,
choices, default), walked the way ``core.cli.add_flags`` walks them (nested
options flattened in, a flag already taken by an earlier class left out). So the
page cannot say what the code does not; ``tests/test_docs.py`` also checks it
against the argparse parser itself.

    .venv/bin/python scripts/gen_cli_reference.py          # write the page
    .venv/bin/python scripts/gen_cli_reference.py --check  # exit 1 if the committed page differs

The output depends only on the code: no date, no absolute path, a stable order.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pipeline  # noqa: E402
from core.cli import _bare_type, resolve_options  # noqa: E402
from core.contract import (  # noqa: E402
    OptionSpec,
    describe_bounds,
    flag_of,
    has_bounds,
    is_options_class,
    option_types,
    spec_of,
)

PAGE = REPO / "docs" / "reference" / "cli.md"
HELP_FLAGS = ("-h", "--help")


@dataclass(frozen=True)
class Flag:
    """One row of a command's table: a flag (or positional argument) and its declaration."""

    flag: str  # "--chip-size", or the metavar of a positional argument ("PATH")
    value: str  # what follows the flag ("" for a switch)
    default: str
    allowed: str  # bounds or choices
    help: str
    source: type  # the options class that declares it (a nested one's own class)
    positional: bool = False
    required: bool = False


def _default_text(value: Any) -> str:
    """A default as one would type it: ``20`` not ``20.0``, ``0.8,0.1,0.1``, ``off`` for False."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ",".join(_default_text(v) for v in value)
    if isinstance(value, Path):
        return value.as_posix()
    return str(value)


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def option_rows(cls: type, taken: set[str]) -> Iterator[Flag]:
    """The flags ``core.cli.add_flags`` makes for ``cls``, in its order (``taken`` is updated)."""
    hints = option_types(cls)
    for f in dataclasses.fields(cls):
        tp = _bare_type(hints[f.name])
        if is_options_class(tp):
            yield from option_rows(tp, taken)
            continue
        spec = spec_of(f)
        if spec is None or not spec.cli:
            continue
        flag = flag_of(f)
        if flag in taken:
            continue
        default = _field_default(f)
        if tp is bool:
            taken.add(flag)
            yield Flag(flag, "", _default_text(bool(default)), "", spec.help, cls)
            if spec.off_flag:
                taken.add(spec.off_flag)
                off_help = spec.off_help or f"the opposite of {flag}"
                yield Flag(spec.off_flag, "", "", "", off_help, cls)
            continue
        metavar = spec.metavar or f.name.upper()
        allowed = _allowed(spec)
        if spec.positional:
            yield Flag(
                metavar, "", _default_text(default), allowed, spec.help, cls, positional=True
            )
            continue
        taken.add(flag)
        required = spec.required or (
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
        shown = "" if required else _default_text(default)
        yield Flag(flag, metavar, shown, allowed, spec.help, cls, required=required)


def _allowed(spec: OptionSpec) -> str:
    if spec.choices is not None:
        return "one of " + ", ".join(f"`{c}`" for c in spec.choices)
    if has_bounds(spec):
        return describe_bounds(spec)
    return ""


def command_rows(refs: Sequence[Any]) -> list[tuple[type, list[Flag]]]:
    """Each options class of a command with the flags it contributes (help flags pre-taken)."""
    taken = set(HELP_FLAGS)
    out = []
    for ref in refs:
        cls = resolve_options(ref)
        out.append((cls, list(option_rows(cls, taken))))
    return out


# --- markdown -----------------------------------------------------------------------------

_SPECIAL = re.compile(r"([\\*_\[\]|])")


def _cell(text: str) -> str:
    """Plain text for a table cell: code spans kept, markdown and HTML specials escaped."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a code span
            out.append(_code(part[1:-1]))
        else:
            part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append(_SPECIAL.sub(r"\\\1", part))
    return "".join(out)


def _code(text: str) -> str:
    """A code span that survives a table cell in MkDocs and on GitHub alike.

    The two disagree on a ``|`` inside backticks (a cell separator on GitHub, a
    literal ``\\|`` in Python-Markdown), so such a value is written as HTML.
    """
    if not text:
        return ""
    if "|" in text:
        return "<code>" + html.escape(text, quote=False).replace("|", "&#124;") + "</code>"
    return f"`{text}`"


def flag_table(rows: Sequence[Flag]) -> list[str]:
    lines = ["| flag | default | allowed | what it does |", "|---|---|---|---|"]
    for r in rows:
        if r.positional:
            name = f"{_code(r.flag)} (argument)"
        else:
            name = _code(f"{r.flag} {r.value}".strip())
        default = "required" if r.required else _code(r.default)
        lines.append(f"| {name} | {default} | {_cell(r.allowed)} | {_cell(r.help)} |")
    return lines


def usage(path: str, groups: list[tuple[type, list[Flag]]]) -> str:
    """``facesift [GLOBAL FLAGS] import PATH [FLAGS]``: the arguments and required flags named."""
    rows = [r for _, rs in groups for r in rs]
    words = ["facesift", "[GLOBAL FLAGS]", path]
    words += [r.flag for r in rows if r.positional]
    words += [f"{r.flag} {r.value}" for r in rows if r.required]
    if any(not r.positional and not r.required for r in rows):
        words.append("[FLAGS]")
    return " ".join(words)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _declared_in(cls: type, rows: Sequence[Flag]) -> str:
    """``a.B`` and the options classes it nests (``a.B`` with ``a.C``)."""
    nested = dict.fromkeys(r.source for r in rows if r.source is not cls)
    names = f"`{_qualname(cls)}`"
    if nested:
        names += " with " + ", ".join(f"`{_qualname(n)}`" for n in nested)
    return names


def command_section(command: pipeline.Command, parents: tuple[str, ...]) -> list[str]:
    path = " ".join((*parents, command.name))
    level = "#" * (2 + len(parents))
    lines = [
        f"{level} facesift {path}",
        "",
        _cell(command.help[0].upper() + command.help[1:]) + ".",
    ]
    if command.commands:
        lines += ["", "Subcommands:", ""]
        lines += [f"- `facesift {path} {c.name}`: {_cell(c.help)}" for c in command.commands]
        lines.append("")
        for c in command.commands:
            lines += command_section(c, (*parents, command.name))
        return lines
    groups = command_rows(command.options)
    lines += ["", "```", usage(path, groups), "```", ""]
    for cls, rows in groups:
        if len(groups) > 1:
            lines += [f"Flags from {_declared_in(cls, rows)}:", ""]
        else:
            lines += [f"Declared in {_declared_in(cls, rows)}.", ""]
        lines += [*flag_table(rows), ""] if rows else ["No flags but `--help`.", ""]
    return lines


def render() -> str:
    """The whole page."""
    global_rows = command_rows([pipeline.DataOptions])
    lines = [
        "# Command reference",
        "",
        "<!-- Generated by scripts/gen_cli_reference.py from pipeline.COMMANDS and the",
        "     option() declarations: do not edit by hand; run the script instead. -->",
        "",
        "Every flag below is declared once, in its stage's options dataclass, with",
        "`core.contract.option()`; `facesift` generates its flags from those declarations",
        "(`core.cli.add_flags`), and this page is generated from the same declarations.",
        "Every command also takes `-h`/`--help`. A refused flag or value is one line on",
        "stderr and exit status 2.",
        "",
        "## Global flags",
        "",
        "Given before the command: `facesift --dataset smiles stats`.",
        "",
        "```",
        "facesift [--root DIR] [--dataset NAME] COMMAND ...",
        "```",
        "",
        f"Declared in {_declared_in(pipeline.DataOptions, global_rows[0][1])}.",
        "",
        *flag_table(global_rows[0][1]),
        "",
        "## Commands",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for c in pipeline.COMMANDS:
        for name, sub in [(c.name, c)] + [(f"{c.name} {s.name}", s) for s in c.commands]:
            anchor = "facesift-" + name.replace(" ", "-")
            lines.append(f"| [`{name}`](#{anchor}) | {_cell(sub.help)} |")
    lines.append("")
    for c in pipeline.COMMANDS:
        lines += command_section(c, ())
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check", action="store_true", help="exit 1 if the committed page differs from the code"
    )
    args = ap.parse_args(argv)
    text = render()
    rel = PAGE.relative_to(REPO).as_posix()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else None
        if current != text:
            print(
                f"{rel} is out of date: run .venv/bin/python scripts/gen_cli_reference.py",
                file=sys.stderr,
            )
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
