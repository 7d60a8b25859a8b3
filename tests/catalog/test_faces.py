"""insert_faces (extract's writer) leaves what insert_face, one face at a time, leaves."""

from __future__ import annotations

import pytest

from catalog.faces import face_row, insert_face, insert_faces
from catalog.images import ImageSource, StoredImage, add_image, add_source
from catalog.votes import ImageVote, add_image_votes


def _image(cat, n: int, label: str | None, votes: list[ImageVote]) -> int:
    sha = f"{n:064x}"
    image_id, _ = add_image(cat.conn, StoredImage(sha, f"images/{sha}.jpg", 64, 64, "JPEG", 1))
    add_source(cat.conn, image_id, ImageSource("import", import_path=str(n), source_label=label))
    add_image_votes(cat.conn, image_id, votes)
    return image_id


def _state(cat, face_ids: list[int]) -> list[tuple]:
    marks = ",".join("?" * len(face_ids))
    states = cat.conn.execute(
        "SELECT status, label, label_origin, reason, annotators, disputed FROM face_state "
        f"WHERE face_id IN ({marks}) ORDER BY face_id",
        face_ids,
    ).fetchall()
    events = cat.conn.execute(
        f"SELECT annotator, action, label, reason FROM label_events WHERE face_id IN ({marks}) "
        "ORDER BY face_id, id",
        face_ids,
    ).fetchall()
    return [tuple(r) for r in states] + [tuple(r) for r in events]


@pytest.mark.parametrize(
    ("label", "votes"),
    [
        (None, []),
        ("happy", []),
        ("happy", [ImageVote("ferplus:1", "label", "sad", None, "ferplus")]),
        (None, [ImageVote("mmi", "reject", None, "not_a_face", "mmi")]),
    ],
    ids=["bare", "source-label", "a-vote", "a-reject"],
)
def test_insert_faces_equals_insert_face_one_by_one(catalog, label, votes):
    rows = [face_row(i, (i, i, i + 40, i + 40), "hog", score=1.0) for i in range(3)]
    one_by_one = [insert_face(catalog.conn, _image(catalog, 1, label, votes), r) for r in rows]
    batched = insert_faces(catalog.conn, _image(catalog, 2, label, votes), rows)
    assert len(batched) == 3
    assert _state(catalog, batched) == _state(catalog, one_by_one)
    assert _state(catalog, batched)  # every face has its state row
