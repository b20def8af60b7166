"""Event ids: the Redis stream ids as they are (``<milliseconds>-<sequence>``), compared as
pairs; what ``since`` and ``Last-Event-ID`` name."""

from __future__ import annotations

import re

_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?", re.ASCII)
_U64 = 2**64 - 1


def _class_of(chars: str) -> str:
    """A regex character class of ``chars`` as ``\\uXXXX`` escapes (ECMA-262 and Python)."""
    return "[" + "".join(f"\\u{ord(c):04x}" for c in chars) + "]"


def _at_most(limit: int) -> str:
    """A regex for the decimal numbers 0..``limit`` written with at most as many digits."""
    text = str(limit)
    width = len(text)
    shorter = f"[0-9]{{1,{width - 1}}}" if width > 1 else None
    same = [
        text[:i] + f"[0-{int(d) - 1}]" + f"[0-9]{{{width - i - 1}}}"
        for i, d in enumerate(text)
        if d != "0"
    ]
    return "(?:" + "|".join([*([shorter] if shorter else []), *same, text]) + ")"


WHITESPACE = "".join(c for c in map(chr, range(0x80)) if c.isspace())
"""The ASCII characters ``str.strip()`` removes: the whitespace an id or a type may carry around
it. Not the other Unicode spaces (U+0085, U+2028, ...): no client sends them, and a pattern
holding them cannot be drawn from by schemathesis, which reads patterns as ECMA-262 with ASCII
classes (a positive case then carried a refused value: ST202 on the event stream)."""
WS = _class_of(WHITESPACE)
"""``WHITESPACE`` as a regex character class."""
_PART = _at_most(_U64)
EVENT_ID_PATTERN = rf"^{WS}*{_PART}(?:-{_PART})?{WS}*$"
"""Exactly the texts ``parse_id`` accepts, as the OpenAPI document states them."""

EventId = tuple[int, int]
"""A stream id as a comparable pair (milliseconds, sequence)."""


def parse_id(text: str) -> EventId | None:
    """The id ``<ms>-<seq>`` (or ``<ms>``, sequence 0) as a pair; None when it is not one."""
    found = _ID.fullmatch(text.strip(WHITESPACE))
    if found is None:
        return None
    ms, seq = int(found.group(1)), int(found.group(2) or 0)
    if ms > _U64 or seq > _U64:
        return None
    return ms, seq


def format_id(eid: EventId) -> str:
    """The text form of an id."""
    return f"{eid[0]}-{eid[1]}"
