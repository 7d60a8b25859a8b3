"""Crawl time for N results against the fake Google Images: the page's data vs the preview path.

    .venv/bin/python benchmarks/bench_crawl.py [--tiles 500] [--layouts 2024,2020]

Three ways to the originals, side by side on the same fake page:

- ``page data``: the results' arrays in the page's scripts (read after each scroll),
- ``hover/imgres + preview``: no page data; half the tiles fill an /imgres link on
  hover, the others are clicked for the preview,
- ``preview``: no page data and no /imgres links: every tile is clicked.

The fake page adds its own delays: a batch appears ``scroll_delay`` ms after a
scroll, a preview switches to the original ``preview_delay`` ms after a click.
Each crawl ends with one idle wait (the 2024 page has no end marker); it is
subtracted. No downloads run here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODES = {  # name -> FakeSearch settings
    "page data": {"page_data": "all"},
    "hover/imgres + preview": {"page_data": "none"},
    "preview": {"page_data": "none", "imgres_links": False},
}


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
    ap.add_argument("--layouts", default="2024,2020", help="2024, 2020 or both")
    args = ap.parse_args()

    factory = ImageFactory([p.path for p in load_photos()][:8])
    for i in range(args.tiles):  # the server's thumbnails are made before the clock starts
        factory.thumbnail(i)
    idle = 2.0
    rules = load_selectors()
    layouts = {"2024": "", "2020": "/legacy"}
    print(f"{args.tiles} results, batches of {args.batch}; fixture delays: "
          f"{args.scroll_delay_ms} ms a batch, {args.preview_delay_ms} ms a preview")  # fmt: skip
    with Browser() as browser:
        for name in args.layouts.split(","):
            times: dict[str, float] = {}
            for mode, settings in MODES.items():
                fake = FakeSearch(factory, n_good=args.tiles, faults=False, batch=args.batch,
                                  scroll_delay_ms=args.scroll_delay_ms,
                                  preview_delay_ms=args.preview_delay_ms, **settings)  # fmt: skip
                with Server(fake) as server:
                    browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
                    browser.new_page()
                    opts = ScrapeOptions(base_url=server.base + layouts[name],
                                         idle_timeout=idle, preview_timeout=2.0)  # fmt: skip
                    crawler = GoogleCrawler(browser.driver, rules, opts)
                    vias: dict[str, int] = {}

                    def on_hit(hit, vias=vias) -> bool:
                        vias[hit.via] = vias.get(hit.via, 0) + 1
                        return True

                    t = time.perf_counter()
                    outcome = crawler.crawl("bench", on_hit)
                    elapsed = time.perf_counter() - t
                own = elapsed - (idle if name == "2024" else 0)
                times[mode] = own
                print(f"google-{name} {mode:>22}: {sum(vias.values())} results in {own:6.1f} s "
                      f"({own / max(1, sum(vias.values())) * 1000:5.1f} ms each; via {vias}; "
                      f"{outcome.message})")  # fmt: skip
            pd = times["page data"]
            print(f"google-{name}: page data takes {pd / times['preview']:.3f} x the preview "
                  f"path's time ({times['preview'] / pd:.1f} x faster), "
                  f"{pd / times['hover/imgres + preview']:.3f} x the hover/imgres one")  # fmt: skip


if __name__ == "__main__":
    main()
