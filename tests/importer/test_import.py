"""facesift import: folders, zips, FER2013-style CSVs, videos; refusals recorded, never a crash."""

from __future__ import annotations

import io
import os
import shutil
import zipfile

import pytest

from catalog.events import face_state
from catalog.faces import insert_face
from importer.errors import ImportRefused
from importer.options import ImportOptions
from importer.stage import import_path
from tests.importer.conftest import fer_row, png_bytes


def sources(cat):
    return cat.conn.execute(
        "SELECT kind, source_name, import_path, source_label, frame_index, frame_time "
        "FROM image_sources ORDER BY id"
    ).fetchall()


def errors(cat):
    return {r[0]: r[1] for r in cat.conn.execute("SELECT import_path, reason FROM import_errors")}


def test_folder_with_labels_from_folder_names_and_aliases(catalog, tmp_path, single_face_photo):
    root = tmp_path / "mmi"
    for folder, seed in [("happy", 1), ("Disgusted", 2), ("train/sad/session1", 3), ("cats", 4)]:
        (root / folder).mkdir(parents=True)
        (root / folder / f"{seed}.png").write_bytes(png_bytes(seed))
    shutil.copy(single_face_photo.path, root / "happy" / single_face_photo.name)
    (root / "happy" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.png").write_bytes(png_bytes(9))

    s = import_path(catalog, ImportOptions(root, labels_from="folders"))

    assert (s.images_new, s.labelled, s.source_name) == (4, 4, "mmi")
    got = {r["import_path"]: r["source_label"] for r in sources(catalog)}
    assert got == {
        "Disgusted/2.png": "disgust",
        f"happy/{single_face_photo.name}": "happy",
        "happy/1.png": "happy",
        "train/sad/session1/3.png": "sad",  # the nearest folder that is a label
    }
    errs = errors(catalog)
    assert errs["cats/4.png"].startswith("unknown_label")
    assert errs["happy/notes.txt"].startswith("not_an_image")
    assert ".hidden/x.png" not in errs and len(errs) == 2
    # Stored by content under images/, never under an imported name.
    for (path,) in catalog.conn.execute("SELECT path FROM images"):
        assert path.startswith("images/") and (catalog.paths.dir / path).is_file()


def test_reimport_adds_nothing_and_a_second_source_is_a_provenance(catalog, tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    (root / "a.png").write_bytes(png_bytes(1))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    first = import_path(catalog, ImportOptions(root, label="happy"))
    again = import_path(catalog, ImportOptions(root, label="happy"))
    assert (first.images_new, first.sources_new, first.refused) == (1, 1, 1)
    assert (again.images_new, again.images_known, again.sources_new) == (0, 1, 0)
    assert catalog.conn.execute("SELECT COUNT(*) FROM import_errors").fetchone()[0] == 1
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "b.png").write_bytes(png_bytes(1))
    other = import_path(catalog, ImportOptions(tmp_path / "copy", label="sad"))
    assert (other.images_new, other.images_known, other.sources_new) == (0, 1, 1)
    assert [(r["import_path"], r["source_label"]) for r in sources(catalog)] == [
        ("a.png", "happy"),
        ("b.png", "sad"),
    ]


def test_the_source_label_becomes_the_pending_label_of_the_face(catalog, tmp_path):
    root = tmp_path / "x"
    root.mkdir()
    (root / "a.png").write_bytes(png_bytes(5))
    import_path(catalog, ImportOptions(root, label="Joy"))  # an alias of happy
    image_id = catalog.conn.execute("SELECT id FROM images").fetchone()[0]
    face = insert_face(catalog.conn, image_id, 0, (1, 1, 30, 30), "hog")
    st = face_state(catalog.conn, face)
    assert (st.status, st.label, st.label_origin) == ("pending", "happy", "source")
    assert catalog.conn.execute("SELECT COUNT(*) FROM label_events").fetchone()[0] == 0


def test_fer2013_csv_rows_and_their_refusals(make_catalog, tmp_path):
    cat = make_catalog("two", "happy,sad")
    csv = tmp_path / "fer2013.csv"
    lines = [
        b"emotion,pixels,Usage\n",
        fer_row(3, 1).encode(),  # happy
        fer_row(4, 2, "PublicTest").encode(),  # sad
        fer_row(0, 3).encode(),  # angry: not in this dataset's labels
        fer_row(9, 4).encode(),  # no such emotion
        fer_row(3, 5, n=2000).encode(),  # wrong pixel count
        b"3,1 2 \xff\xfe,Training\n",  # not UTF-8
        fer_row(3, 1).encode(),  # the same pixels as row 0: one image, two provenances
    ]
    csv.write_bytes(b"".join(lines))
    s = import_path(cat, ImportOptions(csv))
    assert (s.source_name, s.images_new, s.images_known, s.refused) == ("fer2013", 2, 1, 4)
    got = {r["import_path"]: r["source_label"] for r in sources(cat)}
    assert got == {
        "fer2013.csv:0:Training": "happy",
        "fer2013.csv:1:PublicTest": "sad",
        "fer2013.csv:6:Training": "happy",
    }
    w, h, fmt = cat.conn.execute("SELECT width, height, format FROM images LIMIT 1").fetchone()
    assert (w, h, fmt) == (48, 48, "PNG")
    splits = dict(cat.conn.execute("SELECT import_path, source_split FROM image_sources"))
    assert splits["fer2013.csv:1:PublicTest"] == "PublicTest"  # Usage: the corpus's own split
    errs = errors(cat)
    assert errs["fer2013.csv:2:Training"].startswith("unknown_label")
    assert errs["fer2013.csv:3:Training"].startswith("unknown_label")
    assert errs["fer2013.csv:4:Training"].startswith("wrong_pixel_count")
    assert errs["fer2013.csv:5"].startswith("bad_encoding")


def test_fer2013_with_a_fixed_label_and_source_and_a_wrong_csv(catalog, tmp_path):
    csv = tmp_path / "rows.csv"
    csv.write_text("emotion,pixels\n" + fer_row(0, 1).rsplit(",", 1)[0] + "\n")
    s = import_path(catalog, ImportOptions(csv, label="neutral", source="ferplus"))
    assert s.images_new == 1
    (row,) = sources(catalog)
    assert (row["source_name"], row["import_path"], row["source_label"]) == (
        "ferplus",
        "rows.csv:0",
        "neutral",
    )
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ImportRefused, match="pixels"):
        import_path(catalog, ImportOptions(bad))


