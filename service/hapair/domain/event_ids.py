"""Event ids: the Redis stream ids as they are (``<milliseconds>-<sequence>``), compared as
pairs; what ``since`` and ``Last-Event-ID`` name."""

from __future__ import annotations

import re

_ID = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")
_U64 = 2**64 - 1

EventId = tuple[int, int]
"""A stream id as a comparable pair (milliseconds, sequence)."""


def parse_id(text: str) -> EventId | None:
    """The id ``<ms>-<seq>`` (or ``<ms>``, sequence 0) as a pair; None when it is not one."""
    found = _ID.match(text.strip())
    if found is None:
        return None
    ms, seq = int(found.group(1)), int(found.group(2) or 0)
    if ms > _U64 or seq > _U64:
        return None
    return ms, seq


def format_id(eid: EventId) -> str:
    """The text form of an id."""
    return f"{eid[0]}-{eid[1]}"
