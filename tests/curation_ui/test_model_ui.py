"""The model in the review app (AppTest): sorts, top-3 toggle, suspects, stale banner, Try it."""

from __future__ import annotations

import threading
import time

import pytest
import streamlit as st

from catalog.db import utc_now
from catalog.events import face_state, record
from catalog.jobs import JobRunning
from catalog.predictions import (
    ModelRow,
    Prediction,
    last_event_id,
    latest_model_row,
    record_model,
    suspects,
)
from catalog.preferences import SHOW_MODEL_TOP3, get_flag
from core.contract import Progress
from core.errors import FacesiftError
from curation_ui import actions
from curation_ui.components.grid import testing as grid
from curation_ui.components.queue.testing import press, view
from curation_ui.queries import SORTS
from curation_ui.retrain import retrain_job, start_retrain
from curation_ui.roles import PermissionRefused, User
from model.store import STALE_AFTER
from model.train import TrainOptions
from tests.curation_ui.conftest import open_page

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "rejected")


@pytest.fixture(scope="module")
def group_photo(photos, single_face_photo):
    """A real photo of a few faces that dlib finds alike at upsample 0 and 1 (else one face)."""
    usable = [p for p in photos if p.hog_up0 == p.hog_up1 >= 1] or [single_face_photo]
    return max(usable, key=lambda p: (p.hog_up0 if p.hog_up0 <= 3 else 0, p.name))


def upload(at, path):
    at.file_uploader(key="ti_upload").set_value((path.name, path.read_bytes(), "image/jpeg"))
    return at.run(timeout=120)


def test_try_it_boxes_the_faces_and_adds_them_as_pending(app_env, group_photo):
    cat = app_env.cat
    at = open_page("try_it")
    assert not at.exception and not at.image
    at = upload(at, group_photo.path)
    assert not at.exception and not at.error
    assert len(at.image) == 1  # the photo with its boxes
    faces = [m.value for m in at.markdown if m.value.startswith("**Face ")]
    assert len(faces) == group_photo.hog_up0
    before = cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    at.button(key="ti_add").click().run(timeout=120)
    assert not at.exception
    assert "pending" in at.success[0].value
    rows = cat.conn.execute(
        "SELECT f.id, i.kind, i.source_name, i.import_path FROM faces f "
        "JOIN image_sources i ON i.image_id = f.image_id WHERE f.id > ? ORDER BY f.id",
        (before,),
    ).fetchall()
    assert len(rows) == group_photo.hog_up0
    provenance = {(r[1], r[2], r[3]) for r in rows}
    assert provenance == {("import", "upload", f"upload/{group_photo.name}")}
    for r in rows:
        st = face_state(cat.conn, r[0])
        assert (st.status, st.label, st.annotators) == ("pending", None, 0)
    # The same photo again: one stored image, no face found twice.
    at.button(key="ti_add").click().run(timeout=120)
    assert "already stored" in at.success[0].value
    assert cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == before + len(rows)


def test_try_it_refuses_a_file_that_is_not_a_photo(app_env):
    at = open_page("try_it")
    at.file_uploader(key="ti_upload").set_value(("x.jpg", b"not a picture", "image/jpeg"))
    at.run()
    assert not at.exception
    assert at.error[0].value == "this file cannot be used as a photo: not an image"


# --- a model with known probabilities (what the pages show is checked against them) ------


def plant_model(cat, probs: dict[int, dict[str, float]], out_of_fold: bool = True) -> ModelRow:
    """Record a model and its predictions for the given faces, as ``model train`` would."""
    seen = last_event_id(cat.conn)  # trained on every label recorded so far
    opts = {"folds": 2}  # a retrain uses the model's own options
    row = ModelRow("m1", "models/m1", "logreg", CLASSES, opts, {"accuracy": 0.5}, seen, utc_now())
    preds = []
    for fid, p in probs.items():
        full = {c: p.get(c, 0.0) for c in CLASSES}
        label = face_state(cat.conn, fid).label
        sc = full.get(label) if out_of_fold and label else None
        preds.append(Prediction(fid, full, max(full, key=full.get), label, sc, out_of_fold))
    record_model(cat.conn, row, preds)
    return row


