"""API token use cases: create, list, revoke, and resolve a presented token.

Tokens are random strings shown once; only their SHA-256 digest is stored (with the role, a
description and an expiry), in the pair's Redis. Where a token write may be served (the active
unit's shared address in HA mode) is checked before the handler runs (``api/serving.py``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hapair.clock import wall
from hapair.domain.errors import FieldError, NotFound, ValidationFailed
from hapair.domain.tokens import (
    MAX_DESCRIPTION,
    MAX_TOKEN_LIFETIME_S,
    TOKEN_ROLES,
    TokenCreated,
    TokenItem,
    TokenList,
)
from hapair.store import tokens as token_store
from hapair.store.redis import Store
from hapair.store.tokens import TokenRecord


def digest(token: str) -> str:
    """The SHA-256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token."""
    return "hp_" + secrets.token_urlsafe(32)


def timestamp(unix: float) -> str:
    """RFC 3339 UTC with milliseconds, as every other timestamp of the API."""
    return (
        datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


@dataclass(frozen=True)
class NewToken:
    """A token just made: the secret (shown once), its digest and the record to store."""

    token: str
    digest: str
    record: TokenRecord


def make_token(
    role: str, description: str | None, expires_in_s: int | None, *, now: float
) -> NewToken:
    """A new token and its record (nothing stored yet)."""
    token = new_token()
    expires = now + expires_in_s if expires_in_s is not None else None
    record = TokenRecord(
        id=secrets.token_hex(8),
        role=role,
        created_at=timestamp(now),
        description=description,
        expires_at=timestamp(expires) if expires is not None else None,
        expires_unix=expires,
    )
    return NewToken(token=token, digest=digest(token), record=record)


def parse_create(raw: object) -> tuple[str, str | None, int | None]:
    """(role, description, expires_in_s) of a ``POST /tokens`` body; 422 with every bad field."""
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("", "request body must be a JSON object")])
    errors = [
        FieldError(f"/{k}", f"unknown field '{k}'")
        for k in raw
        if k not in ("role", "description", "expires_in_s")
    ]
    role = raw.get("role")
    if role not in TOKEN_ROLES:
        got = "nothing" if "role" not in raw else repr(role)
        errors.append(FieldError("/role", f"role must be 'viewer' or 'admin', got {got}"))
    description = raw.get("description")
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION
    ):
        errors.append(
            FieldError(
                "/description",
                f"description must be a string of at most {MAX_DESCRIPTION} characters",
            )
        )
    expires = raw.get("expires_in_s")
    if isinstance(expires, float) and expires.is_integer():
        expires = int(expires)
    if expires is not None and (
        isinstance(expires, bool)
        or not isinstance(expires, int)
        or not 1 <= expires <= MAX_TOKEN_LIFETIME_S
    ):
        errors.append(
            FieldError(
                "/expires_in_s",
                f"expires_in_s must be an integer from 1 to {MAX_TOKEN_LIFETIME_S} "
                f"or null (no expiry), got {expires!r}",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(role, str)
    return role, description, expires


def item(record: TokenRecord) -> TokenItem:
    """The listed form of a record."""
    return TokenItem(
        id=record.id,
        role=record.role,  # type: ignore[arg-type]  # only roles in TOKEN_ROLES are stored
        description=record.description,
        created_at=record.created_at,
        expires_at=record.expires_at,
    )


class TokensService:
    """The pair's API tokens.

    ``acknowledged``: whether the partner's Redis holds every write so far (``WAIT``, bounded),
    asked after a revocation; it answers None when the unit has no partner (``non_ha``).
    """

    def __init__(
        self, store: Store, acknowledged: Callable[[], Awaitable[bool | None]] | None = None
    ) -> None:
        self.store = store
        self.acknowledged = acknowledged

    async def list(self) -> TokenList:
        """Every token (expired ones too, until revoked), never the token or its digest."""
        return TokenList(items=[item(r) for r in await token_store.list_all(self.store)])

    async def create(self, raw: object) -> TokenCreated:
        """Creates a token from a ``POST /tokens`` body; the token is in the answer only."""
        role, description, expires_in_s = parse_create(raw)
        made = make_token(role, description, expires_in_s, now=wall())
        await token_store.add(self.store, made.digest, made.record)
        return TokenCreated(
            id=made.record.id,
            token=made.token,
            role=role,  # type: ignore[arg-type]  # checked by parse_create
            expires_at=made.record.expires_at,
        )

    async def revoke(self, token_id: str) -> bool | None:
        """Deletes a token at once and records the revocation, which nothing undoes (an import
        skips it, a unit that rejoins hands its revocations to the active first); 404 when
        unknown. Whether the partner's Redis acknowledged it (None: no partner to ask)."""
        if not await token_store.remove(self.store, token_id, now=timestamp(wall())):
            raise NotFound(f"no token with id {token_id!r}")
        return None if self.acknowledged is None else await self.acknowledged()

    async def resolve(self, token: str) -> TokenRecord | None:
        """The record of a presented token, or None when unknown, expired or not usable."""
        record = await token_store.get(self.store, digest(token))
        if record is None or record.role not in TOKEN_ROLES or record.expired(wall()):
            return None
        return record
