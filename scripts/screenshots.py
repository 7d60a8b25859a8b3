"""Regenerate the README's screenshots (docs/*.png) from a real, freshly built dataset.

    .venv/bin/python scripts/screenshots.py            # writes docs/review-*.png
    .venv/bin/python scripts/screenshots.py --out DIR  # somewhere else

Builds a small dataset in a temporary root from the real test photos
(``../shared/testdata/faces``; scikit-image's astronaut, chelsea and coffee when
that folder is absent), imports and extracts it through the stage functions,
records a few review decisions, serves the app (``facesift review`` on a free
port, :func:`curation_ui.serving.serving`), and saves each page in ``SHOTS``
with headless Chromium (the scraper's :class:`scraper.browser.Browser`, with
its CHROME_FLAGS). The server is stopped by its process group id at the end,
whatever happens.

A new page is one more line in ``SHOTS``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog import Catalog  # noqa: E402
from curation_ui.serving import free_port, serving, wait_for  # noqa: E402
from scraper.browser import Browser  # noqa: E402

SHARED_PHOTOS = REPO.parent / "shared" / "testdata" / "faces"
DATASET = "demo"
ANNOTATOR = "ann"
WINDOW = (1400, 1000)


@dataclass(frozen=True)
class Shot:
    """One screenshot: the page's URL path, a text that shows it is drawn, what to wait for."""

    file: str
    path: str  # URL path and query, e.g. "/queue?q_subset=unlabelled"
    ready: str  # text on the page once it is drawn
    named: bool = True  # False: open without an annotator name (the name prompt)
    charts: int = 0  # Vega charts to wait for
    images: int = 0  # images to wait for (chips)
    upload: str | None = None  # a photo (of the set) to upload into the page's file input


SHOTS = [
    Shot("review-annotator.png", "/queue", "Start reviewing", named=False),
    Shot("review-grid.png", "/?rv_label=happy", "Accept the rest of this page", images=1),
    Shot("review-queue.png", "/queue?q_subset=unlabelled", "left in this subset", images=1),
    Shot("review-import.png", "/import", "Extract faces after the import"),
    Shot("review-stats.png", "/stats", "Per annotator", charts=3),
    Shot("review-export.png", "/export", "Replace a non-empty output folder"),
    Shot(
        "review-suspects.png",
        "/?rv_label=happy&rv_sort=most+suspect+first+%28model%29",
        "Accept the rest of this page",
        images=1,
    ),
    Shot(
        "try-it.png",
        "/try_it",
        "Add to dataset",
        images=1,
        upload="dlib_2008_001009_two_faces.jpg",
    ),
]

# Photos by the label their import claims (None: imported without a label).
PHOTOS: dict[str | None, list[str]] = {
    "happy": [
        "dlib_tom_cruise_single_frontal.jpg",
        "fer_justin_single_frontal.jpg",
        "pyfeat_single_face_frontal.jpg",
        "facerec_two_people.jpg",
    ],
    "neutral": [
        "facerec_obama_small_single_frontal.jpg",
        "skimage_astronaut_single_frontal.png",
        "3ddfa_jianzhuguo_single_frontal_glasses.jpg",
    ],
    "surprise": ["dlib_2008_002506_three_faces.jpg"],
    None: [
        "facenet_multiface_group.jpg",
        "deepface_selfie_many_people.jpg",
        "dlib_2009_004587_two_faces.jpg",
        "dlib_dog_bicycle_noface.jpg",
    ],
}
# Without ../shared: scikit-image's sample images (one face, a cat, a cup).
FALLBACK: dict[str | None, list[str]] = {
    "happy": ["astronaut.png"],
    None: ["chelsea.png", "coffee.png"],
}


def photo_folders(work: Path) -> dict[str | None, Path]:
    """A folder of photos per claimed label (``None``: unlabelled), copied from the real set."""
    if SHARED_PHOTOS.is_dir():
        source, plan = SHARED_PHOTOS, PHOTOS
    else:
        import skimage.data

        source, plan = Path(skimage.data.__file__).parent, FALLBACK
    folders: dict[str | None, Path] = {}
    for label, names in plan.items():
        folder = work / (label or "unlabelled")
        folder.mkdir(parents=True)
        for name in names:
            if (source / name).is_file():
                shutil.copy(source / name, folder / name)
        folders[label] = folder
    return folders


