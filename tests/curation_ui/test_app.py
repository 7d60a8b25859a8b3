"""Each page's logic through Streamlit's AppTest (no browser): every action ends as events."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from streamlit.testing.v1 import AppTest

from catalog.events import face_state
from curation_ui.components.grid import testing as grid
from curation_ui.components.queue.testing import press, view
from tests.conftest import REPO
from tests.curation_ui.conftest import open_page
from tests.diskfull import catalog_fills, store_fills_after
from tests.importer.conftest import png_bytes

APP = REPO / "curation_ui" / "app.py"


def events(cat):
    return [
        tuple(r)
        for r in cat.conn.execute(
            "SELECT face_id, annotator, action, label, reason FROM label_events ORDER BY id"
        )
    ]


def checkbox_ids(at) -> list[int]:
    """The faces of the review grid that can still be ticked (the grid is a component)."""
    return grid.open_ids(at)


def test_the_annotator_is_asked_once_and_remembered(app_env):
    at = open_page("review", annotator=None)
    assert not at.get("bidi_component") and at.text_input(key="who_name")
    at.text_input(key="who_name").input("Ann Lee")
    at.button[0].click().run()
    assert at.session_state["annotator"] == "Ann Lee"
    assert at.query_params["annotator"] == "Ann Lee"
    assert [h.value for h in at.header] == ["Review by query"]  # the page is there now


def test_the_whole_app_runs_with_its_navigation(app_env):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["annotator"] = "ann"
    at.run()
    assert not at.exception
    assert [h.value for h in at.header] == ["Review by query"]


def test_review_reject_marked_accept_the_rest_and_undo(app_env):
    cat, ids = app_env.cat, app_env.ids
    at = open_page("review")
    at.selectbox(key="rv_label").select("sad").run()
    assert sorted(checkbox_ids(at)) == sorted([ids["sad_1"], ids["sad_2"], ids["sad_3"]])
    # The tick box says only the face number; the label is on its own caption line.
    faces = grid.faces(at)
    assert [f["name"] for f in faces] == [f"#{f['id']}" for f in faces]
    assert sum(f["caption"].startswith("sad") for f in faces) == 3
    # real chips, as thumbnails cached on disk by content
    assert all(f["src"].startswith("data:image/jpeg;base64,") for f in faces)
    # happy's 4 (the page opens on them) and sad's 3
    assert len(list((cat.paths.dir / "thumbs").rglob("*.jpg"))) == 4 + 3
    grid.act(at, "reject", [ids["sad_2"]], reason="drawing")
    assert events(cat) == [(ids["sad_2"], "ann", "reject", None, "drawing")]
    # The rejected face leaves the pending view (it stays in place, drawn as rejected);
    # accept the rest of the page.
    assert ids["sad_2"] not in checkbox_ids(at)
    grid.act(at, "accept_rest")
    assert {face_state(cat.conn, ids[n]).status for n in ("sad_1", "sad_3")} == {"accepted"}
    assert checkbox_ids(at) == []
    # Undo takes back the whole "accept the rest" action.
    grid.act(at, "undo")
    assert {face_state(cat.conn, ids[n]).status for n in ("sad_1", "sad_3")} == {"pending"}
    assert [e[2] for e in events(cat)] == ["reject", "accept", "accept", "undo", "undo"]


def test_review_relabel_and_filters(app_env):
    cat, ids = app_env.cat, app_env.ids
    at = open_page("review")
    at.selectbox(key="rv_label").select("happy").run()
    assert len(checkbox_ids(at)) == 4
    at.toggle(key="rv_collapse").set_value(True).run()
    assert ids["happy_dup_worse"] not in checkbox_ids(at) and len(checkbox_ids(at)) == 3
    at.number_input(key="rv_min_size").set_value(100.0).run()
    assert sorted(checkbox_ids(at)) == sorted([ids["happy_big"], ids["happy_dup_best"]])
    grid.act(at, "relabel", [ids["happy_big"]], label="surprise")
    st = face_state(cat.conn, ids["happy_big"])
    assert (st.status, st.label) == ("accepted", "surprise")
    at.pills(key="rv_status").set_value(["accepted"]).run()
    at.selectbox(key="rv_label").select("surprise").run()
    assert checkbox_ids(at) == [ids["happy_big"]]


def test_queue_label_skip_reject_undo(app_env):
    cat, ids = app_env.cat, app_env.ids
    at = open_page("queue")
    assert at.session_state["q_state"].current == ids["none_1"]
    press(at, "label", "fear")
    press(at, "skip")
    at.selectbox(key="q_reason").select("not_a_face").run()
    press(at, "reject")
    assert at.session_state["q_state"].current is None
    press(at, "undo")
    assert at.session_state["q_state"].current == ids["none_3"]
    assert events(cat) == [
        (ids["none_1"], "ann", "label", "fear", None),
        (ids["none_3"], "ann", "reject", None, "not_a_face"),
        (ids["none_3"], "ann", "undo", None, None),
    ]
    # Every label has its key, in label-set order (the component numbers them 1..9).
    assert view(at)["labels"] == list(cat.labels.names)


def test_queue_subsets(app_env):
    ids = app_env.ids
    at = open_page("queue")
    at.selectbox(key="q_subset").select("pending").run()
    at.selectbox(key="q_label").select("sad").run()
    assert at.session_state["q_state"].current == ids["sad_1"]
    press(at, "label", "angry")
    assert at.session_state["q_state"].current == ids["sad_2"]


def test_import_page_upload_a_zip_with_folder_labels(app_env):
    cat = app_env.cat
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("happy/a.png", png_bytes(101))
        zf.writestr("sad/b.png", png_bytes(102))
        zf.writestr("sad/c.txt", b"hello")
    at = open_page("import")
    at.file_uploader(key="im_files").set_value(("faces.zip", buf.getvalue(), "application/zip"))
    at.selectbox(key="im_labels").select("folders").run()
    at.toggle(key="im_extract").set_value(False).run()
    at.button(key="im_go").click().run()
    assert not at.exception and not at.error
    assert any("2 images kept (2 new" in t.value for t in at.text)
    rows = cat.conn.execute(
        "SELECT import_path, source_label FROM image_sources WHERE source_name = 'upload' "
        "ORDER BY import_path"
    ).fetchall()
    assert [tuple(r) for r in rows] == [
        ("faces.zip/happy/a.png", "happy"),
        ("faces.zip/sad/b.png", "sad"),
    ]
    assert at.dataframe  # the refused text file is listed


def test_import_page_folder_then_extraction(app_env, tmp_path, single_face_photo, monkeypatch):
    import shutil

    # A folder of its own: tmp_path also holds the dataset (whose chips are faces too).
    folder = tmp_path / "photos"
    folder.mkdir()
    monkeypatch.setenv("FACESIFT_IMPORT_ROOT", str(folder))  # review --import-root
    cat = app_env.cat
    shutil.copy(single_face_photo.path, folder / single_face_photo.name)
    at = open_page("import")
    at.radio(key="im_mode").set_value("A folder or file on this machine").run()
    at.text_input(key="im_path").input(str(folder)).run()
    at.selectbox(key="im_labels").select("one").run()
    at.selectbox(key="im_label").select("neutral").run()
    at.button(key="im_go").click().run(timeout=120)
    assert not at.exception and not at.error
    texts = " ".join(t.value for t in at.text)
    assert "1 with faces" in texts
    n = cat.conn.execute(
        "SELECT COUNT(*) FROM face_state s JOIN faces f ON f.id = s.face_id "
        "JOIN image_sources i ON i.image_id = f.image_id "
        "WHERE i.source_name = ? AND s.label = 'neutral'",
        (folder.name,),
    ).fetchone()[0]
    assert n == 1


def test_import_page_reports_a_bad_path(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("FACESIFT_IMPORT_ROOT", str(tmp_path))  # review --import-root
    at = open_page("import")
    at.radio(key="im_mode").set_value("A folder or file on this machine").run()
    at.text_input(key="im_path").input(str(tmp_path / "missing")).run()
    at.button(key="im_go").click().run()
    assert "does not exist" in at.error[0].value


def test_stats_and_export_pages(app_env):
    from curation_ui import actions

    cat, ids = app_env.cat, app_env.ids
    actions.relabel(cat.conn, [ids["sad_1"]], "ann", "sad")
    actions.relabel(cat.conn, [ids["sad_1"]], "bo", "angry")
    at = open_page("stats")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Faces"] == "10" and metrics["Label events"] == "2"
    assert metrics["Faces with 2+ annotators"] == "1" and metrics["Unanimous"] == "0"


def test_export_page_writes_an_export_and_shows_its_card(app_env, tmp_path):
    from curation_ui import actions

    cat, ids = app_env.cat, app_env.ids
    actions.relabel(cat.conn, [ids["sad_1"], ids["sad_2"], ids["happy_big"]], "ann", "sad")
    out = tmp_path / "export"
    at = open_page("export")
    assert not at.exception
    at.text_input(key="ex_out").input(str(out))
    at.selectbox(key="ex_format").select("fer2013-csv")
    at.button(key="ex_go").click().run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "export: 3 faces to" in at.success[0].value  # the stage's summary line
    assert (out / "README.md").is_file()
    assert at.code and "sad" in at.code[0].value  # the card, as plain text


def test_queue_shows_the_source_image_with_its_box_on_demand(app_env, make_face, single_face_photo):
    cat = app_env.cat
    real = make_face(cat, None, content=single_face_photo.path.read_bytes())
    at = open_page("queue")
    at.selectbox(key="q_subset").select("all").run()
    while at.session_state["q_state"].current != real:
        press(at, "skip")
    shown = len(at.image)
    at.toggle(key="q_show_source").set_value(True).run()
    assert len(at.image) == shown + 1
    assert any("import · test" in t.value for t in at.text)  # provenance as plain text


def test_two_sessions_labelling_the_same_face_lose_nothing(app_env):
    cat, ids = app_env.cat, app_env.ids
    ann, bo = open_page("queue", "ann"), open_page("queue", "bo")
    assert ann.session_state["q_state"].current == bo.session_state["q_state"].current
    press(ann, "label", "happy")
    press(bo, "label", "sad")
    assert events(cat) == [
        (ids["none_1"], "ann", "label", "happy", None),
        (ids["none_1"], "bo", "label", "sad", None),
    ]
    st = face_state(cat.conn, ids["none_1"])
    assert (st.status, st.disputed, st.annotators) == ("pending", True, 2)


# --- errors are one line, never a traceback -----------------------------------------------


def _fail(*args, **kwargs):
    from faces.stage import ExtractError  # a FacesiftError that is not a ValueError

    raise ExtractError("the disk is\nfull")


def test_export_page_shows_a_facesift_error_as_one_line(app_env, tmp_path, monkeypatch):
    from curation_ui import actions

    monkeypatch.setattr(actions, "export_as", _fail)
    at = open_page("export")
    at.text_input(key="ex_out").input(str(tmp_path / "out"))
    at.button(key="ex_go").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["the disk is\\nfull"]


def test_export_page_refuses_bad_splits_in_one_line(app_env, tmp_path):
    at = open_page("export")
    at.text_input(key="ex_out").input(str(tmp_path / "out"))
    at.text_input(key="ex_splits").input("0.8,x")
    at.button(key="ex_go").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "0.8,x" in at.error[0].value
    assert "\n" not in at.error[0].value
    assert not (tmp_path / "out").exists()


def test_review_and_queue_actions_show_a_facesift_error_as_one_line(app_env, monkeypatch):
    from curation_ui import actions
    from curation_ui import queue as q

    monkeypatch.setattr(actions, "relabel", _fail)
    at = open_page("review")
    at.selectbox(key="rv_label").select("sad").run()
    grid.act(at, "relabel", [app_env.ids["sad_1"]], label="fear")
    assert not at.exception and [e.value for e in at.error] == ["the disk is\\nfull"]
    monkeypatch.setattr(q, "label", _fail)
    at = open_page("queue")
    press(at, "label", "fear")
    assert not at.exception and [e.value for e in at.error] == ["the disk is\\nfull"]
    assert events(app_env.cat) == []


def test_a_page_that_fails_shows_one_line(app_env, monkeypatch):
    from curation_ui.views import stats

    monkeypatch.setattr(stats, "summary", _fail)
    at = open_page("stats")
    assert not at.exception and [e.value for e in at.error] == ["the disk is\\nfull"]


# --- the review page opens on something to review ---------------------------------------


def test_review_opens_on_the_first_emotion_with_pending_faces(app_env):
    at = open_page("review")
    # angry, disgust and fear have no face; happy is the first with pending ones.
    assert at.selectbox(key="rv_label").value == "happy"
    assert len(checkbox_ids(at)) == 4 and not at.info


def test_review_of_unlabelled_imports_opens_on_no_label(catalog, make_face, monkeypatch):
    monkeypatch.setenv("FACESIFT_ROOT", str(catalog.paths.root))
    monkeypatch.setenv("FACESIFT_DATASET", catalog.paths.name)
    ids = [make_face(catalog, None) for _ in range(3)]
    at = open_page("review")
    assert at.selectbox(key="rv_label").value == "(no label)"
    assert sorted(checkbox_ids(at)) == sorted(ids)


def test_review_says_so_when_nothing_is_pending(app_env):
    from curation_ui import actions

    cat = app_env.cat
    actions.reject(cat.conn, app_env.ids.values(), "ann", "other")
    at = open_page("review")
    assert not at.exception
    assert "Nothing is pending" in at.info[0].value


# --- the pages' options map to the stages' options ------------------------------------------


def test_export_page_default_output_is_outside_the_data_root(app_env):
    paths = app_env.cat.paths
    at = open_page("export")
    default = at.text_input(key="ex_out").value
    assert default == str(paths.root.parent / "exports" / paths.name)
    assert not Path(default).resolve().is_relative_to(paths.root.resolve())


def test_export_page_no_baseline_toggle_reaches_the_options(app_env, tmp_path, monkeypatch):
    from curation_ui import actions

    seen = []
    monkeypatch.setattr(actions, "export_as", lambda user, cat, opts, **kw: seen.append(opts))
    at = open_page("export")
    at.text_input(key="ex_out").input(str(tmp_path / "out"))
    at.button(key="ex_go").click().run()
    at.toggle(key="ex_no_baseline").set_value(True)
    at.button(key="ex_go").click().run()
    assert not at.exception and [o.no_baseline for o in seen] == [False, True]


def test_import_page_face_crops_toggle_reaches_the_options(app_env, monkeypatch):
    from curation_ui import actions

    seen = []
    monkeypatch.setattr(actions, "import_as", lambda user, cat, opts, **kw: seen.append(opts))
    at = open_page("import")
    at.file_uploader(key="im_files").set_value(("a.png", png_bytes(7), "image/png"))
    at.toggle(key="im_extract").set_value(False)
    at.button(key="im_go").click().run()
    at.toggle(key="im_whole_image").set_value(True)
    at.button(key="im_go").click().run()
    assert not at.exception and [o.whole_image for o in seen] == [False, True]


def test_reject_marked_on_a_full_disk_is_one_line_and_the_page_stays_usable(app_env, monkeypatch):
    cat, ids = app_env.cat, app_env.ids
    # The page's own catalog connection finds the disk full when it records the events.
    full = catalog_fills(monkeypatch, r"INSERT INTO label_events")
    at = open_page("review")
    at.selectbox(key="rv_label").select("sad").run()
    grid.act(at, "reject", [ids["sad_2"]], reason="drawing")
    assert not at.exception
    assert [f.failed for f in full] == [1]
    [error] = [e.value for e in at.error]
    assert error.startswith("disk full: writing the catalog needs about 4.1 MB, and ")
    assert "\n" not in error and " is free on the filesystem of " in error
    assert events(cat) == [] and face_state(cat.conn, ids["sad_2"]).status == "pending"
    assert cat.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Room again: the same page, the same click, recorded.
    full[0].room_again()
    grid.act(at, "reject", [ids["sad_2"]], reason="drawing")
    assert not at.exception and not at.error
    assert events(cat) == [(ids["sad_2"], "ann", "reject", None, "drawing")]


def test_queue_keys_on_a_full_disk_are_refused_on_screen_and_work_with_room_again(
    app_env, monkeypatch
):
    from curation_ui.components.queue.testing import face_on_show

    cat = app_env.cat
    full = catalog_fills(monkeypatch, r"INSERT INTO label_events")
    at = open_page("queue")
    shown = face_on_show(at)
    at = press(at, "label", "fear")
    assert not at.exception and [f.failed for f in full] == [1]
    [error] = [e.value for e in at.error]
    assert error.startswith("disk full: writing the catalog needs about ") and "\n" not in error
    assert view(at)["notes"][-1]["text"] == f"Not recorded: {error}"
    assert events(cat) == [] and face_on_show(at) == shown  # the face waits for the key
    assert cat.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    full[0].room_again()
    at = press(at, "label", "fear")
    assert not at.exception and not at.error
    assert events(cat) == [(shown, "ann", "label", "fear", None)]
    # Undo on a full disk: refused the same way, and the decision stands.
    full[0].fail_again()
    at = press(at, "undo")
    assert [e.value for e in at.error] == [error] and len(events(cat)) == 1
    full[0].room_again()
    at = press(at, "undo")
    assert not at.error and events(cat)[-1] == (shown, "ann", "undo", None, None)
    assert face_on_show(at) == shown


def test_any_other_catalog_error_is_one_line_too(app_env, monkeypatch):
    catalog_fills(monkeypatch, r"INSERT INTO label_events", message="database is locked")
    at = open_page("review")
    at.selectbox(key="rv_label").select("sad").run()
    grid.act(at, "reject", [app_env.ids["sad_1"]], reason="drawing")
    assert not at.exception
    assert [e.value for e in at.error] == [
        "the catalog refused the change (OperationalError: database is locked); try again"
    ]


def test_on_a_full_disk_the_review_grid_shows_the_chips_uncached(app_env, monkeypatch):
    store_fills_after(monkeypatch, 0)  # no thumbnail can be cached
    at = open_page("review")
    assert not at.exception and not at.error
    faces = grid.faces(at)
    assert faces and all(f["src"].startswith("data:image/png;base64,") for f in faces)
    assert not [p for p in (app_env.cat.paths.dir / "thumbs").rglob("*") if p.is_file()]
