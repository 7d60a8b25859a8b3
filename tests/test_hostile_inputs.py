"""A hostile-input sweep over every entry point, driven by hypothesis.

Downloaded bytes, imported folders and zips, FER2013-style CSVs, files that
claim to be videos, and command-line values. Each must end in a one-line
error or a recorded reason: never a traceback, never a half-written row, an
orphan file or a byte written outside the dataset folder. The example-based
tests beside each stage pin the reasons of single cases; these properties
check that the invariants hold across generated inputs.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import io
import itertools
import math
import os
import random
import sqlite3
import tempfile
import threading
import urllib.parse
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from catalog import Catalog
from core.decode import KEPT_FORMATS, DecodedImage, DecodeLimits, ImageRejected, decode_image
from core.errors import FacesiftError
from core.storage import TMP_SUFFIX
from importer.options import ImportOptions
from importer.readers import ReadOptions
from importer.stage import ImportSummary, import_path
from scraper.download import Fetcher
from tests.conftest import encode, load_photos
from tests.importer.conftest import fer_row, png_bytes
from tests.scraper.conftest import TEST_DOWNLOADS

# Modest example counts: the whole module must stay well under a minute on two cores.
# FACESIFT_HOSTILE_SCALE=50 multiplies them for a long bug hunt.
_SCALE = max(1, int(os.environ.get("FACESIFT_HOSTILE_SCALE", "1")))
FAST = settings(max_examples=150 * _SCALE, deadline=None)
MEDIUM = settings(max_examples=80 * _SCALE, deadline=None)
SLOW = settings(max_examples=40 * _SCALE, deadline=None)

DECODE_REASONS = frozenset(
    {"empty", "not_an_image", "bomb", "unsupported_format", "truncated", "too_small"}
)


# --- helpers --------------------------------------------------------------------------


def assert_one_line(text: str) -> None:
    """A message fit for one terminal line: no line break of any kind."""
    assert text and len(text.splitlines()) == 1 and "\n" not in text, repr(text)


def check_decode_result(data: bytes, limits: DecodeLimits) -> DecodedImage | None:
    """Decode, and check the decoder's contract whatever happens."""
    try:
        d = decode_image(data, limits)
    except ImageRejected as e:
        assert e.reason in DECODE_REASONS, e.reason
        assert_one_line(str(e))
        return None
    assert isinstance(d, DecodedImage)
    assert d.rgb.mode == "RGB" and d.format in KEPT_FORMATS and d.ext == KEPT_FORMATS[d.format]
    assert d.width * d.height <= limits.max_pixels
    assert min(d.width, d.height) >= limits.min_side
    d.rgb.tobytes()  # the pixels are really there
    return d


@contextmanager
def fresh_catalog() -> Iterator[tuple[Catalog, Path]]:
    """A new dataset in its own temporary folder; yields (catalog, that folder).

    Not the ``catalog`` fixture: each hypothesis example needs a fresh one.
    """
    with tempfile.TemporaryDirectory(prefix="facesift-hostile-") as tmp:
        work = Path(tmp)
        cat = Catalog.open(work / "datasets", "t")
        try:
            yield cat, work
        finally:
            cat.close()


def check_stored_images(cat: Catalog) -> None:
    """The catalog and the images folder agree, and every stored image is whole."""
    assert cat.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not cat.conn.execute("PRAGMA foreign_key_check").fetchall()
    rows = cat.conn.execute("SELECT sha256, path, width, height, bytes FROM images").fetchall()
    for sha, rel, width, height, size in rows:
        path = cat.paths.resolve(rel)
        data = path.read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha, size), rel
        # Refusing no image on size: the stored ones passed the stage's own limits.
        decoded = decode_image(data, DecodeLimits(max_pixels=10**9, min_side=1))
        assert (decoded.width, decoded.height) == (width, height), rel
    stored = {
        p.relative_to(cat.paths.dir).as_posix()
        for p in (cat.paths.dir / "images").rglob("*")
        if p.is_file()
    }
    assert stored == {r[1] for r in rows}, "orphan files or rows without a file"
    assert not list(cat.paths.dir.rglob(f"*{TMP_SUFFIX}")), "a temporary file was left"


# --- downloaded (and any other) bytes: the one decoder -------------------------------

# Signatures that get the bytes past format detection, so the plugins' parsers are fuzzed.
MAGICS = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\xff\xd8\xff",
    b"GIF89a",
    b"GIF87a",
    b"BM",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"II*\x00",
    b"<html>",
    b"\x00\x00\x00\x18ftypmp42",
]

limits_st = st.builds(
    DecodeLimits,
    max_pixels=st.integers(1, 4_000_000),
    min_side=st.integers(1, 64),
)


@FAST
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=2048), limits=limits_st)
@example(magic=b"", tail=b"", limits=DecodeLimits())
def test_decode_arbitrary_bytes_gives_an_image_or_a_known_reason(
    magic: bytes, tail: bytes, limits: DecodeLimits
) -> None:
    """Whatever the bytes, decode_image returns 8-bit RGB within limits or a known reason."""
    check_decode_result(magic + tail, limits)


@dataclass(frozen=True)
class Mutation:
    """One edit of a file's bytes: flip, overwrite, truncate, append or insert junk."""

    kind: str
    at: float  # position as a fraction of the length
    junk: bytes

    def apply(self, data: bytes) -> bytes:
        if not data:
            return data + self.junk if self.kind in ("append", "insert", "overwrite") else data
        i = min(len(data) - 1, int(self.at * len(data)))
        if self.kind == "flip":
            return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
        if self.kind == "overwrite":
            return data[:i] + self.junk + data[i + len(self.junk) :]
        if self.kind == "truncate":
            return data[:i]
        if self.kind == "append":
            return data + self.junk
        return data[:i] + self.junk + data[i:]


mutations_st = st.lists(
    st.builds(
        Mutation,
        kind=st.sampled_from(["flip", "overwrite", "truncate", "append", "insert"]),
        at=st.floats(0, 1),
        junk=st.binary(min_size=1, max_size=64),
    ),
    min_size=1,
    max_size=4,
)


@functools.cache
def real_image_files() -> tuple[bytes, ...]:
    """A real photo in every kept format (and TIFF, which is refused), kept small.

    A cached function rather than a fixture, so that strategies and explicit
    examples can use the files.
    """
    photo = next(p for p in load_photos() if p.kind == "single_frontal")
    with Image.open(photo.path) as im:
        small = im.convert("RGB").resize((96, 80))
    files = [encode(small, fmt) for fmt in ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")]
    files.append(encode(small.convert("P"), "PNG"))
    files.append(encode(small.convert("RGBA"), "PNG"))
    return tuple(files)


@MEDIUM
@given(which=st.integers(0, 7), edits=mutations_st, limits=limits_st)
def test_decode_damaged_real_images(
    which: int, edits: list[Mutation], limits: DecodeLimits
) -> None:
    """Real images with flipped bytes, cuts and junk: an image or a known reason, nothing else."""
    data = real_image_files()[which]
    for m in edits:
        data = m.apply(data)
    check_decode_result(data, limits)


# --- downloads: hostile servers ------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What the scripted server answers for one path."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class _ScriptedHandler(BaseHTTPRequestHandler):
    replies: dict[str, Reply]
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        reply = self.replies.get(self.path.split("?", 1)[0], Reply(404, (), b"gone"))
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if not any(n.lower() == "content-length" for n, _ in reply.headers):
            self.send_header("Content-Length", str(len(reply.body)))
        # A lying Content-Length must end in a broken read, not a wait for more bytes.
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)
        self.close_connection = True


