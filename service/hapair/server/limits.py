"""The limits of one unit's listeners (SPEC section 6): connection budgets, request head, body
and write-progress deadlines, a bound on the head's size and the method set, enforced in
uvicorn's httptools protocol before the app sees a request.

Each listener (the direct one, the shared one) has its own :class:`Budget`: at most
``--max-connections`` client connections, at most ``--max-connections-per-client`` of them from
one address, and ``PARTNER_RESERVED`` more that only the configured partner's host may take, so
that no flood of either address silences the partner's heartbeats or its calls.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hapair.domain import limits as contract

HEAD_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 10.0  # a response whose write buffer has not shrunk for this long is dropped
PARTNER_RESERVED = 16  # connections of each listener that only the partner's host may take
# A request head larger than this is refused (431): h11's default bound, which uvicorn's h11
# protocol enforced; httptools (llhttp) has none, so without it a head could grow for 10 s.
MAX_HEAD_BYTES = 16 * 1024
METHODS = frozenset(m.encode() for m in contract.METHODS)


def _problem(status: HTTPStatus, slug: str, title: str, detail: str, extra: bytes = b"") -> bytes:
    """A whole RFC 9457 answer that closes the connection, for the protocol to write itself."""
    body = msgspec.json.encode(
        {"type": f"urn:hapair:problem:{slug}", "title": title, "status": status, "detail": detail}
    )
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nConnection: close\r\n"
        b"%sContent-Length: %d\r\n\r\n%s"
    ) % (status, status.phrase.encode(), extra, len(body), body)


_FULL = _problem(
    HTTPStatus.SERVICE_UNAVAILABLE,
    "too-many-connections",
    "Too many connections",
    "the connection limit is reached; retry later",
    b"Retry-After: 2\r\n",
)
_CLIENT_FULL = _problem(
    HTTPStatus.SERVICE_UNAVAILABLE,
    "too-many-connections",
    "Too many connections",
    "this client address holds as many connections as one may (--max-connections-per-client); "
    "retry later",
    b"Retry-After: 2\r\n",
)
# The same answer as the app's own refusal (app.py), given here to methods the parser does not
# know (llhttp knows a fixed list) and to known ones outside the set (CONNECT, TRACE, ...).
_METHOD_REFUSED = _problem(
    HTTPStatus.METHOD_NOT_ALLOWED,
    "method-not-allowed",
    "Method not allowed",
    contract.METHODS_DETAIL,
    b"Allow: %s\r\n" % contract.METHODS_ALLOW.encode(),
)
_HEAD_TOO_LARGE = _problem(
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
    "request-head-too-large",
    "Request head too large",
    f"a request head (request line and headers) may hold at most {MAX_HEAD_BYTES} bytes",
)

_BAD_REQUEST = _problem(
    HTTPStatus.BAD_REQUEST, "malformed", "Malformed request", "the request is not valid HTTP/1.1"
)


class _Refused(Exception):
    """Raised in a parser callback to stop parsing and answer ``response``, then close."""

    def __init__(self, response: bytes) -> None:
        super().__init__()
        self.response = response


@dataclass
class Limits:
    """Connection limits of one unit; each listener takes its own :meth:`budget` of them.

    ``partner_host``: the configured partner's host (an IP literal), read at each connection:
    its connections may use the reserved ones. ``loopback_only``: a ``--no-auth`` unit, which
    must never listen off loopback; a listener asked for another address refuses to bind,
    whatever settings a reboot applied. ``open``: every open connection of every listener
    (the event stream finds its own transport there, ``api/events.py``).
    """

    max_connections: int = contract.MAX_CONNECTIONS
    max_per_client: int = contract.MAX_CONNECTIONS_PER_CLIENT
    head_timeout_s: float = HEAD_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S
    write_timeout_s: float = WRITE_TIMEOUT_S
    loopback_only: bool = False
    partner_host: Callable[[], str | None] = lambda: None
    open: set[asyncio.Protocol] = field(default_factory=set)

    def budget(self) -> Budget:
        """A fresh budget for one listener."""
        return Budget(self)


_RESERVED, _GENERAL = "reserved", "general"  # the pool a connection was admitted from


def _ip(host: str | None) -> str | None:
    """``host`` as a canonical IP text (an IPv4-mapped IPv6 address as IPv4); None if not an IP."""
    if not host:
        return None
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


class Budget:
    """The connections of one listener: ``PARTNER_RESERVED`` for the partner's host, then up to
    ``max_connections`` for every client (the partner's too), ``max_per_client`` per address."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.reserved = 0
        self.general = 0
        self.by_client: dict[str, int] = {}

    def admit(self, host: str | None) -> tuple[str | None, bytes]:
        """The pool a connection from ``host`` takes, or None and the refusal to send."""
        client = _ip(host) or ""
        partner = client and client == _ip(self.limits.partner_host())
        if partner and self.reserved < PARTNER_RESERVED:
            self.reserved += 1
            return _RESERVED, b""
        if self.general >= self.limits.max_connections:
            return None, _FULL
        held = self.by_client.get(client, 0)
        if held >= self.limits.max_per_client:
            return None, _CLIENT_FULL
        self.general += 1
        self.by_client[client] = held + 1
        return _GENERAL, b""

    def release(self, pool: str, host: str | None) -> None:
        """A connection admitted from ``pool`` is gone."""
        if pool == _RESERVED:
            self.reserved -= 1
            return
        self.general -= 1
        client = _ip(host) or ""
        held = self.by_client.get(client, 0) - 1
        if held > 0:
            self.by_client[client] = held
        else:
            self.by_client.pop(client, None)


def limits_of(app: Any) -> Limits:
    """The limits the wiring put on the app's state (defaults otherwise)."""
    limits = getattr(getattr(app, "state", None), "limits", None)
    return limits if isinstance(limits, Limits) else Limits()


_HEAD, _BODY, _DONE = "head", "body", "done"  # what the parser reads: a head, a body, nothing


def limited_protocol(limits: Limits, budget: Budget | None = None) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a listener's connection budget, request head, body and
    write-progress deadlines, a bound on the head's size and the method set enforced before the
    app.

    uvicorn's keep-alive timeout runs only between requests and stops at the first byte, so
    a client sending half a head (or a body slowly) would hold the connection forever. Here
    a deadline runs from the start of each wait for a head (connection made, previous
    response sent) and, once the head is in, for the body; the connection is closed when it
    passes. The parser's callbacks tell the phases: ``on_headers_complete`` ends the head,
    ``on_message_complete`` the body.

    Those deadlines stop while a response is under way, so a client that pipelines requests
    and never reads would hold its connection forever. Once the transport's write buffer
    passes its high-water mark (``pause_writing``), it must shrink within ``write_timeout_s``,
    again and again until it drains, or the connection is aborted (its unsent data dropped).
    """
    pool = budget if budget is not None else limits.budget()

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        _reading = _HEAD
        _head_bytes = 0  # bytes received since the last request was complete
        _phase: str | None = None  # _HEAD (waiting for a head), _BODY, or None
        _deadline_at = 0.0  # loop time by which the phase must end; 0.0: no phase running
        _timer: asyncio.TimerHandle | None = None
        _pool: str | None = None  # the budget's pool this connection holds a place in
        _peer: str | None = None
        _write_size = 0  # the write buffer's size when it last made progress
        _write_by = 0.0  # loop time by which it must make progress again (while paused)
        _write_timer: asyncio.TimerHandle | None = None
        _running: Any = None  # the request cycle whose app runs (pipelined ones wait)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            peer = transport.get_extra_info("peername")
            self._peer = peer[0] if isinstance(peer, tuple) and peer else None
            self._pool, refusal = pool.admit(self._peer)
            if self._pool is None:
                self.transport = transport
                transport.write(refusal)
                transport.close()
                return
            limits.open.add(self)
            super().connection_made(transport)
            self._watch()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._pool is not None:
                pool.release(self._pool, self._peer)
                self._pool = None
            limits.open.discard(self)
            for timer in (self._timer, self._write_timer):
                if timer is not None:
                    timer.cancel()
            self._timer = self._write_timer = None
            running = self._running
            if running is not None and not running.response_complete:
                # uvicorn marks only the last parsed request's cycle disconnected: a running
                # one that pipelined requests queued behind would write to the closed
                # transport once its drain wakes, and fail with a traceback
                running.disconnected = True
                running.message_event.set()
            super().connection_lost(exc)

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            self._running = cycle
            super()._start_asgi_task(cycle, app)

        def pause_writing(self) -> None:
            super().pause_writing()
            self._write_progressed()

        def _write_progressed(self) -> None:
            self._write_size = self.transport.get_write_buffer_size()
            self._write_by = self.loop.time() + limits.write_timeout_s
            if self._write_timer is None:
                self._write_timer = self.loop.call_at(self._write_by, self._check_write)

        def _check_write(self) -> None:
            self._write_timer = None
            if not self.flow.write_paused or self.transport.is_closing():
                return  # drained (resume_writing) or closing: nothing waits
            if self.transport.get_write_buffer_size() < self._write_size:
                self._write_progressed()
            elif self.loop.time() < self._write_by:
                self._write_timer = self.loop.call_at(self._write_by, self._check_write)
            else:
                self.transport.abort()  # closes without flushing what the client never read

        def data_received(self, data: bytes) -> None:
            if self._reading != _BODY:
                self._head_bytes += len(data)
            self._unset_keepalive_if_required()
            try:
                self._feed(data)
            except _Refused as refused:
                self._refuse(refused.response)
                return
            if self._reading == _HEAD and self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(_HEAD_TOO_LARGE)
                return
            self._watch()

        def _feed(self, data: bytes) -> None:
            """uvicorn's parsing, with refusals of the limits and no WebSocket upgrade."""
            while data:
                try:
                    self.parser.feed_data(data)
                except httptools.HttpParserInvalidMethodError:
                    raise _Refused(_METHOD_REFUSED) from None
                except httptools.HttpParserCallbackError as exc:
                    if isinstance(exc.__context__, _Refused):
                        raise exc.__context__ from None
                    raise _Refused(_BAD_REQUEST) from None
                except httptools.HttpParserUpgrade as exc:
                    # hapair serves no upgrade: the request was answered as plain HTTP (an
                    # Upgrade header may be ignored); parsing goes on after it.
                    parsed = int(exc.args[0]) if exc.args else len(data)
                    data = data[parsed:] if parsed > 0 else b""
                    continue
                except httptools.HttpParserError:
                    raise _Refused(_BAD_REQUEST) from None
                return

        def _refuse(self, response: bytes) -> None:
            if self.cycle is None or self.cycle.response_complete:
                self.transport.write(response)
            self.transport.close()

        def on_message_begin(self) -> None:
            self._reading = _HEAD
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            if self.parser.get_method() not in METHODS:
                raise _Refused(_METHOD_REFUSED)
            size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
            if size > MAX_HEAD_BYTES:
                raise _Refused(_HEAD_TOO_LARGE)
            self._reading = _BODY
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._reading = _DONE
            self._head_bytes = 0
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._watch()

        def _watch(self) -> None:
            if self._reading == _BODY:
                phase: str | None = _BODY
            elif self.cycle is None or self.cycle.response_complete:
                phase = _HEAD  # no request under way: waiting for (the rest of) a head
            else:
                phase = None  # a request under way; the next head's wait starts after it
            if phase is self._phase:
                return
            self._phase = phase
            if phase is None:
                self._deadline_at = 0.0  # an armed timer finds no phase and lapses
                return
            seconds = limits.head_timeout_s if phase is _HEAD else limits.body_timeout_s
            self._deadline_at = self.loop.time() + seconds
            if self._timer is None:
                # One timer per connection, re-armed only when it fires early: a keep-alive
                # client costs no timer handle per request.
                self._timer = self.loop.call_at(self._deadline_at, self._check)

        def _check(self) -> None:
            self._timer = None
            at = self._deadline_at
            if not at or self.transport.is_closing():
                return
            if self.loop.time() >= at:
                self.transport.close()
            else:
                self._timer = self.loop.call_at(at, self._check)

    return LimitedHttpToolsProtocol
