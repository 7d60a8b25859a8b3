"""The AffectNet reader: the CSVs' boxes, values, splits and codes; bad rows recorded."""

from __future__ import annotations

from importer.corpora import CorpusOptions
from importer.corpora.affectnet import detect, read
from importer.corpora.files import clip_box
from importer.items import Candidate, Refusal
from tests.importer.corpora.conftest import AFFECTNET_HEADER


def split_items(root):
    items = list(read(root, CorpusOptions()))
    cands = {i.import_path: i for i in items if isinstance(i, Candidate)}
    refusals = {i.import_path: i for i in items if isinstance(i, Refusal)}
    return cands, refusals


def test_rows_give_box_values_split_and_label(affectnet_dir, face_photo):
    cands, refusals = split_items(affectnet_dir)
    assert not refusals
    a = cands["Manually_Annotated_Images/1/a.jpg"]
    _, (x, y, w, h) = face_photo(200)
    assert a.given_box == (x, y, x + w - 1, y + h - 1)
    assert a.values == (("valence", 0.5), ("arousal", 0.25))
    assert (a.annotator, a.label_word, a.label_code, a.source_split) == (
        "affectnet",
        "happy",
        "1",
        "training",
    )
    assert cands["Manually_Annotated_Images/1/b.jpg"].label_word == "contempt"
    no_face = cands["Manually_Annotated_Images/2/c.jpg"]
    assert (no_face.label_word, no_face.reject_reason, no_face.values) == (None, "not_a_face", ())
    assert cands["Manually_Annotated_Images/2/d.jpg"].source_split == "validation"


def test_bad_rows_each_give_one_reason(affectnet_dir):
    csv = affectnet_dir / "Manually_Annotated_file_lists" / "validation.csv"
    csv.write_text(
        csv.read_text()
        + "2/d.jpg,400,400,50,50,,3,0,0\n"  # the box lies outside the 256 px image
        + "2/gone.jpg,1,1,50,50,,3,0,0\n"
        + "2/d.jpg,x,1,50,50,,3,0,0\n"
        + "2/d.jpg,1,1,50,50,,12,0,0\n"
    )
    cands, refusals = split_items(affectnet_dir)
    assert len(cands) == 4
    got = sorted((r.import_path, r.reason) for r in refusals.values())
    assert got == [
        ("Manually_Annotated_Images/2/d.jpg", "box_outside_image"),
        ("Manually_Annotated_Images/2/gone.jpg", "missing_file"),
        ("Manually_Annotated_file_lists/validation.csv:row4", "bad_row"),
        ("Manually_Annotated_file_lists/validation.csv:row5", "bad_row"),
    ]
    outside = [r for r in refusals.values() if r.reason == "box_outside_image"]
    assert len(outside) == 1 and "in a 256x256" in outside[0].detail


def test_a_wrong_header_refuses_that_csv_only(affectnet_dir):
    csv = affectnet_dir / "Manually_Annotated_file_lists" / "validation.csv"
    csv.write_text("image,label\n2/d.jpg,2\n")
    cands, refusals = split_items(affectnet_dir)
    assert len(cands) == 3  # training.csv still read
    bad = refusals["Manually_Annotated_file_lists/validation.csv"]
    assert bad.reason == "bad_header" and "subDirectory_filePath" in bad.detail


def test_the_csv_beside_the_images_and_paths_relative_to_it(tmp_path, face_photo):
    root = tmp_path / "an"
    (root / "7").mkdir(parents=True)
    data, (x, y, w, h) = face_photo(300)
    (root / "7" / "e.jpg").write_bytes(data)
    (root / "training.csv").write_text(AFFECTNET_HEADER + f"7/e.jpg,{x},{y},{w},{h},,0,0.1,0.2\n")
    assert detect(root)
    cands, refusals = split_items(root)
    assert not refusals and cands["7/e.jpg"].label_word == "neutral"


def test_clip_box():
    assert clip_box((10, 10, 20, 20), (100, 100)) == (10, 10, 29, 29)
    assert clip_box((-5, 0, 20, 20), (100, 100)) == (0, 0, 14, 19)  # 75% inside: clipped
    assert clip_box((-15, 0, 20, 20), (100, 100)) is None  # 25% inside
    assert clip_box((200, 0, 20, 20), (100, 100)) is None
    assert clip_box((0, 0, 0, 20), (100, 100)) is None