class ScriptedServer:
    """An HTTP server on 127.0.0.1 (random port) answering whatever a test scripts."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        handler = type("Handler", (_ScriptedHandler,), {"replies": self.replies})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._ids = itertools.count()
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def script(self, replies: list[Reply]) -> list[str]:
        """Serve the replies under fresh paths; return their URLs."""
        prefix = f"/dl/{next(self._ids)}"
        urls = []
        for i, reply in enumerate(replies):
            self.replies[f"{prefix}/{i}"] = reply
            urls.append(f"{self.base}{prefix}/{i}")
        return urls

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


# The scrape tests' limits, tighter still: every branch is reached in milliseconds.
HOSTILE_DOWNLOADS = replace(
    TEST_DOWNLOADS,
    concurrency=4,
    per_host=4,
    total_timeout=2.0,
    retries=1,
    backoff=0.01,
    max_retry_after=0.05,
    max_bytes=200_000,
    max_redirects=3,
    max_pixels=4_000_000,
    min_side=16,
)

LATIN1_TEXT = st.text(
    st.characters(
        codec="latin-1",
        exclude_categories=("Cc",),  # no CR/LF: a header value cannot carry them
    ),
    max_size=40,
)
# Locations stay on the scripted server or fail before any DNS lookup: no real network.
LOCATION_TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "http://[",
            "http://[::1",
            "http://[zz]/a.jpg",
            "http://127.0.0.1:1/closed.jpg",
            "http://127.0.0.1:99999/x",
            "ftp://127.0.0.1/a.jpg",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:image/png;base64,iVBORw0KGgo=",
            "/dl/nowhere",
            "?again",
            "\u00e9t\u00e9.jpg",
        ]
    ),
    st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="\\"),
        max_size=30,
    ).map(lambda t: "/dl/" + t),
)
header_st = st.one_of(
    st.tuples(st.just("Content-Type"), st.sampled_from(["image/jpeg", "text/html"]) | LATIN1_TEXT),
    st.tuples(
        st.just("Content-Length"),
        st.sampled_from(["0", "-1", "1", "99999999999", "³", "1e3", " 12", ""]) | LATIN1_TEXT,
    ),
    st.tuples(
        st.just("Retry-After"),
        st.sampled_from(["0", "3", "²", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999"])
        | LATIN1_TEXT,
    ),
    st.tuples(st.just("Location"), LOCATION_TEXT),
    st.tuples(
        st.just("X-Robots-Tag"),
        st.sampled_from(["noai", "facesift: noimageai", "googlebot: noindex"]) | LATIN1_TEXT,
    ),
    st.tuples(
        st.just("Content-Encoding"),
        st.sampled_from(["gzip", "deflate", "br", "identity", "zstd"]) | LATIN1_TEXT,
    ),
    st.tuples(st.just("Transfer-Encoding"), st.sampled_from(["chunked", "gzip", "x"])),
)
STATUSES = [200] * 6 + [201, 204, 206, 299, 301, 302, 303, 304, 307, 308, 399, 400, 404]
STATUSES += [410, 418, 429, 451, 500, 502, 503, 599]


@st.composite
def reply_st(draw: st.DrawFn) -> Reply:
    images = real_image_files()
    status = draw(st.sampled_from(STATUSES))
    headers = tuple(draw(st.lists(header_st, max_size=3)))
    kind = draw(st.sampled_from(["image", "damaged", "bytes", "empty"]))
    if kind == "image":
        body = images[draw(st.integers(0, len(images) - 1))]
    elif kind == "damaged":
        body = images[draw(st.integers(0, len(images) - 1))]
        for m in draw(mutations_st):
            body = m.apply(body)
    elif kind == "bytes":
        body = draw(st.sampled_from(MAGICS)) + draw(st.binary(max_size=512))
    else:
        body = b""
    return Reply(status, headers, body)


@pytest.mark.slow
@MEDIUM
@given(replies=st.lists(reply_st(), min_size=1, max_size=4))
@example(replies=[Reply(200, (("Content-Length", "³"),), b"x")])  # int("³") raised
@example(replies=[Reply(429, (("Retry-After", "²"),), b"")])  # float("²") raised
@example(replies=[Reply(302, (("Location", "http://[::1"),), b"")])  # requests raised
@example(replies=[Reply(200, (("Content-Encoding", "gzip"),), b"\xff\xd8 not gzip")])
def test_downloads_from_a_hostile_server_end_with_a_reason_or_a_whole_image(
    scripted_server: ScriptedServer, replies: list[Reply]
) -> None:
    """Any status, headers and body: each URL is ok with its image, or failed/skipped with a
    one-line reason; no exception escapes the fetcher; images and files agree."""
    from tests.scraper.test_scrape_download import _download_all

    urls = scripted_server.script(replies)
    with fresh_catalog() as (cat, _):
        rows = _download_all(cat, urls, HOSTILE_DOWNLOADS)
        served = {hashlib.sha256(r.body).hexdigest() for r in replies}
        for url, reply in zip(urls, replies, strict=True):
            row = rows[url]
            assert row["status"] in ("ok", "failed", "skipped"), url
            if row["status"] == "ok":
                assert row["reason"] is None and row["image_id"] is not None
                sha = cat.conn.execute(
                    "SELECT sha256 FROM images WHERE id = ?", (row["image_id"],)
                ).fetchone()[0]
                assert sha in served
            else:
                assert row["image_id"] is None
                assert_one_line(row["reason"])
                # "error: ..." is what the pool records when an exception escaped fetch().
                assert not row["reason"].startswith("error"), row["reason"]
            if reply.status == 200 and all(n == "Content-Type" for n, _ in reply.headers):
                try:
                    decode_image(reply.body, Fetcher(cat.paths.dir, HOSTILE_DOWNLOADS).limits)
                except ImageRejected:
                    continue
                if len(reply.body) <= HOSTILE_DOWNLOADS.max_bytes:
                    assert row["status"] == "ok", (url, row["reason"])
        check_stored_images(cat)


# Hosts that are IP literals, loopback or malformed: the checks refuse them before
# any connection or DNS query, so the property never reaches the network.
HOSTILE_HOSTS = [
    "",
    "127.0.0.1",
    "127.0.0.1:99999",
    "127.0.0.1:-1",
    "127.0.0.1:x",
    "localhost",
    "[::1]",
    "[::1]:0",
    "[::1",
    "::1]",
    "[zz]",
    "[fe80::1%25eth0]",
    "10.0.0.1",
    "169.254.169.254",
    "0.0.0.0",
    "user:pw@127.0.0.1",
    "\u0661\u0662\u0667.0.0.1",
]


@FAST
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "ftp", "file", "javascript", "", "data"]),
    sep=st.sampled_from(["://", ":", ":/", ":///", "//"]),
    host=st.sampled_from(HOSTILE_HOSTS),
    rest=st.text(max_size=40),
)
@example(scheme="http", sep="://", host="[::1", rest="/a.jpg")  # urlsplit raised ValueError
@example(scheme="http", sep="://", host="[zz]", rest="/a.jpg")  # .hostname raised ValueError
def test_fetch_of_a_hostile_url_returns_an_outcome(
    scheme: str, sep: str, host: str, rest: str
) -> None:
    """fetch() never raises for a bad URL: every string ends as an outcome with a reason."""
    url = scheme + sep + host + rest
    with tempfile.TemporaryDirectory() as tmp:
        out = Fetcher(Path(tmp), replace(HOSTILE_DOWNLOADS, allow_private_hosts=False)).fetch(url)
        assert out.url == url and out.status in ("ok", "failed", "skipped")
        if out.status == "ok":
            # Only an inline data: URI can be had without a request to a public host.
            assert url.startswith("data:") and out.image is not None
            assert (Path(tmp) / out.image.path).is_file()
        else:
            assert_one_line(out.reason or "")
            assert not list(Path(tmp).rglob("*")), "a refused URL wrote a file"


@FAST
@given(
    media=st.sampled_from(["image/png", "image/jpeg", "", "text/html"]),
    b64=st.booleans(),
    which=st.none() | st.integers(0, 7),
    payload=st.text(max_size=80),
)
def test_data_uris_decode_or_fail_with_a_reason(
    media: str, b64: bool, which: int | None, payload: str
) -> None:
    """Inline thumbnails: valid base64 of an image is stored, anything else fails with a reason."""
    if which is not None:
        raw = real_image_files()[which]
        payload = base64.b64encode(raw).decode() if b64 else urllib.parse.quote_from_bytes(raw)
    url = f"data:{media}{';base64' if b64 else ''},{payload}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Fetcher(Path(tmp), HOSTILE_DOWNLOADS).fetch(url)
        if which is not None and which not in (5,):  # index 5 is the TIFF, a refused format
            assert out.status == "ok", out.reason
        if out.status == "ok":
            assert out.image is not None and (Path(tmp) / out.image.path).is_file()
        else:
            assert out.status == "failed" and out.image is None
            assert_one_line(out.reason or "")


# --- imports: shared invariants ------------------------------------------------------

# Every reason code an import may record (README "import", core/decode.py).
IMPORT_REASONS = DECODE_REASONS | {
    "unknown_label",
    "wrong_pixel_count",
    "bad_pixels",
    "bad_row",
    "bad_encoding",
    "bad_csv",
    "not_a_video",
    "broken_video",
    "zip_bomb",
    "bad_zip",
    "bad_zip_entry",
    "encrypted",
    "symlink",
    "symlink_outside",
    "symlink_loop",
    "not_a_file",
    "nested_archive",
    "too_large",
    "unreadable",
}


def shown(name: str) -> str:
    """A file name as provenance text: undecodable bytes shown as \\xNN escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def tree_state(root: Path, skip: Path) -> dict[str, tuple[int, int, bool]]:
    """Size, mtime and symlink-ness of everything under root except ``skip``."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p == skip:
                continue
            st_ = p.lstat()
            state[str(p)] = (st_.st_size, st_.st_mtime_ns, p.is_symlink())
    return state


def safe_import(cat: Catalog, path: Path, **kw: object) -> ImportSummary | None:
    """import_path; None when it refused with a one-line FacesiftError (any other: a bug)."""
    try:
        return import_path(cat, ImportOptions(path, **kw))
    except FacesiftError as e:
        assert_one_line(str(e))
        return None


def recorded(cat: Catalog) -> tuple[dict[str, str | None], dict[str, str]]:
    """(import_path -> source label) of every provenance, (import_path -> reason) of every error."""
    kept = {
        r[0]: r[1] for r in cat.conn.execute("SELECT import_path, source_label FROM image_sources")
    }
    errors = {r[0]: r[1] for r in cat.conn.execute("SELECT import_path, reason FROM import_errors")}
    return kept, errors


def check_import(cat: Catalog, work: Path, before: dict, summary: ImportSummary | None) -> None:
    """The invariants every import keeps, whatever it was given."""
    assert tree_state(work, cat.paths.dir) == before, "something outside the dataset changed"
    _, errors = recorded(cat)
    for path, reason in errors.items():
        assert_one_line(reason)
        assert reason.split(":", 1)[0] in IMPORT_REASONS, (path, reason)
    n_sources = cat.conn.execute("SELECT COUNT(*) FROM image_sources").fetchone()[0]
    n_images = cat.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    if summary is None:
        assert not (n_sources or n_images or errors), "a refused import left rows behind"
    else:
        # One import into a new dataset: the summary counts exactly what the catalog holds
        # (refusals of one path and reason are stored once).
        assert (summary.sources_new, summary.images_new) == (n_sources, n_images)
        assert summary.refused >= len(errors) and (summary.refused == 0) == (not errors)
        assert sum(summary.reasons.values()) == summary.refused
    check_stored_images(cat)


def accounted(name: str, kept: dict, errors: dict) -> bool:
    """Whether an input (a file, an entry, a CSV row) was kept or refused with a reason."""
    return any(p == name or p.startswith((name + "/", name + ":")) for p in (*kept, *errors))


def hidden(relpath: str) -> bool:
    """Hidden files and OS droppings, which an import skips without a word (README)."""
    parts = relpath.split("/")
    return (
        any(p.startswith(".") and p not in (".", "..") for p in parts)
        or any(p == "__MACOSX" for p in parts)
        or parts[-1].lower() in ("thumbs.db", "desktop.ini", ".ds_store")
    )


# --- imports: folders -----------------------------------------------------------------

CONTENT_KINDS = [
    "png",
    "tiny_png",
    "empty",
    "junk",
    "truncated_png",
    "html",
    "csv",
    "csv_utf16",
    "zip",
    "bad_zip",
]


def content(kind: str, seed: int) -> bytes:
    """Bytes of one kind; the file's name (and so how the importer reads it) is drawn apart."""
    if kind == "png":
        return png_bytes(seed)
    if kind == "tiny_png":
        return png_bytes(seed, side=8)
    if kind == "junk":
        return random.Random(seed).randbytes(seed * 37 % 300 + 1)
    if kind == "truncated_png":
        data = png_bytes(seed)
        return data[: len(data) // 2]
    if kind == "html":
        return b"<html><body>an error page served as an image</body></html>"
    if kind == "csv":
        return ("emotion,pixels,Usage\n" + fer_row(seed % 7, seed)).encode()
    if kind == "csv_utf16":
        return ("emotion,pixels,Usage\n" + fer_row(seed % 7, seed)).encode("utf-16")
    if kind == "zip":
        return make_zip([("happy/a.png", png_bytes(seed + 100))])
    if kind == "bad_zip":
        return b"PK\x03\x04" + bytes(30)
    return b""


def make_zip(entries: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


NAME_TEXT = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="/\x00"), min_size=1, max_size=12
)
# Undecodable bytes become surrogate escapes, as os.listdir gives them.
NAME_BYTES = st.binary(min_size=1, max_size=12).map(
    lambda b: os.fsdecode(b.replace(b"/", b"_").replace(b"\0", b"_"))
)
NAME_SPECIAL = st.sampled_from(
    [
        "...",
        "..png",
        "a..b",
        ".hidden",
        "__MACOSX",
        "Thumbs.db",
        ".DS_Store",
        "happy",
        "Disgusted",
        "sad",
        " ",
        "-rf",
        "x" * 200,
        "é" * 120,
        "😀",
        "\u202eevil",
        "a\nb",
        "a\\b",
    ]
)
name_st = st.one_of(NAME_TEXT, NAME_BYTES, NAME_SPECIAL).filter(lambda n: n not in (".", ".."))
EXTS = [".png", ".jpg", ".JPG", ".gif", ".webp", ".csv", ".zip", ".mp4", ".avi", ".mov", ".txt", ""]
LINK_KINDS = [
    "outside_file",
    "outside_dir",
    "inside_file",
    "inside_dir",
    "dangling",
    "loop",
    "fifo",
]

