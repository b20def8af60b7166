"""``create_app(deps)``: routes, providers, problem handlers, metrics, lifespan: the HTTP wiring.

The parts themselves are built by ``bootstrap.build``; nothing here starts or builds one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

from hapair import __version__
from hapair.api import docs, fastpath, internal, ops
from hapair.api.allow import fix_allow_header
from hapair.api.auth import before_api_request
from hapair.api.backup import BackupController
from hapair.api.deps import Deps, providers
from hapair.api.events import EventsController
from hapair.api.ha import HAController
from hapair.api.openapi import DocumentPlugin, openapi_json
from hapair.api.problems import from_domain, from_http, from_recursion, from_unexpected
from hapair.api.rotation import RotationController
from hapair.api.tokens import TokensController
from hapair.api.unit import UnitController
from hapair.domain import limits
from hapair.domain.errors import DomainError, StoreUnavailable
from hapair.metrics import Metrics
from hapair.server.listener import Limits

MAX_BODY_BYTES = 64 * 1024
METHODS = frozenset(limits.METHODS)
_METHOD_REFUSED_BODY = (
    b'{"type":"urn:hapair:problem:method-not-allowed","title":"Method not allowed",'
    b'"status":405,"detail":"%s"}' % limits.METHODS_DETAIL.encode()
)
_METHOD_REFUSED_START: Message = {
    "type": "http.response.start",
    "status": 405,
    "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(_METHOD_REFUSED_BODY)).encode()),
        (b"allow", limits.METHODS_ALLOW.encode()),
    ],
}


async def refuse_method(send: Send) -> None:
    """405 for a method outside the fixed set, before routing and metrics."""
    await send(_METHOD_REFUSED_START)
    await send({"type": "http.response.body", "body": _METHOD_REFUSED_BODY, "more_body": False})


log = logging.getLogger("hapair.api")


def counted(
    metrics: Metrics, to_problem: Callable[[Any], ProblemDetailsException]
) -> Callable[[Any], ProblemDetailsException]:
    """``to_problem``, counting each problem in ``hapair_refused_total`` by its slug."""

    def convert(exc: Any) -> ProblemDetailsException:
        problem = to_problem(exc)
        metrics.count_refused(str(problem.type_ or "").rpartition(":")[2])
        return problem

    return convert


def metrics_middleware(metrics: Metrics) -> Any:
    """Counts requests by route template and status, and times them.

    A method outside ``METHODS`` is answered 405 here and counted nowhere: every label value
    comes from a bounded set (route templates, the seven methods, the statuses hapair sends).
    """

    # The labelled children, looked up once per (route, method, status): ``labels()`` builds
    # and locks on every call, a measurable share of a cheap request (bench/throughput.py).
    counters: dict[tuple[str, str, int], Any] = {}
    histograms: dict[str, Any] = {}

    def observe(route: str, method: str, status: int, seconds: float) -> None:
        counter = counters.get((route, method, status))
        if counter is None:
            counter = counters[route, method, status] = metrics.requests.labels(
                route, method, str(status)
            )
        histogram = histograms.get(route)
        if histogram is None:
            histogram = histograms[route] = metrics.latency.labels(route)
        counter.inc()
        histogram.observe(seconds)

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":  # type: ignore[comparison-overlap]
                await app(scope, receive, send)
                return
            if scope["method"] not in METHODS:  # type: ignore[typeddict-item]
                await refuse_method(send)
                return
            start = time.perf_counter()
            status = 500

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_wrapper)
            finally:
                route = scope.get("path_template") or "unmatched"
                method = str(scope.get("method", ""))
                observe(route, method, status, time.perf_counter() - start)

        return middleware

    return factory


class _Litestar(Litestar):
    """Litestar without the plugins it adds for every model library it finds installed.

    hapair's models are msgspec Structs only. Litestar adds its pydantic and attrs plugins
    whenever those libraries are importable (the SDK installs attrs; a dev environment has
    pydantic): about 8 MB of RSS and 1.5 s of import in every unit for nothing it serves
    (issue 23, ``bench/idle.py``). ``openapi.json`` is unchanged (tests/integration/test_sdk.py).
    """

    @staticmethod
    def _get_default_plugins(plugins: list[Any]) -> list[Any]:
        from litestar.plugins.core import MsgspecDIPlugin

        plugins.append(MsgspecDIPlugin())
        return plugins


def lifespan_of(deps: Deps) -> Any:
    """The app's lifespan: the engine boots before it serves and stops after (its Redis, its
    listeners and its partner's calls are the bootstrap's, and outlive it)."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        try:
            await deps.engine.boot()
            yield
        finally:
            await deps.engine.close()
            if deps.events is not None:
                await deps.events.close()

    return lifespan


