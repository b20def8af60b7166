"""The system clock: ``time.monotonic`` for events, ``hapair.clock.wall`` for the wall."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hapair import clock
from hapair.engine.ports import Timer


class SystemClock:
    """Time as the process reads it; timers on the running event loop."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return clock.wall()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_to_beat(self, period: float, after: float = 0.0) -> None:
        await clock.sleep_to_beat(period, after)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)
