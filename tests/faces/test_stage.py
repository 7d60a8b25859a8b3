"""The extract stage on real photos: counts, statuses, chips, figures, reruns."""

from __future__ import annotations

import io
import json
import math
import struct
import zlib

import dlib
import numpy as np
import pytest
from PIL import Image

import pipeline
from catalog import Catalog
from catalog.db import transaction
from faces.models import LANDMARKS_68, model_path
from faces.quality import eye_centres, face_region
from faces.stage import ExtractOptions, extract

CHIP = 256
PADDING = 0.45


def _huge_png(width: int, height: int) -> bytes:
    """A valid-looking PNG header claiming a huge size (a decompression bomb's shape)."""
    raw = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw += (
        struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )
    idat = zlib.compress(b"\x00" * 1024)
    raw += (
        struct.pack(">I", len(idat))
        + b"IDAT"
        + idat
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    )
    return raw


def _hostile(photo_data: bytes) -> dict[str, bytes]:
    return {
        "truncated.jpg": photo_data[: len(photo_data) // 3],
        "text.jpg": b"<html>this is not an image</html>" * 20,
        "empty.jpg": b"",
        "bomb.png": _huge_png(30_000, 30_000),
        "garbage.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    }


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, extract_photos, photos, add_image_bytes):
    """One catalog of real photos plus hostile files, extracted once with two workers."""
    root = tmp_path_factory.mktemp("extract")
    cat = Catalog.open(root, "t")
    ids = {}
    for p in extract_photos:
        ids[p.name] = add_image_bytes(cat, p.path.read_bytes(), p.name, label="happy")
    single = next(p for p in photos if p.kind == "single_frontal")
    for name, data in _hostile(single.path.read_bytes()).items():
        ids[name] = add_image_bytes(cat, data, name)
    # A stored file that has gone missing since it was recorded.
    gone = add_image_bytes(cat, b"GIF89a" + b"\x00" * 64, "gone.gif")
    path = cat.conn.execute("SELECT path FROM images WHERE id = ?", (gone,)).fetchone()[0]
    (cat.paths.dir / path).unlink()
    ids["gone.gif"] = gone
    # A catalog row whose path leads out of the dataset folder (a tampered catalog).
    cat.conn.execute(
        "INSERT INTO images (sha256, path, width, height, format, bytes, created_at) "
        "VALUES (?, '../../../etc/passwd', 64, 64, 'JPEG', 1, 'now')",
        ("e" * 64,),
    )
    ids["escape"] = cat.conn.execute(
        "SELECT id FROM images WHERE sha256 = ?", ("e" * 64,)
    ).fetchone()[0]
    # The single face as a FER2013-style crop: 48x48 gray, the face too small for upsample 0.
    with Image.open(single.path) as im:
        rgb = im.convert("RGB")
    box = dlib.get_frontal_face_detector()(np.asarray(rgb))[0]
    half = box.width() * 3 // 4
    cx, cy = box.center().x, box.center().y
    crop = rgb.crop((cx - half, cy - half, cx + half, cy + half)).convert("L")
    buf = io.BytesIO()
    crop.resize((48, 48), Image.Resampling.LANCZOS).save(buf, "PNG")
    ids["crop48.png"] = add_image_bytes(cat, buf.getvalue(), "crop48.png", "happy")
    # And rotated: a tilted face the chip must level.
    with Image.open(single.path) as im:
        buf = io.BytesIO()
        im.convert("RGB").rotate(-12, Image.Resampling.BICUBIC, expand=True).save(buf, "PNG")
    ids["rotated.png"] = add_image_bytes(cat, buf.getvalue(), "rotated.png", "happy")
    summary = extract(cat, ExtractOptions(workers=2, chip_size=CHIP, padding=PADDING))
    yield cat, ids, summary
    cat.close()


def _faces_of(cat: Catalog, image_id: int) -> list:
    return cat.conn.execute(
        "SELECT * FROM faces WHERE image_id = ? ORDER BY face_index", (image_id,)
    ).fetchall()


@pytest.mark.slow
def test_face_counts_match_what_dlib_finds(extracted, extract_photos, expected_auto):
    cat, ids, _ = extracted
    for p in extract_photos:
        want = expected_auto(p)
        faces = _faces_of(cat, ids[p.name])
        assert len(faces) == want, f"{p.name}: {len(faces)} faces, manifest says {want}"
        # HOG's own finds are recorded as such; the cascade only adds where HOG found none.
        steps = {"hog"} if expected_auto(p, cascade="off") else {"hog+frame", "cnn"}
        assert {f["detector"] for f in faces} <= steps, p.name
        status = cat.conn.execute(
            "SELECT extract_status FROM images WHERE id = ?", (ids[p.name],)
        ).fetchone()[0]
        assert status == ("done" if want else "no_face"), p.name


def test_small_crops_are_found_only_thanks_to_the_upsample_retry(extracted, extract_photos):
    cat, ids, _ = extracted
    retried = [p.name for p in extract_photos if p.hog_up0 == 0 and p.hog_up1 > 0]
    for name in [*retried, "crop48.png"]:
        found = [r["upsample"] for r in _faces_of(cat, ids[name])]
        assert found and set(found) == {1}, name


def test_bad_files_get_a_reason_not_a_crash(extracted):
    cat, ids, summary = extracted
    want = {
        "truncated.jpg": "truncated",
        "text.jpg": "not_an_image",
        "empty.jpg": "empty",
        "bomb.png": "bomb",
        "garbage.png": "not_an_image",
        "gone.gif": "missing",
        "escape": "bad_path",
    }
    for name, reason in want.items():
        row = cat.conn.execute(
            "SELECT extract_status, extract_reason FROM images WHERE id = ?", (ids[name],)
        ).fetchone()
        assert row[0] == "error", name
        assert row[1].split(":")[0] == reason, f"{name}: {row[1]}"
    assert summary.errors == len(want)


def test_every_face_row_is_complete(extracted):
    cat, _, summary = extracted
    rows = cat.conn.execute(
        "SELECT f.*, i.width, i.height FROM faces f JOIN images i ON i.id = f.image_id"
    ).fetchall()
    assert len(rows) == summary.faces > 0
    for r in rows:
        assert 0 <= r["box_left"] < r["box_right"] < r["width"]
        assert 0 <= r["box_top"] < r["box_bottom"] < r["height"]
        points = json.loads(r["landmarks"])
        assert len(points) == 68 and all(len(p) == 2 for p in points)
        assert r["detector"] in ("hog", "hog+frame", "cnn") and r["score"] is not None
        # HOG's sub-detector (front, left, right, rotated); the CNN has none.
        assert r["subdetector"] in (range(5) if r["detector"] != "cnn" else (None,))
        assert r["chip_size"] == CHIP and r["chip_padding"] == PADDING
        assert r["chip_path"].startswith("chips/") and r["chip_path"].endswith(".png")
        with Image.open(cat.paths.resolve(r["chip_path"])) as chip:
            assert chip.size == (CHIP, CHIP) and chip.mode == "RGB"
        side = math.sqrt((r["box_right"] - r["box_left"]) * (r["box_bottom"] - r["box_top"]))
        # A face cut by the border keeps the size the detector saw.
        assert abs(r["size_px"] - side) < 2 if not r["border_cut"] else r["size_px"] > side
        assert r["sharpness"] > 0 and 0 < r["brightness"] < 255 and r["contrast"] > 0
        assert -90 <= r["yaw"] <= 90 and -90 <= r["pitch"] <= 90 and -180 <= r["roll"] <= 180
        assert len(r["phash"]) == 16 and int(r["phash"], 16) >= 0
        assert r["dup_group"] is not None and r["dup_group"] <= r["id"]
        assert r["embedding"] is None
        state = cat.conn.execute(
            "SELECT * FROM face_state WHERE face_id = ?", (r["id"],)
        ).fetchone()
        assert state["status"] == "pending" and state["label"] == "happy"


@pytest.mark.slow
def test_border_cut_is_flagged(extracted, extract_photos):
    cat, ids, _ = extracted
    partial = [p for p in extract_photos if p.kind == "single_partial"]
    if not partial:
        pytest.skip("no photo of a face cut by the border without ../shared")
    faces = _faces_of(cat, ids[partial[0].name])
    assert [f["border_cut"] for f in faces] == [1]
    whole = next(p for p in extract_photos if p.kind == "single_frontal")
    assert [f["border_cut"] for f in _faces_of(cat, ids[whole.name])] == [0]


def test_chips_are_aligned(extracted):
    """Landmarks found again on the chips: eyes level and at the same place in every chip."""
    cat, _, _ = extracted
    predictor = dlib.shape_predictor(str(model_path(LANDMARKS_68)))
    lo = round(CHIP * PADDING / (1 + 2 * PADDING))
    box = dlib.rectangle(lo, lo, CHIP - lo, CHIP - lo)
    # Within dlib's limits: faces large enough for stable landmarks, turned less
    # than 25 degrees (beyond that the chip's zoom limit moves the eyes inwards).
    # Not cut by the border: there the chip repeats the image's edge pixels, which the
    # predictor reads as more face (test_chip_margins proves those chips keep every
    # image pixel where the black-filled chip had it).
    rows = cat.conn.execute(
        "SELECT chip_path, roll FROM faces WHERE size_px >= 70 AND abs(yaw) <= 25"
        " AND NOT border_cut"
    ).fetchall()
    assert len(rows) >= 2
    centres = []
    for r in rows:
        chip = np.asarray(Image.open(cat.paths.resolve(r["chip_path"])).convert("RGB"))
        points = np.array([(p.x, p.y) for p in predictor(chip, box).parts()], dtype=float)
        left, right = eye_centres(points)
        angle = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
        assert abs(angle) <= 2, f"eye line at {angle:.1f} degrees in {r['chip_path']}"
        centres.append(np.concatenate([left, right]))
    centres = np.array(centres)
    spread = np.abs(centres - np.median(centres, axis=0)).max()
    assert spread <= 2, f"eye centres move by {spread:.1f} px across chips"
    # The rotated copy is tilted in its photo, so alignment did real work.
    assert max(abs(r["roll"]) for r in rows) > 10


def test_face_region_matches_padding():
    chip = np.zeros((256, 256, 3), np.uint8)
    assert face_region(chip, 0.45).shape[:2] == (134, 134)
    assert face_region(chip, 0.0).shape[:2] == (256, 256)


def test_rerun_is_a_no_op(extracted):
    cat, _, _ = extracted
    before = cat.conn.execute("SELECT * FROM faces ORDER BY id").fetchall()
    again = extract(cat, ExtractOptions(workers=2))
    assert (again.images, again.faces, again.near_dup_faces_changed) == (0, 0, 0)
    assert [tuple(r) for r in cat.conn.execute("SELECT * FROM faces ORDER BY id")] == [
        tuple(r) for r in before
    ]


def test_new_images_join_existing_near_duplicate_groups(
    extracted, extract_photos, photos, add_image_bytes
):
    """A later import of a re-encoded copy lands in the group of the face already stored."""
    cat, ids, _ = extracted
    single = next(p for p in extract_photos if p.kind == "single_frontal")
    with Image.open(single.path) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=80)
    copy_id = add_image_bytes(cat, buf.getvalue(), "copy.jpg")
    run = extract(cat, ExtractOptions(workers=1))
    assert run.images == 1 and run.faces >= 1
    original = _faces_of(cat, ids[single.name])[0]
    copy = min(
        _faces_of(cat, copy_id),
        key=lambda f: (
            abs(f["box_left"] - original["box_left"]) + abs(f["box_top"] - original["box_top"])
        ),
    )
    assert copy["dup_group"] == original["dup_group"] == original["id"]
    # Faces of other photos (other people) are not pulled into the group; the
    # rotated copy of the same photo may be.
    same_photo = {ids[single.name], copy_id}
    if single.path == next(p for p in photos if p.kind == "single_frontal").path:
        same_photo.add(ids["rotated.png"])
    members = cat.conn.execute(
        "SELECT image_id FROM faces WHERE dup_group = ?", (original["id"],)
    ).fetchall()
    assert {m[0] for m in members} <= same_photo
    with transaction(cat.conn):
        cat.conn.execute(
            "DELETE FROM face_state WHERE face_id IN (SELECT id FROM faces WHERE image_id = ?)",
            (copy_id,),
        )
        cat.conn.execute("DELETE FROM faces WHERE image_id = ?", (copy_id,))
        cat.conn.execute("DELETE FROM image_sources WHERE image_id = ?", (copy_id,))
        cat.conn.execute("DELETE FROM images WHERE id = ?", (copy_id,))


