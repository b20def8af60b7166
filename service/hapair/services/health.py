"""Readiness: the unit's Redis answers and its HA engine runs."""

from __future__ import annotations

from hapair.domain.errors import StoreUnavailable
from hapair.engine.driver import Engine
from hapair.store.redis import Store


class Readiness:
    """What ``GET /readyz`` checks."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine

    async def role(self) -> str:
        """The unit's public role (``standalone`` outside HA mode) once it is ready.

        Raises:
            StoreUnavailable: Redis does not answer, or the engine is not running (booting).
        """
        await self.store.ping()
        if not self.engine.running:
            raise StoreUnavailable("the HA engine is not running (booting)")
        return self.engine.public_role if self.engine.ha else "standalone"
