"""Unit-to-unit authentication (SPEC section 6, "Unit to unit", "The pair's identity"; SPEC 5
"Clocks").

Every call and every answer between the two units carries an HMAC-SHA256 under a key derived
from the pair key (the pair key itself never crosses the wire and is not used directly, so the
same key can safely derive other secrets). The MAC covers the direction (call or answer), the
method, the path, the sender and recipient unit names, the pair id, the key id, a timestamp, a
nonce, a challenge and a digest of the body:

- the **pair id** (:func:`pair_id`) is derived from the shared address and the virtual ID, so a
  message of one pair is refused by another pair that happens to share the pair key;
- the **key id** (``keyring.key_id``) names the key that signed (an HMAC of it, no key
  material), so a refusal can tell "another pair key" from an altered message, and a unit
  accepts each key its :class:`~hapair.keyring.Keyring` accepts (a rotation);
- freshness never depends on the two clocks agreeing: a **call** is bound to a challenge the
  recipient issued within :data:`WINDOW_S` by its own clock (:class:`Challenges`; every answer
  and every refusal carries a fresh one, and a new boot forgets the old ones, so a call made
  before the recipient's current boot is refused); an **answer** is bound to its call's nonce.
  The timestamp is covered but only shown (clock skew), never compared;
- a call is accepted once (its nonce is remembered while its challenge is valid), only from the
  configured partner and addressed to this unit.

A call that claims to come from this unit itself is refused. One case is told apart, so that
two units configured in the same mode still see it (status ``same-mode``): a call signed with
the pair key by a unit that calls itself by this unit's name, addressed to the partner's name,
with a nonce this process never sent (so not a reflection of one of its own calls) raises
:class:`SameName`, still a refusal.

Every refusal has one of the fixed :data:`REASONS` (what is logged and counted: never text an
attacker chose). The nonce window is ``engine/pairlink/nonces.py``; the rule that a unit uses
only Redis addresses on its partner's host, :func:`redis_on_partner_host`, is
``engine/pairlink/hosts.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from hapair.clock import wall
from hapair.domain.unit import partner_name
from hapair.engine.pairlink.hosts import redis_on_partner_host
from hapair.engine.pairlink.nonces import SENT, WINDOW_S, NonceCache, new_nonce
from hapair.keyring import Keyring, key_id

__all__ = [
    "ANSWER",
    "AUTH_FAILURES",
    "CALL",
    "CHALLENGE_HEADER",
    "FROM_HEADER",
    "KEY_HEADER",
    "NONCE_HEADER",
    "PAIR_HEADER",
    "REASONS",
    "REFUSED_HEADER",
    "SHARED_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TO_HEADER",
    "WINDOW_S",
    "AuthFailed",
    "Challenges",
    "NonceCache",
    "PairAuth",
    "SameName",
    "derive_key",
    "key_id",
    "mac",
    "new_nonce",
    "pair_id",
    "partner_name",
    "redis_on_partner_host",
]

FROM_HEADER = "x-hapair-from"
TO_HEADER = "x-hapair-to"
TIMESTAMP_HEADER = "x-hapair-timestamp"
NONCE_HEADER = "x-hapair-nonce"
SIGNATURE_HEADER = "x-hapair-signature"
PAIR_HEADER = "x-hapair-pair"
KEY_HEADER = "x-hapair-key"
CHALLENGE_HEADER = "x-hapair-challenge"
REFUSED_HEADER = "x-hapair-refused"  # a refusal's fixed reason (one of REASONS)
SHARED_HEADER = "x-hapair-shared"  # an ``another-pair`` refusal: the refuser's shared address

CALL = "call"
ANSWER = "answer"

# The fixed reasons of a refusal, and what each means (the detail shown and logged).
REASONS: dict[str, str] = {
    "unsigned": "not signed with the pair key",
    "malformed-signature": "malformed signature",
    "another-pair-key": "another pair key",
    "another-pair": "another pair (another shared address or virtual ID)",
    "bad-signature": "bad signature (the message was altered)",
    "from-self": "claims to come from this unit itself",
    "same-name": "another unit holding the pair key is configured in this unit's mode",
    "not-from-partner": "not from the partner",
    "misaddressed": "not addressed to this unit",
    "challenge": "not bound to a challenge of the recipient's current boot",
    "replayed": "replayed (nonce already seen)",
    "not-bound": "the answer is not bound to this call",
    "no-pair-key": "the unit is not in an HA mode with a pair key",
}
# The refusals that mean "the partner answers but is not this pair's partner" (SPEC 5,
# ``partner-auth-failed``); the others are a retry (challenge) or another fault's evidence.
AUTH_FAILURES = frozenset(
    {"unsigned", "malformed-signature", "another-pair-key", "another-pair", "bad-signature"}
)

_KEY_LABEL = b"hapair/unit-to-unit/hmac-sha256/v1"
_HEX16 = re.compile(r"[0-9a-f]{16}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP_RE = re.compile(r"-?[0-9]{1,12}\.[0-9]{3}")
MAX_CHALLENGES = 256


class AuthFailed(Exception):
    """A unit-to-unit message is not authentic, not fresh, replayed or misaddressed.

    ``reason`` is one of :data:`REASONS`; the message is its detail (never attacker text).
    """

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        super().__init__(detail or REASONS[reason])


class SameName(AuthFailed):
    """A holder of the pair key calls itself by this unit's name: both units have one mode.

    The call is refused like any other that claims to come from this unit itself; it is only
    evidence of the misconfiguration (never a reflection: its nonce was not sent from here).
    """

    def __init__(self, own: str) -> None:
        super().__init__(
            "same-name",
            f"claims to come from this unit itself ({own}): another unit holding the pair key "
            f"is configured as {own} too",
        )


def derive_key(pair_key: str) -> bytes:
    """The MAC key: HMAC-SHA256 of a fixed label under the pair key."""
    return hmac.digest(pair_key.encode(), _KEY_LABEL, "sha256")


def pair_id(shared_address: str | None, virtual_id: int) -> str:
    """The pair's identity: 16 hex digits of a digest of its shared address and virtual ID."""
    raw = f"hapair/pair-id/v1\0{shared_address or ''}\0{virtual_id}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


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
    pair: str = "",
    key_name: str = "",
    challenge: str = "",
) -> str:
    """The hex MAC of one message (fields length-prefixed: none can bleed into another)."""
    parts = (
        kind,
        method.upper(),
        path,
        sender,
        recipient,
        pair,
        key_name,
        timestamp,
        nonce,
        challenge,
        hashlib.sha256(body).hexdigest(),
    )
    message = b"".join(f"{len(p.encode())}:".encode() + p.encode() for p in parts)
    return hmac.digest(key, message, "sha256").hex()  # one-shot in C: no HMAC object


