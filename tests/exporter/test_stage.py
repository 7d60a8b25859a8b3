"""The export stage: which faces, honest splits, reproducibility, atomicity, records."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

import exporter.render
import pipeline
from exporter.options import ExportError, ExportOptions
from exporter.stage import export

REPO = Path(__file__).resolve().parents[2]


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _splits_of(out: Path) -> dict[int, str]:
    return {f["face_id"]: f["split"] for f in _manifest(out)["faces"]}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_selection_takes_accepted_and_labelled_pending_never_rejected(builder, tmp_path):
    b = builder()
    accepted = {b.face("happy") for _ in range(4)}
    pending = {b.face("sad", status="pending") for _ in range(3)}
    b.face(None, status="pending", source="import")  # pending without any label
    rejected = {b.face("happy", status="rejected") for _ in range(3)}
    # Accepted, then rejected by a second and third annotator: the majority rejects.
    f = b.face("happy", annotators=("alice",))
    from catalog.events import record

    record(b.cat.conn, f, "bob", "reject", reason="drawing")
    record(b.cat.conn, f, "carol", "reject", reason="drawing")
    rejected.add(f)

    r = export(b.cat, ExportOptions(out=tmp_path / "a", format="hf"))
    assert set(_splits_of(tmp_path / "a")) == accepted
    assert r.left_out == {"pending (no --include-pending)": 4, "rejected": 4}

    r = export(b.cat, ExportOptions(out=tmp_path / "b", format="hf", include_pending=True))
    got = _splits_of(tmp_path / "b")
    assert set(got) == accepted | pending
    assert not set(got) & rejected
    assert r.left_out == {"no label": 1, "rejected": 4}
    statuses = {f["face_id"]: f["status"] for f in _manifest(tmp_path / "b")["faces"]}
    assert {statuses[i] for i in pending} == {"pending"}


def test_quality_filters_leave_out_faces_that_fail_or_lack_the_measure(builder, tmp_path):
    b = builder()
    good = b.face("happy", size_px=90.0, sharpness=150.0, yaw=-10.0)
    small = b.face("happy", size_px=40.0, sharpness=150.0, yaw=0.0)
    blurry = b.face("happy", size_px=90.0, sharpness=20.0, yaw=0.0)
    turned = b.face("happy", size_px=90.0, sharpness=150.0, yaw=-45.0)
    unknown_yaw = b.face("happy", size_px=90.0, sharpness=150.0, yaw=None)
    opts = dict(format="imagefolder", min_size=48, min_sharpness=100, max_yaw=30)
    r = export(b.cat, ExportOptions(out=tmp_path / "q", **opts))
    assert set(_splits_of(tmp_path / "q")) == {good}
    assert sum(r.left_out.values()) == 4
    r = export(b.cat, ExportOptions(out=tmp_path / "all", format="imagefolder"))
    assert set(_splits_of(tmp_path / "all")) == {good, small, blurry, turned, unknown_yaw}
    card = (tmp_path / "q" / "README.md").read_text()
    assert "--min-size 48, --min-sharpness 100, --max-yaw 30" in card
    assert "smaller than 48 px (--min-size) 1" in card


def test_near_duplicate_groups_never_cross_splits(builder, make_near_copy, tmp_path):
    b = builder()
    groups: dict[int, list[int]] = {}
    for i in range(12):
        lab = ("happy", "sad")[i % 2]
        head = b.face(lab)
        chip = b.pool[b.used - 1]
        members = [head]
        for _ in range(i % 3):  # groups of 1, 2 and 3 faces; copies share the dup_group
            members.append(b.face(lab, chip=make_near_copy(chip), dup_group=head))
        groups[head] = members
    # Faces the extract stage did not group but whose hashes are near: kept together too.
    loose = b.face("happy")
    twin = b.face("happy", chip=make_near_copy(b.pool[b.used - 1]))
    for seed in range(4):
        out = tmp_path / f"s{seed}"
        r = export(b.cat, ExportOptions(out=out, format="hf", seed=seed, splits=(0.5, 0.25, 0.25)))
        splits = _splits_of(out)
        for members in groups.values():
            assert len({splits[m] for m in members}) == 1
        assert splits[loose] == splits[twin]
        assert r.leakage["cross_split_pairs"] == 0
        assert len(set(splits.values())) == 3


def test_identity_disjoint_keeps_each_person_in_one_split(builder, make_people, tmp_path):
    b = builder()
    people = make_people(10, 4, seed=1)
    person_of: dict[int, int] = {}
    for p, faces in enumerate(people):
        for k, emb in enumerate(faces):
            fid = b.face(("happy", "sad", "angry", "neutral")[k], embedding=emb)
            person_of[fid] = p
    out = tmp_path / "id"
    r = export(
        b.cat,
        ExportOptions(
            out=out, format="imagefolder", identity_disjoint=True, splits=(0.6, 0.2, 0.2)
        ),
    )
    splits = _splits_of(out)
    by_person = defaultdict(set)
    for fid, p in person_of.items():
        by_person[p].add(splits[fid])
    assert all(len(s) == 1 for s in by_person.values())
    assert len(set(splits.values())) == 3
    assert r.total == 40
    identities = {f["face_id"]: f["identity"] for f in _manifest(out)["faces"]}
    assert len(set(identities.values())) == 10
    assert "10 identity clusters" in (out / "README.md").read_text()
    # Without the option people are spread over the splits.
    export(
        b.cat, ExportOptions(out=tmp_path / "free", format="imagefolder", splits=(0.6, 0.2, 0.2))
    )
    free = _splits_of(tmp_path / "free")
    assert any(len({free[f] for f, p in person_of.items() if p == q}) > 1 for q in range(10))


def test_identity_disjoint_without_embeddings_is_a_clear_error(builder, make_people, tmp_path):
    b = builder()
    b.face("happy", embedding=make_people(1, 1)[0][0])
    b.face("happy")
    with pytest.raises(ExportError, match=r"1 of 2 faces have none; run 'facesift extract"):
        export(b.cat, ExportOptions(out=tmp_path / "x", identity_disjoint=True))
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("fmt", ["imagefolder", "fer2013-csv", "hf"])
def test_same_catalog_and_options_give_byte_identical_output(builder, tmp_path, fmt):
    b = builder()
    for lab in ["happy"] * 8 + ["sad"] * 7 + ["fear"] * 5:
        b.face(lab)
    b.face("sad", status="rejected")
    a = _tree(export(b.cat, ExportOptions(out=tmp_path / "a", format=fmt, seed=7)).out)
    again = _tree(export(b.cat, ExportOptions(out=tmp_path / "b", format=fmt, seed=7)).out)
    assert a == again
    other = export(b.cat, ExportOptions(out=tmp_path / "c", format=fmt, seed=8)).out
    assert _splits_of(tmp_path / "a") != _splits_of(other)


@pytest.mark.parametrize("fmt", ["imagefolder", "fer2013-csv"])
def test_worker_processes_write_the_same_bytes(builder, tmp_path, fmt):
    b = builder()
    for lab in ["happy"] * 40 + ["sad"] * 30:
        b.face(lab)
    one = export(b.cat, ExportOptions(out=tmp_path / "one", format=fmt, workers=1))
    two = export(b.cat, ExportOptions(out=tmp_path / "two", format=fmt, workers=2))
    assert _tree(one.out) == _tree(two.out)
    assert two.total == 70


def test_an_exception_mid_write_leaves_nothing_behind(builder, tmp_path, monkeypatch):
    b = builder()
    for lab in ["happy"] * 6 + ["sad"] * 6:
        b.face(lab)
    calls = {"n": 0}
    real = exporter.render.encode_face

    def failing(settings, task):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        return real(settings, task)

    monkeypatch.setattr(exporter.render, "encode_face", failing)
    out = tmp_path / "exp"
    with pytest.raises(ExportError, match="failed, nothing was written: disk full"):
        export(b.cat, ExportOptions(out=out, format="imagefolder"))
    assert list(tmp_path.iterdir()) == [tmp_path / "datasets"]
    assert b.cat.conn.execute("SELECT COUNT(*) FROM exports").fetchone()[0] == 0

    # A failed --overwrite keeps the previous export whole.
    monkeypatch.setattr(exporter.render, "encode_face", real)
    export(b.cat, ExportOptions(out=out, format="imagefolder"))
    before = _tree(out)
    calls["n"] = 0
    monkeypatch.setattr(exporter.render, "encode_face", failing)
    with pytest.raises(ExportError, match="disk full"):
        export(b.cat, ExportOptions(out=out, format="imagefolder", size=32, overwrite=True))
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datasets", "exp"]


def test_a_killed_export_leaves_no_dataset_and_the_next_one_sweeps_its_temp(builder, tmp_path):
    b = builder()
    for lab in ["happy"] * 6 + ["sad"] * 6:
        b.face(lab)
    out = tmp_path / "exp"
    script = textwrap.dedent(
        f"""
        import os, signal
        from catalog import Catalog
        from exporter.options import ExportOptions
        from exporter.stage import export

        def die(p):
            if p.done == 6:
                os.kill(os.getpid(), signal.SIGKILL)

        with Catalog.open({str(b.cat.paths.root)!r}, "test") as cat:
            export(cat, ExportOptions(out={str(out)!r}, format="hf"), on_progress=die)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=120, check=False)
    assert proc.returncode == -9
    assert not out.exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".exp.facesift-export-")]
    assert len(leftovers) == 1  # the killed process's temporary folder, hidden
    r = export(b.cat, ExportOptions(out=out, format="hf"))
    assert r.total == 12
    assert r.card.read_text().startswith("---")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datasets", "exp"]


