"""Refused unit-to-unit calls cost the attacker more than the unit (SPEC 6): each is counted in
``hapair_refused_total{reason}`` and logged at most once a minute per fixed reason. The table
is keyed by the fixed reasons only (``pairauth.REASONS``), never by text a caller chose, so it
stays bounded whatever arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hapair.engine.pairlink.pairauth import REASONS

log = logging.getLogger("hapair.partner")

LOG_EVERY_S = 60.0


class Refusals:
    """Counts and logs refused unit-to-unit calls.

    Args:
        count: adds one to ``hapair_refused_total{reason}``.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self, count: Callable[[str], None], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._count = count
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._last)

    def refused(self, reason: str, **extra: object) -> None:
        """One refusal: counted; logged unless this reason was logged within the minute."""
        if reason not in REASONS:
            reason = "unsigned"  # pragma: no cover - every caller passes a fixed reason
        self._count(reason)
        now = self._clock()
        last = self._last.get(reason)
        if last is not None and now - last < LOG_EVERY_S:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return
        self._last[reason] = now
        suppressed = self._suppressed.pop(reason, 0)
        log.warning(
            "unit-to-unit call refused",
            extra={
                "event": "partner-call-refused",
                "reason": reason,
                "suppressed": suppressed,
                **extra,
            },
        )
