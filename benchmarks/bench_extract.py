"""Extract throughput and memory, measured side by side in one run (not a test).

    .venv/bin/python benchmarks/bench_extract.py [--images N] [--fer 600] [--cascade auto|off]

On two sets: the web-like photos (benchmarks/webset.py: the 40 test photos of
../shared/testdata/faces, else scikit-image's, in six variants each: 240 files, or
--images distinct files) and FER2013 PrivateTest crops (--fer of them; skipped
without ../shared), it reports:
  (a) a bare loop on one core: decode, dlib's HOG at upsample 0, again at 1 where
      0 found nothing or the image is small; no cascade, no landmarks, no chips;
  (b) `facesift extract` with its defaults (cascade auto) as a user runs it, with
      one worker and with every core: images/s and the ratios b1/a (target >= 0.85)
      and b_all/b1 (target >= 1.7 on 2 cores); and the CPU seconds of (a)'s loop and
      of (b1)'s whole process tree, whose ratio a shared machine's load moves less;
  (c) peak RSS of the whole process tree;
  (e) the cascade's steps: how many images each ran on and its CPU per image;
  (d) near-duplicate grouping of 100,000 synthetic hashes, seconds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
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
sys.path.append(str(REPO / "benchmarks"))

from webset import web_images  # noqa: E402

from catalog import Catalog  # noqa: E402
from catalog.db import connect  # noqa: E402
from catalog.images import ImageSource, StoredImage, add_image, add_source  # noqa: E402
from core.decode import decode_image  # noqa: E402
from core.storage import store_content  # noqa: E402
from faces.detect import SMALL_SIDE, cnn_step, frame_step, upsample_passes  # noqa: E402
from faces.models import Models, dnn_loaded_here  # noqa: E402
from faces.neardup import near_duplicate_groups  # noqa: E402


def build_dataset(root: Path, name: str, images: list[bytes]) -> None:
    """The images stored as an import would (each one distinct)."""
    with Catalog.open(root, name) as cat:
        for i, data in enumerate(images):
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


def bare_loop(
    files: list[Path],
    upsample: str,
    cascade: str,
    predecoded: bool = False,
    cpu: list[float] | None = None,
) -> float:
    """Images/s of a plain loop over the files: load each, run dlib's HOG detector.

    The upsample policy is the stage's: "auto" runs at 0 and again at 1 where
    0 found nothing or the image is small; so is the cascade. With ``predecoded``
    the images are decoded once up front and only detection is timed (the
    detector's own limit). ``cpu``, if given, gets the loop's CPU seconds.
    """
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(everything)})
    try:
        models = _models(cascade)
        levels = upsample_passes(upsample)
        cache = {}
        if predecoded:
            for f in files:
                key = f.read_bytes()[:4096]
                cache.setdefault(key, _load(f))
        start, start_cpu = time.perf_counter(), time.process_time()
        for f in files:
            img = cache[f.read_bytes()[:4096]] if predecoded else _load(f)
            _detect(models, img, levels, cascade)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
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
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the CLI and its pool, reaped
    cpu = sum(getattr(after, k) - getattr(before, k) for k in ("ru_utime", "ru_stime"))
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
        "cpu": cpu,
        "out": out,
    }


def step_profile(images: list[bytes]) -> str:
    """Which cascade step ran on how many images, and its CPU seconds per image (one core,
    in this process): where extract's time goes beyond the bare loop."""
    from faces import detect
    from faces.models import load_models

    models = load_models("hog")
    seconds: dict[str, float] = {}
    runs: dict[str, int] = {}

    def timed(name: str, fn):
        def run(*a, **kw):
            start = time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.process_time() - start
                runs[name] = runs.get(name, 0) + 1

        return run

    real = detect.frame_step, detect.cnn_step
    detect.frame_step = timed("hog+frame", detect.frame_step)
    detect.cnn_step = timed("cnn", detect.cnn_step)
    found: dict[str, int] = {}
    try:
        for data in images:
            img = decode_image(data).rgb
            dets = timed("all steps", detect.detect_faces)(models, img, detect.DetectParams())
            step = dets[0].step if dets else "none"
            found[step] = found.get(step, 0) + 1
    finally:
        detect.frame_step, detect.cnn_step = real
    lines = [f"    images by the step that found their faces: {found}"]
    for name in ("all steps", "hog+frame", "cnn"):
        n = runs.get(name, 0)
        each = seconds.get(name, 0.0) / n * 1000 if n else 0.0
        lines.append(f"    {name}: ran on {n} images, {each:.1f} ms CPU each")
    return "\n".join(lines)


def compare(label: str, images: list[bytes], upsample: str, cascade: str, root: Path) -> None:
    """(a) the bare loop and (b) facesift extract with 1 and every core, on one image set."""
    cores = len(os.sched_getaffinity(0))
    n = len(images)
    print(f"== {label}: {n} images; {cores} cores; upsample {upsample}; cascade {cascade}")
    build_dataset(root, f"{label}-bare", images)
    with Catalog.open(root, f"{label}-bare") as cat:
        files = [cat.paths.resolve(r[0]) for r in cat.conn.execute("SELECT path FROM images")]
    cpu: list[float] = []
    a = bare_loop(files, upsample, "off", cpu=cpu)
    print(
        f"(a) bare loop: decode + dlib HOG at 0, retry at 1, one core: {a:.2f} images/s "
        f"({cpu[-1]:.1f} s CPU)"
    )
    results = {}
    a_after = a
    for workers in sorted({1, cores}):
        name = f"{label}-w{workers}"
        build_dataset(root, name, images)
        results[workers] = r = run_cli(root, name, workers, upsample, n, cascade)
        if workers == 1:
            # The machine is shared: (a) again, right after (b1), shows the drift.
            a_after = bare_loop(files, upsample, "off", cpu=cpu)
        print(
            f"(b) facesift extract --workers {workers}: {r['rate']:.2f} images/s "
            f"({r['seconds']:.1f} s; {r['cpu']:.1f} s CPU, process tree)"
        )
        print("    " + r["out"].strip())
    b1, ball = results[1]["rate"], results[cores]["rate"]
    a_mean = (a + a_after) / 2
    print(f"(a) again after (b1): {a_after:.2f} images/s; mean {a_mean:.2f}")
    low, high = b1 / max(a, a_after), b1 / min(a, a_after)
    print(f"b1/a = {b1 / a_mean:.2f} (target >= 0.85; {low:.2f} to {high:.2f} by either a)")
    a_cpu = sum(cpu) / len(cpu)
    b1_cpu = results[1]["cpu"]
    print(f"CPU: a {a_cpu:.1f} s (mean), b1 {b1_cpu:.1f} s (tree): a/b1 = {a_cpu / b1_cpu:.2f}")
    if cores > 1:
        print(f"b{cores}/b1 = {ball / b1:.2f} (target >= 1.7 on 2 cores)")
    peak = max(r["hwm"] for r in results.values())
    print(f"(c) peak RSS of the process tree: {peak / 1024:.0f} MB (sum of each VmHWM)")
    print("(e) the cascade's steps, in this process:")
    print(step_profile(images))


def fer_images(limit: int) -> list[bytes]:
    """FER2013 PrivateTest's files (every k-th to ``limit``), or none without ../shared."""
    from tests.conftest import SHARED_FER

    files = sorted(SHARED_FER.glob("*/*.jpg"))
    if limit and len(files) > limit:
        files = files[:: len(files) // limit][:limit]
    return [f.read_bytes() for f in files]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=0, help="web-like images (default: 240)")
    ap.add_argument("--fer", type=int, default=600, help="FER2013 crops (0: none)")
    ap.add_argument("--upsample", default="auto", choices=("auto", "0", "1", "2"))
    ap.add_argument("--cascade", default="auto", choices=("auto", "off"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        compare("web", web_images(args.images or None), args.upsample, args.cascade, root)
        fer = fer_images(args.fer) if args.fer else []
        if fer:
            compare("fer2013", fer, args.upsample, args.cascade, root)

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
