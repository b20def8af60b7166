"""Bearer tokens: stored hashed, compared in constant time, never logged.

Reads need the ``viewer`` role, everything else ``admin``. The guard sits on the API router
only, so health, metrics, docs and the OpenAPI document stay open.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from hapair.api.media import require_json, require_merge_patch
from hapair.api.serving import served_here
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


async def before_api_request(request: Request[Any, Any, Any]) -> None:
    """Runs before every ``/api/v1`` handler, before its body is read.

    In order: the token (401/403), where the request is served (409), the media type of a
    body (415). It is the API router's ``before_request`` hook rather than a guard because
    Litestar copies the route handler for every guard call, a cost every read would pay; no
    handler of the router sets a ``before_request`` of its own, which would replace this one.
    """
    await authorize(request)
    handler = request.scope["route_handler"]
    await served_here(request, handler)
    media = handler.opt.get("media")
    if media == "json":
        await require_json(request)
    elif media == "merge-patch":
        await require_merge_patch(request)


async def authorize(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """401 without a valid token, 403 when the role is too low; records the actor."""
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
