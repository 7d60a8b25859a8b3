"""Download throughput on loopback: N image URLs served by the fake search server.

    .venv/bin/python benchmarks/bench_download.py [--urls 2000] [--concurrency 8]

The server runs in its own process (as a real one would); this process fetches,
validates (core.decode.decode_image), hashes, stores and records every image.
Prints images/s and peak RSS for the full pipeline and, side by side, for a
fetch-only pass over the same URLs, and the ratio to the 300 images/s target.

    .venv/bin/python benchmarks/bench_download.py --url-list FILE [--urls 2000]
        [--img2dataset PATH]

writes the local server's URLs to FILE (one a line, img2dataset's txt format),
runs ``facesift import FILE`` over it (the URL-list import: the scrape downloader,
catalog records, provenance) in a child process and, where ``img2dataset`` is
installed (not a facesift dependency: on PATH, in this venv or given), runs it on
the same list in another child, and prints both throughputs and peak memories
side by side.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET = 300.0  # images per second on 2 cores


def serve(n: int, ready: mp.Queue, stop: mp.Event) -> None:
    """The fake server in a child process, its images made before it says ready."""
    from tests.conftest import load_photos
    from tests.scraper.fixture_images import ImageFactory
    from tests.scraper.fixture_server import FakeSearch, Server

    factory = ImageFactory([p.path for p in load_photos()])
    sizes = [len(factory.good(i)) for i in range(n)]
    with Server(FakeSearch(factory)) as server:
        ready.put((server.base, sum(sizes) / len(sizes)))
        stop.wait()


@contextmanager
def served(n: int) -> Iterator[tuple[str, float]]:
    """Run ``serve`` in a child process; yield (base URL, mean image bytes); stop it after."""
    ready: mp.Queue = mp.Queue()
    stop = mp.Event()
    server = mp.Process(target=serve, args=(n, ready, stop), daemon=True)
    server.start()
    try:
        yield ready.get(timeout=300)
    finally:
        stop.set()
        server.join(10)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fetch_only(urls: list[str], concurrency: int) -> float:
    """Seconds to GET every URL with pooled sessions and no validation (the network floor)."""
    import threading

    import requests

    local = threading.local()

    def get(url: str) -> int:
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        return len(s.get(url, timeout=10).content)

    t = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(get, urls))
    return time.perf_counter() - t


def full_pipeline(urls: list[str], concurrency: int) -> tuple[float, int]:
    """Seconds to fetch, validate, hash, store and record every URL; images stored."""
    from catalog import Catalog
    from catalog.db import connect
    from catalog.scrape import Recorder, add_hit, ensure_query, start_run
    from scraper.config import DownloadOptions
    from scraper.download import DownloadPool, Fetcher
    from scraper.records import Hit

    opts = DownloadOptions(concurrency=concurrency, per_host=concurrency, allow_private_hosts=True)
    with tempfile.TemporaryDirectory() as d, Catalog.open(d, "bench") as cat:
        qid = ensure_query(cat.conn, "google", "bench", "happy")
        run = start_run(cat.conn, qid, "bench")
        for u in urls:
            add_hit(cat.conn, qid, run, "happy", Hit(u))
        recorder = Recorder(connect(cat.paths.catalog))
        pool = DownloadPool(Fetcher(cat.paths.dir, opts), recorder.record)
        t = time.perf_counter()
        pool.submit(urls)
        pool.wait()
        elapsed = time.perf_counter() - t
        pool.close()
        recorder.conn.close()
        n = cat.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    return elapsed, n


# --- --url-list: facesift import against img2dataset, each in its own process -------

FACESIFT_IMPORT = """
import sys
from catalog import Catalog
from importer.url_list import import_url_list
from scraper.config import DownloadOptions
opts = DownloadOptions(concurrency=int(sys.argv[3]), per_host=int(sys.argv[3]),
                       allow_private_hosts=True)
with Catalog.open(sys.argv[1], "bench") as cat:
    s = import_url_list(cat, sys.argv[2], download=opts)
print(s.kept)
"""


def timed_child(argv: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Seconds, peak RSS in MB (os.wait4's own rusage of the child), exit code, stderr tail."""
    import os
    import subprocess

    t = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()  # drain, so a chatty child cannot block
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - t
    return elapsed, usage.ru_maxrss / 1024, proc.returncode, err.decode()[-300:]


