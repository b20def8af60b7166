"""The composition root wires every API operation to the router's checks and its parts."""

from __future__ import annotations

from pathlib import Path

from litestar.handlers import HTTPRouteHandler

from hapair.api.auth import before_api_request
from hapair.api.deps import Deps
from hapair.bootstrap import build
from hapair.settings import Settings


def test_every_api_operation_resolves_the_router_checks(tmp_path: Path) -> None:
    unit = build(Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0"))
    api_handlers = [
        h
        for route in unit.app.routes
        if route.path.startswith("/api/v1")
        for h in getattr(route, "route_handlers", [])
        if isinstance(h, HTTPRouteHandler)
    ]
    assert len(api_handlers) >= 12
    for handler in api_handlers:
        assert handler.resolve_before_request() is before_api_request, handler


def test_handlers_receive_the_parts_the_bootstrap_built(tmp_path: Path) -> None:
    unit = build(Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0"))
    provided = unit.app.dependencies
    for name in Deps.__dataclass_fields__:
        assert provided[name].dependency() is getattr(unit.deps, name), name
    assert unit.deps.engine.app is unit.app  # the shared listener serves the same app