def test_cli_extract_then_stats(
    data_root, single_face_photo, no_face_photo, add_image_bytes, capsys
):
    with Catalog.open(data_root, "cli") as cat:
        add_image_bytes(cat, single_face_photo.path.read_bytes(), "one.jpg", label="sad")
        add_image_bytes(cat, no_face_photo.path.read_bytes(), "none.png")
    argv = ["--root", str(data_root), "--dataset", "cli"]
    assert pipeline.main([*argv, "extract", "--workers", "1", "--chip-size", "128"]) == 0
    assert "1 faces added" in capsys.readouterr().out
    assert pipeline.main([*argv, "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["faces"] == 1
    by_detector = {"hog": 1, "hog+frame": 0, "cnn": 0, "whole": 0, "given": 0}
    want = {"pending": 0, "done": 1, "no_face": 1, "error": 0, "by_detector": by_detector}
    assert stats["extract"] == want
    assert stats["by_label"]["sad"] == 1
    with Catalog.open(data_root, "cli") as cat:
        assert cat.conn.execute("SELECT chip_size FROM faces").fetchone()[0] == 128


def test_retry_errors_processes_a_restored_file(data_root, single_face_photo, add_image_bytes):
    data = single_face_photo.path.read_bytes()
    with Catalog.open(data_root, "retry") as cat:
        image_id = add_image_bytes(cat, data, "one.jpg")
        stored = cat.paths.resolve(
            cat.conn.execute("SELECT path FROM images WHERE id = ?", (image_id,)).fetchone()[0]
        )
    stored.unlink()
    argv = ["--root", str(data_root), "--dataset", "retry", "extract", "--workers", "1"]
    assert pipeline.main(argv) == 0
    stored.write_bytes(data)
    assert pipeline.main(argv) == 0  # errors stay errors on a plain rerun
    with Catalog.open(data_root, "retry") as cat:
        row = cat.conn.execute("SELECT extract_status, extract_reason FROM images").fetchone()
        assert (row[0], row[1].split(":")[0]) == ("error", "missing")
    assert pipeline.main([*argv, "--retry-errors"]) == 0
    with Catalog.open(data_root, "retry") as cat:
        row = cat.conn.execute("SELECT extract_status, extract_reason FROM images").fetchone()
        assert tuple(row) == ("done", None)
        assert cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == 1


def _box(face) -> tuple[int, int, int, int]:
    return face["box_left"], face["box_top"], face["box_right"], face["box_bottom"]


def _iou(a: tuple, b: tuple) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


@pytest.mark.slow
def test_orientation_and_unusual_pixel_formats(data_root, single_face_photo, add_image_bytes):
    """EXIF-rotated, CMYK, 16-bit and palette files: each decoded upright to RGB, face found."""
    with Image.open(single_face_photo.path) as im:
        rgb = im.convert("RGB")
    variants = {}
    # Stored sideways with an EXIF orientation that turns it upright: HOG finds no
    # sideways face, so a face proves the orientation was applied.
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    buf = io.BytesIO()
    rgb.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=92, exif=exif)
    variants["exif.jpg"] = buf.getvalue()
    buf = io.BytesIO()
    rgb.convert("CMYK").save(buf, "JPEG", quality=92)
    variants["cmyk.jpg"] = buf.getvalue()
    gray16 = Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
    buf = io.BytesIO()
    gray16.save(buf, "PNG")
    variants["gray16.png"] = buf.getvalue()
    buf = io.BytesIO()
    rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(buf, "PNG")
    variants["palette.png"] = buf.getvalue()
    with Catalog.open(data_root, "formats") as cat:
        ids = {name: add_image_bytes(cat, data, name) for name, data in variants.items()}
        extract(cat, ExtractOptions(workers=2))
        r = dlib.get_frontal_face_detector()(np.asarray(rgb))[0]
        want = (r.left(), r.top(), r.right(), r.bottom())
        for name, image_id in ids.items():
            faces = _faces_of(cat, image_id)
            # The face, where it is in the upright photo (a re-encoded astronaut
            # may add dlib's usual false positive on the suit).
            near = [f for f in faces if _iou(_box(f), want) > 0.5]
            assert len(near) == 1, f"{name}: {[_box(f) for f in faces]}"
            with Image.open(cat.paths.resolve(near[0]["chip_path"])) as chip:
                assert chip.mode == "RGB", name
