"""Fixtures shared by every test: real photos and fresh catalogs."""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from catalog import Catalog, LabelSet
from tests.scraper.fixture_images import ImageFactory
from tests.scraper.fixture_server import FakeSearch, Server

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACESIFT_SHARED_DIR", REPO.parent / "shared"))
SHARED_FACES = SHARED / "testdata" / "faces"
SHARED_FER = SHARED / "testdata" / "fer2013_privatetest"  # FER2013 PrivateTest, a folder per label


def ctrl_c_as_in_a_terminal() -> None:
    """``preexec_fn`` for a child a test will send Ctrl+C (SIGINT) to.

    A shell's background job (CI's runner, ``cmd &``) starts with SIGINT ignored,
    and Python then never turns it into KeyboardInterrupt; a terminal does not.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass(frozen=True)
class Photo:
    """A real test photo and what is known about its faces."""

    path: Path
    kind: str
    faces: str  # the expected count as the manifest words it ("1 (visual)", "~6 (visual)")
    hog_up0: int  # faces dlib's HOG detector finds at upsample 0
    hog_up1: int  # ... and at upsample 1

    @property
    def name(self) -> str:
        return self.path.name


def _shared_photos() -> list[Photo]:
    with open(SHARED_FACES / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [
        Photo(
            SHARED_FACES / r["file"],
            r["kind"],
            r["faces_note"],
            int(r["dlib_hog_upsample0"]),
            int(r["dlib_hog_upsample1"]),
        )
        for r in rows
        if (SHARED_FACES / r["file"]).is_file()
    ]


def _skimage_photos() -> list[Photo]:
    # The photos scikit-image ships, with the counts the shared manifest gives
    # for the very same files (astronaut: 1 face; at upsample 1 dlib also fires
    # on a patch of the suit).
    from skimage import data_dir

    d = Path(data_dir)
    return [
        Photo(d / "astronaut.png", "single_frontal", "1 (visual)", 1, 2),
        Photo(d / "chelsea.png", "no_face", "0 human faces (cat)", 0, 0),
        Photo(d / "coffee.png", "no_face", "0", 0, 0),
    ]


def cli_argv(*args: str, root: Path | str | None = None) -> list[str]:
    """The argv of ``facesift ARGS`` (``pipeline.py``), on a data root when given."""
    prefix = ["--root", str(root)] if root is not None else []
    return [sys.executable, str(REPO / "pipeline.py"), *prefix, *args]


def extracted_count(catalog_file: Path) -> int:
    """Images extract has recorded so far, read (read-only) while another process writes."""
    from catalog.db import connect

    conn = connect(catalog_file, readonly=True)
    try:
        return conn.execute(
            "SELECT COUNT(*) FROM images WHERE extract_status IS NOT NULL"
        ).fetchone()[0]
    finally:
        conn.close()


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def gone_within(pids: Iterable[int], seconds: float) -> bool:
    """Whether every one of these processes has ended within ``seconds`` (polled)."""
    pids = list(pids)
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    """The image as a file's bytes in ``fmt`` (PIL's save options in ``kw``)."""
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg_variants(paths: list[Path], n: int, width: int, first: int = 0) -> list[bytes]:
    """n distinct JPEGs of the photos in turn, the i-th resized to ``width + 7 * i`` wide."""
    out = []
    for i in range(first, first + n):
        with Image.open(paths[i % len(paths)]) as im:
            rgb = im.convert("RGB")
        w = width + 7 * i
        rgb = rgb.resize((w, round(rgb.height * w / rgb.width)), Image.Resampling.BILINEAR)
        out.append(encode(rgb, "JPEG", quality=90))
    return out


def load_photos() -> list[Photo]:
    """The shared real photos when ``../shared`` is there, else scikit-image's."""
    if (SHARED_FACES / "manifest.csv").is_file():
        return _shared_photos()
    return _skimage_photos()


def pytest_collection_modifyitems(config, items) -> None:
    """The tests marked slow first, keeping their order: spread across pytest-xdist's workers
    from the start, they no longer end the run as one long tail on a single core."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# The test process's own __main__, taken before any test runs.
_MAIN_MODULE = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest installs its script as ``sys.modules['__main__']`` and leaves it
    there (also from module-scoped fixtures); a later test whose worker processes start by
    forkserver or spawn would re-run that script in the child and die."""
    yield
    sys.modules["__main__"] = _MAIN_MODULE


