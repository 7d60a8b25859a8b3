"""The one contract every stage follows: ``stage(cat, opts, *, on_progress=None) -> Summary``.

- ``opts`` is a frozen dataclass whose fields are declared with :func:`option`: the
  default, bounds, choices and help text of each option live there and nowhere
  else. The command line is generated from them (:mod:`core.cli`), and
  :func:`check_options` enforces the same bounds for callers that skip the CLI
  (the review app, tests, scripts).
- ``on_progress`` receives :class:`Progress` records, the same shape for every stage.
- The summary subclasses :class:`StageSummary`: ``line()`` is the one text the CLI
  and the app print, ``as_dict()`` the JSON form.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any

from core.errors import FacesiftError

META_KEY = "facesift"


class OptionError(FacesiftError, ValueError):
    """An option value outside its declared bounds or choices."""


@dataclass(frozen=True)
class OptionSpec:
    """How one option is documented, bounded and spelled on the command line."""

    help: str
    flag: str | None = None  # default: --field-name
    metavar: str | None = None
    choices: Sequence[str] | None = None
    low: float | None = None  # inclusive bounds of a number
    high: float | None = None
    above: float | None = None  # exclusive lower bound (a timeout or rate above 0)
    parse: Callable[[str], Any] | None = None  # text -> value, for types argparse cannot infer
    off_flag: str | None = None  # a bool's opposite flag (e.g. --grayscale for --color)
    positional: bool = False
    cli: bool = True  # False: an option for callers of the function only (tuning, tests)
    show_default: bool = True
    required: bool = False  # required on the command line even if Python callers have a default
    off_help: str | None = None  # help of off_flag (default: "the opposite of --flag")


def option(
    default: Any = MISSING,
    *,
    help: str,
    default_factory: Callable[[], Any] | Any = MISSING,
    **spec: Any,
) -> Any:
    """A dataclass field that carries its option spec (see :class:`OptionSpec`)."""
    meta = {META_KEY: OptionSpec(help=help, **spec)}
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def spec_of(f: dataclasses.Field) -> OptionSpec | None:
    """The option spec of a dataclass field, or None for a plain field."""
    return f.metadata.get(META_KEY)


def flag_of(f: dataclasses.Field) -> str:
    """The field's command-line flag (``--chip-size`` for ``chip_size`` unless declared)."""
    spec = spec_of(f)
    if spec and spec.flag:
        return spec.flag
    return "--" + f.name.replace("_", "-")


def option_types(cls: type) -> dict[str, Any]:
    """The resolved type hints of an options dataclass (annotations may be strings).

    A plain field whose type is imported only for type checkers (to keep an options
    module cheap to import) resolves to ``Any``: it is never a flag.
    """
    try:
        return typing.get_type_hints(cls)
    except NameError:
        space = vars(sys.modules[cls.__module__])
        hints: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            try:
                hints[f.name] = eval(f.type, space) if isinstance(f.type, str) else f.type
            except NameError:
                hints[f.name] = Any
        return hints


def is_options_class(tp: Any) -> bool:
    """True for a nested options dataclass (a field whose flags are flattened in)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def has_bounds(spec: OptionSpec) -> bool:
    """True when the spec bounds a number."""
    return spec.low is not None or spec.high is not None or spec.above is not None


def in_bounds(spec: OptionSpec, value: float) -> bool:
    """Whether a (finite) number is within the spec's bounds."""
    return not (
        (spec.low is not None and value < spec.low)
        or (spec.high is not None and value > spec.high)
        or (spec.above is not None and value <= spec.above)
    )


def describe_bounds(spec: OptionSpec) -> str:
    """``between 1 and 10``, ``>= 0``, ``> 0`` or ``<= 5`` for a spec's bounds."""
    if spec.low is not None and spec.high is not None:
        return f"between {_num(spec.low)} and {_num(spec.high)}"
    parts = []
    if spec.low is not None:
        parts.append(f">= {_num(spec.low)}")
    if spec.above is not None:
        parts.append(f"> {_num(spec.above)}")
    if spec.high is not None:
        parts.append(f"<= {_num(spec.high)}")
    return " and ".join(parts)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_value(spec: OptionSpec, flag: str, value: Any) -> None:
    """Raise :class:`OptionError` if ``value`` breaks the spec's choices or bounds."""
    if value is None:
        return
    if spec.choices is not None and value not in spec.choices:
        raise OptionError(
            f"unknown {flag.lstrip('-')} {value!r} ({flag}): "
            f"use one of {', '.join(map(str, spec.choices))}"
        )
    if has_bounds(spec) and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(f"{flag} {value} is not a finite number")
        if not in_bounds(spec, value):
            raise OptionError(f"{flag} {_num(value)} is not {describe_bounds(spec)}")


def check_options(opts: Any) -> None:
    """Check every declared option of ``opts`` (and of nested options) against its spec."""
    for f in dataclasses.fields(opts):
        value = getattr(opts, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_options(value)
            continue
        spec = spec_of(f)
        if spec is not None:
            check_value(spec, flag_of(f), value)


@dataclass(frozen=True)
class Progress:
    """One progress report: ``done`` of ``total`` units (None: unknown) of a stage."""

    stage: str  # "scrape", "extract", "import", "export", "train", ...
    done: int
    total: int | None = None
    unit: str = "item"
    detail: str = ""  # a short running account, e.g. "12 faces"

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1], or None while the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressFn = Callable[[Progress], None]


def report(on_progress: ProgressFn | None, progress: Progress) -> None:
    """Call the callback, if any (so stages need no ``if on_progress`` of their own)."""
    if on_progress is not None:
        on_progress(progress)


class StageSummary:
    """Base of every stage's summary dataclass: one line of text and a JSON form."""

    def line(self) -> str:  # pragma: no cover - every summary defines its own
        """The one-line account the CLI prints and the app shows."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (Paths as text, Counters as dicts)."""
        # Not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, which
        # counts the pairs ({"('a', 2)": 1} for Counter(a=2)).
        return to_jsonable(self)


def to_jsonable(value: Any) -> Any:
    """``value`` with Paths as strings, tuples and sets as lists, mappings as dicts."""
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
