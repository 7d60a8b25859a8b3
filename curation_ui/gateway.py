"""The login gateway: an ASGI reverse proxy (Starlette on uvicorn) in front of the
review app's Streamlit, which listens on 127.0.0.1 only.

Nothing from a client without a live session reaches Streamlit: not a page, not
the websocket, not an upload. The gateway serves its own login page (a form with
a CSRF token), checks passwords against the accounts file after the throttle
(``gate_auth.Gate``), and sets a signed, HttpOnly, SameSite=Strict session cookie
(Secure over HTTPS). Every request and every websocket message checks the
session again, so logging out, a password change or removing a user ends each of
that user's sessions at their next request (open websockets are also swept every
:data:`SWEEP_SECONDS`).

Streamlit learns who is logged in from headers the gateway sets after dropping
any a client sent: ``X-Facesift-User`` and ``X-Facesift-Gate``, a secret made
per launch and given to Streamlit in its environment (``curation_ui.login``
trusts the user header only with it). A Streamlit session id is bound to the
gateway session whose websocket created it: a reconnect (third
``Sec-WebSocket-Protocol`` entry) or an upload URL with another session's id gets
nothing of it. Uploads are checked before Streamlit sees a byte: their size
(``--max-upload-mb`` for admins, who alone may import; ``--max-photo-mb`` for
everybody else) and their file name (``curation_ui.uploads``). A ``clear_cache``
message from a browser is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http import HTTPMethod
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from curation_ui import gate_upstream, uploads, wire
from curation_ui.accounts import MAX_PASSWORD, authenticate
from curation_ui.gate_auth import Gate, GateUser
from curation_ui.gate_page import LOGIN_PATH, LOGOUT_PATH, login_page

COOKIE = "facesift_session"
CSRF_COOKIE = "facesift_csrf"
HEADER_USER = "x-facesift-user"
HEADER_SECRET = "x-facesift-gate"
HEADER_SESSION = "x-facesift-session"
SWEEP_SECONDS = 2.0
SMALL_BODY = 1024 * 1024  # any request but an upload
MULTIPART_SLACK = 64 * 1024  # a multipart body's framing around the file
LOGIN_BODY = 16 * 1024
_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"host",
}
# Proxied as they come (CONNECT and TRACE have no business with the app).
HTTP_METHODS = [m.value for m in HTTPMethod if m not in (HTTPMethod.CONNECT, HTTPMethod.TRACE)]
_OWN_HEADERS = {b"date", b"server"}  # uvicorn sets its own
_UPLOAD = re.compile(r"^/_stcore/upload_file/([^/]+)/[^/]+$")
_FILENAME = re.compile(rb'filename="([^"]*)"')


class UploadRefused(Exception):
    """An upload the gateway will not pass on: (HTTP status, one line)."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(line)
        self.status, self.line = status, line


@dataclass(frozen=True)
class GateConfig:
    """What the gateway needs to know about the app behind it."""

    upstream_port: int
    app_secret: str  # also in Streamlit's environment: proves a header came from here
    upload_bytes: int  # largest upload for an admin (the Import page)
    photo_bytes: int  # largest upload for everybody else (Try it)
    cookie_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))


def sign(token: str, key: bytes) -> str:
    """The cookie value of a session token: the token and its HMAC."""
    mac = hmac.new(key, token.encode("ascii"), hashlib.sha256).digest()
    return f"{token}.{base64.urlsafe_b64encode(mac).decode('ascii').rstrip('=')}"


def unsign(value: str | None, key: bytes) -> str | None:
    """The token of a cookie value whose HMAC is right; None otherwise."""
    if not value or "." not in value or len(value) > 200:
        return None
    token = value.rsplit(".", 1)[0]
    try:
        return token if hmac.compare_digest(sign(token, key), value) else None
    except (TypeError, UnicodeEncodeError):
        return None


