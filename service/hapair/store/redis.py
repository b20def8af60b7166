"""The store: revisioned compare-and-set of the HA parameters, history, conflicts.

This is the only module that talks to Redis. Every read-modify-write is one Lua script, so
a reader never sees half a change and a change makes exactly one revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from hapair.domain.errors import StoreUnavailable
from hapair.domain.parameters import HAParameters
from hapair.store import keys

SOCKET_TIMEOUT_S = 1.5
DOWN_AFTER_S = 1.0  # the probe's silence after which commands fail at once
CONNECT_TIMEOUT_S = 1.0

_COMMIT = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur ~= tonumber(ARGV[1]) then
  return {0, cur}
end
local new = cur + 1
redis.call('SET', KEYS[1], new)
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], new, ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[4]) + 1))
return {1, new}
"""


class StoredParameters(msgspec.Struct, kw_only=True):
    """The current parameters as kept in Redis (the revision lives in its own key)."""

    params: HAParameters
    updated_at: str | None = None
    commit_id: str | None = None


class HistoryEntry(msgspec.Struct, kw_only=True):
    """One committed revision; ``id`` tells two units' revisions of the same number apart."""

    revision: int
    updated_at: str
    actor: str
    changes: dict[str, list[Any]]
    params: HAParameters
    id: str = ""


class ConflictEntry(HistoryEntry, kw_only=True):
    """A revision a unit held that the pair never saw, archived when the unit rejoined."""

    unit: str
    archived_at: str

    @classmethod
    def of(cls, entry: HistoryEntry, *, unit: str, archived_at: str) -> ConflictEntry:
        """The conflict record of one history entry."""
        return cls(unit=unit, archived_at=archived_at, **msgspec.structs.asdict(entry))


@dataclass(frozen=True)
class Snapshot:
    """The parameters at one revision."""

    revision: int
    params: HAParameters
    updated_at: str | None


_stored_decoder = msgspec.json.Decoder(StoredParameters)
_entry_decoder = msgspec.json.Decoder(HistoryEntry)
_conflict_decoder = msgspec.json.Decoder(ConflictEntry)
_encoder = msgspec.json.Encoder()


@contextlib.asynccontextmanager
async def guarded() -> AsyncIterator[None]:
    """Turns any Redis failure into the domain's StoreUnavailable."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(f"the unit's Redis is unreachable: {type(exc).__name__}") from exc


def connect(url: str, *, max_connections: int = 64) -> aioredis.Redis:
    """An asyncio client with bounded timeouts, so Redis trouble is a quick 503, never a hang."""
    return aioredis.Redis.from_url(
        url,
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


def host_port(url: str) -> tuple[str, int]:
    """Host and port of a redis:// URL."""
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 6379


