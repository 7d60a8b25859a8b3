"""Synthetic catalogs with real pixels, for the export tests.

Chips are crops of the real test photos (varied in place, scale, rotation and
mirroring) kept only when their perceptual hash is far from every chip kept
before, so that faces meant to be distinct are distinct to the exporter too.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from catalog import Catalog
from catalog.corpora import add_image_values
from catalog.db import utc_now
from catalog.events import record
from catalog.faces import insert_face
from catalog.images import ImageSource, StoredImage, add_image, add_source
from core.storage import store_content
from faces.neardup import parse_phash, phash
from tests.conftest import encode

# Hugging Face must never reach for the network in tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

CHIP_PX = 64
MIN_BITS_APART = 14
POOL_SIZE = 90


@dataclass(frozen=True)
class Chip:
    """A chip's PNG bytes and its 64-bit perceptual hash."""

    png: bytes
    phash: str


def _candidates(paths: list[Path]):
    for scale in (0.5, 0.35, 0.7, 0.25):
        for path in paths:
            with Image.open(path) as src:
                im = ImageOps.exif_transpose(src).convert("RGB")
            w, h = im.size
            side = max(16, int(min(w, h) * scale))
            steps = 4
            for gy in range(steps):
                for gx in range(steps):
                    x = (w - side) * gx // (steps - 1)
                    y = (h - side) * gy // (steps - 1)
                    crop = im.crop((x, y, x + side, y + side)).resize((CHIP_PX, CHIP_PX))
                    for rot in (0, 90):
                        yield crop.rotate(rot)


@pytest.fixture(scope="session")
def chip_pool(photos) -> list[Chip]:
    """Up to POOL_SIZE distinct real-pixel chips (pairwise >= MIN_BITS_APART hash bits)."""
    kept: list[Chip] = []
    hashes: list[int] = []
    for im in _candidates([p.path for p in photos]):
        text = phash(im)
        h = parse_phash(text)
        if any((h ^ k).bit_count() < MIN_BITS_APART for k in hashes):
            continue
        hashes.append(h)
        kept.append(Chip(encode(im), text))
        if len(kept) >= POOL_SIZE:
            break
    assert len(kept) >= 40, f"only {len(kept)} distinct chips from the test photos"
    return kept


def near_copy(chip: Chip) -> Chip:
    """A near-duplicate of a chip: the same picture, slightly brighter (another file)."""
    with Image.open(io.BytesIO(chip.png)) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.int16)
    out = Image.fromarray(np.clip(arr + 3, 0, 255).astype(np.uint8))
    return Chip(encode(out), phash(out))


