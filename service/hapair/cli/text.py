"""What the CLI prints from a unit's answers: never raw control characters (a maintenance
reason or a track detail with escape sequences would otherwise drive the terminal)."""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with every control character (and any other unprintable one) escaped."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
