"""Faces found in tight crops: FER2013's PrivateTest split under each cascade (not a test).

    .venv/bin/python benchmarks/bench_fer2013.py [--folder DIR] [--per-class N] [--workers N]

The split (../shared/testdata/fer2013_privatetest/<label>/*.jpg, 3,589 48x48
crops) is imported with the import stage (labels from the folders), once per
mode, and extracted by the extract stage with:
  --cascade off   HOG at upsample 0 and 1 only (what extract did before);
  --cascade auto  then HOG on the grey-framed copy, then dlib's CNN on it;
  --whole-image   the image is the face box (landmarks fitted in it).
Prints, per class and overall, the % of images with a face (targets: auto >= 95%
overall and >= 90% per class; whole-image 100%), the faces by finding step, and
the seconds per image of each cascade step, timed one image at a time on one
core over a sample (each step timed on the images that reach it).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from catalog import Catalog  # noqa: E402
from faces.detect import DetectParams, cnn_step, detect_faces, frame_step  # noqa: E402
from faces.models import load_models  # noqa: E402
from faces.options import ExtractOptions  # noqa: E402
from faces.stage import extract  # noqa: E402
from importer.options import ImportOptions  # noqa: E402
from importer.stage import import_path  # noqa: E402

DEFAULT_FOLDER = REPO.parent / "shared" / "testdata" / "fer2013_privatetest"
MODES = {
    "cascade off": ExtractOptions(cascade="off"),
    "cascade auto": ExtractOptions(cascade="auto"),
    "whole image": ExtractOptions(whole_image=True),
}


def sample_folder(src: Path, dst: Path, per_class: int | None, seed: int = 0) -> Path:
    """``src`` itself, or a copy of ``per_class`` random images of each label folder."""
    if per_class is None:
        return src
    rng = random.Random(seed)
    for label_dir in sorted(p for p in src.iterdir() if p.is_dir()):
        files = sorted(label_dir.glob("*.jpg"))
        (dst / label_dir.name).mkdir(parents=True)
        for f in rng.sample(files, min(per_class, len(files))):
            shutil.copy(f, dst / label_dir.name / f.name)
    return dst


def found_by_label(cat: Catalog) -> dict[str, tuple[int, int]]:
    """label -> (images with a face, images) over the imported images."""
    rows = cat.conn.execute(
        "SELECT s.source_label, SUM(i.extract_status = 'done'), COUNT(*) "
        "FROM images i JOIN (SELECT DISTINCT image_id, source_label FROM image_sources) s "
        "ON s.image_id = i.id GROUP BY s.source_label ORDER BY s.source_label"
    )
    return {label: (found, n) for label, found, n in rows}


def run_mode(root: Path, name: str, folder: Path, opts: ExtractOptions) -> dict:
    """Import the folder into a new dataset and extract it; the figures of the run."""
    with Catalog.open(root, name) as cat:
        imported = import_path(cat, ImportOptions(folder, labels_from="folders", no_extract=True))
        start = time.perf_counter()
        summary = extract(cat, opts)
        seconds = time.perf_counter() - start
        return {
            "images": imported.kept,
            "seconds": seconds,
            "summary": summary,
            "by_label": found_by_label(cat),
        }


def step_seconds(folder: Path, n: int, seed: int = 1) -> dict[str, tuple[int, float]]:
    """step -> (images that reached it, mean seconds per image), on one core, ``n`` images.

    Each image goes through the cascade as extract runs it: HOG (upsample 0, then
    1), the frame step where HOG found nothing, the CNN where that found nothing.
    """
    files = sorted(folder.glob("*/*.jpg"))
    files = random.Random(seed).sample(files, min(n, len(files)))
    models = load_models()
    models.need_cnn()  # loaded before timing
    params = DetectParams(cascade="off")
    times: dict[str, list[float]] = defaultdict(list)
    for f in files:
        with Image.open(f) as im:
            img = im.convert("RGB")
        steps = (
            ("hog", lambda img=img: detect_faces(models, img, params)),
            ("hog+frame", lambda img=img: frame_step(models, img)),
            ("cnn", lambda img=img: cnn_step(models, img)),
        )
        for step, run in steps:
            start = time.perf_counter()
            found = run()
            times[step].append(time.perf_counter() - start)
            if found:
                break
    return {step: (len(t), sum(t) / len(t)) for step, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    ap.add_argument("--per-class", type=int, default=None, help="a sample of N images per label")
    ap.add_argument("--workers", type=int, default=None, help="extract workers (default: cores)")
    ap.add_argument("--timing-images", type=int, default=300, help="images for the step timing")
    args = ap.parse_args()
    if not args.folder.is_dir():
        sys.exit(f"no FER2013 folder at {args.folder}")
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        folder = sample_folder(args.folder, Path(tmp) / "sample", args.per_class)
        print(f"FER2013 PrivateTest from {args.folder}; {cores} cores (shared with other work)")
        results = {}
        for i, (mode, opts) in enumerate(MODES.items()):
            opts = ExtractOptions(**{**opts.__dict__, "workers": args.workers})
            results[mode] = r = run_mode(Path(tmp), f"m{i}", folder, opts)
            s = r["summary"]
            print(
                f"{mode}: {r['images']} images, {r['seconds']:.0f} s "
                f"({r['images'] / r['seconds']:.1f} images/s, {s.workers} workers); "
                f"faces by step: {s.by_detector}"
            )
        labels = sorted(next(iter(results.values()))["by_label"])
        print()
        print(f"{'label':<10}" + "".join(f"{m:>15}" for m in MODES) + f"{'images':>9}")
        for label in [*labels, "overall"]:
            cells = []
            for r in results.values():
                if label == "overall":
                    found = sum(f for f, _ in r["by_label"].values())
                    n = sum(n for _, n in r["by_label"].values())
                else:
                    found, n = r["by_label"][label]
                cells.append(f"{100 * found / n:14.1f}%")
            print(f"{label:<10}" + "".join(cells) + f"{n:>9}")
        print("targets: cascade auto >= 95% overall, >= 90% per class; whole image 100%")
        print()
        steps = step_seconds(folder, args.timing_images)
        total = steps["hog"][0]
        print(f"seconds per image of each cascade step (one core, {total} images):")
        for step, (n, mean) in steps.items():
            print(
                f"  {step:<10} {mean * 1000:7.1f} ms an image, "
                f"on the {n} images ({100 * n / total:.0f}%) that reached it"
            )


if __name__ == "__main__":
    main()
