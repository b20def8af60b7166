"""One uvicorn listener on one address: a unit's direct one and, while active, the shared one."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("hapair.listener")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to hapair (one process, several listeners)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


HEAD_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 10.0
DEFAULT_MAX_CONNECTIONS = 256

_FULL_BODY = (
    b'{"type":"urn:hapair:problem:too-many-connections","title":"Too many connections",'
    b'"status":503,"detail":"the connection limit is reached; retry later"}'
)
_FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
    b"Connection: close\r\nRetry-After: 2\r\nContent-Length: %d\r\n\r\n%s"
) % (len(_FULL_BODY), _FULL_BODY)


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


def limited_protocol(limits: Limits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a connection cap and request head and body deadlines.

    uvicorn's keep-alive timeout runs only between requests and stops at the first byte, so
    a client sending half a head (or a body slowly) would hold the connection forever. Here
    a deadline runs from the start of each wait for a head (connection made, previous
    response sent) and, once the head is in, for the body; the connection is closed when it
    passes.
    """

    class LimitedH11Protocol(H11Protocol):
        _phase: object = None  # h11.IDLE (waiting for a head), h11.SEND_BODY, or None
        _deadline_at = 0.0  # loop time by which the phase must end; 0.0: no phase running
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if len(limits.open) >= limits.max_connections:
                self.transport = transport  # type: ignore[assignment]
                self.flow = None  # type: ignore[assignment]
                transport.write(_FULL)  # type: ignore[attr-defined]
                transport.close()
                return
            limits.open.add(self)
            super().connection_made(transport)  # type: ignore[arg-type]
            self._watch()

        def connection_lost(self, exc: Exception | None) -> None:
            limits.open.discard(self)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._watch()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._watch()

        def _watch(self) -> None:
            state = self.conn.their_state
            phase = (
                h11.IDLE if state is h11.IDLE else h11.SEND_BODY if state is h11.SEND_BODY else None
            )
            if phase is self._phase:
                return
            self._phase = phase
            if phase is None:
                self._deadline_at = 0.0  # an armed timer finds no phase and lapses
                return
            seconds = limits.head_timeout_s if phase is h11.IDLE else limits.body_timeout_s
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

    return LimitedH11Protocol


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; raising OSError when the address cannot be bound."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    # proto must be IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on accepted sockets whose
    # proto says TCP; without it Nagle + delayed ACK add ~40 ms to every keep-alive response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


DRAIN_S = 30  # how long requests under way may finish once the address is released
_draining: set[asyncio.Task[None]] = set()  # listeners finishing in the background


class Listener:
    """Serves an ASGI app on one address until stopped."""

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        *,
        ssl: dict[str, str] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ssl = ssl or {}
        self.limits = limits if limits is not None else limits_of(app)
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the listener is serving."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Binds the address and serves; raises OSError if the address is not bindable."""
        if self.running:
            return
        if self.limits.loopback_only and not _loopback_host(self.host):
            raise OSError(
                f"refused to listen on {self.host}:{self.port}: "
                "a --no-auth unit listens on loopback only"
            )
        sock = bind_socket(self.host, self.port)
        config = uvicorn.Config(
            self.app,
            http=limited_protocol(self.limits),
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=1,
            **self.ssl,  # type: ignore[arg-type]
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        try:
            for _ in range(200):
                if self._server.started or self._task.done():
                    break
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            # Cancelled while starting (e.g. the engine rebooted): the caller never learns of
            # this listener, so stop it here, or it would serve the address forever.
            await self.stop()
            raise
        if self._task.done():
            exc = self._task.exception()
            raise OSError(f"listener on {self.host}:{self.port} failed: {exc}")
        log.info("listening", extra={"event": "listen", "address": f"{self.host}:{self.port}"})

    async def stop(self, *, drain: bool = False) -> None:
        """Stops serving and releases the address.

        With ``drain`` it returns as soon as the address no longer accepts connections and
        lets the requests under way finish in the background (up to ``DRAIN_S``): the shared
        address is released at once for the partner, and a request that caused the release
        (a switchover asked on the shared address) still gets its answer.
        """
        server, task = self._server, self._task
        self._server, self._task = None, None
        if server is None or task is None:
            return
        server.should_exit = True
        if drain:
            server.config.timeout_graceful_shutdown = DRAIN_S
            for _ in range(300):  # uvicorn closes its listening sockets first
                if task.done() or not any(srv.is_serving() for srv in server.servers):
                    break
                await asyncio.sleep(0.01)
            _draining.add(task)
            task.add_done_callback(_draining.discard)
        else:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=3)
            except TimeoutError:
                server.force_exit = True
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=2)
        log.info(
            "stopped listening", extra={"event": "unlisten", "address": f"{self.host}:{self.port}"}
        )
