"""One uvicorn listener on one address: a unit's direct one and, while active, the shared one."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import uvloop
from uvicorn.config import Config
from uvicorn.server import Server

from hapair.clock import next_beat
from hapair.domain.unit import is_loopback_host
from hapair.server.limits import Limits, limited_protocol, limits_of

__all__ = ["Limits", "Listener", "bind_socket", "limits_of", "run"]

log = logging.getLogger("hapair.listener")
T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Runs ``hapair serve``'s main coroutine on uvloop: one loop holds every listener.

    The loop is chosen by factory, not by a process-wide policy: threads that make their own
    loop (the netlink calls in ``asyncio.to_thread``) keep asyncio's default one.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


class _Server(Server):
    """A uvicorn server that leaves signal handling to hapair (one process, several listeners)
    and wakes once a second at idle, not ten times.

    uvicorn's main loop sleeps 0.1 s between looks at ``should_exit`` and refreshes the Date
    header every tenth: twenty wake-ups a second for a unit's two listeners doing nothing
    (issue 23's idle cost). Here it refreshes the header every second (its resolution), on the
    unit's beat, and ``should_exit`` wakes it at once, so a stop is not later than before.
    """

    _wake: asyncio.Event | None = None
    _exit = False

    @property
    def should_exit(self) -> bool:
        return self._exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit = value
        if value and self._wake is not None:
            self._wake.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        if self._exit:
            self._wake.set()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000  # on_tick refreshes the Date header at % 10
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
            # lands in the turn the wait ends, and this loop would go on (see dataplane/plane.py)
            # on the unit's 1 s beat (``clock.next_beat``): both listeners and the engine's
            # tick wake the process once a second together, not each at a phase of its own
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(next_beat(asyncio.get_running_loop().time(), 1.0)):
                    await self._wake.wait()
            should_exit = await self.on_tick(counter)


IP_FREEBIND = 15  # linux/in.h; not in Python's socket module
IPV6_FREEBIND = 78  # linux/in6.h
# Each accepted connection's kernel send buffer (inherited from the listening socket; Linux
# doubles it): fixed, so a client that never reads pins at most this much kernel memory per
# connection instead of the autotuned 4 MiB (256 such clients held about 1 GB).
SEND_BUFFER_BYTES = 128 * 1024


class ListenError(OSError):
    """An address the listener could not bind, with the cause in a person's words."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        reason = (cause.strerror or str(cause)).lower()
        if cause.errno == errno.EACCES and port < 1024:
            reason += " (a port below 1024 needs CAP_NET_BIND_SERVICE)"
        elif cause.errno == errno.EADDRINUSE:
            reason += " (another process listens there)"
        super().__init__(cause.errno, f"cannot listen on {host}:{port}: {reason}")


def bind_socket(host: str, port: int, *, freebind: bool = False) -> socket.socket:
    """A listening TCP socket; raising OSError when the address cannot be bound.

    ``freebind``: bound even while ``host`` is not (yet) an address of this host
    (``IP_FREEBIND``/``IPV6_FREEBIND``): the shared listener of a unit that moves a virtual IP
    is bound ahead, and answers once the address is added (SPEC 5b, bind ahead).
    """
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    # proto must be IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on accepted sockets whose
    # proto says TCP; without it Nagle + delayed ACK add ~40 ms to every keep-alive response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        if freebind:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


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
        freebind: bool = False,
    ) -> None:
        self.app = app
        self.freebind = freebind
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
        if self.limits.loopback_only and not is_loopback_host(self.host):
            raise OSError(
                f"refused to listen on {self.host}:{self.port}: "
                "a --no-auth unit listens on loopback only"
            )
        try:
            sock = bind_socket(self.host, self.port, freebind=self.freebind)
        except OSError as bind_failed:
            raise ListenError(self.host, self.port, bind_failed) from bind_failed
        config = Config(
            self.app,
            # each listener its own budget: a flood of one address never fills the other
            http=limited_protocol(self.limits, self.limits.budget()),
            ws="none",
            # hapair is reached directly, never through a proxy: the client is the TCP peer
            # (an X-Forwarded-For from a loopback client must not rename it in a log line or
            # hide the connection from the event stream's transport lookup, api/events.py)
            proxy_headers=False,
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