def _safe_next(url: str | None) -> str:
    """A local path to go back to after the login (never another site)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    if any(c.isspace() or ord(c) < 32 for c in url):  # browsers drop tabs: "/\t/x" is "//x"
        return "/"
    return url


@dataclass
class _Socket:
    token: str
    close: Callable[[], object]


class Gateway:
    """The ASGI app (:attr:`app`) and its live state: open websockets, bound sessions."""

    def __init__(self, gate: Gate, cfg: GateConfig) -> None:
        self.gate, self.cfg = gate, cfg
        self.sockets: dict[str, list[_Socket]] = {}
        self.bindings: dict[str, set[str]] = {}  # gateway session -> Streamlit session ids
        self._login_lock = asyncio.Lock()
        self._closers: set[asyncio.Task] = set()
        self.app = Starlette(
            routes=[
                Route(LOGIN_PATH, self.login, methods=["GET", "POST"]),
                Route(LOGOUT_PATH, self.logout, methods=["GET", "POST"]),
                Route("/_stcore/health", self.health, methods=["GET", "HEAD"]),
                WebSocketRoute("/_stcore/stream", self.stream),
                Route(
                    "/{path:path}",
                    self.proxy,
                    methods=HTTP_METHODS,
                ),
            ],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app):
        sweeper = asyncio.create_task(self._sweep())
        try:
            yield
        finally:
            sweeper.cancel()

    # --- sessions ---------------------------------------------------------------------

    def user_of(self, conn: HTTPConnection) -> tuple[GateUser, str] | tuple[None, None]:
        """The live session of a request's cookie: (user, token), or (None, None)."""
        token = unsign(conn.cookies.get(COOKIE), self.cfg.cookie_key)
        user = self.gate.check(token)
        if user is None or token is None:
            if token:
                self._forget(hashlib.sha256(token.encode()).hexdigest())
            return None, None
        return user, token

    def _forget(self, session: str) -> None:
        """Close every websocket of an ended session and drop its Streamlit sessions."""
        self.bindings.pop(session, None)
        for sock in self.sockets.pop(session, []):
            sock.close()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            for session, socks in list(self.sockets.items()):
                if socks and self.gate.check(socks[0].token) is None:
                    self._forget(session)

    @staticmethod
    def _cookie_flags(conn: HTTPConnection) -> dict:
        return {
            "httponly": True,
            "samesite": "strict",
            "secure": conn.url.scheme in ("https", "wss"),
            "path": "/",
        }

    # --- the gateway's own pages ---------------------------------------------------------

    async def login(self, request: Request) -> Response:
        """GET: the login form. POST: check it (throttled), then open a session."""
        next_url = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            user, _ = self.user_of(request)
            if user is not None:
                return RedirectResponse(next_url, status_code=303)
            info = "You are logged out." if request.query_params.get("bye") else ""
            return self._form(request, next_url, info=info)
        if int(request.headers.get("content-length") or 0) > LOGIN_BODY:
            return PlainTextResponse("login form too large\n", status_code=413)
        form = await request.form(max_files=0, max_fields=8)
        next_url = _safe_next(str(form.get("next") or "/"))
        name = str(form.get("name") or "").strip()[:64]
        password = str(form.get("password") or "")[:MAX_PASSWORD]
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        if not csrf or not hmac.compare_digest(csrf, str(form.get("csrf") or "")):
            return self._form(
                request, next_url, name=name, status=403, error="The login form expired: try again."
            )
        address = request.client.host if request.client else "unknown"
        async with self._login_lock:  # the throttle counts every try, parallel ones too
            verdict = self.gate.may_try(name, address)
            if not verdict.allowed:
                return self._form(request, next_url, name=name, status=429, error=verdict.line())
            acc = await asyncio.to_thread(authenticate, self.gate.accounts(), name, password)
            token = self.gate.finish_login(name, address, acc)
        if token is None:
            return self._form(
                request, next_url, name=name, status=401, error="Wrong user name or password."
            )
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            COOKIE,
            sign(token, self.cfg.cookie_key),
            max_age=int(self.gate.session_seconds),
            **self._cookie_flags(request),
        )
        response.delete_cookie(CSRF_COOKIE, path=LOGIN_PATH)
        return response

    def _form(
        self,
        request: Request,
        next_url: str,
        *,
        name: str = "",
        error: str = "",
        info: str = "",
        status: int = 200,
    ) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{32,64}", csrf):
            csrf = secrets.token_urlsafe(32)
        page = login_page(LOGIN_PATH, csrf, next_url, name=name, error=error, info=info)
        response = HTMLResponse(page, status_code=status)
        response.headers["cache-control"] = "no-store"
        response.headers["x-frame-options"] = "DENY"
        flags = {**self._cookie_flags(request), "path": LOGIN_PATH}
        response.set_cookie(CSRF_COOKIE, csrf, **flags)
        return response

    async def logout(self, request: Request) -> Response:
        """End this session (and close its websockets); back to the login page."""
        user, _ = self.user_of(request)
        if user is not None:
            self.gate.log_out(user)
            self._forget(user.session)
        response = RedirectResponse(f"{LOGIN_PATH}?bye=1", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def health(self, request: Request) -> Response:
        """Proxied for a session (Streamlit sets its XSRF cookie there); otherwise the
        gateway's own answer: 200 once the app behind it answers, else 503."""
        user, _ = self.user_of(request)
        if user is not None:
            return await self.proxy(request)
        try:
            r = await gate_upstream.request(
                self.cfg.upstream_port,
                "GET",
                "/_stcore/health",
                [(b"host", f"127.0.0.1:{self.cfg.upstream_port}".encode())],
            )
            r.close()
            ok = r.status == 200
        except gate_upstream.UpstreamError:
            ok = False
        return PlainTextResponse("ok" if ok else "starting", status_code=200 if ok else 503)

    # --- HTTP ----------------------------------------------------------------------------

    def _refuse(self, request: Request) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{LOGIN_PATH}?next={quote(target)}", status_code=303)
        return PlainTextResponse(f"log in first: {LOGIN_PATH}\n", status_code=401)

    def upstream_headers(self, conn: HTTPConnection, user: GateUser) -> list[tuple[bytes, bytes]]:
        """The request's headers for Streamlit: hop-by-hop ones, the gateway's cookies and
        any identity header a client sent are dropped; the gateway's own are added."""
        out = [(b"host", f"127.0.0.1:{self.cfg.upstream_port}".encode())]
        for key, value in conn.headers.raw:
            k = key.lower()
            if k in _HOP or k.startswith((b"x-facesift-", b"x-streamlit-", b"sec-websocket-")):
                continue
            if k == b"cookie":
                value = _strip_cookies(value)
                if not value:
                    continue
            out.append((k, value))
        out.append((HEADER_USER.encode(), user.name.encode("ascii")))
        out.append((HEADER_SECRET.encode(), self.cfg.app_secret.encode("ascii")))
        out.append((HEADER_SESSION.encode(), user.session_tag.encode("ascii")))
        return out

    async def proxy(self, request: Request) -> Response:
        """Pass a request of a live session to Streamlit; uploads are checked first."""
        user, _ = self.user_of(request)
        if user is None:
            return self._refuse(request)
        path = request.url.path
        if path.startswith("/_stcore/agent"):  # off in Streamlit too (launch.py)
            return PlainTextResponse("not served\n", status_code=404)
        target = path + (f"?{request.url.query}" if request.url.query else "")
        body: AsyncIterator[bytes] | None = None
        try:
            m = _UPLOAD.match(path)
            if m and m.group(1) not in self.bindings.get(user.session, ()):
                raise UploadRefused(403, "refused upload: not a session of this login")
            if m and request.method in ("PUT", "POST"):
                body = await self._upload_body(request, user)
            elif request.method not in ("GET", "HEAD", "OPTIONS"):
                body = _capped(request.stream(), SMALL_BODY)
            r = await gate_upstream.request(
                self.cfg.upstream_port,
                request.method,
                target,
                self.upstream_headers(request, user),
                body,
            )
        except UploadRefused as e:
            return PlainTextResponse(e.line + "\n", status_code=e.status)
        except gate_upstream.UpstreamError as e:
            return PlainTextResponse(f"{e}\n", status_code=502)
        response = StreamingResponse(r.body(), status_code=r.status)
        response.raw_headers = [
            (k.lower(), v) for k, v in r.headers if k.lower() not in _HOP | _OWN_HEADERS
        ]
        return response

    async def _upload_body(self, request: Request, user: GateUser) -> AsyncIterator[bytes]:
        """The upload's body, once its size and file name passed (else UploadRefused)."""
        admin = user.role == "admin"
        limit = self.cfg.upload_bytes if admin else self.cfg.photo_bytes
        try:
            length = int(request.headers.get("content-length") or 0)
        except ValueError:
            raise UploadRefused(400, "refused upload: bad Content-Length") from None
        too_big = f"refused upload: larger than {limit // uploads.MB} MB"
        if length > limit + MULTIPART_SLACK:
            raise UploadRefused(413, too_big)
        chunks = _capped(request.stream(), limit + MULTIPART_SLACK, too_big)
        head = b""
        async for chunk in chunks:
            head += chunk
            if b"\r\n\r\n" in head or len(head) > MULTIPART_SLACK:
                break
        m = _FILENAME.search(head.split(b"\r\n\r\n", 1)[0])
        name = m.group(1).decode("utf-8", "replace") if m else ""
        allowed = uploads.IMPORT_EXTS if admin else uploads.PHOTO_EXTS
        refusal = uploads.name_refusal(name, allowed)
        if refusal:
            raise UploadRefused(400, refusal)

        async def rest() -> AsyncIterator[bytes]:
            yield head
            async for chunk in chunks:
                yield chunk

        return rest()

    # --- the websocket -------------------------------------------------------------------

    async def stream(self, ws: WebSocket) -> None:
        """Streamlit's websocket, relayed both ways for a live session of the same origin."""
        user, token = self.user_of(ws)
        origin = ws.headers.get("origin")
        foreign = bool(origin) and urlsplit(origin).netloc != ws.headers.get("host")
        if user is None or token is None or foreign:
            await ws.close(code=1008)  # before accept: the handshake is refused (403)
            return
        from websockets.asyncio.client import connect

        protos = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",")]
        offered = [protos[0] or "streamlit", (protos[1] if len(protos) > 1 else "") or "-"]
        if len(protos) > 2 and protos[2] in self.bindings.get(user.session, ()):
            offered.append(protos[2])  # a reconnect of this login's own session
        port = self.cfg.upstream_port
        extra = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in self.upstream_headers(ws, user)
            if k not in (b"host", b"origin", b"user-agent")
        ]
        try:
            up = await connect(
                f"ws://127.0.0.1:{port}/_stcore/stream",
                subprotocols=offered,
                additional_headers=extra,
                origin=f"http://127.0.0.1:{port}",
                compression=None,
                max_size=None,
                proxy=None,
                close_timeout=2,
                ping_interval=None,
                user_agent_header=None,
            )
        except (OSError, Exception):
            await ws.close(code=1011)
            return
        await ws.accept(subprotocol=up.subprotocol)
        closing: list[bool] = []

        def close() -> None:
            closing.append(True)
            for task in tasks:
                task.cancel()

        sock = _Socket(token, close)
        self.sockets.setdefault(user.session, []).append(sock)
        tasks = [
            asyncio.create_task(self._down(up, ws, user)),
            asyncio.create_task(self._up(ws, up, token)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(ValueError):
                self.sockets.get(user.session, []).remove(sock)
            # Closed in the background: the browser's close must not wait on Streamlit's.
            closer = asyncio.create_task(up.close())
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)
            with contextlib.suppress(Exception):
                await ws.close(code=4001 if closing else 1000)

    async def _down(self, up, ws: WebSocket, user: GateUser) -> None:
        learned = False
        async for msg in up:
            if not learned and isinstance(msg, bytes):
                sid = wire.new_session_id(msg)
                if sid:
                    self.bindings.setdefault(user.session, set()).add(sid)
                    learned = True
            if isinstance(msg, bytes):
                await ws.send_bytes(msg)
            else:
                await ws.send_text(msg)

    async def _up(self, ws: WebSocket, up, token: str) -> None:
        while True:
            try:
                msg = await ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if msg["type"] == "websocket.disconnect":
                return
            if self.gate.check(token) is None:  # logged out, removed, password changed
                return
            data = msg.get("bytes")
            if data is None:
                data = msg.get("text")
            if isinstance(data, bytes) and wire.asks_clear_cache(data):
                continue  # nobody may empty the app's caches from a browser
            if data is not None:
                await up.send(data)


async def _capped(
    chunks: AsyncIterator[bytes], limit: int, line: str = "request body too large"
) -> AsyncIterator[bytes]:
    """``chunks`` passed on until more than ``limit`` bytes came: then UploadRefused (413)."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise UploadRefused(413, line)
        yield chunk


def _strip_cookies(value: bytes) -> bytes:
    """A Cookie header without the gateway's own cookies (the app never sees a token)."""
    keep = [
        part
        for part in value.split(b";")
        if part.strip().split(b"=", 1)[0] not in (COOKIE.encode(), CSRF_COOKIE.encode())
    ]
    return b";".join(keep).strip()