def _zip(entries, symlink=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777) << 16
            zf.writestr(info, "../../../etc/passwd")
    return buf.getvalue()


def test_zip_with_traversal_names_symlinks_and_a_bomb(catalog, tmp_path):
    archive = tmp_path / "upload.zip"
    archive.write_bytes(
        _zip(
            [
                ("happy/a.png", png_bytes(1)),
                ("../../escape/sad/b.png", png_bytes(2)),
                ("/abs/sad/c.png", png_bytes(3)),
                ("bomb.png", b"\0" * (8 << 20)),
                ("__MACOSX/happy/._a.png", b"junk"),
                ("inner.zip", _zip([("x.png", png_bytes(4))])),
            ],
            symlink="happy/link.png",
        )
    )
    s = import_path(catalog, ImportOptions(archive, labels_from="folders"))
    assert s.images_new == 3
    labels = {r["import_path"]: r["source_label"] for r in sources(catalog)}
    assert labels["upload.zip/happy/a.png"] == "happy"
    assert labels["upload.zip/../../escape/sad/b.png"] == "sad"
    errs = errors(catalog)
    assert errs["upload.zip/bomb.png"].startswith("zip_bomb")
    assert errs["upload.zip/happy/link.png"].startswith("symlink")
    assert errs["upload.zip/inner.zip"].startswith("nested_archive")
    # Nothing was written outside the dataset folder, nothing under an entry's name.
    assert not (tmp_path / "escape").exists()
    written = {p.relative_to(catalog.paths.dir).parts[0] for p in catalog.paths.dir.rglob("*.png")}
    assert written == {"images"}


def test_zip_total_size_limit_and_a_broken_zip(catalog, tmp_path):
    from importer.readers import ReadOptions

    archive = tmp_path / "big.zip"
    archive.write_bytes(_zip([(f"{i}.png", png_bytes(i, 256)) for i in range(3)]))
    small = ReadOptions(zip_max_total_bytes=1000)
    s = import_path(catalog, ImportOptions(archive, limits=small))
    assert (s.images_new, s.reasons["zip_bomb"]) == (0, 1)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 truncated")
    s = import_path(catalog, ImportOptions(broken))
    assert s.reasons["bad_zip"] == 1


