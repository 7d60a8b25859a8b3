"""Small labelled catalogs with real pixels for the model tests.

Faces are crops of the real test photos. Their class is how the crop was turned
(upright or on its side), a property HOG sees plainly, so that a few dozen faces
are enough for the model to learn and a planted wrong label stands out.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from catalog import Catalog
from catalog.events import record
from catalog.faces import insert_face
from catalog.images import ImageSource, StoredImage, add_image, add_source
from core.storage import store_content

CHIP_PX = 64
CLASSES = {"happy": 0, "sad": 45, "surprise": 90}  # label -> rotation of the crop, degrees


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def crops(paths: list[Path], n: int) -> list[Image.Image]:
    """Up to ``n`` square crops of the photos (places on a grid, four scales), in a fixed order."""
    images = []
    for path in paths:
        with Image.open(path) as src:
            im = ImageOps.exif_transpose(src).convert("RGB")
        im.thumbnail((512, 512))
        images.append(im)
    out: list[Image.Image] = []
    for scale in (0.5, 0.35, 0.7, 0.25):
        for step in range(4):
            for im in images:
                w, h = im.size
                side = max(16, int(min(w, h) * scale))
                x, y = (w - side) * step // 3, (h - side) * (3 - step) // 3
                out.append(im.crop((x, y, x + side, y + side)).resize((CHIP_PX, CHIP_PX)))
                if len(out) >= n:
                    return out
    return out


@dataclass
class Planted:
    """A catalog of labelled faces and the ids whose label was planted wrong."""

    cat: Catalog
    face_ids: list[int]
    labels: dict[int, str]  # face id -> the label the face carries
    true_labels: dict[int, str]
    flipped: list[int] = field(default_factory=list)


def add_face(
    cat: Catalog,
    chip: Image.Image,
    serial: int,
    label: str | None,
    status: str,
    landmarks: str | None = None,
) -> int:
    """Store an image and its chip, add the face and (if asked) label or reject it.

    ``landmarks``: the faces.landmarks column (JSON of 68 points), if any.
    """
    png = _png(chip)
    data = b"image %d " % serial + png
    sha, rel = store_content(cat.paths.dir, "images", data, "png")
    image_id, _ = add_image(cat.conn, StoredImage(sha, rel, CHIP_PX, CHIP_PX, "PNG", len(data)))
    add_source(
        cat.conn,
        image_id,
        ImageSource("import", source_name="t", import_path=f"{serial}.png", source_label=label),
    )
    _, chip_rel = store_content(cat.paths.dir, "chips", png, "png")
    fid = insert_face(
        cat.conn,
        image_id,
        0,
        (0, 0, CHIP_PX - 1, CHIP_PX - 1),
        "hog",
        chip_path=chip_rel,
        chip_size=CHIP_PX,
        chip_padding=0.0,
        landmarks=landmarks,
    )
    if status == "accepted":
        record(cat.conn, fid, "alice", "label", label=label)
    elif status == "rejected":
        record(cat.conn, fid, "alice", "reject", reason="not_a_face")
    return fid


POOL = 120


@pytest.fixture(scope="session")
def crop_pool(photos) -> list[Image.Image]:
    """POOL crops of the test photos, made once per session."""
    return crops([p.path for p in photos], POOL)


@pytest.fixture
def planted(make_catalog, crop_pool) -> Callable[..., Planted]:
    """``planted(per_class, flips, seed, labels, pending)``: accepted faces, some labels wrong."""

    def make(
        per_class: int = 20,
        flips: int = 0,
        seed: int = 0,
        labels: tuple[str, ...] = ("happy", "sad"),
        pending: int = 0,
        rejected: int = 0,
    ) -> Planted:
        cat = make_catalog()
        base = crop_pool[: per_class * len(labels) + pending + rejected]
        assert len(base) == per_class * len(labels) + pending + rejected, "make the test smaller"
        rng = np.random.default_rng(seed)
        n = per_class * len(labels)
        wrong = set(rng.choice(n, size=flips, replace=False).tolist()) if flips else set()
        out = Planted(cat, [], {}, {})
        for i in range(n):
            true = labels[i % len(labels)]
            given = true
            if i in wrong:
                given = labels[(labels.index(true) + 1) % len(labels)]
            fid = add_face(cat, base[i].rotate(CLASSES[true]), i, given, "accepted")
            out.face_ids.append(fid)
            out.labels[fid] = given
            out.true_labels[fid] = true
            if i in wrong:
                out.flipped.append(fid)
        for j in range(pending):
            add_face(
                cat, base[n + j].rotate(CLASSES[labels[j % len(labels)]]), n + j, None, "pending"
            )
        for j in range(rejected):
            # Rejected faces: noise-like, flat crops (what annotators throw away)
            img = base[n + pending + j].resize((8, 8)).resize((CHIP_PX, CHIP_PX))
            add_face(cat, img, n + pending + j, None, "rejected")
        return out

    return make
