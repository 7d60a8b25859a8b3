"""The RAF-DB reader: the label list, aligned crops before originals, the split by name."""

from __future__ import annotations

from importer.corpora import CorpusOptions
from importer.corpora.rafdb import detect, read
from importer.items import Candidate, Refusal


def split_items(root):
    items = list(read(root, CorpusOptions()))
    cands = {i.import_path: i for i in items if isinstance(i, Candidate)}
    refusals = {i.import_path: i for i in items if isinstance(i, Refusal)}
    return cands, refusals


def test_read_prefers_the_aligned_crop_and_keeps_the_split(rafdb_dir):
    cands, refusals = split_items(rafdb_dir)
    assert not refusals
    assert sorted(cands) == [
        "Image/aligned/test_0001_aligned.jpg",
        "Image/aligned/train_00001_aligned.jpg",
        "Image/aligned/train_00002_aligned.jpg",
        "Image/original/test_0002.jpg",  # no aligned crop: the original, detected at extract
    ]
    one = cands["Image/aligned/train_00001_aligned.jpg"]
    assert (one.annotator, one.label_word, one.label_code) == ("rafdb", "happiness", "4")
    assert (one.source_split, one.face_crop) == ("train", True)
    orig = cands["Image/original/test_0002.jpg"]
    assert (orig.label_word, orig.source_split, orig.face_crop) == ("surprise", "test", False)
    assert cands["Image/aligned/test_0001_aligned.jpg"].label_word == "neutral"
    assert one.given_box is None  # a face crop is its own box


def test_an_original_gets_the_release_s_box_of_its_labelled_face(rafdb_dir, face_photo):
    _, (x, y, w, h) = face_photo(103)
    cands, _ = split_items(rafdb_dir)
    assert cands["Image/original/test_0002.jpg"].given_box == (x, y, x + w - 1, y + h - 1)
    # The flattened copies keep the box files in a boundingbox/ folder at the top.
    (rafdb_dir / "Annotation").rename(rafdb_dir / "moved")
    (rafdb_dir / "moved" / "boundingbox").rename(rafdb_dir / "boundingbox")
    cands, _ = split_items(rafdb_dir)
    assert cands["Image/original/test_0002.jpg"].given_box == (x, y, x + w - 1, y + h - 1)
    (rafdb_dir / "boundingbox" / "test_0002_boundingbox.txt").unlink()
    cands, refusals = split_items(rafdb_dir)
    assert cands["Image/original/test_0002.jpg"].given_box is None and not refusals


def test_a_bad_box_file_is_said_and_a_box_off_the_image_refuses_the_original(rafdb_dir):
    box = rafdb_dir / "Annotation" / "boundingbox" / "test_0002_boundingbox.txt"
    where = "Annotation/boundingbox/test_0002_boundingbox.txt"
    for text in ("12 oops 40\n", "nan 1 20 30\n", "1 2 inf 30\n", "1 2 3 4 5\n", ""):
        box.write_text(text)
        cands, refusals = split_items(rafdb_dir)
        assert refusals[where].reason == "bad_box_file" and len(refusals) == 1, text
        assert cands["Image/original/test_0002.jpg"].given_box is None  # kept: faces detected
    box.write_text("900 900 1000 1000\n")
    cands, refusals = split_items(rafdb_dir)
    assert refusals["Image/original/test_0002.jpg"].reason == "box_outside_image"
    assert "Image/original/test_0002.jpg" not in cands and len(cands) == 3


def test_a_box_file_that_cannot_be_read_is_said_and_the_original_kept(rafdb_dir, monkeypatch):
    """A box file without read permission (or a disk error) is one reason, not a traceback;
    the original is imported without the box and the other images are read."""
    from pathlib import Path

    real = Path.read_bytes

    def refuse(self):
        if self.name == "test_0002_boundingbox.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    cands, refusals = split_items(rafdb_dir)
    (refusal,) = refusals.values()
    assert (
        refusal.reason == "bad_box_file" and refusal.detail == "cannot be read: Permission denied"
    )
    assert refusal.import_path == "Annotation/boundingbox/test_0002_boundingbox.txt"
    assert cands["Image/original/test_0002.jpg"].given_box is None and len(cands) == 4


def test_bad_lines_and_missing_images_are_one_reason_each(rafdb_dir):
    lst = rafdb_dir / "EmoLabel" / "list_patition_label.txt"
    lst.write_text(
        lst.read_text() + "train_00009.jpg\n" + "train_00010.jpg 9\n\n" + "train_00011.jpg 2\n"
    )
    cands, refusals = split_items(rafdb_dir)
    assert len(cands) == 4
    reasons = {p: (r.reason, r.detail) for p, r in refusals.items()}
    assert reasons["EmoLabel/list_patition_label.txt:line5"][0] == "bad_label_line"
    assert reasons["EmoLabel/list_patition_label.txt:line6"][0] == "bad_label_line"
    assert reasons["Image/original/train_00011.jpg"][0] == "missing_file"
    assert len(refusals) == 3


def test_the_corrected_spelling_of_the_list_is_accepted(rafdb_dir, tmp_path):
    lst = rafdb_dir / "EmoLabel" / "list_patition_label.txt"
    lst.rename(lst.with_name("list_partition_label.txt"))
    assert detect(rafdb_dir)
    assert len(split_items(rafdb_dir)[0]) == 4
    (rafdb_dir / "EmoLabel" / "list_partition_label.txt").unlink()
    assert not detect(rafdb_dir) and not detect(tmp_path)


def test_a_link_out_of_the_corpus_is_not_followed(rafdb_dir, tmp_path):
    outside = tmp_path / "elsewhere.jpg"
    aligned = rafdb_dir / "Image" / "aligned" / "train_00001_aligned.jpg"
    outside.write_bytes(aligned.read_bytes())
    aligned.unlink()
    aligned.symlink_to(outside)
    linked = rafdb_dir / "Image" / "aligned" / "train_00002_aligned.jpg"
    linked.unlink()
    linked.symlink_to(rafdb_dir / "Image" / "original" / "train_00002.jpg")  # inside: read
    cands, refusals = split_items(rafdb_dir)
    assert refusals["Image/aligned/train_00001_aligned.jpg"].reason == "symlink_outside"
    assert len(refusals) == 1 and len(cands) == 3
    assert cands["Image/aligned/train_00002_aligned.jpg"].label_word == "anger"
