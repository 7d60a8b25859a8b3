"""facesift model train / suspects: stored model, out-of-fold probabilities, suspects ranking."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import random
import shutil

import numpy as np
import pytest

import pipeline
from catalog import Catalog
from catalog.events import record
from catalog.predictions import REJECTED, predictions_for
from catalog.stats import summary
from model import classifier, store
from model.features import LBP_BINS, feature_count, hog, lbp, normalised_landmarks
from model.store import MODEL_JSON, ModelError, is_stale, latest_model
from model.suspects import SuspectsOptions, find_suspects
from model.train import TrainOptions, train
from tests.conftest import SHARED_FER
from tests.diskfull import catalog_fills


def test_train_stores_the_model_and_a_prediction_for_every_face(planted):
    p = planted(per_class=12, pending=4, rejected=6)
    s = train(p.cat, TrainOptions())
    assert s.classes == ["happy", "sad", REJECTED]
    assert (s.labelled, s.unlabelled) == (30, 4)
    meta = json.loads((p.cat.paths.dir / s.path / MODEL_JSON).read_text())
    assert meta["id"] == s.model_id and meta["classes"] == s.classes
    assert meta["figures"]["accuracy"] == s.accuracy
    assert sum(sum(r) for r in meta["figures"]["confusion"]["matrix"]) == 30
    rows = p.cat.conn.execute(
        "SELECT COUNT(*), SUM(out_of_fold), SUM(self_confidence IS NULL) FROM predictions "
        "WHERE model_id = ?",
        (s.model_id,),
    ).fetchone()
    assert tuple(rows) == (34, 30, 4)
    model = latest_model(p.cat)
    assert model is not None and model.id == s.model_id and model.classes == tuple(s.classes)
    assert summary(p.cat)["model"]["id"] == s.model_id
    assert not is_stale(p.cat, model, 0)
    record(p.cat.conn, p.face_ids[0], "bob", "label", label="sad")
    assert is_stale(p.cat, model, 0) and not is_stale(p.cat, model, 1)


def test_a_face_whose_chip_is_gone_is_left_out_and_counted(planted):
    p = planted(per_class=8)
    chip = p.cat.conn.execute(
        "SELECT chip_path FROM faces WHERE id = ?", (p.face_ids[0],)
    ).fetchone()[0]
    (p.cat.paths.dir / chip).unlink()
    s = train(p.cat, TrainOptions(folds=3))
    assert (s.labelled, s.missing_chips) == (15, 1)
    assert "1 without a readable chip" in s.line()
    assert p.face_ids[0] not in predictions_for(p.cat.conn, s.model_id, p.face_ids)


def test_training_is_deterministic_for_a_seed(planted):
    p = planted(per_class=10)
    a, b = train(p.cat, TrainOptions(seed=3)), train(p.cat, TrainOptions(seed=3))
    assert a.model_id != b.model_id
    pa = predictions_for(p.cat.conn, a.model_id, p.face_ids)
    pb = predictions_for(p.cat.conn, b.model_id, p.face_ids)
    assert pa.keys() == pb.keys() == set(p.face_ids)
    assert all(pa[i].probs == pb[i].probs for i in p.face_ids)
    c = train(p.cat, TrainOptions(seed=4))  # another fold assignment: other probabilities
    pc = predictions_for(p.cat.conn, c.model_id, p.face_ids)
    assert any(pa[i].probs != pc[i].probs for i in p.face_ids)


class Recorded:
    """A fitted classifier that logs the rows it learnt from and the rows it scored."""

    def __init__(self, est, seen: set, log: list):
        self.est, self.classes_, self.index, self.log = est, est.classes_, len(log), log
        log.append({"seen": seen, "scored": set()})

    def predict_proba(self, X):
        self.log[self.index]["scored"] |= {r.tobytes() for r in X}
        return self.est.predict_proba(X)

    def __getstate__(self):  # the stored model file holds the classifier, not the log
        return {"est": self.est, "classes_": self.classes_, "index": 0, "log": []}


def test_out_of_fold_probabilities_never_come_from_a_model_that_saw_the_face(planted, monkeypatch):
    """Every fit records the feature rows it learnt from, every prediction those it scored."""
    fits: list[dict] = []
    real_fit = classifier.fit

    def recording_fit(X, y, *args, **kwargs):
        return Recorded(real_fit(X, y, *args, **kwargs), {r.tobytes() for r in X}, fits)

    monkeypatch.setattr(classifier, "fit", recording_fit)
    p = planted(per_class=12, pending=3)
    s = train(p.cat, TrainOptions(folds=4))
    assert len(fits) == 4 + 1  # one per fold, then the final model
    for f in fits[:-1]:
        assert f["scored"] and not (f["scored"] & f["seen"])
    scored_oof = set().union(*(f["scored"] for f in fits[:-1]))
    assert scored_oof == fits[-1]["seen"]  # every labelled face, each by a model without it
    assert len(fits[-1]["seen"]) == s.labelled == 24
    assert len(fits[-1]["scored"]) == 3 and not (fits[-1]["scored"] & fits[-1]["seen"])


def test_fold_assignment_is_stratified_and_seeded():
    y = ["a"] * 10 + ["b"] * 5 + ["c"]
    f = classifier.fold_assignment(y, 5, 0)
    assert sorted(set(f.tolist())) == [0, 1, 2, 3, 4]
    assert sorted(f[:10].tolist()) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert (f == classifier.fold_assignment(y, 5, 0)).all()
    assert not (f == classifier.fold_assignment(y, 5, 1)).all()


def test_fewer_faces_per_class_than_folds_uses_fewer_folds(planted, capsys):
    p = planted(per_class=3)
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    assert pipeline.main([*argv, "model", "train", "--folds", "5"]) == 0
    assert "3-fold CV (not 5: no class has that many faces)" in capsys.readouterr().out
    model = latest_model(p.cat)
    assert model is not None and model.figures["folds"] == 3
    oof = predictions_for(p.cat.conn, model.id, p.face_ids)
    assert len(oof) == 6 and all(x.out_of_fold for x in oof.values())
    f = classifier.fold_assignment(["a", "a", "b", "b", "b", "c"], 5, 0)
    assert sorted(set(f.tolist())) == [0, 1, 2]


def test_one_face_per_class_is_a_one_line_error(planted, capsys):
    p = planted(per_class=1)
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    assert pipeline.main([*argv, "model", "train"]) == 2
    err = capsys.readouterr().err.strip()
    assert "at least two labelled faces of one class" in err and len(err.splitlines()) == 1
    assert p.cat.conn.execute("SELECT COUNT(*) FROM models").fetchone()[0] == 0


def test_suspects_put_the_planted_wrong_labels_first(planted):
    p = planted(per_class=24, flips=4, seed=1)
    # The classes here are rotations of crops (conftest), which the expression
    # prior knows nothing about: this checks the ranking of what the dataset model
    # learns. The prior's part is checked on real faces below.
    train(p.cat, TrainOptions(prior_weight=0.0))
    found = find_suspects(p.cat, SuspectsOptions()).suspects
    assert len(found) == 48
    first = [s.face_id for s in found[: 2 * len(p.flipped)]]
    assert len(set(first) & set(p.flipped)) >= 3, (first, p.flipped)
    confidences = [s.self_confidence for s in found]
    assert confidences == sorted(confidences)
    top = found[0]
    assert top.self_confidence == pytest.approx(top.probs[top.label], abs=1e-9)


def test_suspects_score_the_current_label_after_a_relabel(planted):
    p = planted(per_class=10)
    train(p.cat, TrainOptions())
    face = p.face_ids[0]
    new = "sad" if p.labels[face] == "happy" else "happy"
    record(p.cat.conn, face, "bob", "label", label=new)
    record(p.cat.conn, face, "carol", "label", label=new)
    s = next(s for s in find_suspects(p.cat, SuspectsOptions()).suspects if s.face_id == face)
    assert s.label == new and s.self_confidence == pytest.approx(s.probs[new])
    only_sad = find_suspects(p.cat, SuspectsOptions(label="sad")).suspects
    assert only_sad and all(s.label == "sad" for s in only_sad)


def test_cli_train_and_suspects_json(planted, capsys):
    p = planted(per_class=10, rejected=4)
    root = str(p.cat.paths.root)
    argv = ["--root", root, "--dataset", p.cat.paths.name]
    assert pipeline.main([*argv, "model", "train", "--folds", "3"]) == 0
    out = capsys.readouterr().out
    assert "3-fold CV accuracy" in out and "macro-F1" in out and "rejected" in out
    assert pipeline.main([*argv, "model", "suspects", "--json", "--limit", "5"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 5
    assert all(
        set(r) == {"face_id", "label", "predicted", "self_confidence", "probs"} for r in records
    )
    assert set(records[0]["probs"]) == {"happy", "sad", REJECTED}
    assert pipeline.main([*argv, "model", "suspects", "--label", "rejected", "--json"]) == 0
    assert {r["label"] for r in json.loads(capsys.readouterr().out)} == {REJECTED}


def test_no_model_and_too_few_classes_are_one_line_errors(planted, capsys):
    p = planted(per_class=6, labels=("happy",))
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    assert pipeline.main([*argv, "model", "suspects"]) == 2
    assert "no model yet" in capsys.readouterr().err
    with pytest.raises(ModelError, match="at least two classes"):
        train(p.cat, TrainOptions())
    assert pipeline.main([*argv, "model", "train", "--folds", "1"]) == 2
    assert "--folds" in capsys.readouterr().err
    assert p.cat.conn.execute("SELECT COUNT(*) FROM models").fetchone()[0] == 0


def test_features_hog_and_landmarks():
    rng = np.random.default_rng(0)
    gray = rng.uniform(0, 255, (2, 64, 64))
    h = hog(gray)
    assert h.shape == (2, 7 * 7 * 36) and np.isfinite(h).all() and h.max() <= 1.0
    assert not np.allclose(hog(gray.transpose(0, 2, 1))[0], h[0])
    pts = rng.uniform(0, 100, (68, 2))
    a = normalised_landmarks(pts)
    # Moved, scaled and turned, the face keeps its normalised shape.
    turn = np.array([[0.8, -0.6], [0.6, 0.8]])
    b = normalised_landmarks((pts @ turn.T) * 3 + 40)
    assert np.allclose(a, b, atol=1e-4)
    assert normalised_landmarks(None).shape == (136,)
    assert feature_count() == 1764 + 324 + 7 * 7 * 59 + 136 + 7  # the prior's 7 probabilities


def test_lbp_of_a_flat_image_is_one_pattern_per_cell():
    flat = lbp(np.full((1, 18, 18), 7.0), cell=8)  # 16x16 inner pixels: 4 cells
    hist = flat.reshape(4, LBP_BINS)
    assert np.allclose(hist.max(axis=1), 1.0) and np.allclose(hist.sum(axis=1), 1.0)
    ramp = lbp(np.tile(np.arange(18.0), (1, 18, 1)), cell=8).reshape(4, LBP_BINS)
    assert not np.allclose(ramp, hist)


def test_a_model_of_other_features_asks_for_retraining(planted, monkeypatch):
    p = planted(per_class=6)
    train(p.cat, TrainOptions(folds=2))
    monkeypatch.setattr(store, "feature_count", lambda: 10)
    with pytest.raises(ModelError, match="retrain"):
        latest_model(p.cat)


def test_prior_weight_is_a_flag_recorded_with_the_model_and_mixed_in(planted, capsys):
    p = planted(per_class=10, rejected=4)
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    probs = {}
    for weight in ("0", "0.5"):
        assert (
            pipeline.main([*argv, "model", "train", "--folds", "3", "--prior-weight", weight]) == 0
        )
        model = latest_model(p.cat)
        meta = json.loads((model.dir / MODEL_JSON).read_text())
        assert meta["options"]["prior_weight"] == float(weight)
        assert meta["features"]["prior"]["classes_mixed"] == ["happy", "sad"]  # not "rejected"
        said = capsys.readouterr().out
        prior_said = (
            "2 with the expression prior at 0.5" if weight == "0.5" else "no expression prior"
        )
        assert f"3 classes ({prior_said})" in said
        found = predictions_for(p.cat.conn, model.id, p.face_ids)
        probs[weight] = {f: r.probs for f, r in found.items()}
    # The same folds and regression: only the prior's share differs, and "rejected",
    # which the prior has no word for, keeps the regression's probability.
    assert all(np.isclose(probs["0"][f][REJECTED], probs["0.5"][f][REJECTED]) for f in probs["0"])
    moved = [f for f in probs["0"] if abs(probs["0"][f]["happy"] - probs["0.5"][f]["happy"]) > 0.01]
    assert len(moved) > len(probs["0"]) // 2
    capsys.readouterr()
    assert pipeline.main([*argv, "model", "train", "--prior-weight", "1.5"]) == 2
    assert "prior-weight" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_FER.is_dir(), reason="needs ../shared/testdata/fer2013_privatetest")
def test_prior_finds_planted_errors_on_real_fer2013_faces(tmp_path):
    # 20 real FER2013 faces per class, imported as a user would, 14 labels flipped.
    for label in sorted(p.name for p in SHARED_FER.iterdir() if p.is_dir()):
        (tmp_path / "in" / label).mkdir(parents=True)
        for f in sorted((SHARED_FER / label).iterdir())[:20]:
            shutil.copy(f, tmp_path / "in" / label / f.name)
    argv = ["--root", str(tmp_path / "root"), "--dataset", "fer", "import", str(tmp_path / "in")]
    with contextlib.redirect_stdout(io.StringIO()):
        assert pipeline.main([*argv, "--labels-from", "folders", "--whole-image"]) == 0
    with Catalog.open(tmp_path / "root", "fer", create=False) as cat:
        rows = cat.conn.execute(
            "SELECT face_id, label FROM face_state WHERE label IS NOT NULL ORDER BY face_id"
        ).fetchall()
        rng = random.Random(0)
        flipped = rng.sample(rows, len(rows) // 10)
        for face_id, label in flipped:
            other = rng.choice([n for n in cat.labels.names if n != label])
            record(cat.conn, face_id, "flipper", "label", label=other)
        found = {}
        for weight in (0.0, 0.5):
            train(cat, TrainOptions(include_pending=True, folds=3, prior_weight=weight))
            order = [s.face_id for s in find_suspects(cat, SuspectsOptions()).suspects]
            first = set(order[: len(order) // 5])
            found[weight] = len(first & {f for f, _ in flipped})
    # In the first 20% of suspects chance finds 20% of the 14 flips (about 3). The
    # model alone found 4 here and the default mix 11 (8 to 14 over other seeds and sizes).
    assert len(rows) == 140 and len(flipped) == 14
    assert found[0.5] >= 7, found
    assert found[0.5] > found[0.0], found


@pytest.mark.parametrize("where", ["files", "catalog"])
def test_model_train_on_a_full_disk_is_one_line_and_keeps_no_model(
    planted, capsys, monkeypatch, where
):
    p = planted(per_class=8)
    argv = ["--root", str(p.cat.paths.root), "--dataset", p.cat.paths.name]
    with monkeypatch.context() as m:
        if where == "files":

            def dump(obj, path):
                open(path, "wb").close()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

            m.setattr(store.joblib, "dump", dump)
        else:
            catalog_fills(m, r"INSERT INTO models")
        status = pipeline.main([*argv, "model", "train", "--folds", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    what = "writing model " if where == "files" else "writing the catalog"
    assert err[0].startswith(f"facesift: error: disk full: {what}") and " needs about " in err[0]
    models = p.cat.paths.dir / store.MODELS_DIR
    assert not models.exists() or not list(models.iterdir())  # no model without its row
    assert latest_model(p.cat) is None
    assert pipeline.main([*argv, "model", "train", "--folds", "2"]) == 0  # room again
    assert latest_model(p.cat) is not None
