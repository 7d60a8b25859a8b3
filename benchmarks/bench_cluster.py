"""Extract on the local process pool against Dask, and the driver's write rate (not a test).

    .venv/bin/python benchmarks/bench_cluster.py [--images 2000] [--rounds 2] [--workers 2]

(a) The same web-like images (benchmarks/webset.py: the test photos in six variants,
    repeated to --images distinct files) extracted by `facesift extract --workers N`
    (the local pool) and `facesift extract --scheduler local --workers N` (a Dask
    LocalCluster), one after the other, --rounds times: images/s each and the ratio
    Dask / pool (target >= 0.9).
(b) The driver alone: synthetic face records and chips written through extract's
    catalog writer (faces.stage.write_results), faces/s (target >= 5,000: a cluster of
    100 workers at 20 images/s is then not held back by the one writer).
(c) A projection for 1,000,000 images at 1 to 1,000 workers from the measured
    per-worker rate and the driver's rate.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "benchmarks"))

from bench_extract import build_dataset  # noqa: E402
from webset import web_images  # noqa: E402

from catalog import Catalog  # noqa: E402
from catalog.faces import FaceRow  # noqa: E402
from catalog.images import ImageSource, StoredImage, add_image, add_source  # noqa: E402
from core.storage import content_relpath, sha256_hex  # noqa: E402
from faces.chips import chip_png  # noqa: E402
from faces.stage import write_results  # noqa: E402
from faces.worker import ImageResult  # noqa: E402


def run_extract(root: Path, name: str, workers: int, scheduler: str | None) -> tuple[float, str]:
    """`facesift extract` as a user runs it: seconds, and its summary line."""
    cmd = [sys.executable, str(REPO / "pipeline.py"), "--root", str(root), "--dataset", name]
    cmd += ["extract", "--workers", str(workers)]
    if scheduler:
        cmd += ["--scheduler", scheduler]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout.strip()


def driver_rate(root: Path, images: int = 2000, faces_per_image: int = 4) -> float:
    """Faces/s through the driver's writer: chips stored and rows inserted, in batches."""
    rng = np.random.default_rng(0)
    with Catalog.open(root, "driver") as cat:
        ids = []
        for i in range(images):
            sha = f"{i:064x}"
            image_id, _ = add_image(
                cat.conn, StoredImage(sha, f"images/{sha[:2]}/{sha}.jpg", 640, 480, "JPEG", 1)
            )
            add_source(cat.conn, image_id, ImageSource("import", import_path=str(i)))
            ids.append(image_id)
        results = []
        for image_id in ids:
            rows, chips = [], []
            for k in range(faces_per_image):
                chip = rng.integers(0, 255, size=(64, 64, 3), dtype=np.uint8)
                png = chip_png(chip)
                rows.append(
                    FaceRow(
                        face_index=k,
                        box=(10, 10, 90, 90),
                        detector="hog",
                        score=1.0,
                        landmarks="[" + ",".join("[1,2]" for _ in range(68)) + "]",
                        chip_path=content_relpath("chips", sha256_hex(png), "png"),
                        chip_size=64,
                        chip_padding=0.45,
                        size_px=80.0,
                        sharpness=1.0,
                        brightness=0.5,
                        contrast=0.2,
                        phash=f"{rng.integers(0, 2**63):016x}",
                    )
                )
                chips.append(png)
            results.append(ImageResult(image_id, "done", None, rows, chips))
        os.sync()  # earlier runs' dirty pages are flushed before the clock, not during it
        start = time.perf_counter()
        for k in range(0, len(results), 64):  # extract's default batch size
            write_results(cat.conn, results[k : k + 64], cat.paths.dir)
        seconds = time.perf_counter() - start
    return images * faces_per_image / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    images = web_images(args.images)
    print(
        f"{len(images)} web-like images; {args.workers} workers; "
        f"{len(os.sched_getaffinity(0))} cores; {args.rounds} rounds"
    )
    rates: dict[str, list[float]] = {"pool": [], "dask": []}
    faces_per_image = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for r in range(args.rounds):
            for engine, scheduler in (("pool", None), ("dask", "local")):
                name = f"{engine}-{r}"
                build_dataset(root, name, images)
                seconds, line = run_extract(root, name, args.workers, scheduler)
                rates[engine].append(len(images) / seconds)
                print(f"(a) round {r + 1} {engine}: {len(images) / seconds:.2f} images/s")
                print(f"    {line}")
                with Catalog.open(root, name) as cat:
                    faces = cat.conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
                faces_per_image = faces / len(images)
        pool, dask = np.mean(rates["pool"]), np.mean(rates["dask"])
        print(
            f"(a) mean: pool {pool:.2f}, dask {dask:.2f} images/s; dask/pool = "
            f"{dask / pool:.2f} (target >= 0.9; rounds "
            + ", ".join(f"{d / p:.2f}" for p, d in zip(rates["pool"], rates["dask"], strict=True))
            + ")"
        )
        write = driver_rate(root)
        print(f"(b) driver writes {write:,.0f} faces/s (target >= 5,000)")
    per_worker = dask / args.workers
    driver_images = write / max(faces_per_image, 1e-9)
    print(
        f"(c) 1,000,000 images ({faces_per_image:.2f} faces each), from {per_worker:.1f} "
        f"images/s per worker and a driver that writes {driver_images:,.0f} images/s:"
    )
    for n in (1, 2, 10, 100, 1000):
        rate = min(n * per_worker, driver_images)
        bound = "driver" if n * per_worker > driver_images else "workers"
        print(f"    {n:>5} workers: {1e6 / rate / 3600:8.2f} h ({rate:,.0f} images/s, {bound})")


if __name__ == "__main__":
    main()