def test_existing_folders_are_refused_unless_overwrite_of_an_export(builder, tmp_path):
    b = builder()
    b.face("happy")
    b.face("sad")
    out = tmp_path / "exp"
    out.mkdir()
    export(b.cat, ExportOptions(out=out, format="hf"))  # an empty folder is fine
    with pytest.raises(ExportError, match="not empty; use --overwrite"):
        export(b.cat, ExportOptions(out=out, format="hf"))
    r = export(b.cat, ExportOptions(out=out, format="imagefolder", overwrite=True))
    assert (out / "train").is_dir() and not (out / "data").exists()
    assert r.export_id == 2
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(ExportError, match="not a facesift export"):
        export(b.cat, ExportOptions(out=mine, format="hf", overwrite=True))
    assert (mine / "thesis.tex").read_text() == "precious"
    with pytest.raises(ExportError, match="holds the dataset"):
        export(b.cat, ExportOptions(out=b.cat.paths.root, format="hf", overwrite=True))


def test_each_export_is_recorded_in_the_catalog(builder, tmp_path):
    b = builder()
    for lab in ["happy"] * 3 + ["sad"] * 2:
        b.face(lab)
    r = export(b.cat, ExportOptions(out=tmp_path / "e", format="fer2013-csv", labels="happy"))
    row = b.cat.conn.execute("SELECT * FROM exports WHERE id = ?", (r.export_id,)).fetchone()
    assert row["format"] == "fer2013-csv"
    assert row["path"] == str((tmp_path / "e").absolute())
    assert json.loads(row["options"])["labels"] == "happy"
    counts = json.loads(row["counts"])
    assert counts["total"] == 3
    assert counts["left_out"] == {"label not exported": 2}


