"""Wall-clock time as hapair reads it, and as the API and the logs show it (RFC 3339, UTC,
milliseconds).

Every wall-clock reading of the process goes through :func:`wall`. Test hook: the setting
``clock_offset_s`` (environment ``HAPAIR_TEST_CLOCK_OFFSET_S``, seconds, may be negative) is
added to every reading, so a test can run two units whose clocks disagree by 30 s or 5 min on
one host (SPEC 5 "Clocks": the pair must work anyway). It is never meant for production.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime

_offset = 0.0


def set_offset(seconds: float) -> None:
    """Sets the test hook's clock offset (``HAPAIR_TEST_CLOCK_OFFSET_S``) for this process."""
    global _offset  # noqa: PLW0603 - one process-wide clock, set once at start
    _offset = float(seconds)


def wall() -> float:
    """POSIX seconds now, by this unit's clock (the test offset included)."""
    return time.time() + _offset


def iso(ts: float) -> str:
    """RFC 3339 UTC timestamp with milliseconds of the POSIX time ``ts``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def posix(text: str) -> float:
    """The POSIX time of an RFC 3339 timestamp (``iso``'s inverse: ``iso(posix(x)) == x``)."""
    return datetime.fromisoformat(text).timestamp()


def utc_now() -> str:
    """RFC 3339 UTC timestamp with milliseconds, now."""
    return iso(wall())


def next_beat(now: float, period: float) -> float:
    """The first multiple of ``period`` after ``now`` (seconds of the monotonic clock, which is
    also the event loop's): when a unit's periodic work wakes next.

    Each periodic task of a unit (the engine's tick, the Redis probe, the data plane's look,
    the listeners' ``Date`` header) sleeps to a beat instead of ``period`` after its own last
    run, so they all wake the process in the same turn of the loop instead of each at a phase
    of its own (issue 23's idle cost: on these virtual machines a wake-up costs 0.1-0.2 ms of
    CPU, more than most of the work it wakes for). Multiples of one period are multiples of
    the periods that divide it: the probe's half second falls on every tick of a 1 s heartbeat.
    """
    return (math.floor(now / period + 1e-6) + 1) * period


async def sleep_to_beat(period: float, after: float = 0.0) -> None:
    """Sleeps to the next beat of ``period`` (``next_beat``) at least ``after`` seconds from now,
    on the running loop's own clock (uvloop's is the monotonic clock in milliseconds, read once
    a turn): the timers of every task that sleeps to the same beat come due in the same
    millisecond."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    await asyncio.sleep(next_beat(now + after, period) - now)
