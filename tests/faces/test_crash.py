"""A worker process that dies on an image costs that image only, recorded with a reason."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

import pipeline
from catalog import Catalog
from faces import stage
from faces.worker import process_batch


def _dies_on_marked_images(state, tasks):
    """Stands in for a crash in native code (or the OOM killer) on one image."""
    if any(t.path.endswith(".gif") for t in tasks):
        os._exit(3)
    return process_batch(state, tasks)


@pytest.mark.slow
def test_a_worker_crash_is_isolated_to_its_image(
    monkeypatch, data_root, single_face_photo, add_image_bytes
):
    # Workers are forked, so they call the patched function too.
    monkeypatch.setattr(stage, "process_batch", _dies_on_marked_images)
    with Catalog.open(data_root, "crash") as cat:
        plain = []
        for shade in range(0, 240, 30):  # faceless images around the bad one, in flight with it
            buf = io.BytesIO()
            Image.new("RGB", (64, 64), (shade, 100, 200)).save(buf, "PNG")
            plain.append(add_image_bytes(cat, buf.getvalue(), f"{shade}.png"))
            if shade == 90:
                buf = io.BytesIO()
                Image.new("RGB", (40, 40), "gray").save(buf, "GIF")
                bad = add_image_bytes(cat, buf.getvalue(), "bad.gif")
        ok = add_image_bytes(cat, single_face_photo.path.read_bytes(), "ok.jpg")
        # cascade off: the faceless images need no CNN to be faceless here.
        s = stage.extract(cat, stage.ExtractOptions(workers=2, chunk_size=1, cascade="off"))
        status = dict(cat.conn.execute("SELECT id, extract_status FROM images").fetchall())
        reason = cat.conn.execute(
            "SELECT extract_reason FROM images WHERE id = ?", (bad,)
        ).fetchone()[0]
    assert status == {ok: "done", bad: "error", **dict.fromkeys(plain, "no_face")}
    assert reason.startswith("worker_crashed")
    assert (s.done, s.no_face, s.errors) == (1, len(plain), 1)


@pytest.mark.slow
def test_a_chips_folder_that_cannot_be_written_stops_the_run(
    data_root, single_face_photo, no_face_photo, add_image_bytes, capsys
):
    with Catalog.open(data_root, "full") as cat:
        add_image_bytes(cat, no_face_photo.path.read_bytes(), "none.png")
        add_image_bytes(cat, single_face_photo.path.read_bytes(), "one.jpg")
        blocker = cat.paths.dir / "chips"
    blocker.write_text("a file where the chips folder should be")
    argv = ["--root", str(data_root), "--dataset", "full", "extract", "--workers", "1"]
    assert pipeline.main(argv) == 2
    assert "cannot write chips" in capsys.readouterr().err
    with Catalog.open(data_root, "full") as cat:
        statuses = {r[0] for r in cat.conn.execute("SELECT extract_status FROM images")}
        assert "done" not in statuses and "error" not in statuses  # nothing marked wrongly
        assert cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == 0
    blocker.unlink()
    assert pipeline.main(argv) == 0
    with Catalog.open(data_root, "full") as cat:
        assert cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == 1