def test_leakage_check_counts_faces_near_fer2013_faces(builder, make_near_copy, tmp_path):
    b = builder()
    fer_faces = [b.face("happy", source="fer2013") for _ in range(3)]
    fer_chip = b.pool[b.used - 1]
    near = b.face("happy", chip=make_near_copy(fer_chip))  # a web copy of a FER2013 image
    for lab in ["happy"] * 4 + ["sad"] * 4:
        b.face(lab)
    r = export(b.cat, ExportOptions(out=tmp_path / "x", format="hf"))
    assert r.leakage["fer2013_imported"]
    assert r.leakage["fer2013_faces_in_catalog"] == 3
    assert r.leakage["exported_from_fer2013"] == 3
    assert r.leakage["exported_near_fer2013"] == 1
    assert _splits_of(tmp_path / "x")[near] == _splits_of(tmp_path / "x")[fer_faces[-1]]
    card = (tmp_path / "x" / "README.md").read_text()
    assert "3 exported faces are FER2013 faces, and 1 other exported faces are near-dup" in card
    # Leaving the FER2013 faces out still reports the web copy.
    r = export(b.cat, ExportOptions(out=tmp_path / "y", format="hf", labels="sad"))
    assert r.leakage["exported_near_fer2013"] == 0
    assert r.leakage["exported_from_fer2013"] == 0


