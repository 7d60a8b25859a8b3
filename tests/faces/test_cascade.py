"""Faces in tight crops: the frame and CNN steps, --whole-image, face crops, the step recorded."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pipeline
from catalog import Catalog
from catalog.faces import FaceRow, face_row_of, insert_face
from catalog.images import mark_face_crops
from core.decode import decode_image
from faces import detect
from faces.detect import DetectParams, detect_faces, frame_step
from faces.options import ExtractOptions
from faces.quality import eye_centres
from faces.stage import extract
from faces.worker import WorkerConfig, find_faces
from tests.conftest import SHARED_FER
from tests.faces.conftest import tight_crop


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return ix * iy / (area - ix * iy)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_frame_step_finds_a_tight_crop_hog_misses(models, astronaut):
    crop, face = tight_crop(astronaut, 0.15)
    assert detect_faces(models, crop, DetectParams(cascade="off")) == []  # upsample 0 and 1
    (det,) = detect_faces(models, crop, DetectParams())
    assert det.step == "hog+frame" and det.subdetector in range(5)
    # Back in the crop's pixels: the box the detector saw reaches outside, the stored one is
    # clipped to the crop.
    assert det.border_cut and det.raw_box[0] < 0 and det.raw_box[1] < 0
    assert det.box == (
        max(0, det.raw_box[0]),
        max(0, det.raw_box[1]),
        min(crop.width - 1, det.raw_box[2]),
        min(crop.height - 1, det.raw_box[3]),
    )
    assert iou(det.raw_box, face) >= 0.8


def test_cnn_step_finds_what_the_frame_misses(models, astronaut):
    crop, face = tight_crop(astronaut, 0.2)
    assert frame_step(models, crop) == []
    (det,) = detect_faces(models, crop, DetectParams())
    assert det.step == "cnn" and det.subdetector is None and det.score > 0
    assert det.border_cut
    assert 0 <= det.box[0] < det.box[2] < crop.width and 0 <= det.box[1] < det.box[3] < crop.height
    assert iou(det.raw_box, face) >= 0.5


def test_landmarks_of_a_tight_crop_map_back_to_its_pixels(models, astronaut, tmp_path):
    """The 68 points fitted in the framed copy land where they are on the full photo."""
    crop, face = tight_crop(astronaut, 0.15)
    ((row, png),) = find_faces(models, WorkerConfig(), crop)
    assert row.detector == "hog+frame" and row.border_cut == 1
    points = np.array(json.loads(row.landmarks), dtype=float)
    full = np.array(json.loads(astronaut[2].landmarks), dtype=float)
    shift = np.array(face[:2], dtype=float) - np.array(astronaut[1][:2], dtype=float)
    got, want = eye_centres(points), eye_centres(full + shift)
    width = face[2] - face[0]
    for g, w in zip(got, want, strict=True):
        assert np.hypot(*(g - w)) <= 0.06 * width
    assert Image.open(io.BytesIO(png)).size == (row.chip_size, row.chip_size)


@pytest.fixture(scope="module")
def crops_dataset(tmp_path_factory, astronaut, single_face_photo, no_face_photo):
    """A root with the same four images in datasets 'auto' and 'off': a photo, a frame-step
    crop, a CNN-step crop and a photo without a face."""
    from tests.faces.conftest import _add_image_bytes

    root = tmp_path_factory.mktemp("cascade")
    images = {
        "photo.jpg": single_face_photo.path.read_bytes(),
        "frame.png": _png(tight_crop(astronaut, 0.15)[0]),
        "cnn.png": _png(tight_crop(astronaut, 0.2)[0]),
        "none.png": no_face_photo.path.read_bytes(),
    }
    ids = {}
    for name in ("auto", "off"):
        with Catalog.open(root, name) as cat:
            ids = {k: _add_image_bytes(cat, v, k, "happy") for k, v in images.items()}
    return root, ids


def _faces(root: Path, dataset: str) -> dict[int, list]:
    with Catalog.open(root, dataset) as cat:
        out: dict[int, list] = {}
        for r in cat.conn.execute("SELECT * FROM faces ORDER BY image_id, face_index"):
            out.setdefault(r["image_id"], []).append(dict(r))
        return out


def test_extract_records_the_step_and_stats_count_it(crops_dataset, capsys):
    root, ids = crops_dataset
    argv = ["--root", str(root), "--dataset", "auto"]
    assert pipeline.main([*argv, "extract", "--workers", "1", "--cascade", "auto"]) == 0
    line = capsys.readouterr().out
    assert "3 faces added (hog 1, hog+frame 1, cnn 1)" in line
    faces = _faces(root, "auto")
    steps = {name: [f["detector"] for f in faces.get(i, [])] for name, i in ids.items()}
    assert steps == {
        "photo.jpg": ["hog"],
        "frame.png": ["hog+frame"],
        "cnn.png": ["cnn"],
        "none.png": [],
    }
    assert pipeline.main([*argv, "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["extract"]["by_detector"] == {
        "hog": 1,
        "hog+frame": 1,
        "cnn": 1,
        "whole": 0,
        "given": 0,
    }
    assert (stats["extract"]["done"], stats["extract"]["no_face"]) == (3, 1)
    assert stats["faces"] == 3


def test_cascade_off_keeps_what_hog_alone_finds(crops_dataset):
    root, ids = crops_dataset
    with Catalog.open(root, "off") as cat:
        s = extract(cat, ExtractOptions(workers=1, cascade="off"))
    assert (s.done, s.no_face, s.faces, s.by_detector) == (1, 3, 1, {"hog": 1})
    off = _faces(root, "off")
    assert set(off) == {ids["photo.jpg"]}
    with Catalog.open(root, "auto") as cat:
        if cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == 0:
            extract(cat, ExtractOptions(workers=1))
    auto = _faces(root, "auto")
    # The photo HOG finds at upsample 0: the same row under either cascade.
    keys = ("box_left", "box_top", "box_right", "box_bottom", "score", "landmarks", "chip_path")
    (a,), (o,) = auto[ids["photo.jpg"]], off[ids["photo.jpg"]]
    assert {k: a[k] for k in keys} == {k: o[k] for k in keys} and a["upsample"] == 0


def test_whole_image_gives_one_face_per_image(data_root, astronaut, no_face_photo, add_image_bytes):
    crop = tight_crop(astronaut, 0.25)[0].resize((48, 48), Image.Resampling.LANCZOS).convert("L")
    with Catalog.open(data_root, "whole") as cat:
        ids = [
            add_image_bytes(cat, _png(crop), "crop.png"),
            add_image_bytes(cat, no_face_photo.path.read_bytes(), "none.png"),
        ]
        s = extract(cat, ExtractOptions(workers=1, whole_image=True))
        assert (s.done, s.no_face, s.faces, s.by_detector) == (2, 0, 2, {"whole": 2})
        for image_id in ids:
            (r,) = cat.conn.execute("SELECT * FROM faces WHERE image_id = ?", (image_id,))
            w, h = cat.conn.execute(
                "SELECT width, height FROM images WHERE id = ?", (image_id,)
            ).fetchone()
            assert (r["box_left"], r["box_top"], r["box_right"], r["box_bottom"]) == (
                0,
                0,
                w - 1,
                h - 1,
            )
            assert r["detector"] == "whole" and r["border_cut"] == 0 and r["score"] is None
            assert len(json.loads(r["landmarks"])) == 68
            assert cat.paths.resolve(r["chip_path"]).is_file()


def test_marked_face_crops_are_whole_without_the_flag(
    data_root, astronaut, single_face_photo, add_image_bytes
):
    crop = tight_crop(astronaut, 0.25)[0]  # no step finds this one: only the mark does
    with Catalog.open(data_root, "marked") as cat:
        crop_id = add_image_bytes(cat, _png(crop), "crop.png")
        photo_id = add_image_bytes(cat, single_face_photo.path.read_bytes(), "photo.jpg")
        assert mark_face_crops(cat.conn, [crop_id]) == 1
        assert mark_face_crops(cat.conn, [crop_id]) == 0  # already marked
        s = extract(cat, ExtractOptions(workers=1))
        assert s.by_detector == {"hog": 1, "whole": 1}
        got = dict(cat.conn.execute("SELECT image_id, detector FROM faces"))
        assert got == {crop_id: "whole", photo_id: "hog"}


def test_face_row_round_trip(catalog, add_image_bytes, single_face_photo):
    image_id = add_image_bytes(catalog, single_face_photo.path.read_bytes(), "a.jpg")
    row = FaceRow(
        face_index=0,
        box=(1, 2, 30, 40),
        detector="hog+frame",
        score=0.5,
        subdetector=1,
        upsample=2,
        landmarks="[[1,2]]",
        chip_path="chips/ab/x.png",
        chip_size=256,
        chip_padding=0.45,
        size_px=33.0,
        sharpness=1.5,
        brightness=100.0,
        contrast=20.0,
        roll=1.0,
        yaw=-2.0,
        pitch=3.0,
        border_cut=1,
        phash="0123456789abcdef",
        dup_group=None,
        embedding=b"\x00\x01",
    )
    face_id = insert_face(catalog.conn, image_id, row)
    assert face_row_of(catalog.conn, face_id) == row
    # The loose spelling builds the same row and refuses what is no column.
    other = insert_face(catalog.conn, image_id, 1, (1, 2, 30, 40), "hog", score=0.25)
    assert face_row_of(catalog.conn, other) == FaceRow(1, (1, 2, 30, 40), "hog", score=0.25)
    with pytest.raises(ValueError, match="unknown face fields: bogus"):
        insert_face(catalog.conn, image_id, 2, (1, 2, 30, 40), "hog", bogus=1)
    with pytest.raises(ValueError):
        insert_face(catalog.conn, image_id, row, (1, 2, 3, 4))


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_FER.is_dir(), reason="needs ../shared/testdata/fer2013_privatetest")
def test_cascade_finds_fer2013_faces(data_root, add_image_bytes):
    """15 crops of each FER2013 class (PrivateTest): HOG alone finds about two in three."""
    rng = random.Random(12)
    with Catalog.open(data_root, "fer") as cat:
        labels = {}
        for folder in sorted(p for p in SHARED_FER.iterdir() if p.is_dir()):
            for f in rng.sample(sorted(folder.glob("*.jpg")), 15):
                labels[add_image_bytes(cat, f.read_bytes(), f.name, folder.name)] = folder.name
        s = extract(cat, ExtractOptions(workers=2))
        found = {r[0] for r in cat.conn.execute("SELECT DISTINCT image_id FROM faces")}
    share = len(found & set(labels)) / len(labels)
    assert share >= 0.9, f"faces in {share:.0%} of {len(labels)} FER2013 crops"
    assert s.by_detector.get("hog+frame", 0) + s.by_detector.get("cnn", 0) > 0


def test_a_photo_without_a_face_costs_no_cnn_pass(models, no_face_photo, monkeypatch):
    """The cascade's expensive steps run only where they can pay: a photo (not a crop)
    where HOG sees no face, nor comes close, gets neither the frame step nor the CNN."""
    ran: list[str] = []
    monkeypatch.setattr(detect, "frame_step", lambda m, img: ran.append("frame") or [])
    monkeypatch.setattr(detect, "cnn_step", lambda m, img: ran.append("cnn") or [])
    img = decode_image(no_face_photo.path.read_bytes()).rgb
    assert not detect.looks_like_a_crop(img.size)
    assert detect.detect_faces(models, img, DetectParams()) == []
    assert "cnn" not in ran
    # The same photo framed like a face crop (small, square): both steps get their turn.
    small = img.resize((96, 96))
    assert detect.looks_like_a_crop(small.size)
    detect.detect_faces(models, small, DetectParams())
    assert ran[-2:] == ["frame", "cnn"]


@pytest.mark.parametrize(
    ("size", "near_miss", "steps"),
    [
        ((48, 48), False, (True, True)),  # a FER2013 crop
        ((256, 220), False, (True, True)),  # an avatar
        ((300, 300), False, (False, False)),  # larger than a crop
        ((200, 120), False, (False, False)),  # not squarish
        ((1024, 768), True, (True, False)),  # a photo HOG nearly took: the frame step only
    ],
)
def test_cascade_steps_run_where_they_can_pay(size, near_miss, steps):
    assert detect.cascade_steps(size, near_miss) == steps


@pytest.mark.parametrize(
    ("box", "side", "at_border"),
    [
        ((-9, 3, 49, 55), 48, True),  # past the edge (a FER2013 face HOG nearly took)
        ((10, 60, 70, 120), 200, True),  # 10 px from the left edge: within a quarter of 60
        ((16, 60, 76, 120), 200, False),  # 16 px: beyond it
        ((140, 139, 199, 199), 200, True),  # touching the bottom right corner
        ((216, 130, 268, 182), 512, False),  # inside a 512 px photo (a web-like variant)
    ],
)
def test_a_window_is_at_the_border_where_it_reaches_the_edge(box, side, at_border):
    assert detect.at_border(box, side, side) == at_border


@pytest.mark.parametrize(
    ("window", "framed"), [((-12, 100, 68, 180), True), ((260, 180, 340, 260), False)]
)
def test_a_near_miss_earns_the_frame_step_only_at_the_border(models, monkeypatch, window, framed):
    """A window HOG nearly took gets the frame step's second look only where it reaches
    the border: inside the photo a frame adds no pixel to it (on the web-like benchmark
    set 9 such looks cost 0.6 s and found nothing)."""
    ran: list[str] = []
    monkeypatch.setattr(detect, "_run", lambda *a, **k: [(window, -0.1, 0)])
    monkeypatch.setattr(detect, "frame_step", lambda m, img: ran.append("frame") or [])
    monkeypatch.setattr(detect, "cnn_step", lambda m, img: ran.append("cnn") or [])
    photo = Image.new("RGB", (640, 480), (90, 120, 160))
    assert detect.detect_faces(models, photo, DetectParams()) == []
    assert ran == (["frame"] if framed else [])


def test_a_face_cut_by_a_photos_border_gets_the_frame_step(models, astronaut, monkeypatch):
    """A real near miss: the astronaut's face cut by the left edge of a 400 px photo (not a
    crop) scores just under HOG's threshold there, and the frame step takes its look."""
    img, (left, top, right, bottom), _ = astronaut
    cut = left + round(0.45 * (right - left))
    photo = img.crop((cut, top - 20, right + 200, bottom + 150))
    photo = photo.resize((400, round(400 * photo.height / photo.width)))
    assert not detect.looks_like_a_crop(photo.size)
    ran: list[str] = []
    real = detect.frame_step
    monkeypatch.setattr(detect, "frame_step", lambda m, im: ran.append("frame") or real(m, im))
    detect.detect_faces(models, photo, DetectParams())
    assert ran == ["frame"]


def test_a_small_image_asks_the_higher_level_first_and_finds_the_same_faces(
    models, astronaut, monkeypatch
):
    """On a small image both levels run and the higher one's faces win where it has any:
    it is asked first, and the lower level runs only where it finds none."""
    img = astronaut[0].resize((300, 300))
    levels: list[int] = []
    real = detect._run
    monkeypatch.setattr(
        detect, "_run", lambda m, arr, level, *a: levels.append(level) or real(m, arr, level, *a)
    )
    (face,) = detect.detect_faces(models, img, DetectParams())
    assert levels == [1] and face.upsample == 1
    # Where the higher level finds nothing, the lower one still gets its turn.
    levels.clear()
    blank = Image.new("RGB", (300, 200), (90, 120, 160))
    assert detect.detect_faces(models, blank, DetectParams(cascade="off")) == []
    assert levels == [1, 0]
