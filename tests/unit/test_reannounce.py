"""The re-announce (issue 23 point 3) is not sent by a unit that stood still over it: after a
SIGSTOP past its lease, a resumed former active announcing its address would point the clients
back at its host while the partner serves (tests/integration/test_two_hosts.py saw the client's
neighbour entry left on the resumed unit's MAC). The loop standing still is a real blocking
sleep on the loop's thread; the virtual IP is on an interface that does not exist, so an
announce that went ahead shows as ``announce-failed``."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hapair.engine.netif.shared import LATE_S, SharedAddress
from hapair.engine.netif.vip import VirtualIP
from hapair.settings import Settings


def run_reannounce(stand_still: float) -> None:
    async def main() -> None:
        shared = SharedAddress(Settings(), lambda coro, name: asyncio.ensure_future(coro))
        vip = VirtualIP("192.0.2.10", "hapair-nosuch0", 24)
        shared._vip, shared._held = vip, 1
        task = asyncio.create_task(shared._announce_later(vip, 1, 0.05))
        await asyncio.sleep(0)  # the re-announce's wait has started
        time.sleep(stand_still)  # noqa: ASYNC251 (the process stands still: a SIGSTOP)
        await task

    asyncio.run(main())


def test_no_reannounce_after_standing_still(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hapair.engine")
    run_reannounce(LATE_S + 0.5)
    events = [getattr(r, "event", None) for r in caplog.records]
    assert "reannounce-skipped" in events, events
    assert "announce-failed" not in events and "announce" not in events, events


def test_reannounce_goes_ahead_on_time(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hapair.engine")
    run_reannounce(0.0)
    events = [getattr(r, "event", None) for r in caplog.records]
    assert "reannounce-skipped" not in events, events
