"""Pair-key rotation between the two units (SPEC 6 "Rotation without downtime").

Both units hold the next key (``--pair-key-next-file``, SIGHUP) and accept it beside the
current one. ``POST /ha/actions/rotate-pair-key`` on the active asks the partner, in a call
signed with the current key, to switch to the next key whose id it names; the partner switches
only when its own next key has that id and answers (signed with the new key, which the active
accepts as its next). Then the active switches. Each unit still accepts the replaced key for
the MAC window, so no message in flight is refused and no heartbeat is missed; afterwards the
old key is refused.
"""

from __future__ import annotations

import msgspec

from hapair.domain.errors import PairKeyMismatch, PartnerUnavailable
from hapair.engine.pairlink.partner import PartnerClient, PartnerError
from hapair.keyring import Keyring

ROTATE_PATH = "/internal/v1/rotate-pair-key"


class RotateRequest(msgspec.Struct, kw_only=True):
    """Switch to the next key, which has this id."""

    key_id: str


class RotateReply(msgspec.Struct, kw_only=True):
    """Whether the partner switched; its next key's id when it did not (null: none)."""

    rotated: bool
    key_id: str | None = None
    next_key_id: str | None = None


rotate_request_decoder = msgspec.json.Decoder(RotateRequest)
rotate_reply_decoder = msgspec.json.Decoder(RotateReply)
encoder = msgspec.json.Encoder()


def answer_rotate(keys: Keyring | None, request: RotateRequest) -> RotateReply:
    """The partner's side: switch when our next key is the one named (idempotent: a unit that
    already switched to it answers that it did)."""
    if keys is None:
        return RotateReply(rotated=False)
    if keys.current_id == request.key_id:
        return RotateReply(rotated=True, key_id=keys.current_id)
    if keys.next_id != request.key_id:
        return RotateReply(rotated=False, next_key_id=keys.next_id)
    return RotateReply(rotated=True, key_id=keys.rotate())


def check_next(keys: Keyring | None) -> str:
    """The id of this unit's next key.

    Raises:
        PairKeyMismatch: This unit has no next key.
    """
    if keys is None or keys.next_id is None:
        raise PairKeyMismatch(
            "this unit has no next pair key: give both units the same --pair-key-next-file, "
            "send them SIGHUP, then rotate"
        )
    return keys.next_id


def refused(own_next: str, reply: RotateReply) -> PairKeyMismatch:
    """The 409 when the partner's next key is another one, or it has none."""
    theirs = reply.next_key_id or "none"
    return PairKeyMismatch(
        f"the units' next pair keys differ: this unit's is {own_next}, the partner's {theirs}; "
        "nothing was switched"
    )


def partner_unreachable(reason: str) -> PartnerUnavailable:
    """The 503 when the partner cannot be asked (nothing was switched)."""
    return PartnerUnavailable(f"the partner cannot be asked to rotate the pair key: {reason}")


async def rotate_pair(keys: Keyring | None, client: PartnerClient | None) -> str:
    """The active's side: the partner switches first, then this unit; the new key's id.

    Raises:
        PairKeyMismatch: This unit or the partner has no next key, or they differ.
        PartnerUnavailable: The partner cannot be asked.
    """
    own_next = check_next(keys)
    assert keys is not None
    if client is None:
        raise partner_unreachable("this unit has no partner")
    try:
        raw = await client.call(ROTATE_PATH, encoder.encode(RotateRequest(key_id=own_next)))
        reply = rotate_reply_decoder.decode(raw)
    except (PartnerError, msgspec.DecodeError) as exc:
        raise partner_unreachable(str(exc)) from None
    if not reply.rotated:
        raise refused(own_next, reply)
    return keys.rotate()
