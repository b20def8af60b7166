"""Wall-clock timestamps as the API and the logs show them (RFC 3339, UTC, milliseconds)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso(ts: float) -> str:
    """RFC 3339 UTC timestamp with milliseconds of the POSIX time ``ts``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    """RFC 3339 UTC timestamp with milliseconds, now."""
    return iso(time.time())
