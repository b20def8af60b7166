"""The API router's checks run for every API operation (no handler may replace them)."""

from __future__ import annotations

from pathlib import Path

from litestar.handlers import HTTPRouteHandler

from hapair.api.auth import Authenticator, before_api_request
from hapair.api.context import AppContext
from hapair.app import create_app
from hapair.engine.driver import Engine
from hapair.metrics import Metrics
from hapair.services.parameters import ParametersService
from hapair.services.tokens import TokensService
from hapair.settings import Settings
from hapair.store.client import connect
from hapair.store.redis import Store
from hapair.store.unitfile import UnitFiles


def test_every_api_operation_resolves_the_router_checks(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = Store(connect("redis://127.0.0.1:1/0"))  # never contacted: nothing here does I/O
    metrics = Metrics()
    files = UnitFiles(tmp_path)
    engine = Engine(
        settings=settings, files=files, store=store, redis_url="redis://x", metrics=metrics
    )
    tokens = TokensService(store)
    ctx = AppContext(
        settings=settings,
        store=store,
        engine=engine,
        metrics=metrics,
        auth=Authenticator(tokens, admin_token=None, enabled=True),
        files=files,
        parameters=ParametersService(store, engine, metrics),
        tokens=tokens,
    )
    app = create_app(ctx)
    api_handlers = [
        h
        for route in app.routes
        if route.path.startswith("/api/v1")
        for h in getattr(route, "route_handlers", [])
        if isinstance(h, HTTPRouteHandler)
    ]
    assert len(api_handlers) >= 12
    for handler in api_handlers:
        assert handler.resolve_before_request() is before_api_request, handler
