"""FER+ votes: ten label events per FER2013 face, NF and unknown as rejects, contempt dropped."""

from __future__ import annotations

import pytest

from catalog.events import face_events, face_state
from importer.errors import ImportRefused
from importer.ferplus import apply_ferplus, read_ferplus
from tests.importer.test_labels_csv import add_face, errors, imported

HEADER = (
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
)


def write_ferplus(path, rows: list[str]):
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def test_votes_become_label_events_and_the_majority_decides(catalog, tmp_path):
    ids = imported(
        catalog,
        [f"fer2013.csv:{i}:PrivateTest" for i in range(5)],
        source="fer2013",
    )
    ferplus = write_ferplus(
        tmp_path / "fer2013new.csv",
        [
            "PrivateTest,fer0000000.png,0,8,1,0,0,0,0,1,0,0",  # happy, 1 contempt dropped
            "PrivateTest,fer0000001.png,0,0,0,0,0,0,0,0,0,10",  # not a face
            "PrivateTest,fer0000002.png,4,0,0,0,0,0,0,0,6,0",  # mostly unknown
            "PrivateTest,fer0000003.png,5,0,0,5,0,0,0,0,0,0",  # a tie
            "PrivateTest,fer0000004.png,x,0,0,5,0,0,0,0,0,0",  # unreadable counts
            "PrivateTest,fer0000005.png,0,0,0,0,9,1,0,0,0,0",  # no such FER2013 row
        ],
    )
    s = apply_ferplus(catalog, ferplus, "fer2013", "fer2013.csv")
    assert (s.rows, s.images, s.votes) == (6, 4, 9 + 10 + 10 + 10)
    assert s.dropped == {"contempt": 1}
    assert s.problems == {"bad_row": 1, "missing_file": 1}
    errs = errors(catalog)
    assert errs["fer2013new.csv:4"].startswith("bad_row")
    assert errs["fer2013new.csv:5"].startswith("missing_file")

    faces = [add_face(catalog, ids[f"fer2013.csv:{i}:PrivateTest"]) for i in range(4)]
    ev = face_events(catalog.conn, faces[0])
    assert [e.annotator for e in ev] == [f"ferplus:{i}" for i in range(1, 10)]
    assert [e.label for e in ev] == ["happy"] * 8 + ["surprise"]
    st = face_state(catalog.conn, faces[0])
    assert (st.status, st.label, st.annotators, st.disputed) == ("accepted", "happy", 9, True)
    st = face_state(catalog.conn, faces[1])
    assert (st.status, st.reason, st.annotators) == ("rejected", "not_a_face", 10)
    st = face_state(catalog.conn, faces[2])
    assert (st.status, st.reason) == ("rejected", "unknown")
    st = face_state(catalog.conn, faces[3])
    assert (st.status, st.disputed) == ("pending", True)
    # A rerun stores nothing twice.
    again = apply_ferplus(catalog, ferplus, "fer2013", "fer2013.csv")
    assert (again.votes, again.already) == (0, 39)
    assert len(face_events(catalog.conn, faces[0])) == 9


def test_contempt_is_a_label_where_the_set_has_it(make_catalog, tmp_path):
    cat = make_catalog("plus", labels="neutral,happy,surprise,sad,angry,disgust,fear,contempt")
    ids = imported(cat, ["fer2013.csv:0"], source="fer2013")
    ferplus = write_ferplus(tmp_path / "p.csv", ["Training,a.png,2,0,0,0,0,0,0,7,1,0"])
    s = apply_ferplus(cat, ferplus, "fer2013", "fer2013.csv")
    assert (s.votes, s.dropped) == (10, {})
    st = face_state(cat.conn, add_face(cat, ids["fer2013.csv:0"]))
    assert (st.status, st.label) == ("accepted", "contempt")


def test_a_file_without_the_vote_columns_is_a_one_line_error(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Usage,Image name,neutral\nTraining,a.png,10\n")
    with pytest.raises(ImportRefused, match="no happiness column"):
        list(read_ferplus(p))
