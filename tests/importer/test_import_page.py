"""The review app's Import page: a labels CSV uploaded beside the images."""

from __future__ import annotations

import io
import zipfile

from catalog.votes import image_votes
from tests.curation_ui.test_app import open_page
from tests.importer.conftest import png_bytes


def test_import_page_takes_a_labels_csv(catalog, monkeypatch):
    monkeypatch.setenv("FACESIFT_ROOT", str(catalog.paths.root))
    monkeypatch.setenv("FACESIFT_DATASET", catalog.paths.name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x/a.png", png_bytes(201))
        zf.writestr("x/b.png", png_bytes(202))
    labels = b"file,label,rater\nx/a.png,Happiness,r1\nb.png,sad,r2\nnope.png,sad,r2\n"
    at = open_page("import")
    at.file_uploader(key="im_files").set_value(("set.zip", buf.getvalue(), "application/zip"))
    at.file_uploader(key="im_labels_csv").set_value(("labels.csv", labels, "text/csv"))
    at.toggle(key="im_extract").set_value(False).run()
    at.button(key="im_go").click().run()
    assert not at.exception and not at.error
    texts = [t.value for t in at.text]
    assert any("labels.csv: 3 rows, 2 votes on 2 images" in t for t in texts), texts
    rows = catalog.conn.execute(
        "SELECT import_path, image_id FROM image_sources ORDER BY import_path"
    ).fetchall()
    votes = {p: [(v.annotator, v.label) for v in image_votes(catalog.conn, i)] for p, i in rows}
    assert votes == {
        "set.zip/x/a.png": [("upload:r1", "happy")],
        "set.zip/x/b.png": [("upload:r2", "sad")],
    }