@pytest.fixture(scope="session")
def photos() -> list[Photo]:
    """Real test photos with their expected face counts."""
    found = load_photos()
    assert found, "no test photos: neither ../shared/testdata/faces nor scikit-image's data"
    return found


@pytest.fixture(scope="session")
def single_face_photo(photos: list[Photo]) -> Photo:
    """A real photo with exactly one frontal face that dlib finds at upsample 0."""
    return next(p for p in photos if p.kind == "single_frontal" and p.hog_up0 == 1)


@pytest.fixture(scope="session")
def no_face_photo(photos: list[Photo]) -> Photo:
    """A real photo with no human face."""
    return next(p for p in photos if p.kind.startswith("no_face") and p.hog_up1 == 0)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """An empty data root."""
    root = tmp_path / "datasets"
    root.mkdir()
    return root


@pytest.fixture
def catalog(data_root: Path):
    """A new dataset with the default (FER2013) labels, opened."""
    with Catalog.open(data_root, "test") as cat:
        yield cat


@pytest.fixture
def make_catalog(data_root: Path):
    """Open (creating) a dataset by name and label set; closed after the test."""
    opened: list[Catalog] = []

    def make(name: str = "test", labels: str | None = None) -> Catalog:
        cat = Catalog.open(data_root, name, labels=LabelSet.parse(labels) if labels else None)
        opened.append(cat)
        return cat

    yield make
    for cat in opened:
        cat.close()


@pytest.fixture
def write_video():
    """Write a small real MPEG-4 video of ``seconds`` at ``fps``; return its path.

    Import tests and the hostile-input sweep use it.
    """
    import av
    import numpy as np

    def write(path: Path, seconds: float = 3.0, fps: int = 10, side: int = 64) -> Path:
        with av.open(str(path), mode="w") as out:
            stream = out.add_stream("mpeg4", rate=fps)
            stream.width = stream.height = side
            stream.pix_fmt = "yuv420p"
            for i in range(int(seconds * fps)):
                arr = np.full((side, side, 3), (i * 7) % 256, dtype=np.uint8)
                arr[: side // 2, :, 0] = 255 - (i * 7) % 256
                frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return path

    return write


@pytest.fixture
def make_face():
    """Add a stored image (from some bytes), a provenance and a face to a catalog.

    Returns the new face id. Catalog-level tests use it where the pixels do not matter.
    """
    from catalog.faces import insert_face
    from catalog.images import ImageSource, StoredImage, add_image, add_source
    from core.storage import store_content

    counter = iter(range(1_000_000))

    def make(
        cat: Catalog,
        label: str | None = None,
        *,
        content: bytes | None = None,
        source: ImageSource | None = None,
    ) -> int:
        data = content if content is not None else f"image {next(counter)}".encode()
        sha, rel = store_content(cat.paths.dir, "images", data, "jpg")
        image_id, _ = add_image(cat.conn, StoredImage(sha, rel, 64, 64, "JPEG", len(data)))
        src = source or ImageSource(
            "import", source_name="test", import_path=f"{sha}.jpg", source_label=label
        )
        add_source(cat.conn, image_id, src)
        n = cat.conn.execute("SELECT COUNT(*) FROM faces WHERE image_id = ?", (image_id,))
        return insert_face(cat.conn, image_id, n.fetchone()[0], (8, 8, 56, 56), "hog", score=1.0)

    return make


# --- the fake search engine (scrape tests, end-to-end and crash tests) -------------


@pytest.fixture(scope="session")
def image_factory(photos) -> ImageFactory:
    """Distinct real-photo JPEGs and every special and broken image."""
    return ImageFactory([p.path for p in photos])


@pytest.fixture
def fake_search(image_factory):
    """A running fake search engine; yields the Server (``.base``, ``.fake``)."""
    with Server(FakeSearch(image_factory)) as server:
        yield server


@pytest.fixture
def make_fake_search(image_factory):
    """Start fake search engines with other settings (n_good, faults, delays)."""
    servers: list[Server] = []

    def make(**settings) -> Server:
        server = Server(FakeSearch(image_factory, **settings)).__enter__()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.__exit__(None, None, None)
