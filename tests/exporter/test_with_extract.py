"""The export reads what the real extract stage writes (chips, hashes, groups, descriptors)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from catalog.events import record
from exporter.options import ExportOptions
from exporter.stage import export


def test_export_of_extracted_faces(catalog, single_face_photo, tmp_path):
    from faces.stage import ExtractOptions, extract
    from importer.stage import import_path

    folder = tmp_path / "in" / "happy"
    folder.mkdir(parents=True)
    with Image.open(single_face_photo.path) as im:
        rgb = im.convert("RGB")
    rgb.save(folder / "a.jpg", quality=95)
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=80)  # the same photo again: a near-duplicate
    (folder / "b.jpg").write_bytes(buf.getvalue())
    import_path(catalog, tmp_path / "in", labels_from="folders", progress=False)
    extract(catalog, ExtractOptions(workers=1, embeddings=True), progress=False)
    rows = catalog.conn.execute("SELECT id, dup_group, chip_path FROM faces ORDER BY id").fetchall()
    if len(rows) != 2:
        pytest.skip(f"extract found {len(rows)} faces in the test photo pair")
    record(catalog.conn, rows[0]["id"], "alice", "accept")
    out = tmp_path / "x"
    r = export(
        catalog,
        ExportOptions(out=out, format="imagefolder", include_pending=True, identity_disjoint=True),
    )
    assert r.total == 2
    faces = json.loads((out / "manifest.json").read_text())["faces"]
    assert {f["label"] for f in faces} == {"happy"}
    assert len({f["split"] for f in faces}) == 1  # one person, near-duplicates: one split
    assert len({f["identity"] for f in faces}) == 1
    assert rows[0]["dup_group"] == rows[1]["dup_group"]
    with Image.open(out / faces[0]["path"]) as im:
        assert im.size == (48, 48) and im.mode == "L"
