"""Reading Bing Images results out of a page or an async fragment (pure, no browser)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from scraper.records import Hit, reported_size


class _TileParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metas: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        a = dict(attrs)
        raw = a.get("m")
        if not raw or "murl" not in raw:
            return
        try:  # HTMLParser has already un-escaped the attribute (&quot; -> ")
            meta = json.loads(raw)
        except ValueError:
            return
        if isinstance(meta, dict) and isinstance(meta.get("murl"), str) and meta["murl"]:
            self.metas.append(meta)


def parse_tiles(html: str) -> list[Hit]:
    """Every result tile (``a.iusc`` with its ``m`` JSON) in page order.

    ``murl`` is the original, ``turl`` the thumbnail, ``purl`` the source page,
    ``t`` the title.
    """
    p = _TileParser()
    p.feed(html)
    p.close()
    hits = []
    for m in p.metas:
        hits.append(
            Hit(
                m["murl"],
                original_url=m["murl"],
                thumbnail_url=m.get("turl") or None,
                source_page_url=m.get("purl") or None,
                title=m.get("t") or None,
                width=reported_size(m.get("w") or m.get("expw")),
                height=reported_size(m.get("h") or m.get("exph")),
                via="page_data",
            )
        )
    return hits
