"""A hostile-input sweep over every entry point, driven by hypothesis.

Downloaded bytes, imported folders and zips, FER2013-style CSVs, files that
claim to be videos, and command-line values. Each must end in a one-line
error or a recorded reason: never a traceback, never a half-written row, an
orphan file or a byte written outside the dataset folder. The example-based
tests beside each stage pin the reasons of single cases; these properties
check that the invariants hold across generated inputs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import itertools
import os
import random
import tempfile
import threading
import urllib.parse
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from catalog import Catalog, LabelSet
from catalog.decode import KEPT_FORMATS, DecodedImage, DecodeLimits, ImageRejected, decode_image
from catalog.errors import FacesiftError
from catalog.storage import TMP_SUFFIX
from importer.readers import ReadOptions
from importer.stage import ImportSummary, import_path
from scraper.config import DownloadOptions
from scraper.download import Fetcher
from tests.conftest import load_photos
from tests.importer.conftest import fer_row, png_bytes

# Modest example counts: the whole module must stay well under a minute on two cores.
# FACESIFT_HOSTILE_SCALE=50 multiplies them for a long bug hunt.
_SCALE = max(1, int(os.environ.get("FACESIFT_HOSTILE_SCALE", "1")))
FAST = settings(max_examples=60 * _SCALE, deadline=None)
MEDIUM = settings(max_examples=30 * _SCALE, deadline=None)
SLOW = settings(max_examples=15 * _SCALE, deadline=None)

DECODE_REASONS = frozenset(
    {"empty", "not_an_image", "bomb", "unsupported_format", "truncated", "too_small"}
)


# --- helpers --------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


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


# Tight limits so that every branch is reached in milliseconds.
HOSTILE_DOWNLOADS = DownloadOptions(
    concurrency=4,
    per_host=4,
    connect_timeout=2.0,
    read_timeout=1.0,
    total_timeout=2.0,
    retries=1,
    backoff=0.01,
    max_retry_after=0.05,
    max_bytes=200_000,
    max_redirects=3,
    allow_private_hosts=True,
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


@contextmanager
def fresh_catalog(labels: str | None = None) -> Iterator[tuple[Catalog, Path]]:
    """A new dataset in its own temporary folder; yields (catalog, that folder)."""
    with tempfile.TemporaryDirectory(prefix="facesift-hostile-") as tmp:
        work = Path(tmp)
        cat = Catalog.open(
            work / "datasets", "t", labels=LabelSet.parse(labels) if labels else None
        )
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

# Every reason code an import may record (README "import", catalog/decode.py).
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
        return import_path(cat, path, progress=False, **kw)
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
        return bytes(random.Random(seed).randbytes(seed * 37 % 300 + 1))
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
NAME_BYTES = (
    st.binary(min_size=1, max_size=12)
    .filter(lambda b: b"/" not in b and b"\0" not in b)
    .map(os.fsdecode)  # undecodable bytes become surrogate escapes, as os.listdir gives them
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
)
@example(root_name="in", files=[], links=[([], "loop", ".png", "loop")], mode="plain")
@example(root_name="in", files=[([], "\udcff", ".png", "png", 1)], links=[], mode="plain")
@example(root_name="\udcff", files=[([], "a", ".png", "png", 1)], links=[], mode="plain")
@example(root_name="in", files=[(["happy"], "x", ".csv", "csv_utf16", 1)], links=[], mode="plain")
@example(root_name="in", files=[], links=[([], "d", ".png", "dangling")], mode="folders")
@example(root_name="in", files=[([], "\x1e", ".csv", "empty", 0)], links=[], mode="plain")
def test_import_of_a_hostile_folder(
    root_name: str, files: list[tuple], links: list[tuple], mode: str
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
            read_options=ReadOptions(zip_max_total_bytes=total),
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
