import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.events import (
    EventError,
    LabelEvent,
    face_events,
    face_state,
    face_states,
    fold,
    rebuild_face_states,
    record,
    source_label,
    undo_last,
)


def ev(i, action, annotator="ann", label=None, reason=None, undoes=None):
    return LabelEvent(i, 1, annotator, action, label, reason, undoes)


def test_without_events_the_source_label_is_pending():
    st_ = fold([], "happy")
    assert (st_.status, st_.label, st_.label_origin) == ("pending", "happy", "source")
    assert fold([], None).label_origin == "none"


def test_label_reject_accept_and_undo():
    assert fold([ev(1, "label", label="sad")], "happy").status == "accepted"
    assert fold([ev(1, "label", label="sad")], "happy").label == "sad"
    assert fold([ev(1, "reject", reason="drawing")], "happy").status == "rejected"
    assert fold([ev(1, "reject", reason="drawing")], "happy").reason == "drawing"
    accepted = fold([ev(1, "accept")], "happy")
    assert (accepted.status, accepted.label) == ("accepted", "happy")
    undone = fold([ev(1, "label", label="sad"), ev(2, "undo", undoes=1)], "happy")
    assert (undone.status, undone.label) == ("pending", "happy")
    # Undoing the second decision brings back the first.
    events = [ev(1, "label", label="sad"), ev(2, "reject"), ev(3, "undo", undoes=2)]
    assert (fold(events, None).status, fold(events, None).label) == ("accepted", "sad")


def test_accept_after_relabel_keeps_the_relabel():
    assert fold([ev(1, "label", label="fear"), ev(2, "accept")], "happy").label == "fear"


def test_two_annotators_majority_and_dispute():
    agree = fold([ev(1, "label", "a", "sad"), ev(2, "label", "b", "sad")], "happy")
    assert (agree.status, agree.label, agree.annotators, agree.disputed) == (
        "accepted",
        "sad",
        2,
        False,
    )
    split = fold([ev(1, "label", "a", "sad"), ev(2, "label", "b", "fear")], "happy")
    assert (split.status, split.disputed) == ("pending", True)
    tie = fold([ev(1, "label", "a", "sad"), ev(2, "reject", "b")], "happy")
    assert (tie.status, tie.disputed) == ("pending", True)
    three = fold([ev(1, "reject", "a"), ev(2, "reject", "b"), ev(3, "label", "c", "sad")], None)
    assert (three.status, three.disputed) == ("rejected", True)
    # Each annotator's latest decision is the one that counts.
    changed = fold(
        [ev(1, "label", "a", "sad"), ev(2, "label", "b", "fear"), ev(3, "label", "b", "sad")], None
    )
    assert (changed.status, changed.label, changed.disputed) == ("accepted", "sad", False)


def test_record_refreshes_the_projection(catalog, make_face):
    face = make_face(catalog, "happy")
    assert face_state(catalog.conn, face).status == "pending"
    record(catalog.conn, face, "alice", "label", label="sad")
    assert (face_state(catalog.conn, face).status, face_state(catalog.conn, face).label) == (
        "accepted",
        "sad",
    )
    undo_last(catalog.conn, "alice")
    assert face_state(catalog.conn, face).label == "happy"
    assert [e.action for e in face_events(catalog.conn, face)] == ["label", "undo"]
    assert undo_last(catalog.conn, "alice") is None  # nothing standing to undo


def test_record_refuses_bad_events(catalog, make_face):
    face = make_face(catalog, "happy")
    with pytest.raises(EventError, match="unknown label"):
        record(catalog.conn, face, "alice", "label", label="contempt")
    with pytest.raises(EventError, match="annotator"):
        record(catalog.conn, face, "  ", "accept")
    with pytest.raises(EventError, match="no face"):
        record(catalog.conn, face + 100, "alice", "accept")
    with pytest.raises(EventError, match="reject reason"):
        record(catalog.conn, face, "alice", "reject", reason="ugly")
    first = record(catalog.conn, face, "alice", "accept")
    with pytest.raises(EventError, match="not bob's"):
        record(catalog.conn, face, "bob", "undo", undoes=first.id)
    record(catalog.conn, face, "alice", "undo", undoes=first.id)
    with pytest.raises(EventError, match="already undone"):
        record(catalog.conn, face, "alice", "undo", undoes=first.id)
    assert len(face_events(catalog.conn, face)) == 2


def test_label_events_are_append_only(catalog, make_face):
    face = make_face(catalog, "happy")
    record(catalog.conn, face, "alice", "accept")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        catalog.conn.execute("UPDATE label_events SET label = 'sad'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        catalog.conn.execute("DELETE FROM label_events")


def test_conflicting_source_labels_give_no_label(catalog, make_face):
    from catalog.images import ImageSource, add_source

    face = make_face(catalog, "happy", content=b"same bytes")
    assert source_label(catalog.conn, face) == "happy"
    image_id = catalog.conn.execute("SELECT image_id FROM faces WHERE id=?", (face,)).fetchone()[0]
    add_source(
        catalog.conn, image_id, ImageSource("import", import_path="b.jpg", source_label="sad")
    )
    assert face_state(catalog.conn, face).label is None
    assert face_state(catalog.conn, face).status == "pending"


ACTION = st.sampled_from(["label", "reject", "accept", "undo"])
STEP = st.tuples(
    st.integers(0, 2),
    st.sampled_from(["ann1", "ann2", "ann3"]),
    ACTION,
    st.sampled_from(["happy", "sad", "fear"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, max_size=25))
def test_projection_equals_a_fold_of_the_events(make_catalog, make_face, steps):
    cat = make_catalog(f"prop{id(steps)}")
    faces = [make_face(cat, label) for label in ("happy", None, "sad")]
    for face_i, annotator, action, label in steps:
        face = faces[face_i]
        if action == "undo":
            undo_last(cat.conn, annotator, face)
        else:
            record(cat.conn, face, annotator, action, label=label if action != "reject" else None)
    live = {f: face_state(cat.conn, f) for f in faces}
    for f in faces:
        assert live[f] == fold(face_events(cat.conn, f), source_label(cat.conn, f))
    rebuild_face_states(cat.conn)
    assert {f: face_state(cat.conn, f) for f in faces} == live


def test_face_states_reads_many_faces_as_face_state_reads_one(catalog, make_face):
    ids = [make_face(catalog, label) for label in ("happy", "sad", None)]
    record(catalog.conn, ids[0], "ann", "reject", reason="drawing")
    record(catalog.conn, ids[1], "ann", "label", label="fear")
    states = face_states(catalog.conn, [*ids, 10_000])  # an unknown id is left out
    assert states == {fid: face_state(catalog.conn, fid) for fid in ids}
    assert states[ids[0]].status == "rejected" and states[ids[1]].label == "fear"
    assert face_states(catalog.conn, []) == {}
