"""Extract throughput and memory, measured side by side in one run (not a test).

    .venv/bin/python benchmarks/bench_extract.py [--images 500] [--upsample auto] [--kinds single]
        [--cascade auto|off]

Reports, on the test photos (../shared/testdata/faces, else scikit-image's)
repeated to --images distinct files:
  (a) a bare loop of dlib's HOG detector on one core (the same upsample policy
      as the stage, on pre-decoded images): the limit of this stage;
  (b) `facesift extract` with one worker and with every core, images/s, and the
      ratios b1/a (target >= 0.85) and b_all/b1 (target >= 1.7 on 2 cores);
      ``--cascade`` is extract's: under ``auto`` (its default) the photos where
      HOG finds no face also pay the frame and CNN steps, which the bare loop
      does not run; ``off`` compares like with like;
  (c) peak RSS of the whole process tree (parent + workers), in the first and
      the second half of the run: flat means memory does not grow with images;
  (d) near-duplicate grouping of 100,000 synthetic hashes, seconds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dlib
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "tests"))  # for conftest.load_photos (after the packages)

from conftest import load_photos  # noqa: E402

from catalog import Catalog  # noqa: E402
from catalog.db import connect  # noqa: E402
from catalog.images import ImageSource, StoredImage, add_image, add_source  # noqa: E402
from core.decode import decode_image  # noqa: E402
from core.storage import store_content  # noqa: E402
from faces.detect import SMALL_SIDE, cnn_step, frame_step, upsample_passes  # noqa: E402
from faces.models import Models, dnn_loaded_here  # noqa: E402
from faces.neardup import near_duplicate_groups  # noqa: E402


def build_dataset(root: Path, name: str, sources: list[bytes], n: int) -> None:
    """n distinct stored images: the photos in turn, each copy made unique by trailing bytes."""
    with Catalog.open(root, name) as cat:
        for i in range(n):
            base = sources[i % len(sources)]
            data = base + b"\0facesift-bench-%d" % i  # decoders ignore bytes after the end marker
            d = decode_image(data)
            sha, rel = store_content(cat.paths.dir, "images", data, d.ext)
            image_id, _ = add_image(
                cat.conn, StoredImage(sha, rel, d.width, d.height, d.format, len(data))
            )
            add_source(cat.conn, image_id, ImageSource("import", import_path=f"{i}"))


def _load(path: Path) -> np.ndarray:
    # Pillow, not dlib.load_rgb_image: the pip dlib cannot read WebP (one test photo is).
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _detect(models: Models, img: np.ndarray, levels: list[int], cascade: str) -> int:
    """dlib's detector under the stage's policy: a later level only where the earlier
    found nothing or the image is small; under cascade "auto", where HOG found
    nothing, the stage's frame step, then its CNN step (dlib on a framed copy)."""
    found = 0
    for i, level in enumerate(levels):
        if i and found and max(img.shape[:2]) >= SMALL_SIDE:
            break
        found = len(models.hog.run(img, level, 0.0)[0])
    if found or cascade == "off":
        return found
    pil = Image.fromarray(img)
    return len(frame_step(models, pil)) or len(cnn_step(models, pil))


def _models(cascade: str) -> Models:
    # The detectors only (no landmark model): what a bare detection loop loads.
    models = Models(hog=dlib.get_frontal_face_detector(), landmarks=None)
    if cascade == "auto":
        models.need_cnn()  # the stage's workers load it on first need: before the clock here
    return models


def bare_loop(files: list[Path], upsample: str, cascade: str, predecoded: bool = False) -> float:
    """Images/s of a plain loop over the files: load each, run dlib's HOG detector.

    The upsample policy is the stage's: "auto" runs at 0 and again at 1 where
    0 found nothing or the image is small; so is the cascade. With ``predecoded``
    the images are decoded once up front and only detection is timed (the
    detector's own limit).
    """
    cpu = min(os.sched_getaffinity(0))
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        models = _models(cascade)
        levels = upsample_passes(upsample)
        cache = {}
        if predecoded:
            for f in files:
                key = f.read_bytes()[:4096]
                cache.setdefault(key, _load(f))
        start = time.perf_counter()
        for f in files:
            img = cache[f.read_bytes()[:4096]] if predecoded else _load(f)
            _detect(models, img, levels, cascade)
        return len(files) / (time.perf_counter() - start)
    finally:
        os.sched_setaffinity(0, everything)


def _detect_files(args: tuple[list[Path], str, str]) -> int:
    files, upsample, cascade = args
    models = _models(cascade)
    levels = upsample_passes(upsample)
    for f in files:
        _detect(models, _load(f), levels, cascade)
    return len(files)


def bare_parallel(files: list[Path], upsample: str, cascade: str, procs: int) -> float:
    """Images/s of the bare loop split over ``procs`` processes: what the machine allows now."""
    parts = [files[i::procs] for i in range(procs)]
    # A process that has run dlib's CNN cannot be forked safely (see faces.models).
    method = "forkserver" if dnn_loaded_here() else "fork"
    with multiprocessing.get_context(method).Pool(procs) as pool:
        start = time.perf_counter()
        pool.map(_detect_files, [(part, upsample, cascade) for part in parts])
        return len(files) / (time.perf_counter() - start)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB: its resident memory now and at its peak so far."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return tuple(int(fields.get(k, "0 kB").split()[0]) for k in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


