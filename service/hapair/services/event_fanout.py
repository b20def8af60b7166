"""The event stream's fan-out: one reader per unit hands every new event to each client.

The reader task is blocked in ``XREAD`` on a dedicated connection and hands every new event
to each subscriber's bounded queue (or, once its backlog is sent, straight into its
connection). A subscriber whose queue is full (a slow or vanished client) is dropped, never
waited for: writers and the other clients never feel it, and the client resumes with
``Last-Event-ID``. Publishing is ``services.events.Events``, which owns one :class:`Fanout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from hapair.clock import utc_now
from hapair.domain import limits
from hapair.domain.errors import StoreUnavailable
from hapair.store.events import EventId, EventStream, StoredEvent

log = logging.getLogger("hapair.events")

QUEUE = limits.EVENTS_QUEUE
CLIENT_BUFFER = limits.EVENTS_CLIENT_BUFFER  # bytes a directly written client may leave unread
KEEPALIVE_S = limits.EVENTS_KEEPALIVE_S
# XREAD's wait: it ends within 1 s (expired on Valkey's timer, ``redis_config.HZ``), below the
# client's 1.5 s socket timeout
BLOCK_MS = 500
READY_TIMEOUT_S = 2.0
COALESCE_FROM_S = 0.0001  # a fan-out shorter than this (a few clients) is never delayed
COALESCE_S = 0.02
COALESCE_MAX_S = 0.025

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Batch:
    """Events read together by the fan-out, with their wire form encoded once for everyone."""

    events: list[StoredEvent]
    chunk: bytes

    @classmethod
    def of(cls, events: list[StoredEvent]) -> Batch:
        """A batch and its encoded frames."""
        return cls(events, b"".join(frame(e) for e in events))


class Subscription:
    """One client's bounded queue of live events.

    Two ways to reach the client. Queued: the queue holds batches (one per fan-out read) that
    the response's task writes, bounded in events. Direct (``go_direct``, once the backlog is
    sent): the fan-out writes each batch as one HTTP/1.1 chunk straight into the connection's
    transport, bounded by the bytes the transport still holds; a delivery then costs a
    ``write`` and no task wake-up, which is what lets hundreds of clients follow a write
    storm without slowing it.
    """

    def __init__(
        self, types: frozenset[str] | None, size: int, buffer_bytes: int = CLIENT_BUFFER
    ) -> None:
        self.types = types
        self.size = size
        self.buffer_bytes = buffer_bytes
        self.pending = 0
        self.queue: asyncio.Queue[Batch | None] = asyncio.Queue()
        self.dropped = False
        self.done = asyncio.Event()
        self.on_drop: Callable[[], None] | None = None
        self.transport: Any = None  # an asyncio.WriteTransport in direct mode
        self.actor: str | None = None  # ``token:<id>``: the stream ends when it is revoked
        self.expiry: asyncio.TimerHandle | None = None  # ends the stream when the token expires

    def write(self, chunk: bytes) -> bool:
        """Direct mode: one chunk of the chunked response body; False (dropped) when the
        client holds more than ``buffer_bytes`` unread or has gone."""
        transport = self.transport
        if transport.is_closing():
            self.drop()
            return False
        transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if transport.get_write_buffer_size() > self.buffer_bytes:
            self.drop()
            return False
        return True

    def go_direct(self, transport: Any, after: EventId | None) -> None:
        """Writes what is queued (past ``after``) and hands later batches to ``transport``."""
        if not self.queue.empty():
            first = self.queue.get_nowait()
            if first is None:
                self.dropped = True
                return
            chunk, _ = self.take(first, after)
            self.transport = transport
            if chunk:
                self.write(chunk)
            return
        self.transport = transport

    def wants(self, type_: str) -> bool:
        """Whether the client asked for this type."""
        return self.types is None or type_ in self.types

    def offer(self, batch: Batch) -> bool:
        """Queues a batch (only the types asked for); False (and dropped) when over the bound."""
        if self.types is not None:
            wanted = [e for e in batch.events if e.type in self.types]
            if not wanted:
                return True
            if len(wanted) != len(batch.events):
                batch = Batch.of(wanted)
        if self.transport is not None:
            return self.write(batch.chunk)
        if self.pending + len(batch.events) > self.size:
            self.drop()
            return False
        self.pending += len(batch.events)
        self.queue.put_nowait(batch)
        return True

    def take(self, first: Batch, after: EventId | None) -> tuple[bytes, EventId | None]:
        """``first`` and every batch already queued, as one chunk to write, skipping the
        events at or below ``after`` (already sent from the backlog); and the last id."""
        batches = [first]
        while not self.queue.empty():
            nxt = self.queue.get_nowait()
            if nxt is None:
                self.dropped = True
                break
            batches.append(nxt)
        self.pending -= sum(len(b.events) for b in batches)
        chunks: list[bytes] = []
        for b in batches:
            if after is not None and b.events[0].id <= after:
                newer = [e for e in b.events if e.id > after]
                if not newer:
                    continue
                b = Batch.of(newer)  # noqa: PLW2901 - the part of the batch still to send
            chunks.append(b.chunk)
            after = b.events[-1].id
        return b"".join(chunks), after

    def drop(self) -> None:
        """Ends this client's stream: its queue overflowed or the stream was replaced."""
        if self.dropped:
            return
        self.dropped = True
        self.done.set()
        self.queue.put_nowait(None)
        if self.expiry is not None:
            self.expiry.cancel()
        if self.on_drop is not None:
            with contextlib.suppress(Exception):
                self.on_drop()


