"""The unit's Redis client: connecting, the fail-fast probe and the guarded call.

Every concern module (parameters, conflicts, replication, tokens) sends its commands through
one ``Link``, so a Redis failure is the domain's ``StoreUnavailable`` everywhere, and a Redis
the probe knows is down fails at once instead of waiting out a socket timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.credentials import CredentialProvider
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from hapair.clock import sleep_to_beat
from hapair.domain.errors import StoreUnavailable
from hapair.urls import credentials, with_credentials

log = logging.getLogger("hapair.store")
SOCKET_TIMEOUT_S = 1.5
DOWN_AFTER_S = 1.5  # the probe's silence after which commands fail at once (SPEC 7: 503 in 2 s)
PROBE_STOP_S = 2.0  # the longest a stop waits for the probe
QUIET_S = 1.0  # the probe's beat, the engine's tick's at the default heartbeat (< DOWN_AFTER_S)
SKIP_S = 0.1  # ... unless something answered within this long
CONNECT_TIMEOUT_S = 1.0


@contextlib.asynccontextmanager
async def guarded() -> AsyncIterator[None]:
    """Turns any Redis failure into the domain's StoreUnavailable."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(f"the unit's Redis is unreachable: {type(exc).__name__}") from exc
    except RuntimeError as exc:
        # uvloop's stream on a connection reset under a command: "unable to perform operation
        # on <TCPTransport closed=True ...>; the handler is closed" (a fresh-clone run, the
        # resetting relay of test_redis_reset); any other RuntimeError is a bug and stays one
        if "handler is closed" not in str(exc):
            raise
        raise StoreUnavailable("the unit's Redis is unreachable: connection closed") from exc


class Credentials(CredentialProvider):
    """The user name and password a client logs in with, changeable while it runs.

    A pair-key rotation changes the password of hapair's Redis user
    (``store/redis_rotation.py``): every connection made (or made again) afterwards logs in
    with the new one; connections already logged in stay.
    """

    def __init__(self, username: str | None, password: str) -> None:
        self.username = username
        self.password = password

    @classmethod
    def of(cls, url: str) -> Credentials | None:
        """The credentials ``url`` carries, or None when it has no password."""
        username, password = credentials(url)
        return None if password is None else cls(username, password)

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        if self.username:
            return (self.username, self.password)
        return (self.password,)

    async def get_credentials_async(self) -> tuple[str] | tuple[str, str]:
        return self.get_credentials()


