"""The pair's event stream (SPEC 5a): publishing; the clients' fan-out is ``event_fanout``.

Only the active unit's Redis accepts writes (a standby's is a read-only replica), so an event
is appended by the unit whose Redis is writable; the others keep theirs in a bounded buffer
and append it, in order, once their Redis takes writes (the engine calls ``flush()`` when the
unit becomes active). Appended events replicate with the rest of the Redis.

Clients are served by :class:`~hapair.services.event_fanout.Fanout` (one reader per unit,
bounded per-client queues); ``Events`` owns it and answers for it, so the API needs only
``Events``. ``Subscription``, ``frame`` and ``reset_frame`` stay importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import msgspec
from redis.exceptions import RedisError

from hapair.clock import utc_now
from hapair.domain.errors import StoreUnavailable
from hapair.services.event_fanout import (
    BLOCK_MS,
    CLIENT_BUFFER,
    KEEPALIVE_S,
    QUEUE,
    Batch,
    Fanout,
    Subscription,
    frame,
    reset_frame,
)
from hapair.store.events import EventId, EventStream, StoredEvent

__all__ = [
    "APPEND_BATCH",
    "BLOCK_MS",
    "BUFFER",
    "CLIENT_BUFFER",
    "KEEPALIVE_S",
    "QUEUE",
    "TYPES",
    "Batch",
    "Events",
    "Subscription",
    "frame",
    "reset_frame",
]

log = logging.getLogger("hapair.events")

TYPES = frozenset(
    {"revision", "role", "pair", "conflict", "maintenance", "applied", "track", "audit", "alert"}
)
"""The event types a unit publishes (``reset`` is sent to one client, never kept)."""

BUFFER = 1000
APPEND_BATCH = 200

_encode = msgspec.json.Encoder().encode


class Events:
    """Publishes the pair's events and serves them to the unit's ``/ha/events`` clients."""

    def __init__(
        self,
        stream: EventStream,
        *,
        buffer: int = BUFFER,
        queue: int = QUEUE,
        client_buffer: int = CLIENT_BUFFER,
        keepalive_s: float = KEEPALIVE_S,
        block_ms: int = BLOCK_MS,
    ) -> None:
        self.stream = stream
        self.queue_size = queue
        self.client_buffer = client_buffer
        self.keepalive_s = keepalive_s
        self.block_ms = block_ms
        self.fanout = Fanout(stream, queue=queue, client_buffer=client_buffer, block_ms=block_ms)
        self._pending: deque[tuple[str, bytes]] = deque()
        self._buffer = buffer
        self._lock = asyncio.Lock()
        self._flush_scheduled = False
        self._flush_tasks: set[asyncio.Task[None]] = set()
        self._warned = False

    # ---- publishing ----------------------------------------------------------------------

    def _queue(self, type_: str, data: dict[str, object], at: str | None) -> None:
        payload = _encode({"at": at or utc_now(), **data})
        if len(self._pending) >= self._buffer:
            dropped = self._pending.popleft()
            log.warning(
                "event buffer full: oldest unpublished event dropped",
                extra={"event": "events-buffer-full", "type": dropped[0]},
            )
        self._pending.append((type_, payload))

    def emit(self, type: str, data: dict[str, object], *, at: str | None = None) -> None:
        """``publish`` without waiting: the append runs in a background task, in order.

        For the write path: it costs the caller a buffer append.
        """
        self._queue(type, data, at)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            task = asyncio.get_running_loop().create_task(self._scheduled_flush())
            self._flush_tasks.add(task)
            task.add_done_callback(self._flush_tasks.discard)

    async def _scheduled_flush(self) -> None:
        # Cleared before flushing: an event queued from here on schedules another flush,
        # so none is left behind once this one has looked at the buffer.
        self._flush_scheduled = False
        await self.flush()

    async def publish(self, type: str, data: dict[str, object], *, at: str | None = None) -> None:
        """Appends an event, after any still buffered; never raises.

        Args:
            type: ``revision``, ``role``, ``pair``, ``conflict``, ``maintenance``,
                ``applied`` or ``alert``.
            data: The event's fields (``at`` is added: ``at`` or now, RFC 3339).
            at: When it happened; now when omitted.

        When this unit's Redis does not take writes (a read-only replica, or unreachable) the
        event stays in a bounded buffer (``BUFFER``, oldest dropped first) and is appended
        by the next successful ``publish`` or ``flush``.
        """
        self._queue(type, data, at)
        await self.flush()

    async def flush(self) -> None:
        """Appends the buffered events in order; never raises (logs a warning)."""
        async with self._lock:
            while self._pending:
                batch = list(self._pending)[:APPEND_BATCH]
                try:
                    await self.stream.append(batch)
                except (RedisError, OSError, StoreUnavailable) as exc:
                    if not self._warned:
                        log.warning(
                            "events kept in memory: this unit's Redis takes no writes",
                            extra={
                                "event": "events-buffered",
                                "error": type(exc).__name__,
                                "buffered": len(self._pending),
                            },
                        )
                        self._warned = True
                    return
                self._warned = False
                for _ in batch:
                    self._pending.popleft()

    async def append_to(self, client: Any, type: str, data: dict[str, object]) -> None:
        """Appends one event to another Redis's stream (the active's, from a unit whose own
        Redis is a replica): raises RedisError when it cannot."""
        payload = _encode({"at": utc_now(), **data})
        await EventStream(client, client, keep=self.stream.keep).append([(type, payload)])

    @property
    def buffered(self) -> int:
        """Events waiting for a writable Redis."""
        return len(self._pending)

    # ---- serving -------------------------------------------------------------------------

    def start(self) -> None:
        """Starts the fan-out reader (idempotent)."""
        self.fanout.start()

    async def close(self) -> None:
        """Stops the reader, ends every client's stream, tries a last flush."""
        await self.fanout.close()
        for task in list(self._flush_tasks):
            with contextlib.suppress(Exception):
                await task
        with contextlib.suppress(Exception):
            await self.stream.reader.aclose()

    async def subscribe(
        self,
        types: frozenset[str] | None,
        *,
        actor: str | None = None,
        expires_in: float | None = None,
    ) -> Subscription:
        """A new client's queue of live events (see :meth:`Fanout.subscribe`)."""
        return await self.fanout.subscribe(types, actor=actor, expires_in=expires_in)

    def end_streams_of(self, token_ids: list[str]) -> None:
        """Ends the streams of these (revoked) tokens at once."""
        self.fanout.end_streams_of(token_ids)

    def unsubscribe(self, sub: Subscription) -> None:
        """Forgets a client."""
        self.fanout.unsubscribe(sub)

    @property
    def subscribers(self) -> int:
        """Connected clients."""
        return self.fanout.subscribers

    async def after(self, eid: EventId, *, count: int = 500) -> list[StoredEvent]:
        """Kept events above ``eid``, oldest first (StoreUnavailable if Redis does not answer)."""
        try:
            return await self.stream.after(eid, count=count)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(
                f"the unit's Redis is unreachable: {type(exc).__name__}"
            ) from exc

    async def bounds(self) -> tuple[EventId, EventId, bool] | None:
        """Oldest and newest kept ids and whether any event was ever trimmed, None for an empty
        stream."""
        try:
            return await self.stream.bounds()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(
                f"the unit's Redis is unreachable: {type(exc).__name__}"
            ) from exc
