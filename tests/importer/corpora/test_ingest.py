"""A corpus's import: its labels become votes of the corpus, the rest is recorded."""

from __future__ import annotations

import pytest
from PIL import Image

from catalog import Catalog
from catalog.corpora import given_boxes, image_values
from catalog.votes import image_votes
from importer.errors import ImportRefused
from importer.options import ImportOptions
from importer.stage import import_path
from tests.importer.corpora.frames import rate_by_brightness, sequence, session


def votes_by_path(cat):
    """import_path -> [(annotator, action, label, reason)] of the image it names."""
    rows = cat.conn.execute("SELECT import_path, image_id FROM image_sources ORDER BY id")
    return {
        path: [(v.annotator, v.action, v.label, v.reason) for v in image_votes(cat.conn, image)]
        for path, image in rows
    }


def sources(cat):
    rows = cat.conn.execute(
        "SELECT import_path, source_name, source_label, subject, source_split FROM image_sources"
    )
    return {r[0]: r[1:] for r in rows}


def errors(cat):
    return dict(cat.conn.execute("SELECT import_path, reason FROM import_errors"))


def test_affectnet_votes_reject_box_values_and_outside_codes(catalog, affectnet_dir):
    s = import_path(catalog, ImportOptions(affectnet_dir))

    c = s.corpus
    assert (c.name, s.source_name, s.kept, s.refused) == ("affectnet", "affectnet", 4, 0)
    assert (s.labelled, c.labelled, c.rejects, c.votes_new) == (2, 2, 1, 3)
    assert c.outside == {"contempt": 1}
    assert c.splits == {"training": 3, "validation": 1}
    votes = votes_by_path(catalog)
    assert votes["Manually_Annotated_Images/1/a.jpg"] == [("affectnet", "label", "happy", None)]
    assert votes["Manually_Annotated_Images/2/d.jpg"] == [("affectnet", "label", "sad", None)]
    assert votes["Manually_Annotated_Images/2/c.jpg"] == [
        ("affectnet", "reject", None, "not_a_face")
    ]
    assert votes["Manually_Annotated_Images/1/b.jpg"] == []  # contempt: kept, unlabelled
    assert errors(catalog) == {
        "Manually_Annotated_Images/1/b.jpg": "label_outside_set: contempt (affectnet 7)"
    }
    src = sources(catalog)["Manually_Annotated_Images/1/a.jpg"]
    assert src == ("affectnet", None, None, "training")  # a vote, not a source-label hint
    ids = [r[0] for r in catalog.conn.execute("SELECT id FROM images ORDER BY id")]
    assert len(given_boxes(catalog.conn, ids)) == 4
    assert image_values(catalog.conn, ids[0]) == {"valence": 0.5, "arousal": 0.25}
    assert image_values(catalog.conn, ids[2]) == {}  # -2: not annotated
    line = s.line()
    assert "affectnet: 2 labelled (3 new votes), 1 not a face" in line
    assert "outside the label set): contempt 1" in line and "training 3" in line

    again = import_path(catalog, ImportOptions(affectnet_dir))
    assert (again.images_new, again.sources_new, again.corpus.votes_new) == (0, 0, 0)
    assert catalog.conn.execute("SELECT COUNT(*) FROM image_votes").fetchone()[0] == 3
    assert catalog.conn.execute("SELECT COUNT(*) FROM import_errors").fetchone()[0] == 1


def test_affectnet_none_and_uncertain_are_counted_outside_the_label_set(
    catalog, affectnet_dir, face_photo
):
    lists = affectnet_dir / "Manually_Annotated_file_lists"
    text = (lists / "validation.csv").read_text()
    line = text.splitlines()[-1]  # d.jpg's row: the same photo, the codes changed
    for name, code in (("e", 8), ("f", 9)):
        data, _ = face_photo(300 + code)
        (affectnet_dir / "Manually_Annotated_Images" / "2" / f"{name}.jpg").write_bytes(data)
        fields = line.split(",")
        fields[0], fields[-3] = f"2/{name}.jpg", str(code)
        text += ",".join(fields) + "\n"
    (lists / "validation.csv").write_text(text)
    s = import_path(catalog, ImportOptions(affectnet_dir))
    assert s.kept == 6 and s.corpus.outside == {"contempt": 1, "none": 1, "uncertain": 1}
    votes = votes_by_path(catalog)
    assert votes["Manually_Annotated_Images/2/e.jpg"] == []  # kept, unlabelled
    assert votes["Manually_Annotated_Images/2/f.jpg"] == []
    errs = errors(catalog)
    assert errs["Manually_Annotated_Images/2/e.jpg"] == "label_outside_set: none (affectnet 8)"
    assert errs["Manually_Annotated_Images/2/f.jpg"] == "label_outside_set: uncertain (affectnet 9)"


