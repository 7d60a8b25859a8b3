"""Google's own result data, read out of the results page's scripts (pure, no browser).

A results page carries, inside its scripts, one array per result, roughly::

    [0,"<docid>",["<thumbnail>",h,w],["<original>",h,w],...,
     {"2003":[null,"<ref docid>","<source page>","<title>",...]}]

Every pattern comes from ``[google.page_data]`` in selectors.toml. Strings in
the scripts are JavaScript literals (``\\u003d`` for ``=``), decoded here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DataResult:
    """One result as the page's data describes it."""

    docid: str
    original: str
    width: int | None = None
    height: int | None = None
    thumbnail: str | None = None
    page: str | None = None
    title: str | None = None
    ref_docid: str | None = None


def js_string(raw: str) -> str:
    """The text of a double-quoted JavaScript string literal's body (escapes decoded)."""
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw.replace("\\/", "/")


def is_thumbnail(url: str, rules: dict) -> bool:
    """True for a URL that is only a thumbnail (``[google.thumbnails]`` rules)."""
    if any(url.startswith(p) for p in rules.get("url_prefixes", [])):
        return True
    host = (urlsplit(url).hostname or "").lower()
    if any(host == s or host.endswith("." + s) for s in rules.get("host_suffixes", [])):
        return True
    return any(c in url for c in rules.get("url_contains", []))


def parse_scripts(texts: Iterable[str], patterns: dict, thumbnails: dict) -> dict[str, DataResult]:
    """Every result array in the scripts, by docid, ref docid and page URL; first one kept."""
    start = re.compile(patterns["result_start"])
    triple = re.compile(patterns["image_triple"])
    info = re.compile(patterns["page_info"])
    out: dict[str, DataResult] = {}
    for text in texts:
        starts = list(start.finditer(text))
        for k, m in enumerate(starts):
            end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
            found = _one_result(m.group("docid"), text[m.start() : end], triple, info, thumbnails)
            if found is None:
                continue
            # A tile may name its array by docid, ref docid or landing page (data-lpage).
            for key in (found.docid, found.ref_docid, found.page):
                if key:
                    out.setdefault(key, found)
    return out


def _one_result(docid, segment, triple, info, thumbnails) -> DataResult | None:
    thumb = original = None
    size: tuple[int, int] | None = None
    for t in triple.finditer(segment):
        url = js_string(t.group("url"))
        if is_thumbnail(url, thumbnails):
            thumb = thumb or url
            continue
        original, size = url, (int(t.group("w")), int(t.group("h")))
        break
    if original is None:
        return None
    page = title = ref = None
    if p := info.search(segment):
        page, title = js_string(p.group("page")), js_string(p.group("title")) or None
        ref = p.group("ref") or None
    return DataResult(docid, original, size[0], size[1], thumb, page, title, ref)
