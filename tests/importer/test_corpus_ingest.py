"""A corpus item's vote, or the reason it gives none."""

from __future__ import annotations

from catalog.labels import LabelSet
from importer.corpus_ingest import corpus_vote
from importer.items import Candidate


def test_corpus_vote_for_each_kind_of_code():
    labels = LabelSet.default()
    frame = Candidate(b"", "S005/001", "happy", frame_index=9, annotator="ckplus", label_code="5")
    vote, why = corpus_vote(labels, frame)
    assert (vote.label, vote.origin, why) == ("happy", "S005/001#frame9", None)
    contempt = Candidate(b"", "S005/002", "contempt", frame_index=3, annotator="ckplus")
    assert corpus_vote(labels, contempt) == (None, "label_outside_set: contempt (ckplus)")
    known_outside = Candidate(b"", "a.avi", refused_code="7", annotator="mmi")
    assert corpus_vote(labels, known_outside) == (None, "label_outside_set: 7 (mmi)")
    unlabelled = Candidate(b"", "b.avi", annotator="mmi")
    assert corpus_vote(labels, unlabelled) == (None, None)
