"""The limits of one unit's listeners (SPEC section 6): a connection cap, request head and body
deadlines, a bound on the head's size and the method set, enforced in uvicorn's httptools
protocol before the app sees a request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 10.0
DEFAULT_MAX_CONNECTIONS = 256
# A request head larger than this is refused (431): h11's default bound, which uvicorn's h11
# protocol enforced; httptools (llhttp) has none, so without it a head could grow for 10 s.
MAX_HEAD_BYTES = 16 * 1024
METHODS = frozenset({b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"})


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
# The same answer as the app's own refusal (app.py), given here to methods the parser does not
# know (llhttp knows a fixed list) and to known ones outside the set (CONNECT, TRACE, ...).
_METHOD_REFUSED = _problem(
    HTTPStatus.METHOD_NOT_ALLOWED,
    "method-not-allowed",
    "Method not allowed",
    "hapair serves GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS",
    b"Allow: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT\r\n",
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
    """Connection limits of one unit, shared by all its listeners (SPEC section 6).

    ``loopback_only``: a ``--no-auth`` unit, which must never listen off loopback; a
    listener asked for another address refuses to bind, whatever settings a reboot applied.
    """

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    head_timeout_s: float = HEAD_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S
    loopback_only: bool = False
    open: set[asyncio.Protocol] = field(default_factory=set)


def limits_of(app: Any) -> Limits:
    """The limits the wiring put on the app's state (defaults otherwise)."""
    limits = getattr(getattr(app, "state", None), "limits", None)
    return limits if isinstance(limits, Limits) else Limits()


_HEAD, _BODY, _DONE = "head", "body", "done"  # what the parser reads: a head, a body, nothing


def limited_protocol(limits: Limits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a connection cap, request head and body deadlines,
    a bound on the head's size and the method set enforced before the app.

    uvicorn's keep-alive timeout runs only between requests and stops at the first byte, so
    a client sending half a head (or a body slowly) would hold the connection forever. Here
    a deadline runs from the start of each wait for a head (connection made, previous
    response sent) and, once the head is in, for the body; the connection is closed when it
    passes. The parser's callbacks tell the phases: ``on_headers_complete`` ends the head,
    ``on_message_complete`` the body.
    """

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        _reading = _HEAD
        _head_bytes = 0  # bytes received since the last request was complete
        _phase: str | None = None  # _HEAD (waiting for a head), _BODY, or None
        _deadline_at = 0.0  # loop time by which the phase must end; 0.0: no phase running
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(limits.open) >= limits.max_connections:
                self.transport = transport
                transport.write(_FULL)
                transport.close()
                return
            limits.open.add(self)
            super().connection_made(transport)
            self._watch()

        def connection_lost(self, exc: Exception | None) -> None:
            limits.open.discard(self)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().connection_lost(exc)

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
