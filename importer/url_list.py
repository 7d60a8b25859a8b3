"""``facesift import urls.txt|urls.csv|urls.parquet``: images named by a list of URLs.

The input formats img2dataset reads: a text file with one URL a line, or a CSV,
TSV or parquet table with a ``url`` column and optional label and caption
columns. Every URL is fetched by the scrape stage's downloader
(:class:`scraper.download.Fetcher`: private addresses refused, byte limit,
opt-outs, validation, retries) and recorded in ``downloads`` like a scraped one;
each kept image gets a provenance of kind ``url_list`` naming the file and row.
A rerun resumes: URLs already fetched are linked, not fetched again; URLs a
killed run left pending are fetched. Blocked URLs (``facesift takedown``) are not
fetched and are recorded as ``taken_down``.
"""

from __future__ import annotations

import csv
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from catalog.dataset import Catalog
from catalog.db import connect, transaction
from catalog.images import ImageSource, add_source
from catalog.labels import LabelError
from catalog.scrape import Recorder, download_row, queue_download
from catalog.takedowns import blocked
from core.contract import Progress, ProgressFn, StageSummary, report
from core.report import counts_text
from importer.columns import column_names, find_column, named_column
from importer.errors import ImportRefused
from importer.import_errors import record_import_error
from scraper.config import DownloadOptions
from scraper.download import DownloadPool, Fetcher, Outcome

URL_LIST_EXTS = frozenset({"txt", "csv", "tsv", "parquet"})
CHUNK = 2000  # rows held in memory at once: a list of millions streams through
MAX_URL = 8192


@dataclass(frozen=True)
class UrlRow:
    """One row of a URL list: its 1-based row (line of a text file), URL, label, caption."""

    row: int
    url: str
    label_word: str | None = None
    caption: str | None = None


@dataclass
class UrlListSummary(StageSummary):
    """What importing a URL list did."""

    file: str
    rows: int = 0
    images_new: int = 0  # downloaded and new to the dataset
    images_known: int = 0  # downloaded (now or by an earlier run), already stored
    sources_new: int = 0  # url_list provenances recorded
    labelled: int = 0  # rows kept with a label
    failed: Counter = field(default_factory=Counter)  # download reason -> rows
    skipped: Counter = field(default_factory=Counter)  # opted_out, taken_down
    refused: Counter = field(default_factory=Counter)  # bad rows: bad_url, unknown_label

    @property
    def kept(self) -> int:
        return self.images_new + self.images_known

    def line(self) -> str:
        """``import urls.txt: 90 of 100 URLs kept (...)``."""
        text = (
            f"import {self.file}: {self.kept} of {self.rows} URLs kept ({self.images_new} new, "
            f"{self.images_known} already stored, {self.labelled} with a label)"
        )
        for name, counts in (("failed", self.failed), ("skipped", self.skipped)):
            if counts:
                text += f", {sum(counts.values())} {name} ({counts_text(counts)})"
        if self.refused:
            text += ", rows refused: " + counts_text(self.refused)
        return text


def is_url_list(path: Path) -> bool:
    """A ``.txt`` or ``.parquet`` file, or a CSV/TSV with a URL column (not a FER2013 CSV)."""
    ext = path.suffix.lower().lstrip(".")
    if ext in ("txt", "parquet"):
        return True
    if ext in ("csv", "tsv") and path.is_file():
        with path.open("rb") as f:
            head = f.readline(1 << 16).decode("utf-8-sig", "replace")
        delimiter = "\t" if ext == "tsv" else ","
        try:
            header = next(csv.reader([head], delimiter=delimiter), [])
        except csv.Error:  # old Mac line endings: the FER2013 reader says what is wrong
            return False
        names = [h.strip().lower() for h in header]
        return "pixels" not in names and any(
            c.lower() in names for c in column_names()["url_list"]["url"]
        )
    return False