file_entry_st = st.tuples(
    st.lists(name_st, max_size=2),
    name_st,
    st.sampled_from(EXTS),
    st.sampled_from(CONTENT_KINDS),
    st.integers(0, 5),
)
link_entry_st = st.tuples(
    st.lists(name_st, max_size=1), name_st, st.sampled_from(EXTS), st.sampled_from(LINK_KINDS)
)


def build_folder(
    root: Path, outside: Path, files: list[tuple], links: list[tuple]
) -> tuple[bytes, bytes]:
    """Write the generated tree; return the outside file's and outside folder's image bytes.

    Entries the file system refuses (a name too long, a file where a folder is
    wanted) are left out: the oracle reads the tree that was really built.
    """
    outside_file, outside_img = outside / "secret.png", png_bytes(990)
    outside_file.write_bytes(outside_img)
    (outside / "secrets").mkdir()
    in_dir_img = png_bytes(991)
    (outside / "secrets" / "in.png").write_bytes(in_dir_img)
    root.mkdir(parents=True)
    (root / "target.png").write_bytes(png_bytes(992))
    (root / "sub").mkdir()
    for dirs, name, ext, kind, seed in files:
        try:
            path = root.joinpath(*dirs, name + ext)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content(kind, seed))
        except OSError:
            continue
    targets = {
        "outside_file": outside_file,
        "outside_dir": outside / "secrets",
        "inside_file": root / "target.png",
        "inside_dir": root / "sub",
        "dangling": root / "nowhere.png",
    }
    for dirs, name, ext, kind in links:
        try:
            path = root.joinpath(*dirs, name + ext)
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "fifo":
                os.mkfifo(path)
            else:
                os.symlink(path if kind == "loop" else targets[kind], path)
        except OSError:
            continue
    return outside_img, in_dir_img


