"""``Allow`` on automatic ``OPTIONS`` answers lists every method of the route.

Litestar 2.25 creates a route's ``OPTIONS`` handler when the first handler for a path is
registered; when more handlers join that path (a controller's GET, PUT and PATCH on
``/parameters``), the handler keeps answering the first handler's methods only
(``Allow: GET, OPTIONS``). This hook rewrites the header from the app's route map.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope


async def fix_allow_header(message: Message, scope: Scope) -> None:
    """``before_send`` hook: correct ``Allow`` on 204 answers to ``OPTIONS``."""
    if (
        message["type"] != "http.response.start"
        or scope.get("method") != "OPTIONS"
        or message["status"] != 204
    ):
        return
    handler = scope.get("route_handler")
    if handler is None:
        return
    app = Litestar.from_scope(scope)
    methods: set[str] = set()
    for route in app.routes:
        if any(h is handler for h in getattr(route, "route_handlers", ())):
            methods.update(route.methods)
    if methods:
        headers = MutableScopeHeaders.from_message(message)
        headers["Allow"] = ", ".join(sorted(methods))
