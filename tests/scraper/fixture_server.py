"""A fake image search engine on 127.0.0.1 (random port) for offline scrape tests.

It serves, under one origin:

- Google Images, 2024-2026 layout at ``/search`` (and ``/modern/search``): a
  consent page first (``/consent``, posting to ``/save``), lazy tiles
  (``div[jsname=dTDiAc]`` with 1x1 placeholder thumbnails filled later) that
  appear in batches on scroll, a preview panel that shows the thumbnail and then
  switches to the original, ``/imgres?imgurl=`` links on half the tiles, an ad
  block and a related-searches block among the tiles.
- Google Images, 2020-2023 layout at ``/legacy/search``: a consent dialog,
  ``div.isv-r[data-ri]`` tiles, ``img.n3VNCb`` preview, the "Show more results"
  button (``input.mye4qd``) after every two batches and the end text.
- Bing Images at ``/images/search`` and ``/images/async?first=N&count=C``
  (which repeats its last page past the end, as Bing does).
- Ads among the tiles, each opening a preview to an ``/ad/`` image like a result:
  one inside ``.pla-unit``, one ``[data-text-ad]``, one labelled "Sponsored",
  one linking through ``/aclk``; and an id-less tile whose preview never opens.
- Google's own page data (``page_data="all"`` or ``"some"``): one script per
  batch with an array per result, as the real page carries.
- Page states, by a word in the query: ``blocked`` (redirect to ``/sorry/index``),
  ``blockmid`` (there after the first batch), ``captchaform``, ``unusualtraffic``,
  ``shortsorry`` (a short body pointing to /sorry/), ``jsshell`` (the
  JavaScript-only shell), ``noresults``; ``google_block_after=N`` sends every
  Google search after the first N to the sorry page (a block mid-run).
- DuckDuckGo images at ``/?q=..&iax=images&ia=images`` (a ``vqd`` token and a
  session cookie) and ``/i.js`` (JSON, 100 a page, needs both).
- Originals (distinct real photos), thumbnails (``/images?q=tbn:N``), special
  good images and every fault endpoint (see :data:`FAULTS`).

Requests whose User-Agent names facesift are logged in ``downloader_requests``;
the stateful faults (500 then OK, 429 then OK) count only those, so the browser
loading a preview does not use them up.
"""

from __future__ import annotations

import html
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

from tests.scraper.fixture_images import ImageFactory

PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="

# path -> (status, reason) the downloader must record, with the test options of
# tests/scraper/conftest.py (1 MB byte limit, 1 s read timeout, 2 retries).
FAULTS: dict[str, tuple[str, str | None]] = {
    "/fault/404.jpg": ("failed", "http_404"),
    "/fault/500-then-ok.jpg": ("ok", None),
    "/fault/429-then-ok.jpg": ("ok", None),
    "/fault/slow.jpg": ("failed", "timeout"),
    "/fault/truncated.jpg": ("failed", "truncated"),
    "/fault/html.jpg": ("failed", "not_an_image"),
    "/fault/empty.jpg": ("failed", "empty"),
    "/fault/huge.jpg": ("failed", "too_large"),
    "/fault/redirect-loop.jpg": ("failed", "too_many_redirects"),
    "/fault/bomb.png": ("failed", "bomb"),
    "/fault/noai.jpg": ("skipped", "opted_out"),
    "/special/cmyk.jpg": ("ok", None),
    "/special/exif-rotated.jpg": ("ok", None),
    "/special/16bit.png": ("ok", None),
    "/special/animated.gif": ("ok", None),
}
HUGE_BYTES = 1_500_000
SLOW_SECONDS = 4.0


@dataclass
class Entry:
    """One result the fake engine lists."""

    key: str
    original: str  # path of the original
    title: str
    width: int = 640
    height: int = 480
    imgres: bool = False  # the tile's link carries /imgres?imgurl= after a hover or click
    no_original: bool = False  # the preview never switches: only the thumbnail can be had
    inline_thumb: bool = False  # thumbnail inlined as a data: URI


