"""A corpus's import: its labels become votes of the corpus, the rest is recorded."""

from __future__ import annotations

import pytest

from catalog.corpora import given_boxes, image_values
from catalog.votes import image_votes
from importer.errors import ImportRefused
from importer.options import ImportOptions
from importer.stage import import_path


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
