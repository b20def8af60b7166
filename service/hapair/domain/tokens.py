"""API tokens as the API creates and lists them (the secret itself is shown once, at creation)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

TokenRole = Literal["viewer", "admin"]
TOKEN_ROLES: tuple[TokenRole, ...] = ("viewer", "admin")
MAX_TOKEN_LIFETIME_S = 10 * 365 * 24 * 3600
MAX_DESCRIPTION = 200


class TokenCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new API token: its role, a note for people, and how long it lives (null: forever)."""

    role: TokenRole
    description: Annotated[str, Meta(max_length=MAX_DESCRIPTION)] | None = None
    expires_in_s: Annotated[int, Meta(ge=1, le=MAX_TOKEN_LIFETIME_S)] | None = None


class TokenCreated(msgspec.Struct, kw_only=True):
    """A created token; ``token`` is shown this once (only its digest is stored)."""

    id: str
    token: str
    role: TokenRole
    expires_at: str | None


class TokenItem(msgspec.Struct, kw_only=True):
    """An API token as listed (never the token or its digest)."""

    id: str
    role: TokenRole
    description: str | None
    created_at: str
    expires_at: str | None


class TokenList(msgspec.Struct, kw_only=True):
    """Every API token of the pair (the bootstrap admin token is not one of them)."""

    items: list[TokenItem]
