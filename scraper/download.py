"""Fetching one image URL robustly, and a pool that fetches many.

A worker fetches, validates (through :func:`core.decode.decode_image`, the one
decoder) and stores the bytes by content; it never touches the catalog. The
outcome goes back to the caller, who records it.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from catalog.images import StoredImage
from core.decode import DecodeLimits, ImageRejected, data_uri_bytes, decode_image
from core.space import DiskFull, disk_full, is_no_space
from core.storage import store_content
from scraper.config import USER_AGENT_TOKEN, DownloadOptions
from scraper.netguard import Refused, check_url, is_public_address
from scraper.robots import opted_out

log = logging.getLogger("facesift.scraper")
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    """What became of one URL: ``status`` ok, failed or skipped, with a reason code."""

    url: str
    status: str
    reason: str | None = None
    http_status: int | None = None
    attempts: int = 0
    final_url: str | None = None
    content_type: str | None = None
    image: StoredImage | None = None


class _Fail(Exception):
    def __init__(self, reason: str, *, retriable: bool = False, http_status=None, wait=None):
        super().__init__(reason)
        self.reason = reason
        self.retriable = retriable
        self.http_status = http_status
        self.wait = wait


class Fetcher:
    """Fetches and stores images; safe to call from many threads at once."""

    def __init__(
        self, dataset_dir: Path, opts: DownloadOptions, stop: threading.Event | None = None
    ):
        self.dir = dataset_dir
        self.opts = opts
        self.limits = DecodeLimits(max_pixels=opts.max_pixels, min_side=opts.min_side)
        self.stop = stop or threading.Event()
        self._local = threading.local()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()

    # --- sessions and per-host limits --------------------------------------------

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.trust_env = False  # no proxies or netrc from the environment for image hosts
            adapter = HTTPAdapter(pool_connections=16, pool_maxsize=max(2, self.opts.per_host))
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            s.headers.update({"User-Agent": self.opts.user_agent, "Accept": "image/*,*/*;q=0.5"})
            self._local.session = s
        return s

    def _host_slot(self, url: str) -> threading.BoundedSemaphore:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:  # a malformed URL: check_url refuses it inside the slot
            host = ""
        with self._hosts_lock:
            sem = self._hosts.get(host)
            if sem is None:
                sem = self._hosts[host] = threading.BoundedSemaphore(self.opts.per_host)
            return sem

    # --- one URL ------------------------------------------------------------------

    def fetch(self, url: str) -> Outcome:
        """Fetch, validate and store one URL; never raises for a bad URL or image."""
        if url.startswith("data:"):
            return self._finish(url, data_uri_bytes(url), attempts=0, final_url=None, ctype=None)
        attempts = 0
        last: _Fail | None = None
        while attempts <= self.opts.retries and not self.stop.is_set():
            attempts += 1
            try:
                data, final_url, ctype, status = self._get(url)
            except Refused as e:
                return Outcome(url, "failed", e.reason, attempts=attempts)
            except _Fail as e:
                last = e
                if e.reason == "opted_out":
                    return Outcome(url, "skipped", "opted_out", e.http_status, attempts)
                if not e.retriable or attempts > self.opts.retries:
                    break
                self.stop.wait(e.wait if e.wait is not None else self._backoff(attempts))
                continue
            return self._finish(
                url, data, attempts=attempts, final_url=final_url, ctype=ctype, http_status=status
            )
        if last is None:
            return Outcome(url, "failed", "interrupted", attempts=attempts)
        return Outcome(url, "failed", last.reason, last.http_status, attempts)

    def _backoff(self, attempt: int) -> float:
        base = self.opts.backoff * (2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)  # jitter, so retries of many URLs spread out

    def _finish(self, url, data, *, attempts, final_url, ctype, http_status=None) -> Outcome:
        if data is None:
            return Outcome(url, "failed", "bad_url", attempts=attempts)
        try:
            decoded = decode_image(data, self.limits)
        except ImageRejected as e:
            return Outcome(url, "failed", e.reason, http_status, attempts, final_url, ctype)
        sha, rel = store_content(self.dir, "images", data, decoded.ext)
        image = StoredImage(sha, rel, decoded.width, decoded.height, decoded.format, len(data))
        return Outcome(url, "ok", None, http_status, attempts, final_url, ctype, image)

    def _get(self, url: str) -> tuple[bytes, str, str | None, int]:
        """One attempt: follow redirects ourselves (each hop re-checked), stream with a cap."""
        current = url
        with self._host_slot(url):
            for _hop in range(self.opts.max_redirects + 1):
                check_url(current, allow_private=self.opts.allow_private_hosts)
                resp = self._request(current)
                with resp:
                    if resp.status_code in _REDIRECTS and resp.headers.get("Location"):
                        current = urljoin(current, resp.headers["Location"])
                        continue
                    return self._body(resp, current)
        raise _Fail("too_many_redirects")

    def _request(self, url: str) -> requests.Response:
        o = self.opts
        try:
            return self._session().get(
                url,
                stream=True,
                allow_redirects=False,
                timeout=(o.connect_limit, o.read_timeout),
            )
        except requests.exceptions.Timeout:
            raise _Fail("timeout", retriable=True) from None
        except requests.exceptions.InvalidURL:
            raise _Fail("bad_url") from None
        except ValueError:
            # requests parses a 3xx's Location even with allow_redirects=False, and
            # urlsplit raises ValueError on "http://[::1": a bad redirect, not a crash.
            raise _Fail("bad_url") from None
        except requests.exceptions.SSLError:
            raise _Fail("tls_error") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            raise _Fail("connection_error", retriable=True) from None
        except requests.exceptions.RequestException as e:
            raise _Fail(f"request_error: {type(e).__name__}") from None

    def _body(self, resp: requests.Response, url: str) -> tuple[bytes, str, str | None, int]:
        o = self.opts
        status = resp.status_code
        if not o.allow_private_hosts:
            # DNS can answer differently the second time (rebinding): check where we connected.
            peer = _peer_address(resp)
            if peer is not None and not is_public_address(peer):
                raise Refused("private_address", f"connected to {peer}")
        if status == 429:
            raise _Fail(
                "http_429",
                retriable=True,
                http_status=429,
                wait=_retry_after(resp.headers.get("Retry-After"), o.max_retry_after),
            )
        if status >= 500:
            raise _Fail(f"http_{status}", retriable=True, http_status=status)
        if status != 200:
            raise _Fail(f"http_{status}", http_status=status)
        if opted_out(resp.raw.headers.getlist("X-Robots-Tag"), USER_AGENT_TOKEN):
            raise _Fail("opted_out", http_status=status)
        length = resp.headers.get("Content-Length", "")
        # isdigit() alone is true for "³" (headers are latin-1), which int() refuses.
        if length.isascii() and length.isdigit() and int(length) > o.max_bytes:
            raise _Fail("too_large", http_status=status)
        deadline = time.monotonic() + max(o.total_timeout, o.read_timeout)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.iter_content(_CHUNK):
                size += len(chunk)
                if size > o.max_bytes:
                    raise _Fail("too_large", http_status=status)
                if time.monotonic() > deadline:
                    raise _Fail("timeout", retriable=True, http_status=status)
                if self.stop.is_set():
                    raise _Fail("interrupted", http_status=status)
                chunks.append(chunk)
        except requests.exceptions.ConnectionError as e:
            timed_out = "timed out" in str(e).lower() or "timeout" in repr(e).lower()
            reason = "timeout" if timed_out else "connection_error"
            raise _Fail(reason, retriable=True, http_status=status) from None
        except requests.exceptions.ChunkedEncodingError:
            raise _Fail("connection_error", retriable=True, http_status=status) from None
        except requests.exceptions.ContentDecodingError:
            # "Content-Encoding: gzip" over bytes that are not gzip: the server's fault.
            raise _Fail("bad_content_encoding", http_status=status) from None
        except requests.exceptions.Timeout:
            raise _Fail("timeout", retriable=True, http_status=status) from None
        return b"".join(chunks), url, resp.headers.get("Content-Type"), status


def _peer_address(resp: requests.Response) -> str | None:
    """The IP address the response came from, when urllib3 exposes its socket."""
    sock = getattr(getattr(resp.raw, "_connection", None), "sock", None)
    try:
        return str(sock.getpeername()[0]) if sock is not None else None
    except OSError:
        return None


def _retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²": isdigit() alone accepts it
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when.timestamp() - time.time()), cap)


class DownloadPool:
    """A thread pool of :class:`Fetcher` calls; each finished outcome goes to ``on_done``.

    ``on_done`` runs in the worker thread, so it must be thread-safe.
    """

    def __init__(self, fetcher: Fetcher, on_done: Callable[[Outcome], None]):
        self.fetcher = fetcher
        self.on_done = on_done
        self._pool = ThreadPoolExecutor(fetcher.opts.concurrency, thread_name_prefix="download")
        self._submitted: set[str] = set()
        self._futures: list[Future] = []
        self._lock = threading.Lock()

    def submit(self, urls: Iterable[str]) -> int:
        """Queue URLs not queued before; return how many were new."""
        n = 0
        with self._lock:
            for url in urls:
                if url in self._submitted:
                    continue
                self._submitted.add(url)
                self._futures.append(self._pool.submit(self._run, url))
                n += 1
        return n

    def _run(self, url: str) -> None:
        try:
            outcome = self.fetcher.fetch(url)
        except Exception as e:
            if isinstance(e, DiskFull) or is_no_space(e):
                # Every other download would fail the same way: stop them, and let wait()
                # raise this one line (the URLs not recorded are fetched by the rerun,
                # whose stored files, content-addressed, are adopted as they are).
                self.fetcher.stop.set()
                if isinstance(e, DiskFull):
                    raise
                raise disk_full(self.fetcher.dir, None, f"downloading {url}") from e
            # A bug must cost one image, not the run.
            log.exception("downloading %s", url)
            outcome = Outcome(url, "failed", f"error: {type(e).__name__}: {e}"[:200])
        if outcome.reason == "interrupted":
            return  # left pending: the next run fetches it
        self.on_done(outcome)

    def wait(self) -> None:
        """Block until every queued URL is done; re-raise a recording error."""
        while True:
            with self._lock:
                futures, self._futures = self._futures, []
            if not futures:
                return
            for f in as_completed(futures):
                f.result()

    def close(self, *, cancel: bool = False) -> None:
        """Shut the pool down; with ``cancel``, drop what has not started and stop the rest."""
        if cancel:
            self.fetcher.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=cancel)
