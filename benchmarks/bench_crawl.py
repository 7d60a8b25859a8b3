"""Crawl time for N result tiles against the fake Google Images, both layouts.

    .venv/bin/python benchmarks/bench_crawl.py [--tiles 500]

The fake page adds its own delays: a batch of tiles appears ``scroll_delay`` ms
after a scroll (or the "Show more results" click), and a preview switches to
the original ``preview_delay`` ms after a click (on tiles without an /imgres
link). Their sum is the floor no crawler can beat; the ratio crawl / floor
shows what our own waits and round trips add. No downloads run here.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def found_by(found: list[str]):
    """An on_hit that keeps every URL and never stops the crawl."""

    def on_hit(hit) -> bool:
        found.append(hit.url)
        return True

    return on_hit


def main() -> None:
    from scraper.browser import Browser
    from scraper.config import ScrapeOptions, load_selectors
    from scraper.google import GoogleCrawler
    from tests.conftest import load_photos
    from tests.scraper.fixture_images import ImageFactory
    from tests.scraper.fixture_server import FakeSearch, Server

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=500)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--scroll-delay-ms", type=int, default=120)
    ap.add_argument("--preview-delay-ms", type=int, default=60)
    args = ap.parse_args()

    factory = ImageFactory([p.path for p in load_photos()][:8])
    fake = FakeSearch(
        factory,
        n_good=args.tiles,
        faults=False,
        batch=args.batch,
        scroll_delay_ms=args.scroll_delay_ms,
        preview_delay_ms=args.preview_delay_ms,
    )
    for i in range(args.tiles):  # the server's images are made before the clock starts
        factory.good(i)
        factory.thumbnail(i)
    entries = fake.entries("bench")
    previews = sum(1 for e in entries if not e.imgres)
    batches = math.ceil(len(entries) / args.batch)
    floor = ((batches - 1) * args.scroll_delay_ms + previews * args.preview_delay_ms) / 1000
    idle = 2.0
    rules = load_selectors()
    print(f"{len(entries)} tiles in {batches} batches; fixture delays: {args.scroll_delay_ms} ms "
          f"a batch, {args.preview_delay_ms} ms a preview ({previews} previews) "
          f"= floor {floor:.1f} s")  # fmt: skip
    with Server(fake) as server, Browser() as browser:
        browser.driver.get(server.base + "/legacy/search?q=warmup")  # consent, page cache
        for prefix, name in (("/legacy", "google-2020"), ("", "google-2024")):
            browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
            browser.new_page()
            opts = ScrapeOptions(base_url=server.base + prefix, idle_timeout=idle,
                                 preview_timeout=2.0, progress=False)  # fmt: skip
            found: list[str] = []
            t = time.perf_counter()
            outcome = GoogleCrawler(browser.driver, rules, opts).crawl("bench", found_by(found))
            elapsed = time.perf_counter() - t
            # The 2024 page has no end marker: the crawl ends after one idle wait.
            own = elapsed - (idle if name == "google-2024" else 0)
            print(f"{name}: {len(found)} results in {elapsed:.1f} s ({outcome.message}); "
                  f"without the final idle wait {own:.1f} s = {own / floor:.2f} x floor, "
                  f"{(own - floor) / len(found) * 1000:.1f} ms of our own per tile")  # fmt: skip


if __name__ == "__main__":
    main()
