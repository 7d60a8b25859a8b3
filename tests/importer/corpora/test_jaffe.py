"""The JAFFE reader: subject and expression from the file names, TIFF read as PNG."""

from __future__ import annotations

from PIL import Image

from importer.corpora import CorpusOptions
from importer.corpora.jaffe import detect, parse_name, read
from importer.items import Candidate, Refusal


def test_names_give_subject_and_expression():
    assert parse_name("KA.AN1.39.tiff") == ("KA", "AN")
    assert parse_name("YM.SU3.60.JPG") == ("YM", "SU")
    assert parse_name("KA.XX1.39.tiff") is None  # no such expression
    assert parse_name("KA.AN1.tiff") is None
    assert parse_name("happy_001.png") is None


def test_read_gives_votes_subjects_and_converts_tiff(jaffe_dir):
    (jaffe_dir / "README.txt").write_text("not an image: skipped quietly")
    (jaffe_dir / "portrait.png").write_bytes((jaffe_dir / "YM.AN2.62.jpg").read_bytes())
    items = list(read(jaffe_dir, CorpusOptions()))
    cands = {i.import_path: i for i in items if isinstance(i, Candidate)}
    refusals = [i for i in items if isinstance(i, Refusal)]
    assert sorted(cands) == ["KA.HA1.29.tiff", "KA.NE1.26.tiff", "YM.AN2.62.jpg", "YM.SU1.58.jpg"]
    ka = cands["KA.HA1.29.tiff"]
    assert (ka.annotator, ka.label_word, ka.label_code) == ("jaffe", "happy", "HA")
    assert ka.subject == "KA"
    assert ka.data.startswith(b"\x89PNG")  # TIFF is not kept: stored as lossless PNG
    assert cands["YM.AN2.62.jpg"].label_word == "angry"
    assert [(r.import_path, r.reason) for r in refusals] == [("portrait.png", "unrecognised_name")]


def test_a_broken_tiff_is_one_refusal(jaffe_dir):
    (jaffe_dir / "KM.DI1.12.tiff").write_bytes(b"II*\x00 not really a tiff")
    items = list(read(jaffe_dir, CorpusOptions()))
    bad = [i for i in items if isinstance(i, Refusal)]
    assert [(r.import_path, r.reason) for r in bad] == [("KM.DI1.12.tiff", "not_an_image")]
    assert sum(isinstance(i, Candidate) for i in items) == 4


def test_detect_needs_most_images_named_as_jaffe(jaffe_dir, tmp_path):
    assert detect(jaffe_dir)
    other = tmp_path / "photos"
    other.mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8)).save(other / f"img{i}.png")
    Image.new("RGB", (8, 8)).save(other / "KA.AN1.39.png")
    assert not detect(other)  # one JAFFE-looking name among four
    (jaffe_dir / "sub").mkdir()
    assert not detect(jaffe_dir)  # JAFFE is flat