def connect(
    url: str, *, max_connections: int = 64, login: Credentials | None = None
) -> aioredis.Redis:
    """An asyncio client with bounded timeouts, so Redis trouble is a quick 503, never a hang.

    With ``login`` the client logs in with it (and ``url``'s own credentials are dropped), so
    the password can change while the client runs.
    """
    extra: dict[str, CredentialProvider] = {}
    if login is not None:
        url = with_credentials(url, None, None)
        extra["credential_provider"] = login
    return aioredis.Redis.from_url(
        url,
        **extra,  # type: ignore[arg-type]
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        max_connections=max_connections,
        health_check_interval=0,
        retry_on_timeout=False,
        # One immediate retry (a pooled connection may have died with a Redis restart), no
        # backoff: redis-py's default (3 retries, exponential backoff from 1 s) would turn an
        # outage into multi-second waits instead of a quick 503.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )


class Link:
    """One injected Redis client with the fail-fast probe in front of every command."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._last_ok = 0.0
        self._failing = False  # the probe's last ping failed
        self._probe: asyncio.Task[None] | None = None
        self._probe_conn: AbstractConnection | None = None  # the probe's own connection
        self._stopping = False
        self.writes = 0  # writes of the parameters sent through this client (``wrote``)
        self.failures = 0  # PINGs of the probe that failed (Redis down, restarted, hung)

    def wrote(self) -> None:
        """A write of the parameters or their revision is about to be sent: the next
        ``Store.read_if_changed`` reads them again (counted before the write, so a write
        whose answer was lost counts too)."""
        self.writes += 1

    def start_probe(self, *, interval: float = 0.2, timeout: float = 0.4) -> None:
        """Pings Redis in the background so ``recently_ok`` knows whether it answers.

        Every command that succeeds is an answer too (``guard``): the probe wakes on the
        unit's 1 s beat (``clock.next_beat``: with the engine's tick, not at a phase of its
        own) and pings unless something answered within ``SKIP_S``; while its last PING
        failed, every ``interval`` until one answers. A busy unit sends no PING at all and an
        idle one one a second (issue 23's idle cost); an answering Redis is never
        silent longer than ``QUIET_S`` + ``SKIP_S`` + a PING's ``timeout`` (<= ``DOWN_AFTER_S``),
        a hung one is known down once a PING has failed and ``DOWN_AFTER_S`` has passed since
        its last answer, and one back is seen within ``interval`` of its first answer.
        """

        async def run() -> None:
            while not self._stopping:
                if time.monotonic() - self._last_ok >= SKIP_S:
                    try:
                        async with asyncio.timeout(timeout):  # keeps a cancellation
                            await self._ping()
                        self._last_ok, self._failing = time.monotonic(), False
                    except (RedisError, OSError, TimeoutError):
                        self._failing = True
                        self.failures += 1
                if self._failing:
                    await asyncio.sleep(interval)
                else:
                    await sleep_to_beat(QUIET_S)

        if self._probe is None or self._probe.done():
            self._stopping = False
            self._probe = asyncio.create_task(run(), name="hapair-redis-probe")

    async def _ping(self) -> None:
        """The probe's PING, on a connection of its own (made as the pool makes its own:
        the same credentials, TLS and timeouts): half the work of ``client.ping()`` through
        the pool and its retry (issue 23's idle cost: one or two a second on an idle active).
        Like the pool's retry, a connection that broke since the last PING (a Redis restarted)
        is made again once at once; any error disconnects it (redis-py), so an answer a
        timeout cut short is never read as the next one's."""
        conn = self._probe_conn
        if conn is None:
            pool = self.client.connection_pool
            conn = self._probe_conn = pool.make_connection()  # type: ignore[no-untyped-call]
        retry = conn.is_connected
        while True:
            try:
                await conn.send_command("PING")
                await conn.read_response()
            except RedisConnectionError:
                if not retry:
                    raise
                retry = False
            else:
                return

    async def stop_probe(self) -> None:
        """Stops the background probe, if it runs, within ``PROBE_STOP_S``.

        The loop also ends on ``_stopping``: redis-py may turn the cancellation of a PING under
        way into a ConnectionError, which the loop takes as "Redis down" and goes on. A stop that
        waited on such a probe hung for ever after the listeners stopped (an event-stream unit's
        SIGTERM, killed after 10 s with nothing logged past the direct listener)."""
        probe, self._probe = self._probe, None
        if probe is None:
            return
        self._stopping = True
        probe.cancel()
        done, _ = await asyncio.wait({probe}, timeout=PROBE_STOP_S)
        if not done:
            log.warning("redis probe did not stop", extra={"event": "redis-probe-stuck"})
        elif not probe.cancelled():
            probe.exception()  # retrieved: a probe that failed is not reported as unretrieved
        conn, self._probe_conn = self._probe_conn, None
        if conn is not None:
            with contextlib.suppress(RedisError, OSError):
                await conn.disconnect(nowait=True)

    def recently_ok(self, within: float = DOWN_AFTER_S) -> bool:
        """Whether Redis answered the probe within the last ``within`` seconds."""
        return time.monotonic() - self._last_ok < within

    def fail_fast_if_down(self) -> None:
        """StoreUnavailable at once while the probe knows Redis is down (see ``guard``): its
        last ping failed and none answered for ``DOWN_AFTER_S``. A probe that merely has not
        run for that long (the event loop was busy, e.g. serving a 1000-item history page on a
        loaded host) knows of no outage: the command is tried."""
        if self._probe is not None and self._failing and self._last_ok and not self.recently_ok():
            raise StoreUnavailable(
                f"the unit's Redis has not answered for more than {DOWN_AFTER_S:g} s"
            )

    def guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        """``guarded()``, failing at once while the probe knows Redis is down.

        Once the probe has gone ``DOWN_AFTER_S`` without an answer, a command would only wait
        out its socket timeout (a hung Redis) before failing: answer 503 at once instead, so a
        Redis outage shows as 503 well within 2 s. The probe notices Redis returning within
        its interval (0.2 s).
        """
        self.fail_fast_if_down()
        return self._answered()

    @contextlib.asynccontextmanager
    async def _answered(self) -> AsyncIterator[None]:
        async with guarded():
            yield
        # only reached when the command succeeded
        self._last_ok, self._failing = time.monotonic(), False

    async def ping(self) -> bool:
        """True when Redis answers."""
        async with self.guard():
            return bool(await self.client.ping())


def admin_client(admin_url: str) -> aioredis.Redis:
    """A one-shot client as the embedded server's admin user (2 s bounds, no retry: a refusal
    is the answer), for the configuration hapair's own user may not change."""
    return aioredis.Redis.from_url(
        admin_url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )
