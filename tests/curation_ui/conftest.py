"""A small catalog of faces with real chips, for the review app's tests."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

import pytest
from PIL import Image

from catalog.storage import store_content


@pytest.fixture(autouse=True)
def _restore_main_module():
    """AppTest installs its script as ``sys.modules['__main__']`` and leaves it there;
    a later test that spawns processes would then re-run that script in the child."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@dataclass
class Seeded:
    """A catalog seeded with faces, and their ids by name."""

    cat: object
    ids: dict[str, int]


def chip_bytes(photo_path, shift: int) -> bytes:
    """A small real chip: a crop of a real photo (shifted so that chips differ)."""
    with Image.open(photo_path) as im:
        im = im.convert("RGB")
        side = min(im.size) // 2
        left = (im.width - side) // 2 + (shift % 5 - 2) * side // 20
        top = (im.height - side) // 2 + (shift % 3 - 1) * side // 20
        box = (left, top, left + side, top + side)
        crop = im.crop(box).resize((96, 96))
    buf = io.BytesIO()
    crop.save(buf, "PNG")
    return buf.getvalue()


# name: (source label, size_px, sharpness, yaw, dup group leader name or None)
FACES = {
    "happy_big": ("happy", 180.0, 400.0, 2.0, None),
    "happy_dup_best": ("happy", 150.0, 300.0, 5.0, None),
    "happy_dup_worse": ("happy", 60.0, 90.0, 5.0, "happy_dup_best"),
    "happy_blurry": ("happy", 40.0, 10.0, 40.0, None),
    "sad_1": ("sad", 120.0, 200.0, 0.0, None),
    "sad_2": ("sad", 90.0, 150.0, 30.0, None),
    "sad_3": ("sad", 70.0, 120.0, -10.0, None),
    "none_1": (None, 100.0, 100.0, 0.0, None),
    "none_2": (None, 110.0, 100.0, 0.0, None),
    "none_3": (None, 120.0, 100.0, 0.0, None),
}


@pytest.fixture
def seed_faces(make_face, single_face_photo):
    """Fill a catalog with FACES (real PNG chips, quality fields, one near-duplicate pair)."""

    def seed(cat) -> Seeded:
        ids: dict[str, int] = {}
        for i, (name, (label, size, sharp, yaw, leader)) in enumerate(FACES.items()):
            fid = make_face(cat, label)
            _, rel = store_content(
                cat.paths.dir, "chips", chip_bytes(single_face_photo.path, i), "png"
            )
            group = ids[leader] if leader else fid
            cat.conn.execute(
                "UPDATE faces SET chip_path = ?, size_px = ?, sharpness = ?, yaw = ?, "
                "pitch = 0, roll = 0, dup_group = ? WHERE id = ?",
                (rel, size, sharp, yaw, group, fid),
            )
            ids[name] = fid
        return Seeded(cat, ids)

    return seed


@pytest.fixture
def seeded(catalog, seed_faces) -> Seeded:
    """The default-labelled test catalog, seeded."""
    return seed_faces(catalog)
