"""``facesift review --export-root DIR``: the app's exports stay below DIR."""

from __future__ import annotations

import pytest

from curation_ui import actions, roles
from tests.curation_ui.conftest import open_page


@pytest.fixture
def export_root(tmp_path):
    """An export root with a link inside it that points outside, and that outside."""
    root = tmp_path / "exports"
    root.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    return root, outside


def test_destinations_outside_the_export_root_are_refused(export_root):
    root, outside = export_root
    assert roles.export_path_inside(outside / "x", None) == outside / "x"  # no root: any folder
    assert roles.export_path_inside(root / "a" / "b", root) == (root / "a" / "b").resolve()
    assert roles.export_path_inside("mine", root) == (root / "mine").resolve()  # relative: below
    for bad in (outside / "x", root / ".." / "elsewhere", root / "link" / "x", "link/x", "/tmp"):
        with pytest.raises(roles.PermissionRefused, match="outside the export root") as e:
            roles.export_path_inside(bad, root)
        assert str(e.value) == f"{str(bad)!r} is outside the export root {root.resolve()}"


def test_the_export_page_keeps_exports_below_the_root(app_env, export_root, monkeypatch):
    root, outside = export_root
    cat, ids = app_env.cat, app_env.ids
    actions.relabel(cat.conn, [ids["sad_1"], ids["sad_2"], ids["happy_big"]], "ann", "sad")
    monkeypatch.setenv("FACESIFT_EXPORT_ROOT", str(root))  # what review --export-root sets
    at = open_page("export")
    assert at.text_input(key="ex_out").value == str(root / cat.paths.name)  # the default
    at.toggle(key="ex_no_baseline").set_value(True)
    for bad in (str(outside / "x"), str(root / "link" / "x"), str(root / ".." / "elsewhere")):
        at.text_input(key="ex_out").input(bad)
        at.button(key="ex_go").click().run()
        assert not at.exception
        assert [e.value for e in at.error] == [
            f"{bad!r} is outside the export root {root.resolve()}"
        ]
        assert not at.success
    assert not list(outside.iterdir())
    at.text_input(key="ex_out").input("mine")  # relative: below the root
    at.selectbox(key="ex_format").select("fer2013-csv")
    at.button(key="ex_go").click().run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert f"to {(root / 'mine').resolve()}" in at.success[0].value
    assert (root / "mine" / "README.md").is_file()


def test_review_passes_the_export_root_to_the_app(data_root, tmp_path, monkeypatch):
    import pipeline
    from curation_ui import launch

    served = []
    monkeypatch.setattr(launch, "serve", lambda argv, env: served.append(env) or 0)
    monkeypatch.setenv("FACESIFT_EXPORT_ROOT", "/somewhere/inherited")
    base = ["--root", str(data_root), "review"]
    assert pipeline.main(base) == 0
    assert "FACESIFT_EXPORT_ROOT" not in served[-1]  # not the environment's
    link = tmp_path / "to-exports"
    link.symlink_to(tmp_path, target_is_directory=True)
    assert pipeline.main([*base, "--export-root", str(link)]) == 0
    assert served[-1]["FACESIFT_EXPORT_ROOT"] == str(tmp_path.resolve())
