"""API token records: one Redis hash, SHA-256 digest of the token -> record (never the token).

The hash lives in the unit's Redis, so it replicates with the pair: a token created or revoked
on the active is created or revoked on the standby as soon as replication carries it. Nothing
here caches a record, so a revocation takes effect on the next request on either unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from hapair.store import keys, records
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


def _decode(raw: bytes | str) -> TokenRecord | None:
    try:
        return records.decode(raw, TokenRecord).value  # tolerant: a newer unit's members
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # a record hapair did not write: no token


async def get(store: Store, digest: str) -> TokenRecord | None:
    """The record of a token, looked up by its digest; None when it is unknown or revoked (a
    revocation wins over a record that came back: an older copy of the pair's data)."""
    async with store.link.guard(), store.client.pipeline(transaction=False) as pipe:
        pipe.hget(keys.TOKENS, digest)
        pipe.hexists(keys.TOKENS_REVOKED, digest)
        raw, revoked = await pipe.execute()
    return None if raw is None or revoked else _decode(raw)


async def add(store: Store, digest: str, record: TokenRecord) -> None:
    """Stores a token's record under its digest."""
    async with store.link.guard():
        await store.client.hset(keys.TOKENS, digest, records.encode(record))


async def all_by_digest(store: Store) -> dict[str, TokenRecord]:
    """Every token record by its digest."""
    async with store.link.guard():
        raw = await store.client.hgetall(keys.TOKENS)
    return decode_all(raw)


async def list_all(store: Store) -> list[TokenRecord]:
    """Every token record, oldest first."""
    async with store.link.guard():
        raw = await store.client.hvals(keys.TOKENS)
    found = [r for r in map(_decode, raw) if r is not None]
    found.sort(key=lambda r: (r.created_at, r.id))
    return found


class Revoked(msgspec.Struct, kw_only=True):
    """What is kept of a revoked token, so that nothing brings it back (an import of a bundle
    made before the revocation, SPEC 4 ``DELETE /tokens/{id}``)."""

    id: str
    revoked_at: str


_revoked_decoder = msgspec.json.Decoder(Revoked)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def remove(store: Store, token_id: str, *, now: str) -> bool:
    """Deletes the token with this id and records its revocation; False when there is none."""
    async with store.link.guard():
        raw = await store.client.hgetall(keys.TOKENS)
        digests = [d for d, v in raw.items() if (r := _decode(v)) is not None and r.id == token_id]
        if not digests:
            return False
        tombstone = records.encode(Revoked(id=token_id, revoked_at=now))
        async with store.client.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.TOKENS, *digests)
            pipe.hset(keys.TOKENS_REVOKED, mapping=dict.fromkeys(digests, tombstone))
            removed, _ = await pipe.execute()
    return int(removed) > 0


async def revocations(store: Store) -> dict[str, bytes]:
    """Every revocation this unit holds, as stored: digest -> record."""
    async with store.link.guard():
        raw = await store.client.hgetall(keys.TOKENS_REVOKED)
    return {_text(d): v if isinstance(v, bytes) else v.encode() for d, v in raw.items()}


async def merge_revocations(store: Store, revoked: Mapping[str, bytes]) -> list[str]:
    """Adds the partner's revocations (kept, never undone) and deletes those tokens here; the
    ids of the tokens this removed."""
    if not revoked:
        return []
    digests = list(revoked)
    async with store.link.guard():
        raw = await store.client.hmget(keys.TOKENS, digests)
        present = [d for d, v in zip(digests, raw, strict=True) if v is not None]
        async with store.client.pipeline(transaction=True) as pipe:
            if present:
                pipe.hdel(keys.TOKENS, *present)
            pipe.hset(keys.TOKENS_REVOKED, mapping=dict(revoked.items()))
            await pipe.execute()
    ids = decode_revoked({d: revoked[d] for d in present})
    return sorted(i for i in ids.values() if i)


def decode_all(raw: Mapping[bytes | str, bytes | str]) -> dict[str, TokenRecord]:
    """``HGETALL`` of the token hash as digest -> record (records hapair did not write: none)."""
    return {_text(d): r for d, v in raw.items() if (r := _decode(v)) is not None}


def decode_revoked(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """``HGETALL`` of the revocations as digest -> token id."""
    found: dict[str, str] = {}
    for digest, value in raw.items():
        try:
            found[_text(digest)] = _revoked_decoder.decode(value).id
        except (msgspec.DecodeError, msgspec.ValidationError):
            found[_text(digest)] = ""  # revoked all the same
    return found


def encode(record: TokenRecord) -> bytes:
    """A record as stored (this build's schema, ``records``)."""
    return records.encode(record)
