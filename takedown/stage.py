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
from dataclasses import dataclass, field
from pathlib import Path

from catalog.dataset import Catalog
from catalog.takedowns import (
    MATCH_KINDS,
    REASON,
    TakedownError,
    faces_of,
    images_of,
    match,
    normalise_domain,
    record_takedown,
)
from core.contract import Progress, ProgressFn, StageSummary, check_options, option, report
from core.errors import FacesiftError

_SHA = re.compile(r"^[0-9a-f]{64}$")


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
    images = images_of(conn, m.image_ids)
    faces = faces_of(conn, m.image_ids)
    summary = TakedownSummary(kind, value, opts.dry_run, images=[r["sha256"] for r in images])
    summary.faces = sum(1 for f in faces if f["reason"] != REASON)
    summary.already_down = sum(1 for r in images if r["taken_down_at"] is not None)
    if opts.dry_run:
        return summary
    summary.takedown_id, summary.thumbnails_cleared, summary.blocklist_added = record_takedown(
        conn, m, opts.reason, _requester(opts), summary.images, faces
    )
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
