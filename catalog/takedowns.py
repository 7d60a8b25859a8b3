"""The takedown tables: what a request matches, the blocklist, and the rows a takedown writes.

The stage that carries a request out (options, files, summary) is :mod:`takedown.stage`;
this module is its SQL, and the blocklist check every scrape and import makes
(:func:`blocked`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from catalog.db import rows_where_in, transaction, utc_now
from catalog.events import FINAL_REJECT
from catalog.images import image_id_of
from catalog.votes import record_decisions
from core.errors import FacesiftError

REASON = FINAL_REJECT  # the reject reason: no majority overturns it
TAKEN_DOWN = "taken down"  # why an export leaves a face out (its card counts them)
MATCH_KINDS = ("url", "page", "domain", "image", "face")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class TakedownError(FacesiftError, ValueError):
    """A takedown request that cannot be carried out as given."""


@dataclass(frozen=True)
class Match:
    """What a request matches: its kind and value, and the images it takes down."""

    kind: str
    value: str
    image_ids: tuple[int, ...]


# --- matching --------------------------------------------------------------------


def normalise_domain(text: str) -> str:
    """``Example.COM.``, ``*.example.com`` or ``https://example.com/x`` -> ``example.com``."""
    t = text.strip().lower()
    if "://" in t:
        t = urlsplit(t).hostname or ""
    t = t.removeprefix("*.").strip(".")
    if not t or "/" in t or " " in t:
        raise TakedownError(f"--domain {text!r} is not a domain name")
    return t


def host_of(url: str | None) -> str | None:
    """The lower-case host of a URL, or None when it has none (or is malformed)."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower().strip(".") if host else None


def in_domain(host: str | None, domain: str) -> bool:
    """True if ``host`` is ``domain`` or one of its subdomains."""
    return bool(host) and (host == domain or host.endswith("." + domain))  # type: ignore[union-attr]


def _ids(conn: sqlite3.Connection, sql: str, params: Iterable[object]) -> set[int]:
    return {r[0] for r in conn.execute(sql, tuple(params)) if r[0] is not None}


def match(conn: sqlite3.Connection, kind: str, value: str) -> Match:
    """The images a request takes down (none is fine: the blocklist still guards later runs)."""
    if kind == "url":
        ids = _ids(
            conn,
            "SELECT image_id FROM downloads WHERE url = ? OR final_url = ? "
            "UNION SELECT d.image_id FROM search_results r JOIN downloads d ON d.url = r.url "
            "WHERE r.original_url = ? OR r.thumbnail_url = ? "
            "UNION SELECT image_id FROM image_sources WHERE url = ?",
            [value] * 5,
        )
    elif kind == "page":
        ids = _ids(
            conn,
            "SELECT d.image_id FROM search_results r JOIN downloads d ON d.url = r.url "
            "WHERE r.source_page_url = ? "
            "UNION SELECT s.image_id FROM image_sources s "
            "JOIN search_results r ON r.id = s.search_result_id WHERE r.source_page_url = ?",
            [value] * 2,
        )
    elif kind == "domain":
        ids = set()
        rows = conn.execute(
            "SELECT image_id, url, final_url FROM downloads WHERE image_id IS NOT NULL "
            "UNION ALL SELECT s.image_id, r.source_page_url, r.original_url "
            "FROM image_sources s JOIN search_results r ON r.id = s.search_result_id "
            "UNION ALL SELECT image_id, url, NULL FROM image_sources WHERE url IS NOT NULL"
        )
        for image_id, a, b in rows:
            if in_domain(host_of(a), value) or in_domain(host_of(b), value):
                ids.add(image_id)
    elif kind == "image":
        found = image_id_of(conn, value)
        ids = set() if found is None else {found}
    elif kind == "face":
        ids = _ids(conn, "SELECT image_id FROM faces WHERE id = ?", [int(value)])
        if not ids:
            raise TakedownError(f"no face {value} in this dataset")
    else:
        raise TakedownError(f"unknown takedown kind {kind!r}")
    return Match(kind, value, tuple(sorted(ids)))


# --- the blocklist ---------------------------------------------------------------


def blocked(conn: sqlite3.Connection, *, sha256: str | None = None, url: str | None = None) -> bool:
    """True if a takedown blocks this content hash, this URL or the URL's domain."""
    if (
        sha256
        and conn.execute(
            "SELECT 1 FROM blocklist WHERE kind = 'sha256' AND value = ?", (sha256,)
        ).fetchone()
    ):
        return True
    if not url:
        return False
    if conn.execute("SELECT 1 FROM blocklist WHERE kind = 'url' AND value = ?", (url,)).fetchone():
        return True
    host = host_of(url)
    if not host:
        return False
    labels = host.split(".")
    # example.com blocks a.b.example.com: look up every parent of the host.
    parents = [".".join(labels[i:]) for i in range(len(labels))]
    marks = ",".join("?" * len(parents))
    sql = f"SELECT 1 FROM blocklist WHERE kind = 'domain' AND value IN ({marks})"
    return conn.execute(sql, parents).fetchone() is not None


