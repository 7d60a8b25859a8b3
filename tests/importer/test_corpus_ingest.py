"""A corpus item's vote, or the reason it gives none."""

from __future__ import annotations

import pytest

from catalog.labels import LabelSet
from importer.corpus_ingest import corpus_vote, vote_origin
from importer.items import Candidate


def test_corpus_vote_for_each_kind_of_code():
    labels = LabelSet.default()
    frame = Candidate(b"", "S005/001", "happy", frame_index=9, annotator="ckplus", label_code="5")
    vote, why = corpus_vote(labels, frame)
    assert (vote.label, vote.origin, why) == ("happy", "S005/001#frame=9", None)
    contempt = Candidate(b"", "S005/002", "contempt", frame_index=3, annotator="ckplus")
    assert corpus_vote(labels, contempt) == (None, "label_outside_set: contempt (ckplus)")
    known_outside = Candidate(b"", "a.avi", refused_code="7", annotator="mmi")
    assert corpus_vote(labels, known_outside) == (None, "label_outside_set: 7 (mmi)")
    unlabelled = Candidate(b"", "b.avi", annotator="mmi")
    assert corpus_vote(labels, unlabelled) == (None, None)


@pytest.mark.parametrize(
    ("path", "frame", "origin"),
    [
        ("Sessions/12/S001-001.avi#frame=37", 37, "Sessions/12/S001-001.avi#frame=37"),
        ("cohn-kanade-images/S005/001/S005_001_00000011.png", 11, None),
        ("Image/aligned/train_00001_aligned.jpg", None, "Image/aligned/train_00001_aligned.jpg"),
    ],
)
def test_a_votes_origin_names_the_frame_once(path, frame, origin):
    got = vote_origin(Candidate(b"", path, frame_index=frame))
    assert got == (origin or f"{path}#frame={frame}")
    assert got.count("#frame") == (frame is not None)
