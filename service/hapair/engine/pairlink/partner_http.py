"""The partner client's transport: POSTs over kept-alive HTTP/1.1 connections to one address.

The unit-to-unit calls are a fixed, small subset of HTTP: a POST with a body of known length
to the partner's direct address, answered by hapair's own listener (uvicorn's httptools
protocol) with a ``content-length``. A general client (httpx) cost a paired unit at idle about
as much CPU per heartbeat as the rest of its tick, and with its imports (httpcore, anyio, and
whatever optional extras it finds installed: rich, pygments, trio) several MB of RSS in every
unit (issue 23, ``bench/idle.py``). Here the request is written in one piece and the answer
parsed by ``httptools`` (the parser the listener itself runs on), so chunked answers and
``connection: close`` are handled by a well-kept parser, not by our code.

Connections are kept and reused (an idle heartbeat is one write and one read on an open
socket); a kept connection the partner closed while it was idle (its keep-alive timeout, a
restart) is noticed before any answer byte arrives, and the call is sent once more on a new
connection. Every call is bounded by its timeout as a whole (connect, TLS, write, answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field

import httptools

MAX_HEAD = 64 * 1024  # an answer's status line and headers
MAX_BODY = 16 * 1024 * 1024  # an answer's body (history ids and conflict batches are far less)
# a kept connection idle longer than this is not reused: the listener (uvicorn's default
# keep-alive timeout, 5 s) may be closing it right now
REUSE_WITHIN_S = 4.0


class TransportError(Exception):
    """The call failed: no connection, a timeout, a malformed or oversized answer."""


class _Stale(TransportError):
    """A kept connection was closed by the peer before any byte of the answer."""


@dataclass
class Answer:
    """An answer: its status, headers (names lowercase; the last of repeated ones) and body."""

    status: int
    headers: dict[str, str]
    content: bytes


@dataclass
class _Reading:
    """What the parser has read of one answer (``httptools`` calls these back)."""

    headers: dict[str, str] = field(default_factory=dict)
    body: list[bytes] = field(default_factory=list)
    size: int = 0
    head: int = 0
    complete: bool = False
    keep_alive: bool = False
    parser: httptools.HttpResponseParser | None = None
    error: TransportError | None = None  # raised in a callback: the parser wraps it

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head += len(name) + len(value)
        if self.head > MAX_HEAD:
            self.error = TransportError("answer head too large")
            raise self.error
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_BODY:
            self.error = TransportError("answer body too large")
            raise self.error
        self.body.append(data)

    def on_message_complete(self) -> None:
        assert self.parser is not None
        self.keep_alive = self.parser.should_keep_alive()  # valid while the parser is on it
        self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used_at = time.monotonic()

    async def exchange(self, request: bytes) -> tuple[Answer, bool]:
        """Sends ``request``; the answer, and whether the connection may be used again."""
        self.writer.write(request)
        reading = _Reading()
        parser = reading.parser = httptools.HttpResponseParser(reading)
        received = 0
        while not reading.complete:
            try:
                data = await self.reader.read(65536)
            except ConnectionError as exc:
                if received == 0:
                    raise _Stale(f"{type(exc).__name__}: {exc}") from exc
                raise
            if not data:
                if received == 0:
                    raise _Stale("connection closed before the answer")
                raise TransportError("connection closed in the middle of the answer")
            received += len(data)
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise reading.error or TransportError(f"malformed answer: {exc}") from exc
        answer = Answer(parser.get_status_code(), reading.headers, b"".join(reading.body))
        self.used_at = time.monotonic()
        return answer, reading.keep_alive and not self.reader.at_eof()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class PartnerHTTP:
    """POSTs to ``address`` (``HOST:PORT``, ``[V6]:PORT``) over kept-alive connections.

    Args:
        address: the partner's direct address.
        ssl_context: verifies the partner's certificate (HTTPS), or None (HTTP).
        timeout: seconds per call, unless the call gives its own.
        source: the local IP connections leave from (None: the kernel's choice).
        server_name: the name the partner's certificate must carry (default: the host called;
            over the update link, the partner's direct host: its certificate's identity is the
            same on both links).
    """

    def __init__(
        self,
        address: str,
        *,
        ssl_context: ssl.SSLContext | None,
        timeout: float,
        source: str | None = None,
        server_name: str | None = None,
    ):
        host, _, port = address.rpartition(":")
        self.host = host.strip("[]")
        self.server_name = server_name or self.host
        self.port = int(port)
        self.host_header = address.encode("ascii")
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.source = source
        self._idle: list[_Connection] = []
        self.opened = 0  # connections opened so far (a test counts them)

    async def post(
        self, path: str, body: bytes, headers: dict[str, str], wait: float | None = None
    ) -> Answer:
        """One POST, bounded by ``wait`` seconds (else the client's timeout) as a whole.

        Raises:
            TransportError: no answer (refused, timed out, closed, malformed, too large).
        """
        head = [f"POST {path} HTTP/1.1\r\n".encode("ascii"), b"host: ", self.host_header]
        head.append(b"\r\ncontent-length: %d\r\n" % len(body))
        for name, value in headers.items():
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        request = b"".join([*head, b"\r\n", body])
        try:
            async with asyncio.timeout(self.timeout if wait is None else wait):
                return await self._send(request)
        except TimeoutError as exc:
            raise TransportError("timed out") from exc
        except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    async def _send(self, request: bytes) -> Answer:
        while True:
            conn = self._idle.pop() if self._idle else None
            if conn is not None and time.monotonic() - conn.used_at > REUSE_WITHIN_S:
                conn.close()
                continue
            reused = conn is not None
            if conn is None:
                conn = await self._open()
            try:
                answer, keep = await conn.exchange(request)
            except _Stale:
                conn.close()
                if reused:  # the partner closed it while it was idle: the call never reached it
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn.close()
            return answer

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(
            self.host,
            self.port,
            ssl=self.ssl_context,
            server_hostname=self.server_name if self.ssl_context is not None else None,
            limit=MAX_HEAD,
            local_addr=(self.source, 0) if self.source else None,
        )
        self.opened += 1
        return _Connection(reader, writer)

    async def close(self) -> None:
        """Closes the kept connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.writer.wait_closed()
