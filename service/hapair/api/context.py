"""What the handlers reach through ``request.app.state.ctx``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hapair.api.auth import Authenticator
    from hapair.engine.driver import Engine
    from hapair.metrics import Metrics
    from hapair.services.events import Events
    from hapair.services.parameters import ParametersService
    from hapair.services.tokens import TokensService
    from hapair.settings import Settings
    from hapair.store.redis import Store
    from hapair.store.unitfile import UnitFiles


@dataclass
class AppContext:
    """The unit's parts, wired once in ``create_app``."""

    settings: Settings
    store: Store
    engine: Engine
    metrics: Metrics
    auth: Authenticator
    files: UnitFiles
    parameters: ParametersService
    tokens: TokensService
    events: Events | None = None  # the pair's event stream (SPEC 5a)


def ctx_of(request: Any) -> AppContext:
    """The context of the app serving ``request``."""
    ctx: AppContext = request.app.state.ctx
    return ctx