def _block(conn: sqlite3.Connection, kind: str, value: str, takedown_id: int) -> int:
    cur = conn.execute(
        "INSERT OR IGNORE INTO blocklist (kind, value, takedown_id, created_at) VALUES (?,?,?,?)",
        (kind, value, takedown_id, utc_now()),
    )
    return cur.rowcount


def _blocklist_entries(conn: sqlite3.Connection, m: Match, shas: list[str]) -> list[tuple]:
    entries = [("sha256", s) for s in shas]
    if m.kind == "url":
        entries.append(("url", m.value))
    elif m.kind == "domain":
        entries.append(("domain", m.value))
    elif m.kind == "page" and m.image_ids:
        # The page's images could be found again under the same URLs.
        sql = "SELECT url FROM downloads WHERE image_id IN ({marks})"
        entries += [("url", r[0]) for r in rows_where_in(conn, sql, m.image_ids)]
    return entries


def faces_of(conn: sqlite3.Connection, image_ids: tuple[int, ...]) -> list[sqlite3.Row]:
    sql = (
        "SELECT f.id, f.chip_path, s.status, s.reason FROM faces f "
        "LEFT JOIN face_state s ON s.face_id = f.id WHERE f.image_id IN ({marks})"
    )
    return sorted(rows_where_in(conn, sql, image_ids), key=lambda r: r[0])


def images_of(conn: sqlite3.Connection, image_ids: tuple[int, ...]) -> list[sqlite3.Row]:
    sql = "SELECT id, sha256, path, taken_down_at FROM images WHERE id IN ({marks})"
    return sorted(rows_where_in(conn, sql, image_ids), key=lambda r: r[0])


def record_takedown(
    conn: sqlite3.Connection,
    m: Match,
    reason: str | None,
    requested_by: str,
    shas: list[str],
    faces: list[sqlite3.Row],
) -> tuple[int, int, int]:
    """Write one takedown in one transaction: its row, a reject per face not yet rejected,
    the images' ``taken_down_at``, their stored thumbnails cleared and the blocklist entries.

    Returns ``(takedown id, thumbnails cleared, blocklist entries added)``.
    """
    open_faces = [f for f in faces if f["reason"] != REASON]
    thumbnails = added = 0
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO takedowns (match_kind, match_value, reason, requested_by, images, faces, "
            "created_at) VALUES (?,?,?,?,?,?,?)",
            (m.kind, m.value, reason, requested_by, len(shas), len(open_faces), utc_now()),
        )
        tid = cur.lastrowid
        for f in open_faces:
            record_decisions(conn, f["id"], [(f"takedown:{tid}", "reject", None, REASON)])
        if m.image_ids:
            marks = ",".join("?" * len(m.image_ids))
            conn.execute(
                f"UPDATE images SET taken_down_at = IFNULL(taken_down_at, ?) WHERE id IN ({marks})",
                (utc_now(), *m.image_ids),
            )
            thumbnails = conn.execute(
                "UPDATE search_results SET thumbnail_data = NULL WHERE thumbnail_data IS NOT NULL "
                f"AND (url IN (SELECT url FROM downloads WHERE image_id IN ({marks})) OR id IN "
                f"(SELECT search_result_id FROM image_sources WHERE image_id IN ({marks})))",
                (*m.image_ids, *m.image_ids),
            ).rowcount
        for k, v in _blocklist_entries(conn, m, shas):
            added += _block(conn, k, v, tid)
    return tid, thumbnails, added


def takedown_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """The ``takedowns`` object of ``facesift stats --json``."""

    def one(sql: str) -> int:
        return conn.execute(sql).fetchone()[0]

    return {
        "requests": one("SELECT COUNT(*) FROM takedowns"),
        "images": one("SELECT COUNT(*) FROM images WHERE taken_down_at IS NOT NULL"),
        "faces": one(
            "SELECT COUNT(*) FROM faces f JOIN images i ON i.id = f.image_id "
            "WHERE i.taken_down_at IS NOT NULL"
        ),
        "blocklist": one("SELECT COUNT(*) FROM blocklist"),
    }


def blocked_download(conn: sqlite3.Connection, sha256: str | None, *urls: str | None) -> bool:
    """True if a downloaded image is blocked by its hash or by any of its URLs."""
    if blocked(conn, sha256=sha256):
        return True
    return any(blocked(conn, url=u) for u in urls if u)


def discard_blocked_file(conn: sqlite3.Connection, relpath: str, sha256: str) -> bool:
    """Delete a file a downloader stored before the blocklist refused it; True if deleted.

    Kept when an image that is not taken down has the same content (a URL was
    blocked, not these bytes).
    """
    live = conn.execute(
        "SELECT 1 FROM images WHERE sha256 = ? AND taken_down_at IS NULL", (sha256,)
    ).fetchone()
    if live:
        return False
    db_file = conn.execute("PRAGMA database_list").fetchone()[2]
    if not db_file:
        return False
    base = Path(db_file).parent.resolve()
    target = (base / relpath).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return False
    target.unlink()
    return True
