"""The store's fail-fast probe (``store.client.Link``) against a real Redis: a Redis that stops
answering fails commands at once, an event loop that was merely busy does not."""

from __future__ import annotations

import asyncio
import time

import pytest

from hapair.domain.errors import StoreUnavailable
from hapair.store.client import DOWN_AFTER_S, Link, connect
from hapair.store.embedded import EmbeddedRedis


async def _probing(server: EmbeddedRedis) -> Link:
    link = Link(connect(server.url))
    link.start_probe()
    deadline = time.monotonic() + 10
    while not link.recently_ok():
        assert time.monotonic() < deadline, "the probe never reached Redis"
        await asyncio.sleep(0.02)
    return link


async def _close(link: Link) -> None:
    await link.stop_probe()
    await link.client.aclose()


def test_a_loop_busy_for_over_a_second_is_no_redis_outage(redis_server: EmbeddedRedis) -> None:
    """The loop blocked past ``DOWN_AFTER_S`` (a large page serialised on a loaded host): the
    probe did not run, yet Redis answers; the next command must be tried, not answered 503
    (it was, in the in-process tier: test_history_keeps_last_1000_revisions)."""

    async def main() -> None:
        link = await _probing(redis_server)
        try:
            # blocks the loop on purpose: the stall is what is tested
            time.sleep(DOWN_AFTER_S + 0.3)  # noqa: ASYNC251
            link.fail_fast_if_down()
            assert await link.ping()
        finally:
            await _close(link)

    asyncio.run(main())


def test_a_stopped_redis_fails_commands_at_once(redis_server: EmbeddedRedis) -> None:

    async def main() -> None:
        link = await _probing(redis_server)
        try:
            redis_server.stop()
            deadline = time.monotonic() + 10
            while True:
                try:
                    link.fail_fast_if_down()
                except StoreUnavailable:
                    break
                assert time.monotonic() < deadline, "the probe never noticed Redis gone"
                await asyncio.sleep(0.05)
            with pytest.raises(StoreUnavailable):
                await link.ping()
        finally:
            await _close(link)

    asyncio.run(main())
