"""Wall-clock time as hapair reads it, and as the API and the logs show it (RFC 3339, UTC,
milliseconds).

Every wall-clock reading of the process goes through :func:`wall`. Test hook: the setting
``clock_offset_s`` (environment ``HAPAIR_TEST_CLOCK_OFFSET_S``, seconds, may be negative) is
added to every reading, so a test can run two units whose clocks disagree by 30 s or 5 min on
one host (SPEC 5 "Clocks": the pair must work anyway). It is never meant for production.
"""

from __future__ import annotations

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
