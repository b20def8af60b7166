"""The pair's event stream: one Redis stream, replicated with the rest of the unit's Redis.

Event ids are the Redis stream ids as they are (``<milliseconds>-<sequence>``). Redis makes
them increase within the stream, and the stream's last id replicates with it, so a standby
that is promoted keeps appending after the last event it received.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from hapair.domain.event_ids import EventId, format_id, parse_id
from hapair.store import keys

__all__ = ["EventId", "EventStream", "StoredEvent", "format_id", "parse_id"]


@dataclass(frozen=True)
class StoredEvent:
    """One event as kept: id, type and its JSON data (``at`` included)."""

    id: EventId
    type: str
    data: bytes

    @property
    def id_text(self) -> str:
        """The id as the stream shows it."""
        return format_id(self.id)


def _decode(raw_id: Any, fields: Any) -> StoredEvent:
    """One entry as redis-py answers it (typed loosely by redis-py: RESP2 or RESP3)."""
    text = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
    eid = parse_id(text)
    assert eid is not None, text
    return StoredEvent(
        id=eid, type=fields.get(b"type", b"").decode(), data=fields.get(b"data", b"{}")
    )


class EventStream:
    """Appends to and reads the event stream of one unit's Redis.

    ``client`` is the unit's shared pool (appends and backlog reads); ``reader`` is a
    dedicated client for the blocking ``XREAD`` of the fan-out, so a blocked read never holds
    a connection other commands wait for.
    """

    def __init__(
        self, client: aioredis.Redis, reader: aioredis.Redis, *, keep: int = keys.EVENTS_KEEP
    ) -> None:
        self.client = client
        self.reader = reader
        self.keep = keep

    async def append(self, batch: list[tuple[str, bytes]]) -> list[EventId]:
        """Appends events in order (one round trip); raises RedisError (READONLY on a replica)."""
        pipe = self.client.pipeline(transaction=False)
        for type_, data in batch:
            # "~" (whole stream nodes, cheap) keeps at least ``keep``; a small ``keep`` (tests,
            # labs) is trimmed exactly, as "~" would not trim below one node (100 entries).
            pipe.xadd(
                keys.EVENTS,
                {"type": type_, "data": data},
                maxlen=self.keep,
                approximate=self.keep >= 1000,
            )
        out: Any = await pipe.execute()
        ids: list[EventId] = []
        for raw in out:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            eid = parse_id(text)
            assert eid is not None, text
            ids.append(eid)
        return ids

    async def after(self, eid: EventId, *, count: int = 500) -> list[StoredEvent]:
        """Up to ``count`` kept events with an id above ``eid``, oldest first."""
        raw: Any = await self.client.xrange(
            keys.EVENTS, min=f"({format_id(eid)}", max="+", count=count
        )
        return [_decode(i, f) for i, f in raw]

    async def bounds(self) -> tuple[EventId, EventId, bool] | None:
        """The oldest and the newest kept ids, and whether any event was ever trimmed (more
        were added than are kept); None when the stream is empty."""
        pipe = self.client.pipeline(transaction=False)
        pipe.xrange(keys.EVENTS, min="-", max="+", count=1)
        pipe.xrevrange(keys.EVENTS, max="+", min="-", count=1)
        pipe.xlen(keys.EVENTS)
        pipe.xinfo_stream(keys.EVENTS)
        found: Any = await pipe.execute(raise_on_error=False)
        first, last, length, info = found
        if not first or not last or isinstance(length, Exception):
            return None
        # XINFO's entries-added counts every XADD ever (replicated and kept in the RDB with the
        # stream); a server without it counts as trimmed, which only costs a client a reset
        added = info.get("entries-added") if isinstance(info, dict) else None
        trimmed = not isinstance(added, int) or added > int(length)
        return _decode(*first[0]).id, _decode(*last[0]).id, trimmed

    async def last_id(self) -> EventId:
        """The newest kept id, ``(0, 0)`` for an empty stream (read on the reader connection)."""
        raw: Any = await self.reader.xrevrange(keys.EVENTS, max="+", min="-", count=1)
        return _decode(*raw[0]).id if raw else (0, 0)

    async def wait_after(self, eid: EventId, *, block_ms: int) -> list[StoredEvent]:
        """Events above ``eid``, waiting up to ``block_ms`` for the first (the fan-out's read)."""
        raw: Any = await self.reader.xread(
            {keys.EVENTS: format_id(eid)}, count=1000, block=block_ms
        )
        if not raw:
            return []
        return [_decode(i, f) for i, f in raw[0][1]]
