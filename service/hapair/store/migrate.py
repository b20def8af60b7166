"""Migrating stored records to this build's schema (SPEC 5 "Versions", ``records.py``).

A newer unit rewrites the records an older one stored (schema below ``records.SCHEMA``) when
its Redis is the master: at boot, and when it becomes active (a standby's Redis is a read-only
replica; the active's rewrite replicates to it). A record of a newer schema is never rewritten.
Each key is rewritten in one ``WATCH``/``MULTI``/``EXEC`` transaction: a write committed
meanwhile aborts it (the next boot or promotion migrates what is left), so nothing a writer
committed is ever overwritten with older content.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from redis.exceptions import WatchError

from hapair.store import keys, records
from hapair.store.client import Link
from hapair.store.conflicts import ConflictEntry
from hapair.store.parameters import HistoryEntry, StoredParameters
from hapair.store.tokens import TokenRecord

log = logging.getLogger("hapair.store")


def upgraded(raw: bytes | str, type_: type[Any]) -> bytes | None:
    """``raw`` rewritten at this build's schema, or None when it needs no rewrite (current or
    newer schema) or is not a record of that type (left as it is)."""
    try:
        found = records.decode(raw, type_)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if found.schema >= records.SCHEMA:
        return None
    return records.encode(found.value, found.extra)


async def migrate(link: Link) -> int:
    """Rewrites this Redis's older records at this build's schema; how many were rewritten."""
    done = 0
    async with link.guard():
        client = link.client
        async with client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(keys.PARAMETERS)
                raw = await pipe.get(keys.PARAMETERS)
                new = None if raw is None else upgraded(raw, StoredParameters)
                if new is not None:
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(keys.PARAMETERS, new)
                    link.wrote()
                    await pipe.execute()
                    done += 1
            except WatchError:
                pass
        async with client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(keys.HISTORY)
                entries: list[tuple[bytes, float]] = await pipe.zrange(  # type: ignore[assignment]
                    keys.HISTORY, 0, -1, withscores=True
                )
                rewrites = [
                    (old, new, score)
                    for old, score in entries
                    if (new := upgraded(old, HistoryEntry)) is not None
                ]
                if rewrites:
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.zrem(keys.HISTORY, *[old for old, _, _ in rewrites])
                    pipe.zadd(keys.HISTORY, {new: score for _, new, score in rewrites})
                    await pipe.execute()
                    done += len(rewrites)
            except WatchError:
                pass
        for key, type_ in ((keys.TOKENS, TokenRecord), (keys.CONFLICTS, ConflictEntry)):
            async with client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    found = await pipe.hgetall(key)
                    mapping = {
                        f: new for f, v in found.items() if (new := upgraded(v, type_)) is not None
                    }
                    if mapping:
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
                        await pipe.execute()
                        done += len(mapping)
                except WatchError:
                    pass
    if done:
        log.info(
            "records migrated",
            extra={"event": "records-migrated", "records": done, "schema": records.SCHEMA},
        )
    return done