def find_img2dataset(given: str | None) -> str | None:
    """The img2dataset command: given, on PATH, or beside this interpreter."""
    import shutil

    if given:
        return given
    beside = Path(sys.executable).parent / "img2dataset"
    return shutil.which("img2dataset") or (str(beside) if beside.exists() else None)


def count_files(folder: Path, suffix: str) -> int:
    return sum(1 for _ in folder.rglob(f"*{suffix}"))


def url_list_bench(args: argparse.Namespace, base: str) -> None:
    """facesift's URL-list import and img2dataset on the same list, side by side."""
    urls = [f"{base}/img/good/{i}.jpg" for i in range(args.urls)]
    url_file = Path(args.url_list).resolve()
    url_file.write_text("".join(u + "\n" for u in urls))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        argv = [sys.executable, "-c", FACESIFT_IMPORT, str(work / "fs"), str(url_file),
                str(args.concurrency)]  # fmt: skip
        secs, mb, code, err = timed_child(argv, REPO)
        kept = count_files(work / "fs" / "bench" / "images", ".jpg") if code == 0 else 0
        rows.append(("facesift import", secs, mb, kept, code, err))
        tool = find_img2dataset(args.img2dataset)
        if tool:
            out = work / "i2d"
            argv = [tool, "--url_list", str(url_file), "--input_format", "txt",
                    "--output_folder", str(out), "--output_format", "files",
                    "--processes_count", "1", "--thread_count", str(args.concurrency),
                    "--resize_mode", "no", "--timeout", "10", "--retries", "0",
                    "--enable_wandb", "False", "--disallowed_header_directives", "[]"]  # fmt: skip
            secs, mb, code, err = timed_child(argv, REPO)
            rows.append(("img2dataset", secs, mb, count_files(out, ".jpg"), code, err))
    print(f"{args.urls} URLs of distinct real-photo JPEGs on a local server, "
          f"concurrency {args.concurrency}, list {url_file}")  # fmt: skip
    print(f"{'tool':<16} {'images/s':>9} {'seconds':>8} {'peak RSS MB':>12} {'stored':>7}")
    for name, secs, mb, kept, code, err in rows:
        note = "" if code == 0 else f"  (exit {code}: {err.strip().splitlines()[-1:]})"
        print(f"{name:<16} {args.urls / secs:9.1f} {secs:8.2f} {mb:12.0f} {kept:7d}{note}")
    if len(rows) == 2 and rows[0][4] == 0 and rows[1][4] == 0:
        fs, i2d = rows
        print(f"facesift / img2dataset: throughput {i2d[1] / fs[1]:.2f}, "
              f"peak memory {fs[2] / i2d[2]:.2f}")  # fmt: skip
    elif len(rows) == 1:
        print("img2dataset is not installed (pip install img2dataset, or --img2dataset PATH)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--urls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--url-list", metavar="FILE", help="compare facesift import and img2dataset")
    ap.add_argument("--img2dataset", metavar="PATH", help="the img2dataset command to compare")
    args = ap.parse_args()
    if args.url_list:
        with served(args.urls) as (base, _):
            url_list_bench(args, base)
        return

    with served(args.urls) as (base, mean_bytes):
        urls = [f"{base}/img/good/{i}.jpg" for i in range(args.urls)]
        print(f"{args.urls} distinct JPEGs of real photos, mean {mean_bytes / 1024:.1f} KiB, "
              f"concurrency {args.concurrency}, {mp.cpu_count()} cores")  # fmt: skip
        rss0 = rss_mb()
        floor = fetch_only(urls, args.concurrency)
        elapsed, stored = full_pipeline(urls, args.concurrency)
        rss1 = rss_mb()
    full_rate, floor_rate = args.urls / elapsed, args.urls / floor
    print(f"fetch only (no validation):       {floor_rate:8.1f} images/s  ({floor:.2f} s)")
    print(f"fetch+decode+sha256+store+record: {full_rate:8.1f} images/s  ({elapsed:.2f} s), "
          f"{stored} images stored")  # fmt: skip
    print(f"full / fetch-only: {full_rate / floor_rate:.2f};  full / target {TARGET:.0f}: "
          f"{full_rate / TARGET:.2f}")  # fmt: skip
    print(f"peak RSS of the downloading process: {rss1:.0f} MB (before the runs {rss0:.0f} MB)")


if __name__ == "__main__":
    main()