CLOSE_WAIT_S = 1.0


class Fanout:
    """The unit's ``/ha/events`` clients and the reader task that feeds them."""

    def __init__(
        self,
        stream: EventStream,
        *,
        queue: int = QUEUE,
        client_buffer: int = CLIENT_BUFFER,
        block_ms: int = BLOCK_MS,
    ) -> None:
        self.stream = stream
        self.queue_size = queue
        self.client_buffer = client_buffer
        self.block_ms = block_ms
        self._subs: set[Subscription] = set()
        self._reader: asyncio.Task[None] | None = None
        self._position: EventId | None = None
        self._ready = asyncio.Event()
        self._closing = False

    def start(self) -> None:
        """Starts the fan-out reader (idempotent)."""
        if self._reader is None or self._reader.done():
            self._ready.clear()
            self._reader = asyncio.get_running_loop().create_task(
                self._read_forever(), name="hapair-events-reader"
            )

    async def close(self) -> None:
        """Stops the reader and ends every client's stream."""
        self._closing = True
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            # redis-py may turn the cancellation of a blocked XREAD into a ConnectionError
            # (which the loop retries): the loop also ends on ``_closing``, and a reader that
            # still has not ended when its connection is closed under it is left behind
            done, _ = await asyncio.wait({reader}, timeout=CLOSE_WAIT_S)
            if not done:
                with contextlib.suppress(Exception):
                    await self.stream.reader.aclose()
                done, _ = await asyncio.wait({reader}, timeout=CLOSE_WAIT_S)
            if not done:
                log.warning(
                    "event stream reader did not stop", extra={"event": "events-reader-stuck"}
                )
        for sub in list(self._subs):
            sub.drop()
        self._subs.clear()

    async def subscribe(
        self,
        types: frozenset[str] | None,
        *,
        actor: str | None = None,
        expires_in: float | None = None,
    ) -> Subscription:
        """A new client's queue of live events (every event appended from now on).

        Waits until the reader knows its position, so a backlog read after this call and the
        live events together leave no gap. StoreUnavailable when Redis does not answer.
        ``actor`` (``token:<id>``): the stream ends when that token is revoked; ``expires_in``:
        seconds until the token expires, when the stream ends too.
        """
        self.start()
        try:  # asyncio.timeout keeps a cancellation wait_for (3.11) may drop
            async with asyncio.timeout(READY_TIMEOUT_S):
                await self._ready.wait()
        except TimeoutError as exc:
            raise StoreUnavailable("the unit's Redis does not answer the event stream") from exc
        sub = Subscription(types, self.queue_size, self.client_buffer)
        sub.actor = actor
        if expires_in is not None:
            sub.expiry = asyncio.get_running_loop().call_later(max(0.0, expires_in), sub.drop)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forgets a client."""
        self._subs.discard(sub)
        if sub.expiry is not None:
            sub.expiry.cancel()

    def end_streams_of(self, token_ids: list[str]) -> None:
        """Ends at once the streams opened with these tokens (revoked)."""
        actors = {f"token:{i}" for i in token_ids}
        for sub in list(self._subs):
            if sub.actor in actors:
                self._subs.discard(sub)
                sub.drop()
                log.info("event stream of a revoked token ended", extra={"event": "events-revoked"})

    @property
    def subscribers(self) -> int:
        """Connected clients."""
        return len(self._subs)

    def _deliver(self, events: list[StoredEvent]) -> None:
        revoked = [i for e in events if e.type == "audit" and (i := revoked_token(e.data))]
        if revoked:  # before the batch: a revoked token's stream gets nothing more
            self.end_streams_of(revoked)
        batch = Batch.of(events)
        for sub in list(self._subs):
            if not sub.offer(batch):
                self._subs.discard(sub)
                log.warning(
                    "event stream client too slow: disconnected",
                    extra={"event": "events-client-dropped"},
                )

    async def _read_forever(self) -> None:
        failing = False
        last_fanout = time.perf_counter()
        while not self._closing:
            try:
                if self._position is None:
                    self._position = await self.stream.last_id()
                    self._ready.set()
                events = await self.stream.wait_after(self._position, block_ms=self.block_ms)
                if events:
                    self._position = events[-1].id
                    started = time.perf_counter()
                    self._deliver(events)
                    spent = time.perf_counter() - started
                    # back to back: these events were already waiting when the reader came
                    # back from the last fan-out (its pause included)
                    recent = started - last_fanout < COALESCE_S / 2
                    if spent > COALESCE_FROM_S and recent:
                        # Many clients and fan-outs back to back (a write storm): at most one
                        # fan-out per 20 ms (or ten times its cost, at most 25 ms), so the
                        # clients get the storm in batches (one write per client per batch)
                        # and the fan-out takes a small share of the loop from the writes.
                        # An event after a quiet spell goes at once.
                        await asyncio.sleep(min(COALESCE_MAX_S, max(COALESCE_S, spent * 10)))
                    last_fanout = time.perf_counter()
                else:
                    await self._check_replaced()
                failing = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._closing:
                    return
                if not failing:
                    log.warning(
                        "event stream reader: Redis error, retrying",
                        extra={"event": "events-reader-error", "error": type(exc).__name__},
                    )
                    failing = True
                await asyncio.sleep(0.2)

    async def _check_replaced(self) -> None:
        """After a full resync from another master the stream may end below our position."""
        last = await self.stream.last_id()
        position = self._position
        if position is not None and last < position:
            log.warning(
                "event stream replaced by a resync: clients reconnect",
                extra={"event": "events-stream-replaced"},
            )
            self._position = last
            for sub in list(self._subs):
                sub.drop()
            self._subs.clear()


class _Audit(msgspec.Struct):
    operation: str = ""
    path: str = ""


_audit_decoder = msgspec.json.Decoder(_Audit)


def revoked_token(data: bytes) -> str | None:
    """The token id an ``audit`` event's ``DELETE /tokens/{id}`` revokes; None for others.

    The audit event is written as the revocation is asked, on the active, and reaches every
    unit's stream (the standby's by replication): each unit ends that token's streams."""
    try:
        audit = _audit_decoder.decode(data)
    except msgspec.DecodeError:
        return None
    if audit.operation != "revoke_token":
        return None
    return audit.path.rpartition("/")[2] or None


def frame(event: StoredEvent) -> bytes:
    """One event in the SSE wire format."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (
        event.id_text.encode(),
        event.type.encode(),
        event.data,
    )


def reset_frame(oldest: str | None) -> bytes:
    """The ``reset`` event (no id: the client's last id stays what it was)."""
    data: dict[str, Any] = {"at": utc_now(), "oldest": oldest}
    return b"event: reset\ndata: %s\n\n" % _encode(data)
