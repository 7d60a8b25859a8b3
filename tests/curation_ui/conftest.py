"""A small catalog of faces with real chips, for the review app's tests."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.storage import store_content

# The browser tests import these from here, with the fixtures below.
from curation_ui.serving import free_port, serving, wait_for  # noqa: F401
from tests.conftest import encode

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@dataclass
class Seeded:
    """A catalog seeded with faces, and their ids by name."""

    cat: object
    ids: dict[str, int]


def chip_bytes(photo_path, shift: int) -> bytes:
    """A small real chip: a crop of a real photo (shifted so that chips differ)."""
    with Image.open(photo_path) as im:
        im = im.convert("RGB")
        side = min(im.size) // 2
        left = (im.width - side) // 2 + (shift % 5 - 2) * side // 20
        top = (im.height - side) // 2 + (shift % 3 - 1) * side // 20
        box = (left, top, left + side, top + side)
        crop = im.crop(box).resize((96, 96))
    return encode(crop)


# name: (source label, size_px, sharpness, yaw, dup group leader name or None)
FACES = {
    "happy_big": ("happy", 180.0, 400.0, 2.0, None),
    "happy_dup_best": ("happy", 150.0, 300.0, 5.0, None),
    "happy_dup_worse": ("happy", 60.0, 90.0, 5.0, "happy_dup_best"),
    "happy_blurry": ("happy", 40.0, 10.0, 40.0, None),
    "sad_1": ("sad", 120.0, 200.0, 0.0, None),
    "sad_2": ("sad", 90.0, 150.0, 30.0, None),
    "sad_3": ("sad", 70.0, 120.0, -10.0, None),
    "none_1": (None, 100.0, 100.0, 0.0, None),
    "none_2": (None, 110.0, 100.0, 0.0, None),
    "none_3": (None, 120.0, 100.0, 0.0, None),
}


@pytest.fixture
def seed_faces(make_face, single_face_photo):
    """Fill a catalog with FACES (real PNG chips, quality fields, one near-duplicate pair)."""

    def seed(cat) -> Seeded:
        ids: dict[str, int] = {}
        for i, (name, (label, size, sharp, yaw, leader)) in enumerate(FACES.items()):
            fid = make_face(cat, label)
            _, rel = store_content(
                cat.paths.dir, "chips", chip_bytes(single_face_photo.path, i), "png"
            )
            group = ids[leader] if leader else fid
            cat.conn.execute(
                "UPDATE faces SET chip_path = ?, size_px = ?, sharpness = ?, yaw = ?, "
                "pitch = 0, roll = 0, dup_group = ? WHERE id = ?",
                (rel, size, sharp, yaw, group, fid),
            )
            ids[name] = fid
        return Seeded(cat, ids)

    return seed


@pytest.fixture
def seeded(catalog, seed_faces) -> Seeded:
    """The default-labelled test catalog, seeded."""
    return seed_faces(catalog)


# --- one page of the app through Streamlit's AppTest (no browser) ------------------------


def page_script(name: str) -> None:
    """The script AppTest runs: one page of the app (as the navigation would show it)."""
    from curation_ui.app import run_page

    run_page(name)


@pytest.fixture
def app_env(seeded, monkeypatch):
    """The seeded catalog as the app's dataset, without accounts or an import root."""
    monkeypatch.setenv("FACESIFT_ROOT", str(seeded.cat.paths.root))
    monkeypatch.setenv("FACESIFT_DATASET", seeded.cat.paths.name)
    for name in (
        "FACESIFT_AUTH",
        "FACESIFT_REQUIRE_LOGIN",
        "FACESIFT_IMPORT_ROOT",
        "FACESIFT_EXPORT_ROOT",
    ):
        monkeypatch.delenv(name, raising=False)
    return seeded


def open_page(name: str, annotator: str | None = "ann") -> AppTest:
    """Run one page for an annotator (None: as a new visitor, who is asked a name or login)."""
    at = AppTest.from_function(page_script, kwargs={"name": name}, default_timeout=60)
    if annotator:
        at.session_state["annotator"] = annotator
    return at.run()


# --- the real app in a real browser (test_browser.py and the other *_browser tests) ---------


@pytest.fixture
def browsers():
    """``make(size)`` -> one more headless Chromium (scraper.browser.Browser: the scraper's
    flags, its own profile) at ``size``; every one quits at the end."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are needed")
    from scraper.browser import Browser

    made = []

    def make(size: tuple[int, int] = (1400, 1000)):
        chromium = Browser()
        made.append(chromium)
        chromium.driver.set_window_size(*size)
        chromium.driver.implicitly_wait(0)
        return chromium.driver

    try:
        yield make
    finally:
        for chromium in made:
            chromium.quit()


def shots_dir(tmp_path: Path) -> Path:
    """Where a browser test saves its screenshots: $FACESIFT_SCREENSHOTS, else a temp dir."""
    d = Path(os.environ.get("FACESIFT_SCREENSHOTS") or tmp_path / "shots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def page_text(driver) -> str:
    """The page's text, "" when the page was replaced while it was read (a rerun, the login
    gateway's redirect): the browser tests poll it, so a stale read is just read again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except StaleElementReferenceException:
        return ""


def screenshot(driver, path: Path) -> None:
    """A small PNG: the browser's screenshot reduced to a 128-colour palette."""
    raw = path.with_suffix(".raw.png")
    driver.save_screenshot(str(raw))
    with Image.open(raw) as im:
        im.convert("RGB").quantize(128).save(path, optimize=True)
    raw.unlink()


def add_chip_faces(seeded: Seeded, make_face, photo, label: str | None, shift: int) -> Seeded:
    """30 more pending faces labelled ``label`` (None: unlabelled), each with a real chip of
    its own (the photo shifted by ``shift`` + i): pages and queues long enough to browse."""
    cat = seeded.cat
    for i in range(30):
        fid = make_face(cat, label)
        _, rel = store_content(cat.paths.dir, "chips", chip_bytes(photo.path, shift + i), "png")
        cat.conn.execute("UPDATE faces SET chip_path = ? WHERE id = ?", (rel, fid))
    return seeded


@contextmanager
def review_server(seeded: Seeded, tmp_path: Path):
    """``facesift review`` on a free port over the seeded dataset; yields its URL."""
    from tests.conftest import cli_argv

    cat = seeded.cat
    port = free_port()
    argv = cli_argv("--dataset", cat.paths.name, "review", "--port", str(port), root=cat.paths.root)
    with serving(argv, tmp_path / "streamlit.log", port) as url:
        yield url
