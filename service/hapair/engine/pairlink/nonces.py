"""The nonce window of unit-to-unit messages: each nonce is accepted once within the window of
clock difference a message may have (``WINDOW_S``), and a bounded cache remembers them.
"""

from __future__ import annotations

import secrets

WINDOW_S = 10.0
MAX_NONCES = 4096


def new_nonce() -> str:
    """128 random bits, hex."""
    return secrets.token_hex(16)


class NonceCache:
    """Nonces seen within the window, bounded: full means refuse, never forget early.

    Forgetting a nonce before its message has gone stale would let that message be replayed,
    so when the cache is full of live nonces a new message is refused instead. Only messages
    with a valid MAC are recorded, so only a holder of the pair key can fill it.
    """

    def __init__(self, *, window_s: float = WINDOW_S, max_entries: int = MAX_NONCES) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._expiry: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._expiry)

    def __contains__(self, nonce: object) -> bool:
        return nonce in self._expiry

    def add(self, nonce: str, timestamp: float, now: float) -> bool:
        """Records ``nonce``; False if it was seen already or the cache is full."""
        self._expiry = {n: t for n, t in self._expiry.items() if t >= now}
        if nonce in self._expiry or len(self._expiry) >= self.max_entries:
            return False
        # A message is accepted while |now - timestamp| <= window: keep its nonce that long.
        self._expiry[nonce] = max(timestamp, now) + self.window_s
        return True


SENT = NonceCache()  # the nonces of the calls this process sent, for the same-name rule
