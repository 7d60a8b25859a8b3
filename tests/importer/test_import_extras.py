"""`facesift import` with --labels-csv, --ferplus and URL lists; `facesift takedown`."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

import pipeline
from catalog import Catalog
from catalog.events import face_events, face_state
from catalog.faces import insert_face
from tests.conftest import SHARED_FER
from tests.importer.conftest import fer_row, png_bytes
from tests.importer.test_ferplus import HEADER as FERPLUS_HEADER


def args(*argv: str, root: Path | None = None) -> list[str]:
    """``facesift [--root DIR] ARGV`` for pipeline.main (in this process: capsys sees it)."""
    return [*(["--root", str(root)] if root is not None else []), *argv]


def test_labels_csv_votes_reach_the_faces_extract_finds(data_root, tmp_path, capsys, photos):
    folder = tmp_path / "crowd"
    (folder / "a").mkdir(parents=True)
    shutil.copy(photos[0].path, folder / "a" / "one.jpg")
    (folder / "b.png").write_bytes(png_bytes(1))
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "Image name,Expression,worker\n"
        "a/one.jpg,happiness,w1\n"
        "one.jpg,Happy,w2\n"  # the unique file name
        "a/one.jpg,contempt,w3\n"
        "b.png,sad,w1\n"
        "gone.jpg,sad,w1\n"
    )
    argv = args("import", str(folder), "--labels-csv", str(labels), root=data_root)
    assert pipeline.main(argv) == 0
    out = capsys.readouterr().out
    assert "labels.csv: 5 rows, 3 votes on 2 images" in out
    assert "missing_file 1" in out and "unknown_label 1" in out
    with Catalog.open(data_root, "default") as cat:
        reasons = {r[0] for r in cat.conn.execute("SELECT reason FROM import_errors")}
        assert "unknown_label: contempt" in reasons
        faces = cat.conn.execute(
            "SELECT f.id FROM faces f JOIN image_sources s ON s.image_id = f.image_id "
            "WHERE s.import_path = 'a/one.jpg'"
        ).fetchall()
        assert faces, "extract found the photo's face"
        for (face,) in faces:
            got = [(e.annotator, e.label) for e in face_events(cat.conn, face)]
            assert got == [("crowd:w1", "happy"), ("crowd:w2", "happy")]
            assert face_state(cat.conn, face).label == "happy"


def test_fer2013_csv_with_ferplus_votes(data_root, tmp_path, capsys):
    csv = tmp_path / "fer2013.csv"
    csv.write_text(
        "emotion,pixels,Usage\n" + "".join(fer_row(3, seed, "PrivateTest") for seed in range(3))
    )
    ferplus = tmp_path / "fer2013new.csv"
    ferplus.write_text(
        FERPLUS_HEADER
        + "PrivateTest,fer0.png,1,9,0,0,0,0,0,0,0,0\n"
        + "PrivateTest,fer1.png,0,0,0,0,0,0,0,0,0,10\n"
        + "PrivateTest,fer2.png,0,0,0,0,0,0,0,2,8,0\n"
    )
    argv = args("import", str(csv), "--ferplus", str(ferplus), "--no-extract", root=data_root)
    assert pipeline.main(argv) == 0
    out = capsys.readouterr().out
    assert "fer2013new.csv: 3 rows, 28 votes on 3 images" in out and "contempt 2" in out
    with Catalog.open(data_root, "default") as cat:
        by_row = {}
        for image_id, path in cat.conn.execute("SELECT image_id, import_path FROM image_sources"):
            by_row[int(path.split(":")[1])] = image_id
        states = []
        for row in range(3):
            face = insert_face(cat.conn, by_row[row], 0, (0, 0, 48, 48), "whole")
            st = face_state(cat.conn, face)
            states.append((st.status, st.label, st.reason, st.annotators))
        assert states == [
            ("accepted", "happy", None, 10),
            ("rejected", None, "not_a_face", 10),
            ("rejected", None, "unknown", 8),
        ]


def test_ferplus_needs_a_fer2013_csv(data_root, tmp_path, capsys):
    (tmp_path / "a.png").write_bytes(png_bytes(1))
    (tmp_path / "p.csv").write_text(FERPLUS_HEADER)
    argv = args(
        "import", str(tmp_path / "a.png"), "--ferplus", str(tmp_path / "p.csv"), root=data_root
    )
    assert pipeline.main([*argv, "--no-extract"]) == 2
    assert "--ferplus needs the FER2013 CSV" in capsys.readouterr().err
    with Catalog.open(data_root, "default") as cat:
        assert cat.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0


def test_url_list_command_and_takedown_command(data_root, tmp_path, capsys, fake_search):
    base = fake_search.base
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{base}/img/good/0.jpg\n{base}/img/good/1.jpg\n{base}/fault/404.jpg\n")
    common = ["--no-extract", "--allow-private-hosts", "--retries", "0"]
    assert pipeline.main(args("import", str(urls), *common, root=data_root)) == 0
    out = capsys.readouterr().out
    assert "import urls.txt: 2 of 3 URLs kept" in out and "http_404 1" in out

    takedown = args("takedown", "--url", f"{base}/img/good/0.jpg", root=data_root)
    assert pipeline.main([*takedown, "--dry-run"]) == 0
    assert "would take down 1 images" in capsys.readouterr().out
    assert pipeline.main([*takedown, "--reason", "owner asked"]) == 0
    assert "1 images taken down" in capsys.readouterr().out
    assert pipeline.main(args("stats", "--json", root=data_root)) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["takedowns"]["requests"] == 1 and stats["takedowns"]["images"] == 1
    # Given twice, or not at all: one line, exit 2.
    assert pipeline.main(args("takedown", root=data_root)) == 2
    assert "exactly one of" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_FER.is_dir(), reason="needs ../shared/testdata")
def test_fer2013_privatetest_labels_csv_counts_per_label(data_root, tmp_path, capsys):
    folders = sorted(p for p in SHARED_FER.iterdir() if p.is_dir())
    expected = Counter()
    lines = ["file,label,annotator"]
    for folder in folders:
        for f in sorted(folder.glob("*.jpg")):
            lines.append(f"{folder.name}/{f.name},{folder.name},fer2013")
            expected[folder.name] += 1
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join(lines) + "\n")
    argv = args(
        "import", str(SHARED_FER), "--labels-csv", str(labels), "--no-extract",
        root=data_root,
    )  # fmt: skip
    assert pipeline.main(argv) == 0
    assert f"{sum(expected.values())} rows" in capsys.readouterr().out
    with Catalog.open(data_root, "default") as cat:
        got = Counter(
            dict(cat.conn.execute("SELECT label, COUNT(*) FROM image_votes GROUP BY label"))
        )
        resolved = Counter({cat.labels.resolve(k): n for k, n in expected.items()})
        assert got == resolved
        errors = cat.conn.execute("SELECT import_path FROM import_errors").fetchall()
        assert not [p for (p,) in errors if p.startswith("labels.csv")]  # every row used


def test_one_command_gives_fer2013_with_ferplus_votes_on_whole_image_faces(
    data_root, tmp_path, capsys
):
    csv = tmp_path / "fer2013.csv"
    csv.write_text(
        "emotion,pixels,Usage\n" + "".join(fer_row(0, seed, "PublicTest") for seed in range(2))
    )
    ferplus = tmp_path / "fer2013new.csv"
    ferplus.write_text(
        FERPLUS_HEADER
        + "PublicTest,fer0.png,0,0,0,0,7,3,0,0,0,0\n"
        + "PublicTest,fer1.png,2,0,6,0,0,0,0,0,1,1\n"
    )
    assert pipeline.main(args("import", str(csv), "--ferplus", str(ferplus), root=data_root)) == 0
    out = capsys.readouterr().out
    assert "2 images are face crops" in out and "2 faces added" in out
    with Catalog.open(data_root, "default") as cat:
        rows = cat.conn.execute(
            "SELECT f.id, f.detector, s.status, s.label, s.annotators FROM faces f "
            "JOIN face_state s ON s.face_id = f.id ORDER BY f.id"
        ).fetchall()
        assert [tuple(r)[1:] for r in rows] == [
            ("whole", "accepted", "angry", 10),
            ("whole", "accepted", "surprise", 10),
        ]
        annotators = [e.annotator for e in face_events(cat.conn, rows[0]["id"])]
        assert annotators == [f"ferplus:{i}" for i in range(1, 11)]
