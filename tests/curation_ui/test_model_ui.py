"""The model in the review app (AppTest): sorts, top-3 toggle, suspects, stale banner, Try it."""

from __future__ import annotations

import pytest

from catalog.events import face_state
from tests.curation_ui.conftest import open_page


@pytest.fixture(scope="module")
def group_photo(photos, single_face_photo):
    """A real photo of a few faces that dlib finds alike at upsample 0 and 1 (else one face)."""
    usable = [p for p in photos if p.hog_up0 == p.hog_up1 >= 1] or [single_face_photo]
    return max(usable, key=lambda p: (p.hog_up0 if p.hog_up0 <= 3 else 0, p.name))


def upload(at, path):
    at.file_uploader(key="ti_upload").set_value((path.name, path.read_bytes(), "image/jpeg"))
    return at.run(timeout=120)


def test_try_it_boxes_the_faces_and_adds_them_as_pending(app_env, group_photo):
    cat = app_env.cat
    at = open_page("try_it")
    assert not at.exception and not at.image
    at = upload(at, group_photo.path)
    assert not at.exception and not at.error
    assert len(at.image) == 1  # the photo with its boxes
    faces = [m.value for m in at.markdown if m.value.startswith("**Face ")]
    assert len(faces) == group_photo.hog_up0
    before = cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    at.button(key="ti_add").click().run(timeout=120)
    assert not at.exception
    assert "pending" in at.success[0].value
    rows = cat.conn.execute(
        "SELECT f.id, i.kind, i.source_name, i.import_path FROM faces f "
        "JOIN image_sources i ON i.image_id = f.image_id WHERE f.id > ? ORDER BY f.id",
        (before,),
    ).fetchall()
    assert len(rows) == group_photo.hog_up0
    provenance = {(r[1], r[2], r[3]) for r in rows}
    assert provenance == {("import", "upload", f"upload/{group_photo.name}")}
    for r in rows:
        st = face_state(cat.conn, r[0])
        assert (st.status, st.label, st.annotators) == ("pending", None, 0)
    # The same photo again: one stored image, no face found twice.
    at.button(key="ti_add").click().run(timeout=120)
    assert "already stored" in at.success[0].value
    assert cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == before + len(rows)


def test_try_it_refuses_a_file_that_is_not_a_photo(app_env):
    at = open_page("try_it")
    at.file_uploader(key="ti_upload").set_value(("x.jpg", b"not a picture", "image/jpeg"))
    at.run()
    assert not at.exception
    assert at.error[0].value == "this file cannot be used as a photo: not an image"
