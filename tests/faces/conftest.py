"""Fixtures of the extract tests: catalogs holding real photos (and hostile files)."""

from __future__ import annotations

import pytest

from catalog import Catalog
from catalog.images import ImageSource, StoredImage, add_image, add_source
from core.decode import ImageRejected, decode_image
from core.storage import store_content
from faces.detect import SMALL_SIDE


def _add_image_bytes(cat: Catalog, data: bytes, name: str, label: str | None = None) -> int:
    """Store bytes as an imported image (valid or not, as the importer would find them)."""
    try:
        decoded = decode_image(data)
        size, fmt, ext = (decoded.width, decoded.height), decoded.format, decoded.ext
    except ImageRejected:
        size, fmt, ext = (0, 0), "JPEG", "jpg"
    sha, rel = store_content(cat.paths.dir, "images", data, ext)
    image_id, _ = add_image(cat.conn, StoredImage(sha, rel, *size, fmt, len(data)))
    add_source(
        cat.conn,
        image_id,
        ImageSource("import", source_name="test", import_path=name, source_label=label),
    )
    return image_id


def _expected_auto(photo, cascade: str = "auto") -> int:
    """What ``--upsample auto`` should find in a manifest photo: its upsample-1 count
    where upsample 0 finds nothing or the image is small, else its upsample-0 count.

    Under ``--cascade auto`` a FER2013 crop where HOG finds nothing has its one
    face found by a later step; the photos without faces stay without."""
    from PIL import Image

    with Image.open(photo.path) as im:
        small = max(im.size) < SMALL_SIDE
    hog = photo.hog_up1 if photo.hog_up0 == 0 or small else photo.hog_up0
    if hog == 0 and cascade == "auto" and photo.kind == "fer2013_crop_48px":
        return 1
    return hog


@pytest.fixture(scope="session")
def extract_photos(photos):
    """A handful of photos covering single, tilted, group, small, cut, no-face and 48 px faces."""
    kinds = [
        "single_frontal",
        "single_tilted",
        "single_partial",
        "multi_face",
        "small_face",
        "no_face",
        "no_face_cartoon",
    ]
    chosen = []
    for kind in kinds:
        # The cheapest photo of each kind keeps the suite fast on two cores.
        of_kind = sorted((p for p in photos if p.kind == kind), key=lambda p: p.path.stat().st_size)
        if kind == "multi_face":
            # One whose faces need the upsample-1 retry, one found at 0.
            chosen += [p for p in of_kind if p.hog_up0 == 0][:1]
            chosen += [p for p in of_kind if p.hog_up0 >= 2][:1]
        elif kind == "small_face":
            chosen += [p for p in of_kind if p.hog_up0 == 0][:1]
        else:
            chosen += of_kind[:1]
    chosen += [p for p in photos if p.kind == "fer2013_crop_48px"]
    return chosen


@pytest.fixture(scope="session")
def add_image_bytes():
    """``add(cat, data, name, label=None) -> image id``: store bytes as an imported image."""
    return _add_image_bytes


@pytest.fixture(scope="session")
def expected_auto():
    """``expected(photo, cascade="auto") -> int``: the faces ``--upsample auto`` finds."""
    return _expected_auto


# --- the astronaut and tight crops of her face, one for each cascade step ----------------
# scikit-image's photo: no ../shared needed. HOG finds her face at upsample 0; cropped
# inside its own box, only the frame step (15% cut) or only the CNN step (20%) does.
FRAME_CUT = 0.15
CNN_CUT = 0.2


def tight_crop(astronaut, cut: float):
    """The face cropped inside its own box (``cut`` of its width off the top and sides, half
    that off the chin): a crop where the face fills the frame. Also where the face box
    lies in the crop's pixels."""
    img, (left, top, right, bottom), _ = astronaut
    w = right - left
    crop = (round(left + cut * w), round(top + cut * w), round(right - cut * w), bottom)
    crop = (*crop[:3], round(bottom - cut * w / 2))
    face = (left - crop[0], top - crop[1], right - crop[0], bottom - crop[1])
    return img.crop(crop), face


@pytest.fixture(scope="session")
def models():
    """dlib's HOG detector and 68-point landmark model (the CNN on first need)."""
    from faces.models import load_models

    return load_models()


@pytest.fixture(scope="session")
def astronaut(models, tmp_path_factory):
    """scikit-image's astronaut photo, her face box and her extracted face (HOG at upsample 0)."""
    from PIL import Image
    from skimage import data as skimage_data

    from faces.detect import DetectParams, detect_faces
    from faces.worker import WorkerConfig, find_faces

    img = Image.fromarray(skimage_data.astronaut())
    dets = detect_faces(models, img, DetectParams(upsample="0", cascade="off"))
    assert len(dets) == 1
    box = dets[0].raw_box
    return img, box, find_faces(models, WorkerConfig(), img)[0][0]


@pytest.fixture(scope="session")
def frame_crop(astronaut):
    """A tight crop of the astronaut's face that HOG misses and the frame step finds."""
    return tight_crop(astronaut, FRAME_CUT)[0]


@pytest.fixture(scope="session")
def cnn_crop(astronaut):
    """A tighter crop of her face that only the CNN step finds."""
    return tight_crop(astronaut, CNN_CUT)[0]
