"""``Store.read_if_changed``, the engine tick's read (issue 23 point 5: no parameters read per
tick when nothing changed), against real Redis servers: the same snapshot while nothing can
have changed, a read again after a write through this client, a replicated write, a
REPLICAOF, ``FULL_READ_EVERY`` calls, or a silence of Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from hapair.domain.errors import StoreUnavailable
from hapair.domain.parameters import HAParameters
from hapair.store import keys, replication
from hapair.store import redis as store_redis
from hapair.store.client import connect
from hapair.store.embedded import EmbeddedRedis
from hapair.store.redis import Store
from tests.support import kill9, make_redis, poll, redis_client, restart

pytestmark = pytest.mark.timeout(60)


def link_up(server: EmbeddedRedis) -> bool:
    with redis_client(server) as c:
        return bool(c.info("replication")["master_link_status"] == "up")


def calls(server: EmbeddedRedis, command: str) -> int:
    """How many times ``server`` ran ``command`` so far (``INFO commandstats``)."""
    with redis_client(server) as c:
        stats = c.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def commit(store: Store, ha_timeout: int) -> int:
    rev = await store.revision()
    new = await store.commit(
        expected=rev,
        params=HAParameters(ha_timeout=ha_timeout),  # type: ignore[arg-type]
        changes={"ha_timeout": [None, ha_timeout]},
        actor="test",
        now="2026-12-03T00:00:00Z",
    )
    assert new == rev + 1
    return new


def test_master_reads_again_only_after_a_write_or_every_few_calls(
    redis_server: EmbeddedRedis,
) -> None:
    async def run() -> None:
        store = Store(connect(redis_server.url))
        store.start_probe()
        try:
            first = await store.read_if_changed()
            assert (await store.replication())["role"] == "master"  # what the active knows
            first = await store.read_if_changed()  # the read after ROLE said master
            before = calls(redis_server, "mget")
            for _ in range(store_redis.FULL_READ_EVERY - 1):
                assert await store.read_if_changed() is first
            assert calls(redis_server, "mget") == before  # no MGET for those
            again = await store.read_if_changed()  # the FULL_READ_EVERY-th: read anyway
            assert again is not first and calls(redis_server, "mget") == before + 1
            revision = await commit(store, 6)  # through this client: counted before its EXEC
            after = await store.read_if_changed()
            assert after.revision == revision and after.params.ha_timeout == 6
            assert await store.read_if_changed() is after
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20

            async def until(what: str, check: Callable[[], bool]) -> None:
                while not check():
                    assert loop.time() < deadline, what
                    await asyncio.sleep(0.05)

            kill9(redis_server)  # a crash, and a restart before the next tick
            await until("the probe never saw Redis gone", lambda: store.link.failures > 0)
            restart(redis_server)
            await until("the probe never saw Redis back", store.link.recently_ok)
            back = await store.read_if_changed()  # from its append-only file: read again
            assert back is not after and back.revision == revision
            kill9(redis_server)
            while True:  # Redis gone for good: a read, and it fails
                try:
                    got = await store.read_if_changed()
                except StoreUnavailable:
                    break
                assert got is back
                assert loop.time() < deadline, "a dead Redis was never read again"
                await asyncio.sleep(0.05)
        finally:
            await store.link.stop_probe()
            await store.close()

    asyncio.run(run())


def revision_of(server: EmbeddedRedis) -> int:
    with redis_client(server) as c:
        return int(c.get(keys.REVISION) or 0)


def test_replica_reads_again_when_its_offset_moved(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    """A replica's read asks ROLE itself: a write replicated after the tick's last ROLE (its
    replication action's) is read at the next call, not a tick later; the action then takes
    that ROLE's answer again, so the standby still asks once a tick."""
    with make_redis(tmp_path / "replica", passwords=redis_server.passwords) as replica:

        async def run() -> None:
            master = Store(connect(redis_server.url))
            store = Store(connect(replica.url))
            store.start_probe()
            try:
                await store.replicate_from("127.0.0.1", redis_server.port)
                await asyncio.to_thread(
                    poll, lambda: link_up(replica), timeout=10, what="replica link up"
                )
                # two ticks as the standby runs them: its read, then its replication action
                await store.replication()  # the tick before: its action asked ROLE
                first = await store.read_if_changed()
                await store.replication(replication.ROLE_REUSE_S)
                asked = calls(replica, "role")
                seen = await store.read_if_changed()  # ROLE: the same offset
                assert seen is first
                assert calls(replica, "role") == asked + 1
                await store.replication(replication.ROLE_REUSE_S)
                assert calls(replica, "role") == asked + 1  # the action took the read's answer
                revision = await commit(master, 12)  # written after the tick's last ROLE
                await asyncio.to_thread(
                    poll,
                    lambda: revision_of(replica) == revision,
                    timeout=10,
                    what="the write on the replica",
                )
                got = await store.read_if_changed()  # the very next call reads it
                assert (got.revision, got.params.ha_timeout) == (revision, 12)
                assert await store.read_if_changed() is got
                await store.promote()  # REPLICAOF: read again
                assert await store.read_if_changed() is not got
            finally:
                await store.link.stop_probe()
                await store.close()
                await master.close()

        asyncio.run(run())