def run_cli(root: Path, name: str, workers: int, upsample: str, n: int, cascade: str) -> dict:
    """Run `facesift extract` as a user would; time it and sample the tree's RSS."""
    cmd = [sys.executable, str(REPO / "pipeline.py"), "--root", str(root), "--dataset", name]
    cmd += ["extract", "--workers", str(workers), "--upsample", upsample, "--cascade", cascade]
    samples: list[tuple[int, int, int]] = []  # (images processed, parent kB, workers kB)
    peaks: dict[int, int] = {}  # pid -> its VmHWM: the true peak, between samples too
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    catalog = root / name / "catalog.sqlite"

    def sample() -> None:
        # Once a second, reading only this process tree's files: the sampler must
        # not take CPU from the run it measures (the machine has 2 cores).
        while proc.poll() is None:
            try:
                conn = connect(catalog, readonly=True)
                done = conn.execute(
                    "SELECT COUNT(*) FROM images WHERE extract_status IS NOT NULL"
                ).fetchone()[0]
                conn.close()
            except Exception:
                done = 0
            parent, parent_peak = _memory_kb(proc.pid)
            peaks[proc.pid] = max(peaks.get(proc.pid, 0), parent_peak)
            workers = 0
            for child in _children(proc.pid):
                rss, peak = _memory_kb(child)
                workers += rss
                peaks[child] = max(peaks.get(child, 0), peak)
            samples.append((done, parent, workers))
            time.sleep(1.0)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out = proc.communicate()[0]
    seconds = time.perf_counter() - start
    sampler.join()

    def peak(half: int) -> tuple[int, int, int]:
        rows = [(p, w) for d, p, w in samples if (d >= n / 2) == bool(half)]
        return (
            max((p + w for p, w in rows), default=0),
            max((p for p, _ in rows), default=0),
            max((w for _, w in rows), default=0),
        )

    return {
        "seconds": seconds,
        "rate": n / seconds,
        "half1": peak(0),
        "half2": peak(1),
        "hwm": sum(peaks.values()),
        "out": out,
    }
    return {"seconds": seconds, "rate": n / seconds, "half1": peak(0), "half2": peak(1), "out": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--upsample", default="auto", choices=("auto", "0", "1", "2"))
    ap.add_argument("--cascade", default="auto", choices=("auto", "off"))
    ap.add_argument(
        "--kinds",
        default="",
        metavar="K,K",
        help="only photos whose manifest kind starts with one of these (e.g. single)",
    )
    args = ap.parse_args()
    n = args.images
    cores = len(os.sched_getaffinity(0))
    kinds = tuple(k for k in args.kinds.split(",") if k)
    photos = [p for p in load_photos() if not kinds or p.kind.startswith(kinds)]
    sources = [p.path.read_bytes() for p in photos]
    print(
        f"{len(photos)} test photos repeated to {n} images; {cores} cores; "
        f"upsample {args.upsample}; cascade {args.cascade}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_dataset(root, "bare", sources, n)
        with Catalog.open(root, "bare") as cat:
            files = [cat.paths.resolve(r[0]) for r in cat.conn.execute("SELECT path FROM images")]
        a = bare_loop(files, args.upsample, args.cascade)
        print(f"(a) bare loop: load + dlib HOG detector, one core: {a:.2f} images/s")
        a_det = bare_loop(files, args.upsample, args.cascade, predecoded=True)
        print(f"    (the detector alone, images decoded beforehand: {a_det:.2f} images/s)")
        if cores > 1:
            a_all = bare_parallel(files, args.upsample, args.cascade, cores)
            print(
                f"    (the bare loop in {cores} processes: {a_all:.2f} images/s, "
                f"x{a_all / a:.2f}: what the machine gives right now)"
            )
        results = {}
        for workers in sorted({1, cores}):
            name = f"w{workers}"
            build_dataset(root, name, sources, n)
            results[workers] = r = run_cli(root, name, workers, args.upsample, n, args.cascade)
            if workers == 1:
                # The machine is shared: (a) again, right after (b1), shows the drift.
                a_after = bare_loop(files, args.upsample, args.cascade)
            print(
                f"(b) facesift extract --workers {workers}: {r['rate']:.2f} images/s "
                f"({r['seconds']:.1f} s)"
            )
            print("    " + r["out"].strip())
            for label, (tree, parent, kids) in (("first", r["half1"]), ("second", r["half2"])):
                print(
                    f"    peak RSS in the {label} half of the images: {tree / 1024:.0f} MB "
                    f"(parent {parent / 1024:.0f} MB, workers {kids / 1024:.0f} MB)"
                )
    b1, ball = results[1]["rate"], results[cores]["rate"]
    a_mean = (a + a_after) / 2
    print(f"(a) again after (b1): {a_after:.2f} images/s; mean {a_mean:.2f}")
    low, high = b1 / max(a, a_after), b1 / min(a, a_after)
    print(f"b1/a = {b1 / a_mean:.2f} (target >= 0.85; {low:.2f} to {high:.2f} by either a)")
    if cores > 1:
        print(f"b_all/b1 = {ball / b1:.2f} on {cores} cores (target >= 1.7 on 2 cores)")
    peak = max(r["hwm"] for r in results.values())
    print(
        f"(c) peak RSS of the process tree: {peak / 1024:.0f} MB "
        "(the sum of each process's own peak, VmHWM: an upper bound)"
    )

    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**64, size=100_000, dtype=np.uint64)
    hashes[50_000:] = hashes[:50_000] ^ np.uint64(0b1011)  # half are near-duplicates
    start = time.perf_counter()
    groups = near_duplicate_groups(np.arange(100_000), hashes, 6)
    print(
        f"(d) near-duplicate groups of 100,000 hashes: {time.perf_counter() - start:.2f} s "
        f"({len(np.unique(groups))} groups)"
    )


if __name__ == "__main__":
    main()