def test_a_label_set_with_contempt_takes_the_contempt_vote(make_catalog, affectnet_dir):
    cat = make_catalog("seven", labels="happy,sad,contempt,neutral")
    s = import_path(cat, ImportOptions(affectnet_dir))
    assert s.corpus.outside == {} and s.labelled == 3
    assert votes_by_path(cat)["Manually_Annotated_Images/1/b.jpg"] == [
        ("affectnet", "label", "contempt", None)
    ]


def test_rafdb_crops_marked_bad_input_recorded_rerun_adds_the_missing(
    catalog, rafdb_dir, face_photo
):
    lst = rafdb_dir / "EmoLabel" / "list_patition_label.txt"
    lst.write_text(lst.read_text() + "garbage\ntrain_00099.jpg 3\n")
    s = import_path(catalog, ImportOptions(rafdb_dir))
    assert (s.corpus.name, s.kept, s.labelled, s.face_crops) == ("rafdb", 4, 4, 3)
    assert s.reasons == {"bad_label_line": 1, "missing_file": 1}
    votes = votes_by_path(catalog)
    assert votes["Image/aligned/train_00001_aligned.jpg"] == [("rafdb", "label", "happy", None)]
    assert votes["Image/original/test_0002.jpg"] == [("rafdb", "label", "surprise", None)]
    assert sources(catalog)["Image/aligned/train_00002_aligned.jpg"][3] == "train"
    crops = catalog.conn.execute("SELECT COUNT(*) FROM images WHERE is_face_crop = 1")
    assert crops.fetchone()[0] == 3
    errs = errors(catalog)
    assert errs["EmoLabel/list_patition_label.txt:line5"].startswith("bad_label_line")
    assert errs["Image/original/train_00099.jpg"].startswith("missing_file")

    # The missing image arrives: a rerun imports it alone.
    (rafdb_dir / "Image" / "original" / "train_00099.jpg").write_bytes(face_photo(999)[0])
    again = import_path(catalog, ImportOptions(rafdb_dir))
    assert (again.images_new, again.sources_new, again.corpus.votes_new) == (1, 1, 1)


def test_jaffe_subjects(catalog, jaffe_dir):
    s = import_path(catalog, ImportOptions(jaffe_dir))
    assert (s.corpus.name, s.kept, s.labelled, s.corpus.subjects) == ("jaffe", 4, 4, {"KA", "YM"})
    src = sources(catalog)
    assert src["KA.HA1.29.tiff"][2:] == ("KA", None)
    assert votes_by_path(catalog)["YM.AN2.62.jpg"] == [("jaffe", "label", "angry", None)]
    assert "jaffe: 4 labelled (4 new votes), 2 subjects" in s.line()


def test_format_overrides_detection_and_mismatches_are_refused(catalog, jaffe_dir, rafdb_dir):
    s = import_path(catalog, ImportOptions(jaffe_dir, format="folder", source="plain"))
    assert (s.corpus, s.kept, s.labelled) == (None, 2, 0)  # a plain folder reads no TIFF
    assert s.reasons == {"unsupported_format": 2}
    assert catalog.conn.execute("SELECT COUNT(*) FROM image_votes").fetchone()[0] == 0
    with pytest.raises(ImportRefused, match="gives its own labels"):
        import_path(catalog, ImportOptions(rafdb_dir, label="happy"))
    with pytest.raises(ImportRefused, match="--format zip does not fit"):
        import_path(catalog, ImportOptions(rafdb_dir, format="zip"))
    with pytest.raises(ImportRefused, match="needs the corpus's folder"):
        import_path(catalog, ImportOptions(jaffe_dir / "YM.AN2.62.jpg", format="jaffe"))
    s = import_path(catalog, ImportOptions(rafdb_dir, format="jaffe"))  # named: not detected
    assert s.corpus.name == "jaffe" and s.kept == 0


def frames_by_session(cat):
    """(import_path, frame_index) -> (frame_how, subject, [(annotator, action, label)])."""
    rows = cat.conn.execute(
        "SELECT import_path, frame_index, frame_how, subject, image_id FROM image_sources"
    )
    return {
        (path, index): (
            how,
            subject,
            [(v.annotator, v.action, v.label) for v in image_votes(cat.conn, image)],
        )
        for path, index, how, subject, image in rows
    }


