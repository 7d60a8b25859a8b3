"""Grid actions and the label queue: every action is a label event, undo included."""

from __future__ import annotations

from catalog.agreement import agreement
from catalog.events import face_state
from curation_ui import actions
from curation_ui import queue as q
from curation_ui.queries import FaceFilter, face_page


def events(cat):
    return [
        tuple(r)
        for r in cat.conn.execute(
            "SELECT face_id, annotator, action, label, reason FROM label_events ORDER BY id"
        )
    ]


def test_reject_marked_then_accept_the_rest_then_undo(seeded):
    cat, ids = seeded.cat, seeded.ids
    page = face_page(cat.conn, FaceFilter(label="sad"), 0)
    marked = [ids["sad_2"]]
    rejected = actions.reject(cat.conn, marked, "ann", "drawing")
    assert [e.action for e in rejected] == ["reject"]
    rest = [c.id for c in page.cards if c.id not in marked]
    accepted, unlabelled = actions.accept_rest(cat.conn, rest, "ann")
    assert unlabelled == [] and len(accepted) == 2
    assert face_state(cat.conn, ids["sad_2"]).status == "rejected"
    assert {face_state(cat.conn, i).label for i in rest} == {"sad"}
    assert {face_state(cat.conn, i).status for i in rest} == {"accepted"}
    assert events(cat) == [
        (ids["sad_2"], "ann", "reject", None, "drawing"),
        (ids["sad_1"], "ann", "accept", "sad", None),
        (ids["sad_3"], "ann", "accept", "sad", None),
    ]
    # Undo takes back the whole last action, and only once.
    assert len(actions.undo_events(cat.conn, "ann", accepted)) == 2
    assert actions.undo_events(cat.conn, "ann", accepted) == []
    assert {face_state(cat.conn, i).status for i in rest} == {"pending"}
    assert face_state(cat.conn, ids["sad_2"]).status == "rejected"
    # Accepting again skips decided faces and faces without a label.
    again, unlabelled = actions.accept_rest(cat.conn, [ids["sad_2"], ids["none_1"]], "ann")
    assert again == [] and unlabelled == [ids["none_1"]]


def test_relabel_is_a_label_event(seeded):
    cat, ids = seeded.cat, seeded.ids
    actions.relabel(cat.conn, [ids["happy_blurry"]], "bo", "fear")
    st = face_state(cat.conn, ids["happy_blurry"])
    assert (st.status, st.label, st.label_origin) == ("accepted", "fear", "events")


def test_queue_labels_skips_rejects_and_undoes(seeded):
    cat, ids = seeded.cat, seeded.ids
    conn = cat.conn
    s = q.start(conn, q.QueueFilter("unlabelled"), "ann")
    assert s.current == ids["none_1"]
    assert q.remaining(conn, s.filter, "ann") == 3
    s = q.label(conn, s, "ann", "happy")
    assert s.current == ids["none_2"]
    s = q.skip(conn, s, "ann")
    assert s.current == ids["none_3"]
    s = q.reject(conn, s, "ann", "not_a_face")
    assert s.current is None  # none_2 skipped, the others decided
    s = q.undo(conn, s, "ann")  # the reject
    assert s.current == ids["none_3"] and face_state(conn, ids["none_3"]).status == "pending"
    s = q.undo(conn, s, "ann")  # the skip
    assert s.current == ids["none_2"] and ids["none_2"] not in s.skipped
    s = q.label(conn, s, "ann", "sad")
    assert s.current == ids["none_3"]
    assert [e[2:4] for e in events(cat)] == [
        ("label", "happy"),
        ("reject", None),
        ("undo", None),
        ("label", "sad"),
    ]


def test_two_annotators_meet_only_undecided_faces_and_disputes_surface(seeded):
    cat, ids = seeded.cat, seeded.ids
    conn = cat.conn
    a = q.start(conn, q.QueueFilter("pending", label="sad"), "ann")
    b = q.start(conn, q.QueueFilter("pending", label="sad"), "bo")
    assert a.current == b.current == ids["sad_1"]
    a = q.label(conn, a, "ann", "sad")
    b = q.label(conn, b, "bo", "angry")  # both decided the same face: nothing is lost
    st = face_state(conn, ids["sad_1"])
    assert (st.status, st.disputed, st.annotators) == ("pending", True, 2)
    c = q.start(conn, q.QueueFilter("disputed"), "cy")
    assert c.current == ids["sad_1"]
    c = q.label(conn, c, "cy", "sad")
    assert face_state(conn, ids["sad_1"]).label == "sad"
    assert q.start(conn, q.QueueFilter("disputed"), "ann").current is None
    # Undo with no history in this session undoes the annotator's latest decision.
    fresh = q.undo(conn, q.QueueState(q.QueueFilter("pending")), "bo")
    assert fresh.current == ids["sad_1"]
    assert face_state(conn, ids["sad_1"]).annotators == 2


def test_stats_tables_and_agreement(seeded):
    from curation_ui import stats

    cat, ids = seeded.cat, seeded.ids
    conn = cat.conn
    for who, label in (("ann", "sad"), ("bo", "sad"), ("cy", "angry")):
        actions.relabel(conn, [ids["sad_1"]], who, label)
    actions.relabel(conn, [ids["sad_2"]], "ann", "sad")
    actions.relabel(conn, [ids["sad_2"]], "bo", "sad")
    table = stats.label_status_table(conn, cat.labels.names)
    assert table.loc["sad", "accepted"] == 2 and table.loc["(no label)", "pending"] == 3
    ag = agreement(conn)
    assert (ag.faces, ag.unanimous) == (2, 1)
    assert ag.pairwise == (2 + 2) / (6 + 2)
    people = stats.per_annotator_table(conn).set_index("annotator")
    assert people.loc["ann", "label"] == 2 and people.loc["cy", "faces"] == 1
    hist = stats.histogram(conn, "size_px", 50, 200)
    assert int(hist["faces"].sum()) == 10
