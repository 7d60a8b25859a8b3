"""The login gateway, tried the way issue 23 found the holes: plain HTTP and a raw
Streamlit websocket client against a real ``facesift review`` (gateway + Streamlit)
started once for the module on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from PIL import Image
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from catalog import Catalog
from catalog.logins import recent_attempts
from curation_ui.accounts import add_user, auth_path, remove_user
from curation_ui.gateway import _safe_next, _strip_cookies, sign, unsign
from curation_ui.serving import free_port, serving
from tests.conftest import cli_argv, encode

live = pytest.mark.slow  # one Streamlit for the module: ~5-10 s to start, then 1-12 s a test

PASSWORDS = {"lee": "lee-admin-pw", "sam": "sam-annot-pw", "kim": "kim-annot-pw"}
PHOTO_MB, UPLOAD_MB = 1, 3


@dataclass
class Served:
    """The running gateway and what the tests need around it."""

    port: int
    root: Path
    auth: Path
    catalog: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        cookie: str = "",
        body: bytes = b"",
        headers: dict | None = None,
    ) -> tuple[int, dict, bytes]:
        """One plain HTTP request: (status, headers (lower-case names), body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        hdrs = {"Cookie": cookie} if cookie else {}
        hdrs.update(headers or {})
        try:
            conn.request(method, path, body=body or None, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            out = {}
            for k, v in r.getheaders():
                out.setdefault(k.lower(), []).append(v)
            return r.status, out, data
        finally:
            conn.close()

    def post_login(self, name: str, password: str, *, with_csrf: bool = True):
        """Send the login form as a browser does (its CSRF token from the form's page)."""
        status, _, page = self.request("GET", "/_gate/login")
        assert status == 200, page
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        form = {"csrf": csrf, "next": "/", "name": name, "password": password}
        return self.request(
            "POST",
            "/_gate/login",
            cookie=f"facesift_csrf={csrf}" if with_csrf else "",
            body=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def login(self, name: str, password: str | None = None) -> str:
        """Log in through the form; the Cookie header of the new session."""
        status, headers, _ = self.post_login(name, password or PASSWORDS[name])
        assert status == 303, status
        cookie = next(c for c in headers["set-cookie"] if c.startswith("facesift_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        return cookie.split(";", 1)[0]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate")
    with Catalog.open(root, "default") as cat:
        auth = auth_path(cat.paths.dir)
        catalog = cat.paths.catalog
    for name, pw in PASSWORDS.items():
        add_user(auth, name, pw, admin=name == "lee")
    port = free_port()
    argv = cli_argv(
        "review",
        "--port",
        str(port),
        "--max-photo-mb",
        str(PHOTO_MB),
        "--max-upload-mb",
        str(UPLOAD_MB),
        root=root,
    )
    with serving(argv, root / "review.log", port):
        yield Served(port, root, auth, catalog)


# --- a raw Streamlit websocket client ------------------------------------------------------


def _rerun() -> bytes:
    m = BackMsg()
    m.rerun_script.query_string = ""
    m.rerun_script.page_script_hash = ""
    return m.SerializeToString()


def _stream(port: int, cookie: str = "", session: str | None = None, headers=()):
    """A raw websocket to ``port``: Streamlit's subprotocols (a session id third, to resume
    one), the cookie and any other headers given."""
    return connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=["streamlit", "xsrf", *([session] if session else [])],
        additional_headers=[*([("Cookie", cookie)] if cookie else []), *headers],
        proxy=None,
    )


async def _one_run(ws) -> tuple[str, str]:
    """Ask for a run and read every message of it: (the session id, every text drawn)."""
    await ws.send(_rerun())
    sid, text = "", []
    while True:
        f = ForwardMsg()
        f.ParseFromString(await asyncio.wait_for(ws.recv(), 60))
        kind = f.WhichOneof("type")
        if kind == "new_session":
            sid = f.new_session.initialize.session_id
        elif kind == "delta":
            text.append(str(f.delta))
        elif kind == "script_finished":
            return sid, "\n".join(text)


async def _run_page(port: int, cookie: str = "", session: str | None = None, headers=()):
    """Open the websocket, run the page once; (the session id, every text it drew)."""
    async with _stream(port, cookie, session, headers) as ws:
        return await _one_run(ws)


@contextlib.asynccontextmanager
async def open_session(served: Served, cookie: str):
    """A websocket kept open after its first run; yields its Streamlit session id. (Every
    message of the run is read first: a client that stops reading stalls its own close.)"""
    async with _stream(served.port, cookie) as ws:
        yield (await _one_run(ws))[0]


def run_page(served: Served, cookie: str = "", session: str | None = None, **kw):
    return asyncio.run(_run_page(served.port, cookie, session, **kw))


def refused_handshake(served: Served, cookie: str = "", session: str | None = None) -> int:
    """The HTTP status a websocket handshake gets (it must not succeed)."""
    with pytest.raises(InvalidStatus) as e:
        run_page(served, cookie, session)
    return e.value.response.status_code


def streamlit_process(served: Served) -> tuple[Path, list[str]]:
    """The /proc folder and argv of the Streamlit process serving this dataset."""
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes()
            env = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"streamlit" in cmd and f"FACESIFT_ROOT={served.root}\0".encode() in env:
            return proc, cmd.decode().split("\0")
    raise AssertionError("the Streamlit process was not found")


def streamlit_rss_mb(served: Served) -> float:
    """Resident memory of the Streamlit process serving this dataset."""
    status = (streamlit_process(served)[0] / "status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def upload(served: Served, cookie: str, session: str, name: str, data: bytes):
    """PUT one file the way the browser's uploader does (XSRF header and cookie included)."""
    _, headers, _ = served.request("GET", "/_stcore/health", cookie=cookie)
    xsrf = next(
        (
            c.split(";")[0].split("=", 1)[1]
            for c in headers.get("set-cookie", [])
            if c.startswith("_streamlit_xsrf=")
        ),
        "none",
    )
    body, ctype = multipart(name, data)
    return served.request(
        "PUT",
        f"/_stcore/upload_file/{session}/{uuid.uuid4()}",
        body=body,
        cookie=f"{cookie}; _streamlit_xsrf={xsrf}" if cookie else f"_streamlit_xsrf={xsrf}",
        headers={"Content-Type": ctype, "X-Xsrftoken": xsrf},
    )


# --- the tests -----------------------------------------------------------------------------


@live
def test_without_a_login_no_page_no_websocket_no_upload(served):
    status, headers, _ = served.request("GET", "/", headers={"Accept": "text/html"})
    assert status == 303 and headers["location"] == ["/_gate/login?next=/"]
    for path in ("/", "/_stcore/host-config", "/static/js/index.js", "/review"):
        assert served.request("GET", path)[0] == 401
    # The health check answers, but without Streamlit's XSRF cookie (step 1 of the issue).
    status, headers, body = served.request("GET", "/_stcore/health")
    assert (status, body) == (200, b"ok") and "set-cookie" not in headers
    assert refused_handshake(served) == 403
    before = streamlit_rss_mb(served)
    blob = b"\0" * (20 * 1024 * 1024)
    for _ in range(3):
        status, _, body = upload(served, "", str(uuid.uuid4()), "big.png", blob)
        assert status == 401 and body.count(b"\n") == 1
    assert streamlit_rss_mb(served) - before < 15  # three 20 MB uploads would be 60 MB


@live
def test_a_login_opens_the_app_as_that_user(served):
    cookie = served.login("lee")
    status, _, page = served.request("GET", "/", cookie=cookie)
    assert status == 200 and b"<html" in page.lower()
    assert served.request("POST", "/_stcore/agent/interact", cookie=cookie)[0] == 404
    sid, text = run_page(served, cookie)
    assert sid and "annotator: lee (admin)" in text
    # A header a client sends naming someone else counts for nothing.
    status, _, _ = served.request("GET", "/", cookie=cookie, headers={"X-Facesift-User": "sam"})
    assert status == 200


@live
def test_streamlit_listens_on_loopback_and_trusts_no_header_without_the_gateways_secret(served):
    _, argv = streamlit_process(served)
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    port = int(argv[argv.index("--server.port") + 1])

    # Straight to Streamlit (another user of this machine could), naming an admin.
    forged = [("X-Facesift-User", "lee"), ("X-Facesift-Gate", "guess")]
    _, text = asyncio.run(_run_page(port, headers=forged))
    assert "Log in first" in text and "annotator: lee" not in text and "Review by query" not in text


@live
def test_a_borrowed_streamlit_session_id_gets_nothing(served):
    lee, sam = served.login("lee"), served.login("sam")
    admin_sid, _ = run_page(served, lee)
    assert refused_handshake(served, "", admin_sid) == 403  # no cookie: no websocket at all
    sid, text = run_page(served, sam, admin_sid)  # another login: a session of its own
    assert sid != admin_sid and "annotator: sam (annotator)" in text and "lee" not in text
    status, _, body = upload(served, sam, admin_sid, "face.png", b"x")
    assert status == 403 and b"not a session of this login" in body
    # The admin's own reconnect keeps the admin's session.
    again, _ = run_page(served, lee, admin_sid)
    assert again == admin_sid


@live
def test_uploads_are_checked_by_name_and_size_before_the_app(served):
    lee, sam = served.login("lee"), served.login("sam")
    photo = encode(Image.new("RGB", (64, 48), "tan"))

    async def scenario() -> None:
        # Streamlit takes uploads only for a session whose websocket is open.
        async with open_session(served, lee) as lee_sid, open_session(served, sam) as sam_sid:
            put = functools.partial(asyncio.to_thread, upload, served)
            status, _, body = await put(lee, lee_sid, "face.png", photo)
            assert status == 204, body  # Streamlit took it
            for name in ("x.exe", "noext", "..", "a/b.png"):
                status, _, body = await put(lee, lee_sid, name, b"data")
                assert status == 400 and body.startswith(b"refused upload"), body
                assert body.count(b"\n") == 1
            # An annotator may only send photos, and only up to --max-photo-mb.
            assert (await put(sam, sam_sid, "faces.zip", b"PK"))[0] == 400
            status, _, body = await put(sam, sam_sid, "big.png", b"\0" * (PHOTO_MB * 2 << 20))
            assert status == 413 and b"larger than 1 MB" in body
            big = b"\0" * (UPLOAD_MB * 2 << 20)
            assert (await put(lee, lee_sid, "big.zip", big))[0] == 413

    asyncio.run(scenario())


@live
def test_logout_a_password_change_or_removal_ends_every_session_of_the_user(served):
    one, two = served.login("kim"), served.login("kim")
    assert served.request("GET", "/", cookie=one)[0] == 200
    add_user(served.auth, "kim", "kim-new-password")  # as `facesift user add kim` does
    assert served.request("GET", "/", cookie=one)[0] == 401
    assert served.request("GET", "/", cookie=two)[0] == 401
    PASSWORDS["kim"] = "kim-new-password"
    three = served.login("kim")
    remove_user(served.auth, "kim")
    assert served.request("GET", "/", cookie=three)[0] == 401
    assert refused_handshake(served, three) == 403
    sam, sam_elsewhere = served.login("sam"), served.login("sam")
    assert served.request("GET", "/_gate/logout", cookie=sam)[0] == 303
    assert served.request("GET", "/", cookie=sam)[0] == 401
    assert served.request("GET", "/", cookie=sam_elsewhere)[0] == 401  # every session of sam


@live
def test_an_open_websocket_ends_with_its_session(served):
    add_user(served.auth, "kim", PASSWORDS["kim"])
    cookie = served.login("kim")

    async def scenario() -> float:
        async with _stream(served.port, cookie) as ws:
            await _one_run(ws)
            served.request("GET", "/_gate/logout", cookie=cookie)
            start = time.monotonic()
            with pytest.raises(ConnectionClosed):
                await ws.send(_rerun())
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            return time.monotonic() - start

    assert asyncio.run(scenario()) < 5


@live
def test_logins_are_recorded_with_time_and_address(served):
    status, _, page = served.post_login("sam", "wrong-password")
    assert status == 401 and b"Wrong user name or password." in page
    # A form without its CSRF cookie is refused before the password is even looked at.
    assert served.post_login("sam", PASSWORDS["sam"], with_csrf=False)[0] == 403
    served.login("sam")
    with Catalog.open(served.root, "default", create=False) as cat:
        rows = recent_attempts(cat.conn)
    assert [(a.name, a.outcome) for a in rows[:2]] == [("sam", "ok"), ("sam", "wrong")]
    assert all(a.address == "127.0.0.1" and a.at > time.time() - 600 for a in rows[:2])


def test_a_cookie_is_the_token_and_its_hmac_and_nothing_else_passes():
    key = b"k" * 32
    value = sign("tok3n", key)
    assert unsign(value, key) == "tok3n"
    assert unsign(value, b"x" * 32) is None  # another launch's key
    assert unsign("tok3n." + value.rsplit(".", 1)[1][:-1] + "A", key) is None
    for bad in (None, "", "no-dot", "tok3n.", "é." + value.rsplit(".", 1)[1], "a." * 200):
        assert unsign(bad, key) is None


def test_after_the_login_only_a_local_path_is_followed():
    assert _safe_next("/queue?x=1") == "/queue?x=1"
    for bad in ("https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil", "", None):
        assert _safe_next(bad) == "/"


def test_the_app_never_sees_the_gateways_cookies():
    cookie = b"facesift_session=abc.def; _streamlit_xsrf=2|x; facesift_csrf=zz"
    assert _strip_cookies(cookie) == b"_streamlit_xsrf=2|x"
