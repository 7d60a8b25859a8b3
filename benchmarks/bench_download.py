"""Download throughput on loopback: N image URLs served by the fake search server.

    .venv/bin/python benchmarks/bench_download.py [--urls 2000] [--concurrency 8]

The server runs in its own process (as a real one would); this process fetches,
validates (catalog.decode.decode_image), hashes, stores and records every image.
Prints images/s and peak RSS for the full pipeline and, side by side, for a
fetch-only pass over the same URLs, and the ratio to the 300 images/s target.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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
    from scraper.config import DownloadOptions
    from scraper.download import DownloadPool, Fetcher
    from scraper.records import Hit
    from scraper.store import Recorder, add_hit, ensure_query, start_run

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--urls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    ready: mp.Queue = mp.Queue()
    stop = mp.Event()
    server = mp.Process(target=serve, args=(args.urls, ready, stop), daemon=True)
    server.start()
    try:
        base, mean_bytes = ready.get(timeout=300)
        urls = [f"{base}/img/good/{i}.jpg" for i in range(args.urls)]
        print(f"{args.urls} distinct JPEGs of real photos, mean {mean_bytes / 1024:.1f} KiB, "
              f"concurrency {args.concurrency}, {mp.cpu_count()} cores")  # fmt: skip
        rss0 = rss_mb()
        floor = fetch_only(urls, args.concurrency)
        elapsed, stored = full_pipeline(urls, args.concurrency)
        rss1 = rss_mb()
    finally:
        stop.set()
        server.join(10)
    full_rate, floor_rate = args.urls / elapsed, args.urls / floor
    print(f"fetch only (no validation):       {floor_rate:8.1f} images/s  ({floor:.2f} s)")
    print(f"fetch+decode+sha256+store+record: {full_rate:8.1f} images/s  ({elapsed:.2f} s), "
          f"{stored} images stored")  # fmt: skip
    print(f"full / fetch-only: {full_rate / floor_rate:.2f};  full / target {TARGET:.0f}: "
          f"{full_rate / TARGET:.2f}")  # fmt: skip
    print(f"peak RSS of the downloading process: {rss1:.0f} MB (before the runs {rss0:.0f} MB)")


if __name__ == "__main__":
    main()