def build_dataset(root: Path, work: Path) -> None:
    """Import and extract the photos through the stage functions; record a few decisions."""
    from faces.options import ExtractOptions
    from faces.stage import extract
    from importer.options import ImportOptions
    from importer.stage import import_path

    with Catalog.open(root, DATASET) as cat:
        for label, folder in photo_folders(work).items():
            summary = import_path(cat, ImportOptions(folder, label=label, source="test photos"))
            print(summary.line())
        print(extract(cat, ExtractOptions()).line())
        _decide(cat)
        from model.train import TrainOptions, train  # the model pages' guesses and sorts

        print(train(cat, TrainOptions(include_pending=True, folds=2)).line())


def _decide(cat: Catalog) -> None:
    """Some accepted, relabelled and rejected faces, and one face two annotators disagree on.

    The happy faces stay pending: the grid's screenshot shows them.
    """
    from curation_ui import actions
    from curation_ui.queries import FaceFilter, face_page

    cards = face_page(cat.conn, FaceFilter(), 0, 10_000).cards
    by_label: dict[str | None, list[int]] = {}
    for card in cards:
        by_label.setdefault(card.label, []).append(card.id)
    actions.accept_rest(cat.conn, by_label.get("neutral", [])[:2], ANNOTATOR)
    disputed = by_label.get("surprise", [])[:1]
    actions.relabel(cat.conn, disputed, ANNOTATOR, "surprise")
    actions.relabel(cat.conn, disputed, "bo", "fear")
    unlabelled = by_label.get(None, [])
    actions.relabel(cat.conn, unlabelled[:1], ANNOTATOR, "happy")
    actions.reject(cat.conn, unlabelled[1:2], ANNOTATOR, "low_quality")


def take(driver, url: str, shot: Shot, out: Path) -> None:
    """Open one page, wait until it is drawn and still, and save it as a small PNG."""
    from PIL import Image
    from selenium.webdriver.common.by import By

    driver.get(url)
    body = lambda: driver.find_element(By.TAG_NAME, "body").text  # noqa: E731
    if shot.upload:
        source = SHARED_PHOTOS if SHARED_PHOTOS.is_dir() else None
        if source is None or not (source / shot.upload).is_file():
            return  # the fallback photos hold no group photo to show
        files = 'input[type="file"]'
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, files), 60, "a file input")
        driver.find_element(By.CSS_SELECTOR, files).send_keys(str(source / shot.upload))
    wait_for(lambda: shot.ready in body(), 60, f"{shot.ready!r} on {shot.path}")
    busy = '[data-testid="stSkeleton"], [data-testid="stStatusWidgetRunningIcon"]'
    wait_for(lambda: not driver.find_elements(By.CSS_SELECTOR, busy), 60, "the page to settle")
    if shot.images:
        wait_for(
            lambda: driver.execute_script(
                "const i = Array.from(document.querySelectorAll('[data-testid=stImage] img'));"
                "return i.length >= arguments[0] && i.every(e => e.complete && e.naturalWidth);",
                shot.images,
            ),
            60,
            f"{shot.images} images",
        )
    if shot.charts:
        wait_for(
            lambda: driver.execute_script(
                "const c = document.querySelectorAll('[data-testid=stVegaLiteChart]');"
                "return c.length >= arguments[0] && Array.from(c).every("
                "e => e.querySelector('canvas, svg.marks'));",
                shot.charts,
            ),
            60,
            f"{shot.charts} charts",
        )
    raw = out / (shot.file + ".raw.png")
    driver.save_screenshot(str(raw))
    with Image.open(raw) as im:
        # A 128-colour palette keeps each PNG small in the repository.
        im.convert("RGB").quantize(128).save(out / shot.file, optimize=True)
    raw.unlink()
    print(f"wrote {out / shot.file}")


def main(argv: list[str] | None = None) -> int:
    """Build the dataset, serve it, and save every page in SHOTS."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where the PNGs go")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="facesift-shots-") as tmp:
        tmp_path = Path(tmp)
        root = tmp_path / "datasets"
        build_dataset(root, tmp_path / "photos")
        port = free_port()
        argv = [sys.executable, str(REPO / "pipeline.py"), "--root", str(root)]
        argv += ["--dataset", DATASET, "review", "--port", str(port)]
        with serving(argv, tmp_path / "review.log", port) as base:
            # The scraper's browser: headless, CHROME_FLAGS, a throw-away profile.
            browser = Browser()
            try:
                browser.driver.set_window_size(*WINDOW)
                for shot in SHOTS:
                    sep = "&" if "?" in shot.path else "?"
                    named = f"{sep}annotator={ANNOTATOR}" if shot.named else ""
                    take(browser.driver, base + shot.path + named, shot, args.out)
            finally:
                browser.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
