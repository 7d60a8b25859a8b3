"""Each format round-trips through what its users load it with."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from exporter.options import ExportOptions
from exporter.render import load_chip, render
from exporter.stage import export

LABELS = ["happy"] * 12 + ["sad"] * 10 + ["angry"] * 6 + ["surprise"] * 5


@pytest.fixture
def labelled(builder):
    """A catalog of 33 accepted faces over four labels (plus a rejected and a pending face)."""
    b = builder()
    ids = {b.face(lab): lab for lab in LABELS}
    b.face("happy", status="rejected")
    b.face("sad", status="pending")
    return b, ids


def _chip_render(cat, face_id: int, size: int, color: bool) -> Image.Image:
    rel = cat.conn.execute("SELECT chip_path FROM faces WHERE id = ?", (face_id,)).fetchone()[0]
    path = cat.paths.resolve(rel)
    return render(load_chip(path.read_bytes(), str(path)), size, color)


def test_imagefolder_round_trips_through_pillow_and_hugging_face(labelled, tmp_path):
    b, ids = labelled
    out = tmp_path / "if"
    r = export(b.cat, ExportOptions(out=out, format="imagefolder", size=40))
    seen: dict[int, tuple[str, str]] = {}
    for split in ("train", "val", "test"):
        # Every class folder exists in every split, so folder loaders agree on indices.
        assert sorted(p.name for p in (out / split).iterdir() if p.is_dir()) == sorted(
            b.cat.labels.names
        )
        for png in (out / split).rglob("*.png"):
            with Image.open(png) as im:
                assert im.size == (40, 40) and im.mode == "L"
                face_id = int(png.stem)
                expected = _chip_render(b.cat, face_id, 40, False)
                assert np.array_equal(np.asarray(im), np.asarray(expected))
            seen[face_id] = (split, png.parent.name)
    assert {f: lab for f, (_, lab) in seen.items()} == ids
    assert r.total == len(ids)
    meta = pd.read_csv(out / "train" / "metadata.csv")
    assert list(meta.columns[:5]) == ["file_name", "label", "face_id", "source_kind", "source"]
    assert set(meta.face_id) == {f for f, (s, _) in seen.items() if s == "train"}
    assert meta.source.str.startswith("http://img.example/").all()
    labels_txt = (out / "labels.txt").read_text().splitlines()
    assert labels_txt == [f"{i} {n}" for i, n in enumerate(sorted(b.cat.labels.names))]

    import datasets

    ds = datasets.load_dataset("imagefolder", data_dir=str(out), cache_dir=str(tmp_path / "hf"))
    assert set(ds) == {"train", "validation", "test"}
    train = ds["train"]
    assert len(train) == sum(1 for s, _ in seen.values() if s == "train")
    row = train[0]
    assert row["image"].size == (40, 40)
    assert row["label"] == ids[row["face_id"]]
    # The README's recipe: labels.txt's names give the same indices in every split.
    names = [line.split()[1] for line in labels_txt]
    encoded = ds.cast_column("label", datasets.ClassLabel(names=names))
    for split in encoded:
        for r in encoded[split]:
            assert names[r["label"]] == ids[r["face_id"]]


def test_fer2013_csv_round_trips_through_pandas(labelled, tmp_path):
    b, ids = labelled
    out = tmp_path / "fer"
    export(b.cat, ExportOptions(out=out, format="fer2013-csv"))
    df = pd.read_csv(out / "fer2013.csv")
    assert list(df.columns) == ["emotion", "pixels", "Usage"]
    assert set(df.Usage) <= {"Training", "PublicTest", "PrivateTest"}
    assert Counter(df.Usage)["Training"] > Counter(df.Usage)["PublicTest"] > 0
    fer_names = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert Counter(fer_names[e] for e in df.emotion) == Counter(ids.values())
    manifest = json.loads((out / "manifest.json").read_text())
    by_row = {f["row"]: f for f in manifest["faces"]}
    for i, row in df.iterrows():
        pixels = np.array(row.pixels.split(), dtype=np.uint8)
        assert pixels.size == 48 * 48
        face = by_row[i]
        expected = np.asarray(_chip_render(b.cat, face["face_id"], 48, False))
        assert np.array_equal(pixels.reshape(48, 48), expected)  # row-major
        assert fer_names[row.emotion] == face["label"] == ids[face["face_id"]]
        assert hashlib.sha256(pixels.tobytes()).hexdigest() == face["sha256"]
    assert (out / "labels.txt").read_text() == "".join(
        f"{i} {n}\n" for i, n in enumerate(fer_names)
    )


def test_fer2013_subset_keeps_fer2013_indices(labelled, tmp_path):
    b, _ = labelled
    out = tmp_path / "fer"
    export(b.cat, ExportOptions(out=out, format="fer2013-csv", labels="happy,sad"))
    df = pd.read_csv(out / "fer2013.csv")
    assert Counter(df.emotion) == {3: 12, 4: 10}
    assert (out / "labels.txt").read_text() == "3 happy\n4 sad\n"


def test_hf_parquet_round_trips_through_datasets(labelled, tmp_path):
    import datasets

    b, ids = labelled
    out = tmp_path / "hf"
    export(b.cat, ExportOptions(out=out, format="hf", size=32, color=True, labels="sad,happy"))
    files = {s: str(out / "data" / f"{s}-00000-of-00001.parquet") for s in ("train", "val", "test")}
    ds = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "c"))
    feats = ds["train"].features
    assert isinstance(feats["label"], datasets.ClassLabel)
    assert feats["label"].names == ["sad", "happy"]
    assert isinstance(feats["image"], datasets.Image)
    rows = [r for s in ds for r in ds[s]]
    assert len(rows) == 22
    for r in rows:
        assert feats["label"].int2str(r["label"]) == ids[r["face_id"]]
        assert r["image"].size == (32, 32) and r["image"].mode == "RGB"
        expected = _chip_render(b.cat, r["face_id"], 32, True)
        assert np.array_equal(np.asarray(r["image"]), np.asarray(expected))
    # The card's YAML front matter lets load_dataset find the splits by itself.
    by_dir = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "c2"))
    assert {s: len(d) for s, d in by_dir.items()} == {
        "train": len(ds["train"]),
        "validation": len(ds["val"]),
        "test": len(ds["test"]),
    }
    assert (out / "labels.txt").read_text() == "0 sad\n1 happy\n"


def test_merge_gives_the_right_indices_in_every_format(labelled, tmp_path):
    b, ids = labelled
    opts = {"labels": "happy,negative", "map": "sad=negative,angry=negative"}
    expected = Counter(
        "happy" if lab == "happy" else "negative" for lab in ids.values() if lab != "surprise"
    )
    # hf: ClassLabel in the --labels order.
    export(b.cat, ExportOptions(out=tmp_path / "hf", format="hf", **opts))
    got = Counter()
    for p in (tmp_path / "hf" / "data").glob("*.parquet"):
        got.update(pd.read_parquet(p).label.map({0: "happy", 1: "negative"}))
    assert got == expected
    # imagefolder: class folders (alphabetical, as the loaders index them).
    export(b.cat, ExportOptions(out=tmp_path / "if", format="imagefolder", **opts))
    # Face images only: <split>/<class>/*.png (confusion_matrix.png sits at the top).
    got = Counter(p.parent.name for p in (tmp_path / "if").glob("*/*/*.png"))
    assert got == expected
    assert (tmp_path / "if" / "labels.txt").read_text() == "0 happy\n1 negative\n"
    # fer2013-csv: 'negative' is no FER2013 class; a merge into FER2013 classes works.
    from exporter.options import ExportError

    with pytest.raises(ExportError, match="negative"):
        export(b.cat, ExportOptions(out=tmp_path / "fer", format="fer2013-csv", **opts))
    assert not (tmp_path / "fer").exists()
    export(b.cat, ExportOptions(out=tmp_path / "fer", format="fer2013-csv", map="surprise=happy"))
    df = pd.read_csv(tmp_path / "fer" / "fer2013.csv")
    assert Counter(df.emotion) == {3: 17, 4: 10, 0: 6}


def test_manifest_lists_every_file_with_its_sha256_and_each_face_with_provenance(
    labelled, tmp_path
):
    b, ids = labelled
    out = tmp_path / "if"
    export(b.cat, ExportOptions(out=out, format="imagefolder"))
    m = json.loads((out / "manifest.json").read_text())
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert sorted([f["path"] for f in m["files"]] + ["manifest.json"]) == on_disk
    for f in m["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert {f["face_id"] for f in m["faces"]} == set(ids)
    face = m["faces"][0]
    assert hashlib.sha256((out / face["path"]).read_bytes()).hexdigest() == face["sha256"]
    src = face["sources"][0]
    assert src["url"].startswith("http://img.example/")
    assert src["page"].startswith("http://page.example/")
    assert src["query"] == f"{face['label']} face" and src["engine"] == "google"
    assert face["annotations"] == [
        {"annotator": "alice", "label": face["label"], "status": "accepted"}
    ]
    rows = list(csv.reader(io.StringIO((out / "labels.txt").read_text()), delimiter=" "))
    assert [r[1] for r in rows] == sorted(b.cat.labels.names)


def test_card_reports_counts_collection_curation_and_caveats(builder, tmp_path):
    b = builder()
    for lab in ["happy"] * 6 + ["sad"] * 4:
        b.face(lab, annotators=("alice", "bob"))
    b.face("happy", status="rejected", reason="drawing")
    b.face("sad", status="rejected", reason="drawing")
    b.face("sad", status="rejected", reason="low_quality")
    f = b.face("happy", annotators=("alice",))
    from catalog.events import record

    record(b.cat.conn, f, "bob", "label", label="sad")  # a disputed face
    b.face("angry", source="import", status="pending")
    export(b.cat, ExportOptions(out=tmp_path / "x", format="hf", include_pending=True))
    card = (tmp_path / "x" / "README.md").read_text()
    assert "| 3 | happy | 5 | 1 | 0 | 6 |" in card  # 4.8, 0.6, 0.6 by largest remainder
    assert "| 4 | sad | 3 | 1 | 0 | 4 |" in card
    assert "| google | happy face | happy | 8 |" in card
    assert "drawing or cartoon 2" in card and "too small or blurry 1" in card
    assert "alice (14)" in card and "bob (11)" in card
    assert "10 of 11 faces seen by two or more annotators were decided alike (90.9%)" in card
    assert "1 exported faces are pending" in card
    assert "Imported images by source: mine (1, imported 20" in card
    assert "hog detector, 15 faces, chips 64 px" in card
    assert "consent" in card and "near-duplicate pairs across splits: **0**" in card


def test_the_fer2013_csv_imports_back_with_its_labels(labelled, make_catalog, tmp_path):
    """facesift's own FER2013 importer reads the export: same faces, same labels, same split."""
    from importer.options import ImportOptions
    from importer.stage import import_path

    b, ids = labelled
    out = tmp_path / "fer"
    export(b.cat, ExportOptions(out=out, format="fer2013-csv"))
    fresh = make_catalog("again")
    import_path(fresh, ImportOptions(out / "fer2013.csv"))
    rows = fresh.conn.execute(
        "SELECT import_path, source_label FROM image_sources ORDER BY id"
    ).fetchall()
    assert Counter(r[1] for r in rows) == Counter(ids.values())
    usage = Counter(r[0].rsplit(":", 1)[1] for r in rows)
    df = pd.read_csv(out / "fer2013.csv")
    assert usage == Counter(df.Usage)


def test_a_zero_fraction_split_is_not_written(labelled, tmp_path):
    import datasets

    b, ids = labelled
    out = tmp_path / "if"
    r = export(b.cat, ExportOptions(out=out, format="imagefolder", splits=(0.75, 0.0, 0.25)))
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["test", "train"]
    assert set(r.counts) == {"train", "test"}
    ds = datasets.load_dataset("imagefolder", data_dir=str(out), cache_dir=str(tmp_path / "c"))
    assert set(ds) == {"train", "test"}
    assert len(ds["train"]) + len(ds["test"]) == len(ids)