class Store:
    """Typed access to one unit's Redis."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._commit = client.register_script(_COMMIT)
        # Read coalescing (see ``read``): callers waiting for the next MGET, and the task
        # issuing MGETs one after another while there are callers waiting.
        self._next_read: asyncio.Future[Snapshot] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._last_ok = 0.0
        self._probe: asyncio.Task[None] | None = None

    def start_probe(self, *, interval: float = 0.2, timeout: float = 0.5) -> None:
        """Pings Redis in the background so ``recently_ok`` knows whether it answers."""

        async def run() -> None:
            while True:
                try:
                    await asyncio.wait_for(self.client.ping(), timeout)
                    self._last_ok = time.monotonic()
                except (RedisError, OSError, TimeoutError):
                    pass
                await asyncio.sleep(interval)

        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(run(), name="hapair-redis-probe")

    def recently_ok(self, within: float = DOWN_AFTER_S) -> bool:
        """Whether Redis answered the probe within the last ``within`` seconds."""
        return time.monotonic() - self._last_ok < within

    def _guarded(self) -> contextlib.AbstractAsyncContextManager[None]:
        """``guarded()``, failing at once while the probe knows Redis is down.

        Once the probe has gone ``DOWN_AFTER_S`` without an answer, a command would only wait
        out its socket timeout (a hung Redis) before failing: answer 503 at once instead, so a
        Redis outage shows as 503 well within 2 s. The probe notices Redis returning within
        its interval (0.2 s).
        """
        self._fail_fast_if_down()
        return guarded()

    def fail_fast_if_down(self) -> None:
        """StoreUnavailable at once while the probe knows Redis is down (see ``_guarded``)."""
        self._fail_fast_if_down()

    def _fail_fast_if_down(self) -> None:
        if self._probe is not None and self._last_ok and not self.recently_ok():
            raise StoreUnavailable(
                f"the unit's Redis has not answered for more than {DOWN_AFTER_S:g} s"
            )

    async def close(self) -> None:
        """Closes the connection pool."""
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.client.aclose()

    async def ping(self) -> bool:
        """True when Redis answers."""
        async with self._guarded():
            return bool(await self.client.ping())

    async def read(self) -> Snapshot:
        """The current parameters; revision 0 (the defaults) before the first commit.

        Concurrent readers share MGETs: a caller waits for the next MGET that starts after it
        arrived (never one already on the wire), so it sees every write committed or
        replicated before its call, as if it had read alone. Under load this turns N
        concurrent reads into one Redis round trip, the biggest cost of a read. When the MGET
        on the wire fails, the callers waiting for the next one fail with it (Redis was
        unreachable while they waited), so a hung Redis costs at most one socket timeout.
        """
        self._fail_fast_if_down()  # rather than queue behind an MGET hanging on a dead Redis
        waiter = self._next_read
        if waiter is None:
            waiter = self._next_read = asyncio.get_running_loop().create_future()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_batches())
        return await asyncio.shield(waiter)

    async def _read_batches(self) -> None:
        """Serves the waiting readers with one MGET per batch until nobody waits."""
        waiter: asyncio.Future[Snapshot] | None = None
        try:
            while (waiter := self._next_read) is not None:
                self._next_read = None
                try:
                    snap = await self._read_once()
                except Exception as exc:
                    # Those who arrived while this read was failing get its error too rather
                    # than a read of their own: with a hung Redis that would make them wait out
                    # two socket timeouts instead of at most one.
                    waiter.set_exception(exc)
                    pending, self._next_read = self._next_read, None
                    if pending is not None:
                        pending.set_exception(exc)
                else:
                    waiter.set_result(snap)
        finally:
            for left in (waiter, self._next_read):
                if left is not None and not left.done():
                    left.cancel()

    async def _read_once(self) -> Snapshot:
        async with self._guarded():
            raw_rev, raw_params = await self.client.mget(keys.REVISION, keys.PARAMETERS)
        if raw_params is None:
            return Snapshot(revision=int(raw_rev or 0), params=HAParameters(), updated_at=None)
        stored = _stored_decoder.decode(raw_params)
        return Snapshot(
            revision=int(raw_rev or 0), params=stored.params, updated_at=stored.updated_at
        )

    async def revision(self) -> int:
        """The current revision only."""
        async with self._guarded():
            raw = await self.client.get(keys.REVISION)
        return int(raw or 0)

    async def commit(
        self,
        *,
        expected: int,
        params: HAParameters,
        changes: dict[str, list[Any]],
        actor: str,
        now: str,
    ) -> int | None:
        """Commits ``params`` as revision ``expected + 1`` if the revision is still ``expected``.

        Returns:
            The new revision, or None when another write got there first.
        """
        commit_id = uuid.uuid4().hex
        stored = StoredParameters(params=params, updated_at=now, commit_id=commit_id)
        entry = HistoryEntry(
            revision=expected + 1,
            updated_at=now,
            actor=actor,
            changes=changes,
            params=params,
            id=commit_id,
        )
        async with self._guarded():
            ok, revision = await self._commit(
                keys=[keys.REVISION, keys.PARAMETERS, keys.HISTORY],
                args=[expected, _encoder.encode(stored), _encoder.encode(entry), keys.HISTORY_KEEP],
            )
        return int(revision) if int(ok) == 1 else None

    async def history(self, *, limit: int, before: int | None) -> list[HistoryEntry]:
        """Newest first, revisions strictly below ``before`` when given."""
        top: str | int = "+inf" if before is None else f"({before}"
        async with self._guarded():
            raw = await self.client.zrevrangebyscore(keys.HISTORY, top, "-inf", start=0, num=limit)
        return [_entry_decoder.decode(item) for item in raw]  # type: ignore[arg-type]

    async def at_revision(self, revision: int) -> HistoryEntry | None:
        """The history entry of one revision, if it is still kept."""
        async with self._guarded():
            raw = await self.client.zrangebyscore(keys.HISTORY, revision, revision)
        return _entry_decoder.decode(raw[0]) if raw else None  # type: ignore[arg-type]

    async def wait_partner(self, timeout_ms: int) -> bool:
        """Redis ``WAIT 1 timeout``: whether one replica acknowledged all writes so far."""
        async with self._guarded():
            acked = await self.client.execute_command("WAIT", 1, timeout_ms)  # type: ignore[no-untyped-call]
        return int(acked) >= 1

    async def conflicts(self) -> list[ConflictEntry]:
        """Every archived conflicting revision, oldest archive first."""
        async with self._guarded():
            raw = await self.client.hvals(keys.CONFLICTS)
        items = [_conflict_decoder.decode(v) for v in raw]
        items.sort(key=lambda c: (c.archived_at, c.revision))
        return items

    async def archive_conflicts(self, entries: list[ConflictEntry]) -> None:
        """Adds conflict records (idempotent: keyed by the revision's commit id)."""
        if not entries:
            return
        mapping = {f"{e.unit}:{e.id or e.revision}": _encoder.encode(e) for e in entries}
        async with self._guarded():
            await self.client.hset(keys.CONFLICTS, mapping=mapping)  # type: ignore[arg-type]

    async def replication(self) -> dict[str, Any]:
        """``INFO replication`` as a dict."""
        async with self._guarded():
            info: dict[str, Any] = await self.client.info("replication")
        return info

    async def replicate_from(self, host: str, port: int) -> None:
        """Makes this Redis a replica of another (read-only)."""
        async with self._guarded():
            await self.client.execute_command("REPLICAOF", host, port)  # type: ignore[no-untyped-call]

    async def promote(self) -> None:
        """Makes this Redis a master."""
        async with self._guarded():
            await self.client.execute_command("REPLICAOF", "NO", "ONE")  # type: ignore[no-untyped-call]