def from_store_error(request: Request[Any, Any, Any], exc: RedisError) -> Response[Any]:
    """A Redis error that reached the app (a connection reset mid-command, ...) is the store
    being unavailable: 503 ``store-unavailable`` with ``Retry-After``, never a 500."""
    log.warning(
        "store error",
        extra={"event": "store-error", "path": request.url.path, "error": type(exc).__name__},
    )
    return from_domain(StoreUnavailable(f"the store failed: {type(exc).__name__}")).to_response(
        request
    )


def create_app(deps: Deps) -> Litestar:
    """The ASGI app of one unit; both its listeners serve this same app.

    Handlers receive the parts as typed parameters (``api.deps.providers``); the lifespan boots
    and stops the engine (whoever serves the app enters ``app.lifespan()``).
    """
    api = Router(
        path="/api/v1",
        route_handlers=[
            HAController,
            BackupController,
            RotationController,
            EventsController,
            UnitController,
            TokensController,
        ],
        before_request=before_api_request,
        security=[{"bearer": []}],
    )
    app = _Litestar(
        route_handlers=[
            api,
            ops.healthz,
            ops.readyz,
            ops.metrics,
            internal.heartbeat,
            internal.demote,
            internal.handover,
            internal.revision,
            internal.resync,
            internal.history_ids,
            internal.conflicts,
            internal.rotate_pair_key,
            openapi_json,
            *docs.handlers(),
        ],
        dependencies=providers(deps),
        lifespan=[lifespan_of(deps)],
        state=State(
            {
                "deps": deps,
                "limits": Limits(
                    max_connections=deps.settings.max_connections,
                    max_per_client=deps.settings.max_connections_per_client,
                    partner_host=deps.engine.partner_host,
                    loopback_only=deps.settings.no_auth,
                ),
            }
        ),
        plugins=[
            ProblemDetailsPlugin(
                ProblemDetailsConfig(
                    exception_to_problem_detail_map={
                        DomainError: counted(deps.metrics, from_domain),
                        HTTPException: counted(deps.metrics, from_http),
                    }
                )
            )
        ],
        exception_handlers={
            Exception: from_unexpected,
            RecursionError: from_recursion,
            RedisError: from_store_error,
        },
        request_max_body_size=MAX_BODY_BYTES,
        before_send=[fix_allow_header],
        openapi_config=OpenAPIConfig(
            title="hapair",
            version=__version__,
            description="Management plane of a two-unit high-availability pair.",
            path="/_schema",
            render_plugins=[DocumentPlugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", description="An API token (viewer or admin)."
                    )
                }
            ),
        ),
        debug=False,
        logging_config=None,
    )
    handler = app.asgi_handler
    if deps.settings.fastpath:
        # GET /api/v1/ha/parameters without Litestar's per-request machinery (SPEC 7 ratio to
        # /healthz); everything else, every refusal included, goes on to Litestar.
        handler = fastpath.fast_parameters(app)(handler)
        # the partner's heartbeat, once an interval on the unit that answers it (issue 23
        # point 5, the idle cost); a call it does not answer goes on to Litestar likewise
        handler = fastpath.fast_heartbeat(app)(handler)
    # Around the whole ASGI handler, not as route middleware: unknown paths (404) and wrong
    # methods (405) never reach route middleware, and they must be counted too.
    app.asgi_handler = metrics_middleware(deps.metrics)(handler)
    return app
