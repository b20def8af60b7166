"""Unit-to-unit authentication (SPEC section 6, "Unit to unit").

Every call and every answer between the two units carries an HMAC-SHA256 under a key derived
from the pair key (the pair key itself never crosses the wire and is not used directly, so the
same key can safely derive other secrets). The MAC covers the direction (call or answer), the
method, the path, the sender and recipient unit names, a timestamp, a nonce and a digest of
the body:

- a call is accepted only from the configured partner, addressed to this unit, within
  :data:`WINDOW_S` of this unit's clock, and only once (its nonce is remembered for the window);
- an answer is bound to its call: same method and path, sender and recipient swapped, the
  call's nonce, a fresh timestamp. A captured answer cannot be replayed as a call (direction)
  nor as the answer to another call (nonce).

A call that claims to come from this unit itself is refused. One case is told apart, so that
two units configured in the same mode still see it (status ``same-mode``): a call signed with
the pair key by a unit that calls itself by this unit's name, addressed to the partner's name,
fresh and with a nonce this process never sent (so not a reflection of one of its own calls)
raises :class:`SameName`, still a refusal.

The nonce window is ``engine/nonces.py``; the rule that a unit uses only Redis addresses on
its partner's host, :func:`redis_on_partner_host`, is ``engine/hosts.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections.abc import Callable, Mapping

from hapair.engine.hosts import redis_on_partner_host
from hapair.engine.nonces import SENT, WINDOW_S, NonceCache, new_nonce
from hapair.keyring import Keyring

__all__ = [
    "ANSWER",
    "CALL",
    "FROM_HEADER",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TO_HEADER",
    "WINDOW_S",
    "AuthFailed",
    "NonceCache",
    "PairAuth",
    "SameName",
    "derive_key",
    "mac",
    "new_nonce",
    "partner_name",
    "redis_on_partner_host",
]

FROM_HEADER = "x-hapair-from"
TO_HEADER = "x-hapair-to"
TIMESTAMP_HEADER = "x-hapair-timestamp"
NONCE_HEADER = "x-hapair-nonce"
SIGNATURE_HEADER = "x-hapair-signature"

UNITS = ("first", "second")
CALL = "call"
ANSWER = "answer"

_KEY_LABEL = b"hapair/unit-to-unit/hmac-sha256/v1"
_NONCE_RE = re.compile(r"[0-9a-f]{32}")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}\.[0-9]{3}")


class AuthFailed(Exception):
    """A unit-to-unit message is not authentic, not fresh, replayed or misaddressed."""


class SameName(AuthFailed):
    """A holder of the pair key calls itself by this unit's name: both units have one mode.

    The call is refused like any other that claims to come from this unit itself; it is only
    evidence of the misconfiguration (never a reflection: its nonce was not sent from here).
    """


def derive_key(pair_key: str) -> bytes:
    """The MAC key: HMAC-SHA256 of a fixed label under the pair key."""
    return hmac.new(pair_key.encode(), _KEY_LABEL, hashlib.sha256).digest()


def partner_name(own: str) -> str | None:
    """The other unit's name (``first`` <-> ``second``), None for a non-HA unit."""
    if own not in UNITS:
        return None
    return UNITS[1] if own == UNITS[0] else UNITS[0]