def file_entries(root: Path) -> list[str]:
    """What the folder holds that is not a folder (files, symlinks, FIFOs), as relative paths."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
        for name in filenames:
            found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return found


@MEDIUM
@given(
    root_name=name_st,
    files=st.lists(file_entry_st, max_size=6),
    links=st.lists(link_entry_st, max_size=3),
    mode=st.sampled_from(["plain", "label", "folders"]),
    limit=st.sampled_from([None, 5_000]),
)
# Each of these raised before its fix (see the commit that added it).
@example(  # a symlink loop: Path.resolve() raised RuntimeError
    root_name="in", files=[], links=[([], "loop", ".png", "loop")], mode="plain", limit=None
)
@example(  # a file name that is not UTF-8: SQLite refused the surrogate escapes
    root_name="in", files=[([], "\udcff", ".png", "png", 1)], links=[], mode="plain", limit=None
)
@example(  # ... and a folder name: the source name, and the summary line on stdout
    root_name="\udcff", files=[([], "a", ".png", "png", 1)], links=[], mode="plain", limit=None
)
@example(  # a UTF-16 CSV in a subfolder stopped the whole import and rolled back its batch
    root_name="in",
    files=[(["happy"], "x", ".csv", "csv_utf16", 1)],
    links=[],
    mode="plain",
    limit=None,
)
@example(  # a dangling symlink was skipped without a word
    root_name="in", files=[], links=[([], "d", ".png", "dangling")], mode="folders", limit=None
)
@example(  # a line break in a file name made a reason of two lines
    root_name="in", files=[([], "\x1e", ".csv", "empty", 0)], links=[], mode="plain", limit=None
)
@pytest.mark.slow
def test_import_of_a_hostile_folder(
    root_name: str, files: list[tuple], links: list[tuple], mode: str, limit: int | None
) -> None:
    """Odd names, symlinks in and out, FIFOs, every kind of bad content: each file-like entry
    is kept or refused with a reason, hidden ones are skipped, nothing outside is read or
    written, and the catalog matches the files."""
    with fresh_catalog() as (cat, work):
        outside = work / "outside"
        outside.mkdir()
        root = work / "in" / root_name
        outside_img, in_dir_img = build_folder(root, outside, files, links)
        before = tree_state(work, cat.paths.dir)
        kw = {"label": "happy"} if mode == "label" else {}
        if mode == "folders":
            kw = {"labels_from": "folders"}
        if limit is not None:  # files over the size limit are refused (too_large)
            kw["limits"] = ReadOptions(max_file_bytes=limit, max_video_bytes=limit)
        summary = safe_import(cat, root, **kw)
        assert summary is not None, "a folder import is never refused as a whole"
        check_import(cat, work, before, summary)
        kept, errors = recorded(cat)
        for rel in file_entries(root):
            if hidden(rel):
                assert not accounted(shown(rel), kept, errors), rel
            else:
                assert accounted(shown(rel), kept, errors), (rel, kept, errors)
        outside_shas = {hashlib.sha256(b).hexdigest() for b in (outside_img, in_dir_img)}
        stored = {r[0] for r in cat.conn.execute("SELECT sha256 FROM images")}
        assert not stored & outside_shas, "a file outside the imported folder was read"


# --- imports: zips --------------------------------------------------------------------

ZIP_NAME_SPECIAL = st.sampled_from(
    [
        "../../escape/sad/a.png",
        "/abs/happy/b.png",
        "..\\..\\win\\c.png",
        "C:\\x\\d.png",
        "happy/../../e.png",
        "a.png",
        "dir/",
        "__MACOSX/happy/._a.png",
        ".hidden.png",
        "inner.zip",
        "clip.mp4",
        "rows.csv",
        "nul\x00byte.png",
        "sad/" + "é" * 300 + ".png",
    ]
)
zip_member_st = st.tuples(
    st.one_of(
        ZIP_NAME_SPECIAL,
        st.tuples(
            st.lists(NAME_TEXT | NAME_SPECIAL, max_size=2), NAME_TEXT, st.sampled_from(EXTS)
        ).map(lambda t: "/".join([*t[0], t[1] + t[2]])),
    ),
    st.sampled_from([*CONTENT_KINDS, "bomb"]),
    st.integers(0, 5),
    st.sampled_from(
        [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
    ),
    st.sampled_from(["file", "file", "file", "symlink", "encrypted"]),
)


def _set_encrypted_flag(data: bytes, name: str) -> bytes:
    """Mark an entry encrypted (zipfile cannot write one) in its local and central headers."""
    buf = bytearray(data)
    raw = name.encode("utf-8")
    for sig, flags_at, name_len_at, name_at in (
        (b"PK\x03\x04", 6, 26, 30),
        (b"PK\x01\x02", 8, 28, 46),
    ):
        i = buf.find(sig)
        while i >= 0:
            n = int.from_bytes(buf[i + name_len_at : i + name_len_at + 2], "little")
            if bytes(buf[i + name_at : i + name_at + n]) == raw:
                buf[i + flags_at] |= 1
            i = buf.find(sig, i + 4)
    return bytes(buf)


def build_zip(members: list[tuple]) -> bytes:
    """A zip of the generated members: odd names, symlinks, encrypted flags, bombs."""
    buf = io.BytesIO()
    encrypted = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of the attack
        with zipfile.ZipFile(buf, "w") as zf:
            for name, kind, seed, method, how in members:
                info = zipfile.ZipInfo(name)
                info.compress_type = method
                data = bytes(2 << 20) if kind == "bomb" else content(kind, seed)
                if how == "symlink":
                    info.external_attr = 0o120777 << 16
                    data = b"../../../../etc/passwd"
                zf.writestr(info, data)
                if how == "encrypted":
                    encrypted.append(info.filename)
    data = buf.getvalue()
    for name in encrypted:
        data = _set_encrypted_flag(data, name)
    return data


DEFAULT_ZIP_TOTAL = ReadOptions().zip_max_total_bytes


@MEDIUM
@given(
    members=st.lists(zip_member_st, min_size=1, max_size=6),
    damage=st.none() | mutations_st,
    total=st.sampled_from([DEFAULT_ZIP_TOTAL, 200_000, 5_000]),
    folders=st.booleans(),
)
@example(
    members=[("rows.csv", "csv_utf16", 1, zipfile.ZIP_DEFLATED, "file")],
    damage=None,
    total=DEFAULT_ZIP_TOTAL,
    folders=False,
)
@example(  # a flipped byte in an LZMA entry: LZMAError escaped
    members=[("a.png", "png", 0, zipfile.ZIP_LZMA, "file")],
    damage=[Mutation("flip", 0.5, b"\x00")],
    total=DEFAULT_ZIP_TOTAL,
    folders=False,
)
@example(  # ... and in a deflated one's block header: zlib.error escaped
    members=[("a.png", "png", 0, zipfile.ZIP_DEFLATED, "file")],
    damage=[Mutation("flip", 0.003, b"\x00")],
    total=DEFAULT_ZIP_TOTAL,
    folders=False,
)
@pytest.mark.slow
def test_import_of_a_hostile_zip(
    members: list[tuple], damage: list[Mutation] | None, total: int, folders: bool
) -> None:
    """Traversal names, absolute paths, backslashes, duplicates, symlink and encrypted entries,
    nested zips, bombs, damaged archives: each entry is kept or refused with a reason (or the
    archive is refused whole), and nothing is written but content-addressed files."""
    data = build_zip(members)
    for m in damage or []:
        data = m.apply(data)
    with fresh_catalog() as (cat, work):
        archive = work / "upload.zip"
        archive.write_bytes(data)
        before = tree_state(work, cat.paths.dir)
        summary = safe_import(
            cat,
            archive,
            labels_from="folders" if folders else None,
            limits=ReadOptions(zip_max_total_bytes=total),
        )
        assert summary is not None, "a zip import is never refused as a whole"
        check_import(cat, work, before, summary)
        kept, errors = recorded(cat)
        written = {p.relative_to(cat.paths.dir).parts[0] for p in cat.paths.dir.rglob("*")}
        assert written <= {"images", "catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"}
        if damage or errors.get("upload.zip", "").startswith(("bad_zip", "zip_bomb")):
            event("damaged or refused whole")
            return  # damaged names cannot be traced back to what was generated
        if total < DEFAULT_ZIP_TOTAL and any(r.startswith("zip_bomb") for r in errors.values()):
            event("the total limit stopped the reading")
            return  # reaching the limit for the whole archive stops reading the rest
        event("every entry checked")
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
        for name in names:
            entry = f"upload.zip/{name}"
            assert accounted(entry, kept, errors) != hidden(name), (entry, kept, errors)


# --- imports: FER2013-style CSVs, with an oracle -------------------------------------

FER2013_ORDER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # README


@dataclass(frozen=True)
class FerRow:
    """One generated CSV row and what it means, known by construction (the test's oracle)."""

    emotion: str
    emotion_index: int | None  # the FER2013 class the field names; None: not an emotion
    seed: int
    n_pixels: int
    bad_token: str | None  # a value that is not a whole number 0-255, put among the pixels
    usage: str
    damage: str | None  # "latin1" (not UTF-8), "nul" (in the pixels), "cr" (a lone CR)
    ending: str  # the line ending
    blank_after: str | None  # a blank (or white) line after the row

    def values(self) -> np.ndarray:
        return np.random.default_rng(self.seed).integers(0, 256, self.n_pixels)

    def pixel_text(self) -> str:
        tokens = [str(v) for v in self.values()]
        if self.bad_token is not None:
            tokens[self.seed % len(tokens) if tokens else 0 : 1 if not tokens else None] = []
            tokens.insert(self.seed % (len(tokens) + 1), self.bad_token)
        return " ".join(tokens)

    def line(self, header: tuple[str, ...]) -> str:
        """The row's text (before the line ending and any Latin-1 byte)."""
        pixels = self.pixel_text()
        if self.damage == "nul":
            pixels = "\x00" + pixels[1:]
        if self.damage == "cr":
            pixels = "1\r2 " + pixels
        fields = {"emotion": self.emotion, "pixels": pixels, "usage": self.usage, "extra": "x"}
        return ",".join(fields[c.strip().lower()] for c in header)

    @property
    def pixels_ok(self) -> bool:
        side = math.isqrt(self.n_pixels)
        return self.bad_token is None and side * side == self.n_pixels and side >= 32


emotion_st = st.one_of(
    st.integers(0, 6).map(lambda i: (str(i), i)),
    st.integers(0, 6).map(lambda i: (f" {i} ", i)),
    st.integers(0, 6).map(lambda i: (f"0{i}", i)),
    st.integers(7, 10**20).map(lambda i: (str(i), None)),
    st.integers(-(10**6), -1).map(lambda i: (str(i), None)),
    st.sampled_from(["", "happy", "3.0", "³", "٣", "３", "0x3", "+3", "1e0", "NaN", "-0"]).map(
        lambda t: (t, None)
    ),
)
usage_st = st.sampled_from(["Training", "PublicTest", "PrivateTest", ""]) | st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters=',"\r\n\x00'), max_size=12
)


