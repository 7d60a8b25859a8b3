"""The scrape stage's catalog reads and writes: queries, runs, results, downloads, provenance.

Results are written as they are found; a download's outcome links the stored
image to every search result with that URL (one image, many provenances).
The scraper's records (:class:`~scraper.records.Hit`,
:class:`~scraper.download.Outcome`) are only read here: the catalog does not
import the scraper.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from typing import TYPE_CHECKING

from catalog.db import transaction, utc_now
from catalog.images import ImageSource, add_image, add_source
from catalog.takedowns import blocked, blocked_download, discard_blocked_file

if TYPE_CHECKING:
    from scraper.download import Outcome
    from scraper.records import Hit


def ensure_query(
    conn: sqlite3.Connection, engine: str, text: str, label: str, language: str = "en"
) -> int:
    """The id of a query, created on first use (with the language it was planned in)."""
    with transaction(conn):
        conn.execute(
            "INSERT OR IGNORE INTO queries (engine, text, label, language, created_at) "
            "VALUES (?,?,?,?,?)",
            (engine, text, label, language, utc_now()),
        )
        return conn.execute(
            "SELECT id FROM queries WHERE engine = ? AND text = ? AND label = ?",
            (engine, text, label),
        ).fetchone()[0]


def start_run(conn: sqlite3.Connection, query_id: int, base_url: str) -> int:
    """A new crawl of a query; earlier runs left 'running' by a killed process are closed."""
    with transaction(conn):
        conn.execute(
            "UPDATE search_runs SET status = 'interrupted', finished_at = ? "
            "WHERE query_id = ? AND status = 'running'",
            (utc_now(), query_id),
        )
        cur = conn.execute(
            "INSERT INTO search_runs (query_id, base_url, started_at) VALUES (?,?,?)",
            (query_id, base_url, utc_now()),
        )
        return cur.lastrowid


def finish_run(conn, run_id: int, status: str, message: str, layout: str | None) -> None:
    """Close a run with how it ended."""
    with transaction(conn):
        conn.execute(
            "UPDATE search_runs SET status = ?, message = ?, layout = ?, finished_at = ? "
            "WHERE id = ?",
            (status, message, layout, utc_now(), run_id),
        )


def known_urls(conn: sqlite3.Connection, query_id: int) -> set[str]:
    """URLs (original or thumbnail) a query already has, so a rerun does not collect them again."""
    rows = conn.execute(
        "SELECT url, original_url, thumbnail_url FROM search_results WHERE query_id = ?",
        (query_id,),
    )
    return {u for row in rows for u in row if u}


def result_count(conn: sqlite3.Connection, query_id: int) -> int:
    """How many result links a query has."""
    return conn.execute(
        "SELECT COUNT(*) FROM search_results WHERE query_id = ?", (query_id,)
    ).fetchone()[0]


def add_hit(conn, query_id: int, run_id: int, label: str, hit: Hit) -> tuple[bool, bool]:
    """Record a result and its download target; return (new result, needs download).

    If the URL was already downloaded (another query, an earlier run), the image
    gets this result as one more provenance right away.
    """
    with transaction(conn):
        rank = result_count(conn, query_id) + 1
        cur = conn.execute(
            "INSERT OR IGNORE INTO search_results (query_id, run_id, rank, url, is_fallback, "
            "original_url, thumbnail_url, thumbnail_data, source_page_url, title, "
            "reported_width, reported_height, found_at, via) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                query_id,
                run_id,
                rank,
                hit.url,
                int(hit.is_fallback),
                hit.original_url,
                hit.thumbnail_url,
                hit.thumbnail_data,
                hit.source_page_url,
                hit.title,
                hit.width,
                hit.height,
                utc_now(),
                hit.via,
            ),
        )
        new = bool(cur.rowcount)
        queue_download(conn, hit.url)
        if blocked(conn, url=hit.url):  # facesift takedown: never fetched again
            conn.execute(
                "UPDATE downloads SET status = 'skipped', reason = 'taken_down' "
                "WHERE url = ? AND status = 'pending'",
                (hit.url,),
            )
        row = download_row(conn, hit.url)
        if row["status"] == "ok" and new:
            _link_sources(conn, hit.url, row["image_id"])
        return new, row["status"] == "pending"


def queue_download(conn: sqlite3.Connection, url: str) -> None:
    """Add a URL to the downloads to make (pending), unless it is there already."""
    conn.execute(
        "INSERT OR IGNORE INTO downloads (url, updated_at) VALUES (?, ?)", (url, utc_now())
    )


def download_row(conn: sqlite3.Connection, url: str) -> sqlite3.Row | None:
    """A URL's download: ``status``, ``reason`` and ``image_id`` (None if never queued)."""
    return conn.execute(
        "SELECT status, reason, image_id FROM downloads WHERE url = ?", (url,)
    ).fetchone()


def pending_urls(conn: sqlite3.Connection, query_id: int) -> list[str]:
    """URLs of a query's results still waiting for a download (e.g. after a killed run)."""
    rows = conn.execute(
        "SELECT DISTINCT d.url FROM search_results r JOIN downloads d ON d.url = r.url "
        "WHERE r.query_id = ? AND d.status = 'pending' ORDER BY r.rank",
        (query_id,),
    )
    return [r[0] for r in rows]


def _link_sources(conn: sqlite3.Connection, url: str, image_id: int) -> int:
    n = 0
    # Queries first (a handful), so each lookup uses the (query_id, url) index.
    rows = conn.execute(
        "SELECT r.id, q.label FROM queries q CROSS JOIN search_results r "
        "ON r.query_id = q.id WHERE r.url = ?",
        (url,),
    ).fetchall()
    for result_id, label in rows:
        src = ImageSource("search", search_result_id=result_id, source_label=label)
        n += add_source(conn, image_id, src)
    return n


def relink_all(conn: sqlite3.Connection) -> int:
    """Give every downloaded image a provenance for each result with its URL (idempotent)."""
    n = 0
    with transaction(conn):
        for url, image_id in conn.execute(
            "SELECT url, image_id FROM downloads WHERE status = 'ok' AND image_id IS NOT NULL"
        ).fetchall():
            n += _link_sources(conn, url, image_id)
    return n


class Recorder:
    """Writes download outcomes from many worker threads through one connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._lock = threading.Lock()

    def record(self, outcome: Outcome) -> bool:
        """Store an outcome; return whether the image was new to the dataset."""
        with self._lock, transaction(self.conn):
            new = False
            image_id = None
            img = outcome.image
            if img is not None and blocked_download(
                self.conn, img.sha256, outcome.url, outcome.final_url
            ):
                discard_blocked_file(self.conn, img.path, img.sha256)
                outcome = dataclasses.replace(
                    outcome, status="skipped", reason="taken_down", image=None
                )
            if outcome.image is not None:
                image_id, new = add_image(self.conn, outcome.image)
            self.conn.execute(
                "UPDATE downloads SET status = ?, http_status = ?, reason = ?, "
                "attempts = attempts + ?, final_url = ?, content_type = ?, image_id = ?, "
                "updated_at = ? WHERE url = ?",
                (
                    outcome.status,
                    outcome.http_status,
                    outcome.reason,
                    outcome.attempts,
                    outcome.final_url,
                    outcome.content_type,
                    image_id,
                    utc_now(),
                    outcome.url,
                ),
            )
            if image_id is not None:
                _link_sources(self.conn, outcome.url, image_id)
            return new
