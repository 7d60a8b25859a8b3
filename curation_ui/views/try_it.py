"""Try it: a photo (uploaded or from the camera) -> each face boxed with the model's top 3.

Add to dataset stores the photo and its faces as pending (source ``upload`` or
``camera``), with the model's guess kept as a hint, so that each face is then
checked in the Label queue like any other.
"""

from __future__ import annotations

import threading

import streamlit as st

from catalog.dataset import Catalog
from catalog.predictions import ModelRow, latest_model_row
from curation_ui import model_hints, session
from curation_ui.launch import ReviewOptions
from curation_ui.photo import PhotoError, add_photo, draw_boxes, read_photo
from curation_ui.roles import require
from curation_ui.upload_widget import file_input
from curation_ui.uploads import ENV_MAX_PHOTO_MB, PHOTO_EXTS, limit_mb
from faces.models import Models, load_models
from model.store import LoadedModel, ModelError, load_model

MODES = {"upload": "Upload a photo", "camera": "Take one with the camera"}
MSG = "ti_msg"


@st.cache_resource(show_spinner="Loading the face detector…")
def _detector() -> tuple[Models, threading.Lock]:
    # One copy of dlib's models for every session; the lock keeps two sessions
    # from running the same detector object at once.
    return load_models(), threading.Lock()


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _loaded(dataset_dir: str, model_id: str, _cat: Catalog, _row: ModelRow) -> LoadedModel:
    # Keyed by the dataset folder and the model id: a retrained model is loaded anew.
    return load_model(_cat, _row)


def _model(cat: Catalog) -> tuple[ModelRow | None, LoadedModel | None]:
    row = latest_model_row(cat.conn)
    if row is None:
        return None, None
    try:
        return row, _loaded(str(cat.paths.dir), row.id, cat, row)
    except ModelError as e:
        st.error(str(e))
        return None, None


def _photo_input() -> tuple[bytes, str | None, str] | None:
    mode = st.segmented_control(
        "Photo from", list(MODES), format_func=MODES.get, default="upload", key="ti_mode"
    )
    if mode == "camera":
        shot = st.camera_input("Take a photo", key="ti_camera")
        return (shot.getvalue(), shot.name, "camera") if shot is not None else None
    max_mb = limit_mb(ENV_MAX_PHOTO_MB, ReviewOptions.max_photo_mb)
    got = file_input("A photo with faces", types=PHOTO_EXTS, key="ti_upload", max_mb=max_mb)
    return (got[0].getvalue(), got[0].name, "upload") if got else None


@session.shows_errors
@session.shows_errors
def _on_add(data: bytes, name: str | None, source: str) -> None:
    cat = session.catalog()
    require(session.user(), "label")
    models, lock = _detector()
    try:
        with lock:
            added = add_photo(cat, data, name, source, models)
    except PhotoError as e:
        session.say(MSG, str(e), "warn")
        return
    hints = model_hints.keep_hints(cat, _model(cat)[1], added.face_ids)
    line = added.line()
    if hints:
        line += f" The model's guess is kept as a hint for {hints} of them."
    session.say(MSG, line)


def render() -> None:
    """The Try it page."""
    cat = session.catalog()
    st.header("Try it")
    row, model = _model(cat)
    st.caption(model_hints.model_caption(row))
    got = _photo_input()
    session.message(MSG)
    if got is None:
        st.info("Upload a photo or take one: each face found is boxed with the model's top 3.")
        return
    data, name, source = got
    try:
        photo = read_photo(data)
    except PhotoError as e:
        st.error(str(e))
        return
    models, lock = _detector()
    with lock:
        faces = model_hints.photo_faces(model, models, photo)
    left, right = st.columns([3, 2])
    captions = [f.top[0].caption if f.top else "" for f in faces]
    # At its own size (at most the column): a small photo is not blown up.
    left.image(draw_boxes(photo.rgb, [f.box for f in faces], captions), width="content")
    with right:
        st.button(
            "Add to dataset",
            key="ti_add",
            type="primary",
            on_click=_on_add,
            args=(data, name, source),
            help="Store the photo and its faces as pending, to be checked in the Label queue",
        )
        if not faces:
            st.warning("No face was found in this photo.")
        for i, face in enumerate(faces, start=1):
            st.markdown(f"**Face {i}**")
            if not face.top:
                st.caption("no model yet: no guess")
            for guess in face.top:
                st.progress(guess.score, text=guess.caption)