def test_chips_are_rendered_at_the_asked_size_from_a_256_px_master(builder, make_chip, tmp_path):
    from PIL import Image

    b = builder()
    with Image.open(io.BytesIO(b.pool[0].png)) as im:
        master = im.convert("RGB").resize((256, 256))
    fid = b.face("happy", chip=make_chip(master))
    r = export(b.cat, ExportOptions(out=tmp_path / "c", format="imagefolder", size=112, color=True))
    path = r.out / _manifest(r.out)["faces"][0]["path"]
    assert path.name == f"{fid}.png"
    with Image.open(path) as im:
        assert im.size == (112, 112) and im.mode == "RGB"
        assert not im.info  # no metadata chunks: no times, nothing that varies
    # The builder records 64 px chips: the card warns that they were upscaled.
    assert "1 faces were upscaled from chips smaller than 112 px" in r.card.read_text()


def test_cli_exports_and_refuses_bad_combinations(builder, tmp_path, capsys):
    b = builder()
    for lab in ["happy"] * 5 + ["sad"] * 5:
        b.face(lab)
    root, out = str(b.cat.paths.root), tmp_path / "cli"

    def export(*flags: str) -> int:
        return pipeline.main(["--root", root, "--dataset", "test", "export", *flags])

    flags = ["--format", "fer2013-csv", "--labels", "happy,sad", "--seed", "3", "--padding", "0.3"]
    code = export("--out", str(out), *flags)
    assert code == 0
    printed = capsys.readouterr().out
    assert "export: 10 faces" in printed and "3 happy, 4 sad" in printed
    assert (out / "fer2013.csv").is_file()
    assert "cropped to padding 0.3" in (out / "README.md").read_text()
    code = export("--out", str(tmp_path / "bad"), "--format", "fer2013-csv", "--size", "64")
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "48x48" in err
    code = export("--out", str(out), "--format", "hf")
    assert code == 2 and "--overwrite" in capsys.readouterr().err


def test_fer2013_csv_imported_by_the_importer_is_seen_by_the_leakage_check(
    builder, make_chip, make_near_copy, tmp_path
):
    """The importer's conventions (source name, '<csv>:<row>[:Usage]') are what export reads."""
    import numpy as np
    from PIL import Image

    from catalog.faces import insert_face
    from importer.options import ImportOptions
    from importer.stage import import_path

    b = builder()
    rows = ["emotion,pixels,Usage"]
    for k in range(3):
        with Image.open(io.BytesIO(b.next_chip().png)) as im:
            gray = np.asarray(im.convert("L").resize((48, 48)))
        rows.append(f"{3 + k % 2},{' '.join(map(str, gray.ravel()))},Training")
    csv_path = tmp_path / "my_fer.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    import_path(b.cat, ImportOptions(csv_path, source="kaggle"))
    images = b.cat.conn.execute("SELECT id, path FROM images ORDER BY id").fetchall()
    assert len(images) == 3
    chips = []
    for image_id, rel in images:  # what extract would do, minus dlib
        with Image.open(b.cat.paths.resolve(rel)) as im:
            chip = make_chip(im.convert("RGB").resize((96, 96)))
        chips.append(chip)
        from core.storage import store_content

        _, chip_rel = store_content(b.cat.paths.dir, "chips", chip.png, "png")
        fid = insert_face(
            b.cat.conn, image_id, 0, (0, 0, 48, 48), "hog", chip_path=chip_rel, phash=chip.phash
        )
        b.cat.conn.execute("UPDATE faces SET dup_group = id WHERE id = ?", (fid,))
    web_copy = b.face("happy", chip=make_near_copy(chips[0]))
    for lab in ["happy"] * 3 + ["sad"] * 3:
        b.face(lab)
    r = export(b.cat, ExportOptions(out=tmp_path / "x", format="hf", include_pending=True))
    assert r.leakage["fer2013_faces_in_catalog"] == 3
    assert r.leakage["exported_from_fer2013"] == 3  # pending, labelled by the CSV's emotion
    assert r.leakage["exported_near_fer2013"] == 1
    sources = {f["face_id"]: f["sources"] for f in _manifest(tmp_path / "x")["faces"]}
    assert sources[web_copy][0]["kind"] == "search"
    imported = [s[0] for s in sources.values() if s[0]["kind"] == "import"]
    assert sorted(s["import_path"] for s in imported) == [
        f"my_fer.csv:{k}:Training" for k in range(3)
    ]


