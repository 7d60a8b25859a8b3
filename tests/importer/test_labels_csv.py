"""Labels from a CSV: column names, path or unique-name matching, aliases, one event per row."""

from __future__ import annotations

import pytest

from catalog.events import face_events, face_state
from catalog.faces import insert_face
from catalog.images import ImageSource, StoredImage, add_image, add_source
from core.storage import store_content
from importer.errors import ImportRefused
from importer.labels_csv import apply_labels_csv, read_labels_csv


def imported(cat, paths: list[str], source: str = "crowd") -> dict[str, int]:
    """Images as an import of ``source`` would have kept them (no faces yet)."""
    ids = {}
    for p in paths:
        data = f"image {p}".encode()
        sha, rel = store_content(cat.paths.dir, "images", data, "jpg")
        image_id, _ = add_image(cat.conn, StoredImage(sha, rel, 64, 64, "JPEG", len(data)))
        add_source(cat.conn, image_id, ImageSource("import", source_name=source, import_path=p))
        ids[p] = image_id
    return ids


def add_face(cat, image_id: int) -> int:
    n = cat.conn.execute("SELECT COUNT(*) FROM faces WHERE image_id = ?", (image_id,)).fetchone()[0]
    return insert_face(cat.conn, image_id, n, (0, 0, 64, 64), "whole")


def errors(cat) -> dict[str, str]:
    return {r[0]: r[1] for r in cat.conn.execute("SELECT import_path, reason FROM import_errors")}


def test_rows_become_votes_of_each_annotator_and_faces_found_later_get_them(catalog, tmp_path):
    ids = imported(catalog, ["a/1.jpg", "b/1.jpg", "b/2.jpg", "c/3.png"])
    early = add_face(catalog, ids["c/3.png"])  # extracted before the labels came
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "Image name,Emotion,user.id\n"
        "a/1.jpg,happiness,u1\n"
        "a/1.jpg,HAPPY,u2\n"
        "a/1.jpg,sad,u3\n"
        "2.jpg,Anger,u1\n"  # a unique file name
        "1.jpg,sad,u1\n"  # two images are called 1.jpg: names no single image
        "./c/3.png,contempt,u1\n"  # not a label of the set: the image stays
        "c/3.png,surprised,u2\n"
        "missing.jpg,happy,u1\n"
    )
    s = apply_labels_csv(catalog, csv, "crowd")
    assert (s.rows, s.images, s.votes) == (8, 3, 5)
    assert s.problems == {"missing_file": 2, "unknown_label": 1}
    errs = errors(catalog)
    assert errs["labels.csv:row5"].startswith("missing_file")
    assert errs["labels.csv:row8"].startswith("missing_file")
    assert errs["labels.csv:row6"] == "unknown_label: contempt"
    # A face that already existed got its event at once.
    assert [(e.annotator, e.label) for e in face_events(catalog.conn, early)] == [
        ("crowd:u2", "surprise")
    ]
    assert face_state(catalog.conn, early).status == "accepted"
    # Faces found later (extract after import) get every vote of their image.
    face = add_face(catalog, ids["a/1.jpg"])
    events = face_events(catalog.conn, face)
    assert [(e.annotator, e.action, e.label) for e in events] == [
        ("crowd:u1", "label", "happy"),
        ("crowd:u2", "label", "happy"),
        ("crowd:u3", "label", "sad"),
    ]
    st = face_state(catalog.conn, face)
    assert (st.status, st.label, st.annotators, st.disputed) == ("accepted", "happy", 3, True)
    assert face_state(catalog.conn, add_face(catalog, ids["b/2.jpg"])).label == "angry"
    # A rerun of the same file adds nothing.
    again = apply_labels_csv(catalog, csv, "crowd")
    assert (again.votes, again.already) == (0, 5)
    assert len(face_events(catalog.conn, face)) == 3
    assert len(errors(catalog)) == 3


def test_rows_without_annotator_column_are_row_annotators(catalog, tmp_path):
    ids = imported(catalog, ["x.jpg"], source="set")
    csv = tmp_path / "l.csv"
    csv.write_text("filename,label\nx.jpg,fear\nx.jpg,fear\nx.jpg,neutral\n")
    apply_labels_csv(catalog, csv, "set")
    face = add_face(catalog, ids["x.jpg"])
    assert [e.annotator for e in face_events(catalog.conn, face)] == [
        "set:row1",
        "set:row2",
        "set:row3",
    ]
    assert face_state(catalog.conn, face).label == "fear"


def test_zip_prefix_and_tie_leaves_face_pending_and_disputed(catalog, tmp_path):
    ids = imported(catalog, ["pack.zip/img/q.jpg"], source="pack")
    csv = tmp_path / "l.csv"
    csv.write_text("path,class,rater\nimg/q.jpg,happy,r1\nimg/q.jpg,sad,r2\n")
    s = apply_labels_csv(catalog, csv, "pack", prefix="pack.zip/")
    assert s.votes == 2
    st = face_state(catalog.conn, add_face(catalog, ids["pack.zip/img/q.jpg"]))
    assert (st.status, st.disputed) == ("pending", True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("name,label\nx.jpg,happy\n", "no image column"),
        ("file,score\nx.jpg,3\n", "no label column"),
    ],
)
def test_a_file_that_is_not_a_labels_csv_is_a_one_line_error(tmp_path, text, message):
    csv = tmp_path / "bad.csv"
    csv.write_text(text)
    with pytest.raises(ImportRefused, match=message):
        list(read_labels_csv(csv))


def test_non_utf8_labels_csv_is_refused(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_bytes(b"file,label\n\xff\xfe.jpg,happy\n")
    with pytest.raises(ImportRefused, match="UTF-8"):
        list(read_labels_csv(csv))
