"""Vote counts in every export format equal the label events; --min-annotators."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

from catalog.events import record
from exporter.options import ExportOptions
from exporter.stage import export

# Each face: the label events in order (annotator, label or "reject"); "undo" undoes that
# annotator's previous event. Seven FER2013 labels; "disgust" is merged into "angry" below.
FACES = [
    [("ann", "happy"), ("bo", "happy"), ("cy", "sad")],
    [("ann", "sad"), ("bo", "sad"), ("cy", "sad"), ("dee", "fear")],
    [("ann", "angry"), ("bo", "disgust"), ("cy", "angry")],
    [("ann", "happy")],
    [("ann", "surprise"), ("bo", "reject"), ("cy", "surprise")],
    [("ann", "neutral"), ("bo", "happy"), ("bo", "undo"), ("bo", "neutral")],
    [("ann", "fear"), ("ann", "undo"), ("ann", "happy"), ("bo", "happy")],
    [("ann", "disgust"), ("bo", "disgust")],
    [("ann", "happy"), ("bo", "sad")],  # a tie: pending and disputed, never exported
] * 2


@pytest.fixture
def voted(builder):
    b = builder()
    ids = []
    for events in FACES:
        fid = b.face(None, status="pending")
        last: dict[str, int] = {}
        for who, what in events:
            if what == "undo":
                record(b.cat.conn, fid, who, "undo", undoes=last[who])
                continue
            kw = {"reason": "not_a_face"} if what == "reject" else {"label": what}
            ev = record(b.cat.conn, fid, who, "reject" if what == "reject" else "label", **kw)
            last[who] = ev.id
        ids.append(fid)
    return b.cat, ids


def votes_from_events(conn, face_id: int, mapping: dict[str, str]) -> Counter:
    """Each annotator's last event that no undo took back, straight from the table."""
    rows = conn.execute(
        "SELECT annotator, action, label FROM label_events e WHERE face_id = ? "
        "AND action <> 'undo' AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.undoes = e.id) "
        "ORDER BY id",
        (face_id,),
    ).fetchall()
    last = {r["annotator"]: (r["action"], r["label"]) for r in rows}
    return Counter(mapping.get(lab, lab) for action, lab in last.values() if action == "label")


MAP = {"disgust": "angry"}


def _opts(out, fmt: str, **kw) -> ExportOptions:
    return ExportOptions(out=out, format=fmt, map="disgust=angry", splits=(1.0, 0.0, 0.0), **kw)


@pytest.mark.parametrize("fmt", ["imagefolder", "hf", "fer2013-csv"])
def test_vote_columns_equal_the_events(voted, tmp_path, fmt):
    cat, ids = voted
    out = tmp_path / fmt
    export(cat, _opts(out, fmt))
    manifest = json.loads((out / "manifest.json").read_text())
    names = [lab["name"] for lab in manifest["labels"]]
    assert "disgust" not in names and names[0] == "angry"  # merged, in class index order
    faces = manifest["faces"]
    assert len(faces) == 16  # the two ties are left out
    expected = {
        f: [votes_from_events(cat.conn, f, MAP)[n] for n in names]
        for f in (r["face_id"] for r in faces)
    }
    assert {r["face_id"]: r["votes"] for r in faces} == expected
    assert expected[ids[1]][names.index("sad")] == 3 and expected[ids[1]][names.index("fear")] == 1
    assert expected[ids[2]][names.index("angry")] == 3  # disgust votes merged into angry
    assert expected[ids[5]][names.index("happy")] == 0  # bo's undone happy does not count
    if fmt == "imagefolder":
        with open(out / "train" / "metadata.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [c for c in rows[0] if c.startswith("votes_")] == [f"votes_{n}" for n in names]
        got = {int(r["face_id"]): [int(r[f"votes_{n}"]) for n in names] for r in rows}
        assert got == expected
    if fmt == "hf":
        table = pq.read_table(out / "data" / "train-00000-of-00001.parquet")
        got = dict(zip(table["face_id"].to_pylist(), table["votes"].to_pylist(), strict=True))
        assert got == expected
        labels = dict(zip(table["face_id"].to_pylist(), table["label"].to_pylist(), strict=True))
        for fid, counts in expected.items():  # the hard label is the majority of the votes
            assert counts[labels[fid]] == max(counts)
        meta = json.loads(table.schema.metadata[b"huggingface"])
        assert meta["info"]["features"]["votes"]["_type"] == "Sequence"


def test_the_hf_export_loads_with_its_votes_in_hugging_face_datasets(voted, tmp_path):
    datasets = pytest.importorskip("datasets")
    cat, _ = voted
    out = tmp_path / "hf"
    export(cat, _opts(out, "hf"))
    ds = datasets.load_dataset("parquet", data_dir=str(out / "data"), split="train")
    names = ds.features["label"].names
    row = next(r for r in ds if r["votes"][names.index("sad")] == 3)
    assert sum(row["votes"]) == 4 and names[row["label"]] == "sad"


def test_min_annotators_keeps_faces_with_enough_decisions_on_the_command_line(voted, tmp_path):
    import pipeline

    cat, ids = voted
    out = tmp_path / "min3"
    argv = ["--root", str(cat.paths.root), "--dataset", cat.paths.name, "export"]
    argv += ["--out", str(out), "--format", "imagefolder", "--splits", "1,0,0"]
    argv += ["--min-annotators", "3"]
    assert pipeline.main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    kept = {r["face_id"] for r in manifest["faces"]}
    decided = {
        fid: sum(1 for _ in votes_from_events(cat.conn, fid, {}).elements())
        + cat.conn.execute(
            "SELECT COUNT(DISTINCT annotator) FROM label_events e WHERE face_id = ? AND "
            "action = 'reject' AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.undoes = e.id)",
            (fid,),
        ).fetchone()[0]
        for fid in ids
    }
    exported_before = {r["face_id"] for r in _export_all(cat, tmp_path)["faces"]}
    assert kept == {f for f in exported_before if decided[f] >= 3}
    assert len(kept) == 8  # faces 0, 1, 2 and 4 of FACES, twice
    assert manifest["options"]["min_annotators"] == 3
    card = (out / "README.md").read_text()
    assert "--min-annotators 3: faces decided by fewer annotators are left out" in card
    assert "`votes_<label>`" in card
    assert pipeline.main([*argv[:-1], "-1"]) == 2  # refused in one line


def _export_all(cat, tmp_path):
    out = tmp_path / "all"
    export(cat, ExportOptions(out=out, splits=(1.0, 0.0, 0.0)))
    return json.loads((out / "manifest.json").read_text())