def test_missing_chips_are_left_out_and_broken_chips_are_a_clear_error(builder, tmp_path):
    b = builder()
    keep = b.face("happy")
    gone = b.face("happy")
    broken = b.face("sad")
    rel = dict(b.cat.conn.execute("SELECT id, chip_path FROM faces").fetchall())
    b.cat.paths.resolve(rel[gone]).unlink()
    r = export(b.cat, ExportOptions(out=tmp_path / "a", format="hf", labels="happy"))
    assert set(_splits_of(tmp_path / "a")) == {keep}
    assert r.left_out["chip file missing"] == 1
    b.cat.paths.resolve(rel[broken]).write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ExportError, match="cannot read face chip"):
        export(b.cat, ExportOptions(out=tmp_path / "b", format="hf"))
    assert not (tmp_path / "b").exists()
    with pytest.raises(ExportError, match="nothing to export"):
        export(b.cat, ExportOptions(out=tmp_path / "c", format="hf", labels="fear"))


def test_prepare_previews_the_counts_without_writing(builder, tmp_path):
    from exporter.stage import prepare

    b = builder()
    for lab in ["happy"] * 10 + ["sad"] * 5:
        b.face(lab)
    b.face("sad", status="rejected")
    out = tmp_path / "never"
    p = prepare(b.cat, ExportOptions(out=out, format="hf", labels="happy,sad"))
    assert p.counts() == {
        "train": {"happy": 8, "sad": 4},
        "val": {"happy": 1, "sad": 1},
        "test": {"happy": 1, "sad": 0},
    }
    assert p.left_out == {"rejected": 1}
    assert not out.exists()
    r = export(b.cat, ExportOptions(out=out, format="hf", labels="happy,sad"))
    assert r.counts == p.counts()


def test_padding_tightens_the_crop_of_the_chip(builder, make_chip, tmp_path):
    import numpy as np
    from PIL import Image

    b = builder()
    with Image.open(io.BytesIO(b.pool[0].png)) as im:
        master = im.convert("RGB").resize((190, 190))
    fid = b.face("happy", chip=make_chip(master))
    b.cat.conn.execute("UPDATE faces SET chip_padding = 0.45 WHERE id = ?", (fid,))
    r = export(b.cat, ExportOptions(out=tmp_path / "p", format="imagefolder", padding=0.25))
    with Image.open(r.out / "train" / "happy" / f"{fid}.png") as im:
        got = np.asarray(im, dtype=np.int16)
    # padding 0.25 of a 0.45 chip is its middle 1.5 / 1.9: 150 of 190 px.
    expected = (
        master.convert("L").crop((20, 20, 170, 170)).resize((48, 48), Image.Resampling.LANCZOS)
    )
    diff = np.abs(got - np.asarray(expected, dtype=np.int16))
    assert diff.mean() < 1 and diff.max() <= 8  # resampling at the box's edge differs a little
    whole = export(b.cat, ExportOptions(out=tmp_path / "w", format="imagefolder"))
    with Image.open(whole.out / "train" / "happy" / f"{fid}.png") as im:
        assert np.abs(np.asarray(im, dtype=np.int16) - got).mean() > 5
    assert "cropped to padding 0.25" in r.card.read_text()
    with pytest.raises(ExportError, match="can only tighten"):
        export(b.cat, ExportOptions(out=tmp_path / "x", format="imagefolder", padding=0.6))


def test_the_card_says_when_classes_are_too_small_for_a_split(builder, tmp_path):
    b = builder()
    for lab in ["happy"] * 3 + ["sad"] * 2:
        b.face(lab)
    r = export(b.cat, ExportOptions(out=tmp_path / "s", format="imagefolder"))
    assert set(r.counts) == {"train"}
    card = r.card.read_text()
    assert "**No faces in val and test**" in card
    assert "Classes without any face: angry, disgust, fear, surprise, neutral." in card
    assert "allow_empty=True" in card
