"""``services.events.Events`` against real Redis servers: publishing from a replica, in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hapair.services.events import Events
from hapair.store import keys
from hapair.store.client import connect
from hapair.store.embedded import EmbeddedRedis
from hapair.store.events import EventStream
from tests.support import make_redis, poll, redis_client, restart


def _types_and_units(server: EmbeddedRedis) -> list[tuple[str, str]]:
    with redis_client(server) as c:
        raw = c.xrange(keys.EVENTS)
    return [(f[b"type"].decode(), json.loads(f[b"data"])["unit"]) for _, f in raw]


def test_publish_on_read_only_replica_buffers_then_flushes_in_order(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    # the primary's password: the replica authenticates as its masteruser/masterauth
    with make_redis(tmp_path / "replica", passwords=redis_server.passwords) as replica:
        with redis_client(replica) as c:
            c.execute_command("REPLICAOF", "127.0.0.1", redis_server.port)
            poll(
                lambda: c.info("replication")["master_link_status"] == "up",
                timeout=10,
                what="replica link up",
            )

        async def run() -> None:
            client = connect(replica.url)
            events = Events(EventStream(client, connect(replica.url, max_connections=1)))
            try:
                for unit in ("a", "b", "c"):
                    await events.publish("role", {"unit": unit})  # READONLY: kept in memory
                assert events.buffered == 3
                await client.execute_command("REPLICAOF", "NO", "ONE")  # type: ignore[no-untyped-call]
                await events.publish("role", {"unit": "d"})
                assert events.buffered == 0
                events.emit("pair", {"unit": "e"})  # the write path's variant
                await events.flush()
            finally:
                await events.close()
                await client.aclose()

        asyncio.run(run())
        assert _types_and_units(replica) == [
            ("role", "a"),
            ("role", "b"),
            ("role", "c"),
            ("role", "d"),
            ("pair", "e"),
        ]


def test_publish_never_raises_when_redis_is_gone(redis_server: EmbeddedRedis) -> None:
    async def run() -> None:
        client = connect(redis_server.url)
        events = Events(EventStream(client, connect(redis_server.url, max_connections=1)))
        try:
            redis_server.stop()
            await events.publish("maintenance", {"unit": "first", "enabled": True})
            assert events.buffered == 1
            restart(redis_server)
            await events.flush()
            assert events.buffered == 0
        finally:
            await events.close()
            await client.aclose()

    asyncio.run(run())
    assert _types_and_units(redis_server) == [("maintenance", "first")]
