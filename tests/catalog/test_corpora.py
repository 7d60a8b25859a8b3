"""A corpus's facts in the catalog: given face boxes, per-image values, subjects and splits."""

from __future__ import annotations

from catalog.corpora import add_image_values, given_boxes, image_values, set_given_box
from catalog.images import ImageSource, StoredImage, add_image, add_source, image_sources


def new_image(cat, n: int) -> int:
    image_id, _ = add_image(cat.conn, StoredImage(f"{n:064x}", f"images/{n}.jpg", 9, 9, "JPEG", 1))
    return image_id


def test_the_first_given_box_is_kept(catalog):
    a, b = new_image(catalog, 1), new_image(catalog, 2)
    assert set_given_box(catalog.conn, a, (1, 2, 30, 40))
    assert not set_given_box(catalog.conn, a, (0, 0, 5, 5))
    assert given_boxes(catalog.conn, [a, b]) == {a: (1, 2, 30, 40)}
    assert given_boxes(catalog.conn, []) == {}


def test_values_once_per_name_and_source(catalog):
    a = new_image(catalog, 1)
    values = [("valence", 0.5), ("arousal", -0.25)]
    assert add_image_values(catalog.conn, a, "affectnet", values) == 2
    assert add_image_values(catalog.conn, a, "affectnet", [("valence", 0.9)]) == 0
    assert image_values(catalog.conn, a) == {"valence": 0.5, "arousal": -0.25}


def test_subject_split_and_frame_choice_are_provenance(catalog):
    a = new_image(catalog, 1)
    src = ImageSource(
        "video_frame",
        source_name="mmi",
        import_path="Sessions/1/S001-001.avi",
        frame_index=12,
        subject="S001",
        source_split=None,
        frame_how="apex:markers",
    )
    add_source(catalog.conn, a, src)
    assert image_sources(catalog.conn, a) == [src]