@st.composite
def fer_row_st(draw: st.DrawFn) -> FerRow:
    emotion, index = draw(emotion_st)
    # A bad token replaces one value of an otherwise good row.
    bad = draw(st.none() | st.sampled_from(["256", "-1", "1.5", "x", "²", "nan", "0x10", "1e2"]))
    return FerRow(
        emotion=emotion,
        emotion_index=index,
        seed=draw(st.integers(0, 3)),  # few seeds: equal pixels in two rows happen
        n_pixels=draw(st.sampled_from([2304] * 6 + [1024, 4096, 0, 1, 4, 961, 2303, 2305, 2000])),
        bad_token=bad,
        usage=draw(usage_st),
        damage=draw(st.sampled_from([None] * 6 + ["latin1", "nul", "cr"])),
        ending=draw(st.sampled_from(["\n", "\r\n"])),
        blank_after=draw(st.sampled_from([None] * 4 + ["", "   "])),
    )


GOOD_ROW = FerRow("3", 3, 0, 2304, None, "Training", None, "\n", None)
HEADERS = [
    ("emotion", "pixels", "Usage"),
    ("Emotion", " Pixels ", "usage"),
    ("pixels", "emotion"),
    ("emotion", "pixels"),
    ("pixels",),
    ("pixels", "Usage"),
    ("emotion", "pixels", "Usage", "extra"),
]


