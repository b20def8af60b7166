"""Bearer tokens: stored hashed, compared in constant time, never logged.

Reads need the ``viewer`` role, everything else ``admin``. The guard sits on the API router
only, so health, metrics, docs and the OpenAPI document stay open.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection

from hapair.api.deps import deps_of
from hapair.api.media import require_json, require_merge_patch
from hapair.api.serving import served_here
from hapair.domain.errors import Forbidden, Unauthorized
from hapair.domain.unit import is_loopback_host
from hapair.services.audit import Audit
from hapair.services.tokens import digest, new_token

__all__ = [
    "authorize",
    "before_api_request",
    "check_loopback_host",
    "check_same_origin",
    "digest",
    "new_token",
]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RANK = {"viewer": 1, "admin": 2}


async def before_api_request(request: Request[Any, Any, Any]) -> None:
    """Runs before every ``/api/v1`` handler, before its body is read.

    In order: the token (401/403), where the request is served (409), the media type of a
    body (415); then a state-changing request is audited (services/audit.py). It is the API
    router's ``before_request`` hook rather than a guard because Litestar copies the route
    handler for every guard call, a cost every read would pay; no handler of the router sets a
    ``before_request`` of its own, which would replace this one.
    """
    await authorize(request)
    handler = request.scope["route_handler"]
    await served_here(request, handler)
    media = handler.opt.get("media")
    if media == "json":
        await require_json(request)
    elif media == "merge-patch":
        await require_merge_patch(request)
    if request.method not in READ_METHODS and not _dry_run(request):
        deps = deps_of(request)
        operation_id = getattr(handler, "operation_id", None)
        operation = operation_id if isinstance(operation_id, str) else None
        await Audit(deps.engine, deps.events).record(
            actor=str(request.scope["state"].get("actor", "anonymous")),
            operation=operation or handler.handler_name,
            method=request.method,
            path=request.url.path,
        )


def _dry_run(request: Request[Any, Any, Any]) -> bool:
    return str(request.query_params.get("dry_run", "")).lower() in {"true", "1"}


async def authorize(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """401 without a valid token, 403 when the role is too low; records the actor.

    Reads need ``viewer`` and writes ``admin``, unless the handler's ``opt["role"]`` names
    the role it needs (the token list is admin-only).
    """
    auth = deps_of(connection).auth
    if not auth.enabled:
        check_loopback_host(connection)
        if connection.scope.get("method", "GET") not in READ_METHODS:
            check_same_origin(connection)
        connection.scope["state"]["actor"] = "anonymous"
        return
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    found = await auth.identify(token.strip())
    if found is None:
        raise Unauthorized("the bearer token is not valid")
    role, actor, expires = found
    method = connection.scope.get("method", "GET")
    handler = connection.scope.get("route_handler")
    needed = (handler.opt.get("role") if handler is not None else None) or (
        "viewer" if method in READ_METHODS else "admin"
    )
    if RANK.get(role, 0) < RANK[needed]:
        raise Forbidden(f"this operation needs the {needed} role; the token has {role}")
    connection.scope["state"]["actor"] = actor
    connection.scope["state"]["token_expires"] = expires  # an event stream ends then


DEFAULT_PORTS = {"http": 80, "https": 443}


def _own_origins(scheme: str, server: tuple[str, int | None]) -> set[tuple[str, str, int]]:
    """(scheme, host, port) of this listener, and ``localhost`` for 127.0.0.1 or ::1."""
    host, port = server
    port = port or DEFAULT_PORTS.get(scheme, 0)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return {(scheme, host.lower(), port)}
    own = {(scheme, ip.compressed, port)}
    if ip in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")):
        own.add((scheme, "localhost", port))
    return own


def _origin(value: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(value.strip())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError:
        return None
    host = parts.hostname or ""
    try:
        host = ipaddress.ip_address(host).compressed
    except ValueError:
        host = host.lower()
    return parts.scheme, host, port


def check_loopback_host(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """403 unless the ``Host`` header names a loopback IP literal or ``localhost`` (``--no-auth``
    only: a DNS-rebinding page reaches the unit under a name of its own, which it cannot make
    one of these)."""
    raw = connection.headers.get("host") or ""
    try:
        host = urlsplit(f"//{raw}").hostname or ""
    except ValueError:
        host = ""
    if not (host and is_loopback_host(host.lower())):
        shown = raw[:100].encode("ascii", "backslashreplace").decode()
        raise Forbidden(
            f"without auth this unit answers only Host: localhost or a loopback address "
            f"(not {shown!r})"
        )


def check_same_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """403 for a state-changing request whose ``Origin`` is not this listener's own.

    Only without auth (``--no-auth``), where a page from anywhere could otherwise make a
    browser post to the unit on loopback. The unit's own origin is the scheme and address
    the request arrived on (``localhost`` too, for 127.0.0.1 and ::1), never the ``Host``
    header, which a DNS-rebinding page controls. A request without ``Origin`` (curl, the
    SDK) is not a browser's cross-origin request and passes.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return
    server = connection.scope.get("server")
    scheme = str(connection.scope.get("scheme", "http"))
    if server is not None and _origin(origin) in _own_origins(scheme, server):
        return
    raise Forbidden(f"cross-origin request refused: Origin {origin[:100]!r} is not this unit")
