"""The export's baseline: baseline.json, confusion_matrix.png and the card's Baseline section."""

from __future__ import annotations

import json

from PIL import Image

import pipeline
from exporter.baseline import BASELINE_JSON, CONFUSION_PNG
from exporter.options import ExportOptions
from exporter.stage import export


def _three_classes(builder):
    b = builder()
    for i in range(36):
        b.face(("happy", "sad", "neutral")[i % 3])
    return b


def test_baseline_files_and_confusion_matrix_sum_to_the_test_split(builder, tmp_path):
    b = _three_classes(builder)
    out = tmp_path / "x"
    r = export(b.cat, ExportOptions(out=out, format="imagefolder", splits=(0.6, 0.2, 0.2)))
    manifest = json.loads((out / "manifest.json").read_text())
    tests = [f for f in manifest["faces"] if f["split"] == "test"]
    base = json.loads((out / BASELINE_JSON).read_text())
    assert base == r.baseline
    matrix = base["confusion"]["matrix"]
    assert base["confusion"]["labels"] == ["happy", "sad", "neutral"]  # the export's classes
    assert sum(map(sum, matrix)) == len(tests) == base["test_faces"] == base["support"]
    for i, label in enumerate(base["confusion"]["labels"]):  # rows are the true labels
        assert sum(matrix[i]) == sum(f["label"] == label for f in tests)
        assert base["per_class"][label]["support"] == sum(matrix[i])
    diagonal = sum(matrix[i][i] for i in range(3))
    assert base["accuracy"] == round(diagonal / len(tests), 4)
    assert base["c"] in [t["c"] for t in base["tried"]] and base["val_faces"] > 0
    with Image.open(out / CONFUSION_PNG) as im:
        assert im.format == "PNG" and im.width > 200 and im.height > 200
    listed = {f["path"] for f in manifest["files"]}
    assert {BASELINE_JSON, CONFUSION_PNG} <= listed
    card = (out / "README.md").read_text()
    assert "## Baseline" in card and f"]({CONFUSION_PNG})" in card
    assert "| happy |" in card.split("## Baseline")[1]
    assert any(line.startswith("  baseline: accuracy") for line in r.lines())
    # The same catalog and options: the same bytes (the export's reproducibility holds).
    export(b.cat, ExportOptions(out=tmp_path / "x2", format="imagefolder", splits=(0.6, 0.2, 0.2)))
    for name in (BASELINE_JSON, CONFUSION_PNG):
        assert (out / name).read_bytes() == (tmp_path / "x2" / name).read_bytes()


def test_no_baseline_writes_none_of_it(builder, tmp_path, capsys):
    b = _three_classes(builder)
    argv = ["--root", str(b.cat.paths.root), "--dataset", b.cat.paths.name]
    out = tmp_path / "y"
    assert (
        pipeline.main([*argv, "export", "--out", str(out), "--format", "hf", "--no-baseline"]) == 0
    )
    assert not (out / BASELINE_JSON).exists() and not (out / CONFUSION_PNG).exists()
    assert "## Baseline" not in (out / "README.md").read_text()
    assert "baseline:" not in capsys.readouterr().out


def test_a_baseline_that_cannot_be_trained_says_why(builder, tmp_path):
    b = builder()
    for _ in range(6):
        b.face("happy")
    out = tmp_path / "z"
    r = export(b.cat, ExportOptions(out=out, format="imagefolder"))
    base = json.loads((out / BASELINE_JSON).read_text())
    assert base["skipped"] == "the train split has fewer than two classes"
    assert not (out / CONFUSION_PNG).exists()
    assert "No baseline: the train split has fewer than two classes." in r.card.read_text()


def test_card_names_the_features_the_model_uses(builder, tmp_path):
    # The model gained LBP histograms (model.features.lbp); the card still said HOG only.
    import model.features as features

    b = _three_classes(builder)
    out = tmp_path / "z"
    export(b.cat, ExportOptions(out=out, format="imagefolder", splits=(0.6, 0.2, 0.2)))
    section = (out / "README.md").read_text().split("## Baseline")[1].split("\n## ")[0]
    assert "HOG" in section and "landmarks" in section
    assert ("LBP" in section) == any("lbp" in name for name in dir(features))
