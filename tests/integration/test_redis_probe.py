"""The store's liveness probe pings only when nothing else answered lately (issue 23's idle
cost): a unit reading every 0.05 s sends no PING; an idle one still learns within
``DOWN_AFTER_S`` that its Redis is gone, and fails fast (the SPEC 7 Redis-down figures are
``test_redis_down``'s)."""

from __future__ import annotations

import asyncio

import pytest

from hapair.domain.errors import StoreUnavailable
from hapair.store import client as store_client
from hapair.store.client import connect
from hapair.store.embedded import EmbeddedRedis
from hapair.store.redis import Store
from tests.support import kill9, redis_client

pytestmark = pytest.mark.timeout(60)


def pings(server: EmbeddedRedis) -> int:
    with redis_client(server) as c:
        stats = c.info("commandstats")
    return int(stats.get("cmdstat_ping", {}).get("calls", 0))


def test_probe_pings_only_when_nothing_answered_lately(redis_server: EmbeddedRedis) -> None:
    async def run() -> tuple[int, int]:
        store = Store(connect(redis_server.url))
        store.start_probe()
        try:
            await store.read()
            before = pings(redis_server)
            for _ in range(60):  # 3 s of reads every 0.05 s: each one an answer
                await store.read()
                await asyncio.sleep(0.05)
            busy = pings(redis_server) - before
            before = pings(redis_server)
            await asyncio.sleep(3)  # 3 s of nothing: the probe's own pace
            idle = pings(redis_server) - before
            return busy, idle
        finally:
            await store.link.stop_probe()
            await store.close()

    busy, idle = asyncio.run(run())
    assert busy <= 1, busy  # 15 before: a PING every 0.2 s whatever else answered
    assert 1 <= idle <= 8, idle  # on each QUIET_S (0.5 s) beat with nothing else


def test_idle_probe_still_finds_redis_gone(redis_server: EmbeddedRedis) -> None:
    async def run() -> None:
        store = Store(connect(redis_server.url))
        store.start_probe()
        try:
            await store.read()
            kill9(redis_server)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while True:  # polled with a deadline: the probe's silence turns into fail-fast
                try:
                    store.link.fail_fast_if_down()
                except StoreUnavailable:
                    break
                assert loop.time() < deadline, "the probe never found Redis gone"
                await asyncio.sleep(0.05)
            assert not store.link.recently_ok(store_client.DOWN_AFTER_S)
        finally:
            await store.link.stop_probe()
            await store.close()

    asyncio.run(run())


def test_a_stop_ends_the_probe_even_when_its_ping_does_not_end_by_a_cancellation() -> None:
    """A unit's stop waits for the probe: it ends even when the PING under way turns the
    cancellation into a ConnectionError (redis-py may), which the loop took as "Redis down" and
    went on, so the stop hung for ever after the listeners stopped. Here a server that accepts
    and never answers holds the PING; the probe's loop swallows what ends it as Redis errors."""

    async def run() -> bool:
        held: list[asyncio.StreamWriter] = []

        async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # accepted, never answered

        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        link = store_client.Link(connect(f"redis://127.0.0.1:{port}/0"))
        link.start_probe(interval=0.05, timeout=30)
        await asyncio.sleep(0.3)  # the PING is on the wire, unanswered
        probe = link._probe
        assert probe is not None
        stop = asyncio.create_task(link.stop_probe())
        # a hang detector, not a stopwatch: the stop ends at the probe's next step
        done, _ = await asyncio.wait({stop}, timeout=10)
        await link.client.aclose()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
        return stop in done and probe.done()

    assert asyncio.run(run()), "the stop waited for a probe that went on"


def test_probe_pings_on_a_connection_of_its_own(redis_server: EmbeddedRedis) -> None:
    """The probe's PINGs go over one connection of its own (cheaper than the pool's path,
    issue 23's idle cost), made once and kept across PINGs; the probe's stop closes it."""

    def clients() -> int:
        with redis_client(redis_server) as c:
            return int(c.info("clients")["connected_clients"])  # this one included

    async def until(what: str, ok: object) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not ok():  # type: ignore[operator]
            assert loop.time() < deadline, what
            await asyncio.sleep(0.05)

    async def run() -> None:
        alone = clients()
        link = store_client.Link(connect(redis_server.url))
        before = pings(redis_server)
        link.start_probe()
        try:
            await until("a PING answered", lambda: pings(redis_server) > before)
            assert clients() == alone + 1
            before = pings(redis_server)
            await until("three PINGs more", lambda: pings(redis_server) >= before + 3)
            assert clients() == alone + 1  # the same connection
            assert link.failures == 0
        finally:
            await link.stop_probe()
        await until("the probe's connection closed", lambda: clients() == alone)
        await link.client.aclose()

    asyncio.run(run())
