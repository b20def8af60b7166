"""A fast path for ``GET /api/v1/ha/parameters``, in front of Litestar's router.

Why it exists: SPEC 7 wants the parameters read at >= 90 % of the same server's ``/healthz``
throughput. The read itself is served from memory on the active (``ParametersService``), so
what separated it from ``/healthz`` was Litestar's per-request machinery: building the header
object in the API's ``before_request`` hook, parsing the handler's arguments, turning the
handler's ``Response`` into an ASGI response (bench/README.md has the profile and the figures).

What it must mirror: for the requests it answers, exactly what Litestar answers: same status,
headers and body, and the same metrics label (``scope["path_template"]`` set from Litestar's own
route, counted by the metrics middleware around it). It writes no rule of its own; it runs the
same code as the routed request:

- the token and role check is ``api.auth.authorize`` (the ``Authenticator``), the place check
  ``api.serving.served_here``, both with the route's registered handler (its ``opt``);
- the answer is the route handler's own function (``HAController.get_parameters``: the
  ``ParametersService`` read with its cache, the pre-encoded body, the ``ETag``), given the
  same parts Litestar's providers give it (``api.deps``: one object each per app); only its
  ``Response`` of bytes is sent here as two ASGI messages, as Litestar sends it.

It answers only ``GET`` of exactly that path, without a query string, with one
``Authorization`` header and no conditional (``If-*``) header, when all of the above pass.
Everything else goes on to Litestar unchanged, every refusal included (401, 403, 409
``ha-disabled``, 503 ``store-unavailable``: a ``DomainError`` here means "let Litestar
answer", and Litestar runs the same checks and read again and maps the error as always; any
other exception is logged once, event ``fastpath``, and handed on the same way), as do
``HEAD``, conditional requests and any query parameter.

``HAPAIR_FASTPATH=off`` in the environment (``Settings.fastpath``) leaves it out of the app. It
exists only for
comparisons: ``tests/integration/test_fastpath.py`` checks a unit with the fast path against
one without it, answer by answer, and ``python -m bench.throughput --without-fastpath``
measures both; it is not a setting to run a unit with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import fields
from typing import Any, cast

from litestar import Litestar, Response
from litestar.connection import ASGIConnection
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Method, Receive, ReceiveMessage, Scope, Send

from hapair.api.auth import authorize, before_api_request
from hapair.api.deps import Deps
from hapair.api.internal import heartbeat_answer
from hapair.api.serving import served_here
from hapair.domain.errors import DomainError
from hapair.engine.pairlink.partner import HEARTBEAT_PATH

PATH = "/api/v1/ha/parameters"

log = logging.getLogger("hapair.api")


class _Connection:
    """What ``authorize`` and ``served_here`` read of a connection, without Litestar's
    ``Headers`` (a multidict of every header, built per request): the scope, the app, and the
    one header they read."""

    __slots__ = ("app", "headers", "scope")

    def __init__(self, scope: Scope, app: Litestar, authorization: str) -> None:
        self.scope = scope
        self.app = app
        self.headers = {"authorization": authorization}


def _route(app: Litestar, path: str = PATH, method: Method = "GET") -> tuple[HTTPRouteHandler, str]:
    """The registered handler of ``method`` ``path`` (with its layered ``opt``) and its
    template."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path == path:
            handler, _kwargs = route.route_handler_map[method]
            return handler, route.path_format
    raise LookupError(f"no {method} route {path}")


def providers_names() -> frozenset[str]:
    """The names under which ``api.deps.providers`` gives the app's parts."""
    return frozenset(f.name for f in fields(Deps))