@dataclass
class FakeSearch:
    """The server's configuration and its log."""

    factory: ImageFactory
    n_good: int = 12
    faults: bool = True
    batch: int = 20
    scroll_delay_ms: int = 120
    preview_delay_ms: int = 60
    image_delay_s: float = 0.0  # delay before each original's body (kill tests)
    distinct_per_query: bool = False  # each query's good photos are other files (end to end)
    page_data: str = "none"  # none | all | some (two tiles in three) described in scripts
    imgres_links: bool = True  # half the tiles fill their link with /imgres on hover
    google_block_after: int | None = None  # Google searches served before every one blocks
    consent_choices: list[str] = field(default_factory=list)
    searches: list[tuple[str, str]] = field(default_factory=list)  # (engine, query) asked
    request_log: list[tuple[str, str]] = field(default_factory=list)  # (path, query string)
    downloader_requests: list[tuple[str, str]] = field(default_factory=list)
    request_times: list[tuple[str, float]] = field(default_factory=list)  # (path, monotonic)
    in_flight: int = 0  # originals being served right now
    max_in_flight: int = 0
    user_agents: set[str] = field(default_factory=set)
    _counts: dict[str, int] = field(default_factory=dict)
    _query_slots: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    # --- results -------------------------------------------------------------------

    def entries(self, query: str) -> list[Entry]:
        """The results of a query: good photos with the faults interleaved, one without original."""
        tag = quote_plus(query)[:40]
        out = [
            Entry(
                f"g{i}",
                f"/img/good/{i}.jpg?q={tag}",
                f"photo {i}",
                imgres=self.imgres_links and i % 2 == 0,
                inline_thumb=i < 6,
            )
            for i in range(self.n_good)
        ]
        if self.faults:
            for j, path in enumerate(FAULTS):
                out.insert(
                    min(len(out), 2 + j * 2),
                    Entry(f"f{j}", f"{path}?q={tag}", f"fault {path}", imgres=j % 2 == 1),
                )
            out.append(
                Entry("nooriginal", f"/img/never/{tag}.jpg", "no original", no_original=True)
            )
        return out

    def originals(self, base: str, query: str) -> set[str]:
        """Absolute original URLs a crawl of ``query`` must collect (fallbacks excluded)."""
        return {base + e.original for e in self.entries(query) if not e.no_original}

    def thumbnail_url(self, base: str, e: Entry, i: int) -> str:
        if e.inline_thumb:
            import base64

            return "data:image/jpeg;base64," + base64.b64encode(self.factory.thumbnail(i)).decode()
        return f"{base}/images?q=tbn:{e.key}-{i}"

    def good_index(self, tag: str, i: int) -> int:
        """Which distinct photo ``/img/good/<i>.jpg?q=<tag>`` serves."""
        if not self.distinct_per_query:
            return i
        with self._lock:
            slot = self._query_slots.setdefault(tag, len(self._query_slots))
        return slot * self.n_good + i

    def count(self, key: str) -> int:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class Server:
    """Runs a :class:`FakeSearch` on 127.0.0.1 in a background thread."""

    def __init__(self, fake: FakeSearch):
        self.fake = fake
        handler = type("Handler", (_Handler,), {"fake": fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = _quiet_disconnects(self.httpd.handle_error)
        self.httpd.block_on_close = False
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _quiet_disconnects(handle_error):
    """A browser closing a tab mid-request is not a server error worth a traceback."""
    import sys

    def handle(request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            handle_error(request, client_address)

    return handle


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSearch
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm and the
    # client's delayed ACK add 40 ms to every response on a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:  # quiet
        pass

    # --- plumbing ------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://{self.headers.get('Host')}"

    def send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def page(self, text: str, headers: dict | None = None) -> None:
        self.send(200, text.encode(), "text/html; charset=utf-8", headers)

    def redirect(self, location: str, status: int = 302, headers: dict | None = None) -> None:
        self.send(status, b"", "text/plain", {"Location": location, **(headers or {})})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if urlsplit(self.path).path.endswith("/save"):
            self.fake.consent_choices.append(form.get("set", ["?"])[0])
            target = form.get("continue", ["/"])[0]
            return self.redirect(
                target, 303, {"Set-Cookie": "CONSENT=YES+; Path=/; Max-Age=31536000"}
            )
        self.send(404, b"no", "text/plain")

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, qs = parts.path, parse_qs(parts.query)
        self.fake.request_log.append((path, parts.query))
        ua = self.headers.get("User-Agent", "")
        if "facesift" in ua.lower():
            self.fake.downloader_requests.append((path, ua))
            self.fake.request_times.append((path, time.monotonic()))
            self.fake.user_agents.add(ua)
        q = qs.get("q", [""])[0]
        try:
            if path in ("/search", "/modern/search"):
                return self.google(q, modern=True, prefix=path[: -len("/search")])
            if path == "/legacy/search":
                return self.google(q, modern=False, prefix="/legacy")
            if path.endswith("/consent"):
                return self.consent_page(qs.get("continue", ["/"])[0], path[: -len("/consent")])
            if path.endswith("/consent-choice"):
                self.fake.consent_choices.append(qs.get("set", ["?"])[0])
                return self.send(204, b"", "text/plain")
            if path.endswith("/") and qs.get("iax") == ["images"]:
                return self.ddg(q)
            if path.endswith("/i.js"):
                return self.ddg_json(q, qs)
            if path.startswith("/sorry/"):
                return self.page(SORRY_PAGE)
            if path.endswith("/images/search"):
                return self.bing(q)
            if path.endswith("/images/async"):
                return self.bing_async(
                    q, int(qs.get("first", ["1"])[0]), int(qs.get("count", ["35"])[0])
                )
            if path == "/images" and q.startswith("tbn:"):
                i = int(q.rsplit("-", 1)[-1])
                return self.send(200, self.fake.factory.thumbnail(i), "image/jpeg")
            if path.startswith("/img/good/"):
                with self.fake._lock:
                    self.fake.in_flight += 1
                    self.fake.max_in_flight = max(self.fake.max_in_flight, self.fake.in_flight)
                try:
                    self._image_delay()
                    i = self.fake.good_index(q, int(Path(path).stem))
                    body = self.fake.factory.good(i)
                finally:
                    # Counted out before the body goes: a client that has read it may
                    # start its next request before this thread would get to run again.
                    with self.fake._lock:
                        self.fake.in_flight -= 1
                return self.send(200, body, "image/jpeg")
            if path.startswith("/ad/"):
                return self.send(200, self.fake.factory.good(999), "image/jpeg")
            if path.startswith(("/fault/", "/special/")):
                return self.fault(path, self.path, "facesift" in ua.lower())
            if path.startswith("/page/"):
                return self.page("<html><body>a page with a photo</body></html>")
        except (BrokenPipeError, ConnectionResetError):
            return
        self.send(404, b"not found", "text/plain")

    def _image_delay(self) -> None:
        if self.fake.image_delay_s:
            self.fake._stop.wait(self.fake.image_delay_s)

    # --- faults ------------------------------------------------------------------------

    def fault(self, path: str, full: str, from_downloader: bool) -> None:
        f = self.fake.factory
        jpeg = "image/jpeg"
        if path == "/fault/404.jpg":
            return self.send(404, b"gone", "text/html")
        if path in ("/fault/500-then-ok.jpg", "/fault/429-then-ok.jpg"):
            if from_downloader and self.fake.count(full) == 1:
                if path.startswith("/fault/500"):
                    return self.send(500, b"oops", "text/plain")
                return self.send(429, b"slow down", "text/plain", {"Retry-After": "1"})
            return self.send(200, f.good(500 if "500" in path else 600), jpeg)
        if path == "/fault/slow.jpg":
            body = f.good(3)
            self.send_response(200)
            self.send_header("Content-Type", jpeg)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:100])
            self.wfile.flush()
            self.fake._stop.wait(SLOW_SECONDS)
            self.wfile.write(body[100:])
            return None
        if path == "/fault/truncated.jpg":
            return self.send(200, f.truncated_jpeg, jpeg)
        if path == "/fault/html.jpg":
            return self.send(200, b"<html><body>Access denied</body></html>", jpeg)
        if path == "/fault/empty.jpg":
            return self.send(200, b"", jpeg)
        if path == "/fault/huge.jpg":
            # No Content-Length: the limit must be enforced while streaming.
            self.send_response(200)
            self.send_header("Content-Type", jpeg)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            block = f.good(4)[:2] + b"\0" * 65534
            for _ in range(HUGE_BYTES // len(block) + 1):
                self.wfile.write(block)
            return None
        if path == "/fault/redirect-loop.jpg":
            return self.redirect(full.replace("redirect-loop", "redirect-loop-b"))
        if path == "/fault/redirect-loop-b.jpg":
            return self.redirect(full.replace("redirect-loop-b", "redirect-loop"))
        if path == "/fault/bomb.png":
            return self.send(200, f.bomb_png, "image/png")
        if path == "/fault/noai.jpg":
            return self.send(200, f.good(7), jpeg, {"X-Robots-Tag": "noai, noimageai"})
        specials = {
            "/special/cmyk.jpg": (f.cmyk_jpeg, jpeg),
            "/special/exif-rotated.jpg": (f.exif_rotated_jpeg, jpeg),
            "/special/16bit.png": (f.png16, "image/png"),
            "/special/animated.gif": (f.animated_gif, "image/gif"),
        }
        if path in specials:
            return self.send(200, *specials[path])
        return self.send(404, b"no such fault", "text/plain")

    # --- Google ------------------------------------------------------------------------

    def google(self, q: str, *, modern: bool, prefix: str) -> None:
        fake = self.fake
        if "blocked" in q:
            return self.redirect(f"/sorry/index?continue={quote(self.path)}")
        for word, page in GOOGLE_STATES.items():
            if word in q:
                return self.page(page.replace("{q}", html.escape(q)))
        consented = "CONSENT=YES" in (self.headers.get("Cookie") or "")
        if modern and not consented:
            return self.redirect(f"{prefix}/consent?continue={quote(self.path)}")
        fake.searches.append(("google", q))  # a search past the consent page
        served = sum(1 for engine, _ in fake.searches if engine == "google")
        if fake.google_block_after is not None and served > fake.google_block_after:
            return self.redirect(f"/sorry/index?continue={quote(self.path)}")
        tiles = []
        for i, e in enumerate(fake.entries(q)):
            t = {
                "i": i,
                "docid": f"fsdoc-{e.key}",
                "title": e.title,
                "thumb": fake.thumbnail_url(self.base, e, i),
                "original": None if e.no_original else self.base + e.original,
                "page": f"{self.base}/page/{e.key}",
                "w": e.width,
                "h": e.height,
                "imgres": e.imgres,
            }
            described = fake.page_data == "all" or (fake.page_data == "some" and i % 3 != 2)
            t["data"] = page_data_array(self.base, e, i) if described and t["original"] else None
            tiles.append(t)
        config = {
            "tiles": tiles,
            "batch": fake.batch,
            "scrollDelay": fake.scroll_delay_ms,
            "previewDelay": fake.preview_delay_ms,
            "blockMid": "blockmid" in q,
            "consented": consented,
            "ad": {"thumb": f"{self.base}/images?q=tbn:ad-0", "original": f"{self.base}/ad/1.jpg"},
            "ads": [
                {"thumb": f"{self.base}/images?q=tbn:ad-{k}", "original": f"{self.base}/ad/{k}.jpg"}
                for k in range(2, 7)
            ],
            "related": [f"{self.base}/images?q=tbn:rel-{k}" for k in range(4)],
        }
        template = MODERN_PAGE if modern else LEGACY_PAGE
        self.page(template.replace("/*CONFIG*/null", json.dumps(config)))

    def consent_page(self, target: str, prefix: str) -> None:
        self.page(
            CONSENT_PAGE.replace("{prefix}", prefix).replace("{continue}", html.escape(target))
        )

    # --- DuckDuckGo --------------------------------------------------------------------

    def ddg(self, q: str) -> None:
        self.fake.searches.append(("duckduckgo", q))
        if "blocked" in q:
            return self.page(DDG_ANOMALY)
        if "passable" in q and not self.human():
            return self.page(DDG_ANOMALY + PASS_AFTER_A_SECOND)
        body = DDG_PAGE.replace("{q}", html.escape(q)).replace("{vqd}", ddg_token(q))
        self.page(body, {"Set-Cookie": f"ddg_session={ddg_token(q)}; Path=/"})

    def ddg_json(self, q: str, qs: dict) -> None:
        # The endpoint answers only inside the page's session: its token and its cookie.
        token = ddg_token(q)
        cookie = self.headers.get("Cookie") or ""
        if qs.get("vqd", [""])[0] != token or f"ddg_session={token}" not in cookie:
            return self.send(403, b"forbidden", "text/plain")
        entries = self.fake.entries(q)
        offset = int(qs.get("s", ["0"])[0])
        if offset >= len(entries):  # past the end, the last page again
            offset = max(0, len(entries) - 100)
        results = [
            {
                "image": self.base + e.original,
                "thumbnail": f"{self.base}/images?q=tbn:{e.key}-{i}",
                "url": f"{self.base}/page/{e.key}",
                "title": e.title,
                "width": e.width,
                "height": e.height,
                "source": "Bing",
            }
            for i, e in list(enumerate(entries))[offset : offset + 100]
        ]
        data = {"query": q, "results": results, "next": f"i.js?q={quote_plus(q)}&s={offset + 100}"}
        self.send(200, json.dumps(data).encode(), "application/json")

    # --- Bing --------------------------------------------------------------------------

    def bing_tiles(self, q: str, start: int, count: int) -> str:
        entries = self.fake.entries(q)
        out = []
        for i, e in list(enumerate(entries))[start : start + count]:
            m = {
                "sid": "",
                "cid": e.key,
                "purl": f"{self.base}/page/{e.key}",
                "murl": self.base + e.original,
                "turl": f"{self.base}/images?q=tbn:{e.key}-{i}",
                "md5": e.key,
                "t": e.title,
                "desc": "a photo",
            }
            out.append(
                f'<li data-idx="{i + 1}"><div class="iuscp isv"><div class="imgpt">'
                f'<a class="iusc" m="{html.escape(json.dumps(m))}" '
                f'href="/images/search?view=detailV2&amp;id={e.key}">'
                f'<img class="mimg" src="{html.escape(m["turl"])}" alt="{html.escape(e.title)}">'
                "</a></div></div></li>"
            )
        return '<ul class="dgControl_list">' + "".join(out) + "</ul>"

    def human(self) -> bool:
        """Whether this browser passed a challenge (PASS_AFTER_A_SECOND set its cookie)."""
        return "human=1" in (self.headers.get("Cookie") or "")

    def bing(self, q: str) -> None:
        if "blocked" in q:
            return self.page(BING_CAPTCHA)
        if "passable" in q and not self.human():
            return self.page(BING_CAPTCHA + PASS_AFTER_A_SECOND)
        first = self.bing_tiles(q, 0, 35)
        body = (
            f'<html><body><div id="mmComponent_images_2" class="dgControl" '
            f'data-nextUrl="/images/async?q={quote_plus(q)}&amp;first=36&amp;count=35">'
            f'{first}</div><div class="mm_seemore"><a class="btn_seemore" href="#">'
            f"See more images</a></div><script>{BING_JS}</script></body></html>"
        )
        self.page(body)

    def bing_async(self, q: str, first: int, count: int) -> None:
        n = len(self.fake.entries(q))
        start = first - 1
        if start >= n:  # Bing repeats its last page
            start = max(0, n - count)
        self.page(self.bing_tiles(q, start, count))


def _as_google_writes(value: object) -> str:
    """JSON as Google's scripts carry it: no spaces, '=' and '&' as \\u escapes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("=", "\\u003d").replace("&", "\\u0026")


def page_data_array(base: str, e: Entry, i: int) -> str:
    """One result's array, shaped like those in Google's results-page scripts."""
    info = [None, f"fsref-{e.key}", f"{base}/page/{e.key}", e.title, *[None] * 6, "127.0.0.1"]
    return _as_google_writes(
        [
            1,
            f"fsdoc-{e.key}",
            [f"{base}/images?q=tbn:{e.key}-{i}", 150, 200],
            [base + e.original, e.height, e.width],
            None,
            0,
            "rgb(40,30,20)",
            None,
            False,
            {"2003": info},
        ]
    )


_FILLER = "<p>" + "Images for your search. " * 20 + "</p>"
# Pages Google serves instead of results (the query's word picks one).
GOOGLE_STATES = {
    "captchaform": "<html><body><h1>One more step</h1>" + _FILLER + "<form id='captcha-form' "
    "action='/verify' method='post'><input name='answer'></form></body></html>",
    # A captcha a person passes after a second (the page then goes back to the search).
    "passable": "<html><body><h1>One more step</h1><form id='captcha-form' action='/verify'>"
    "<input name='answer'></form><script>setTimeout(() => { location.href = "
    "location.href.replace('passable', 'passed'); }, 1000);</script></body></html>",
    "unusualtraffic": "<html><body><h1>About this page</h1><p>Our systems have detected "
    "unusual traffic from your computer network.</p>" + _FILLER + "</body></html>",
    "shortsorry": "<html><head><title>302 Moved</title></head><body>The document has moved "
    "<a href='https://www.google.com/sorry/index?continue=x'>here</a>.</body></html>",
    "jsshell": "<!doctype html><html><head><noscript><meta content='0;url=/httpservice/retry/"
    "enablejs?sei=fs1' http-equiv='refresh'></noscript></head><body><script>"
    "/* the shell would load its app here; a suspected bot never sees results */</script>"
    "</body></html>",
    "noresults": "<html><body><div id='search'>" + _FILLER + "<p>Your search - <b>{q}</b> - "
    "did not match any image results.</p><p>Suggestions: try different keywords.</p>"
    "</div></body></html>",
}


def ddg_token(q: str) -> str:
    """The vqd token DuckDuckGo's page carries for a query."""
    return f"4-{zlib.crc32(q.encode()):d}"


DDG_PAGE = """<!doctype html><html><head><title>{q} at DuckDuckGo</title></head><body>
<div id="zci-images"><div class="tile-wrap"></div></div>
<script>DDG.deep.initialize('/d.js?q={q}&t=D&l=us-en&s=0&dl=en&ct=US&ss_mkt=us&vqd={vqd}&p=1');
</script><script>var nrj = function () {}; vqd="{vqd}";</script></body></html>"""

DDG_ANOMALY = """<html><body><div class="anomaly-modal__modal"><p>Unfortunately, bots use
DuckDuckGo too. Please complete the following challenge.</p></div></body></html>"""

# Bing's own page loads more tiles from data-nextUrl on scroll and on "See more images".
BING_JS = r"""
const grid = document.getElementById("mmComponent_images_2");
let next = grid.getAttribute("data-nextUrl"), loading = false;
function more() {
  if (loading || !next) return;
  if (window.innerHeight + window.scrollY < document.body.scrollHeight - 400) return;
  loading = true;
  fetch(next).then((r) => r.text()).then((html) => {
    grid.insertAdjacentHTML("beforeend", html);
    const u = new URL(next, location.href);
    u.searchParams.set("first", String(parseInt(u.searchParams.get("first")) + 35));
    next = u.pathname + u.search;
    loading = false;
  });
}
window.addEventListener("scroll", more);
document.querySelector("a.btn_seemore").addEventListener("click", (ev) => {
  ev.preventDefault(); more();
});
"""

SORRY_PAGE = """<html><head><title>Sorry...</title></head><body>
<div>Our systems have detected unusual traffic from your computer network.</div>
<form id="captcha-form" action="index" method="post"><div id="recaptcha" class="g-recaptcha">
</div></form></body></html>"""

# A challenge a person passes after a second: a cookie says so, and the same page
# (the same query, so DuckDuckGo's token still fits) loads again.
PASS_AFTER_A_SECOND = """<script>setTimeout(() => {
document.cookie = "human=1; path=/"; location.reload(); }, 1000);</script>"""

BING_CAPTCHA = """<html><body><div id="b_captcha">Please verify you are a human</div>
</body></html>"""

CONSENT_PAGE = """<html><head><title>Before you continue to Google</title></head><body>
<h1>Before you continue to Google</h1>
<form action="{prefix}/save" method="post">
<input type="hidden" name="continue" value="{continue}">
<button id="W0wltc" name="set" value="reject">Reject all</button>
<button id="L2AGLb" name="set" value="accept">Accept all</button>
</form></body></html>"""

_COMMON_JS = r"""
const C = /*CONFIG*/null;
const PIXEL = "%PIXEL%";
let shown = 0, loading = false, token = 0;
const ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"};
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ESC[c]);
function imgres(t) {
  return "/imgres?imgurl=" + encodeURIComponent(t.original) + "&imgrefurl=" +
    encodeURIComponent(t.page) + "&w=" + t.w + "&h=" + t.h;
}
function nearBottom() {
  return window.innerHeight + window.scrollY >= document.body.scrollHeight - 400;
}
function later(ms, f) { setTimeout(f, ms); }
function openPreview(t, link) {
  const my = ++token;
  PREVIEW.style.display = "block";
  PIMG.src = t.thumb;
  PTITLE.title = t.title; PTITLE.href = t.page; PTITLE.textContent = t.title;
  if (t.imgres && t.original) link.href = imgres(t);
  if (t.original) later(C.previewDelay, () => { if (my === token) PIMG.src = t.original; });
}
function hoverable(t, link) {  // hovering a tile fills its link with /imgres, as Google's does
  for (const type of ["mouseover", "pointerover"]) link.addEventListener(type, () => {
    if (t.imgres && t.original) link.href = imgres(t);
  });
}
function wireTile(d, t, link) {  // a result tile: click opens its preview, thumbnail loads late
  link.addEventListener("click", (ev) => { ev.preventDefault(); openPreview(t, link); });
  hoverable(t, link);
  later(30 + (t.i % 5) * 10, () => { d.querySelector("img").src = t.thumb; });
  return d;
}
function addTiles() {  // the next batch: its data, its tiles, the ads once, related searches
  const end = Math.min(C.tiles.length, shown + C.batch);
  addPageData(C.tiles.slice(shown, end));
  const first = shown === 0;
  for (; shown < end; shown++) GRID.appendChild(tile(C.tiles[shown]));
  if (first) for (const a of adTiles(tile)) GRID.insertBefore(a, GRID.children[2] || null);
  if (end === Math.min(C.tiles.length, C.batch)) GRID.appendChild(related());
}
function loadMore() {  // the page's addBatch after the scroll delay (or the sorry page mid-scroll)
  loading = true;
  later(C.scrollDelay, () => {
    if (C.blockMid) { location.href = "/sorry/index?continue=x"; return; }
    addBatch(); loading = false; more();
  });
}
function addPageData(batch) {  // the batch's result arrays, in a script of their own
  const arrays = batch.filter((t) => t.data).map((t) => t.data);
  if (!arrays.length) return;
  const s = document.createElement("script");
  s.textContent = "AF_initDataCallback({key: 'ds:1', data:[null,[" + arrays.join(",") + "]]});";
  document.body.appendChild(s);
}
window.AF_initDataCallback = function () {};
// Ads among the results: each opens a preview to an /ad/ image, as a result would.
// kind: pla (inside .pla-unit, no result id), textad, label, aclk; furniture has no id
// and its preview never opens.
function adTiles(makeTile) {
  const out = [];
  const kinds = ["pla", "textad", "label", "aclk", "furniture"];
  kinds.forEach((kind, k) => {
    const ad = C.ads[k];
    const t = {i: "ad" + k, docid: kind === "pla" || kind === "furniture" ? null : "fsad-" + k,
               title: "ad " + kind, thumb: ad.thumb, page: "/ad", w: 1, h: 1, imgres: false,
               original: kind === "furniture" ? null : ad.original};
    const d = makeTile(t);
    if (kind === "textad") d.setAttribute("data-text-ad", "1");
    if (kind === "label") d.insertAdjacentHTML("afterbegin", "<span>Sponsored</span>");
    if (kind === "aclk") d.querySelector("a").setAttribute("href", "/aclk?sa=l&adurl=x");
    if (kind === "pla") {
      const unit = document.createElement("div");
      unit.className = "pla-unit"; unit.appendChild(d); out.push(unit);
    } else out.push(d);
  });
  return out;
}
function wireAd(img) {  // the sponsored tile: it opens a preview like a result does
  img.src = C.ad.thumb;
  document.getElementById("adlink").addEventListener("click", (ev) => {
    ev.preventDefault();
    openPreview({thumb: C.ad.thumb, original: C.ad.original, page: "/ad", title: "ad", w: 1,
                 h: 1, imgres: true}, ev.currentTarget);
  });
}
"""

MODERN_PAGE = (
    """<!doctype html><html><head><title>Google Images</title><style>
#grid { display: flex; flex-wrap: wrap; } div[jsname=dTDiAc] { width: 220px; height: 230px; }
img { width: 200px; height: 200px; } #preview { position: fixed; right: 0; top: 0; width: 300px; }
</style></head><body><div id="search"><div id="rso">
<div class="commercial-unit-desktop-top" aria-label="Ads"><span>Sponsored</span>
 <div jsname="dTDiAc"><a jsname="sTFXNd" href="#" id="adlink">
 <g-img><img id="dimg_ad" src=""></g-img></a></div>
</div>
<div id="grid"></div>
</div></div>
<div jsname="figiqf" id="preview" style="display:none"><a id="ptitle" jsname="yfW5Gf" href="#"></a>
<img jsname="kn3ccd" class="sFlh5c FyHeAf iPVvYb" id="pimg" src=""></div>
<script>"""
    + _COMMON_JS
    + r"""
const GRID = document.getElementById("grid"), PREVIEW = document.getElementById("preview");
const PIMG = document.getElementById("pimg"), PTITLE = document.getElementById("ptitle");
wireAd(document.getElementById("dimg_ad"));
function tile(t) {
  const d = document.createElement("div");
  d.setAttribute("jsname", "dTDiAc"); d.className = "eA0Zlc";
  if (t.docid) d.setAttribute("data-docid", t.docid);
  d.innerHTML = '<a jsname="sTFXNd" href="#" role="button"><g-img><img id="dimg_' + t.i +
    '" alt="' + esc(t.title) + '" src="' + PIXEL + '"></g-img></a>';
  return wireTile(d, t, d.querySelector("a"));
}
function related() {
  const r = document.createElement("div");
  r.setAttribute("data-rs", "1"); r.className = "related";
  r.innerHTML = "<h3>Related searches</h3>" + C.related.map((u, k) =>
    '<div jsname="dTDiAc"><a href="/search?q=related+' + k + '&udm=2"><g-img><img id="dimg_r' +
    k + '" src="' + u + '"></g-img></a></div>').join("");
  return r;
}
function addBatch() { addTiles(); }
function more() {
  if (loading || shown >= C.tiles.length || !nearBottom()) return;
  loadMore();
}
window.addEventListener("scroll", more);
addBatch();
</script></body></html>"""
).replace("%PIXEL%", PIXEL)

LEGACY_PAGE = (
    """<!doctype html><html><head><title>Google Images</title><style>
#islrg { display: flex; flex-wrap: wrap; } div.isv-r { width: 220px; height: 230px; }
img.rg_i { width: 200px; height: 200px; }
#islsp { position: fixed; right: 0; top: 0; width: 300px; }
#dialog { position: fixed; inset: 0; background: #fff; z-index: 10; }
</style></head><body>
<div id="dialog" aria-modal="true" role="dialog" style="display:none"><h1>Before you continue</h1>
<button id="W0wltc">Reject all</button><button id="L2AGLb">Accept all</button></div>
<div class="commercial-unit-desktop-top"><div class="isv-r" data-ri="900">
<a class="wXeWr islib" href="#" id="adlink"><img class="rg_i" id="adimg" src=""></a></div></div>
<div id="islrg"></div>
<input type="button" class="mye4qd" value="Show more results" style="display:none">
<div class="OuJzKb Yu2Dnd" style="display:none">Looks like you've reached the end</div>
<div id="islsp" style="display:none"><a class="eHAdSb" id="ptitle" href="#"></a>
<img class="n3VNCb" id="pimg" src=""></div>
<script>"""
    + _COMMON_JS
    + r"""
const GRID = document.getElementById("islrg"), PREVIEW = document.getElementById("islsp");
const PIMG = document.getElementById("pimg"), PTITLE = document.getElementById("ptitle");
const MORE = document.querySelector("input.mye4qd"), END = document.querySelector("div.OuJzKb");
const DIALOG = document.getElementById("dialog");
wireAd(document.getElementById("adimg"));
function tile(t) {
  const d = document.createElement("div");
  d.className = "isv-r PNCib MSM1fd BUooTd"; d.setAttribute("data-ri", String(t.i));
  if (t.docid) d.setAttribute("data-id", t.docid);
  d.innerHTML = '<a class="wXeWr islib" jsname="sTFXNd" href="#"><div class="bRMDJf islir">' +
    '<img class="rg_i Q4LuWd" alt="' + esc(t.title) + '" src="' + PIXEL + '"></div></a>' +
    '<a class="VFACy" href="' + esc(t.page) + '">' + esc(t.title) + "</a>";
  return wireTile(d, t, d.querySelector("a.wXeWr"));
}
function related() {
  const r = document.createElement("div");
  r.className = "isv-r PNCib"; // a related-searches card: no data-ri
  r.innerHTML = "<span>Related searches</span>" + C.related.map((u, k) =>
    '<a href="/legacy/search?q=related+' + k + '"><img class="rg_i" src="' + u + '"></a>').join("");
  return r;
}
function addBatch() {
  addTiles();
  if (shown >= C.tiles.length) END.style.display = "block";
  else if (shown % (2 * C.batch) === 0) MORE.style.display = "block";
}
function more() {
  if (loading || shown >= C.tiles.length || MORE.style.display === "block" || !nearBottom()) return;
  loadMore();
}
MORE.addEventListener("click", () => {
  MORE.style.display = "none"; loading = true;
  later(C.scrollDelay, () => { addBatch(); loading = false; more(); });
});
window.addEventListener("scroll", more);
function start() { DIALOG.style.display = "none"; addBatch(); }
if (C.consented || document.cookie.includes("CONSENT=YES")) start();
else {
  DIALOG.style.display = "block";
  for (const b of DIALOG.querySelectorAll("button")) b.addEventListener("click", () => {
    document.cookie = "CONSENT=YES+; path=/; max-age=31536000";
    fetch("/legacy/consent-choice?set=" + (b.id === "W0wltc" ? "reject" : "accept"));
    start();
  });
}
</script></body></html>"""
).replace("%PIXEL%", PIXEL)
