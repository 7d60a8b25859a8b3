"""The model's per-face and per-image work on the one executor (core.executor).

The feature pass and predict give the same results whether they run here, on the
local process pool or on Dask, and the same as the single-process computation.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

import pipeline
from catalog.predictions import model_faces, predictions_for
from core.executor import default_workers
from faces.detect import DetectParams
from faces.prior import default_network
from importer.items import Candidate, Refusal
from model import inputs, predict
from model.features import FaceInput, face_features, parse_landmarks
from model.inputs import (
    BATCH,
    INLINE_BELOW,
    ChipTask,
    feature_executor,
    feature_rows,
    features_of,
)
from model.train import TrainOptions, train
from tests.model.conftest import add_face

ENGINES = [
    pytest.param({"workers": 0}, id="inline"),
    pytest.param({"workers": 2}, id="pool"),
    pytest.param({"scheduler": "local", "workers": 2}, id="dask", marks=pytest.mark.slow),
]


def _landmarks(seed: int) -> str:
    """68 points of a plausible face (eyes apart and level-ish), as the catalog stores them."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(8, 56, size=(68, 2))
    pts[36:42] = [20 + rng.normal(), 24 + rng.normal()]  # left eye
    pts[42:48] = [44 + rng.normal(), 24 + rng.normal()]  # right eye
    return json.dumps(pts.round(2).tolist())


@pytest.fixture
def broken(make_catalog, crop_pool):
    """30 faces (half with landmarks); one chip gone, one garbage, one truncated."""
    cat = make_catalog()
    ids = [
        add_face(
            cat, crop, i, ("happy", "sad")[i % 2], "accepted", _landmarks(i) if i % 2 else None
        )
        for i, crop in enumerate(crop_pool[:30])
    ]
    rows = {r.face_id: r for r in model_faces(cat.conn, True)}
    gone, garbage, cut = (cat.paths.resolve(rows[ids[i]].chip_path) for i in (3, 12, 27))
    assert len({gone, garbage, cut}) == 3
    gone.unlink()
    garbage.write_bytes(b"not a png")
    cut.write_bytes(cut.read_bytes()[:200])
    return cat, [ids[3], ids[12], ids[27]]


def single_process(cat, rows, batch):
    """The feature pass as it was before the executor: read, decode, compute per batch."""
    kept, missing, parts = [], [], []
    for k in range(0, len(rows), batch):
        faces = []
        for row in rows[k : k + batch]:
            try:
                with Image.open(cat.paths.resolve(row.chip_path)) as img:
                    chip = np.asarray(img.convert("RGB"))
            except OSError:
                missing.append(row.face_id)
                continue
            kept.append(row.face_id)
            faces.append(FaceInput(chip, float(row.chip_padding), parse_landmarks(row.landmarks)))
        parts.append(face_features(faces))
    return np.vstack(parts), kept, missing


@pytest.mark.parametrize("engine", ENGINES)
def test_features_are_the_same_on_every_engine(broken, engine, monkeypatch):
    cat, bad = broken
    monkeypatch.setattr(inputs, "BATCH", 8)  # several batches: results come back out of order
    rows = model_faces(cat.conn, True)
    X, kept, missing = single_process(cat, rows, 8)
    assert sorted(missing) == sorted(bad) and len(kept) == 27
    batches = []
    m = features_of(cat, rows, lambda n, total: batches.append((n, total)), **engine)
    assert np.array_equal(m.X, X) and m.X.dtype == X.dtype == np.float32
    assert [r.face_id for r in m.rows] == kept
    assert m.missing == missing
    assert batches == [(8, 30), (16, 30), (24, 30), (30, 30)]