@pytest.fixture
def with_model(app_env):
    """The seeded catalog with its happy and sad faces accepted and a planted model."""
    cat, ids = app_env.cat, app_env.ids
    for name in ("happy_big", "happy_dup_best", "happy_dup_worse", "happy_blurry"):
        actions.relabel(cat.conn, [ids[name]], "alice", "happy")
    for name in ("sad_1", "sad_2", "sad_3"):
        actions.relabel(cat.conn, [ids[name]], "alice", "sad")
    probs = {
        ids["happy_big"]: {"happy": 0.9, "sad": 0.1},
        ids["happy_dup_best"]: {"happy": 0.3, "sad": 0.6, "rejected": 0.1},  # doubted
        ids["happy_dup_worse"]: {"happy": 0.5, "rejected": 0.5},
        ids["happy_blurry"]: {"happy": 0.2, "rejected": 0.8},  # most likely rejected
        ids["sad_1"]: {"sad": 0.7, "neutral": 0.3},
        ids["sad_2"]: {"sad": 0.1, "happy": 0.6, "rejected": 0.3},  # the most suspect
        ids["sad_3"]: {"sad": 0.45, "neutral": 0.35, "rejected": 0.2},
    }
    model = plant_model(cat, probs)
    return app_env, model, probs


def grid_ids(at) -> list[int]:
    return grid.open_ids(at)


def show_all(at):
    at.selectbox(key="rv_label").select("(any)").run()
    return at.pills(key="rv_status").set_value(["pending", "accepted", "rejected"]).run()


def test_model_sorts_are_offered_only_when_there_is_a_model(app_env):
    at = open_page("review")
    assert "suspect" not in at.selectbox(key="rv_sort").options
    plant_model(app_env.cat, {app_env.ids["sad_1"]: {"sad": 1.0}})
    at = open_page("review")
    assert {"most suspect first (model)", "most likely rejected first (model)"} <= set(
        at.selectbox(key="rv_sort").options
    )


def test_review_most_suspect_and_most_likely_rejected_first(with_model):
    env, _, probs = with_model
    cat = env.cat
    at = show_all(open_page("review"))
    at.selectbox(key="rv_sort").set_value("suspect").run()
    assert not at.exception
    # Lowest probability of the label each face shows first; faces without one last.
    shown = {fid: face_state(cat.conn, fid).label for fid in probs}
    by_doubt = sorted(probs, key=lambda f: (probs[f].get(shown[f], 0.0), f))
    rest = sorted(set(env.ids.values()) - set(probs))
    assert grid_ids(at) == by_doubt + rest
    assert by_doubt[0] == env.ids["sad_2"]
    at.selectbox(key="rv_sort").set_value("likely_rejected").run()
    by_rejected = sorted(probs, key=lambda f: (-probs[f].get("rejected", 0.0), f))
    assert grid_ids(at) == by_rejected + rest
    assert by_rejected[0] == env.ids["happy_blurry"]
    # The model's guess is captioned only where it differs from the shown label.
    guesses = [
        part
        for f in grid.faces(at)
        for part in f["caption"].split(" · ")
        if part.startswith("model: ")
    ]
    differ = [f for f in by_rejected if max(probs[f], key=probs[f].get) != shown[f]]
    expected = [f"model: {max(probs[f], key=probs[f].get)}" for f in differ]
    assert guesses == expected and "model: happy" in guesses and "model: rejected" in guesses


def model_lines(at) -> list[str]:
    """The model's lines beside the face on show (the queue's component draws them)."""
    faces = view(at)["faces"]
    return [
        h["text"] for h in (faces[0]["hints"] if faces else []) if h["text"].startswith("model: ")
    ]


def test_top3_toggle_is_off_by_default_and_remembered_per_annotator(with_model):
    env, _, probs = with_model
    cat = env.cat
    at = open_page("queue")
    at.selectbox(key="q_subset").select("all").run()
    fid = at.session_state["q_state"].current
    assert fid == env.ids["happy_big"]
    assert at.toggle(key="q_model_top3").value is False
    assert model_lines(at) == []  # off: no suggestion in sight
    at.toggle(key="q_model_top3").set_value(True).run()
    full = {c: probs[fid].get(c, 0.0) for c in CLASSES}  # ties in class order
    top = sorted(full.items(), key=lambda kv: -kv[1])[:3]
    assert (
        model_lines(at) == [f"model: {label} {p:.0%}" for label, p in top][: len(model_lines(at))]
    )
    assert len(model_lines(at)) == 3
    assert get_flag(cat.conn, "ann", SHOW_MODEL_TOP3) is True
    # A new session of the same annotator finds it on; another annotator finds it off.
    again = open_page("queue", "ann")
    assert again.toggle(key="q_model_top3").value is True
    other = open_page("queue", "bo")
    assert other.toggle(key="q_model_top3").value is False
    assert get_flag(cat.conn, "bo", SHOW_MODEL_TOP3) is False


