"""Always open, without auth: liveness, readiness, metrics."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency

from hapair.api.problems import responses
from hapair.api.wire import Health
from hapair.metrics import Metrics
from hapair.services.health import Readiness


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
async def readyz(readiness: NamedDependency[Readiness]) -> Health:
    """Readiness: 503 store-unavailable while Redis is unreachable or the engine is not running."""
    return Health(status="ready", role=await readiness.role())


@get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    tags=["ops"],
    media_type="text/plain; version=0.0.4; charset=utf-8",
    security=[],
)
async def metrics(metrics: NamedDependency[Metrics]) -> Response[bytes]:
    """Prometheus text exposition (docs/metrics.md lists every family)."""
    await metrics.collect()
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
