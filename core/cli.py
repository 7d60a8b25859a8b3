"""Command-line flags generated from a stage's options dataclass, and a terminal progress bar.

Plain argparse, driven by the :func:`core.contract.option` metadata: it is in the
standard library, gives ``--help`` for free, and the only thing the stages need
from it (one flag per field, typed and bounded) is a short loop. Libraries that
derive a CLI from dataclasses (tyro, simple-parsing) would add a dependency and
their own help layout for no gain here.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import math
import os
import signal
import sys
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from core.contract import (
    OptionSpec,
    Progress,
    ProgressFn,
    describe_bounds,
    flag_of,
    in_bounds,
    is_options_class,
    option_types,
    spec_of,
)

OptionsRef = type | str  # an options class, or "module:Class" to import only when needed


def resolve_options(ref: OptionsRef) -> type:
    """The options class of a reference (``"model.train:TrainOptions"`` is imported now)."""
    if isinstance(ref, str):
        module, _, name = ref.partition(":")
        return getattr(importlib.import_module(module), name)
    return ref


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block), exit status 2.

    Flags can be deferred (:meth:`defer_flags`): they are generated when this
    parser is used or its help is shown, so a command line does not import
    every command's options module (some pull in scikit-learn) to run one.
    """

    _deferred: tuple[OptionsRef, ...] = ()

    def defer_flags(self, refs: Iterable[OptionsRef]) -> None:
        """Add the flags of these options classes when the parser is first used."""
        self._deferred = (*self._deferred, *refs)

    def add_deferred_flags(self) -> None:
        """Generate the deferred flags now (idempotent)."""
        refs, self._deferred = self._deferred, ()
        for ref in refs:
            add_flags(self, resolve_options(ref))

    def format_usage(self) -> str:
        self.add_deferred_flags()
        return super().format_usage()

    def format_help(self) -> str:
        self.add_deferred_flags()
        return super().format_help()

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"facesift: error: {message} (see `{self.prog} --help`)\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        self.add_deferred_flags()
        argv = sys.argv[1:] if args is None else list(args)
        for token in argv:
            if token == "--":
                break
            # argparse drops "--" even from "--flag=--" and then takes the default
            # (or an empty list): a value the user did not mean.
            if token.startswith("--") and token.endswith("=--"):
                self.error(f"argument {token[:-3]}: expected a value, not '--'")
        return super().parse_known_args(argv, namespace)


def _bare_type(tp: Any) -> Any:
    """``int`` for ``int | None`` (the type a flag's text is parsed to)."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def number_parser(kind: type, spec: OptionSpec) -> Callable[[str], Any]:
    """Text -> int or float, refused (one line) outside the spec's bounds."""
    noun = "whole number" if kind is int else "number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {noun}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if not in_bounds(spec, value):
            raise argparse.ArgumentTypeError(f"{text} is not {describe_bounds(spec)}")
        return value

    # What the parser accepts, readable by tests that sweep every flag.
    parse.kind = kind  # type: ignore[attr-defined]
    parse.spec = spec  # type: ignore[attr-defined]
    return parse