class Challenges:
    """The challenges one boot of a unit issued: a call must carry one issued within the window
    by this unit's own (monotonic) clock. Bounded: the oldest go first (a call bound to one
    forgotten early is refused and retried with a fresh challenge, never accepted late)."""

    def __init__(
        self,
        *,
        window_s: float = WINDOW_S,
        max_entries: int = MAX_CHALLENGES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self.clock = clock
        self._issued: OrderedDict[str, float] = OrderedDict()

    def issue(self) -> str:
        """A new challenge (128 random bits, hex)."""
        challenge = secrets.token_hex(16)
        self._issued[challenge] = self.clock()
        while len(self._issued) > self.max_entries:
            self._issued.popitem(last=False)
        return challenge

    def expiry(self, challenge: str) -> float | None:
        """When ``challenge`` stops being valid (this clock), None if it is not valid now."""
        issued = self._issued.get(challenge)
        if issued is None:
            return None
        expiry = issued + self.window_s
        return expiry if self.clock() <= expiry else None


def _check_format(headers: Mapping[str, str]) -> tuple[str, str, str, str, str, str, str, str]:
    sender = headers.get(FROM_HEADER)
    recipient = headers.get(TO_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    nonce = headers.get(NONCE_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    pair = headers.get(PAIR_HEADER, "")
    key_name = headers.get(KEY_HEADER, "")
    challenge = headers.get(CHALLENGE_HEADER, "")
    if not (sender and recipient and timestamp and nonce and signature):
        raise AuthFailed("unsigned")
    if not (
        _HEX64.fullmatch(signature)
        and _HEX32.fullmatch(nonce)
        and _HEX16.fullmatch(pair)
        and _HEX16.fullmatch(key_name)
        and (challenge == "" or _HEX32.fullmatch(challenge))
        and _TIMESTAMP_RE.fullmatch(timestamp)
        and sender.isascii()
        and recipient.isascii()
    ):
        raise AuthFailed("malformed-signature")
    return sender, recipient, timestamp, nonce, signature, pair, key_name, challenge


class PairAuth:
    """Signs and checks the messages of one unit with its partner.

    Args:
        pair_key: the shared secret of the pair, two (current and next: the first signs, both
            verify), or the unit's :class:`Keyring` (a rotation: signs with its current key,
            accepts each key it accepts).
        own: this unit's name (``first`` or ``second``).
        pair: this pair's id (:func:`pair_id`), or a function giving the current one.
        nonces: the process's nonce cache for incoming calls (a new one if omitted).
        sent: the nonces of the calls this process sent (default: the process's ``SENT``).
        clock: wall-clock seconds for the timestamp (shown, never compared).
        monotonic: this unit's monotonic clock (nonce expiry).
    """

    def __init__(
        self,
        pair_key: str | Sequence[str] | Keyring,
        own: str,
        *,
        pair: str | Callable[[], str] = "",
        nonces: NonceCache | None = None,
        sent: NonceCache | None = None,
        clock: Callable[[], float] = wall,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        partner = partner_name(own)
        if partner is None:
            raise ValueError(f"not a unit of a pair: {own!r}")
        if isinstance(pair_key, Keyring):
            keyring = pair_key
        elif isinstance(pair_key, str):
            keyring = Keyring(pair_key)
        else:
            keys = list(pair_key)
            if not keys:
                raise ValueError("the pair key is empty")
            keyring = Keyring(keys[0], keys[1] if len(keys) > 1 else None)
        if not keyring.current or not all(keyring.accepted()):
            raise ValueError("the pair key is empty")
        self.own = own
        self.partner = partner
        self.nonces = nonces if nonces is not None else NonceCache()
        self.sent = sent if sent is not None else SENT
        self.clock = clock
        self.monotonic = monotonic
        self._pair = pair if callable(pair) else (lambda: pair or pair_id(None, 1))
        # the unit's keys as they rotate: signs with the current one, accepts each the keyring
        # accepts (the same Keyring object for every signer of the process)
        self.keyring = keyring
        self._derived: dict[str, bytes] = {}

    def _key_of(self, key: str) -> bytes:
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = derive_key(key)
        return derived

    @property
    def key_id(self) -> str:
        """The id of the key this unit signs with (``keyring.key_id``: never key material)."""
        return self.keyring.current_id

    @property
    def pair_id(self) -> str:
        """This pair's id now."""
        return self._pair()

    def _headers(  # noqa: PLR0917 - private; each argument is one covered field
        self, kind: str, method: str, path: str, nonce: str, body: bytes, challenge: str
    ) -> dict[str, str]:
        timestamp = f"{self.clock():.3f}"
        pair = self.pair_id
        signature = mac(
            self._key_of(self.keyring.current),
            kind=kind,
            method=method,
            path=path,
            sender=self.own,
            recipient=self.partner,
            pair=pair,
            key_name=self.key_id,
            timestamp=timestamp,
            nonce=nonce,
            challenge=challenge,
            body=body,
        )
        headers = {
            FROM_HEADER: self.own,
            TO_HEADER: self.partner,
            PAIR_HEADER: pair,
            KEY_HEADER: self.key_id,
            TIMESTAMP_HEADER: timestamp,
            NONCE_HEADER: nonce,
            SIGNATURE_HEADER: signature,
        }
        if challenge:
            headers[CHALLENGE_HEADER] = challenge
        return headers

    def sign_call(
        self, method: str, path: str, body: bytes, *, challenge: str = ""
    ) -> dict[str, str]:
        """The headers of a call to the partner, bound to ``challenge`` (one the partner issued;
        without one the partner refuses with reason ``challenge`` and a fresh one)."""
        nonce = new_nonce()
        now = self.monotonic()
        self.sent.add(nonce, now, now)
        return self._headers(CALL, method, path, nonce, body, challenge)

    def sign_answer(
        self, method: str, path: str, nonce: str, body: bytes, *, challenge: str = ""
    ) -> dict[str, str]:
        """The headers of this unit's answer to the partner's call that carried ``nonce``
        (``challenge``: the next challenge this unit issues to the partner)."""
        return self._headers(ANSWER, method, path, nonce, body, challenge)

    def refusal(self, reason: str, challenge: str) -> dict[str, str]:
        """The headers of a refusal: its fixed reason, this unit's pair and key ids and, when
        given, a fresh challenge (not secret: a caller with the key uses it for its next call)."""
        headers = {REFUSED_HEADER: reason, PAIR_HEADER: self.pair_id, KEY_HEADER: self.key_id}
        if challenge:
            headers[CHALLENGE_HEADER] = challenge
        return headers

    def _check(  # noqa: PLR0917 - private; every argument is part of what is checked
        self,
        kind: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        nonce: str | None,
    ) -> tuple[str, str]:
        """Checks a message's form, addressing and MAC; returns its nonce and challenge."""
        sender, recipient, timestamp, got_nonce, signature, pair, key_name, challenge = (
            _check_format(headers)
        )
        same_name = kind == CALL and sender == self.own and recipient == self.partner
        if sender == self.own and not same_name:
            raise AuthFailed("from-self", f"claims to come from this unit itself ({sender})")
        if sender != self.partner and not same_name:
            raise AuthFailed("not-from-partner")
        if recipient != self.own and not same_name:
            raise AuthFailed("misaddressed")
        if nonce is not None and not hmac.compare_digest(got_nonce, nonce):
            raise AuthFailed("not-bound")
        accepted = {key_id(k): k for k in self.keyring.accepted()}
        named = accepted.get(key_name)
        if named is None:
            raise AuthFailed("another-pair-key")
        key = self._key_of(named)
        own_pair = self.pair_id
        expected = mac(
            key,
            kind=kind,
            method=method,
            path=path,
            sender=sender,
            recipient=recipient,
            pair=pair,
            key_name=key_name,
            timestamp=timestamp,
            nonce=got_nonce,
            challenge=challenge,
            body=body,
        )
        if not hmac.compare_digest(expected, signature):
            raise AuthFailed("bad-signature")
        if not hmac.compare_digest(pair, own_pair):
            raise AuthFailed("another-pair")
        return got_nonce, challenge

    def verify_call(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        challenges: Challenges,
    ) -> str:
        """Checks a call from the partner and records its nonce; returns the nonce.

        Raises:
            SameName: signed with the pair key by another unit that calls itself ``own``.
            AuthFailed: unsigned, forged, misaddressed, not bound to a live challenge of this
                boot, replayed or reflected.
        """
        nonce, challenge = self._check(CALL, method, path, headers, body, None)
        expiry = challenges.expiry(challenge) if challenge else None
        if expiry is None:
            raise AuthFailed("challenge")
        if headers[FROM_HEADER] == self.own and nonce in self.sent:
            raise AuthFailed(
                "from-self", f"claims to come from this unit itself ({self.own}): a reflected call"
            )
        if not self.nonces.add(nonce, expiry - self.nonces.window_s, self.monotonic()):
            raise AuthFailed("replayed")
        if headers[FROM_HEADER] == self.own:
            raise SameName(self.own)
        return nonce

    def verify_answer(
        self, method: str, path: str, nonce: str, headers: Mapping[str, str], body: bytes
    ) -> str:
        """Checks the partner's answer to our call that carried ``nonce``; returns the next
        challenge it carries ("" if none).

        Raises:
            AuthFailed: unsigned, forged, misaddressed or not bound to this call.
        """
        return self._check(ANSWER, method, path, headers, body, nonce)[1]
