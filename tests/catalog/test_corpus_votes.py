"""A corpus's labels against people's final labels, on a hand-built catalog."""

from __future__ import annotations

from catalog.corpus_votes import (
    REJECTED,
    UNDECIDED,
    corpora_present,
    corpus_agreement,
    corpus_votes,
    display_name,
)
from catalog.events import record
from catalog.votes import ImageVote, add_image_votes


def corpus_face(cat, make_face, corpus: str | None, label: str | None, *people) -> int:
    """A face whose image the corpus labelled (``label`` None: rejected), then people's
    decisions: ``("alice", "sad")`` labels, ``("bo", None)`` rejects."""
    fid = make_face(cat)
    if corpus is not None:
        image_id = cat.conn.execute("SELECT image_id FROM faces WHERE id = ?", (fid,)).fetchone()
        vote = (
            ImageVote(corpus, "label", label, origin="x")
            if label
            else ImageVote(corpus, "reject", reason="not_a_face", origin="x")
        )
        add_image_votes(cat.conn, image_id[0], [vote])
    for who, lab in people:
        if lab is None:
            record(cat.conn, fid, who, "reject", reason="not_a_face")
        else:
            record(cat.conn, fid, who, "label", label=lab)
    return fid


def test_the_confusion_table_of_corpus_label_and_peoples_final_label(catalog, make_face):
    cat = catalog
    corpus_face(cat, make_face, "mmi", "happy", ("alice", "happy"))  # kept
    corpus_face(cat, make_face, "mmi", "happy", ("alice", "sad"))  # relabelled by one
    corpus_face(cat, make_face, "mmi", "happy", ("alice", "sad"), ("bo", "sad"))
    corpus_face(cat, make_face, "mmi", "sad", ("alice", None))  # people reject it
    corpus_face(cat, make_face, "mmi", "sad", ("alice", "happy"), ("bo", "sad"))  # a tie
    # The tie stands although MMI's own vote would break it: MMI does not vote for itself.
    corpus_face(cat, make_face, "mmi", "fear")  # nobody else looked: not in the table
    corpus_face(cat, make_face, "ckplus", "surprise", ("alice", "surprise"))
    corpus_face(cat, make_face, "affectnet", None, ("alice", "happy"))  # AffectNet's no-face
    corpus_face(cat, make_face, None, None, ("alice", "happy"), ("bo", "happy"))  # no corpus
    found = {a.corpus: a for a in corpus_agreement(cat.conn)}
    assert list(found) == ["mmi", "ckplus", "affectnet"]  # corpus_names.toml's order
    mmi = found["mmi"]
    assert {r: dict(c) for r, c in mmi.table.items()} == {
        "happy": {"happy": 1, "sad": 2},
        "sad": {REJECTED: 1, UNDECIDED: 1},
    }
    assert (mmi.faces, mmi.decided, mmi.agreed, mmi.rate) == (5, 4, 1, 0.25)
    assert found["ckplus"].rate == 1.0
    assert {r: dict(c) for r, c in found["affectnet"].table.items()} == {REJECTED: {"happy": 1}}
    rows, cols = mmi.rows(cat.labels.names)
    assert rows == ["happy", "sad"]
    assert cols[-2:] == [REJECTED, UNDECIDED] and cols[: len(cat.labels.names)] == list(
        cat.labels.names
    )
    assert corpus_agreement(cat.conn, limit=1)[0].faces == 1


def test_a_faces_corpus_vote_as_the_app_shows_it(catalog, make_face):
    cat = catalog
    happy = corpus_face(cat, make_face, "mmi", "happy")
    gone = corpus_face(cat, make_face, "affectnet", None)
    plain = corpus_face(cat, make_face, None, None, ("alice", "sad"))
    assert [v.text for v in corpus_votes(cat.conn, happy)] == ["MMI: happy"]
    assert [v.text for v in corpus_votes(cat.conn, gone)] == ["AffectNet: not a face"]
    assert corpus_votes(cat.conn, plain) == []
    assert corpora_present(cat.conn) == ["mmi", "affectnet"]
    assert display_name("ckplus") == "CK+" and display_name("someone") == "someone"