def person_embeddings(n_people: int, per_person: int, seed: int = 0) -> list[list[bytes]]:
    """Descriptors like dlib's: one person's within 0.6 of each other, people far apart."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_people):
        centre = rng.normal(size=128)
        centre *= 0.5 / np.linalg.norm(centre)  # people ~0.7 apart, like dlib's
        faces = []
        for _ in range(per_person):
            noise = rng.normal(size=128)
            noise *= 0.08 / np.linalg.norm(noise)
            faces.append((centre + noise).astype("<f4").tobytes())
        out.append(faces)
    return out


@pytest.fixture
def make_people():
    """``make_people(n_people, per_person)``: descriptors grouped by person."""
    return person_embeddings


@pytest.fixture
def make_chip():
    """``make_chip(pil_image)``: a Chip of any image."""

    def make(im: Image.Image) -> Chip:
        return Chip(encode(im), phash(im))

    return make


@pytest.fixture
def make_near_copy():
    """``make_near_copy(chip)``: a near-duplicate chip."""
    return near_copy


@dataclass
class Builder:
    """Adds faces with real chips, provenance and label events to a catalog."""

    cat: Catalog
    pool: list[Chip]
    used: int = 0
    queries: dict[str, int] = field(default_factory=dict)
    serial: int = 0

    def next_chip(self) -> Chip:
        if self.used >= len(self.pool):
            raise RuntimeError("chip pool exhausted: make the test smaller")
        self.used += 1
        return self.pool[self.used - 1]

    def _query(self, label: str) -> tuple[int, int]:
        conn = self.cat.conn
        if label not in self.queries:
            qid = conn.execute(
                "INSERT INTO queries (engine, text, label, created_at) VALUES (?,?,?,?)",
                ("google", f"{label} face", label, "2026-11-01T10:00:00.000Z"),
            ).lastrowid
            conn.execute(
                "INSERT INTO search_runs (query_id, base_url, status, started_at, finished_at) "
                "VALUES (?,?,?,?,?)",
                (
                    qid,
                    "http://127.0.0.1/",
                    "done",
                    "2026-11-01T10:00:00.000Z",
                    "2026-11-01T10:05:00.000Z",
                ),
            )
            self.queries[label] = qid
        qid = self.queries[label]
        run = conn.execute("SELECT id FROM search_runs WHERE query_id = ?", (qid,)).fetchone()[0]
        return qid, run

    def face(
        self,
        label: str | None,
        *,
        status: str = "accepted",
        source: str = "search",
        chip: Chip | None = None,
        dup_group: int | None = None,
        embedding: bytes | None = None,
        annotators: tuple[str, ...] = ("alice",),
        reason: str = "not_a_face",
        corpus: dict | None = None,
        **quality: float,
    ) -> int:
        """Add one face; ``status`` accepted (labelled by the annotators), pending or rejected.

        ``corpus``: what a corpus says of the image (ImageSource's subject, source_split,
        frame_index, frame_how) on an import of source ``corpus["source_name"]`` (default
        "corpus"), and ``values`` (e.g. valence, arousal) stored as image_values.
        """
        conn = self.cat.conn
        chip = chip or self.next_chip()
        self.serial += 1
        data = b"image %d " % self.serial + chip.png
        sha, rel = store_content(self.cat.paths.dir, "images", data, "png")
        image_id, _ = add_image(conn, StoredImage(sha, rel, CHIP_PX, CHIP_PX, "PNG", len(data)))
        if source == "search":
            qid, run = self._query(label or "neutral")
            rid = conn.execute(
                "INSERT INTO search_results (query_id, run_id, rank, url, source_page_url, "
                "found_at) VALUES (?,?,?,?,?,?)",
                (
                    qid,
                    run,
                    self.serial,
                    f"http://img.example/{self.serial}.jpg",
                    f"http://page.example/{self.serial}",
                    utc_now(),
                ),
            ).lastrowid
            src = ImageSource("search", search_result_id=rid, source_label=label)
        elif source == "fer2013":
            src = ImageSource(
                "import",
                source_name="fer2013",
                import_path=f"fer2013.csv:{self.serial}",
                source_label=label,
            )
        else:
            src = ImageSource(
                "import",
                source_name="mine",
                import_path=f"{label}/{self.serial}.jpg",
                source_label=label,
            )
        if corpus is not None:
            said = dict(corpus)
            values = said.pop("values", {})
            name = said.pop("source_name", "corpus")
            src = replace(src, kind="import", search_result_id=None, source_name=name, **said)
            add_image_values(conn, image_id, name, values.items())
        add_source(conn, image_id, src)
        _, chip_rel = store_content(self.cat.paths.dir, "chips", chip.png, "png")
        fields = {"size_px": 120.0, "sharpness": 300.0, "yaw": 0.0, **quality}
        fid = insert_face(
            conn,
            image_id,
            0,
            (10, 10, 130, 130),
            "hog",
            chip_path=chip_rel,
            chip_size=CHIP_PX,
            phash=chip.phash,
            embedding=embedding,
            **fields,
        )
        conn.execute("UPDATE faces SET dup_group = ? WHERE id = ?", (dup_group or fid, fid))
        if status == "accepted":
            for a in annotators:
                record(conn, fid, a, "label", label=label)
        elif status == "rejected":
            for a in annotators:
                record(conn, fid, a, "reject", reason=reason)
        return fid


@pytest.fixture
def builder(make_catalog, chip_pool):
    """A Builder on a fresh dataset with the default (FER2013) labels."""

    def make(labels: str | None = None, name: str = "test") -> Builder:
        return Builder(make_catalog(name, labels), chip_pool)

    return make
