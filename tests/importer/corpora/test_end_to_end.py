"""import + extract on a corpus: the corpus's votes are label events of its faces."""

from __future__ import annotations

import pytest

import pipeline
from catalog.dataset import Catalog
from catalog.events import face_events


def face_votes(cat):
    """(import path, detector) -> the label events of that image's faces."""
    rows = cat.conn.execute(
        "SELECT s.import_path, f.detector, f.id FROM faces f "
        "JOIN image_sources s ON s.image_id = f.image_id ORDER BY f.id"
    )
    return {
        (path, detector): [(e.annotator, e.action, e.label) for e in face_events(cat.conn, face)]
        for path, detector, face in rows
    }


@pytest.mark.slow
def test_affectnet_and_rafdb_votes_reach_their_faces(data_root, affectnet_dir, rafdb_dir):
    for folder in (affectnet_dir, rafdb_dir):
        assert pipeline.main(["--root", str(data_root), "import", str(folder)]) == 0
    with Catalog.open(data_root, "default") as cat:
        got = face_votes(cat)
    a = ("Manually_Annotated_Images/1/a.jpg", "given")  # AffectNet's box: no detector ran
    assert got[a] == [("affectnet", "label", "happy")]
    c = ("Manually_Annotated_Images/2/c.jpg", "given")
    assert got[c] == [("affectnet", "reject", None)]
    crop = ("Image/aligned/train_00001_aligned.jpg", "whole")  # RAF-DB's aligned face crop
    assert got[crop] == [("rafdb", "label", "happy")]
    original = ("Image/original/test_0002.jpg", "given")  # RAF-DB's box of the labelled face
    assert got[original] == [("rafdb", "label", "surprise")]
    assert sum(path == original[0] for path, _ in got) == 1  # its one face: the box's


def test_the_command_prints_the_corpus_and_refuses_in_one_line(data_root, jaffe_dir, capsys):
    argv = ["--root", str(data_root), "import", str(jaffe_dir), "--no-extract"]
    assert pipeline.main(argv) == 0
    out = capsys.readouterr().out
    assert "4 images kept" in out and "jaffe: 4 labelled (4 new votes), 2 subjects" in out
    assert pipeline.main([*argv, "--label", "happy"]) == 2
    err = capsys.readouterr().err
    assert "read as jaffe, which gives its own labels" in err and "Traceback" not in err
    assert pipeline.main([*argv, "--format", "video"]) == 2
    assert "--format video does not fit" in capsys.readouterr().err
