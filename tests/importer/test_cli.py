"""`facesift import`: the command line, with extraction after the import."""

from __future__ import annotations

import shutil

import pipeline
from catalog import Catalog
from tests.importer.conftest import png_bytes


def test_import_command_with_labels_from_folders(data_root, tmp_path, capsys):
    (tmp_path / "in" / "sad").mkdir(parents=True)
    (tmp_path / "in" / "sad" / "a.png").write_bytes(png_bytes(1))
    (tmp_path / "in" / "sad" / "b.gif").write_bytes(b"GIF89a broken")
    argv = ["--root", str(data_root), "import", str(tmp_path / "in"), "--labels-from", "folders"]
    assert pipeline.main([*argv, "--no-extract"]) == 0
    out = capsys.readouterr().out
    assert "1 images kept (1 new" in out and "1 refused" in out
    with Catalog.open(data_root, "default") as cat:
        row = cat.conn.execute("SELECT source_name, source_label FROM image_sources").fetchone()
        assert tuple(row) == ("in", "sad")


def test_import_errors_are_one_line(data_root, tmp_path, capsys):
    (tmp_path / "a.png").write_bytes(png_bytes(1))
    root = ["--root", str(data_root)]
    assert pipeline.main([*root, "import", str(tmp_path / "a.png"), "--label", "bored"]) == 2
    assert pipeline.main([*root, "import", str(tmp_path / "nope")]) == 2
    assert pipeline.main([*root, "import", str(tmp_path / "a.png"), "--fps", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("facesift: error: ") for line in err)
    assert "bored" in err[0] and "does not exist" in err[1]


def test_import_then_extract_gives_pending_faces_with_the_source_label(
    data_root, tmp_path, single_face_photo, no_face_photo, capsys
):
    folder = tmp_path / "happy"
    folder.mkdir()
    shutil.copy(single_face_photo.path, folder / single_face_photo.name)
    shutil.copy(no_face_photo.path, folder / no_face_photo.name)
    argv = ["--root", str(data_root), "import", str(folder), "--label", "happy"]
    assert pipeline.main(argv) == 0
    out = capsys.readouterr().out
    assert "extract: 2 images (1 with faces, 1 without" in out
    with Catalog.open(data_root, "default") as cat:
        rows = cat.conn.execute("SELECT status, label, label_origin FROM face_state").fetchall()
        assert [tuple(r) for r in rows] == [("pending", "happy", "source")]
