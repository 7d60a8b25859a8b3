"""The export reads what the real extract stage writes (chips, hashes, groups, descriptors)."""

from __future__ import annotations

import io
import json

from PIL import Image

from catalog.events import record
from exporter.options import ExportOptions
from exporter.stage import export


def test_export_of_extracted_faces(catalog, single_face_photo, tmp_path):
    from faces.stage import ExtractOptions, extract
    from importer.options import ImportOptions
    from importer.stage import import_path

    folder = tmp_path / "in" / "happy"
    folder.mkdir(parents=True)
    with Image.open(single_face_photo.path) as im:
        rgb = im.convert("RGB")
    rgb.save(folder / "a.jpg", quality=95)
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=80)  # the same photo again: a near-duplicate
    (folder / "b.jpg").write_bytes(buf.getvalue())
    import_path(catalog, ImportOptions(tmp_path / "in", labels_from="folders"))
    extract(catalog, ExtractOptions(workers=1, embeddings=True))
    rows = catalog.conn.execute("SELECT id, dup_group FROM faces ORDER BY id").fetchall()
    assert len(rows) >= 2  # the face, once per copy
    record(catalog.conn, rows[0]["id"], "alice", "accept")
    out = tmp_path / "x"
    r = export(
        catalog,
        ExportOptions(out=out, format="imagefolder", include_pending=True, identity_disjoint=True),
    )
    assert r.total == len(rows)
    faces = json.loads((out / "manifest.json").read_text())["faces"]
    assert {f["label"] for f in faces} == {"happy"}
    groups: dict[int, set[str]] = {}
    for f in faces:
        groups.setdefault(f["dup_group"], set()).add(f["split"])
        groups.setdefault(-f["identity"], set()).add(f["split"])
    assert all(len(splits) == 1 for splits in groups.values())
    sizes = [sum(1 for f in faces if f["dup_group"] == g) for g in {f["dup_group"] for f in faces}]
    assert max(sizes) >= 2  # the two copies of the photo were grouped by extract
    with Image.open(out / faces[0]["path"]) as im:
        assert im.size == (48, 48) and im.mode == "L"
