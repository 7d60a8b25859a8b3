"""Several independent labels per face: the state at K, the second-opinion queue, the stats."""

from __future__ import annotations

from collections import Counter

import pytest
from streamlit.testing.v1 import AppTest

from catalog import annotators as ann
from catalog.agreement import face_decisions
from catalog.events import LabelEvent, face_state, fold, record, set_labels_per_face
from catalog.settings import SettingError, labels_per_face
from curation_ui import queue as q
from curation_ui.components.queue.testing import press, view
from tests.curation_ui.conftest import page_script


def ev(i: int, who: str, action: str, label: str | None = None, undoes: int | None = None):
    reason = "not_a_face" if action == "reject" else None
    return LabelEvent(i, 1, who, action, label, reason, undoes)


# --- the face state at K -------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "decisions", "status", "label", "disputed"),
    [
        (1, ["happy"], "accepted", "happy", False),  # today's behaviour
        (2, ["happy"], "pending", "happy", False),  # waiting for a second opinion
        (2, ["happy", "happy"], "accepted", "happy", False),
        (2, ["happy", "sad"], "pending", None, True),
        (2, ["reject", "reject"], "rejected", None, False),
        (2, ["happy", "reject"], "pending", "happy", True),
        (3, ["happy", "sad"], "pending", None, False),  # not disputed before K decisions
        (3, ["happy", "sad", "happy"], "accepted", "happy", True),
        (3, ["happy", "sad", "fear"], "pending", None, True),
        (3, ["reject", "happy", "reject"], "rejected", None, True),
        (4, ["happy", "happy", "sad", "fear"], "pending", "happy", True),  # 2 of 4: no majority
        (1, ["happy", "happy", "sad", "fear"], "accepted", "happy", True),  # K = 1 rules
    ],
)
def test_a_face_is_decided_by_a_majority_of_its_k_decisions(k, decisions, status, label, disputed):
    events = [
        ev(i, f"a{i}", "reject" if d == "reject" else "label", None if d == "reject" else d)
        for i, d in enumerate(decisions, start=1)
    ]
    st = fold(events, None, k)
    assert (st.status, st.disputed, st.annotators) == (status, disputed, len(decisions))
    if label is not None or status != "pending":
        assert st.label == label


def test_an_undone_decision_does_not_count_towards_k():
    events = [
        ev(1, "a", "label", "happy"),
        ev(2, "b", "label", "happy"),
        ev(3, "b", "undo", None, 2),
    ]
    assert fold(events, None, 2).status == "pending"
    assert fold([*events, ev(4, "b", "label", "happy")], None, 2).status == "accepted"


def test_the_setting_is_stored_and_changing_it_rebuilds_the_states(seeded):
    cat, ids = seeded.cat, seeded.ids
    fid = ids["none_1"]
    record(cat.conn, fid, "ann", "label", label="happy")
    assert labels_per_face(cat.conn) == 1 and face_state(cat.conn, fid).status == "accepted"
    assert set_labels_per_face(cat.conn, 2)
    assert labels_per_face(cat.conn) == 2 and face_state(cat.conn, fid).status == "pending"
    assert not set_labels_per_face(cat.conn, 2)  # unchanged: no rebuild
    record(cat.conn, fid, "bo", "label", label="happy")
    assert face_state(cat.conn, fid).status == "accepted"
    with pytest.raises(SettingError, match="1 to 50"):
        set_labels_per_face(cat.conn, 0)
    assert labels_per_face(cat.conn) == 2


# --- the second-opinion queue ---------------------------------------------------