def _authorization(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The one ``Authorization`` value; None when absent, repeated, or with an ``If-*``."""
    found: bytes | None = None
    for name, value in headers:
        if name == b"authorization":
            if found is not None:
                return None
            found = value
        elif name.startswith(b"if-"):
            return None
    return None if found is None else found.decode("latin-1")


def _not_mirrored(handler: HTTPRouteHandler, before: object) -> str | None:
    """What of the route's Litestar configuration this module would not reproduce, if any.

    It runs the route's ``before_request`` hook as given (``before``: the API router's steps for
    a body-less read, ``authorize`` and ``served_here``; None for the heartbeat) and the
    handler; guards, middleware, dependencies, after-request hooks, layered response headers
    or cookies, or a body media check would be skipped.
    """
    layers = handler.ownership_layers
    if handler.resolve_before_request() is not before:
        return "another before_request hook"
    if handler.opt.get("media") is not None:
        return "a body media type check"
    if handler.resolve_guards() or handler.resolve_middleware():
        return "guards or middleware"
    if set(handler.resolve_dependencies()) - set(providers_names()):
        return "dependencies other than the app's parts"
    if any(getattr(layer, "after_request", None) for layer in layers):
        return "an after_request hook"
    if handler.resolve_after_response() is not None:
        return "an after_response hook"
    if handler.resolve_response_headers() or handler.resolve_response_cookies():
        return "layered response headers or cookies"
    return None


def _mirrored_route(
    app: Litestar, path: str, method: Method, before: object
) -> tuple[HTTPRouteHandler, str] | None:
    """The route's handler and template, or None (said in the log) when the route has gained
    something this module does not reproduce (``_not_mirrored``)."""
    handler, template = _route(app, path, method)
    reason = _not_mirrored(handler, before)
    if reason is None:
        return handler, template
    log.warning(
        "no fast path for %s %s: the route has %s",
        method,
        path,
        reason,
        extra={"event": "fastpath"},
    )
    return None


def _asks(scope: Scope, method: str, path: str) -> bool:
    """Whether the request is ``method`` of exactly ``path``, without a query string."""
    return (
        scope["type"] == "http"  # type: ignore[comparison-overlap]
        and scope["path"] == path
        and scope["method"] == method  # type: ignore[typeddict-item]
        and not scope["query_string"]
    )


def _failed_once(failed: list[bool], what: str) -> None:
    """A fast path's own failure (a bug): logged with its traceback the first time only
    (``failed``: the fast path's own flag); Litestar answers the request."""
    if not failed:
        failed.append(True)
        log.exception("%s failed; Litestar answers", what, extra={"event": "fastpath"})


async def _send(send: Send, status: int, response: Response[Any]) -> None:
    """A bytes ``Response`` as Litestar's ``ASGIResponse`` sends it: two ASGI messages."""
    await send({"type": "http.response.start", "status": status, "headers": _headers(response)})
    await send({"type": "http.response.body", "body": response.content, "more_body": False})


def fast_parameters(app: Litestar) -> Any:
    """ASGI middleware factory: wrap ``app.asgi_handler`` (inside the metrics middleware).

    When the route has gained something this module does not reproduce, the factory returns
    the app unchanged (and says so in the log): every request then goes through Litestar.
    """
    found = _mirrored_route(app, PATH, "GET", before_api_request)
    if found is None:
        return lambda next_app: next_app
    handler, template = found
    fn = handler.fn
    status = handler.status_code
    deps: Deps = app.state.deps
    # what the handler asks for by name, as Litestar's providers give it (the same objects)
    kwargs = {
        name: getattr(deps, name)
        for name in handler.parsed_fn_signature.parameters
        if name in providers_names()
    }
    failed: list[bool] = []

    def factory(next_app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if not _asks(scope, "GET", PATH):
                await next_app(scope, receive, send)
                return
            authorization = _authorization(scope["headers"])
            if authorization is None or not deps.auth.enabled:  # --no-auth: the Host check
                await next_app(scope, receive, send)
                return
            scope["route_handler"] = handler
            connection = cast(
                "ASGIConnection[Any, Any, Any, Any]",
                _Connection(scope, app, authorization or ""),
            )
            try:
                await authorize(connection)
                await served_here(connection, handler)
                response = await fn(**kwargs)  # bound to its controller
            except DomainError:  # a refusal (401, 403, 409, 503): Litestar answers it
                await next_app(scope, receive, send)
                return
            except Exception:  # a bug here: said once in the log, and Litestar answers
                _failed_once(failed, "fast path")
                await next_app(scope, receive, send)
                return
            if not _plain(response):
                await next_app(scope, receive, send)
                return
            scope["path_template"] = template
            await _send(send, response.status_code or status, response)

        return middleware

    return factory


def _plain(response: object) -> bool:
    """A ``Response`` this module can send as Litestar would: bytes, no cookies or tasks."""
    return (
        isinstance(response, Response)
        and isinstance(response.content, bytes)
        and not response.cookies
        and response.background is None
        and isinstance(response.media_type, str)
    )


def _headers(response: Response[Any]) -> list[tuple[bytes, bytes]]:
    """The headers Litestar's ``ASGIResponse`` sends for a bytes body, in its order: the
    handler's, then content type and length."""
    out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    out += [
        (b"content-type", str(response.media_type).encode("latin-1")),
        (b"content-length", str(len(response.content)).encode("latin-1")),
    ]
    return out


HEARTBEAT_MAX_BODY = 16 * 1024  # a larger heartbeat goes on to Litestar (its limit is 64 KiB)


def fast_heartbeat(app: Litestar) -> Any:
    """ASGI middleware factory: the partner's heartbeat (``POST`` of ``HEARTBEAT_PATH``, once an
    interval on the unit that answers, issue 23 point 5) without Litestar's routing, argument
    parsing and response machinery: ``internal.heartbeat_answer``, the handler's own checks
    and answer, on the body read here. A call it does not answer (any refusal, a call from a
    same-mode unit, a booting engine, a bad body, more than ``HEARTBEAT_MAX_BODY``) goes on to
    Litestar with its body, nothing of it recorded (see ``heartbeat_answer``), and Litestar
    answers it as always. Wraps what ``fast_parameters`` wraps, inside the metrics middleware,
    and counts under the route's label as Litestar does."""
    found = _mirrored_route(app, HEARTBEAT_PATH, "POST", None)
    if found is None:
        return lambda next_app: next_app
    template = found[1]
    deps: Deps = app.state.deps
    failed: list[bool] = []

    def factory(next_app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if not _asks(scope, "POST", HEARTBEAT_PATH):
                await next_app(scope, receive, send)
                return
            messages, body = await _read_body(receive, HEARTBEAT_MAX_BODY)
            headers = _single_headers(scope["headers"])
            response = None
            if body is not None and headers is not None:
                try:
                    response = await heartbeat_answer(deps.engine, HEARTBEAT_PATH, headers, body)
                except Exception:  # a bug here: said once in the log, and Litestar answers
                    _failed_once(failed, "heartbeat fast path")
            if response is None:
                await next_app(scope, _replay(messages, receive), send)
                return
            scope["path_template"] = template
            await _send(send, 200, response)

        return middleware

    return factory


async def _read_body(receive: Receive, limit: int) -> tuple[list[ReceiveMessage], bytes | None]:
    """The request's messages as read, and its body; None when it is over ``limit`` (then
    reading stops there) or the client went away."""
    messages: list[ReceiveMessage] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replay(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """``receive`` giving the messages already read first."""
    pending = list(messages)

    async def replay() -> ReceiveMessage:
        return pending.pop(0) if pending else await receive()

    return replay


def _single_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str] | None:
    """The request's headers by lower-case name; None when one is repeated (Litestar then
    answers: which of the values counts is its ``Headers``' rule, not restated here)."""
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        if key in out:
            return None
        out[key] = value.decode("latin-1")
    return out
