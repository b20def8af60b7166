"""``/docs``: the OpenAPI UI, its assets served by hapair itself (placeholder until issue 4)."""

from __future__ import annotations

from litestar.handlers import BaseRouteHandler


def handlers() -> list[BaseRouteHandler]:
    """The docs routes."""
    return []