def test_second_opinion_gives_faces_short_of_k_and_none_of_ones_own(seeded):
    cat, ids = seeded.cat, seeded.ids
    conn = cat.conn
    set_labels_per_face(conn, 2)
    qf = q.QueueFilter("second")
    total = len(ids)
    assert q.remaining(conn, qf, "ann") == total
    a = q.start(conn, qf, "ann")
    first = a.current
    a = q.label(conn, a, "ann", "happy")
    assert a.current != first
    assert q.remaining(conn, qf, "ann") == total - 1  # ann does not meet her own face again
    assert q.remaining(conn, qf, "bo") == total  # bo still needs to decide it
    b = q.start(conn, qf, "bo")
    assert b.current == first
    b = q.label(conn, b, "bo", "sad")
    st = face_state(conn, first)
    assert (st.status, st.disputed, st.annotators) == ("pending", True, 2)
    # The face has its K decisions: nobody else is asked for it.
    assert q.remaining(conn, qf, "cy") == total - 1
    assert q.next_face_id(conn, qf, "cy") != first
    # An undo takes bo's decision back: the face needs an opinion again.
    b = q.undo(conn, b, "bo")
    assert b.current == first and q.remaining(conn, qf, "cy") == total


# --- agreement maths ------------------------------------------------------------


def test_fleiss_kappa_matches_the_published_example():
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories: 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    decisions = {}
    for face, counts in enumerate(table):
        votes = [c for c, n in zip("ABCDE", counts, strict=True) for _ in range(n)]
        decisions[face] = {f"r{i}": v for i, v in enumerate(votes)}
    n, kappa = ann.fleiss_kappa_at(decisions, 14)
    assert n == 10 and kappa == pytest.approx(0.2099, abs=1e-4)
    assert ann.fleiss_kappa_at(decisions, 15) == (0, None)


def test_agreement_with_the_others_majority_and_the_confusion():
    decisions = {
        1: {"ann": "happy", "bo": "happy", "cy": "happy"},
        2: {"ann": "happy", "bo": "sad", "cy": "sad"},
        3: {"ann": "fear", "bo": "surprise"},
        4: {"ann": "reject", "bo": "reject"},
    }
    rows = {r.annotator: r for r in ann.per_annotator(decisions)}
    # ann: face 1 agrees, face 2 the others say sad, face 3 bo alone says surprise, face 4 agrees.
    assert (rows["ann"].faces, rows["ann"].compared, rows["ann"].agreed) == (4, 4, 2)
    # bo: face 2 the others are tied (happy, sad): not compared.
    assert (rows["bo"].faces, rows["bo"].compared, rows["bo"].agreed) == (4, 3, 2)
    # cy: face 1 agrees; on face 2 the others are tied.
    assert (rows["cy"].compared, rows["cy"].agreement) == (1, 1.0)
    m = ann.confusion(decisions, ("happy", "sad", "fear", "surprise", "reject"))
    assert list(m) == ["happy", "sad", "fear", "surprise", "reject"]
    assert m["happy"]["happy"] == 6 + 0 and m["sad"]["sad"] == 2
    assert m["happy"]["sad"] == m["sad"]["happy"] == 2
    assert m["fear"]["surprise"] == m["surprise"]["fear"] == 1
    assert m["reject"]["reject"] == 2
    assert sum(sum(r.values()) for r in m.values()) == sum(
        len(d) * (len(d) - 1) for d in decisions.values()
    )


def test_decisions_from_the_catalog_follow_undos(seeded):
    cat, ids = seeded.cat, seeded.ids
    f1, f2 = ids["sad_1"], ids["sad_2"]
    record(cat.conn, f1, "ann", "label", label="sad")
    wrong = record(cat.conn, f1, "bo", "label", label="happy")
    record(cat.conn, f1, "bo", "undo", undoes=wrong.id)
    record(cat.conn, f1, "bo", "label", label="sad")
    record(cat.conn, f2, "ann", "reject", reason="drawing")
    record(cat.conn, f2, "bo", "label", label="angry")
    record(cat.conn, ids["sad_3"], "ann", "label", label="sad")  # one decision: not compared
    d = face_decisions(cat.conn)
    assert d == {f1: {"ann": "sad", "bo": "sad"}, f2: {"ann": "reject", "bo": "angry"}}
    assert ann.decided_counts(cat.conn) == {"ann": 3, "bo": 2}
    assert Counter(r.agreed for r in ann.per_annotator(d)) == Counter({1: 2})


