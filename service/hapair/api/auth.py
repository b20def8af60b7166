"""Bearer tokens: stored hashed, compared in constant time, never logged.

Reads need the ``viewer`` role, everything else ``admin``. The guard sits on the API router
only, so health, metrics, docs and the OpenAPI document stay open.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from hapair.domain.errors import Forbidden, Unauthorized
from hapair.store.redis import Store

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RANK = {"viewer": 1, "admin": 2}


def digest(token: str) -> str:
    """The SHA-256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token."""
    return "hp_" + secrets.token_urlsafe(32)


class Authenticator:
    """Resolves a bearer token to a role and an actor name."""

    def __init__(self, store: Store, *, admin_token: str | None, enabled: bool) -> None:
        self.store = store
        self.enabled = enabled
        self._bootstrap = digest(admin_token) if admin_token else None

    async def identify(self, token: str) -> tuple[str, str] | None:
        """(role, actor) of a token, or None when it is unknown."""
        d = digest(token)
        if self._bootstrap is not None and hmac.compare_digest(d, self._bootstrap):
            return "admin", "bootstrap-admin"
        record = await self.store.token_record(d)
        if record is None:
            return None
        role, token_id = record
        return role, f"token:{token_id}"


async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:  # noqa: ARG001
    """The API router's guard: 401 without a valid token, 403 when the role is too low."""
    auth: Authenticator = connection.app.state.ctx.auth
    if not auth.enabled:
        connection.scope["state"]["actor"] = "anonymous"
        return
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    found = await auth.identify(token.strip())
    if found is None:
        raise Unauthorized("the bearer token is not valid")
    role, actor = found
    method = connection.scope.get("method", "GET")
    needed = "viewer" if method in READ_METHODS else "admin"
    if RANK.get(role, 0) < RANK[needed]:
        raise Forbidden(f"this operation needs the {needed} role; the token has {role}")
    connection.scope["state"]["actor"] = actor
