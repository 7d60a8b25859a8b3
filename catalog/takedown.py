"""``facesift takedown``: take an image source out of the dataset, for good.

A request matches images by URL, source page, domain, content hash or face id.
For every matching image it is recorded (``takedowns``), every face is rejected
with reason ``takedown`` (label events, so the history stays), the stored image
file, its chips and their thumbnails are deleted (the catalog rows stay, marked
``taken_down_at``, with their hashes), and the blocklist gets the image's sha256
and the request's URL or domain: every later scrape and import checks it
(:func:`blocked`) and records a blocked image as ``taken_down`` instead of storing
it. ``--dry-run`` lists what would go and changes nothing.
"""

from __future__ import annotations

import getpass
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from catalog.contract import Progress, ProgressFn, StageSummary, check_options, option, report
from catalog.dataset import Catalog
from catalog.db import rows_where_in, transaction, utc_now
from catalog.errors import FacesiftError
from catalog.events import FINAL_REJECT
from catalog.images import image_id_of
from catalog.votes import record_decisions

REASON = FINAL_REJECT  # the reject reason: no majority overturns it
TAKEN_DOWN = "taken down"  # why an export leaves a face out (its card counts them)
MATCH_KINDS = ("url", "page", "domain", "image", "face")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class TakedownError(FacesiftError, ValueError):
    """A takedown request that cannot be carried out as given."""


@dataclass(frozen=True)
class TakedownOptions:
    """What ``facesift takedown`` is asked: exactly one of url, page, domain, image, face."""

    url: str | None = option(None, help="an image URL (as downloaded or listed)", metavar="U")
    page: str | None = option(None, help="the web page a search result came from", metavar="P")
    domain: str | None = option(
        None, help="every image from this domain or its subdomains", metavar="D"
    )
    image: str | None = option(None, help="an image by its sha256", metavar="SHA256")
    face: int | None = option(None, help="the image of this face id", metavar="ID", low=1)
    reason: str | None = option(None, help="why (recorded with the request)", metavar="TEXT")
    dry_run: bool = option(False, help="list what would be taken down and change nothing")
    by: str | None = option(None, help="who asked (default: your login name)", metavar="NAME")


@dataclass(frozen=True)
class Match:
    """What a request matches: its kind and value, and the images it takes down."""

    kind: str
    value: str
    image_ids: tuple[int, ...]


@dataclass
class TakedownSummary(StageSummary):
    """What a takedown did (or, with ``dry_run``, would do)."""

    kind: str
    value: str
    dry_run: bool
    takedown_id: int | None = None
    images: list[str] = field(default_factory=list)  # sha256 of each matching image
    faces: int = 0  # faces rejected
    files_deleted: int = 0  # image files, chips and thumbnails removed
    thumbnails_cleared: int = 0  # search-result thumbnails held in the catalog
    blocklist_added: int = 0
    already_down: int = 0  # matching images an earlier takedown had taken down

    def line(self) -> str:
        """``takedown domain example.com: 3 images, 4 faces rejected, ...``."""
        what = f"takedown {self.kind} {self.value}"
        # A repeated request must not claim the images it found already down.
        new = len(self.images) - self.already_down
        already = f" ({self.already_down} already down)" if self.already_down else ""
        if self.dry_run:
            return (
                f"{what} (dry run): would take down {new} images{already} and reject "
                f"{self.faces} faces; nothing changed"
            )
        return (
            f"{what}: {new} images taken down{already}, {self.faces} faces rejected, "
            f"{self.files_deleted} files deleted, {self.thumbnails_cleared} stored thumbnails "
            f"cleared, {self.blocklist_added} blocklist entries added"
        )


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


def _request(opts: TakedownOptions) -> tuple[str, str]:
    given = [(k, getattr(opts, k)) for k in MATCH_KINDS if getattr(opts, k) is not None]
    if len(given) != 1:
        raise TakedownError("give exactly one of --url, --page, --domain, --image, --face")
    kind, value = given[0]
    if kind == "image":
        value = str(value).strip().lower()
        if not _SHA.match(value):
            raise TakedownError(f"--image {value!r} is not a sha256 (64 hex digits)")
    elif kind == "domain":
        value = normalise_domain(value)
    elif kind == "face":
        value = str(value)
    else:
        value = str(value).strip()
        if not value:
            raise TakedownError(f"--{kind} is empty")
    return kind, value


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