def mac(
    key: bytes,
    *,
    kind: str,
    method: str,
    path: str,
    sender: str,
    recipient: str,
    timestamp: str,
    nonce: str,
    body: bytes,
) -> str:
    """The hex MAC of one message (fields length-prefixed: none can bleed into another)."""
    parts = (
        kind,
        method.upper(),
        path,
        sender,
        recipient,
        timestamp,
        nonce,
        hashlib.sha256(body).hexdigest(),
    )
    message = b"".join(f"{len(p.encode())}:".encode() + p.encode() for p in parts)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class PairAuth:
    """Signs and checks the messages of one unit with its partner.

    Args:
        pair_key: the shared secret of the pair.
        own: this unit's name (``first`` or ``second``).
        window_s: the largest accepted clock difference (at most 10 s).
        nonces: the process's nonce cache for incoming calls (a new one if omitted).
        sent: the nonces of the calls this process sent (default: the process's ``SENT``).
        clock: wall-clock seconds (tests pass their own).
    """

    def __init__(
        self,
        pair_key: str | Keyring,
        own: str,
        *,
        window_s: float = WINDOW_S,
        nonces: NonceCache | None = None,
        sent: NonceCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        partner = partner_name(own)
        if partner is None:
            raise ValueError(f"not a unit of a pair: {own!r}")
        if not pair_key or (isinstance(pair_key, Keyring) and not pair_key.current):
            raise ValueError("the pair key is empty")
        self.own = own
        self.partner = partner
        self.window_s = min(window_s, WINDOW_S)
        self.nonces = nonces if nonces is not None else NonceCache(window_s=self.window_s)
        self.sent = sent if sent is not None else SENT
        self.clock = clock
        # a string: that key alone; a Keyring: the unit's keys as they rotate (signs with the
        # current key, accepts every key the keyring accepts)
        self.keyring = pair_key if isinstance(pair_key, Keyring) else Keyring(pair_key)
        self._derived: dict[str, bytes] = {}

    def _key_of(self, key: str) -> bytes:
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = derive_key(key)
        return derived

    def _headers(
        self, kind: str, method: str, path: str, nonce: str, body: bytes
    ) -> dict[str, str]:
        timestamp = f"{self.clock():.3f}"
        signature = mac(
            self._key_of(self.keyring.current),
            kind=kind,
            method=method,
            path=path,
            sender=self.own,
            recipient=self.partner,
            timestamp=timestamp,
            nonce=nonce,
            body=body,
        )
        return {
            FROM_HEADER: self.own,
            TO_HEADER: self.partner,
            TIMESTAMP_HEADER: timestamp,
            NONCE_HEADER: nonce,
            SIGNATURE_HEADER: signature,
        }

    def sign_call(self, method: str, path: str, body: bytes) -> dict[str, str]:
        """The headers of a call to the partner (a fresh nonce in ``x-hapair-nonce``)."""
        nonce = new_nonce()
        now = self.clock()
        self.sent.add(nonce, now, now)
        return self._headers(CALL, method, path, nonce, body)

    def sign_answer(self, method: str, path: str, nonce: str, body: bytes) -> dict[str, str]:
        """The headers of this unit's answer to the partner's call that carried ``nonce``."""
        return self._headers(ANSWER, method, path, nonce, body)

    def _check(  # noqa: PLR0917 - private; every argument is part of what is checked
        self,
        kind: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        nonce: str | None,
    ) -> float:
        sender = headers.get(FROM_HEADER)
        recipient = headers.get(TO_HEADER)
        timestamp = headers.get(TIMESTAMP_HEADER)
        got_nonce = headers.get(NONCE_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not (sender and recipient and timestamp and got_nonce and signature):
            raise AuthFailed("not signed with the pair key")
        same_name = kind == CALL and sender == self.own and recipient == self.partner
        if sender == self.own and not same_name:
            raise AuthFailed(f"claims to come from this unit itself ({sender})")
        if sender != self.partner and not same_name:
            raise AuthFailed(f"not from the partner ({self.partner}): {sender[:20]!r}")
        if recipient != self.own and not same_name:
            raise AuthFailed(f"addressed to {recipient[:20]!r}, not to this unit ({self.own})")
        if not _NONCE_RE.fullmatch(got_nonce):
            raise AuthFailed("malformed nonce")
        if nonce is not None and not hmac.compare_digest(got_nonce, nonce):
            raise AuthFailed("the answer is not bound to this call")
        if not _TIMESTAMP_RE.fullmatch(timestamp):
            raise AuthFailed("malformed timestamp")
        ts = float(timestamp)
        if not math.isfinite(ts):  # pragma: no cover - the pattern admits finite numbers only
            raise AuthFailed("malformed timestamp")
        signed = False
        for key in self.keyring.accepted():  # during a rotation: the current and the next key
            expected = mac(
                self._key_of(key),
                kind=kind,
                method=method,
                path=path,
                sender=sender,
                recipient=recipient,
                timestamp=timestamp,
                nonce=got_nonce,
                body=body,
            )
            signed = hmac.compare_digest(expected, signature) or signed
        if not signed:
            raise AuthFailed("bad signature (another pair key, or the message was altered)")
        if abs(self.clock() - ts) > self.window_s:
            raise AuthFailed(f"stale: the timestamp is more than {self.window_s:g} s off")
        return ts

    def verify_call(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """Checks a call from the partner and records its nonce; returns the nonce.

        Raises:
            SameName: signed with the pair key by another unit that calls itself ``own``.
            AuthFailed: unsigned, forged, misaddressed, stale, replayed or reflected.
        """
        ts = self._check(CALL, method, path, headers, body, None)
        nonce = headers[NONCE_HEADER]
        if headers[FROM_HEADER] == self.own and nonce in self.sent:
            raise AuthFailed(f"claims to come from this unit itself ({self.own}): a reflected call")
        if not self.nonces.add(nonce, ts, self.clock()):
            raise AuthFailed("replayed (nonce already seen)")
        if headers[FROM_HEADER] == self.own:
            raise SameName(
                f"claims to come from this unit itself ({self.own}): another unit holding the "
                f"pair key is configured as {self.own} too"
            )
        return nonce

    def verify_answer(
        self, method: str, path: str, nonce: str, headers: Mapping[str, str], body: bytes
    ) -> None:
        """Checks the partner's answer to our call that carried ``nonce``.

        Raises:
            AuthFailed: unsigned, forged, misaddressed, stale or not bound to this call.
        """
        self._check(ANSWER, method, path, headers, body, nonce)
