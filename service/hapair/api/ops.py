"""Always open, without auth: liveness, readiness, metrics."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from hapair.api.problems import responses
from hapair.api.wire import Health
from hapair.domain.errors import Malformed
from hapair.domain.status import Role
from hapair.metrics import Metrics
from hapair.services.health import Readiness


@get("/healthz", operation_id="healthz", summary="The process is up", tags=["ops"], security=[])
async def healthz() -> Health:
    """Liveness."""
    return Health(status="ok")


READYZ_ROLE_PATTERN = f"^{Role.ACTIVE.value}$"
"""What ``parse_role`` accepts (the OpenAPI document states it)."""


def parse_role(raw: str | None) -> str | None:
    """``/readyz``'s ``role``: absent, or ``active``; 400 malformed otherwise."""
    if raw is None or raw == Role.ACTIVE:
        return raw
    raise Malformed(f"role must be active (or absent), got {raw[:20]!r}")


@get(
    "/readyz",
    operation_id="readyz",
    summary="Redis is reachable and the engine runs",
    tags=["ops"],
    responses=responses(400, 503),
    security=[],
)
async def readyz(
    readiness: NamedDependency[Readiness],
    role: Annotated[
        str | None,
        Parameter(
            max_length=6,
            description="`active`: 200 only on the unit that serves the shared address, 503 "
            "not-serving on any other (what a load balancer or monitor polls for "
            '"active here").',
        ),
    ] = None,
) -> Health:
    """Readiness: 503 store-unavailable while Redis is unreachable or the engine is not running;
    with ``role=active`` also 503 not-serving unless this unit serves the shared address."""
    if parse_role(role) == Role.ACTIVE:
        return Health(status="ready", role=await readiness.active())
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