def test_mmi_frames_become_votes_with_their_frame_and_subject(
    catalog, tmp_path, write_video, face_crop, monkeypatch
):
    rate_by_brightness(monkeypatch)
    root = tmp_path / "mmi"
    session(root, 1, markers=True, write_video=write_video)  # happy, apex markers 5..15
    image = session(root, 2, take="002", code="9", media=None)  # not an MMI emotion code
    (image / "S001-002.jpg").write_bytes(face_crop(2, fmt="JPEG"))
    bad = session(root, 3, take="003", write_video=write_video)
    (bad / "S001-003.xml").write_text("<Metatags><Metatag Name='Emotion' Value='4'>")

    s = import_path(catalog, ImportOptions(root))
    assert s.corpus.name == "mmi" and s.corpus.subjects == {"S001"}
    assert s.reasons == {"bad_xml": 1}
    frames = frames_by_session(catalog)
    video = {i: v for (path, i), v in frames.items() if path.startswith("Sessions/1/S001-001.avi#")}
    # The first frame: a neutral vote (sessions 1 and 3 share that image: one vote each).
    assert video[1][:2] == ("first", "S001") and set(video[1][2]) == {("mmi", "label", "neutral")}
    peak = {i: v for i, v in video.items() if i != 1}
    assert len(peak) == 3 and all(5 <= i <= 15 for i in peak)
    assert {v[0] for v in peak.values()} == {"apex:markers"}
    assert all(v[2] == [("mmi", "label", "happy")] for v in peak.values())
    assert frames[("Sessions/2/S001-002.jpg", None)][2] == []  # kept, unlabelled
    errs = errors(catalog)
    assert errs["Sessions/2/S001-002.jpg"].startswith("label_outside_set: 9")
    assert errs["Sessions/3/S001-003.xml"].startswith("bad_xml")
    assert s.corpus.outside == {"9": 1}
    unlabelled = [v for k, v in frames.items() if k[0].startswith("Sessions/3/S001-003.avi#")]
    assert {v[0] for v in unlabelled} == {"first", "apex:prior"}  # the whole clip: no markers
    assert all(v[2] == [] for v in unlabelled if v[0] != "first")  # its label file is broken
    assert "mmi:" in s.line()

    # A rerun adds nothing; a video gone since keeps everything stored from it.
    images, votes = (
        catalog.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("images", "image_votes")
    )
    (root / "Sessions" / "1" / "S001-001.avi").unlink()
    again = import_path(catalog, ImportOptions(root))
    assert (again.images_new, again.sources_new, again.corpus.votes_new) == (0, 0, 0)
    assert again.reasons.get("missing_file") == 1
    assert catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == images
    assert catalog.conn.execute("SELECT COUNT(*) FROM image_votes").fetchone()[0] == votes


def test_ckplus_sequences_become_votes_and_contempt_is_counted_outside(
    catalog, tmp_path, monkeypatch
):
    rate_by_brightness(monkeypatch)
    root = tmp_path / "ckplus"

    # Frames large enough to be kept (the reader's own tests use 40 x 30 px ones).
    def frames(shade):
        return [Image.new("L", (64, 64), level + shade) for level in range(10, 130, 10)]

    sequence(root, "S005", "001", levels=frames(0))  # disgust
    sequence(root, "S006", "001", levels=frames(1), code="2.0000000e+00")  # contempt
    sequence(root, "S007", "001", levels=frames(2), code="")  # an emotion file with no number

    s = import_path(catalog, ImportOptions(root))
    assert s.corpus.name == "ckplus" and s.corpus.subjects == {"S005", "S006", "S007"}
    assert s.reasons == {"bad_label_file": 1}
    frames = frames_by_session(catalog)
    kept = frames_by_session(catalog)
    first = "cohn-kanade-images/S005/001/S005_001_00000001.png"
    assert kept[(first, 1)] == ("first", "S005", [("ckplus", "label", "neutral")])
    disgust = [v for k, v in kept.items() if "S005_001" in k[0] and k[0] != first]
    assert len(disgust) == 3 and all(v[2] == [("ckplus", "label", "disgust")] for v in disgust)
    assert {v[0] for v in disgust} == {"apex:prior"}
    contempt = [v for k, v in kept.items() if "S006_001" in k[0] and v[0] != "first"]
    assert contempt and all(v[2] == [] for v in contempt)  # kept, unlabelled
    assert s.corpus.outside == {"contempt": len(contempt)}
    errs = errors(catalog)
    assert any(e.startswith("label_outside_set: contempt (ckplus 2)") for e in errs.values())
    assert errs["Emotion/S007/001/S007_001_00000012_emotion.txt"].startswith("bad_label_file")
    again = import_path(catalog, ImportOptions(root))
    assert (again.images_new, again.corpus.votes_new) == (0, 0)


def test_the_frame_flags_on_the_command_line(data_root, tmp_path, write_video, monkeypatch):
    import pipeline

    rate_by_brightness(monkeypatch)
    root = tmp_path / "mmi"
    session(root, 1, write_video=write_video)
    base = ["--root", str(data_root)]

    def kept(dataset: str, *flags: str) -> list[tuple[int, str]]:
        argv = [*base, "--dataset", dataset, "import", str(root), "--no-extract", *flags]
        assert pipeline.main(argv) == 0
        with Catalog.open(data_root, dataset, create=False) as cat:
            rows = cat.conn.execute("SELECT frame_index, frame_how FROM image_sources")
            return sorted((i, how or "") for i, how in rows)

    peak = [how for _, how in kept("one", "--apex-frames", "1")]
    assert sorted(peak) == ["apex:prior", "first"]
    assert len(kept("default3")) == 4  # the first frame and 3 apex frames by default
    sampled = kept("every", "--frames", "all", "--fps", "2")
    assert [i for i, _ in sampled] == [1, 6, 11, 16, 21, 26, 31, 36]
    assert {how for _, how in sampled} == {""}
