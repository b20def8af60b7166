"""Readiness (Redis answers, the HA engine runs) and the pair's scrape-time metrics."""

from __future__ import annotations

from hapair.domain.errors import NotServing, StoreUnavailable
from hapair.domain.status import PairStatus, Role
from hapair.engine.control import HAControl
from hapair.metrics import PairSample
from hapair.store.redis import Store


class Readiness:
    """What ``GET /readyz`` checks."""

    def __init__(self, store: Store, engine: HAControl) -> None:
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

    async def active(self) -> str:
        """As ``role``, and only on the unit that serves the shared address (``?role=active``).

        Raises:
            StoreUnavailable: As ``role``.
            NotServing: The unit is ready but does not serve the shared address (a standby, a
                unit without one, a non-HA unit).
        """
        role = await self.role()
        if not (self.engine.ha and self.engine.serving_shared):
            raise NotServing(f"this unit ({role}) does not serve the shared address")
        return role


def pair_in_sync(status: PairStatus) -> bool:
    """``hapair_in_sync``: an active, and the other unit's ``in_sync`` as ``/ha/status`` shows
    it (one rule: ``engine/state.sync``), whatever that unit's public role. A standby in
    maintenance shows ``not_operational`` and stays in sync (it keeps replicating): the
    metric follows ``in_sync``, not the role, so the not-in-sync alert stays quiet then."""
    active = [u for u in status.units if u.role == Role.ACTIVE]
    others = [u for u in status.units if u.role != Role.ACTIVE]
    return len(active) == 1 and any(u.in_sync is True for u in others)


class PairMetrics:
    """The scrape-time families of ``/metrics``: the pair as this unit sees it (the sampler
    ``Metrics`` is given; ``hapair.metrics`` never imports the engine)."""

    def __init__(self, store: Store, engine: HAControl) -> None:
        self.store = store
        self.engine = engine

    async def sample(self) -> PairSample:
        """The pair now, as ``GET /ha/status`` shows it, plus the store and the archive."""
        engine = self.engine
        try:
            conflicts: int | None = len(await self.store.conflicts())
        except StoreUnavailable:
            conflicts = None
        status = await engine.status()
        me = next((u for u in status.units if u.name == engine.name), None)
        serving = me.serving_shared if me is not None else engine.serving_shared
        return PairSample(
            ha=engine.ha,
            partner_up=engine.ha and engine.partner_fresh() is not None,
            partner_heartbeat_age_s=engine.partner_heard_age(),
            in_sync=pair_in_sync(status),
            serving_shared=bool(serving),
            pair_state=status.pair.state,
            store_up=conflicts is not None,
            maintenance=engine.maintenance.enabled,
            conflicts=conflicts,
        )
