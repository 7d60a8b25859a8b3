"""The app's forms, drawn from a stage's options dataclass (the app's :func:`core.cli.add_flags`).

Each :func:`core.contract.option` field becomes one widget with the field's own
default, bounds, choices and help, so that a page cannot type a bound the stage
does not have (or miss one it has):

- a bool is a toggle;
- a field with choices is a selectbox of them (``Optional``: a "(none)" entry too);
- an int or float is a number input with the declared ``low`` / ``high`` as its
  min and max. A strict bound (``above``) is the min of an int (``above + 1``);
  a float's widget stops at ``above`` and the form refuses ``above`` itself on
  submit (one ``st.error`` line). The bounds are in the widget's help either way;
- a field with a ``parse`` function (``--splits``) is the text the CLI takes;
- a str or Path is a text input;
- ``Optional[...]`` fields can be left empty: None (an empty number input, empty text).

Nested options dataclasses and plain (non-``option()``) fields are not drawn, nor
are ``cli=False`` options (tuning knobs for callers of the function, which the
command line does not offer either). A page may hide fields (it fills them
itself), choose where and in which order fields are drawn, and give a shorter
label; the widget's kind, default, bounds and choices always come from the field.

Usage::

    form = OptionsForm(ExportOptions, "ex", labels={"size": "Image size (px)"})
    form.draw(["out", "format", "size"], columns=3)
    with st.expander("More options"):
        form.draw()  # every field not drawn or hidden yet
    if st.button("Export"):
        opts = form.options()  # None after one st.error line
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from core.contract import (
    OptionError,
    OptionSpec,
    check_options,
    describe_bounds,
    has_bounds,
    in_bounds,
    is_options_class,
    option_types,
    spec_of,
)
from core.errors import one_line

NONE_CHOICE = "(none)"


@dataclasses.dataclass(frozen=True)
class Field:
    """One drawable option: its dataclass field, spec, bare type and whether None is allowed."""

    field: dataclasses.Field
    spec: OptionSpec
    kind: Any  # int for ``int | None``
    optional: bool

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def default(self) -> Any:
        """The declared default (MISSING when the field has none)."""
        f = self.field
        if f.default_factory is not dataclasses.MISSING:
            return f.default_factory()
        return f.default


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """``(int, True)`` for ``int | None``; ``(tp, False)`` for anything else."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def option_fields(cls: type) -> list[Field]:
    """The fields of ``cls`` a form draws, in declaration order (see the module's docstring)."""
    hints = option_types(cls)
    out = []
    for f in dataclasses.fields(cls):
        spec = spec_of(f)
        kind, optional = _unwrap(hints[f.name])
        if spec is None or not spec.cli or is_options_class(kind):
            continue
        out.append(Field(f, spec, kind, optional))
    return out


def default_of(cls: type, name: str) -> Any:
    """The declared default of option ``name`` of ``cls`` (for a page's own widget)."""
    for f in option_fields(cls):
        if f.name == name:
            return f.default
    raise KeyError(f"{cls.__name__} has no option {name!r}")


def number_bounds(f: Field) -> tuple[Any, Any]:
    """The number input's (min_value, max_value) for a numeric field: its declared bounds.

    An int's strict bound ``above`` is ``above + 1``; a float's is ``above`` itself
    (the form refuses it on submit: no float is "the smallest above").
    """
    spec = f.spec
    lows: list[Any] = []
    high: Any = None
    if f.kind is int:
        if spec.low is not None:
            lows.append(math.ceil(spec.low))
        if spec.above is not None:
            lows.append(math.floor(spec.above) + 1)
        if spec.high is not None:
            high = math.floor(spec.high)
    else:
        lows = [float(x) for x in (spec.low, spec.above) if x is not None]
        if spec.high is not None:
            high = float(spec.high)
    return (max(lows) if lows else None), high


def _help(f: Field) -> str:
    """The widget's help: the option's help, its bounds, and what empty means."""
    text = f.spec.help
    extra = []
    if has_bounds(f.spec):
        extra.append(describe_bounds(f.spec))
    if f.optional and f.kind is not bool and f.spec.choices is None:
        extra.append("may be left empty")
    if extra:
        text += " (" + "; ".join(extra) + ")"
    return text


def _label(f: Field) -> str:
    text = f.spec.help
    return text[:1].upper() + text[1:]


