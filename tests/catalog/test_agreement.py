"""Annotator agreement: one computation for the Stats page, the dataset card and second opinions."""

from __future__ import annotations

import pytest

from catalog.agreement import agreement, face_decisions
from catalog.events import record
from exporter.card import gather


@pytest.fixture
def decided(catalog, make_face):
    """Four faces: two agreed on, one disputed, one seen by a single annotator."""
    agreed, accepted, split, alone = (make_face(catalog, "happy") for _ in range(4))
    record(catalog.conn, agreed, "ann", "label", label="sad")
    record(catalog.conn, agreed, "bo", "label", label="sad")
    # An accept without a label takes the source's label: the same decision as "happy".
    record(catalog.conn, accepted, "ann", "label", label="happy")
    record(catalog.conn, accepted, "bo", "accept")
    record(catalog.conn, split, "ann", "label", label="sad")
    record(catalog.conn, split, "bo", "reject", reason="not_a_face")
    record(catalog.conn, alone, "ann", "label", label="fear")
    return catalog, (agreed, accepted, split, alone)


def test_decisions_are_each_annotators_standing_vote(decided):
    cat, (agreed, accepted, split, _) = decided
    assert face_decisions(cat.conn) == {
        agreed: {"ann": "sad", "bo": "sad"},
        accepted: {"ann": "happy", "bo": "happy"},
        split: {"ann": "sad", "bo": "reject"},
    }


def test_agreement_counts_unanimous_faces_pairs_and_ties(decided):
    ag = agreement(decided[0].conn)
    assert (ag.faces, ag.unanimous, ag.disputed) == (3, 2, 1)
    assert ag.pairwise == pytest.approx(2 / 3)
    assert ag.kappa is not None and ag.kappa < ag.pairwise  # chance agreement taken out


def test_an_undone_vote_no_longer_counts(decided):
    cat, (_, _, split, _) = decided
    bo_reject = cat.conn.execute(
        "SELECT id FROM label_events WHERE face_id = ? AND annotator = 'bo'", (split,)
    ).fetchone()
    record(cat.conn, split, "bo", "undo", undoes=bo_reject[0])
    ag = agreement(cat.conn)
    assert (ag.faces, ag.unanimous, ag.disputed) == (2, 2, 0)


def test_the_card_shows_the_same_agreement_as_the_stats_page(decided):
    conn = decided[0].conn
    assert gather(conn).agreement == agreement(conn)
    assert agreement(conn, limit=1).faces == 1  # the page's cap on huge vote imports