def test_a_worker_reports_an_undecodable_chip_as_none(crop_pool):
    png = []
    for crop in crop_pool[:3]:
        buf = io.BytesIO()
        crop.save(buf, format="PNG")
        png.append(buf.getvalue())
    tasks = [
        ChipTask(1, png[0], 0.0, None),
        ChipTask(2, None, 0.0, None),  # the driver could not read the file
        ChipTask(3, b"\x89PNG\r\n\x1a\n garbage", 0.0, None),
        ChipTask(4, png[1][: len(png[1]) // 2], 0.0, None),  # truncated
        ChipTask(5, png[2], 0.1, _landmarks(5)),
    ]
    out = feature_rows(default_network(), tasks)
    assert [r is None for r in out] == [False, True, True, True, False]
    chips = [np.asarray(crop.convert("RGB")) for crop in (crop_pool[0], crop_pool[2])]
    expected = face_features(
        [FaceInput(chips[0], 0.0, None), FaceInput(chips[1], 0.1, parse_landmarks(_landmarks(5)))]
    )
    assert np.array_equal(np.vstack([out[0], out[4]]), expected)


def test_small_passes_run_here_and_large_ones_on_the_pool():
    with feature_executor(INLINE_BELOW - 1) as ex:
        assert ex.name == "inline"
    with feature_executor(0) as ex:
        assert ex.name == "inline"
    with feature_executor(20 * BATCH) as ex:
        assert ex.name == "local" and ex.workers == min(default_workers(), 20)
    with feature_executor(10, workers=3) as ex:  # asked for: the pool, one batch, one worker
        assert ex.name == "local" and ex.workers == 1
    with feature_executor(10 * BATCH, workers=0) as ex:
        assert ex.name == "inline"


def _probs(cat, model_id, face_ids):
    return {f: p.probs for f, p in predictions_for(cat.conn, model_id, face_ids).items()}


def test_train_on_the_pool_stores_the_same_predictions(planted):
    p = planted(per_class=8, pending=2, rejected=3)
    here = train(p.cat, TrainOptions(folds=3))
    pool = train(p.cat, TrainOptions(folds=3, workers=2))
    assert here.model_id != pool.model_id
    ids = [r.face_id for r in model_faces(p.cat.conn, False)]
    assert _probs(p.cat, here.model_id, ids) == _probs(p.cat, pool.model_id, ids)
    assert len(_probs(p.cat, here.model_id, ids)) == 21


@pytest.mark.slow
def test_model_train_runs_on_dask_from_the_command_line(planted, capsys):
    p = planted(per_class=8, rejected=3)
    here = train(p.cat, TrainOptions(folds=3))
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    opts = ["--folds", "3", "--scheduler", "local", "--workers", "2"]
    assert pipeline.main([*argv, "model", "train", *opts]) == 0
    dask_id = capsys.readouterr().out.split()[1].rstrip(":")
    ids = [r.face_id for r in model_faces(p.cat.conn, False)]
    assert dask_id != here.model_id
    assert _probs(p.cat, here.model_id, ids) == _probs(p.cat, dask_id, ids)


@pytest.fixture
def trained(planted):
    p = planted(per_class=8, rejected=3)
    train(p.cat, TrainOptions(folds=3))
    return p


@pytest.fixture
def folder(single_face_photo, photos, write_video, tmp_path):
    """Two photos with faces (at most 640 px), a file that is no image and a short video."""
    folder = tmp_path / "in"
    folder.mkdir()
    group = max(photos, key=lambda p: (p.hog_up0, p.name))
    for name, photo in (("a.jpg", single_face_photo), ("d.jpg", group)):
        with Image.open(photo.path) as im:
            rgb = im.convert("RGB")
        rgb.thumbnail((640, 640))
        rgb.save(folder / name, quality=95)
    (folder / "b.jpg").write_bytes(b"not an image")
    write_video(folder / "c.mp4", seconds=2.0, fps=10)
    return folder


def _predict(p, folder, capsys, *extra):
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name, "predict"]
    opts = ["--json", "--fps", "2", "--cascade", "off", *extra]
    assert pipeline.main([*argv, str(folder), *opts]) == 0
    return capsys.readouterr().out


@pytest.mark.slow
def test_predict_json_is_the_same_here_on_the_pool_and_on_dask(
    trained, folder, capsys, monkeypatch
):
    with monkeypatch.context() as m:
        m.setattr(predict, "INLINE_BELOW", 10**6)  # the whole folder in this process
        here = _predict(trained, folder, capsys)
    records = json.loads(here)
    assert [r["file"] for r in records] == ["a.jpg", "b.jpg", *["c.mp4"] * 4, "d.jpg"]
    assert records[0]["faces"] and len(records[-1]["faces"]) > 1
    assert "not_an_image" in records[1]["error"]
    assert _predict(trained, folder, capsys, "--workers", "2") == here
    assert _predict(trained, folder, capsys, "--scheduler", "local", "--workers", "2") == here


def test_predict_worker_lists_what_it_cannot_read_and_a_crash():
    state = (None, None, DetectParams())  # no image reaches the face models
    items = [Refusal("x.zip", "zip_bomb", "too big"), Candidate(b"not an image", "y.jpg")]
    out = predict.find_faces(state, items)
    assert out[0].error == "zip_bomb: too big"
    assert out[1].error.startswith("not_an_image") and out[1].boxes == ()
    assert predict.crashed_image(items[1]).error == predict.CRASHED


@pytest.mark.parametrize("command", [["model", "train"], ["predict", "."]])
def test_workers_zero_is_a_one_line_error(planted, command, capsys):
    p = planted(per_class=3)
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    assert pipeline.main([*argv, *command, "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--workers" in err and "between 1 and" in err


def test_a_scheduler_that_is_no_address_is_a_one_line_error(planted, capsys):
    p = planted(per_class=3)
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    assert pipeline.main([*argv, "model", "train", "--scheduler", "nowhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "tcp://HOST:8786" in err
