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