def _shown(value: Any) -> str:
    """A default as the CLI would take it (0.8,0.1,0.1; 20, not 20.0)."""
    if isinstance(value, tuple | list):
        return ",".join(map(_shown, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


class OptionsForm:
    """The widgets of one options dataclass, keyed ``<key>_<field>``, and the options they give.

    ``hide``: fields the page fills itself (passed to :meth:`options`). ``labels``:
    shorter widget labels by field name. ``initial``: the first value of a field
    that declares no default (the export's output folder); a declared default is
    never replaced.
    """

    def __init__(
        self,
        cls: type,
        key: str,
        *,
        hide: Iterable[str] = (),
        labels: Mapping[str, str] | None = None,
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        self.cls = cls
        self.key = key
        self.fields = {f.name: f for f in option_fields(cls)}
        names = {f.name for f in dataclasses.fields(cls)}
        self.hide = set(hide)
        self.labels = dict(labels or {})
        self.initial = dict(initial or {})
        for name in self.hide:
            if name not in names:
                raise KeyError(f"{cls.__name__} has no field {name!r}")
        for name in set(self.labels) | set(self.initial):
            if name not in self.fields:
                raise KeyError(f"{cls.__name__} has no option {name!r} a form draws")
        for name in self.initial:
            if self.fields[name].default is not dataclasses.MISSING:
                raise ValueError(f"{cls.__name__}.{name} declares its default: do not retype it")
        self.raw: dict[str, Any] = {}  # field name -> the widget's value

    def widget_key(self, name: str) -> str:
        """The Streamlit key of a field's widget (``ex_min_size``)."""
        return f"{self.key}_{name}"

    def label(self, name: str) -> str:
        """The widget label of a field: the page's, or its help text."""
        return self.labels.get(name) or _label(self.fields[name])

    def pending(self) -> list[str]:
        """Fields neither drawn nor hidden yet, in declaration order."""
        return [n for n in self.fields if n not in self.raw and n not in self.hide]

    def draw(self, order: Sequence[str] | None = None, *, columns: int | Sequence = 1) -> None:
        """Draw the fields named in ``order`` (default: every field not drawn yet).

        ``columns``: how many columns to lay them out in (a new row of columns each
        time one is full), or the containers themselves (e.g. the rest of a row the
        page started), filled left to right and then again from the first.
        """
        names = self.pending() if order is None else list(order)
        for name in names:
            if name not in self.fields:
                raise KeyError(f"{self.cls.__name__} has no option {name!r} to draw")
            if name in self.hide or name in self.raw:
                raise ValueError(f"{name!r} is hidden or already drawn")
        width = columns if isinstance(columns, int) else len(columns)
        for start in range(0, len(names), width):
            row = names[start : start + width]
            if isinstance(columns, int):
                spots = st.columns(width) if width > 1 else [st.container()]
            else:
                spots = list(columns)
            for name, spot in zip(row, spots, strict=False):
                with spot:
                    self.raw[name] = self._widget(self.fields[name])

    def _widget(self, f: Field) -> Any:
        key, label, help_ = self.widget_key(f.name), self.label(f.name), _help(f)
        default = f.default
        if default is dataclasses.MISSING:
            default = self.initial.get(f.name)
        spec = f.spec
        if f.kind is bool:
            return st.toggle(label, value=bool(default), key=key, help=help_)
        if spec.choices is not None:
            options = ([None] if f.optional else []) + list(spec.choices)
            return st.selectbox(
                label,
                options,
                index=options.index(default) if default in options else 0,
                format_func=lambda v: NONE_CHOICE if v is None else str(v),
                key=key,
                help=help_,
            )
        if spec.parse is None and f.kind in (int, float):
            low, high = number_bounds(f)
            if f.kind is int:
                value = None if default is None else int(default)
                step: int | float | None = 1
            else:
                value = None if default is None else float(default)
                step = None
            return st.number_input(
                label,
                low,
                high,
                value,
                step,
                key=key,
                help=help_,
                placeholder="empty" if f.optional else None,
            )
        if spec.parse is not None or f.kind in (str, Path):
            text = "" if default is None else _shown(default)
            return st.text_input(label, text, key=key, help=help_)
        raise TypeError(f"{self.cls.__name__}.{f.name}: no widget for {f.kind!r}; hide it")

    def _value(self, f: Field) -> Any:
        """The field's value from its widget; OptionError (one line) when it is refused."""
        raw, label = self.raw[f.name], self.label(f.name)
        if isinstance(raw, str):
            raw = raw.strip()
            if not raw:
                if f.optional:
                    return None
                raise OptionError(f"{label}: give a value")
            if f.spec.parse is not None:
                try:
                    return f.spec.parse(raw)
                except (argparse.ArgumentTypeError, ValueError) as e:
                    raise OptionError(f"{label}: {e}") from None
            return Path(raw).expanduser() if f.kind is Path else raw
        if raw is None and not f.optional and f.kind in (int, float):
            raise OptionError(f"{label}: give a number")
        if isinstance(raw, float) and not math.isfinite(raw):
            raise OptionError(f"{label}: {raw} is not a finite number")
        number = isinstance(raw, int | float) and not isinstance(raw, bool)
        if number and has_bounds(f.spec) and not in_bounds(f.spec, raw):
            raise OptionError(f"{label}: {raw:g} is not {describe_bounds(f.spec)}")
        return raw

    def build(self, **given: Any) -> Any:
        """The options from the widgets and ``given`` (hidden fields); OptionError if refused."""
        missing = self.pending()
        if missing:  # a page bug, not the user's: every option is drawn or filled by the page
            raise RuntimeError(f"{self.cls.__name__} form: {', '.join(missing)} never drawn")
        values = {name: self._value(self.fields[name]) for name in self.raw}
        opts = self.cls(**values, **given)
        check_options(opts)
        return opts

    def options(self, **given: Any) -> Any | None:
        """:meth:`build`, with a refused value shown as one ``st.error`` line (then None)."""
        try:
            return self.build(**given)
        except OptionError as e:
            st.error(one_line(str(e)))
            return None
