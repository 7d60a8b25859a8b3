"""Records that cross the crawl / catalog boundary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    """One result found on a results page.

    ``url`` is what gets downloaded: the original, or (``is_fallback``) the
    thumbnail where no original could be had.
    """

    url: str
    is_fallback: bool = False
    original_url: str | None = None
    thumbnail_url: str | None = None
    thumbnail_data: bytes | None = None
    source_page_url: str | None = None
    title: str | None = None
    width: int | None = None
    height: int | None = None
    via: str | None = None  # page_data, imgres, preview, thumbnail (search_results.via)


@dataclass(frozen=True)
class CrawlOutcome:
    """How a crawl of one query ended."""

    status: str  # done, blocked, failed, interrupted (search_runs.status)
    message: str
    layout: str | None = None


def reported_size(value: object) -> int | None:
    """A width or height as an engine reports it (number or text), or None."""
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
