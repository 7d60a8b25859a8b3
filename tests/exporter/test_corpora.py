"""Corpora in an export: subject-disjoint splits, the corpus's own split, their columns."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pyarrow.parquet as pq
import pytest

import pipeline
from catalog.events import record
from exporter.options import ExportError, ExportOptions
from exporter.splits import allowed_splits, assign_with_sources
from exporter.stage import export, prepare


def opts(out, **kw) -> ExportOptions:
    return ExportOptions(out=out, no_baseline=True, **kw)


def test_a_subject_in_many_dup_groups_lands_in_one_split(builder, tmp_path):
    b = builder()
    # Subject S005's 12 faces are 12 distinct pictures (12 dup groups): without the subject
    # they would be spread over the splits like any 12 faces.
    s005 = [
        b.face(lab, source="import", corpus={"source_name": "ck", "subject": "S005"})
        for lab in ["happy", "sad", "surprise"] * 4
    ]
    # Same name, another corpus: another person.
    other = [
        b.face("happy", source="import", corpus={"source_name": "jaffe", "subject": "S005"})
        for _ in range(3)
    ]
    for lab in ["happy", "sad", "surprise"] * 6:
        b.face(lab)  # web faces: no subject
    prep = prepare(b.cat, opts(tmp_path / "x"))
    split = dict(zip([f.id for f in prep.faces], prep.splits, strict=True))
    assert len({split[f] for f in s005}) == 1
    assert len({split[f] for f in other}) == 1
    assert len(set(prep.splits)) == 3  # the others are still split as usual
    # Without subjects the same faces are spread (the test can fail).
    b.cat.conn.execute("UPDATE image_sources SET subject = NULL")
    loose = prepare(b.cat, opts(tmp_path / "x"))
    split = dict(zip([f.id for f in loose.faces], loose.splits, strict=True))
    assert len({split[f] for f in s005}) > 1


def test_the_card_counts_subjects_per_split_and_says_subject_disjoint(builder, tmp_path):
    b = builder()
    for subject in ("KA", "KL", "KM", "KR", "MK"):
        for lab in ("happy", "sad"):
            b.face(lab, source="import", corpus={"source_name": "jaffe", "subject": subject})
    for lab in ["happy", "sad"] * 3:
        b.face(lab)
    result = export(b.cat, opts(tmp_path / "out"))
    card = result.card.read_text()
    per_split = defaultdict(set)
    manifest = json.loads((result.out / "manifest.json").read_text())
    for rec in manifest["faces"]:
        if rec["subject"]:
            per_split[rec["split"]].add(rec["subject"])
    counts = ", ".join(f"{s} {len(per_split[s])}" for s in result.counts)
    assert f"split): {counts}; subject-disjoint: yes (6 faces without a subject)." in card
    assert sum(len(v) for v in per_split.values()) == 5  # each subject in one split
    assert "among the 6 faces no corpus names a subject for" in card


def test_split_from_source_keeps_the_corpus_split_and_splits_the_rest(builder, tmp_path):
    b = builder()
    test = [
        b.face(lab, source="import", corpus={"source_name": "rafdb", "source_split": "test"})
        for lab in ["happy", "sad"] * 5
    ]
    train = [
        b.face(lab, source="import", corpus={"source_name": "rafdb", "source_split": "train"})
        for lab in ["happy", "sad"] * 10
    ]
    web = [b.face(lab) for lab in ["happy", "sad"] * 10]
    # A near-duplicate of a test face in RAF-DB's train list follows it into test.
    dup_of = test[0]
    moved = b.face(
        "happy",
        source="import",
        dup_group=dup_of,
        corpus={"source_name": "rafdb", "source_split": "train"},
    )
    prep = prepare(b.cat, opts(tmp_path / "x", split_from="source"))
    split = dict(zip([f.id for f in prep.faces], prep.splits, strict=True))
    assert {split[f] for f in test} == {"test"}
    assert {split[f] for f in train} == {"train", "val"}
    assert split[moved] == "test"
    assert {split[f] for f in web} == {"train", "val", "test"}
    p = prep.placement
    assert (p.kept, p.free, p.moved) == (30, 20, 1)
    # The default ignores the corpus's split.
    plain = prepare(b.cat, opts(tmp_path / "x"))
    split = dict(zip([f.id for f in plain.faces], plain.splits, strict=True))
    assert {split[f] for f in test} != {"test"}


@pytest.mark.parametrize("spelling", [["--split-from", "source"], ["--splits", "source"]])
def test_split_from_source_on_the_command_line_and_in_the_card(builder, tmp_path, capsys, spelling):
    """`--splits source` is the issue's spelling; `--split-from source` says it apart."""
    b = builder()
    for word in ("training", "validation"):
        for lab in ["happy", "sad"] * 3:
            b.face(lab, source="import", corpus={"source_name": "affectnet", "source_split": word})
    out = tmp_path / "out"
    argv = ["--root", str(b.cat.paths.root), "--dataset", b.cat.paths.name, "export"]
    flags = [
        "--out",
        str(out),
        "--format",
        "imagefolder",
        *spelling,
        "--no-baseline",
    ]
    assert pipeline.main([*argv, *flags]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    by_word = defaultdict(set)
    for rec in manifest["faces"]:
        by_word[rec["source_split"]].add(rec["split"])
    assert by_word["validation"] == {"test"} and by_word["training"] <= {"train", "val"}
    card = (out / "README.md").read_text()
    assert "Splits from the source: 12 faces are in the split their corpus gives" in card
    assert "validation -> test" in card
    assert manifest["options"]["split_from"] == "source", manifest["options"]
    refused = pipeline.main([*argv, *flags[:4], "--split-from", "corpus"])
    assert refused == 2 and "invalid choice: 'corpus'" in capsys.readouterr().err


def test_source_split_words_are_data():
    assert allowed_splits("PrivateTest") == ("test",)
    assert allowed_splits("TRAIN") == ("train", "val")  # looked up in lower case too
    assert allowed_splits("holdout") is None and allowed_splits(None) is None
    placed = assign_with_sources(
        ["a"] * 4, [0, 1, 2, 2], ["holdout", None, "test", None], (0.8, 0.1, 0.1), 0
    )
    assert placed.splits[2:] == ["test", "test"]
    assert (placed.kept, placed.free, placed.unknown_words) == (1, 3, ("holdout",))


@pytest.mark.parametrize("fmt", ["imagefolder", "hf"])
def test_per_face_tables_carry_subject_split_frame_and_values(builder, tmp_path, fmt):
    b = builder()
    said = {
        "source_name": "mmi",
        "subject": "7",
        "source_split": None,
        "frame_index": 41,
        "frame_how": "apex:markers",
    }
    mmi = b.face("happy", source="import", corpus=said)
    aff = b.face(
        "sad",
        source="import",
        corpus={
            "source_name": "affectnet",
            "source_split": "training",
            "values": {"valence": -0.5, "arousal": 0.25},
        },
    )
    web = b.face("happy")
    result = export(b.cat, opts(tmp_path / "out", format=fmt, splits=(1.0, 0.0, 0.0)))
    if fmt == "imagefolder":
        with open(result.out / "train" / "metadata.csv", newline="") as f:
            rows = {int(r["face_id"]): r for r in csv.DictReader(f)}
        assert rows[mmi]["subject"] == "7" and rows[mmi]["frame_index"] == "41"
        assert rows[mmi]["frame_how"] == "apex:markers" and rows[mmi]["valence"] == ""
        assert rows[aff]["source_split"] == "training"
        assert (rows[aff]["valence"], rows[aff]["arousal"]) == ("-0.5", "0.25")
        assert all(rows[web][c] == "" for c in ("subject", "source_split", "frame_index"))
    else:
        table = pq.read_table(result.out / "data" / "train-00000-of-00001.parquet").to_pylist()
        rows = {r["face_id"]: r for r in table}
        assert (rows[mmi]["subject"], rows[mmi]["frame_index"]) == ("7", 41)
        assert (rows[aff]["valence"], rows[aff]["arousal"]) == (-0.5, 0.25)
        assert rows[web]["valence"] is None and rows[web]["subject"] is None
    manifest = {
        r["face_id"]: r for r in json.loads((result.out / "manifest.json").read_text())["faces"]
    }
    assert manifest[mmi]["frame_how"] == "apex:markers" and manifest[mmi]["frame_index"] == 41
    assert (manifest[aff]["valence"], manifest[web]["arousal"]) == (-0.5, None)


def test_padding_keeps_a_face_crops_tighter_chip_and_the_card_says_so(builder, tmp_path):
    b = builder()
    crop = b.face("happy")
    photo = b.face("happy")
    b.cat.conn.execute("UPDATE faces SET chip_padding = 0.1 WHERE id = ?", (crop,))
    b.cat.conn.execute("UPDATE faces SET chip_padding = 0.45 WHERE id = ?", (photo,))
    r = export(b.cat, opts(tmp_path / "p", padding=0.25))
    assert "(1 face crops keep their tighter padding" in r.card.read_text()
    with pytest.raises(ExportError, match="can only tighten"):
        export(b.cat, opts(tmp_path / "x", padding=0.5))


def test_the_card_gives_each_corpus_against_peoples_final_labels(builder, tmp_path):
    b = builder()
    kept = b.face("happy", annotators=("mmi", "alice"))
    relabelled = b.face("happy", annotators=("mmi",))
    record(b.cat.conn, relabelled, "alice", "label", label="sad")
    record(b.cat.conn, relabelled, "bo", "label", label="sad")
    b.face("sad")  # no corpus
    assert kept
    card = export(b.cat, opts(tmp_path / "out")).card.read_text()
    assert "## Relabelling the corpora" in card
    assert "- MMI: people agree with MMI on 1 of 2 decided faces (50.0%); 0 undecided" in card
    header = next(line for line in card.splitlines() if line.startswith("| MMI label |"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    row = next(line for line in card.splitlines() if line.startswith("| happy |"))
    cells = dict(zip(cols, [c.strip() for c in row.strip("|").split("|")], strict=True))
    assert (cells["happy"], cells["sad"], cells["rejected"]) == ("1", "1", "0")
