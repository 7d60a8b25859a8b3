"""From search to exported dataset: `facesift run` on the fake search server, review, export.

Real Chromium crawls the fake Google for all seven emotions (20 results each),
real dlib extracts the faces, the review is done through the functions the app
calls, and the dataset is exported in each format. Every count is checked
against an oracle computed here from the served files, not read back from the
stage that produced it.
"""

from __future__ import annotations

import os
import signal
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from catalog import Catalog
from catalog.stats import by_emotion
from curation_ui.actions import accept_rest, reject, relabel
from curation_ui.serving import free_port, healthy, wait_for
from exporter.options import ExportOptions
from exporter.stage import export
from faces.detect import SMALL_SIDE
from faces.neardup import parse_phash, popcount64
from tests.conftest import REPO, cli_argv, ctrl_c_as_in_a_terminal
from tests.test_pipeline import run_cli

PER_QUERY = 20


def hog_auto_count(detector, path) -> int:
    """Faces the plain dlib detector finds under the `--upsample auto` policy."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    found = len(detector.run(rgb, 0, 0.0)[0])
    if found == 0 or max(rgb.shape[:2]) < SMALL_SIDE:
        retry = len(detector.run(rgb, 1, 0.0)[0])
        found = retry or found
    return found


def faces_with_a_near_duplicate(phashes: list[str], bits: int) -> int:
    """How many hashes have another within ``bits`` (all pairs: the oracle)."""
    h = np.array([parse_phash(p) for p in phashes], dtype=np.uint64)
    dist = popcount64(h[:, None] ^ h[None, :])
    np.fill_diagonal(dist, 64)
    return int((dist <= bits).any(axis=1).sum())


@pytest.fixture(scope="module")
def detector():
    import dlib

    return dlib.get_frontal_face_detector()


@pytest.mark.slow
@pytest.mark.browser
def test_run_review_and_export_all_seven_emotions(data_root, make_fake_search, detector, tmp_path):
    server = make_fake_search(n_good=PER_QUERY, faults=False, distinct_per_query=True)
    # No pause between queries: the delay has its own test in tests/scraper.
    done = run_cli(
        "run", "--emotions", "all", "--base-url", server.base, "--allow-private-hosts",
        "--limit", str(PER_QUERY), "--no-review", "--delay", "0", root=data_root, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr

    with Catalog.open(data_root, "default") as cat:
        labels = cat.labels.names
        assert len(labels) == 7
        conn = cat.conn

        # 1. Scrape: 20 links and 20 distinct stored images per emotion.
        counts = {c.label: c for c in by_emotion(cat)}
        assert {c.label: (c.links, c.images) for c in counts.values()} == dict.fromkeys(
            labels, (PER_QUERY, PER_QUERY)
        )
        assert conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 7 * PER_QUERY
        assert not conn.execute("SELECT 1 FROM downloads WHERE status != 'ok'").fetchall()

        # 2. Extract: every image processed, as many faces as dlib finds in each file.
        by_label: dict[str, list[int]] = {}
        for label in labels:
            images = conn.execute(
                "SELECT i.id, i.path, i.extract_status FROM images i JOIN image_sources s "
                "ON s.image_id = i.id WHERE s.source_label = ? ORDER BY i.id",
                (label,),
            ).fetchall()
            assert all(r["extract_status"] in ("done", "no_face") for r in images)
            expected = sum(hog_auto_count(detector, cat.paths.resolve(r["path"])) for r in images)
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT f.id FROM faces f JOIN image_sources s ON s.image_id = f.image_id "
                    "WHERE s.source_label = ? ORDER BY f.id",
                    (label,),
                )
            ]
            assert len(ids) == expected == counts[label].faces, label
            by_label[label] = ids
        assert all(len(ids) >= 4 for ids in by_label.values())
        phashes = [r[0] for r in conn.execute("SELECT phash FROM faces ORDER BY id")]
        assert sum(c.near_duplicates for c in counts.values()) == faces_with_a_near_duplicate(
            phashes, 6
        )

        # The summary printed by `run` says the same, one line per emotion.
        lines = {ln.split()[0]: ln.split() for ln in done.stdout.splitlines() if ln.strip()}
        for label, c in counts.items():
            assert lines[label][1:6] == [
                str(v) for v in (c.links, c.images, c.faces, c.near_duplicates, c.no_face)
            ]

        # 3. Review through the app's own functions: per emotion, reject two faces,
        # move one to the next emotion, accept the rest with their query's label.
        expected_export = dict.fromkeys(labels, 0)
        for k, label in enumerate(labels):
            ids = by_label[label]
            reject(conn, ids[:2], "alice", "not_a_face")
            other = labels[(k + 1) % len(labels)]
            relabel(conn, ids[2:3], "alice", other)
            events, unlabelled = accept_rest(conn, ids, "alice")
            assert unlabelled == [] and len(events) == len(ids) - 3
            expected_export[label] += len(ids) - 3
            expected_export[other] += 1
        states = dict(
            conn.execute("SELECT status, COUNT(*) FROM face_state GROUP BY status").fetchall()
        )
        faces_total = sum(len(ids) for ids in by_label.values())
        assert states == {"rejected": 14, "accepted": faces_total - 14}

        # 4. Export in each format: the accepted faces, by their reviewed label. The
        # baseline model is trained with the first (its figures have their own tests;
        # the same faces give the same model, three times over 3 s).
        results = {
            fmt: export(cat, ExportOptions(out=tmp_path / fmt, format=fmt, no_baseline=k > 0))
            for k, fmt in enumerate(("imagefolder", "fer2013-csv", "hf"))
        }
        assert (tmp_path / "imagefolder" / "baseline.json").is_file()
    for fmt, r in results.items():
        per_label = dict.fromkeys(labels, 0)
        for split in r.counts.values():
            for label, n in split.items():
                per_label[label] += n
        assert per_label == expected_export, fmt
        assert r.total == sum(expected_export.values())

    folder = tmp_path / "imagefolder"
    on_disk = dict.fromkeys(labels, 0)
    for png in folder.glob("*/*/*.png"):
        on_disk[png.parent.name] += 1
    assert on_disk == expected_export

    csv = pd.read_csv(tmp_path / "fer2013-csv" / "fer2013.csv")
    index = results["fer2013-csv"].labels
    assert csv["emotion"].value_counts().to_dict() == {
        index[label]: n for label, n in expected_export.items() if n
    }
    assert csv["pixels"].str.split().map(len).eq(48 * 48).all()

    import datasets

    ds = datasets.load_dataset(str(tmp_path / "hf"), cache_dir=str(tmp_path / "hf-cache"))
    names = ds["train"].features["label"].names
    loaded = dict.fromkeys(labels, 0)
    for split in ds.values():
        for i in split["label"]:
            loaded[names[i]] += 1
    assert loaded == expected_export


@pytest.mark.slow
@pytest.mark.browser
def test_run_serves_the_review_app_after_its_summary(data_root, make_fake_search, tmp_path):
    server = make_fake_search(n_good=3, faults=False)
    port = free_port()
    log_path = tmp_path / "run.log"
    args = [
        "run", "--emotions", "happy", "--base-url", server.base, "--allow-private-hosts",
        "--limit", "3", "--port", str(port),
    ]  # fmt: skip
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cli_argv(*args, root=data_root),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=ctrl_c_as_in_a_terminal,
            cwd=REPO,
        )

        try:
            wait_for(lambda: healthy(port, proc, log_path), 180, "the review app after the run")
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C, as a user stops the app
            proc.wait(timeout=60)
    text = log_path.read_text()
    assert proc.returncode == 0, text
    summary = text.index("faces to review")
    assert text.index(f"review: http://127.0.0.1:{port}/") > summary
    assert "Traceback" not in text
