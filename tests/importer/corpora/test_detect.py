"""--format auto: each corpus recognised from its layout; anything else is a plain folder."""

from __future__ import annotations

from importer.corpora.registry import FORMATS, detect_corpus
from importer.defaults import CORPORA
from tests.importer.conftest import png_bytes


def test_each_layout_is_recognised(jaffe_dir, rafdb_dir, affectnet_dir):
    assert detect_corpus(jaffe_dir).name == "jaffe"
    assert detect_corpus(rafdb_dir).name == "rafdb"
    assert detect_corpus(affectnet_dir).name == "affectnet"


def test_plain_folders_are_no_corpus(tmp_path):
    fer = tmp_path / "fer2013_privatetest"  # a folder per label, as /work/shared has it
    for label in ("happy", "sad"):
        (fer / label).mkdir(parents=True)
        (fer / label / "1.png").write_bytes(png_bytes(1))
    assert detect_corpus(fer) is None
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.png").write_bytes(png_bytes(2))
    assert detect_corpus(flat) is None
    assert detect_corpus(tmp_path / "missing") is None
    assert detect_corpus(flat / "a.png") is None


def test_every_registered_reader_is_a_format_choice():
    assert tuple(f.name for f in FORMATS) == CORPORA  # all five, in detection order
