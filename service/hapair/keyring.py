"""The pair key in force, the next one, and the one just replaced: what the unit-to-unit MAC
signs with and accepts (SPEC 6 "Rotation without downtime").

A unit signs with its current key and accepts its current and its next key, so two units whose
keys are K0 and next K1 talk whichever of them has switched to K1 first. After a switch the key
it replaced is still accepted for ``GRACE_S`` (the MAC's window: a message signed before the
switch is stale after that anyway), then refused.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

GRACE_S = 10.0  # the MAC window (engine/pairlink/pairauth.py WINDOW_S)


def key_id(key: str) -> str:
    """A key's public name: 16 hex digits of an HMAC of it (shows no key material)."""
    return hmac.new(key.encode(), b"hapair-key-id", hashlib.sha256).hexdigest()[:16]


class Keyring:
    """The pair keys of one unit (the same object for every signer of the process)."""

    def __init__(
        self,
        current: str,
        next_key: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.current = current
        self.next = next_key if next_key != current else None
        self.clock = clock
        self._previous: tuple[str, float] | None = None
        # called after every change of the keys (SIGHUP, a rotation): the embedded Redis's
        # passwords follow them (store/redis_rotation.py)
        self.listeners: list[Callable[[], None]] = []

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

    @property
    def current_id(self) -> str:
        """The id of the key this unit signs with."""
        return key_id(self.current)

    @property
    def next_id(self) -> str | None:
        """The id of the next key, or None."""
        return key_id(self.next) if self.next else None

    def accepted(self) -> list[str]:
        """The keys a message may be signed with: current, next, and the replaced one for
        ``GRACE_S`` after a rotation."""
        keys = [self.current]
        if self.next and self.next != self.current:
            keys.append(self.next)
        if self._previous is not None:
            key, until = self._previous
            if self.clock() < until:
                keys.append(key)
            else:
                self._previous = None
        return keys

    def set_next(self, next_key: str | None) -> bool:
        """A new next key (SIGHUP); returns whether it changed."""
        changed = next_key != self.next
        self.next = next_key
        if changed:
            self._changed()
        return changed

    def set_current(self, key: str) -> bool:
        """The current key as its file now says (SIGHUP after a rotation); the one it replaces
        stays accepted for ``GRACE_S``. Returns whether it changed."""
        if key == self.current:
            return False
        self._previous = (self.current, self.clock() + GRACE_S)
        self.current = key
        if self.next == key:
            self.next = None
        self._changed()
        return True

    def rotate(self) -> str:
        """Switches to the next key; returns its id.

        Raises:
            ValueError: There is no next key.
        """
        if not self.next:
            raise ValueError("no next pair key")
        self.set_current(self.next)
        return self.current_id