def fer_csv_bytes(header: tuple[str, ...], rows: list[FerRow], encoding: str) -> bytes:
    """The CSV file, byte for byte; returns the physical lines' row numbers through the rows."""
    lines = [",".join(header).encode() + b"\n"]
    for r in rows:
        raw = r.line(header).encode() + (b"\xe9" if r.damage == "latin1" else b"")
        raw += r.ending.encode()
        lines.append(raw)
        if r.blank_after is not None:
            lines.append(r.blank_after.encode() + b"\n")
    data = b"".join(lines)
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + data
    if encoding == "utf-16":
        return data.decode("utf-8", "replace").encode("utf-16")
    if encoding == "cr-only":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    return data


def fer_oracle(
    header: tuple[str, ...], rows: list[FerRow], fixed: str | None
) -> tuple[dict[str, str | None], set[int], dict[str, FerRow]]:
    """(import path -> label) of the rows that must be kept, the row numbers that must be
    refused, and the row behind each kept path: from the generated data alone."""
    columns = [c.strip().lower() for c in header]
    kept: dict[str, str | None] = {}
    refused: set[int] = set()
    behind: dict[str, FerRow] = {}
    number = 0  # 0-based data row, counting blank lines as pandas' line numbers do
    for r in rows:
        if not r.line(header).strip() and r.damage != "latin1":
            number += 1 + (r.blank_after is not None)
            continue  # a blank line (a lone empty pixels field): no row at all
        ok = r.damage is None and r.pixels_ok
        label: str | None = fixed
        if fixed is None and "emotion" in columns:
            ok = ok and r.emotion_index is not None
            label = FER2013_ORDER[r.emotion_index] if r.emotion_index is not None else None
        if ok:
            path = f"fer.csv:{number}"
            if "usage" in columns and r.usage.strip():
                path += f":{r.usage.strip()}"
            kept[path] = label
            behind[path] = r
        else:
            refused.add(number)
        number += 1 + (r.blank_after is not None)
    return kept, refused, behind


@MEDIUM
@given(
    header=st.sampled_from(HEADERS),
    rows=st.lists(fer_row_st(), min_size=1, max_size=8),
    encoding=st.sampled_from(["utf-8"] * 4 + ["utf-8-sig", "utf-16", "cr-only"]),
    fixed=st.sampled_from([None, None, None, "sad"]),
)
@example(  # a lone CR in a row: csv.Error escaped and rolled back the batch
    header=HEADERS[0],
    rows=[GOOD_ROW, replace(GOOD_ROW, damage="cr")],
    encoding="utf-8",
    fixed=None,
)
@example(  # the same in the header of an old-Mac file
    header=HEADERS[0], rows=[GOOD_ROW], encoding="cr-only", fixed=None
)
@example(  # "³".isdigit() is true and int("³") raises
    header=HEADERS[0],
    rows=[replace(GOOD_ROW, emotion="³", emotion_index=None)],
    encoding="utf-8",
    fixed=None,
)
@example(  # int("٣") is 3: an Arabic-Indic digit is not a FER2013 emotion either
    header=HEADERS[0],
    rows=[replace(GOOD_ROW, emotion="٣", emotion_index=None)],
    encoding="utf-8",
    fixed=None,
)
@pytest.mark.slow
def test_import_of_a_hostile_fer2013_csv(
    header: tuple[str, ...], rows: list[FerRow], encoding: str, fixed: str | None
) -> None:
    """Emotions out of range or not numbers, wrong pixel counts and values, odd Usage, header
    variants, BOM, UTF-16, Latin-1 bytes, NULs, CRLF and lone CRs: exactly the rows the test
    knows to be valid are kept, with their label, path and pixels; every other row is refused
    with a reason; a file that is not a UTF-8 CSV is a one-line error that stores nothing."""
    with fresh_catalog() as (cat, work):
        csv_path = work / "fer.csv"
        csv_path.write_bytes(fer_csv_bytes(header, rows, encoding))
        before = tree_state(work, cat.paths.dir)
        summary = safe_import(cat, csv_path, label=fixed)
        check_import(cat, work, before, summary)
        if encoding in ("utf-16", "cr-only"):
            assert summary is None, "a file that is not a UTF-8 CSV must be refused whole"
            return
        assert summary is not None
        want_kept, want_refused, behind = fer_oracle(header, rows, fixed)
        kept, errors = recorded(cat)
        assert kept == want_kept
        assert {int(p.split(":")[1]) for p in errors} == want_refused
        assert summary.refused == len(want_refused)
        for path, row in behind.items():
            (rel,) = cat.conn.execute(
                "SELECT i.path FROM images i JOIN image_sources s ON s.image_id = i.id "
                "WHERE s.import_path = ?",
                (path,),
            ).fetchone()
            with Image.open(cat.paths.resolve(rel)) as im:
                side = math.isqrt(row.n_pixels)
                assert np.array_equal(np.asarray(im), row.values().reshape(side, side))


