"""API token records: one Redis hash, SHA-256 digest of the token -> record (never the token).

The hash lives in the unit's Redis, so it replicates with the pair: a token created or revoked
on the active is created or revoked on the standby as soon as replication carries it. Nothing
here caches a record, so a revocation takes effect on the next request on either unit.
"""

from __future__ import annotations

import msgspec

from hapair.store import keys
from hapair.store.redis import Store


class TokenRecord(msgspec.Struct, kw_only=True):
    """What is kept of a token (records written before expiry existed decode with defaults)."""

    id: str
    role: str
    created_at: str
    description: str | None = None
    expires_at: str | None = None
    expires_unix: float | None = None  # ``expires_at`` as a Unix time, compared on every use

    def expired(self, now: float) -> bool:
        """Whether the token has expired at Unix time ``now``."""
        return self.expires_unix is not None and now >= self.expires_unix


_decoder = msgspec.json.Decoder(TokenRecord)
_encoder = msgspec.json.Encoder()


def _decode(raw: bytes | str) -> TokenRecord | None:
    try:
        return _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # a record hapair did not write: no token


async def get(store: Store, digest: str) -> TokenRecord | None:
    """The record of a token, looked up by its digest."""
    async with store.link.guard():
        raw = await store.client.hget(keys.TOKENS, digest)
    return None if raw is None else _decode(raw)


async def add(store: Store, digest: str, record: TokenRecord) -> None:
    """Stores a token's record under its digest."""
    async with store.link.guard():
        await store.client.hset(keys.TOKENS, digest, _encoder.encode(record))


async def list_all(store: Store) -> list[TokenRecord]:
    """Every token record, oldest first."""
    async with store.link.guard():
        raw = await store.client.hvals(keys.TOKENS)
    records = [r for r in map(_decode, raw) if r is not None]
    records.sort(key=lambda r: (r.created_at, r.id))
    return records


async def remove(store: Store, token_id: str) -> bool:
    """Deletes the token with this id; False when there is none."""
    async with store.link.guard():
        raw = await store.client.hgetall(keys.TOKENS)
        digests = [d for d, v in raw.items() if (r := _decode(v)) is not None and r.id == token_id]
        if not digests:
            return False
        removed = await store.client.hdel(keys.TOKENS, *digests)
    return int(removed) > 0
