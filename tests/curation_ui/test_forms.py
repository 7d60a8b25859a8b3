"""The app's forms come from the option declarations (``curation_ui.forms``), never retyped.

For every options dataclass a page shows, each widget is read back through
Streamlit's AppTest and compared with the field's ``option()`` metadata (read
here from ``dataclasses.fields``, not from the builder): its bounds, default and
choices. A page that typed its own bound, default or choice list fails here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.contract import describe_bounds, has_bounds, option, option_types, spec_of
from exporter.options import ExportOptions
from faces.options import ExtractOptions
from importer.options import LABELS_FROM, ImportOptions
from tests.curation_ui.conftest import open_page
from tests.importer.conftest import png_bytes

WIDGETS = ("number_input", "selectbox", "toggle", "checkbox", "text_input")

# (page, key prefix, options class, the fields the page fills itself instead of a widget)
FORMS = [
    ("export", "ex", ExportOptions, set()),
    # path: the uploads or --import-root path; label/labels_from: the Labels selector;
    # labels_csv/ferplus: file uploads; no_extract: the "Extract faces" toggle.
    (
        "import",
        "im",
        ImportOptions,
        {"path", "label", "labels_from", "labels_csv", "ferplus", "no_extract"},
    ),
    # whole_image would apply to every pending image: the import's own toggle marks its.
    ("import", "ix", ExtractOptions, {"whole_image"}),
]


def widget(at: AppTest, key: str):
    """The one widget of any kind with this key."""
    found = [w for kind in WIDGETS for w in at.get(kind) if w.key == key]
    assert len(found) == 1, f"{len(found)} widgets with key {key!r}"
    return found[0]


def _bare(tp):
    import types
    import typing

    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def declared(cls: type, hidden: set[str]):
    """(field, spec, type, optional) of every option a form of ``cls`` must draw."""
    hints = option_types(cls)
    for f in dataclasses.fields(cls):
        spec = spec_of(f)
        tp, optional = _bare(hints[f.name])
        if spec is None or not spec.cli or dataclasses.is_dataclass(tp) or f.name in hidden:
            continue
        yield f, spec, tp, optional


def expected_min(spec, tp):
    """The widget's min for a declared bound: ``low``; a strict ``above`` is ``above + 1``
    for an int, ``above`` itself for a float (refused on submit, see below)."""
    lows = [spec.low] if spec.low is not None else []
    if spec.above is not None:
        lows.append(spec.above + 1 if tp is int else spec.above)
    return max(lows) if lows else None


def check_widget(at: AppTest, key: str, f, spec, tp, optional) -> None:
    w = widget(at, key)
    default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
    has_default = default is not dataclasses.MISSING
    if tp is bool:
        assert w.type == "toggle" and w.value is default, key
    elif spec.choices is not None:
        assert w.type == "selectbox", key
        assert w.options == ["(none)"] * optional + [str(c) for c in spec.choices], key
        assert w.value == default, key
    elif spec.parse is None and tp in (int, float):
        assert w.type == "number_input", key
        assert (w.min, w.max) == (expected_min(spec, tp), spec.high), key
        assert w.value == default, key
        if has_bounds(spec):
            assert describe_bounds(spec) in w.help, key  # the bound is shown, not only enforced
    else:
        assert w.type == "text_input", key
        if spec.parse is not None:
            assert spec.parse(w.value) == default, key
        elif has_default:
            assert w.value == ("" if default is None else str(default)), key
    assert spec.help in w.help, key


@pytest.mark.parametrize(
    ("page", "prefix", "cls", "hidden"), FORMS, ids=[f"{p}-{c.__name__}" for p, _, c, _ in FORMS]
)
def test_every_widget_of_a_form_is_its_option_declaration(app_env, page, prefix, cls, hidden):
    at = open_page(page)
    assert not at.exception and not at.error
    fields = list(declared(cls, hidden))
    assert fields
    for f, spec, tp, optional in fields:
        check_widget(at, f"{prefix}_{f.name}", f, spec, tp, optional)
    # Nothing else of the form: every widget keyed <prefix>_<name> is an option drawn above,
    # or (hidden options) a page's own widget (the import's Labels, Label and uploads).
    own = {"im_mode", "im_files", "im_path", "im_labels", "im_label", "im_labels_csv"}
    own |= {"im_ferplus", "im_extract"}
    keys = {w.key for kind in WIDGETS for w in at.get(kind) if w.key}
    drawn = {k for k in keys - own if k.startswith(prefix + "_")}
    assert drawn == {f"{prefix}_{f.name}" for f, *_ in fields}


def test_the_import_pages_own_widgets_follow_the_declarations(app_env):
    at = open_page("import")
    # The Labels selector: no labels, labels_from's declared choices, or one label.
    assert at.selectbox(key="im_labels").options[1:-1] == [
        at.selectbox(key="im_labels").format_func(c) for c in LABELS_FROM
    ]
    assert len(at.selectbox(key="im_labels").options) == len(LABELS_FROM) + 2
    no_extract = next(f for f in dataclasses.fields(ImportOptions) if f.name == "no_extract")
    assert at.toggle(key="im_extract").value is not no_extract.default


def test_export_page_bounds_are_the_options(app_env):
    """The bounds the page used to type itself (max yaw 90, min size 10,000) are gone."""
    at = open_page("export")
    assert at.number_input(key="ex_max_yaw").max is None
    assert at.number_input(key="ex_max_yaw").value is None  # empty: any yaw
    assert at.number_input(key="ex_min_size").max is None
    assert (at.number_input(key="ex_padding").min, at.number_input(key="ex_padding").max) == (0, 2)


def test_a_value_outside_its_bound_is_refused_in_one_line_and_nothing_runs(app_env, monkeypatch):
    from curation_ui import actions
    from curation_ui.views import importing

    ran = []
    monkeypatch.setattr(actions, "import_as", lambda *a, **kw: ran.append("import"))
    monkeypatch.setattr(importing, "_extract_with_progress", lambda *a: ran.append("extract"))
    at = open_page("import")
    at.file_uploader(key="im_files").set_value(("a.png", png_bytes(7), "image/png"))
    at.number_input(key="im_fps").set_value(0.0)  # fps is declared above=0
    at.button(key="im_go").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Video frames per second: 0 is not > 0"]
    assert ran == []
    # Within the bound, both stages run with the form's options.
    monkeypatch.setattr(actions, "import_as", lambda u, c, opts, **kw: ran.append(opts))
    at.number_input(key="im_fps").set_value(0.25)
    at.button(key="im_go").click().run()
    assert not at.exception and not at.error
    assert [o.fps for o in ran] == [0.25]


def test_extract_options_from_the_import_page_reach_the_stage(app_env, monkeypatch):
    from curation_ui import actions
    from curation_ui.views import importing
    from importer.stage import ImportSummary

    seen = []
    monkeypatch.setattr(actions, "import_as", lambda *a, **kw: ImportSummary("upload"))
    monkeypatch.setattr(importing, "_extract_with_progress", lambda cat, opts: seen.append(opts))
    at = open_page("import")
    at.file_uploader(key="im_files").set_value(("a.png", png_bytes(7), "image/png"))
    at.selectbox(key="ix_detector").select("cnn")
    at.number_input(key="ix_chip_size").set_value(64)
    at.button(key="im_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert seen == [ExtractOptions(detector="cnn", chip_size=64)]


# --- the builder on its own -----------------------------------------------------------------


@dataclass(frozen=True)
class Toy:
    """Every kind of option the builder draws, and the kinds it leaves out."""

    where: Path = option(help="where to write")
    rate: float = option(1.0, help="rate", above=0)
    count: int = option(2, help="count", above=0, high=10)
    mode: str | None = option(None, help="mode", choices=("a", "b"))
    name: str | None = option(None, help="name")
    limit: float | None = option(None, help="limit", low=0, high=5)
    loud: bool = option(True, help="loud")
    knob: int = option(3, help="a tuning knob", cli=False)
    nested: ExtractOptions = field(default_factory=ExtractOptions)
    plain: int = 0


def toy_page(initial: dict | None = None, hide: tuple = ()) -> None:
    from pathlib import Path

    import streamlit as st

    from curation_ui.forms import OptionsForm
    from tests.curation_ui.test_forms import Toy

    form = OptionsForm(Toy, "t", initial=initial, hide=hide)
    form.draw()
    if st.button("Go", key="t_go"):
        opts = form.options(**({"where": Path("/given")} if "where" in hide else {}))
        if opts is not None:
            st.session_state["built"] = opts


def open_toy(**kwargs) -> AppTest:
    return AppTest.from_function(toy_page, kwargs=kwargs, default_timeout=30).run()


def test_the_builder_draws_each_kind_of_option_from_its_declaration():
    at = open_toy()
    assert not at.exception
    for f, spec, tp, optional in declared(Toy, set()):
        check_widget(at, f"t_{f.name}", f, spec, tp, optional)
    keys = {w.key for kind in WIDGETS for w in at.get(kind)}
    assert keys == {"t_where", "t_rate", "t_count", "t_mode", "t_name", "t_limit", "t_loud"}
    # A strict bound of an int is the next int; of a float, the bound (refused on submit).
    assert at.number_input(key="t_count").min == 1 and at.number_input(key="t_rate").min == 0


def test_the_builder_builds_the_options_or_says_why_not_in_one_line():
    at = open_toy()
    at.button(key="t_go").click().run()
    assert [e.value for e in at.error] == ["Where to write: give a value"]
    at.text_input(key="t_where").input("~/x")
    at.number_input(key="t_rate").set_value(0.0)
    at.button(key="t_go").click().run()
    assert [e.value for e in at.error] == ["Rate: 0 is not > 0"]
    assert "built" not in at.session_state
    at.number_input(key="t_rate").set_value(0.5)
    at.selectbox(key="t_mode").select("b")
    at.number_input(key="t_limit").set_value(2.5)
    at.button(key="t_go").click().run()
    assert not at.error
    assert at.session_state["built"] == Toy(where=Path.home() / "x", rate=0.5, mode="b", limit=2.5)


def test_a_page_may_hide_or_start_a_field_without_a_default_but_not_retype_one():
    at = open_toy(initial={"where": "/tmp/out"})
    assert at.text_input(key="t_where").value == "/tmp/out"
    at = open_toy(hide=("where",))
    at.button(key="t_go").click().run()
    assert at.session_state["built"].where == Path("/given")
    at = open_toy(initial={"rate": 2.0})
    assert at.exception and "do not retype it" in at.exception[0].message
