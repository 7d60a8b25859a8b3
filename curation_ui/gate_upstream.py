"""The gateway's HTTP client to the Streamlit behind it (on 127.0.0.1): one request per
connection, both bodies streamed, HTTP/1.1 framing by h11 (uvicorn's own HTTP
parser, installed with Streamlit). Loopback connections cost ~0.1 ms, so there
is no pool to keep in step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import h11

READ_SIZE = 256 * 1024


class UpstreamError(ConnectionError):
    """Streamlit did not answer (not started yet, or gone)."""


@dataclass
class UpstreamResponse:
    """The head of Streamlit's answer; ``body()`` streams the rest and closes the connection."""

    status: int
    headers: list[tuple[bytes, bytes]]
    _conn: h11.Connection
    _reader: asyncio.StreamReader
    _writer: asyncio.StreamWriter

    async def body(self) -> AsyncIterator[bytes]:
        try:
            while True:
                event = await _next_event(self._conn, self._reader)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    return
        finally:
            self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader):
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(READ_SIZE))


async def request(
    port: int,
    method: str,
    target: str,
    headers: list[tuple[bytes, bytes]],
    body: AsyncIterator[bytes] | None = None,
) -> UpstreamResponse:
    """Send a request to 127.0.0.1:``port`` (streaming ``body``) and read the answer's head."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as e:
        raise UpstreamError(f"the app is not answering ({e.strerror or e})") from None
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=64 * 1024)
    try:
        names = {k.lower() for k, _ in headers}
        if body is not None and b"content-length" not in names:
            headers = [*headers, (b"transfer-encoding", b"chunked")]
        writer.write(conn.send(h11.Request(method=method, target=target, headers=headers)))
        if body is not None:
            async for chunk in body:
                if chunk:
                    writer.write(conn.send(h11.Data(data=chunk)))
                    await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
    except (ConnectionError, h11.LocalProtocolError):
        pass  # Streamlit answered early (e.g. 413) and closed: read what it said
    except BaseException:
        writer.close()
        raise
    try:
        while True:
            event = await _next_event(conn, reader)
            if isinstance(event, h11.Response):
                head = list(event.headers)
                return UpstreamResponse(event.status_code, head, conn, reader, writer)
            if isinstance(event, h11.ConnectionClosed):
                raise UpstreamError("the app closed the connection without an answer")
    except (OSError, h11.RemoteProtocolError) as e:
        writer.close()
        raise UpstreamError(f"the app's answer was cut off ({e})") from None
