"""Always open, without auth: liveness, readiness, metrics."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from hapair.api.context import ctx_of
from hapair.api.problems import responses
from hapair.api.wire import Health
from hapair.domain.errors import StoreUnavailable


@get("/healthz", operation_id="healthz", summary="The process is up", tags=["ops"], security=[])
async def healthz() -> Health:
    """Liveness."""
    return Health(status="ok")


@get(
    "/readyz",
    operation_id="readyz",
    summary="Redis is reachable and the engine runs",
    tags=["ops"],
    responses=responses(503),
    security=[],
)
async def readyz(request: Request[Any, Any, Any]) -> Health:
    """Readiness: 503 store-unavailable while Redis is unreachable or the engine is not running."""
    ctx = ctx_of(request)
    await ctx.store.ping()
    if not ctx.engine.running:
        raise StoreUnavailable("the HA engine is not running (booting)")
    return Health(status="ready", role=ctx.engine.public_role if ctx.engine.ha else "standalone")


@get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    tags=["ops"],
    media_type="text/plain; version=0.0.4; charset=utf-8",
    security=[],
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text exposition."""
    return Response(
        ctx_of(request).metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