# --- reading -----------------------------------------------------------------------


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _read_text(path: Path) -> Iterator[UrlRow]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8", "replace").strip()
            if line and not line.startswith("#"):
                yield UrlRow(number, line)


def _columns(header: list[str], file: str, url_col: str, label_col: str | None):
    names = column_names()["url_list"]
    if url_col != "url":
        i_url = named_column(header, url_col, what="URL", file=file)
    else:
        i_url = find_column(header, names["url"], what="URL", file=file, required=True)
    if label_col is not None:
        i_lab = named_column(header, label_col, what="label", file=file)
    else:
        i_lab = find_column(header, names["label"], what="label", file=file, required=False)
    i_cap = find_column(header, names["caption"], what="caption", file=file, required=False)
    return i_url, i_lab, i_cap


def _read_csv(path: Path, url_col: str, label_col: str | None) -> Iterator[UrlRow]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as f:
        try:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, None)
            if not header:
                raise ImportRefused(f"{path.name} is empty")
            i_url, i_lab, i_cap = _columns(header, path.name, url_col, label_col)
            for number, fields in enumerate(reader, start=1):

                def cell(i: int | None, fields: list[str] = fields) -> str | None:
                    return _clean(fields[i]) if i is not None and i < len(fields) else None

                url = cell(i_url)
                if url or any(x.strip() for x in fields):
                    yield UrlRow(number, url or "", cell(i_lab), cell(i_cap))
        except csv.Error as e:
            raise ImportRefused(f"{path.name} cannot be read as CSV: {e}") from None