# --- the pages -------------------------------------------------------------------


def open_queue(who: str) -> AppTest:
    at = AppTest.from_function(page_script, kwargs={"name": "queue"}, default_timeout=60)
    at.session_state["annotator"] = who
    at.run()
    return at.selectbox(key="q_subset").select("second").run()


def test_the_second_opinion_queue_never_shows_anyone_elses_label(app_env):
    cat = app_env.cat
    set_labels_per_face(cat.conn, 2)
    at = open_queue("ann")
    assert not at.exception
    assert at.selectbox(key="q_subset").value == "second"
    assert at.selectbox(key="q_label").disabled
    first = int(view(at)["faces"][0]["caption"].split("#")[1].split()[0])
    press(at, "label", "fear")
    bo = open_queue("bo")
    shown = " ".join([*(t.value for t in bo.text), *(f["caption"] for f in view(bo)["faces"])])
    assert f"face #{first} " in shown
    assert "fear" not in shown and "shows" not in shown and "disagree" not in shown
    press(bo, "label", "fear")
    assert face_state(cat.conn, first).status == "accepted"
    assert face_state(cat.conn, first).label == "fear"


def test_the_stats_page_shows_kappa_at_k_and_the_confusion(app_env):
    cat, ids = app_env.cat, app_env.ids
    set_labels_per_face(cat.conn, 2)
    for name in ("sad_1", "sad_2", "sad_3"):
        record(cat.conn, ids[name], "ann", "label", label="sad")
    record(cat.conn, ids["sad_1"], "bo", "label", label="sad")
    record(cat.conn, ids["sad_2"], "bo", "label", label="angry")
    record(cat.conn, ids["sad_3"], "bo", "label", label="sad")
    at = AppTest.from_function(page_script, kwargs={"name": "stats"}, default_timeout=60)
    at.session_state["annotator"] = "ann"
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Labels per face (K)"] == "2"
    assert metrics["Faces with 2+ decisions"] == "3"
    d = face_decisions(cat.conn)
    assert metrics["Fleiss' kappa at 2"] == f"{ann.fleiss_kappa_at(d, 2)[1]:.2f}"
    frames = [f.value for f in at.dataframe]
    confusion = next(f for f in frames if "angry" in f.columns and "reject" in f.index)
    assert confusion.loc["sad", "angry"] == 1 and confusion.loc["sad", "sad"] == 4


@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_count_left_matches_the_faces_the_queue_would_show(seeded, k):
    from catalog.events import face_events, source_label, votes

    cat, ids = seeded.cat, seeded.ids
    conn = cat.conn
    set_labels_per_face(conn, k)
    plan = [
        ("ann", "sad_1", "sad"),
        ("bo", "sad_1", "happy"),
        ("ann", "sad_2", "sad"),
        ("bo", "none_1", "sad"),
        ("cy", "none_1", "sad"),
        ("ann", "happy_big", "happy"),
    ]
    for who, name, label in plan:
        record(conn, ids[name], who, "label", label=label)
    undone = record(conn, ids["none_2"], "ann", "label", label="fear")
    record(conn, ids["none_2"], "ann", "undo", undoes=undone.id)
    for subset in ("second", "disputed", "all"):
        for label in (None, "sad"):
            for who in ("ann", "bo", "dee"):
                qf = q.QueueFilter(subset, label)
                expected = []
                for fid in ids.values():
                    st = face_state(conn, fid)
                    mine = who in votes(face_events(conn, fid), source_label(conn, fid))
                    ok = {"second": st.annotators < k, "disputed": st.disputed, "all": True}
                    if ok[subset] and not mine and (label is None or st.label == label):
                        expected.append(fid)
                assert q.remaining(conn, qf, who) == len(expected), (subset, label, who)
                walked, fid = [], q.next_face_id(conn, qf, who)
                while fid is not None and fid not in walked:
                    walked.append(fid)
                    fid = q.next_face_id(conn, qf, who, fid)
                assert sorted(walked) == sorted(expected)