def test_suspects_mode_walks_the_suspects_in_order(with_model):
    env, model, _ = with_model
    cat = env.cat
    order = [s.face_id for s in suspects(cat.conn, model.id)]
    assert len(order) == 7 and order[0] == env.ids["sad_2"]
    at = open_page("queue")
    at.selectbox(key="q_subset").select("suspects").run()
    assert not at.exception
    seen = [at.session_state["q_state"].current]
    press(at, "label", "happy")  # the most suspect face was happy after all
    seen.append(at.session_state["q_state"].current)
    for _ in range(len(order) - 2):
        press(at, "skip")
        seen.append(at.session_state["q_state"].current)
    assert seen == order
    last = cat.conn.execute("SELECT face_id, annotator, label FROM label_events ORDER BY id DESC")
    assert tuple(last.fetchone()) == (order[0], "ann", "happy")
    # Decided since the model was trained: no longer a suspect to walk; skipped ones come back.
    press(at, "skip")
    assert at.session_state["q_state"].current is None
    assert any(f"{len(order) - 1} left" in c.value for c in at.caption)
    # Undo brings the decided face back, first in line again.
    press(at, "undo")
    press(at, "undo")
    assert at.session_state["q_state"].current is not None


def make_stale(env) -> None:
    """More than STALE_AFTER label events since the planted model was trained."""
    for i in range(STALE_AFTER + 1):
        record(env.cat.conn, env.ids["none_1"], "ann", "label", label=("happy", "sad")[i % 2])


def test_stale_banner_and_retrain_in_the_background(with_model):
    env, model, _ = with_model
    cat, ids = env.cat, env.ids
    for i in range(STALE_AFTER):
        record(cat.conn, ids["none_1"], "ann", "label", label=("happy", "sad")[i % 2])
    at = open_page("review")
    assert not any("older than the labels" in w.value for w in at.warning)
    # One more: more than STALE_AFTER label events since the model was trained.
    record(cat.conn, ids["none_2"], "ann", "label", label="fear")
    at = open_page("review")
    assert any("older than the labels" in w.value for w in at.warning)
    at.button(key="mb_retrain").click().run()
    assert not at.exception
    for _ in range(600):  # the job runs in a thread: look again until it has ended
        if at.success or at.error:
            break
        at.run()
    assert at.success and at.success[0].value.startswith("model "), [e.value for e in at.error]
    new = latest_model_row(cat.conn)
    assert (
        new.id != model.id
        and new.last_event_id == cat.conn.execute("SELECT MAX(id) FROM label_events").fetchone()[0]
    )
    assert not any("older than the labels" in w.value for w in at.warning)
    job = retrain_job(cat)
    assert (job.state, job.started_by, job.detail) == ("done", "ann", at.success[0].value)


@pytest.fixture
def held_training(monkeypatch):
    """Training that reports one step, then waits for ``release`` (set at the end)."""
    release = threading.Event()

    class Trained:
        def line(self) -> str:
            return "model held: trained"

    def train(cat, opts, on_progress=None):
        on_progress(Progress("train", 1, 4, "fold", "fold 1 of 4"))
        assert release.wait(60)
        return Trained()

    monkeypatch.setattr("curation_ui.retrain.train", train)
    yield release
    release.set()


