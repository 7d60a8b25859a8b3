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