# --- imports: files that claim to be videos ----------------------------------------


# write_video is a stateless factory fixture: sharing it across examples is safe.
@settings(SLOW, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["junk", "text", "empty", "image", "truncated", "damaged", "real"]),
    ext=st.sampled_from([".mp4", ".avi", ".mov", ".mkv", ".webm"]),
    cut=st.floats(0.01, 0.99),
    edits=mutations_st,
    fps=st.floats(0.05, 50) | st.sampled_from([1e-9, 5e-324, 1e6]),
    in_zip=st.booleans(),
)
def test_files_that_claim_to_be_videos(
    write_video,
    kind: str,
    ext: str,
    cut: float,
    edits: list[Mutation],
    fps: float,
    in_zip: bool,
) -> None:
    """Random bytes, text, images, truncated or damaged real videos under video names, on
    disk or in a zip: frames kept, or a reason recorded; a real video always gives frames."""
    with fresh_catalog() as (cat, work):
        real = write_video(work / f"real{ext if ext != '.webm' else '.mp4'}", seconds=1.0)
        data = real.read_bytes()
        real.unlink()
        if kind == "junk":
            data = random.Random(len(edits)).randbytes(2000)
        elif kind == "text":
            data = b"hello, not a video\n" * 10
        elif kind == "empty":
            data = b""
        elif kind == "image":
            data = png_bytes(1)
        elif kind == "truncated":
            data = data[: max(1, int(len(data) * cut))]
        elif kind == "damaged":
            for m in edits:
                data = m.apply(data)
        name = f"clip{ext}"
        target = work / (name if not in_zip else "clips.zip")
        target.write_bytes(data if not in_zip else make_zip([(name, data)]))
        before = tree_state(work, cat.paths.dir)
        summary = safe_import(cat, target, fps=fps)
        assert summary is not None
        check_import(cat, work, before, summary)
        kept, errors = recorded(cat)
        entry = name if not in_zip else f"clips.zip/{name}"
        assert accounted(entry, kept, errors), (entry, kept, errors)
        event(f"{kind}: {'frames' if summary.frames else 'no frame'}, {len(errors)} refused")
        if kind == "real" and ext != ".webm":
            assert summary.frames >= 1 and not errors, errors


# --- the command line ------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """A numeric or choice option of one subcommand, and the values it takes."""

    command: str
    flag: str
    kind: str  # "int", "float", "fractions" or "choice"
    low: float | None = None  # inclusive bounds of an "int"
    high: float | None = None
    choices: tuple[str, ...] = ()
    required: tuple[str, ...] = ()  # the command's other required arguments, good values

    def argv(self, root: str, value: str, *, attached: bool) -> list[str]:
        tail = [f"{self.flag}={value}"] if attached else [self.flag, value]
        return ["--root", root, self.command, *self.required, *tail]