def wait_for_end(cat, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while (job := retrain_job(cat)).running:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return job


def test_clearing_the_app_cache_does_not_allow_a_second_retrain(with_model, held_training):
    env = with_model[0]
    make_stale(env)
    at = open_page("review")
    at.button(key="mb_retrain").click().run()
    assert not at.exception and retrain_job(env.cat).running
    # What a client's `clear_cache` message does: the running retrain is still known.
    st.cache_resource.clear()
    st.cache_data.clear()
    other = open_page("review", annotator="bo")
    assert not [b for b in other.button if b.key == "mb_retrain"]  # its progress instead
    assert any(p.value is not None for p in other.get("progress"))
    with pytest.raises(
        JobRunning, match=r"^retrain job \d+ is already running \(started by ann at "
    ):
        start_retrain(User("bo", "admin"), env.cat, TrainOptions())
    held_training.set()
    job = wait_for_end(env.cat)
    assert (job.state, job.detail) == ("done", "model held: trained")
    assert env.cat.conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1


def test_a_failed_retrain_is_shown_once_and_frees_the_button(with_model, monkeypatch):
    env = with_model[0]
    make_stale(env)

    def train(cat, opts, on_progress=None):
        raise FacesiftError("no labelled faces\nat all")

    monkeypatch.setattr("curation_ui.retrain.train", train)
    start_retrain(User("bo", "admin"), env.cat, TrainOptions())
    job = wait_for_end(env.cat)
    assert (job.state, job.detail) == ("failed", "no labelled faces\\nat all")
    at = open_page("review")
    assert [e.value for e in at.error] == ["Retraining failed: no labelled faces\\nat all"]
    assert at.button(key="mb_retrain")  # a new one may start
    assert not at.run().error  # shown once per session


def test_retraining_is_refused_to_an_annotator(app_env):
    with pytest.raises(PermissionRefused, match="may not model"):
        start_retrain(User("ann", "annotator"), app_env.cat, TrainOptions())
    assert retrain_job(app_env.cat) is None


def test_try_it_with_a_model_shows_the_top_3_and_keeps_them_as_hints(app_env, group_photo):
    from model.train import TrainOptions, train

    cat, ids = app_env.cat, app_env.ids
    for name in ("happy_big", "happy_dup_best", "happy_blurry"):
        actions.relabel(cat.conn, [ids[name]], "ann", "happy")
    for name in ("sad_1", "sad_2", "sad_3"):
        actions.relabel(cat.conn, [ids[name]], "ann", "sad")
    actions.relabel(cat.conn, [ids["none_1"], ids["none_2"]], "ann", "surprise")
    trained = train(cat, TrainOptions(folds=2))
    assert len(trained.classes) == 3
    at = upload(open_page("try_it"), group_photo.path)
    assert not at.exception and not at.error
    lines = [p.text for p in at.get("progress")]
    assert len(lines) == 3 * group_photo.hog_up0
    for text in lines:
        label, pct = text.rsplit(" ", 1)
        assert label in trained.classes and pct.endswith("%")
    at.button(key="ti_add").click().run(timeout=120)
    assert "kept as a hint" in at.success[0].value
    new_faces = cat.conn.execute(
        "SELECT p.face_id, p.predicted, p.out_of_fold FROM predictions p JOIN faces f "
        "ON f.id = p.face_id JOIN image_sources i ON i.image_id = f.image_id "
        "WHERE p.model_id = ? AND i.source_name = 'upload'",
        (trained.model_id,),
    ).fetchall()
    assert len(new_faces) == group_photo.hog_up0
    assert all(r[1] in trained.classes and r[2] == 0 for r in new_faces)
    # Each of them waits in the Label queue, its hint shown once the annotator asks.
    at = open_page("queue")
    at.selectbox(key="q_subset").select("unlabelled").run()
    at.selectbox(key="q_source").select("upload").run()
    assert at.session_state["q_state"].current == new_faces[0][0]
    at.toggle(key="q_model_top3").set_value(True).run()
    assert len(model_lines(at)) == 3


def test_sorts_list_the_model_sorts():
    assert SORTS["suspect"] == "most suspect first (model)"


def test_try_it_takes_a_photo_with_the_camera(app_env, single_face_photo):
    import io

    from PIL import Image

    with Image.open(single_face_photo.path) as im:  # the camera sends a JPEG
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=90)
    at = open_page("try_it")
    at.segmented_control(key="ti_mode").set_value("camera").run()
    assert not at.file_uploader  # one input at a time
    at.camera_input(key="ti_camera").set_value(("image.jpg", buf.getvalue(), "image/jpeg"))
    at.run(timeout=120)
    # (JPEG-compressed, scikit-image's astronaut also shows dlib a face in her suit.)
    listed = [m.value for m in at.markdown if m.value.startswith("**Face ")]
    assert listed[:1] == ["**Face 1**"]
    at.button(key="ti_add").click().run(timeout=120)
    rows = app_env.cat.conn.execute(
        "SELECT i.source_name, i.import_path FROM faces f "
        "JOIN image_sources i ON i.image_id = f.image_id WHERE i.source_name = 'camera'"
    ).fetchall()
    assert [tuple(r) for r in rows] == [("camera", "camera/image.jpg")] * len(listed)


def test_try_it_says_when_a_photo_has_no_face(app_env, no_face_photo):
    at = upload(open_page("try_it"), no_face_photo.path)
    assert not at.exception
    assert at.warning[0].value == "No face was found in this photo."
    at.button(key="ti_add").click().run(timeout=120)
    assert "no face was found in it" in at.success[0].value