def _shown(value: Any) -> str:
    """A default as the user would type it (20, not 20.0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _help(spec: OptionSpec, default: Any) -> str:
    text = spec.help
    if spec.show_default and default is not None and not isinstance(default, bool):
        shown = ",".join(map(_shown, default)) if isinstance(default, tuple) else _shown(default)
        text += f" (default: {shown})"
    return text.replace("%", "%%")


def add_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    *,
    skip: Iterable[str] = (),
    prefix: str = "",
) -> None:
    """Add one flag per declared option of ``cls`` (nested options flattened in).

    The namespace attribute of a nested option is ``<field>__<name>``, so that
    :func:`from_args` can rebuild the nested dataclass. Flags already on
    ``parser`` (a command that combines two stages) are left as they are.
    """
    skipped = set(skip)
    hints = option_types(cls)
    taken = parser._option_string_actions  # argparse's own map of flags in use
    for f in dataclasses.fields(cls):
        tp = _bare_type(hints[f.name])
        if is_options_class(tp):
            add_flags(parser, tp, skip=skipped, prefix=f"{prefix}{f.name}__")
            continue
        spec = spec_of(f)
        if spec is None or not spec.cli or f.name in skipped:
            continue
        flag = flag_of(f)
        if flag in taken:
            continue
        dest = prefix + f.name
        default = None if f.default is dataclasses.MISSING else f.default
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        if tp is bool:
            group = parser.add_mutually_exclusive_group() if spec.off_flag else parser
            group.add_argument(flag, dest=dest, action="store_true", help=_help(spec, default))
            if spec.off_flag:
                group.add_argument(
                    spec.off_flag,
                    dest=dest,
                    action="store_false",
                    help=spec.off_help or f"the opposite of {flag}",
                )
            parser.set_defaults(**{dest: bool(default)})
            continue
        kwargs: dict[str, Any] = {"help": _help(spec, default), "metavar": spec.metavar}
        if spec.parse is not None:
            kwargs["type"] = spec.parse
        elif tp in (int, float):
            kwargs["type"] = number_parser(tp, spec)
        elif tp is Path:
            kwargs["type"] = Path
        if spec.choices is not None:
            kwargs["choices"] = list(spec.choices)
            kwargs.pop("metavar")
        if spec.positional:
            parser.add_argument(dest, **kwargs)
            continue
        required = spec.required or (
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
        parser.add_argument(flag, dest=dest, default=default, required=required, **kwargs)


def from_args(cls: type, args: argparse.Namespace, *, prefix: str = "", **overrides: Any) -> Any:
    """The ``cls`` options for a parsed command line; fields without a flag keep defaults."""
    hints = option_types(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = _bare_type(hints[f.name])
        if f.name in overrides:
            values[f.name] = overrides[f.name]
        elif is_options_class(tp):
            values[f.name] = from_args(tp, args, prefix=f"{prefix}{f.name}__")
        elif hasattr(args, prefix + f.name) and spec_of(f) is not None:
            values[f.name] = getattr(args, prefix + f.name)
    return cls(**values)


def terminal_progress(enabled: bool | None = None) -> ProgressFn | None:
    """A progress callback drawing one tqdm bar per stage on stderr, or None if not a TTY."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    bars: dict[str, Any] = {}
    drawn: dict[str, float] = {}

    def on_progress(p: Progress) -> None:
        bar = bars.get(p.stage)
        if bar is None:
            bar = bars[p.stage] = tqdm(desc=p.stage, total=p.total, unit=f" {p.unit}")
            drawn[p.stage] = 0.0
        if p.total is not None and bar.total != p.total:
            bar.total = p.total
        bar.n = p.done
        finished = p.total is not None and p.done >= p.total
        now = time.monotonic()
        # A stage may report every item: redraw at most ten times a second.
        if finished or now - drawn[p.stage] >= 0.1:
            if p.detail:
                bar.set_postfix_str(p.detail, refresh=False)
            bar.refresh()
            drawn[p.stage] = now
        if finished:
            bar.close()
            del bars[p.stage]

    return on_progress


@contextlib.contextmanager
def interrupt_on_stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end a command as Ctrl+C does (KeyboardInterrupt), in this process.

    A service manager, ``docker stop`` or a closed terminal then gets the stages'
    own clean-up (the browser quit, finished work written, "rerun to continue")
    instead of an abrupt death. A signal ignored at start (``nohup``) stays
    ignored, and processes forked meanwhile (extract's workers) keep the default:
    they just end.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def on_signal(signum: int, _frame: object) -> None:
        if os.getpid() != owner:  # a forked worker: end as it would have
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise KeyboardInterrupt

    previous = {
        s: signal.signal(s, on_signal)
        for s in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(s) is signal.SIG_DFL
    }
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