def required_args(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    """Good values for a command's positionals and required options, so that a flag's
    value is the only thing the parser can refuse."""
    args: list[str] = []
    for a in parser._actions:
        if not a.option_strings and a.dest != "help":
            args.append("somewhere")
        elif a.option_strings and a.required:
            args += [max(a.option_strings, key=len), a.choices[-1] if a.choices else "x"]
    return tuple(args)


def cli_flags() -> list[Flag]:
    """Every numeric or choice option of every subcommand, read from the parser itself."""
    import pipeline
    from exporter.options import split_fractions

    sub = pipeline.build_parser()._subparsers._group_actions[0]  # as tests/test_pipeline.py
    flags = []
    for command, parser in sub.choices.items():
        required = required_args(parser)
        for a in parser._actions:
            if not a.option_strings or a.dest == "help":
                continue
            name = max(a.option_strings, key=len)
            spec = getattr(a.type, "spec", None)  # a number flag (core.cli.number_parser)
            if a.choices:
                flags.append(Flag(command, name, "choice", (), required, tuple(a.choices)))
            elif spec is not None and a.type.kind is int:
                low = spec.low if spec.above is None else spec.above + 1
                flags.append(Flag(command, name, "int", low, spec.high, (), required))
            elif spec is not None and a.type.kind is float:
                floor = spec.low if spec.low is not None else spec.above
                # The sweep's bad floats are negative: each such flag must refuse them.
                assert floor is not None and floor >= 0, f"{command} {name}"
                flags.append(Flag(command, name, "float", required=required))
            elif a.type is split_fractions:
                flags.append(Flag(command, name, "fractions", required=required))
            else:
                assert a.type in (None, Path), f"{command} {name}: a type this sweep does not know"
    return flags


CLI_FLAGS = cli_flags()
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# Text with no decimal digit is never a number (float() reads only nan/inf spellings,
# which no numeric flag accepts) and, drawn at random, never one of a flag's choices.
NOT_A_NUMBER = st.one_of(
    st.sampled_from(
        ["", " ", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-", "½", "x", "\x00"]
    ),
    st.text(st.characters(exclude_categories=("Nd", "Cs")), max_size=20),
    NAME_BYTES.filter(lambda t: not any(c.isdigit() for c in t)),
)
HUGE = ["9" * 5000, "1" + "0" * 400, "1e309", "-1e309", "1e-400"]


@st.composite
def bad_value_st(draw: st.DrawFn, flag: Flag) -> str:
    """A value the flag must refuse: malformed, or out of its range."""
    options = [NOT_A_NUMBER]
    if flag.kind == "choice":
        options = [st.text(max_size=12).filter(lambda t: t not in flag.choices)]
    elif flag.kind == "int":
        options.append(st.floats(allow_nan=False, allow_infinity=False).map(repr))
        options.append(st.sampled_from(["1.0", "1e3", "0x10", "1,000", "1 2", "٣.٣"]))
        if flag.low is not None:
            options.append(st.integers(max_value=int(flag.low) - 1).map(str))
        if flag.high is not None:
            options.append(st.integers(min_value=int(flag.high) + 1).map(str))
    elif flag.kind == "float":
        options.append(st.floats(max_value=-1e-300).map(repr))
        options.append(st.sampled_from(["1e309", "-1e309", "-0.5", "1,5", "0x1p3"]))
    else:
        fractions = st.floats(-2, 2, allow_nan=False)
        options.append(  # three fractions that do not sum to 1, or are out of 0..1
            st.lists(fractions, min_size=3, max_size=3)
            .filter(lambda p: abs(sum(p) - 1) > 1e-3 or any(not 0 <= x <= 1 for x in p))
            .map(lambda p: ",".join(map(repr, p)))
        )
        options.append(  # not three of them
            st.lists(fractions, max_size=5)
            .filter(lambda p: len(p) != 3)
            .map(lambda p: ",".join(map(repr, p)))
        )
    return draw(st.one_of(options))


def run_main(argv: list[str]) -> tuple[int | str | None, str, str]:
    """pipeline.main in this process: (exit status, stdout, stderr)."""
    import pipeline

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = pipeline.main(argv)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def parses(argv: list[str]) -> bool:
    """Whether the command line parses (quietly; nothing is run)."""
    import pipeline

    with redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
        try:
            pipeline.build_parser().parse_args(argv)
        except SystemExit:
            return False
    return True


def assert_cli_error(code: int | str | None, err: str, needle: str) -> None:
    assert code == 2, (code, err)
    assert err.startswith("facesift: error: ") and err.endswith("\n"), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert needle in err, err


@FAST
@given(data=st.data(), attached=st.booleans())
def test_bad_command_line_values_are_one_line_errors(
    data: st.DataObject, attached: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every numeric and choice flag of every command: a malformed or out-of-range value is
    exit status 2 and one line on stderr that names the flag, before anything runs."""
    flag = data.draw(st.sampled_from(CLI_FLAGS), label="flag")
    value = data.draw(bad_value_st(flag), label="value")
    # "-x" after a space is read as another option: argparse's own one-line error.
    attached = attached or value.startswith("-")
    root = str(tmp_path_factory.getbasetemp() / "cli-root")
    argv = flag.argv(root, value, attached=attached)
    # Parse first: were a bad value taken, main() would run the command (a browser...).
    assert not parses(argv), f"{flag.command} {flag.flag} took {value!r}"
    code, _, err = run_main(argv)
    assert_cli_error(code, err, flag.flag)
    assert not Path(root).exists(), "a refused command line created the data root"


@pytest.mark.slow
@FAST
@given(data=st.data())
def test_any_command_line_value_parses_or_is_a_one_line_error(data: st.DataObject) -> None:
    """Whatever the text, a flag's value is taken or refused in one line; parsing never
    raises anything but SystemExit(2)."""
    import pipeline

    flag = data.draw(st.sampled_from(CLI_FLAGS), label="flag")
    value = data.draw(
        st.one_of(st.text(max_size=30), st.sampled_from(HUGE), NAME_BYTES), label="value"
    )
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        try:
            pipeline.build_parser().parse_args(flag.argv("root", value, attached=True))
        except SystemExit as e:
            assert_cli_error(e.code, err.getvalue(), flag.flag)
            return
    assert err.getvalue() == ""


FLOAT_FLAGS = [f for f in CLI_FLAGS if f.kind == "float"]


def test_a_double_dash_value_is_refused() -> None:
    """'--flag=--' must not silently mean the default: parsed only, nothing is run."""
    accepted = [
        f"{f.command} {f.flag}" for f in CLI_FLAGS if parses(f.argv("root", "--", attached=True))
    ]
    assert not accepted, accepted


@pytest.mark.parametrize(
    "flag",
    [pytest.param(f, id=f"{f.command} {f.flag}") for f in FLOAT_FLAGS],
)
def test_a_float_flag_value_with_a_line_break_is_one_line(flag: Flag, tmp_path: Path) -> None:
    """float() skips surrounding whitespace, so 'nan\\n' reaches the range check."""
    code, _, err = run_main(flag.argv(str(tmp_path / "root"), "nan\n", attached=True))
    assert_cli_error(code, err, flag.flag)


@pytest.mark.parametrize("value", ["1\n2", "x\ny", "\u2028", "\r", "4\x1e2"])
def test_an_int_or_choice_value_with_a_line_break_is_one_line(value: str, tmp_path: Path) -> None:
    """The other flags quote the value (repr): a line break stays on the line.

    (Only malformed values: int() too skips surrounding whitespace, so "1\n" is a good
    --limit, and the command would run.)"""
    for flag in CLI_FLAGS:
        if flag.kind == "float":
            continue
        code, _, err = run_main(flag.argv(str(tmp_path / "root"), value, attached=True))
        assert_cli_error(code, err, flag.flag)


def test_devices_and_fifos_are_not_imported(tmp_path: Path) -> None:
    """/dev/zero would be read for ever and a FIFO would block: both are one-line errors."""
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        code, _, err = run_main(["--root", str(tmp_path / "root"), "import", path, "--no-extract"])
        assert_cli_error(code, err, "neither a folder nor a regular file")


def test_real_command_lines_with_hostile_values(tmp_path: Path, write_video) -> None:
    """Through a real process: out-of-range values, an unusable data root, and an import of a
    folder whose name is not UTF-8 (printing its summary raised UnicodeEncodeError)."""
    from tests.test_pipeline import run_cli

    root = tmp_path / "root"
    for args, needle in [
        (["extract", "--workers", "nan"], "--workers"),
        (["scrape", "--timeout", "-inf"], "--timeout"),
        (["export", "--out", "x", "--format", "hf", "--size", "1e3"], "--size"),
        (["review", "--port", "0"], "--port"),
    ]:
        done = run_cli(*args, root=root)
        assert_cli_error(done.returncode, done.stderr, needle)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    done = run_cli("stats", root=a_file)  # mkdir raised NotADirectoryError
    assert_cli_error(done.returncode, done.stderr, "cannot create dataset")
    (tmp_path / "junk" / "default").mkdir(parents=True)
    (tmp_path / "junk" / "default" / "catalog.sqlite").write_bytes(b"not SQLite" * 100)
    code, _, err = run_main(["--root", str(tmp_path / "junk"), "stats"])  # DatabaseError
    assert_cli_error(code, err, "catalog.sqlite")
    other = sqlite3.connect(tmp_path / "junk" / "default" / "catalog.sqlite.other")
    other.execute("CREATE TABLE images (x)")  # some other program's database
    other.close()
    os.replace(
        tmp_path / "junk" / "default" / "catalog.sqlite.other",
        tmp_path / "junk" / "default" / "catalog.sqlite",
    )
    code, _, err = run_main(["--root", str(tmp_path / "junk"), "stats"])
    assert_cli_error(code, err, "catalog.sqlite")
    folder = tmp_path / os.fsdecode(b"caf\xe9")  # a Latin-1 name from an old archive
    folder.mkdir()
    (folder / os.fsdecode(b"\xff.png")).write_bytes(png_bytes(3))
    write_video(folder / "clip.mp4", seconds=1.0)
    done = run_cli("import", str(folder), "--no-extract", "--fps", "5e-324", root=root)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "import caf\\xe9: 2 images kept" in done.stdout, done.stdout