def _read_parquet(path: Path, url_col: str, label_col: str | None) -> Iterator[UrlRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise ImportRefused(f"{path.name} is not a readable parquet file: {e}") from None
    header = list(pf.schema_arrow.names)
    i_url, i_lab, i_cap = _columns(header, path.name, url_col, label_col)
    wanted = [header[i] for i in (i_url, i_lab, i_cap) if i is not None]
    number = 0
    for batch in pf.iter_batches(batch_size=CHUNK, columns=wanted):
        cols = batch.to_pydict()
        urls = cols[header[i_url]]
        labels = cols[header[i_lab]] if i_lab is not None else [None] * len(urls)
        captions = cols[header[i_cap]] if i_cap is not None else [None] * len(urls)
        for url, label, caption in zip(urls, labels, captions, strict=True):
            number += 1
            yield UrlRow(number, _clean(url) or "", _clean(label), _clean(caption))


def read_url_list(path: Path, url_column: str = "url", label_column: str | None = None):
    """The rows of a URL list, by its extension (.txt, .csv, .tsv, .parquet)."""
    ext = path.suffix.lower().lstrip(".")
    if ext == "parquet":
        return _read_parquet(path, url_column, label_column)
    if ext in ("csv", "tsv"):
        return _read_csv(path, url_column, label_column)
    return _read_text(path)


# --- importing ---------------------------------------------------------------------


class _Linker:
    """Records download outcomes and links each kept image to its URL list rows.

    Runs in the download pool's threads, through its own connection.
    """

    def __init__(self, cat: Catalog, file: str, summary: UrlListSummary, on_progress, total):
        self.conn = connect(cat.paths.catalog)
        self.recorder = Recorder(self.conn)
        self.file = file
        self.summary = summary
        self.rows: dict[str, list[tuple[UrlRow, str | None]]] = defaultdict(list)
        self.lock = threading.Lock()
        self.done = 0
        self.on_progress = on_progress
        self.total = total

    def record(self, outcome: Outcome) -> None:
        # One lock around all of it: the pool's threads share this connection, and
        # two transactions on one connection cannot interleave.
        with self.lock:
            new = self.recorder.record(outcome)
            row = download_row(self.conn, outcome.url)
            rows = self.rows.pop(outcome.url, [])
            self.count(row, rows, new)
            if row["image_id"] is not None:
                link(self.conn, self.file, row["image_id"], rows, self.summary)
            self.done += len(rows)
            report(self.on_progress, Progress("import", self.done, self.total, "URL"))

    def count(self, row, rows, new: bool) -> None:
        """Count the rows of one URL by how its download ended."""
        n = len(rows)
        if row["status"] == "ok":
            self.summary.images_new += int(new)
            self.summary.images_known += n - int(new)
        elif row["status"] == "skipped":
            self.summary.skipped[row["reason"]] += n
        else:
            self.summary.failed[row["reason"] or "failed"] += n

    def close(self) -> None:
        self.conn.close()


def link(conn, file: str, image_id: int, rows, summary: UrlListSummary) -> None:
    """Give an image a ``url_list`` provenance for each row that names its URL."""
    with transaction(conn):
        for r, label in rows:
            src = ImageSource(
                "url_list",
                source_name=file,
                import_path=f"{file}:{r.row}",
                source_label=label,
                url=r.url,
                caption=r.caption,
            )
            summary.sources_new += add_source(conn, image_id, src)
            summary.labelled += label is not None


def import_url_list(
    cat: Catalog,
    path: Path,
    *,
    download: DownloadOptions,
    url_column: str = "url",
    label_column: str | None = None,
    label: str | None = None,
    on_progress: ProgressFn | None = None,
) -> UrlListSummary:
    """Download every URL of a list into the dataset (see the module docstring).

    ``label`` (any alias) labels every row; otherwise a label column's words do.
    """
    path = Path(path)
    file = path.name
    fixed = cat.labels.resolve(label) if label is not None else None
    summary = UrlListSummary(file)
    rows = read_url_list(path, url_column, label_column)
    linker = _Linker(cat, file, summary, on_progress, None)
    pool = DownloadPool(Fetcher(cat.paths.dir, download), linker.record)
    try:
        while chunk := list(islice(rows, CHUNK)):
            _queue(cat, file, chunk, fixed, summary, linker, pool)
            pool.wait()  # one chunk in flight: memory stays flat on a long list
    except BaseException:
        pool.close(cancel=True)  # what is not fetched stays pending: a rerun resumes
        raise
    finally:
        linker.close()
    pool.close()
    return summary


def _queue(cat, file, chunk, fixed, summary, linker: _Linker, pool: DownloadPool) -> None:
    conn = cat.conn
    urls: list[str] = []
    with transaction(conn):
        for r in chunk:
            summary.rows += 1
            where = f"{file}:{r.row}"
            problem = _row_problem(r)
            if problem:
                summary.refused[problem.split(":", 1)[0]] += 1
                record_import_error(conn, file, where, problem)
                continue
            word = fixed or r.label_word
            row_label = None
            if word is not None:
                try:
                    row_label = cat.labels.resolve(word)
                except LabelError:
                    # The image is still worth having; the row's label is recorded as unusable.
                    summary.refused["unknown_label"] += 1
                    record_import_error(conn, file, where, f"unknown_label: {word}")
            if blocked(conn, url=r.url):
                summary.skipped["taken_down"] += 1
                record_import_error(conn, file, where, "taken_down")
                continue
            queue_download(conn, r.url)
            st = download_row(conn, r.url)
            if st["status"] == "pending":
                with linker.lock:
                    if r.url not in linker.rows:
                        urls.append(r.url)
                    linker.rows[r.url].append((r, row_label))
                continue
            # Fetched by an earlier run (or a scrape): linked, not fetched again.
            linker.count(st, [r], False)
            if st["image_id"] is not None:
                link(conn, file, st["image_id"], [(r, row_label)], summary)
    pool.submit(urls)


def _row_problem(r: UrlRow) -> str | None:
    if not r.url:
        return "bad_url: the row has no URL"
    if len(r.url) > MAX_URL:
        return f"bad_url: {len(r.url)} characters long"
    if not r.url.lower().startswith(("http://", "https://")):
        return f"bad_url: {r.url[:80]!r} is not an http(s) URL"
    return None