# --- the stage -------------------------------------------------------------------


def _faces_of(conn: sqlite3.Connection, image_ids: tuple[int, ...]) -> list[sqlite3.Row]:
    sql = (
        "SELECT f.id, f.chip_path, s.status, s.reason FROM faces f "
        "LEFT JOIN face_state s ON s.face_id = f.id WHERE f.image_id IN ({marks})"
    )
    return sorted(rows_where_in(conn, sql, image_ids), key=lambda r: r[0])


def _images_of(conn: sqlite3.Connection, image_ids: tuple[int, ...]) -> list[sqlite3.Row]:
    sql = "SELECT id, sha256, path, taken_down_at FROM images WHERE id IN ({marks})"
    return sorted(rows_where_in(conn, sql, image_ids), key=lambda r: r[0])


def _requester(opts: TakedownOptions) -> str:
    if opts.by and opts.by.strip():
        return opts.by.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


def takedown(
    cat: Catalog, opts: TakedownOptions, *, on_progress: ProgressFn | None = None
) -> TakedownSummary:
    """Carry out (or with ``opts.dry_run`` only list) one takedown request."""
    check_options(opts)
    kind, value = _request(opts)
    conn = cat.conn
    m = match(conn, kind, value)
    images = _images_of(conn, m.image_ids)
    faces = _faces_of(conn, m.image_ids)
    summary = TakedownSummary(kind, value, opts.dry_run, images=[r["sha256"] for r in images])
    summary.faces = sum(1 for f in faces if f["reason"] != REASON)
    summary.already_down = sum(1 for r in images if r["taken_down_at"] is not None)
    if opts.dry_run:
        return summary
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO takedowns (match_kind, match_value, reason, requested_by, images, faces, "
            "created_at) VALUES (?,?,?,?,?,?,?)",
            (kind, value, opts.reason, _requester(opts), len(images), summary.faces, utc_now()),
        )
        summary.takedown_id = tid = cur.lastrowid
        for f in faces:
            if f["reason"] != REASON:
                record_decisions(conn, f["id"], [(f"takedown:{tid}", "reject", None, REASON)])
        if m.image_ids:
            marks = ",".join("?" * len(m.image_ids))
            conn.execute(
                f"UPDATE images SET taken_down_at = IFNULL(taken_down_at, ?) WHERE id IN ({marks})",
                (utc_now(), *m.image_ids),
            )
            summary.thumbnails_cleared = conn.execute(
                "UPDATE search_results SET thumbnail_data = NULL WHERE thumbnail_data IS NOT NULL "
                f"AND (url IN (SELECT url FROM downloads WHERE image_id IN ({marks})) OR id IN "
                f"(SELECT search_result_id FROM image_sources WHERE image_id IN ({marks})))",
                (*m.image_ids, *m.image_ids),
            ).rowcount
        for k, v in _blocklist_entries(conn, m, summary.images):
            summary.blocklist_added += _block(conn, k, v, tid)
    # Files go after the commit: a crash in between leaves marked rows whose files a
    # rerun of the same request deletes; never deleted files under unmarked rows.
    paths = [r["path"] for r in images]
    chips = [f["chip_path"] for f in faces if f["chip_path"]]
    for i, rel in enumerate([*paths, *chips]):
        summary.files_deleted += _delete(cat, rel, chip=i >= len(paths))
        report(on_progress, Progress("takedown", i + 1, len(paths) + len(chips), "file"))
    return summary


def _delete(cat: Catalog, rel: str, *, chip: bool) -> int:
    """Delete a stored file (and, for a chip, its cached thumbnails); count what was removed."""
    n = 0
    try:
        target = cat.paths.resolve(rel)
    except FacesiftError:
        return 0
    if target.is_file():
        target.unlink()
        n += 1
    if chip:
        key = Path(rel).stem
        # Thumbnails are cached per size as thumbs/<size>/ab/<chip sha>.jpg.
        for thumb in (cat.paths.dir / "thumbs").glob(f"*/{key[:2]}/{key}.*"):
            thumb.unlink(missing_ok=True)
            n += 1
    return n


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