def test_a_zip_of_a_version_python_cannot_read_is_one_refusal(catalog, tmp_path):
    """The central directory's "version needed to extract" above what zipfile reads (6.4):
    ZipFile() raises NotImplementedError, which must be a recorded reason, not a crash."""
    data = bytearray(_zip([("happy/a.png", png_bytes(1))]))
    central = data.index(b"PK\x01\x02")
    data[central + 6] = 64  # version needed to extract: 6.4
    archive = tmp_path / "new.zip"
    archive.write_bytes(bytes(data))
    s = import_path(catalog, ImportOptions(archive))
    assert (s.images_new, s.refused, s.reasons["bad_zip"]) == (0, 1, 1)


def test_symlinks_out_of_the_folder_are_not_followed(catalog, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png_bytes(7))
    root = tmp_path / "in"
    (root / "happy").mkdir(parents=True)
    (root / "happy" / "ok.png").write_bytes(png_bytes(8))
    os.symlink(outside, root / "happy" / "leak.png")
    os.symlink(tmp_path, root / "dirlink")
    s = import_path(catalog, ImportOptions(root, labels_from="folders"))
    assert s.images_new == 1
    assert errors(catalog)["happy/leak.png"].startswith("symlink_outside")


def test_video_frames_sampled_at_the_rate_asked(catalog, tmp_path, write_video):
    video = write_video(tmp_path / "clip.mp4", seconds=3.0, fps=10)
    s = import_path(catalog, ImportOptions(video, label="surprise", fps=2))
    rows = sources(catalog)
    assert s.frames == len(rows) == 6
    assert {r["kind"] for r in rows} == {"video_frame"}
    times = [r["frame_time"] for r in rows]
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], abs=0.051)
    assert [r["frame_index"] for r in rows] == [0, 5, 10, 15, 20, 25]
    assert {r["source_label"] for r in rows} == {"surprise"}


def test_a_file_that_claims_to_be_a_video_and_is_not(catalog, tmp_path, write_video):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    text = tmp_path / "notes.avi"
    text.write_text("hello")
    real = write_video(tmp_path / "ok.mp4", seconds=1.0)
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(real.read_bytes()[: real.stat().st_size // 3])
    for p in (fake, text, truncated):
        s = import_path(catalog, ImportOptions(p))
        assert s.refused == 1 and s.frames == 0, (p.name, s.reasons)
    reasons = errors(catalog)
    assert reasons["fake.mp4"].startswith("not_a_video")
    assert reasons["notes.avi"].startswith("not_a_video")


def test_bad_options_are_one_line_errors(catalog, tmp_path):
    from catalog.labels import LabelError

    img = tmp_path / "a.png"
    img.write_bytes(png_bytes(1))
    with pytest.raises(ImportRefused, match="does not exist"):
        import_path(catalog, ImportOptions(tmp_path / "missing"))
    with pytest.raises(ImportRefused, match="not both"):
        import_path(catalog, ImportOptions(tmp_path, label="happy", labels_from="folders"))
    with pytest.raises(ImportRefused, match="folder or a zip"):
        import_path(catalog, ImportOptions(img, labels_from="folders"))
    with pytest.raises(LabelError):
        import_path(catalog, ImportOptions(img, label="bored"))
    assert catalog.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0


def test_a_video_and_a_csv_inside_a_zip(catalog, tmp_path, write_video):
    video = write_video(tmp_path / "clip.mp4", seconds=2.0, fps=10)
    csv = "emotion,pixels,Usage\n" + fer_row(5, 1)
    archive = tmp_path / "mixed.zip"
    archive.write_bytes(_zip([("sad/clip.mp4", video.read_bytes()), ("rows.csv", csv)]))
    s = import_path(catalog, ImportOptions(archive, labels_from="folders"))
    assert (s.frames, s.images_new, s.refused) == (2, 3, 0)
    got = {(r["import_path"], r["frame_index"], r["source_label"]) for r in sources(catalog)}
    assert got == {
        ("mixed.zip/sad/clip.mp4", 0, "sad"),
        ("mixed.zip/sad/clip.mp4", 10, "sad"),
        ("mixed.zip/rows.csv:0:Training", None, "surprise"),
    }
