"""facesift predict: every face of a photo, folder or video with the newest model's top labels."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import pipeline
from core.contract import spec_of
from faces.detect import DetectParams, detect_faces
from faces.models import load_models
from faces.options import ExtractOptions
from model.predict import PredictOptions, predict_image, top_labels
from model.store import latest_model
from model.train import TrainOptions, train


@pytest.fixture
def trained(planted):
    p = planted(per_class=8, rejected=3)
    train(p.cat, TrainOptions(folds=3))
    return p


@pytest.fixture(scope="module")
def small_face_photo(single_face_photo, tmp_path_factory):
    """The single-face photo at most 640 px wide (detection on it is quick)."""
    with Image.open(single_face_photo.path) as im:
        rgb = im.convert("RGB")
    rgb.thumbnail((640, 640))
    path = tmp_path_factory.mktemp("photo") / "face.jpg"
    rgb.save(path, quality=95)
    return path


def _group_photo(photos):
    """The photo with the most faces dlib finds at upsample 0 (a group, with ../shared)."""
    return max(photos, key=lambda p: (p.hog_up0, p.name))


def test_predict_json_has_one_entry_per_face_of_a_group_photo(trained, photos, capsys):
    photo = _group_photo(photos)
    with Image.open(photo.path) as im:
        rgb = im.convert("RGB")
    expected = detect_faces(load_models(), rgb, DetectParams())
    argv = ["--root", str(trained.cat.paths.root), "--dataset", trained.cat.paths.name]
    assert pipeline.main([*argv, "predict", str(photo.path), "--json", "--top", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [set(r) for r in out] == [{"file", "faces"}]
    assert out[0]["file"] == str(photo.path)
    faces = out[0]["faces"]
    assert len(faces) == len(expected) >= photo.hog_up0
    assert [f["box"] for f in faces] == [list(d.box) for d in expected]
    for f in faces:
        assert set(f) == {"box", "top"} and len(f["top"]) == 2
        assert all(set(t) == {"label", "score"} for t in f["top"])
        assert f["top"][0]["score"] >= f["top"][1]["score"]
        assert {t["label"] for t in f["top"]} <= {"happy", "sad", "rejected"}


def test_predict_image_api_matches_the_model(trained, small_face_photo):
    model = latest_model(trained.cat)
    with Image.open(small_face_photo) as im:
        rgb = np.asarray(im.convert("RGB"))
    face_models = load_models()
    faces = predict_image(model, rgb, top=3, face_models=face_models)
    expected = detect_faces(face_models, Image.fromarray(rgb), DetectParams())
    assert [f.box for f in faces] == [d.box for d in expected] and faces
    scores = [s for _, s in faces[0].top]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0, abs=1e-6)  # three classes: all of them
    off = DetectParams(cascade="off")
    assert predict_image(model, np.zeros((120, 160, 3), np.uint8), detect=off) == []


def test_predict_folder_and_video_frames(trained, small_face_photo, write_video, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(small_face_photo, folder / "a.jpg")
    (folder / "b.jpg").write_bytes(b"not an image")
    write_video(folder / "c.mp4", seconds=3.0, fps=10)
    argv = ["--root", str(trained.cat.paths.root), "--dataset", trained.cat.paths.name]
    assert (
        pipeline.main([*argv, "predict", str(folder), "--json", "--fps", "2", "--cascade", "off"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    by_file = {}
    for r in out:
        by_file.setdefault(r["file"], []).append(r)
    assert by_file["a.jpg"][0]["faces"]  # the photo's face (and, with astronaut.png, a suit patch)
    assert "not_an_image" in by_file["b.jpg"][0]["error"]
    frames = by_file["c.mp4"]
    assert [f["frame"] for f in frames] == [0, 5, 10, 15, 20, 25]
    assert all(f["faces"] == [] for f in frames)
    assert pipeline.main([*argv, "predict", str(folder / "a.jpg"), "--cascade", "off"]) == 0
    table = capsys.readouterr().out
    assert "a.jpg" in table and " faces in 1 images by model " in table


def test_predict_without_a_model_or_path_is_a_one_line_error(planted, tmp_path, capsys):
    p = planted(per_class=3)
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    assert pipeline.main([*argv, "predict", str(tmp_path)]) == 2
    assert "no model yet" in capsys.readouterr().err
    train(p.cat, TrainOptions(folds=2))
    assert pipeline.main([*argv, "predict", str(tmp_path / "missing.jpg")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_top_labels_breaks_ties_by_class_order():
    p = np.array([0.25, 0.5, 0.25])
    assert top_labels(p, ("a", "b", "c"), 2) == (("b", 0.5), ("a", 0.25))


def test_predict_finds_faces_with_extracts_choices_and_defaults():
    from importer.defaults import DEFAULT_FPS

    fields = {f.name: f for f in dataclasses.fields(PredictOptions)}
    for name in ("detector", "cascade"):
        extract = next(f for f in dataclasses.fields(ExtractOptions) if f.name == name)
        assert fields[name].default == extract.default
        assert spec_of(fields[name]).choices == spec_of(extract).choices
    assert fields["fps"].default == DEFAULT_FPS
