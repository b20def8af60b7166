"""Where requests are served (SPEC section 4): checked before a body is read."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from hapair.api.deps import deps_of


async def served_here(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """``ha``: HA resources (409 on a non-HA unit).

    ``pair-write``: also only on the active unit's shared address; a write of the pair's data
    (not an action, ``opt["action"]``) also not while the units run different versions.
    ``token-write``: a pair-wide write in HA mode; anywhere on a non-HA unit.
    """
    kind = handler.opt.get("serve")
    if kind is None:
        return
    engine = deps_of(connection).engine
    if kind == "token-write":
        if engine.ha:
            engine.check_pair_write(via_shared=engine.is_shared(connection.scope.get("server")))
    elif kind == "pair-write":
        engine.check_pair_write(
            via_shared=engine.is_shared(connection.scope.get("server")),
            data=not handler.opt.get("action", False),
        )
    else:
        engine.check_ha()
